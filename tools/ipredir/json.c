/* SPDX-License-Identifier: GPL-2.0-or-later */
/* json.c - one JSON object per line, member by member, for -j output. */
#include <stdio.h>

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

void json_stats(struct json_obj *o, const struct ipr_stats *s)
{
	json_uint(o, "received", s->received);
	json_uint(o, "bytes", s->bytes);
	json_uint(o, "accepted", s->accepted);
	json_uint(o, "modified", s->modified);
	json_uint(o, "dropped", s->dropped);
	json_uint(o, "filtered", s->filtered);
	json_uint(o, "bypass_verdicts", s->bypassed);
	json_uint(o, "expired", s->expired);
	json_uint(o, "fail_open", s->failopen);
	json_uint(o, "queue_drops", s->queue_dropped);
	json_uint(o, "socket_drops", s->user_dropped);
	json_uint(o, "verdict_errors", s->verdict_errors);
}

void json_end(struct json_obj *o)
{
	fputs("}\n", o->f);
	fflush(o->f);
}
