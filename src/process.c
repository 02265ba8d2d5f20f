/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * process.c - which process a packet belongs to (IPR_OPEN_PROCESS, opts.pid/comm/exe).
 *
 * Once per flow: the packet's local socket is found by its addresses through
 * sock_diag, and the socket's cookie named in the map the programs of
 * bpf/owner.bpf.c keep (the process that created, bound, connected or last
 * sent or received on it). A socket that is gone is found in their map of
 * released sockets; one they never saw (opened before them, or without BPF)
 * by its inode in /proc. A TCP connection not yet accepted, or accepted (such
 * sockets pass no hook), is named by its listener's process.
 */
#include <netinet/in.h> /* before the linux/ headers */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netfilter.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "internal.h"
#include "sockbpf.h"

#define FLOW_SETS 2048      /* flows remembered per queue: sets of FLOW_WAYS */
#define FLOW_WAYS 2
#define FLOW_IDLE_MS 2000   /* a flow idle this long is looked up anew */
#define TCP_SYN_RECV 3  /* as sock_diag reports a connection not accepted yet */
#define TCP_LISTEN 10
#define DIAG_BUF 8192

struct flow {
	struct ipr_owner_key key;
	uint64_t seen_ms;
	struct ipr_process proc;
	uint8_t valid, pass;
};

/* What the owner handle loads once for every queue. */
struct ipr_owners {
	struct ipr_sockbpf bpf;   /* its skel is NULL without BPF: /proc only */
	struct ipr_sockbpf_maps maps; /* its maps (NULL without BPF) */
	uint32_t pid;             /* opts.pid, 0 = any */
	char comm[IPR_COMM_MAX];  /* opts.comm, "" = any */
	char exe[4096];           /* opts.exe, "" = any */
	int filtering;
	char why[320];            /* why BPF is not in use, when it is not */
};

/* One queue's: its sock_diag socket and its flows. */
struct ipr_procs {
	struct ipr_owners *owners;
	int diag;
	uint32_t seq;
	struct flow flows[FLOW_SETS * FLOW_WAYS];
};

static uint64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* ---- the flow of a packet ---- */

/* A packet's flow as its socket sees it, from one parse of its headers. */
struct packet_end {
	struct ipr_owner_key key; /* local and remote ends; an IPv4 address in word 0 */
	int v6;                   /* the family */
	int syn;                  /* a TCP SYN without ACK: a connection opening */
	int inbound;              /* arriving (local in, prerouting) */
};

/* The packet's local and remote ends by its hook; 0, or -1 for none (forwarded, not
 * TCP or UDP). */
static int end_of(const struct ipr_packet *p, struct packet_end *e)
{
	struct ipr_owner_key *k = &e->key;
	struct ipr_parsed pp;
	const uint8_t *src, *dst;
	size_t alen;
	int out = p->hook == NF_INET_LOCAL_OUT || p->hook == NF_INET_POST_ROUTING;

	if (p->hook == NF_INET_FORWARD || ipr_parse(p->data, p->caplen, &pp) || !pp.l4 ||
	    (pp.proto != IPPROTO_TCP && pp.proto != IPPROTO_UDP))
		return -1;
	e->v6 = pp.version == 6;
	e->syn = pp.proto == IPPROTO_TCP && pp.l4_hdr_len >= 14 && (pp.l4[13] & 0x12) == 0x02;
	e->inbound = p->hook == NF_INET_LOCAL_IN || p->hook == NF_INET_PRE_ROUTING;
	alen = e->v6 ? 16 : 4;
	src = pp.l3 + (e->v6 ? 8 : 12);
	dst = src + alen;
	memset(k, 0, sizeof(*k));
	memcpy(k->local, out ? src : dst, alen);
	memcpy(k->remote, out ? dst : src, alen);
	k->local_port = out ? pp.sport : pp.dport;
	k->remote_port = out ? pp.dport : pp.sport;
	k->protocol = pp.proto;
	return 0;
}

/* The flow with key k, else the place for it (the one of its set seen longest ago). */
static struct flow *flow_find(struct ipr_procs *ps, const struct ipr_owner_key *k, int *found)
{
	uint32_t h = 2166136261u;
	const uint8_t *b = (const uint8_t *)k;
	struct flow *set, *oldest;

	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ b[i]) * 16777619u;
	set = oldest = &ps->flows[h % FLOW_SETS * FLOW_WAYS];
	for (unsigned int i = 0; i < FLOW_WAYS; i++) {
		*found = set[i].valid && !memcmp(&set[i].key, k, sizeof(*k));
		if (*found)
			return &set[i];
		if (set[i].seen_ms < oldest->seen_ms)
			oldest = &set[i];
	}
	return oldest;
}

