/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cgroup.c - the cgroup v2 hierarchy, wherever it is mounted (or privately
 * mounted where none is visible), and a cgroup directory's id and depth for
 * the socket cgroupv2 match.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define LEVEL_MAX 255 /* deepest cgroup level the nft socket expression matches */

/*
 * The mount point of the cgroup v2 hierarchy's root in a mountinfo file; a bind
 * mount of one cgroup (root field not "/") only if nothing else is there.
 */
static int find_mount(const char *mountinfo, char *buf, size_t size)
{
	char line[4096], root[PATH_MAX], dir[PATH_MAX], type[32];
	FILE *f = fopen(mountinfo, "re");
	int found = 0; /* 1: a bind mount of a cgroup, 2: the root */

	if (!f)
		return -errno;
	while (found < 2 && fgets(line, sizeof(line), f)) {
		const char *sep = strstr(line, " - ");

		if (!sep || sscanf(sep, " - %31s", type) != 1 || strcmp(type, "cgroup2") ||
		    sscanf(line, "%*u %*u %*s %4095s %4095s", root, dir) != 2 || strlen(dir) >= size)
			continue;
		if (!found || !strcmp(root, "/"))
			strcpy(buf, dir); /* octal escapes (\040) left as they are: rare in mounts */
		found = strcmp(root, "/") ? 1 : 2;
	}
	fclose(f);
	return found ? 0 : -ENOENT;
}

IPR_EXPORT int ipr_cgroup2_mount(char *buf, size_t size)
{
	int err = find_mount("/proc/self/mountinfo", buf, size);

	if (err == -ENOENT)
		return ipr_fail(err, "cgroup v2 is not mounted in this mount namespace");
	return err ? ipr_fail(err, "/proc/self/mountinfo: %s", strerror(-err)) : 0;
}

/* A cgroup2 mount that no path and no other process sees (new mount API, Linux 5.2). */
static int private_mount(void)
{
	int fs = fsopen("cgroup2", FSOPEN_CLOEXEC), mnt;

	if (fs < 0)
		return ipr_fail(-errno, "cgroup v2 is not mounted here and mounting it failed: "
				"fsopen: %s", strerror(errno));
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		mnt = -1;
	else
		mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
						   MOUNT_ATTR_NOEXEC);
	if (mnt < 0)
		mnt = ipr_fail(-errno, "cgroup v2 is not mounted here and mounting it failed: "
				       "%s", strerror(errno));
	close(fs);
	return mnt;
}

IPR_EXPORT int ipr_cgroup2_open(void)
{
	char mount[PATH_MAX];
	int fd;

	if (find_mount("/proc/self/mountinfo", mount, sizeof(mount)) < 0)
		return private_mount();
	fd = open(mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? ipr_fail(-errno, "%s: %s", mount, strerror(errno)) : fd;
}

/* path without the prefix mount (when it is one), leading, trailing or doubled slashes. */
static const char *strip_mount(const char *path, const char *mount)
{
	size_t n = strlen(mount);

	if (n > 1 && !strncmp(path, mount, n) && (path[n] == '/' || !path[n]))
		path += n;
	while (*path == '/')
		path++;
	return path;
}

/*
 * The path below the hierarchy's root. A filesystem path may name the mount as
 * this namespace has it or, under `ip netns exec` where none is visible, as the
 * host has it (the mount namespace of pid 1).
 */
static const char *relative_path(const char *path)
{
	char mount[PATH_MAX];

	if (find_mount("/proc/self/mountinfo", mount, sizeof(mount)) == 0 ||
	    find_mount("/proc/1/mountinfo", mount, sizeof(mount)) == 0)
		return strip_mount(path, mount);
	return strip_mount(path, "");
}

static unsigned int depth(const char *rel)
{
	unsigned int level = 0;

	for (const char *p = rel; *p; p++)
		if (*p != '/' && (p == rel || p[-1] == '/'))
			level++;
	return level;
}

/* The inode of directory rel below the hierarchy's root into st. */
static int stat_below_root(const char *path, const char *rel, struct stat *st)
{
	int root = ipr_cgroup2_open(), err = 0;

	if (root < 0)
		return root;
	if (fstatat(root, *rel ? rel : ".", st, 0) < 0 || !S_ISDIR(st->st_mode))
		err = ipr_fail(-ENOENT, "cgroup \"%s\": no such cgroup v2 directory /%s", path,
			       rel);
	close(root);
	return err;
}

int ipr_cgroup_resolve(const char *path, uint64_t *id, unsigned int *level)
{
	const char *rel = relative_path(path);
	struct stat st;
	int err = stat_below_root(path, rel, &st);

	if (err)
		return err;
	*id = st.st_ino;
	*level = depth(rel);
	if (*level > LEVEL_MAX)
		return ipr_fail(-EINVAL, "cgroup \"%s\" is %u levels deep: the kernel matches "
				"levels 0-%d", path, *level, LEVEL_MAX);
	return 0;
}
