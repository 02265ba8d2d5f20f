/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nfnl.c - what the netlink engines share: the socket, configuration requests
 * and their acks, packet attributes into metadata, the search for a free queue
 * or group number, and the kernel's /proc tables of queues and groups.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define AUTO_FIRST 49152 /* automatic queue and group numbers: far from hand-written rules */
#define AUTO_SPAN 16384
#define PROC_DIR "/proc/net/netfilter/"

/* ---- the socket ---- */

static void set_buffer(int fd, int force, int plain, int size)
{
	if (setsockopt(fd, SOL_SOCKET, force, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, plain, &size, sizeof(size));
}

int ipr_nfnl_set_rcvbuf(int fd, int size)
{
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) == 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)) == 0)
		return 0;
	return ipr_fail(-errno, "setting a receive buffer of %d bytes: %s", size, strerror(errno));
}

int ipr_nfnl_socket(int rcvbuf, int sndbuf)
{
	struct sockaddr_nl addr = { .nl_family = AF_NETLINK };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER), on = 1;

	if (fd < 0)
		return ipr_fail(-errno, "netlink socket: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int err = ipr_fail(-errno, "netlink bind: %s", strerror(errno));

		close(fd);
		return err;
	}
	set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, rcvbuf);
	if (sndbuf)
		set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, sndbuf);
	/* Overflow is counted by the kernel; an ENOBUFS error would only stop a loop. */
	setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &on, sizeof(on));
	/* Error acks must not echo 64 KiB payloads back. */
	setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &on, sizeof(on));
	return fd;
}

/* ---- requests ---- */

struct nlmsghdr *ipr_nfnl_put_header(void *buf, uint8_t subsys, uint8_t type, uint16_t res_id,
				     uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = (uint16_t)((subsys << 8) | type);
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_UNSPEC;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = htons(res_id);
	return nlh;
}

struct nlmsghdr *ipr_nfnl_put_config(void *buf, uint8_t subsys, uint16_t res_id, uint32_t seq)
{
	uint8_t type = subsys == NFNL_SUBSYS_QUEUE ? NFQNL_MSG_CONFIG : NFULNL_MSG_CONFIG;

	return ipr_nfnl_put_header(buf, subsys, type, res_id, seq);
}

struct nlmsghdr *ipr_nfnl_put_command(void *buf, uint8_t subsys, uint16_t res_id, uint32_t seq,
				      uint8_t command)
{
	struct nlmsghdr *nlh = ipr_nfnl_put_config(buf, subsys, res_id, seq);
	/* nfqnl_msg_config_cmd: command, pad, pf; nfulnl_msg_config_cmd: command */
	const uint8_t cmd[4] = { command };

	/* NFQA_CFG_CMD and NFULA_CFG_CMD are both attribute 1 */
	mnl_attr_put(nlh, NFQA_CFG_CMD, subsys == NFNL_SUBSYS_QUEUE ? 4 : 1, cmd);
	return nlh;
}

/* The error code of the ack for seq in n bytes at buf, or 1 if it is not there. */
static int find_ack(const void *buf, ssize_t n, uint32_t seq)
{
	int len = (int)n;

	for (const struct nlmsghdr *nlh = buf; mnl_nlmsg_ok(nlh, len);
	     nlh = mnl_nlmsg_next(nlh, &len))
		if (nlh->nlmsg_type == NLMSG_ERROR && nlh->nlmsg_seq == seq)
			return ((const struct nlmsgerr *)mnl_nlmsg_get_payload(nlh))->error;
	return 1;
}

int ipr_nfnl_talk(int fd, struct nlmsghdr *nlh)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	int err = 1;

	nlh->nlmsg_flags |= NLM_F_ACK;
	if (send(fd, nlh, nlh->nlmsg_len, 0) < 0)
		return -errno;
	while (err == 1) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0)
			return -errno;
		err = find_ack(buf, n, nlh->nlmsg_seq);
	}
	return err;
}

int ipr_nfnl_find_free(const char *what, unsigned int step, ipr_try_fn try_number, void *arg)
{
	unsigned int start = (unsigned int)getpid() % AUTO_SPAN;
	int err = -EBUSY;

	for (unsigned int i = 0; i < AUTO_SPAN && err == -EBUSY; i += step)
		err = try_number(arg, AUTO_FIRST + (start + i) % AUTO_SPAN);
	if (err == -EBUSY)
		return ipr_fail(err, "no free %s between %d and %d", what, AUTO_FIRST,
				AUTO_FIRST + AUTO_SPAN - 1);
	return err;
}

/* ---- packet messages ---- */

