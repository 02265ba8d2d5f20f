/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bpfmon.c - the BPF engine of monitor handles: a netfilter BPF program
 * (bpf/monitor.bpf.c, embedded as a libbpf skeleton) linked at the hooks of the
 * handle's layers, for IPv4 and IPv6, copies each wanted packet into a ring
 * buffer that is read here in batches. Nothing is held and there are no
 * verdicts; the links are owned by this process's fds and go when it exits.
 *
 * Cheaper than NFLOG, which copies each packet into a netlink message in the
 * sender's path and again to user space: here the kernel copies once, into
 * memory this process maps, and wakes it only once a batch waits (or 10 ms
 * after a copy), and it then reads until the ring is empty.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <linux/netfilter.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "internal.h"
#include "monitor.h"
#include "monitor.skel.h"

/* Linux 6.4 names that libbpf 1.1's headers lack. */
#define PROG_TYPE_NETFILTER 32 /* BPF_PROG_TYPE_NETFILTER */
#define ATTACH_NETFILTER 45    /* BPF_NETFILTER */
#define LINKS_MAX 6            /* three hooks, two families */
#define PRIORITY_TRIES 64      /* hook priorities tried past ones in use */
#define RB_BUSY (1u << 31)     /* BPF_RINGBUF_BUSY_BIT: being written */
#define RB_DISCARD (1u << 30)  /* BPF_RINGBUF_DISCARD_BIT: skip it */
#define RB_HDR 8               /* BPF_RINGBUF_HDR_SZ */

/* What one BPF_LINK_CREATE of a netfilter link reads of union bpf_attr. */
struct nf_link_attr {
	uint32_t prog_fd;
	uint32_t target_fd;
	uint32_t attach_type;
	uint32_t flags;
	uint32_t pf;
	uint32_t hooknum;
	int32_t priority;
	uint32_t nf_flags;
};

/* The ring buffer as mapped: the consumer position we write, the producer's we read. */
struct ring {
	unsigned long *consumer;
	const unsigned long *producer;
	const uint8_t *data;     /* mapped twice in a row: a record never wraps */
	size_t size;             /* data bytes, a power of two */
	size_t page;
	unsigned long read;      /* how far we read; *consumer lags while copies are lent */
};

struct bpfmon {
	struct ipr_monitor_bpf *skel;
	int link[LINKS_MAX];
	unsigned int nlinks;
	struct ring ring;
	int epfd;                /* ipr_fd(): the ring and the wake eventfd */
	int wakefd;
	uint32_t seq;            /* packet ids, in the order of the ring */
	int awake;               /* woken: read until the ring is empty, then wait again */
};

/* ---- load and link ---- */

static void copy_ifname(char *dst, const char *name)
{
	if (name)
		strncpy(dst, name, IPR_MON_IFNAMSIZ - 1);
}

/* About 64 copies' worth of unread bytes: as many as NFLOG batches per message. */
static uint32_t wake_bytes(uint32_t snaplen)
{
	uint32_t bytes = 64 * (snaplen + (uint32_t)sizeof(struct ipr_mon_record) + RB_HDR);

	return bytes < IPR_MON_WAKE_MIN ? IPR_MON_WAKE_MIN
	       : bytes > IPR_MON_WAKE_MAX ? IPR_MON_WAKE_MAX : bytes;
}

/* The handle's conditions and filter into the program's read-only data. */
static void configure(struct ipr_monitor_bpf__rodata *rd, const struct ipr_handle *h,
		      const struct ipr_options *o)
{
	const struct ipr_filter *f = &h->filter;

	rd->filter_len = f->kernel ? f->kernel_len : 0;
	for (unsigned int i = 0; i < rd->filter_len; i++)
		rd->filter[i] = (struct ipr_mon_insn){ f->kernel[i].code, f->kernel[i].jt,
						       f->kernel[i].jf, f->kernel[i].k };
	rd->snaplen = o->snaplen;
	rd->wake_bytes = wake_bytes(o->snaplen);
	rd->inject_mark = o->inject_mark;
	rd->inject_mask = o->inject_mask;
	rd->inject_level = ipr_inject_level(o->priority);
	rd->skip_loopback_in = !!(o->flags & IPR_OPEN_NO_LOOPBACK_IN);
	rd->skip_prefix_len = sizeof(IPR_TUN_PREFIX) - 1;
	copy_ifname(rd->ifnames.skip_prefix, IPR_TUN_PREFIX);
	copy_ifname(rd->ifnames.in, o->in_interface);
	copy_ifname(rd->ifnames.out, o->out_interface);
	copy_ifname(rd->ifnames.either, o->interface);
}