/* ---- sock_diag ---- */

struct diag_answer {
	uint64_t cookie;
	uint32_t inode;
	uint8_t state;
	uint8_t v6;           /* the socket's family */
	uint16_t local_port;
	uint32_t local[4];    /* IPv4 in word 0 */
};

static void diag_id(const struct ipr_owner_key *k, int v6, struct inet_diag_sockid *id)
{
	size_t alen = v6 ? 16 : 4;
	/* TCP looks up (src, dst) as the socket's own ends; UDP as a packet to it. */
	int as_packet = k->protocol == IPPROTO_UDP;

	memcpy(as_packet ? id->idiag_dst : id->idiag_src, k->local, alen);
	memcpy(as_packet ? id->idiag_src : id->idiag_dst, k->remote, alen);
	id->idiag_sport = htons(as_packet ? k->remote_port : k->local_port);
	id->idiag_dport = htons(as_packet ? k->local_port : k->remote_port);
	id->idiag_cookie[0] = id->idiag_cookie[1] = INET_DIAG_NOCOOKIE;
}

static int diag_send(struct ipr_procs *ps, int v6, uint8_t protocol, uint32_t states,
		     uint16_t flags, const struct inet_diag_sockid *id)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req = {
		.nlh = { .nlmsg_len = sizeof(req), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			 .nlmsg_flags = NLM_F_REQUEST | flags, .nlmsg_seq = ++ps->seq },
		.r = { .sdiag_family = v6 ? AF_INET6 : AF_INET, .sdiag_protocol = protocol,
		       .idiag_states = states },
	};

	if (id)
		req.r.id = *id;
	return send(ps->diag, &req, sizeof(req), 0) == sizeof(req) ? 0 : -errno;
}

static void answer_of(const struct inet_diag_msg *m, struct diag_answer *a)
{
	a->cookie = (uint64_t)m->id.idiag_cookie[1] << 32 | m->id.idiag_cookie[0];
	a->inode = m->idiag_inode;
	a->state = m->idiag_state;
	a->v6 = m->idiag_family == AF_INET6;
	a->local_port = ntohs(m->id.idiag_sport);
	memset(a->local, 0, sizeof(a->local));
	memcpy(a->local, m->id.idiag_src, a->v6 ? 16 : 4);
}

/* The socket with exactly these ends (TCP: or its listener, as the kernel finds). */
static int diag_one(struct ipr_procs *ps, const struct ipr_owner_key *k, int v6,
		    struct diag_answer *a)
{
	char buf[DIAG_BUF];
	struct inet_diag_sockid id = { 0 };
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	ssize_t n;

	diag_id(k, v6, &id);
	if (diag_send(ps, v6, (uint8_t)k->protocol, ~0u, 0, &id))
		return -1;
	n = recv(ps->diag, buf, sizeof(buf), 0);
	if (n < (ssize_t)NLMSG_LENGTH(sizeof(struct inet_diag_msg)) ||
	    nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY)
		return -1;
	answer_of(NLMSG_DATA(nlh), a);
	return 0;
}

/* Whether listener m (of family listener_v6) takes connections to k's local end: its
 * address, or any (an IPv6 one bound to any takes IPv4 too, unless IPv6-only). */
static int listens_on(const struct inet_diag_msg *m, const struct ipr_owner_key *k, int v6,
		      int listener_v6)
{
	static const uint32_t any[4];

	return ntohs(m->id.idiag_sport) == k->local_port &&
	       ((v6 == listener_v6 && !memcmp(m->id.idiag_src, k->local, v6 ? 16 : 4)) ||
		!memcmp(m->id.idiag_src, any, 16));
}

/* The listener of family listener_v6 for k's local end, from a dump of them. */
static int dump_listeners(struct ipr_procs *ps, const struct ipr_owner_key *k, int v6,
			  int listener_v6, struct diag_answer *a)
{
	char buf[DIAG_BUF];
	int found = -1, done = 0;

	if (diag_send(ps, listener_v6, IPPROTO_TCP, 1u << TCP_LISTEN, NLM_F_DUMP, NULL))
		return -1;
	while (!done) {
		ssize_t n = recv(ps->diag, buf, sizeof(buf), 0);
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;

		if (n <= 0)
			return -1;
		for (; NLMSG_OK(nlh, (size_t)n); nlh = NLMSG_NEXT(nlh, n)) {
			done |= nlh->nlmsg_type == NLMSG_DONE || nlh->nlmsg_type == NLMSG_ERROR;
			if (nlh->nlmsg_type == SOCK_DIAG_BY_FAMILY && found &&
			    listens_on(NLMSG_DATA(nlh), k, v6, listener_v6)) {
				answer_of(NLMSG_DATA(nlh), a);
				found = 0;
			}
		}
	}
	return found;
}

