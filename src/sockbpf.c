/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sockbpf.c - load the socket programs (bpf/owner.bpf.c, embedded as a libbpf
 * skeleton) and attach them at the root of the cgroup v2 hierarchy through
 * links owned by this process: they go when it closes them or exits.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "internal.h"
#include "sockbpf.h"
#include "owner.skel.h"

#define QUIET_RING 4096 /* the ring buffer of a handle that wants no events */

/* Whether prog is needed: the UDP flow programs run on every packet, only for flows;
 * those before a bind only report and refuse binds. */
static int needed(const struct bpf_program *prog, unsigned int events)
{
	switch (bpf_program__expected_attach_type(prog)) {
	case BPF_CGROUP_INET_EGRESS:
	case BPF_CGROUP_INET_INGRESS:
		return !!(events & IPR_EVENTS_FLOW);
	case BPF_CGROUP_INET4_BIND:
	case BPF_CGROUP_INET6_BIND:
		return !!events;
	default:
		return 1;
	}
}

static int attach_all(struct ipr_sockbpf *b, unsigned int events, int cgroup)
{
	struct bpf_program *prog = NULL;

	while ((prog = bpf_object__next_program(b->skel->obj, prog))) {
		struct bpf_link *l;

		if (!needed(prog, events))
			continue;
		if (b->nlinks == IPR_SOCKBPF_LINKS)
			return -E2BIG;
		l = bpf_program__attach_cgroup(prog, cgroup);
		if (!l)
			return -errno;
		b->link[b->nlinks++] = l;
	}
	return 0;
}

static int load(struct ipr_sockbpf *b, unsigned int events, uint64_t netns)
{
	int err;

	b->skel = ipr_owner_bpf__open();
	if (!b->skel)
		return -errno;
	b->skel->rodata->want_events = events;
	b->skel->rodata->want_netns = netns;
	if (!events)
		bpf_map__set_max_entries(b->skel->maps.events, QUIET_RING);
	for (struct bpf_program *p = NULL; (p = bpf_object__next_program(b->skel->obj, p));)
		bpf_program__set_autoload(p, needed(p, events));
	err = ipr_owner_bpf__load(b->skel);
	return err < 0 ? err : 0;
}

int ipr_sockbpf_open(struct ipr_sockbpf *b, unsigned int events, uint64_t netns, char *why,
		     size_t size)
{
	int cg = ipr_cgroup2_open(), err;

	memset(b, 0, sizeof(*b));
	if (cg < 0) {
		snprintf(why, size, "no cgroup v2 hierarchy (%s)", strerror(-cg));
		return cg;
	}
	err = load(b, events, netns);
	if (err)
		snprintf(why, size, "the kernel refused the BPF programs (%s)", strerror(-err));
	else if ((err = attach_all(b, events, cg)))
		snprintf(why, size, "the cgroup v2 root refused the BPF programs (%s)",
			 strerror(-err));
	close(cg);
	if (err)
		ipr_sockbpf_close(b);
	return err;
}

void ipr_sockbpf_close(struct ipr_sockbpf *b)
{
	for (unsigned int i = 0; i < b->nlinks; i++)
		bpf_link__destroy(b->link[i]);
	b->nlinks = 0;
	ipr_owner_bpf__destroy(b->skel);
	b->skel = NULL;
}

void ipr_sockbpf_maps(const struct ipr_sockbpf *b, struct ipr_sockbpf_maps *m)
{
	*m = b->skel ? (struct ipr_sockbpf_maps){ b->skel->maps.owners, b->skel->maps.bound,
						  b->skel->maps.released, b->skel->maps.conns }
		     : (struct ipr_sockbpf_maps){ 0 };
}
