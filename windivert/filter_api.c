/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * filter_api.c - WinDivertHelperCompileFilter, WinDivertHelperEvalFilter and
 * WinDivertHelperFormatFilter: WinDivert 2.2's filter helpers.
 *
 * Each takes the filter as text or as an object string; an object is not
 * checked against the layer here (WinDivertOpen checks it).
 */
#include <errno.h>
#include <stdlib.h>

#include "filter.h"

/* Compile filter for layer into a new filter (free it); NULL with *code on error. */
static struct wd_filter *build(const char *filter, WINDIVERT_LAYER layer,
			       enum wd_filter_error *code, unsigned int *pos)
{
	struct wd_filter *f = malloc(sizeof(*f));

	*pos = 0;
	*code = f ? wd_filter_build(filter, layer, 0, f, pos) : WD_ERR_NO_MEMORY;
	if (*code == WD_ERR_NONE)
		return f;
	free(f);
	return NULL;
}

static DWORD error_of(enum wd_filter_error code)
{
	switch (code) {
	case WD_ERR_NO_MEMORY:
		return ERROR_NOT_ENOUGH_MEMORY;
	case WD_ERR_OUTPUT_TOO_SHORT:
		return ERROR_INSUFFICIENT_BUFFER;
	default:
		return ERROR_INVALID_PARAMETER;
	}
}

WD_EXPORT BOOL WinDivertHelperCompileFilter(const char *filter, WINDIVERT_LAYER layer,
					    char *object, UINT objLen, const char **errorStr,
					    UINT *errorPos)
{
	enum wd_filter_error code;
	struct wd_filter *f;
	unsigned int pos;

	if (!filter)
		return wd_fail(ERROR_INVALID_PARAMETER);
	f = build(filter, layer, &code, &pos);
	if (f && object && wd_filter_object(f, object, objLen) < 0) {
		code = WD_ERR_OUTPUT_TOO_SHORT;
		pos = 0;
	}
	free(f);
	if (errorStr)
		*errorStr = wd_filter_error_str(code);
	if (errorPos)
		*errorPos = pos;
	return code == WD_ERR_NONE ? wd_ok() : wd_fail(error_of(code));
}

WD_EXPORT BOOL WinDivertHelperEvalFilter(const char *filter, const VOID *pPacket,
					 UINT packetLen, const WINDIVERT_ADDRESS *pAddr)
{
	enum wd_filter_error code;
	struct wd_filter *f;
	unsigned int pos;
	int r;

	if (!filter || !pAddr)
		return wd_fail(ERROR_INVALID_PARAMETER);
	f = build(filter, (WINDIVERT_LAYER)pAddr->Layer, &code, &pos);
	if (!f)
		return wd_fail(error_of(code));
	r = wd_filter_run(f, pPacket, packetLen, pAddr);
	free(f);
	if (r < 0)
		return wd_fail(wd_error_of(r));
	wd_ok();
	return r ? TRUE : FALSE;
}

WD_EXPORT BOOL WinDivertHelperFormatFilter(const char *filter, WINDIVERT_LAYER layer,
					   char *buffer, UINT bufLen)
{
	enum wd_filter_error code;
	struct wd_filter *f;
	unsigned int pos;
	int r;

	if (!filter || !buffer)
		return wd_fail(ERROR_INVALID_PARAMETER);
	f = build(filter, layer, &code, &pos);
	if (!f)
		return wd_fail(error_of(code));
	r = wd_filter_format(f, buffer, bufLen);
	free(f);
	if (r == -ENOSPC)
		return wd_fail(ERROR_INSUFFICIENT_BUFFER);
	if (r < 0)
		return wd_fail(wd_error_of(r));
	return wd_ok();
}