/* The listener of a TCP connection's local end: of its family, or IPv6 for IPv4. */
static int diag_listener(struct ipr_procs *ps, const struct ipr_owner_key *k, int v6,
			 struct diag_answer *a)
{
	return dump_listeners(ps, k, v6, v6, a) && (v6 || dump_listeners(ps, k, v6, 1, a)) ? -1
											: 0;
}

/* ---- naming the process ---- */

int ipr_read_comm(uint32_t pid, char *comm)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, comm, IPR_COMM_MAX - 1);
	close(fd);
	if (n <= 0)
		return -1;
	comm[n] = 0;
	comm[strcspn(comm, "\n")] = 0;
	return 0;
}

/* Whether process pid has socket inode open, by /proc/PID/fd. */
static int holds_inode(const char *pid, const char *want)
{
	char path[300], link[64];
	struct dirent *e;
	DIR *d;
	int found = 0;

	snprintf(path, sizeof(path), "/proc/%s/fd", pid);
	d = opendir(path);
	if (!d)
		return 0;
	while (!found && (e = readdir(d))) {
		char fd_path[600];
		ssize_t n;

		snprintf(fd_path, sizeof(fd_path), "%s/%s", path, e->d_name);
		n = readlink(fd_path, link, sizeof(link) - 1);
		found = n > 0 && (size_t)n == strlen(want) && !memcmp(link, want, (size_t)n);
	}
	closedir(d);
	return found;
}

/* The process holding socket inode (by /proc), 0 if none. */
static uint32_t inode_holder(uint32_t inode)
{
	char want[32];
	struct dirent *e;
	uint32_t pid = 0;
	DIR *d;

	if (!inode || !(d = opendir("/proc")))
		return 0;
	snprintf(want, sizeof(want), "socket:[%u]", inode);
	while (!pid && (e = readdir(d)))
		if (e->d_name[0] >= '1' && e->d_name[0] <= '9' && holds_inode(e->d_name, want))
			pid = (uint32_t)strtoul(e->d_name, NULL, 10);
	closedir(d);
	return pid;
}

/* The record of key in one of the programs' maps. */
static int map_owner(const struct bpf_map *map, const void *key,
		     size_t key_size, struct ipr_process *p)
{
	struct ipr_owner rec;

	if (!map || bpf_map__lookup_elem(map, key, key_size, &rec, sizeof(rec), 0))
		return -1;
	p->pid = rec.tgid;
	p->cgroup_id = rec.cgroup;
	memcpy(p->comm, rec.comm, sizeof(p->comm));
	p->comm[sizeof(p->comm) - 1] = 0;
	return 0;
}

static int from_proc(uint32_t inode, struct ipr_process *p)
{
	uint32_t pid = inode_holder(inode);

	if (!pid)
		return -1;
	p->pid = pid;
	p->flags |= IPR_PROCESS_FROM_PROC;
	if (ipr_read_comm(pid, p->comm))
		p->comm[0] = 0;
	return 0;
}

static int has_exited(uint32_t pid)
{
	return kill((pid_t)pid, 0) && errno == ESRCH;
}

/* The recorded process has exited: the one now holding the socket, if another does. */
static void check_alive(uint32_t inode, struct ipr_process *p)
{
	struct ipr_process now = *p;

	if (!has_exited(p->pid))
		return;
	if (!from_proc(inode, &now))
		*p = now;
	else
		p->flags |= IPR_PROCESS_EXITED;
}

/* What /proc told of a socket the programs never saw (opened before them): recorded
 * for them, so the next lookup of it, and of a connection a listener accepts, is
 * quick. */
