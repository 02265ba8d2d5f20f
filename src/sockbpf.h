/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sockbpf.h - the socket programs of bpf/owner.bpf.c, loaded and attached (sockbpf.c). */
#ifndef IPR_SOCKBPF_H
#define IPR_SOCKBPF_H

#include <stdint.h>

#include "owner.h"

#define IPR_SOCKBPF_LINKS 16

struct ipr_sockbpf {
	struct ipr_owner_bpf *skel;
	struct bpf_link *link[IPR_SOCKBPF_LINKS];
	unsigned int nlinks;
};

/*
 * Load the programs and attach them at the root of the cgroup v2 hierarchy:
 * records only (events 0), or also the events of IPR_EVENTS_* bits of the
 * network namespace netns (its cookie). 0, or -errno with one line in why.
 */
int ipr_sockbpf_open(struct ipr_sockbpf *b, unsigned int events, uint64_t netns, char *why,
		     size_t size);
void ipr_sockbpf_close(struct ipr_sockbpf *b);

/* The programs' maps of records: by socket cookie, bound local end, released socket's
 * addresses, established TCP connection's ends. */
struct bpf_map;
struct ipr_sockbpf_maps {
	const struct bpf_map *owners, *bound, *released, *conns;
};

/* b's maps into *m; all NULL when b is not loaded. */
void ipr_sockbpf_maps(const struct ipr_sockbpf *b, struct ipr_sockbpf_maps *m);

#endif
