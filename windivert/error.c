/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* error.c - GetLastError(): the Windows error code of the thread's last call, errno to match. */
#include <errno.h>

#include "wd.h"

static __thread DWORD last_error;

/* A Windows error code and the errno that says the same. */
static const struct {
	DWORD code;
	int err;
} codes[] = {
	{ ERROR_SUCCESS, 0 },
	{ ERROR_FILE_NOT_FOUND, ENOENT },
	{ ERROR_ACCESS_DENIED, EPERM },
	{ ERROR_INVALID_HANDLE, EBADF },
	{ ERROR_NOT_ENOUGH_MEMORY, ENOMEM },
	{ ERROR_INVALID_PARAMETER, EINVAL }, /* first: the code for EINVAL */
	{ ERROR_INVALID_DATA, EINVAL },
	{ ERROR_GEN_FAILURE, EIO },
	{ ERROR_NOT_SUPPORTED, EOPNOTSUPP },
	{ ERROR_INSUFFICIENT_BUFFER, EMSGSIZE },
	{ ERROR_NO_DATA, ESHUTDOWN },
	{ ERROR_OPERATION_ABORTED, ECANCELED },
	{ ERROR_IO_INCOMPLETE, EINPROGRESS },
	{ ERROR_IO_PENDING, EINPROGRESS },
	{ ERROR_SERVICE_DOES_NOT_EXIST, ENOENT },
	{ ERROR_HOST_UNREACHABLE, EHOSTUNREACH },
	{ ERROR_DRIVER_BLOCKED, EOPNOTSUPP },
};

#define NCODES (sizeof(codes) / sizeof(codes[0]))

WD_EXPORT DWORD GetLastError(void)
{
	return last_error;
}

WD_EXPORT void SetLastError(DWORD code)
{
	last_error = code;
}

BOOL wd_fail(DWORD code)
{
	last_error = code;
	for (size_t i = 0; i < NCODES; i++)
		if (codes[i].code == code)
			errno = codes[i].err;
	return FALSE;
}

BOOL wd_ok(void)
{
	last_error = ERROR_SUCCESS;
	return TRUE;
}

DWORD wd_error_of(int err)
{
	switch (-err) {
	case EPERM:
	case EACCES:
		return ERROR_ACCESS_DENIED;
	case ENODATA:
	case ESHUTDOWN:
		return ERROR_NO_DATA;
	case ENOENT:
	case EOPNOTSUPP:
		return ERROR_NOT_SUPPORTED;
	case EHOSTUNREACH:
	case ENETUNREACH:
		return ERROR_HOST_UNREACHABLE;
	}
	for (size_t i = 1; i < NCODES; i++)
		if (codes[i].err == -err)
			return codes[i].code;
	return ERROR_GEN_FAILURE;
}
