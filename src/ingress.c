/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ingress.c - ipr_send_in(): a packet injected as if it arrived on a given
 * interface.
 *
 * Per target interface, a tun device IPR_EGRESS_PREFIX "<pid>.<n>" whose
 * egress (a clsact qdisc, one u32 filter matching everything, a mirred action)
 * redirects every packet to the ingress of the target. A packet socket sends
 * into the tun with SO_MARK = the inject mark, which the redirect keeps: the
 * kernel sees the packet arrive on the target (its iif, routing, reverse-path
 * check and sockets are the target's) and ipredir tables judge it as any
 * injection. The tun is not persistent and takes its qdisc with it when its fd
 * closes, on SIGKILL too. IPv6 is off on it, so the kernel sends nothing of
 * its own there.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define IPR_EGRESS_PREFIX "iprto" /* tun devices that redirect to an interface's ingress */

/* ---- traffic control over rtnetlink ---- */

static struct nlmsghdr *tc_message(void *buf, uint16_t type, uint16_t flags, int ifindex,
				   uint32_t parent, uint32_t info)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct tcmsg *tcm;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_seq = (uint32_t)time(NULL);
	tcm = mnl_nlmsg_put_extra_header(nlh, sizeof(*tcm));
	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = ifindex;
	tcm->tcm_parent = parent;
	tcm->tcm_info = info;
	return nlh;
}

/* Send one request and wait for its ack: 0 or the kernel's -errno. */
static int tc_talk(struct nlmsghdr *nlh)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	int err = nl ? 0 : -errno;
	ssize_t n;

	if (!err && mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		err = -errno;
	if (!err && mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		err = -errno;
	if (!err) {
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		err = n < 0 ? -errno : mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, 0, NULL, NULL);
		err = err < 0 ? -errno : 0;
	}
	if (nl)
		mnl_socket_close(nl);
	return err;
}

/* A clsact qdisc on dev, for its egress filter. */
static int add_clsact(int dev)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = tc_message(buf, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, dev,
					  TC_H_CLSACT, 0);

	((struct tcmsg *)mnl_nlmsg_get_payload(nlh))->tcm_handle = TC_H_MAKE(TC_H_CLSACT, 0);
	mnl_attr_put_strz(nlh, TCA_KIND, "clsact");
	return tc_talk(nlh);
}

/* The action: mirred, redirect to the ingress of target, the packet stolen. */
static void put_mirred(struct nlmsghdr *nlh, int target)
{
	struct tc_mirred parms = { .action = TC_ACT_STOLEN, .eaction = TCA_INGRESS_REDIR,
				   .ifindex = (uint32_t)target };
	struct nlattr *acts = mnl_attr_nest_start(nlh, TCA_U32_ACT);
	struct nlattr *first = mnl_attr_nest_start(nlh, 1);
	struct nlattr *opts;

	mnl_attr_put_strz(nlh, TCA_ACT_KIND, "mirred");
	opts = mnl_attr_nest_start(nlh, TCA_ACT_OPTIONS);
	mnl_attr_put(nlh, TCA_MIRRED_PARMS, sizeof(parms), &parms);
	mnl_attr_nest_end(nlh, opts);
	mnl_attr_nest_end(nlh, first);
	mnl_attr_nest_end(nlh, acts);
}

/* An egress filter on dev: u32, one key matching everything, then put_mirred(). */
static int add_redirect(int dev, int target)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	uint8_t sel[sizeof(struct tc_u32_sel) + sizeof(struct tc_u32_key)] = { 0 };
	struct nlmsghdr *nlh = tc_message(buf, RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL, dev,
					  TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS),
					  TC_H_MAKE(1u << 16, htons(ETH_P_ALL)));
	struct nlattr *opts;

	((struct tc_u32_sel *)sel)->flags = TC_U32_TERMINAL;
	((struct tc_u32_sel *)sel)->nkeys = 1; /* mask 0: every packet */
	mnl_attr_put_strz(nlh, TCA_KIND, "u32");
	opts = mnl_attr_nest_start(nlh, TCA_OPTIONS);
	mnl_attr_put(nlh, TCA_U32_SEL, sizeof(sel), sel);
	put_mirred(nlh, target);
	mnl_attr_nest_end(nlh, opts);
	return tc_talk(nlh);
}

/* ---- one target ---- */