/* libbpf's messages go to the log callback, as debug lines: the library never prints. */
IPR_PRINTF(2, 0)
static int libbpf_to_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[IPR_ERROR_MAX];
	size_t len;

	vsnprintf(line, sizeof(line), fmt, ap);
	len = strlen(line);
	if (len && line[len - 1] == '\n')
		line[len - 1] = '\0';
	ipr_log(IPR_LOG_DEBUG, "libbpf: %s", line);
	return 0;
}

static int load_quietly(struct ipr_monitor_bpf *skel)
{
	libbpf_print_fn_t was = libbpf_set_print(libbpf_to_log);
	int err = ipr_monitor_bpf__load(skel);

	libbpf_set_print(was);
	return err;
}

static int load(struct bpfmon *m, const struct ipr_handle *h, const struct ipr_options *o)
{
	struct bpf_program *prog;
	int err;

	m->skel = ipr_monitor_bpf__open();
	if (!m->skel)
		return ipr_fail(-errno, "cannot open the monitor's BPF program: %s",
				strerror(errno));
	prog = m->skel->progs.monitor;
	bpf_program__set_type(prog, PROG_TYPE_NETFILTER);
	bpf_program__set_expected_attach_type(prog, ATTACH_NETFILTER);
	configure(m->skel->rodata, h, o);
	err = load_quietly(m->skel);
	if (err)
		return ipr_fail(err < 0 ? err : -EINVAL, "the kernel refused the monitor's BPF "
				"program (%s)", strerror(err < 0 ? -err : EINVAL));
	return 0;
}

static int link_create(int prog_fd, unsigned int pf, unsigned int hook, int priority)
{
	struct nf_link_attr attr = {
		.prog_fd = (uint32_t)prog_fd,
		.attach_type = ATTACH_NETFILTER,
		.pf = pf,
		.hooknum = hook,
		.priority = priority,
	};
	long fd = syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));

	return fd < 0 ? -errno : (int)fd;
}

/*
 * Link the program at one hook of one family: first at the priority the
 * handle's nf_tables chain would have, then, as a second hook at a taken
 * priority gets EBUSY, at the next free one after it.
 */
static int link_hook(struct bpfmon *m, unsigned int pf, unsigned int hook, int priority)
{
	int prog_fd = bpf_program__fd(m->skel->progs.monitor), fd = -EBUSY;

	for (int i = 0; i < PRIORITY_TRIES && fd == -EBUSY; i++)
		fd = link_create(prog_fd, pf, hook, priority + i);
	if (fd < 0)
		return ipr_fail(fd, "cannot link the monitor's BPF program at %s hook %u: %s",
				pf == NFPROTO_IPV4 ? "IPv4" : "IPv6", hook, strerror(-fd));
	m->link[m->nlinks++] = fd;
	return 0;
}

static int link_layers(struct bpfmon *m, unsigned int layers, int priority)
{
	static const struct { unsigned int layer, hook; } hooks[] = {
		{ IPR_LAYER_IN, NF_INET_LOCAL_IN },
		{ IPR_LAYER_OUT, NF_INET_LOCAL_OUT },
		{ IPR_LAYER_FORWARD, NF_INET_FORWARD },
	};
	int err = 0;

	for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]) && !err; i++) {
		if (!(layers & hooks[i].layer))
			continue;
		err = link_hook(m, NFPROTO_IPV4, hooks[i].hook, -priority);
		if (!err)
			err = link_hook(m, NFPROTO_IPV6, hooks[i].hook, -priority);
	}
	return err;
}

/* ---- the ring buffer ---- */

