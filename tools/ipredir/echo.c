/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * echo.c - `ipredir echo ADDR...`: a virtual host (VirtualEcho). Answers ICMP
 * and ICMPv6 echo requests sent to addresses that no interface owns.
 *
 * How the requests reach us: for each address a local route (table local,
 * type local, dev lo, the "AnyIP" kind) makes the kernel deliver packets for it
 * to this host, so they pass the input hook whether they come from a
 * neighbour or from a routed peer; the same route makes the kernel answer ARP
 * for an IPv4 address. IPv6 neighbour discovery answers only owned addresses or
 * proxied ones, so an IPv6 address also gets a proxy neighbour entry
 * (NTF_PROXY) on the interface that carries it (-i, else the interface whose
 * subnet holds it), with proxy_ndp and forwarding (the per-interface router
 * role that neighbour proxying requires; it does not forward packets) turned
 * on there. A guardian process (guard.c) makes these changes and removes them,
 * restoring every sysctl, when this process ends, SIGKILL included.
 *
 * Each request is dropped and a reply (addresses swapped, type 0 / 129, same
 * id, sequence and payload, TTL 64) is injected on the output path.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli.h"
#include "guard.h"

#define MAX_ADDRS 64
#define REPLY_TTL 64
#define IPV4_HDR 20
#define IPV6_HDR 40
#define ICMP_ECHO_REPLY 0
#define ICMP6_ECHO_REPLY 129

/* What was changed for one address, so that exit undoes exactly that. */
struct vaddr {
	struct ipr_addr addr;
	char text[IPR_ADDR_STRLEN];
	int route_added;
	unsigned int proxy_ifindex; /* proxy neighbour entry added there; 0 = none */
};

/* A sysctl set to 1 that held another value before. */
struct sysctl_change {
	char path[128];
	char old[16];
};

struct echo_state {
	struct vaddr addrs[MAX_ADDRS];
	unsigned int naddrs;
	struct sysctl_change sysctls[8];
	unsigned int nsysctls;
	const char *iface; /* -i, else NULL */
	int rtnl;          /* the guardian's */
	uint64_t answered4, answered6, passed, failed;
};

static void parse_option(int opt, const char *arg, void *ctx);

static const struct cli_spec echo_spec = {
	.name = "echo",
	.synopsis = "[options] ADDR...",
	.help = "  ADDR...                addresses to answer pings for (IPv4 or IPv6; no interface\n"
		"                         may own them). -i NAME: the interface that carries them\n"
		"                         (default: the one whose subnet holds each address)\n"
		"  Default layers here: --in --forward. While it runs the kernel treats the\n"
		"  addresses as local (other protocols get resets / unreachables).\n",
	.longopts = NULL,
	.shortopts = "",
	.redirect = 1,
	.parse = parse_option,
};

static void parse_option(int opt, const char *arg, void *ctx)
{
	cli_usage_error(&echo_spec, "unexpected option");
}

/* ---- rtnetlink ---- */

struct nl_request {
	struct nlmsghdr hdr;
	union {
		struct rtmsg rt;
		struct ndmsg nd;
	} body;
	char attrs[128];
};

static void add_attr(struct nl_request *req, unsigned short type, const void *data, size_t len)
{
	struct rtattr *rta = (struct rtattr *)((char *)req + NLMSG_ALIGN(req->hdr.nlmsg_len));

	rta->rta_type = type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	req->hdr.nlmsg_len = NLMSG_ALIGN(req->hdr.nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

static int rtnl_open(void)
{
	struct sockaddr_nl addr = { .nl_family = AF_NETLINK };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* Send one request with NLM_F_ACK; returns 0 or the kernel's -errno. */
static int rtnl_talk(int fd, struct nl_request *req)
{
	char buf[4096];
	ssize_t n;

	req->hdr.nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	if (send(fd, req, req->hdr.nlmsg_len, 0) < 0)
		return -errno;
	n = recv(fd, buf, sizeof(buf), 0);
	if (n < 0)
		return -errno;
	for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned int)n);
	     h = NLMSG_NEXT(h, n)) {
		if (h->nlmsg_type == NLMSG_ERROR)
			return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
	}
	return -EPROTO;
}

static size_t addr_len(const struct ipr_addr *a)
{
	return a->family == AF_INET ? 4 : 16;
}