/* The packet socket that sends into the tun, marked. */
static int packet_socket(uint32_t mark)
{
	int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return ipr_fail(-errno, "packet socket: %s (needs CAP_NET_RAW)", strerror(errno));
	if (mark && setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0) {
		int err = ipr_fail(-errno, "SO_MARK 0x%x on the packet socket: %s", mark,
				   strerror(errno));

		close(fd);
		return err;
	}
	return fd;
}

/* The tun device of g, up, its egress redirected to g->ifindex. */
static int redirect_tun(struct ipr_ingress *g)
{
	int err, dev;

	g->tun = ipr_tun_new(IPR_EGRESS_PREFIX, g->name);
	if (g->tun < 0)
		return g->tun;
	err = ipr_sysctl_set("ipv6", g->name, "disable_ipv6", "1");
	if (err == -ENOENT)
		err = 0; /* a kernel without IPv6 */
	if (!err)
		err = ipr_link_up(g->name, 0);
	dev = (int)if_nametoindex(g->name);
	if (!err && (err = add_clsact(dev)) == 0)
		err = add_redirect(dev, (int)g->ifindex);
	if (err == -ENOENT || err == -EOPNOTSUPP)
		return ipr_fail(err, "cannot redirect to the ingress of interface %u: this kernel "
				"lacks clsact (CONFIG_NET_SCH_INGRESS), u32 (CONFIG_NET_CLS_U32) "
				"or mirred (CONFIG_NET_ACT_MIRRED)", g->ifindex);
	return err ? ipr_fail(err, "redirecting %s to interface %u: %s", g->name, g->ifindex,
			      strerror(-err)) : (int)if_nametoindex(g->name);
}

static void close_ingress(struct ipr_ingress *g)
{
	if (g->fd >= 0)
		close(g->fd);
	if (g->tun >= 0)
		close(g->tun); /* the kernel removes the device and its qdisc */
	*g = (struct ipr_ingress){ .fd = -1, .tun = -1 };
}

static int open_ingress(struct ipr_ingress *g, unsigned int ifindex, uint32_t mark)
{
	char name[IF_NAMESIZE];
	int dev;

	if (!if_indextoname(ifindex, name))
		return ipr_fail(-ENODEV, "no interface has index %u", ifindex);
	*g = (struct ipr_ingress){ .ifindex = ifindex, .fd = -1 };
	dev = redirect_tun(g);
	if (dev >= 0)
		g->fd = packet_socket(mark);
	if (dev < 0 || g->fd < 0) {
		int err = dev < 0 ? dev : g->fd;

		close_ingress(g);
		return err;
	}
	g->dev = dev;
	ipr_log(IPR_LOG_DEBUG, "inbound injection on %s through %s", name, g->name);
	return 0;
}

/* The redirecting tun of ifindex, made on first use; the least recent gives way. */
static struct ipr_ingress *ingress_of(struct ipr_handle *h, unsigned int ifindex, int *err)
{
	struct ipr_ingress *g = &h->ingress[0];

	for (unsigned int i = 0; i < IPR_INGRESS_MAX; i++)
		if (h->ingress[i].ifindex == ifindex && h->ingress[i].fd >= 0)
			return &h->ingress[i];
	for (unsigned int i = 1; i < IPR_INGRESS_MAX; i++)
		if (h->ingress[i].fd < 0 || h->ingress[i].used < g->used)
			g = &h->ingress[i];
	close_ingress(g);
	*err = open_ingress(g, ifindex, h->inject.mark);
	return *err ? NULL : g;
}

IPR_EXPORT int ipr_send_in(struct ipr_handle *h, const void *pkt, size_t len,
			   unsigned int ifindex)
{
	const uint8_t *p = pkt;
	struct sockaddr_ll to = { .sll_family = AF_PACKET };
	struct ipr_ingress *g;
	int err = ipr_inject_check(pkt, len);

	if (err)
		return err;
	if (!ifindex)
		return ipr_send(h, pkt, len, IPR_LAYER_IN);
	g = ingress_of(h, ifindex, &err);
	if (!g)
		return err;
	g->used = ++h->ingress_uses;
	to.sll_ifindex = g->dev;
	to.sll_protocol = htons(p[0] >> 4 == 6 ? ETH_P_IPV6 : ETH_P_IP);
	if (sendto(g->fd, pkt, len, 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		return ipr_fail(-errno, "injecting through %s to interface %u: %s", g->name,
				ifindex, strerror(errno));
	return 0;
}

void ipr_ingress_close(struct ipr_handle *h)
{
	for (unsigned int i = 0; i < IPR_INGRESS_MAX; i++)
		close_ingress(&h->ingress[i]);
}
