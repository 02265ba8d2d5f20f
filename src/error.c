/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* error.c - the last error of each thread and the log callback; depends on no other file. */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

static __thread char last_error[IPR_ERROR_MAX] = "no error";
static ipr_log_fn log_fn;
static void *log_arg;
static enum ipr_log_level log_max = IPR_LOG_INFO;

IPR_EXPORT const char *ipr_version(void)
{
	return IPR_VERSION_STRING;
}

IPR_EXPORT const char *ipr_last_error(void)
{
	return last_error;
}

IPR_EXPORT void ipr_set_log(ipr_log_fn fn, void *arg, enum ipr_log_level max_level)
{
	log_fn = fn;
	log_arg = arg;
	log_max = max_level;
}

IPR_PRINTF(2, 0)
static void log_message(enum ipr_log_level level, const char *fmt, va_list ap)
{
	char msg[IPR_ERROR_MAX];

	if (!log_fn || level > log_max)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_fn(level, msg, log_arg);
}

void ipr_log(enum ipr_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_message(level, fmt, ap);
	va_end(ap);
}

int ipr_fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	ipr_log(IPR_LOG_DEBUG, "%s", last_error);
	return err;
}