/* Add (or delete) the local route that makes the kernel deliver a's packets here. */
static int local_route(int fd, const struct ipr_addr *a, int add)
{
	struct nl_request req = { 0 };
	uint32_t lo = if_nametoindex("lo");

	req.hdr.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
	req.hdr.nlmsg_type = add ? RTM_NEWROUTE : RTM_DELROUTE;
	req.hdr.nlmsg_flags = add ? NLM_F_CREATE | NLM_F_EXCL : 0;
	req.body.rt = (struct rtmsg){
		.rtm_family = a->family,
		.rtm_dst_len = (unsigned char)(addr_len(a) * 8),
		.rtm_table = RT_TABLE_LOCAL,
		.rtm_protocol = RTPROT_STATIC,
		.rtm_scope = RT_SCOPE_HOST,
		.rtm_type = RTN_LOCAL,
	};
	add_attr(&req, RTA_DST, a->bytes, addr_len(a));
	add_attr(&req, RTA_OIF, &lo, sizeof(lo));
	return rtnl_talk(fd, &req);
}

/* Add (or delete) a proxy neighbour entry for a on ifindex. */
static int proxy_neigh(int fd, const struct ipr_addr *a, unsigned int ifindex, int add)
{
	struct nl_request req = { 0 };

	req.hdr.nlmsg_len = NLMSG_LENGTH(sizeof(struct ndmsg));
	req.hdr.nlmsg_type = add ? RTM_NEWNEIGH : RTM_DELNEIGH;
	req.hdr.nlmsg_flags = add ? NLM_F_CREATE | NLM_F_EXCL : 0;
	req.body.nd = (struct ndmsg){
		.ndm_family = a->family,
		.ndm_ifindex = (int)ifindex,
		.ndm_state = NUD_PERMANENT,
		.ndm_flags = NTF_PROXY,
	};
	add_attr(&req, NDA_DST, a->bytes, addr_len(a));
	return rtnl_talk(fd, &req);
}

/* ---- sysctls ---- */

