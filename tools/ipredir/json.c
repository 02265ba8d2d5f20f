/* SPDX-License-Identifier: GPL-2.0-or-later */
/* json.c - one JSON object per line, member by member, for -j output. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

void cli_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

void json_begin(struct json_obj *o, FILE *f)
{
	o->f = f;
	o->members = 0;
	fputc('{', f);
}

/* The separator and the key of the next member. */
static void json_key(struct json_obj *o, const char *key)
{
	if (o->members++)
		fputs(", ", o->f);
	cli_json_string(o->f, key);
	fputs(": ", o->f);
}

void json_str(struct json_obj *o, const char *key, const char *value)
{
	json_key(o, key);
	if (value)
		cli_json_string(o->f, value);
	else
		fputs("null", o->f);
}

void json_uint(struct json_obj *o, const char *key, unsigned long long value)
{
	json_key(o, key);
	fprintf(o->f, "%llu", value);
}

void json_int(struct json_obj *o, const char *key, long long value)
{
	json_key(o, key);
	fprintf(o->f, "%lld", value);
}

void json_real(struct json_obj *o, const char *key, double value, int decimals)
{
	json_key(o, key);
	fprintf(o->f, "%.*f", decimals, value);
}

void json_bool(struct json_obj *o, const char *key, int value)
{
	json_key(o, key);
	fputs(value ? "true" : "false", o->f);
}

void json_strings(struct json_obj *o, const char *key, const char *const *values, int n)
{
	json_key(o, key);
	fputc('[', o->f);
	for (int i = 0; i < n; i++) {
		if (i)
			fputs(", ", o->f);
		cli_json_string(o->f, values[i]);
	}
	fputc(']', o->f);
}

/* The counters of struct ipr_stats by their JSON names. */
static const struct {
	const char *key;
	size_t offset;
} stats_keys[] = {
	{ "received", offsetof(struct ipr_stats, received) },
	{ "bytes", offsetof(struct ipr_stats, bytes) },
	{ "accepted", offsetof(struct ipr_stats, accepted) },
	{ "modified", offsetof(struct ipr_stats, modified) },
	{ "dropped", offsetof(struct ipr_stats, dropped) },
	{ "filtered", offsetof(struct ipr_stats, filtered) },
	{ "bypass_verdicts", offsetof(struct ipr_stats, bypassed) },
	{ "expired", offsetof(struct ipr_stats, expired) },
	{ "fail_open", offsetof(struct ipr_stats, failopen) },
	{ "queue_drops", offsetof(struct ipr_stats, queue_dropped) },
	{ "socket_drops", offsetof(struct ipr_stats, user_dropped) },
	{ "verdict_errors", offsetof(struct ipr_stats, verdict_errors) },
};

void json_stats(struct json_obj *o, const struct ipr_stats *s)
{
	for (size_t i = 0; i < sizeof(stats_keys) / sizeof(stats_keys[0]); i++) {
		uint64_t v;

		memcpy(&v, (const char *)s + stats_keys[i].offset, sizeof(v));
		json_uint(o, stats_keys[i].key, v);
	}
}

void json_end(struct json_obj *o)
{
	fputs("}\n", o->f);
	fflush(o->f);
}