static int map_ring(struct ring *r, int fd, size_t size)
{
	void *p;

	r->page = (size_t)sysconf(_SC_PAGESIZE);
	r->size = size;
	p = mmap(NULL, r->page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return ipr_fail(-errno, "cannot map the monitor's ring buffer: %s", strerror(errno));
	r->consumer = p;
	r->read = *r->consumer;
	p = mmap(NULL, r->page + 2 * size, PROT_READ, MAP_SHARED, fd, (off_t)r->page);
	if (p == MAP_FAILED)
		return ipr_fail(-errno, "cannot map the monitor's ring buffer: %s", strerror(errno));
	r->producer = p;
	r->data = (const uint8_t *)p + r->page;
	return 0;
}

static void unmap_ring(struct ring *r)
{
	if (r->consumer)
		munmap(r->consumer, r->page);
	if (r->producer)
		munmap((void *)r->producer, r->page + 2 * r->size);
}

/*
 * One fd that polls readable when the program woke the reader (edge-triggered: a
 * batch waits, or the timer ran) or a wake-up was asked for. Level-triggered, it
 * would wake for every copy and the reader would take them one at a time.
 */
static int open_poll(struct bpfmon *m)
{
	struct epoll_event ring = { .events = EPOLLIN | EPOLLET, .data.u32 = 0 };
	struct epoll_event wake = { .events = EPOLLIN, .data.u32 = 1 };

	m->epfd = epoll_create1(EPOLL_CLOEXEC);
	m->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m->epfd < 0 || m->wakefd < 0)
		return ipr_fail(-errno, "cannot make the monitor's poll fd: %s", strerror(errno));
	if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, bpf_map__fd(m->skel->maps.ring), &ring) ||
	    epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->wakefd, &wake))
		return ipr_fail(-errno, "cannot poll the monitor's ring buffer: %s",
				strerror(errno));
	return 0;
}

/* ---- open and close ---- */

static int bpfmon_close(struct ipr_handle *h)
{
	struct bpfmon *m = h->priv;

	if (!m)
		return 0;
	for (unsigned int i = 0; i < m->nlinks; i++)
		close(m->link[i]); /* unhooks: the link's last fd */
	unmap_ring(&m->ring);
	if (m->epfd >= 0)
		close(m->epfd);
	if (m->wakefd >= 0)
		close(m->wakefd);
	ipr_monitor_bpf__destroy(m->skel);
	free(m);
	h->priv = NULL;
	h->fd = -1;
	return 0;
}

static int open_monitor(struct bpfmon *m, struct ipr_handle *h, const struct ipr_options *o)
{
	int err;

	err = load(m, h, o);
	if (!err)
		err = map_ring(&m->ring, bpf_map__fd(m->skel->maps.ring), IPR_MON_RING);
	if (!err)
		err = open_poll(m);
	return err ? err : link_layers(m, o->layers, o->priority);
}

static int bpfmon_open(struct ipr_handle *h, const struct ipr_options *o,
		       struct ipr_rules_action *act)
{
	struct bpfmon *m = calloc(1, sizeof(*m));
	int err;

	if (!m)
		return ipr_fail(-ENOMEM, "out of memory");
	m->epfd = m->wakefd = -1;
	h->priv = m;
	err = open_monitor(m, h, o);
	if (err) {
		bpfmon_close(h);
		return err;
	}
	h->fd = m->epfd;
	/* The table only names the handle for ipr_list_redirectors(): the links take the copies. */
	*act = (struct ipr_rules_action){ .kind = IPR_ACTION_TABLE, .count = 1, .snaplen = o->snaplen };
	return 0;
}

/* ---- receive ---- */

/* CLOCK_REALTIME minus CLOCK_MONOTONIC, the clock of the program's timestamps. */
static int64_t realtime_offset(void)
{
	struct timespec rt, mono;

	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	return (rt.tv_sec - mono.tv_sec) * 1000000000LL + (rt.tv_nsec - mono.tv_nsec);
}

/* A record's metadata into p, its bytes copied into slot or, without one, lent in place. */
static void take_record(struct bpfmon *m, const struct ipr_mon_record *r, uint8_t *slot,
			int64_t offset, struct ipr_packet *p)
{
	int64_t ns = (int64_t)r->ns + offset;
	struct timespec none = { 0 };

	memset(p, 0, sizeof(*p));
	if (slot)
		memcpy(slot, r + 1, r->caplen);
	p->data = slot ? slot : (uint8_t *)(uintptr_t)(r + 1); /* lent: read-only */
	p->caplen = r->caplen;
	p->len = r->len;
	p->id = ++m->seq;
	p->hook = r->hook;
	p->mark = r->mark;
	p->ifindex_in = r->ifindex_in;
	p->ifindex_out = r->ifindex_out;
	p->ts_sec = ns / 1000000000;
	p->ts_nsec = (uint32_t)(ns % 1000000000);
	p->flags = IPR_PKT_KERNEL_TIME | (r->pf == NFPROTO_IPV6 ? IPR_PKT_IPV6 : 0) |
		   (r->caplen < r->len ? IPR_PKT_TRUNCATED : 0) |
		   (r->flags & IPR_MON_GSO ? IPR_PKT_GSO : 0);
	if (r->flags & IPR_MON_UID) {
		p->uid = r->uid;
		p->gid = r->gid;
		p->flags |= IPR_PKT_HAS_UID | IPR_PKT_HAS_GID;
	}
	ipr_nfnl_finish_packet(p, &none, 0);
}