static int read_sysctl(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	int ok;

	if (!f)
		return -errno;
	ok = fgets(buf, (int)size, f) != NULL;
	fclose(f);
	if (!ok)
		return -EIO;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

static int write_sysctl(const char *path, const char *value)
{
	FILE *f = fopen(path, "w");
	int err = 0;

	if (!f)
		return -errno;
	if (fputs(value, f) < 0)
		err = -EIO;
	if (fclose(f) != 0 && !err)
		err = -errno;
	return err;
}

/* Make an IPv6 conf sysctl of iface 1 (remembering the old value) unless it is. */
static int enable_ipv6_conf(struct echo_state *st, const char *iface, const char *name)
{
	struct sysctl_change *c = &st->sysctls[st->nsysctls];
	char path[128], old[16];
	int err;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/%s", iface, name);
	for (unsigned int i = 0; i < st->nsysctls; i++)
		if (!strcmp(st->sysctls[i].path, path))
			return 0;
	err = read_sysctl(path, old, sizeof(old));
	if (err || !strcmp(old, "1"))
		return err;
	if (st->nsysctls == sizeof(st->sysctls) / sizeof(st->sysctls[0]))
		return -ENOSPC;
	err = write_sysctl(path, "1");
	if (err)
		return err;
	snprintf(c->path, sizeof(c->path), "%s", path);
	snprintf(c->old, sizeof(c->old), "%s", old);
	st->nsysctls++;
	return 0;
}

static void restore_sysctls(struct echo_state *st)
{
	while (st->nsysctls) {
		struct sysctl_change *c = &st->sysctls[--st->nsysctls];

		if (write_sysctl(c->path, c->old) < 0)
			fprintf(stderr, "ipredir echo: could not restore %s to %s\n", c->path, c->old);
	}
}

/* ---- which interface carries an address ---- */

static int in_subnet(const struct ipr_addr *a, const struct sockaddr *ifa, const struct sockaddr *mask)
{
	const uint8_t *x, *m;
	size_t n = addr_len(a);

	if (!ifa || !mask || ifa->sa_family != a->family)
		return 0;
	if (a->family == AF_INET) {
		x = (const uint8_t *)&((const struct sockaddr_in *)(const void *)ifa)->sin_addr;
		m = (const uint8_t *)&((const struct sockaddr_in *)(const void *)mask)->sin_addr;
	} else {
		x = ((const struct sockaddr_in6 *)(const void *)ifa)->sin6_addr.s6_addr;
		m = ((const struct sockaddr_in6 *)(const void *)mask)->sin6_addr.s6_addr;
	}
	for (size_t i = 0; i < n; i++)
		if ((x[i] & m[i]) != (a->bytes[i] & m[i]))
			return 0;
	return 1;
}

/* The index of the interface whose subnet holds a (not lo), 0 if none. */
static unsigned int carrier_of(const struct ipr_addr *a)
{
	struct ifaddrs *list, *i;
	unsigned int found = 0;

	if (getifaddrs(&list) < 0)
		return 0;
	for (i = list; i && !found; i = i->ifa_next)
		if (strcmp(i->ifa_name, "lo") && in_subnet(a, i->ifa_addr, i->ifa_netmask))
			found = if_nametoindex(i->ifa_name);
	freeifaddrs(list);
	return found;
}

/* ---- setting up and tearing down ---- */

static int setup_proxy(struct echo_state *st, struct vaddr *v, const char *iface)
{
	char name[IF_NAMESIZE];
	unsigned int ifindex = iface ? if_nametoindex(iface) : carrier_of(&v->addr);
	int err;

	if (!ifindex || !if_indextoname(ifindex, name)) {
		fprintf(stderr, "ipredir echo: no interface's subnet holds %s: answering only "
				"peers that route it to this host\n", v->text);
		return 0;
	}
	err = enable_ipv6_conf(st, name, "forwarding");
	if (!err)
		err = enable_ipv6_conf(st, name, "proxy_ndp");
	if (err) {
		fprintf(stderr, "ipredir echo: enabling neighbour proxying on %s: %s\n", name,
			strerror(-err));
		return err;
	}
	err = proxy_neigh(st->rtnl, &v->addr, ifindex, 1);
	if (err && err != -EEXIST) {
		fprintf(stderr, "ipredir echo: proxy neighbour entry for %s on %s: %s\n", v->text,
			name, strerror(-err));
		return err;
	}
	if (!err)
		v->proxy_ifindex = ifindex;
	return 0;
}

static int setup_addr(struct echo_state *st, struct vaddr *v, const char *iface)
{
	int err = local_route(st->rtnl, &v->addr, 1);

	if (err == -EEXIST) {
		fprintf(stderr, "ipredir echo: %s is already a local address of this host\n",
			v->text);
		return err;
	}
	if (err) {
		fprintf(stderr, "ipredir echo: local route for %s: %s\n", v->text, strerror(-err));
		return err;
	}
	v->route_added = 1;
	return v->addr.family == AF_INET6 ? setup_proxy(st, v, iface) : 0;
}

/* guard.c's undo: remove what setup() added, restore the sysctls. */
static void teardown(void *arg)
{
	struct echo_state *st = arg;

	for (unsigned int i = 0; i < st->naddrs; i++) {
		struct vaddr *v = &st->addrs[i];

		if (v->proxy_ifindex && proxy_neigh(st->rtnl, &v->addr, v->proxy_ifindex, 0) < 0)
			fprintf(stderr, "ipredir echo: could not remove the proxy entry of %s\n",
				v->text);
		if (v->route_added && local_route(st->rtnl, &v->addr, 0) < 0)
			fprintf(stderr, "ipredir echo: could not remove the route of %s\n", v->text);
		v->proxy_ifindex = 0;
		v->route_added = 0;
	}
	restore_sysctls(st);
	if (st->rtnl >= 0)
		close(st->rtnl);
	st->rtnl = -1;
}

/* guard.c's setup, run in the guardian: routes, proxy entries, sysctls. */
static int setup(void *arg)
{
	struct echo_state *st = arg;
	int err = 0;

	st->rtnl = rtnl_open();
	if (st->rtnl < 0) {
		fprintf(stderr, "ipredir echo: rtnetlink: %s\n", strerror(-st->rtnl));
		return st->rtnl;
	}
	for (unsigned int i = 0; i < st->naddrs && !err; i++)
		err = setup_addr(st, &st->addrs[i], st->iface);
	return err;
}

/* ---- the filter ---- */

static char *build_filter(const struct echo_state *st, const char *user)
{
	size_t size = 64 + (user ? strlen(user) : 0) + st->naddrs * (IPR_ADDR_STRLEN + 64);
	char *f = malloc(size);
	size_t n;

	if (!f)
		return NULL;
	n = (size_t)snprintf(f, size, "%s%s%s(", user ? "(" : "", user ? user : "",
			     user ? ") and " : "");
	for (unsigned int i = 0; i < st->naddrs; i++) {
		const struct vaddr *v = &st->addrs[i];
		const char *kind = v->addr.family == AF_INET ? "icmp[icmptype] == icmp-echo"
							     : "icmp6[icmp6type] == icmp6-echo";

		n += (size_t)snprintf(f + n, size - n, "%s(%s and dst host %s)", i ? " or " : "",
				      kind, v->text);
	}
	snprintf(f + n, size - n, ")");
	return f;
}

/* ---- answering ---- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t next_id = 1;

/* Write the IPv4 reply to the request p into out; returns its length. */
static size_t build_reply4(const struct ipr_parsed *p, uint8_t *out)
{
	size_t icmp_len = p->l4_len;

	memset(out, 0, IPV4_HDR);
	out[0] = 0x45;
	out[1] = p->l3[1]; /* same TOS */
	put16(out + 2, (uint16_t)(IPV4_HDR + icmp_len));
	put16(out + 4, next_id++); /* set here: fragments must share it */
	out[8] = REPLY_TTL;
	out[9] = IPPROTO_ICMP;
	memcpy(out + 12, p->l3 + 16, 4);
	memcpy(out + 16, p->l3 + 12, 4);
	memcpy(out + IPV4_HDR, p->l4, icmp_len);
	out[IPV4_HDR] = ICMP_ECHO_REPLY;
	out[IPV4_HDR + 1] = 0;
	return IPV4_HDR + icmp_len;
}

static size_t build_reply6(const struct ipr_parsed *p, uint8_t *out)
{
	size_t icmp_len = p->l4_len;

	memset(out, 0, IPV6_HDR);
	out[0] = 0x60;
	put16(out + 4, (uint16_t)icmp_len);
	out[6] = IPPROTO_ICMPV6;
	out[7] = REPLY_TTL;
	memcpy(out + 8, p->l3 + 24, 16);
	memcpy(out + 24, p->l3 + 8, 16);
	memcpy(out + IPV6_HDR, p->l4, icmp_len);
	out[IPV6_HDR] = ICMP6_ECHO_REPLY;
	out[IPV6_HDR + 1] = 0;
	return IPV6_HDR + icmp_len;
}

/*
 * Send an IPv4 reply too large for its route as fragments: the request came
 * reassembled, so its reply may exceed the MTU. The MTU is not known here, so
 * common ones are tried from the largest.
 */
static int send_fragments4(struct ipr_handle *h, const uint8_t *pkt, size_t len,
			   uint8_t *frag)
{
	static const unsigned int mtus[] = { 1500, 1280, 576 };
	int err = -EMSGSIZE;

	for (size_t m = 0; m < sizeof(mtus) / sizeof(mtus[0]) && err == -EMSGSIZE; m++) {
		size_t chunk = (mtus[m] - IPV4_HDR) & ~(size_t)7;

		err = 0;
		for (size_t off = 0; off < len - IPV4_HDR && !err; off += chunk) {
			size_t n = len - IPV4_HDR - off < chunk ? len - IPV4_HDR - off : chunk;
			int more = off + n < len - IPV4_HDR;

			memcpy(frag, pkt, IPV4_HDR);
			memcpy(frag + IPV4_HDR, pkt + IPV4_HDR + off, n);
			put16(frag + 2, (uint16_t)(IPV4_HDR + n));
			put16(frag + 6, (uint16_t)((more ? 0x2000 : 0) | off / 8));
			err = ipr_checksum_fill(frag, IPV4_HDR + n);
			if (!err)
				err = ipr_send(h, frag, IPV4_HDR + n, IPR_LAYER_OUT);
			if (err == -EMSGSIZE && off) /* part sent: do not start over */
				return err;
		}
	}
	return err;
}

static int send_reply(struct ipr_handle *h, uint8_t *reply, size_t len, uint8_t *frag)
{
	int err = ipr_checksum_fill(reply, len);

	if (!err)
		err = ipr_send(h, reply, len, IPR_LAYER_OUT);
	if (err == -EMSGSIZE && (reply[0] >> 4) == 4)
		err = send_fragments4(h, reply, len, frag);
	return err;
}

/* An echo request we can answer: whole, unfragmented, a full echo header. */
static int is_echo_request(const struct ipr_packet *pkt, const struct ipr_parsed *p)
{
	if (pkt->flags & IPR_PKT_TRUNCATED || p->truncated || p->fragment || !p->l4)
		return 0;
	if (p->l4_len < 8)
		return 0;
	if (p->version == 4)
		return p->proto == IPPROTO_ICMP && p->l4[0] == 8 && p->l4[1] == 0;
	return p->proto == IPPROTO_ICMPV6 && p->l4[0] == 128 && p->l4[1] == 0;
}

/* Drop the request and inject its reply; other packets go on. */
static int answer(struct ipr_handle *h, struct echo_state *st, struct ipr_packet *pkt,
		  uint8_t *reply, uint8_t *frag)
{
	struct ipr_parsed p;
	size_t len;
	int err;

	if (ipr_parse(pkt->data, pkt->caplen, &p) < 0 || !is_echo_request(pkt, &p)) {
		st->passed++;
		return ipr_accept(h, pkt);
	}
	len = p.version == 4 ? build_reply4(&p, reply) : build_reply6(&p, reply);
	err = ipr_drop(h, pkt);
	if (err)
		return err;
	if (send_reply(h, reply, len, frag) < 0) {
		if (st->failed++ == 0)
			fprintf(stderr, "ipredir echo: could not send a reply: %s\n",
				ipr_last_error());
		return 0;
	}
	if (p.version == 4)
		st->answered4++;
	else
		st->answered6++;
	return 0;
}

/* Reply buffers: a reassembled request may be as large as a packet gets. */
static uint8_t reply_buf[IPR_SNAPLEN_MAX + IPV6_HDR];
static uint8_t frag_buf[1500];

/* cli_batch_fn: answer each request of a batch. */
static int echo_batch(struct ipr_handle *h, struct ipr_packet *pkts, int n, void *arg)
{
	for (int i = 0; i < n; i++)
		if (answer(h, arg, &pkts[i], reply_buf, frag_buf) < 0)
			return -1;
	return 0;
}

static void parse_addrs(struct echo_state *st, int argc, char **argv, int first)
{
	if (first >= argc)
		cli_usage_error(&echo_spec, "no address given");
	for (int i = first; i < argc; i++) {
		struct vaddr *v = &st->addrs[st->naddrs];

		if (st->naddrs == MAX_ADDRS)
			cli_usage_error(&echo_spec, "at most %d addresses", MAX_ADDRS);
		if (ipr_addr_parse(argv[i], &v->addr) < 0)
			cli_usage_error(&echo_spec, "\"%s\" is not an IPv4 or IPv6 address", argv[i]);
		ipr_addr_format(&v->addr, v->text, sizeof(v->text));
		st->naddrs++;
	}
}

static void print_summary_json(const struct echo_state *st)
{
	struct json_obj o;

	json_begin(&o, stdout);
	json_str(&o, "tool", "echo");
	json_uint(&o, "answered", st->answered4 + st->answered6);
	json_uint(&o, "answered_ipv4", st->answered4);
	json_uint(&o, "answered_ipv6", st->answered6);
	json_uint(&o, "passed", st->passed);
	json_uint(&o, "not_sent", st->failed);
	json_end(&o);
}

static void print_summary(const struct echo_state *st, int json)
{
	if (json) {
		print_summary_json(st);
		return;
	}
	printf("echo: answered %llu echo requests (IPv4 %llu, IPv6 %llu); passed %llu other "
	       "packets; %llu replies not sent\n",
	       (unsigned long long)(st->answered4 + st->answered6),
	       (unsigned long long)st->answered4, (unsigned long long)st->answered6,
	       (unsigned long long)st->passed, (unsigned long long)st->failed);
	fflush(stdout);
}

int cmd_echo(int argc, char **argv)
{
	static struct echo_state st;
	struct ipr_handle *h = NULL;
	struct guard guard = { 0 };
	struct cli_common c;
	char *filter = NULL;
	int status = 1;

	parse_addrs(&st, argc, argv, cli_parse(&echo_spec, argc, argv, &c));
	st.rtnl = -1;
	st.iface = c.opts.interface;
	next_id = (uint16_t)getpid();
	filter = build_filter(&st, c.opts.filter && *c.opts.filter ? c.opts.filter : NULL);
	if (!filter)
		goto out;
	c.opts.filter = filter;
	if (!c.opts.layers)
		c.opts.layers = IPR_LAYER_IN | IPR_LAYER_FORWARD;
	cli_signals(0);
	status = guard_start(&guard, setup, teardown, &st);
	if (status < 0) {
		fprintf(stderr, "ipredir echo: starting the guardian: %s\n", strerror(-status));
		status = 1;
		goto out;
	}
	h = cli_open(&echo_spec, &c);
	status = guard_setup(&guard);
	if (status < 0) {
		status = status == -EEXIST ? 2 : 1;
		goto out;
	}
	cli_ready(&echo_spec, &c, h, IPR_LAYER_OUT); /* the guardian, still root, undoes */
	fprintf(stderr, "echo: answering pings for %u address%s; Ctrl-C stops\n", st.naddrs,
		st.naddrs > 1 ? "es" : "");
	status = cli_serve(&echo_spec, h, echo_batch, &st);
	print_summary(&st, c.json);
out:
	status = cli_close(&echo_spec, h, status);
	guard_end(&guard);
	free(filter);
	return status;
}
