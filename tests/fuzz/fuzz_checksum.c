/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz_checksum.c - libFuzzer harness of the checksum and TTL helpers and the
 * address text functions.
 *
 * Oracles: what ipr_checksum_fill() writes, ipr_checksum_verify() accepts;
 * the incremental updates agree with a full recompute; TTL changes keep a
 * correct IPv4 header checksum correct; an address that parses formats and
 * parses back to the same bytes.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "ipredir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A copy of exactly len bytes, so any read past them is caught. */
static uint8_t *copy_of(const uint8_t *data, size_t len)
{
	uint8_t *buf = malloc(len ? len : 1);

	assert(buf);
	memcpy(buf, data, len);
	return buf;
}

static void fuzz_fill_verify(const uint8_t *data, size_t size)
{
	uint8_t *buf = copy_of(data, size);
	int fill = ipr_checksum_fill(buf, size);
	int verify = ipr_checksum_verify(buf, size);

	if (fill == 0)
		assert(verify == 0);
	else
		assert(verify == fill);
	free(buf);
}

/* Decrement and set the TTL; a verified packet stays verified. */
static void fuzz_ttl(const uint8_t *data, size_t size)
{
	uint8_t *buf = copy_of(data, size);
	int ok = ipr_checksum_fill(buf, size) == 0;
	int ttl = ipr_decrement_ttl(buf, size);

	if (ok)
		assert(ttl >= 0 || ttl == -110 /* ETIMEDOUT */);
	if (ok && ttl >= 0)
		assert(ipr_checksum_verify(buf, size) == 0);
	if (ipr_set_ttl(buf, size, size ? data[0] : 0) == 0 && ok)
		assert(ipr_checksum_verify(buf, size) == 0);
	free(buf);
}

/* Checksum field value of len bytes (the complement of their sum). */
static uint16_t field_of(const uint8_t *buf, size_t len)
{
	return (uint16_t)~ipr_csum_partial(buf, len, 0);
}

/* 0x0000 and 0xffff are the two ones' complement zeros. */
static int same_csum(uint16_t a, uint16_t b)
{
	return a % 0xffff == b % 0xffff;
}

/*
 * RFC 1624 updates against a full recompute: data[0] picks a 32-bit word of
 * the buffer data[8..], data[0..4) and data[4..8) are its new 16- and 32-bit values.
 */
static void fuzz_replace(const uint8_t *data, size_t size)
{
	size_t len = size < 12 ? 0 : (size - 8) & ~(size_t)3;
	uint16_t sum, old2, new2;
	uint32_t old4, new4;
	uint8_t *buf;
	size_t at;

	if (!len)
		return;
	buf = copy_of(data + 8, len);
	at = (data[0] % (len / 4)) * 4;
	sum = field_of(buf, len);
	memcpy(&old2, buf + at, 2);
	memcpy(&new2, data, 2);
	ipr_csum_replace2(&sum, old2, new2);
	memcpy(buf + at, &new2, 2);
	assert(same_csum(sum, field_of(buf, len)));
	memcpy(&old4, buf + at, 4);
	memcpy(&new4, data + 4, 4);
	ipr_csum_replace4(&sum, old4, new4);
	memcpy(buf + at, &new4, 4);
	assert(same_csum(sum, field_of(buf, len)));
	free(buf);
}

static void fuzz_addr_text(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct ipr_addr a, b;
	char out[IPR_ADDR_STRLEN];
	int n;

	assert(text);
	memcpy(text, data, size);
	text[size] = '\0';
	if (ipr_addr_parse(text, &a) == 0) {
		n = ipr_addr_format(&a, out, sizeof(out));
		assert(n > 0 && (size_t)n < sizeof(out));
		assert(ipr_addr_parse(out, &b) == 0 && !memcmp(&a, &b, sizeof(a)));
		assert(ipr_addr_format(&a, out, (size_t)n) == -28 /* ENOSPC */);
	}
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_fill_verify(data, size);
	fuzz_ttl(data, size);
	fuzz_replace(data, size);
	fuzz_addr_text(data, size);
	return 0;
}