static void learn(const struct ipr_owners *o, const struct diag_answer *a,
		  const struct ipr_process *p)
{
	struct ipr_owner rec = { .cookie = a->cookie, .tgid = p->pid, .local_port = a->local_port };
	struct ipr_owner_key k = { .local_port = a->local_port, .protocol = IPPROTO_TCP };

	if (!o->maps.owners)
		return;
	memcpy(rec.local, a->local, sizeof(rec.local));
	memcpy(rec.comm, p->comm, sizeof(rec.comm));
	bpf_map__update_elem(o->maps.owners, &a->cookie, sizeof(a->cookie), &rec, sizeof(rec),
			     BPF_ANY);
	if (a->state != TCP_LISTEN)
		return;
	memcpy(k.local, a->local, sizeof(k.local));
	bpf_map__update_elem(o->maps.bound, &k, sizeof(k), &rec, sizeof(rec), BPF_NOEXIST);
}

/* The programs' record of the socket, by its cookie. */
static int from_record(struct ipr_procs *ps, const struct diag_answer *a, struct ipr_process *p)
{
	if (!a->cookie || map_owner(ps->owners->maps.owners, &a->cookie, sizeof(a->cookie), p))
		return -1;
	check_alive(a->inode, p);
	return 0;
}

/* The socket's holder by /proc, recorded for the programs. */
static int from_inode(struct ipr_procs *ps, const struct diag_answer *a, struct ipr_process *p)
{
	if (from_proc(a->inode, p))
		return -1;
	learn(ps->owners, a, p);
	return 0;
}

static int from_socket(struct ipr_procs *ps, const struct diag_answer *a,
		       struct ipr_process *p)
{
	return from_record(ps, a, p) && from_inode(ps, a, p) ? -1 : 0;
}

static int released_owner(const struct ipr_owners *o, const struct ipr_owner_key *k,
			  struct ipr_process *p)
{
	if (map_owner(o->maps.released, k, sizeof(*k), p))
		return -1;
	if (has_exited(p->pid))
		p->flags |= IPR_PROCESS_EXITED;
	return 0;
}

/* A socket already released, by its ends as its record has them: both; the local
 * end only (unconnected), with its address or bound to any; the remote end only
 * (connected before it was bound). */
static int from_released(struct ipr_procs *ps, const struct ipr_owner_key *k,
			 struct ipr_process *p)
{
	struct ipr_owner_key local = *k, any_addr, remote = *k;

	memset(local.remote, 0, sizeof(local.remote));
	local.remote_port = 0;
	any_addr = local;
	memset(any_addr.local, 0, sizeof(any_addr.local));
	memset(remote.local, 0, sizeof(remote.local));
	remote.local_port = 0;
	return released_owner(ps->owners, k, p) && released_owner(ps->owners, &local, p) &&
	       released_owner(ps->owners, &any_addr, p) &&
	       released_owner(ps->owners, &remote, p) ? -1 : 0;
}

/* The socket bound to the local end (its listener, for TCP): from its record, with
 * that address or any; else from a dump of the listeners. */
/* The record of the socket bound to the local end, with its address or any. */
static int from_listener_record(struct ipr_procs *ps, const struct ipr_owner_key *k,
				struct ipr_process *p)
{
	struct ipr_owner_key local = *k;

	memset(local.remote, 0, sizeof(local.remote));
	local.remote_port = 0;
	p->flags |= IPR_PROCESS_LISTENER;
	if (!map_owner(ps->owners->maps.bound, &local, sizeof(local), p))
		return 0;
	memset(local.local, 0, sizeof(local.local));
	return map_owner(ps->owners->maps.bound, &local, sizeof(local), p);
}

static int from_listener(struct ipr_procs *ps, const struct ipr_owner_key *k, int v6,
			 struct ipr_process *p)
{
	struct diag_answer a;

	if (!from_listener_record(ps, k, p))
		return 0;
	if (k->protocol != IPPROTO_TCP || diag_listener(ps, k, v6, &a))
		return -1;
	return from_socket(ps, &a, p);
}

/* An established TCP connection, by the record the programs keep of its ends. */
static int from_connection(struct ipr_procs *ps, const struct ipr_owner_key *k,
			   struct ipr_process *p)
{
	if (k->protocol != IPPROTO_TCP || map_owner(ps->owners->maps.conns, k, sizeof(*k), p))
		return -1;
	if (has_exited(p->pid))
		p->flags |= IPR_PROCESS_EXITED;
	return 0;
}

/* A TCP connection the programs never saw: accepted by a listener they did not see
 * either, it is named by that listener, as they name the connections they see
 * accepted; once the listener is known they record its next connections themselves
 * (a monitor looks up a SYN after its connection was accepted). Scanning /proc for
 * each would stall the receive for milliseconds; /proc is asked only without a listener. */