/* Hand out the copies that wait, up to rx->max; returns how many. Lent ones
 * (IPR_RECV_BORROW) go back to the kernel at the next call. */
static unsigned int take_ring(struct ipr_handle *h, const struct ipr_rx *rx)
{
	struct bpfmon *m = h->priv;
	struct ring *rg = &m->ring;
	unsigned long cons = rg->read;
	unsigned long prod = __atomic_load_n(rg->producer, __ATOMIC_ACQUIRE);
	int64_t offset = realtime_offset();
	int lend = !!(rx->flags & IPR_RECV_BORROW);
	unsigned int n = 0;

	__atomic_store_n(rg->consumer, cons, __ATOMIC_RELEASE);
	while (cons < prod && n < rx->max) {
		const uint8_t *hdr = rg->data + (cons & (rg->size - 1));
		uint32_t len = __atomic_load_n((const uint32_t *)hdr, __ATOMIC_ACQUIRE);
		struct ipr_packet *p = &rx->pkts[n];

		if (len & RB_BUSY)
			break; /* the kernel is still writing it: records are taken in order */
		if (!(len & RB_DISCARD)) {
			take_record(m, (const struct ipr_mon_record *)(hdr + RB_HDR),
				    lend ? NULL : rx->buf + (size_t)n * rx->slot, offset, p);
			n += ipr_packet_wanted(h, p);
		}
		cons += (RB_HDR + (len & ~(RB_BUSY | RB_DISCARD)) + 7) & ~7ul;
	}
	rg->read = cons;
	if (!lend)
		__atomic_store_n(rg->consumer, cons, __ATOMIC_RELEASE);
	/* Copies written since were not woken for: the timer's wake-up brings them. */
	m->awake = cons < __atomic_load_n(rg->producer, __ATOMIC_ACQUIRE);
	return n;
}

/* Take the program's wake-up, waiting for it up to timeout ms (-1: forever): 0 or -errno,
 * -EAGAIN if none came. */
static int wait_ring(struct bpfmon *m, int timeout)
{
	struct epoll_event ev[2];
	int n = epoll_wait(m->epfd, ev, 2, timeout);

	if (n < 0)
		return -errno;
	if (!n)
		return -EAGAIN;
	m->awake = 1;
	return 0;
}

/* Copies are read once the program woke the reader, until none is left; a receive
 * that does not wait takes whatever is there. */
static int bpfmon_recv(struct ipr_handle *h, const struct ipr_rx *rx)
{
	int nonblock = !!(rx->flags & IPR_RECV_NONBLOCK), err;
	struct bpfmon *m = h->priv;
	unsigned int n;

	for (;;) {
		if (m->awake || nonblock || ipr_is_shut(h)) {
			n = take_ring(h, rx);
			if (n)
				return (int)n;
		}
		if (ipr_is_shut(h))
			return ipr_shut_empty();
		err = wait_ring(m, nonblock ? 0 : -1);
		if (err)
			return ipr_recv_failed(err);
	}
}

/* The eventfd wakes a receive blocked in epoll_wait; it stays readable. */
static int bpfmon_wake(struct ipr_handle *h)
{
	uint64_t one = 1;

	return write(((struct bpfmon *)h->priv)->wakefd, &one, sizeof(one)) < 0 ? -errno : 0;
}

static int bpfmon_set_param(struct ipr_handle *h, enum ipr_param param, uint64_t value)
{
	return ipr_fail(-EINVAL, "a BPF monitor handle holds no queue and its ring buffer of "
				 "%u MiB is fixed at open", IPR_MON_RING >> 20);
}

/* A cgroup match is nf_tables' (socket cgroupv2): such a monitor is NFLOG's. */
static int bpfmon_serves(const struct ipr_options *o)
{
	return (o->flags & IPR_OPEN_MONITOR) && !o->cgroup && ipr_engine_allowed("bpf");
}

static int bpfmon_stats(struct ipr_handle *h, struct ipr_stats *s)
{
	s->failopen = __atomic_load_n(&((struct bpfmon *)h->priv)->skel->bss->lost,
				      __ATOMIC_RELAXED);
	return 0;
}

const struct ipr_engine ipr_engine_bpfmon = {
	.name = "bpf",
	.holds = 0,
	.serves = bpfmon_serves,
	.open = bpfmon_open,
	.recv = bpfmon_recv,
	.stats = bpfmon_stats,
	.close = bpfmon_close,
	.wake = bpfmon_wake,
	.set_param = bpfmon_set_param,
};