/* Smallest payload of each kind of attribute; shorter ones are ignored. */
static const uint8_t meta_size[] = {
	[IPR_META_MARK] = 4,
	[IPR_META_IFINDEX_IN] = 4,
	[IPR_META_IFINDEX_OUT] = 4,
	[IPR_META_UID] = 4,
	[IPR_META_GID] = 4,
	[IPR_META_TIMESTAMP] = 16,
};

/* Both subsystems send { be64 sec, be64 usec }; attributes are only 4-byte aligned. */
static void take_timestamp(const void *v, struct ipr_packet *p)
{
	uint64_t ts[2];

	memcpy(ts, v, sizeof(ts));
	if (!ts[0] && !ts[1])
		return; /* the kernel had no time for this packet */
	p->ts_sec = (int64_t)be64toh(ts[0]);
	p->ts_nsec = (uint32_t)be64toh(ts[1]) * 1000;
	p->flags |= IPR_PKT_KERNEL_TIME;
}

void ipr_nfnl_take_meta(const struct nlattr *a, enum ipr_meta meta, struct ipr_packet *p)
{
	const void *v = mnl_attr_get_payload(a);

	if (meta >= sizeof(meta_size) || mnl_attr_get_payload_len(a) < meta_size[meta])
		return;
	switch (meta) {
	case IPR_META_NONE:
		break;
	case IPR_META_PAYLOAD:
		p->data = (uint8_t *)v;
		p->caplen = mnl_attr_get_payload_len(a);
		break;
	case IPR_META_MARK:
		p->mark = ntohl(mnl_attr_get_u32(a));
		break;
	case IPR_META_IFINDEX_IN:
		p->ifindex_in = ntohl(mnl_attr_get_u32(a));
		break;
	case IPR_META_IFINDEX_OUT:
		p->ifindex_out = ntohl(mnl_attr_get_u32(a));
		break;
	case IPR_META_UID:
		p->uid = ntohl(mnl_attr_get_u32(a));
		p->flags |= IPR_PKT_HAS_UID;
		break;
	case IPR_META_GID:
		p->gid = ntohl(mnl_attr_get_u32(a));
		p->flags |= IPR_PKT_HAS_GID;
		break;
	case IPR_META_TIMESTAMP:
		take_timestamp(v, p);
		break;
	}
}

void ipr_nfnl_take_hook(uint8_t hook, uint16_t hw_protocol_be, struct ipr_packet *p)
{
	p->hook = hook;
	if (ntohs(hw_protocol_be) == 0x86dd)
		p->flags |= IPR_PKT_IPV6;
}

static uint8_t hook_layer(uint8_t hook)
{
	switch (hook) {
	case NF_INET_LOCAL_IN:
		return IPR_LAYER_IN;
	case NF_INET_LOCAL_OUT:
		return IPR_LAYER_OUT;
	default:
		return IPR_LAYER_FORWARD;
	}
}

void ipr_nfnl_finish_packet(struct ipr_packet *p, const struct timespec *now, uint16_t num)
{
	if (!(p->flags & IPR_PKT_KERNEL_TIME)) {
		p->ts_sec = now->tv_sec;
		p->ts_nsec = (uint32_t)now->tv_nsec;
	}
	p->layer = hook_layer(p->hook);
	p->queue = num;
}

uint32_t ipr_seq_advance(uint32_t *last, int *have, uint32_t value)
{
	uint32_t skipped = 0;

	if (*have && (int32_t)(value - *last) > 1)
		skipped = value - *last - 1;
	if (!*have || (int32_t)(value - *last) > 0)
		*last = value;
	*have = 1;
	return skipped;
}

int ipr_recv_failed(int err)
{
	return err == -EAGAIN || err == -EINTR ? err : ipr_fail(err, "receive: %s", strerror(-err));
}

/* ---- /proc/net/netfilter ---- */

int ipr_nfnl_proc_line(const char *file, unsigned int num, unsigned long long *v,
		       unsigned int n)
{
	char path[64], line[256];
	FILE *f;
	int err = -ENOENT;

	snprintf(path, sizeof(path), PROC_DIR "%s", file);
	f = fopen(path, "re");
	if (!f)
		return ipr_fail(-errno, "%s: %s", path, strerror(errno));
	while (err && fgets(line, sizeof(line), f)) {
		char *p = line, *end;
		unsigned int i;

		for (i = 0; i < n; i++, p = end) {
			v[i] = strtoull(p, &end, 10);
			if (end == p)
				break;
		}
		if (i == n && v[0] == num)
			err = 0;
	}
	fclose(f);
	return err;
}