static int from_accepted(struct ipr_procs *ps, const struct ipr_owner_key *k, int v6,
			 const struct diag_answer *a, struct ipr_process *p)
{
	if (!from_listener(ps, k, v6, p))
		return 0;
	memset(p, 0, sizeof(*p));
	return from_inode(ps, a, p);
}

/* The process of the socket at the packet's local end; 0, or -1 if none is found.
 * The programs' records first: of an established connection by its ends (not for a
 * SYN: its ends may be an old connection's), of a listener for a SYN arriving; else
 * sock_diag finds the socket. */
static int look_up(struct ipr_procs *ps, const struct packet_end *e, struct ipr_process *p)
{
	const struct ipr_owner_key *k = &e->key;
	struct diag_answer a;

	memset(p, 0, sizeof(*p));
	if ((!e->syn && !from_connection(ps, k, p)) ||
	    (e->syn && e->inbound && !from_listener_record(ps, k, p)))
		return 0;
	memset(p, 0, sizeof(*p));
	if (diag_one(ps, k, e->v6, &a))
		return from_released(ps, k, p);
	if (a.state == TCP_SYN_RECV)
		return from_listener(ps, k, e->v6, p);
	if (!from_record(ps, &a, p))
		return 0;
	if (k->protocol == IPPROTO_TCP && a.state != TCP_LISTEN)
		return from_accepted(ps, k, e->v6, &a, p);
	return from_inode(ps, &a, p) ? from_listener(ps, k, e->v6, p) : 0;
}

/* ---- the process filter ---- */

static int exe_is(uint32_t pid, const char *want)
{
	char exe[4096];

	return !ipr_process_exe(pid, exe, sizeof(exe)) && !strcmp(exe, want);
}

static int passes(const struct ipr_owners *o, const struct ipr_process *p)
{
	if (!o->filtering)
		return 1;
	if (!p->pid || (o->pid && p->pid != o->pid))
		return 0;
	if (o->comm[0] && strncmp(p->comm, o->comm, IPR_COMM_MAX - 1))
		return 0;
	return !o->exe[0] || exe_is(p->pid, o->exe);
}

/* ---- the library's calls ---- */

/* The flow of packet p with its process, looked up if not known; NULL for none. */
static struct flow *flow_of(struct ipr_procs *ps, const struct ipr_packet *p)
{
	struct packet_end e;
	struct flow *f;
	uint64_t now = now_ms();
	int found;

	if (end_of(p, &e))
		return NULL;
	f = flow_find(ps, &e.key, &found);
	if (!found || now - f->seen_ms > FLOW_IDLE_MS || e.syn) {
		*f = (struct flow){ .key = e.key, .valid = 1 };
		if (look_up(ps, &e, &f->proc))
			memset(&f->proc, 0, sizeof(f->proc));
		f->pass = (uint8_t)passes(ps->owners, &f->proc);
	}
	f->seen_ms = now;
	return f;
}

int ipr_process_mark(struct ipr_handle *h, struct ipr_packet *p)
{
	struct flow *f;

	if (!h->procs)
		return 1;
	f = flow_of(h->procs, p);
	if (f && f->proc.pid) {
		p->pid = f->proc.pid;
		p->flags |= IPR_PKT_HAS_PROCESS;
	}
	return f ? f->pass : passes(h->procs->owners, &(struct ipr_process){ 0 });
}

int ipr_packet_wanted(struct ipr_handle *h, struct ipr_packet *p)
{
	if ((h->filter.user && !ipr_filter_match(&h->filter, p->data, p->caplen, p->len)) ||
	    !ipr_process_mark(h, p)) {
		h->stats.filtered++;
		return 0;
	}
	if ((p->mark & h->inject_mask) == h->inject_mark)
		p->flags |= IPR_PKT_INJECTED;
	h->stats.received++;
	h->stats.bytes += p->len;
	return 1;
}

/* The queue's handle that received p. */
static struct ipr_handle *queue_of(struct ipr_handle *h, const struct ipr_packet *p)
{
	h = h->owner;
	for (unsigned int i = 0; i < h->nmembers; i++)
		if (h->members[i]->info.queue == p->queue)
			return h->members[i];
	return h;
}

IPR_EXPORT int ipr_packet_process(struct ipr_handle *h, const struct ipr_packet *p,
				  struct ipr_process *proc, size_t size)
{
	struct ipr_handle *q = h ? queue_of(h, p) : NULL;
	struct ipr_process none = { 0 };
	struct flow *f;

