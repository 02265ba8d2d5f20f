/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cgroup.c - find a cgroup v2 directory's id and depth for the socket cgroupv2 match. */
#include <errno.h>
#include <mntent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

#define LEVEL_MAX 255 /* deepest cgroup level the nft socket expression matches */

/* Where cgroup v2 is mounted: /sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid systems. */
IPR_EXPORT int ipr_cgroup2_mount(char *buf, size_t size)
{
	FILE *f = setmntent("/proc/self/mounts", "re");
	struct mntent *m;
	int err = -ENOENT;

	if (!f)
		return ipr_fail(-errno, "/proc/self/mounts: %s", strerror(errno));
	while (err && (m = getmntent(f)))
		if (!strcmp(m->mnt_type, "cgroup2") && strlen(m->mnt_dir) < size) {
			strcpy(buf, m->mnt_dir);
			err = 0;
		}
	endmntent(f);
	return err ? ipr_fail(err, "cgroup v2 is not mounted") : 0;
}

/* The path below the mount, without leading, trailing or doubled slashes. */
static const char *relative_path(const char *path, const char *mount)
{
	size_t n = strlen(mount);

	if (!strncmp(path, mount, n) && (path[n] == '/' || !path[n]))
		path += n;
	while (*path == '/')
		path++;
	return path;
}

static unsigned int depth(const char *rel)
{
	unsigned int level = 0;

	for (const char *p = rel; *p; p++)
		if (*p != '/' && (p == rel || p[-1] == '/'))
			level++;
	return level;
}

int ipr_cgroup_resolve(const char *path, uint64_t *id, unsigned int *level)
{
	char mount[256], full[4096];
	const char *rel;
	struct stat st;
	int err = ipr_cgroup2_mount(mount, sizeof(mount));

	if (err)
		return err;
	rel = relative_path(path, mount);
	if ((size_t)snprintf(full, sizeof(full), "%s/%s", mount, rel) >= sizeof(full))
		return ipr_fail(-ENAMETOOLONG, "cgroup path \"%s\" is too long", path);
	if (stat(full, &st) < 0 || !S_ISDIR(st.st_mode))
		return ipr_fail(-ENOENT, "cgroup \"%s\": no such cgroup v2 directory %s", path,
				full);
	*id = st.st_ino;
	*level = depth(rel);
	if (*level > LEVEL_MAX)
		return ipr_fail(-EINVAL, "cgroup \"%s\" is %u levels deep: the kernel matches "
				"levels 0-%d", path, *level, LEVEL_MAX);
	return 0;
}