	if (!q || !q->procs)
		return ipr_fail(-EINVAL, "process lookup needs a handle opened with "
				"IPR_OPEN_PROCESS");
	f = flow_of(q->procs, p);
	memcpy(proc, f ? &f->proc : &none, size < sizeof(none) ? size : sizeof(none));
	return f && f->proc.pid ? 0 : -ENOENT;
}

IPR_EXPORT int ipr_process_exe(uint32_t pid, char *buf, size_t size)
{
	char path[64], exe[4096];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%u/exe", pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n < 0)
		return -errno;
	if ((size_t)n >= size)
		return -ENAMETOOLONG;
	memcpy(buf, exe, (size_t)n);
	buf[n] = 0;
	return 0;
}

IPR_EXPORT int ipr_process_cgroup(uint32_t pid, char *buf, size_t size)
{
	char path[64], line[4096];
	FILE *f;
	int err = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%u/cgroup", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (err && fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = 0;
			err = strlen(line + 3) < size ? 0 : -ENAMETOOLONG;
			if (!err)
				strcpy(buf, line + 3);
		}
	fclose(f);
	return err;
}

/* ---- open and close ---- */

/* The socket programs, records only; else why not in o->why (/proc remains). */
static void attach_owner(struct ipr_owners *o)
{
	if (ipr_sockbpf_open(&o->bpf, 0, 0, o->why, sizeof(o->why)))
		return;
	ipr_sockbpf_maps(&o->bpf, &o->maps);
}

static int load_filter(struct ipr_owners *o, const struct ipr_options *opts)
{
	o->pid = opts->pid;
	if (opts->comm && strlen(opts->comm) >= sizeof(o->comm))
		return ipr_fail(-EINVAL, "command name \"%s\": at most %zu characters",
				opts->comm, sizeof(o->comm) - 1);
	if (opts->exe && (opts->exe[0] != '/' || strlen(opts->exe) >= sizeof(o->exe)))
		return ipr_fail(-EINVAL, "executable \"%s\": give its absolute path", opts->exe);
	snprintf(o->comm, sizeof(o->comm), "%s", opts->comm ? opts->comm : "");
	snprintf(o->exe, sizeof(o->exe), "%s", opts->exe ? opts->exe : "");
	o->filtering = o->pid || o->comm[0] || o->exe[0];
	return 0;
}

static int open_queue_part(struct ipr_handle *h, struct ipr_owners *o)
{
	struct ipr_procs *ps = calloc(1, sizeof(*ps));

	if (!ps)
		return ipr_fail(-ENOMEM, "out of memory");
	ps->owners = o;
	ps->diag = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (ps->diag < 0) {
		free(ps);
		return ipr_fail(-errno, "sock_diag socket: %s", strerror(errno));
	}
	h->procs = ps;
	return 0;
}

int ipr_process_open(struct ipr_handle *h, const struct ipr_options *opts)
{
	struct ipr_owners *o;
	int err;

	if (!(opts->flags & IPR_OPEN_PROCESS) && !opts->pid && !opts->comm && !opts->exe)
		return 0;
	o = calloc(1, sizeof(*o));
	if (!o)
		return ipr_fail(-ENOMEM, "out of memory");
	err = load_filter(o, opts);
	if (err) {
		free(o);
		return err;
	}
	attach_owner(o);
	for (unsigned int i = 0; i < h->nmembers && !err; i++)
		err = open_queue_part(h->members[i], o);
	if (!h->procs) { /* not even the first: nothing holds o */
		ipr_sockbpf_close(&o->bpf);
		free(o);
	}
	return err;
}

void ipr_process_close(struct ipr_handle *h)
{
	struct ipr_owners *o = h->procs ? h->procs->owners : NULL;

	for (unsigned int i = 0; i < h->nmembers; i++) {
		struct ipr_procs *ps = h->members[i]->procs;

		if (!ps)
			continue;
		close(ps->diag);
		free(ps);
		h->members[i]->procs = NULL;
	}
	if (o) {
		ipr_sockbpf_close(&o->bpf);
		free(o);
	}
}

IPR_EXPORT const char *ipr_process_limits(const struct ipr_handle *h)
{
	const struct ipr_procs *ps = h ? h->owner->procs : NULL;

	if (!ps)
		return "the handle was not opened with IPR_OPEN_PROCESS";
	return ps->owners->bpf.skel ? NULL : ps->owners->why;
}
