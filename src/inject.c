/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * inject.c - packets that were never received: ipr_send() without a verdict.
 *
 * Outbound (IPR_LAYER_OUT): a raw socket per family with the IP header
 * included sends the packet as if this host had sent it; the routing table
 * picks the interface by its destination, and the output and postrouting hooks
 * see it. The sockets carry SO_MARK = the inject mark, which the ipredir
 * tables skip.
 *
 * Inbound (IPR_LAYER_IN): the packet is written to a tun device of the handle,
 * IPR_TUN_PREFIX "<pid>.<n>", so the kernel receives it as if it arrived from
 * the network ON THAT DEVICE: it is the packet's input interface (iif) for
 * routing, netfilter and sockets (IP_PKTINFO), and it is delivered to the
 * local stack when addressed to this host, forwarded otherwise. The ipredir
 * tables skip packets arriving on devices with that prefix. The device has no
 * route and only a host-scope loopback address, reverse-path filtering is as
 * lax on it as the host allows (see TUN_ADDR4), and it is not persistent: it
 * disappears when the handle is closed or the process dies, even by SIGKILL.
 *
 * Both paths open lazily, on the first packet of their direction, or at once
 * when ipr_send() is given no packet (NULL, 0): a program that drops its
 * privileges after setup opens them before, as both need CAP_NET_RAW or
 * CAP_NET_ADMIN to open but none to use. Nothing is sent before
 * ipr_inject_check() accepted the packet.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"

#ifndef IPV6_HDRINCL
#define IPV6_HDRINCL 36 /* linux/in6.h, Linux >= 4.5 */
#endif

#define IP4_HDR_MIN 20
#define IP6_HDR_LEN 40
#define IP_PACKET_MAX 65535
#define TUN_PATH "/dev/net/tun"

/* ---- validation ---- */

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static int check_ipv4(const uint8_t *p, size_t len)
{
	unsigned int hdr_len = (p[0] & 0x0f) * 4u;
	unsigned int total;

	if (len < IP4_HDR_MIN)
		return ipr_fail(-EINVAL, "IPv4 packet of %zu bytes is shorter than the %d-byte "
				"IPv4 header", len, IP4_HDR_MIN);
	if (hdr_len < IP4_HDR_MIN)
		return ipr_fail(-EINVAL, "IPv4 header length field %u (%u bytes) is below the "
				"minimum 5 (20 bytes)", hdr_len / 4, hdr_len);
	if (hdr_len > len)
		return ipr_fail(-EINVAL, "IPv4 header length %u bytes is longer than the whole "
				"packet (%zu bytes)", hdr_len, len);
	total = get_be16(p + 2);
	if (total != len)
		return ipr_fail(-EINVAL, "IPv4 total length field says %u bytes but the packet "
				"has %zu: pass exactly one whole packet", total, len);
	return 0;
}

static int check_ipv6(const uint8_t *p, size_t len)
{
	unsigned int payload;

	if (len < IP6_HDR_LEN)
		return ipr_fail(-EINVAL, "IPv6 packet of %zu bytes is shorter than the %d-byte "
				"IPv6 header", len, IP6_HDR_LEN);
	payload = get_be16(p + 4);
	if (IP6_HDR_LEN + payload != len)
		return ipr_fail(-EINVAL, "IPv6 payload length field says %u bytes (+ 40 header "
				"bytes) but the packet has %zu: pass exactly one whole packet",
				payload, len);
	return 0;
}

/* What ipr_parse() refuses beyond the fixed header (it already passed the length checks). */
static int check_headers(const void *pkt, size_t len, unsigned int version)
{
	struct ipr_parsed p;

	if (ipr_parse(pkt, len, &p) == 0 && !p.truncated)
		return 0;
	if (version == 6)
		return ipr_fail(-EINVAL, "malformed IPv6 packet: its extension headers or its "
				"TCP/UDP/ICMPv6 header overrun the payload length");
	return ipr_fail(-EINVAL, "malformed IPv4 packet: its TCP/UDP/ICMP header overruns "
			"the total length, or the TCP data offset is below 5");
}

int ipr_inject_check(const void *pkt, size_t len)
{
	const uint8_t *p = pkt;
	unsigned int version;
	int err;

	if (!pkt || !len)
		return ipr_fail(-EINVAL, "empty packet: pass one whole IPv4 or IPv6 packet");
	if (len > IP_PACKET_MAX)
		return ipr_fail(-EMSGSIZE, "packet of %zu bytes: an IP packet has at most %d",
				len, IP_PACKET_MAX);
	version = p[0] >> 4;
	if (version == 4)
		err = check_ipv4(p, len);
	else if (version == 6)
		err = check_ipv6(p, len);
	else
		err = ipr_fail(-EINVAL, "IP version %u in the first byte (0x%02x): only IPv4 "
			       "and IPv6 packets can be sent", version, p[0]);
	return err ? err : check_headers(pkt, len, version);
}

/* ---- outbound: raw sockets ---- */

static int open_raw(int family, uint32_t mark)
{
	const int one = 1;
	int fd, err;

	fd = socket(family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (fd < 0)
		return ipr_fail(-errno, "raw IPv%d socket: %s (needs CAP_NET_RAW)",
				family == AF_INET ? 4 : 6, strerror(errno));
	/* IPPROTO_RAW implies the header on IPv4; IPv6 says so since Linux 4.5 */
	if (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_HDRINCL, &one, sizeof(one))) {
		err = ipr_fail(-errno, "IPV6_HDRINCL: %s (needs Linux 4.5 or later)",
			       strerror(errno));
		goto fail;
	}
	/* a program may inject broadcasts, as a raw socket user may send them */
	if (family == AF_INET && setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one))) {
		err = ipr_fail(-errno, "SO_BROADCAST on the raw socket: %s", strerror(errno));
		goto fail;
	}
	if (mark && setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark))) {
		err = ipr_fail(-errno, "SO_MARK 0x%x on the raw socket: %s (needs CAP_NET_ADMIN)",
			       mark, strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return err;
}

/* The raw socket of the packet's family, opened on first use. */
static int raw_socket(struct ipr_inject *in, unsigned int version)
{
	int *fd = version == 4 ? &in->raw4 : &in->raw6;

	if (*fd < 0)
		*fd = open_raw(version == 4 ? AF_INET : AF_INET6, in->mark);
	return *fd;
}

/* The packet's destination as a socket address; returns its length. */
static socklen_t destination(const uint8_t *pkt, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (pkt[0] >> 4 == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, pkt + 16, 4);
		return sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, pkt + 24, 16);
		return sizeof(*sin6);
	}
}

static const char *format_addr(const struct sockaddr_storage *ss, char *buf, size_t size)
{
	const void *addr = ss->ss_family == AF_INET ?
				   (const void *)&((const struct sockaddr_in *)ss)->sin_addr :
				   (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr;

	return inet_ntop(ss->ss_family, addr, buf, (socklen_t)size) ? buf : "?";
}

/* MTU of the route to dst (what a connected datagram socket learns), or -1. */
static int route_mtu(const struct sockaddr_storage *dst, socklen_t dst_len)
{
	int v4 = dst->ss_family == AF_INET;
	socklen_t len = sizeof(int);
	int fd, mtu = -1;

	fd = socket(dst->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)dst, dst_len) ||
	    getsockopt(fd, v4 ? IPPROTO_IP : IPPROTO_IPV6, v4 ? IP_MTU : IPV6_MTU, &mtu, &len))
		mtu = -1;
	close(fd);
	return mtu;
}

static int send_error(int err, size_t len, const struct sockaddr_storage *dst, socklen_t dst_len)
{
	char addr[INET6_ADDRSTRLEN];
	int mtu;

	format_addr(dst, addr, sizeof(addr));
	if (err == -EMSGSIZE) {
		mtu = route_mtu(dst, dst_len);
		if (mtu > 0)
			return ipr_fail(err, "packet of %zu bytes to %s is larger than the MTU "
					"(%d) of its route: send smaller packets", len, addr, mtu);
		return ipr_fail(err, "packet of %zu bytes to %s is larger than the MTU of its "
				"route: send smaller packets", len, addr);
	}
	if (err == -EPERM)
		return ipr_fail(err, "sending to %s: %s (did a firewall rule of the output path "
				"drop it?)", addr, strerror(-err));
	return ipr_fail(err, "sending the packet to %s: %s", addr, strerror(-err));
}

static int send_out(struct ipr_inject *in, const uint8_t *pkt, size_t len, int msg_flags)
{
	struct sockaddr_storage dst;
	socklen_t dst_len = destination(pkt, &dst);
	int fd = raw_socket(in, pkt[0] >> 4);

	if (fd < 0)
		return fd;
	if (sendto(fd, pkt, len, msg_flags, (const struct sockaddr *)&dst, dst_len) >= 0)
		return 0;
	if (errno == EAGAIN && (msg_flags & MSG_DONTWAIT))
		return -EAGAIN; /* no failure: the caller waits and tries again */
	return send_error(-errno, len, &dst, dst_len);
}

/* ---- inbound: the tun device ---- */

/* Read /proc/sys/net/PROTO/conf/DEV/KEY into buf (newline removed); 0 or -errno. */
static int sysctl_read(const char *proto, const char *dev, const char *key, char *buf,
		       size_t size)
{
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/sys/net/%s/conf/%s/%s", proto, dev, key);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

int ipr_sysctl_set(const char *proto, const char *dev, const char *key, const char *value)
{
	char path[128], cur[32];
	ssize_t n;
	int fd;

	if (sysctl_read(proto, dev, key, cur, sizeof(cur)) == 0 && !strcmp(cur, value))
		return 0;
	snprintf(path, sizeof(path), "/proc/sys/net/%s/conf/%s/%s", proto, dev, key);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return ipr_fail(-errno, "%s: %s", path, strerror(errno));
	n = write(fd, value, strlen(value));
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return ipr_fail((int)n, "writing %s to %s: %s", value, path, strerror((int)-n));
	return 0;
}

/*
 * Reverse-path filtering: the kernel applies the larger of net.ipv4.conf.all
 * .rp_filter and the device's own, so 0 on the device only helps where "all"
 * is 0. Loose mode (2, the default of many distributions) passes a packet whose
 * source has a route anywhere, but never one that arrives on a device without
 * an IPv4 address; so the tun device gets TUN_ADDR4, a host-scope loopback
 * address: never reachable from outside (127/8 is martian off loopback), never
 * chosen as a source for other traffic, and local already (127/8 on lo).
 * Strict mode (1) drops every packet whose source is not routed through the
 * device: tun_check_rpf() refuses IPv4 then.
 */
#define TUN_ADDR4 0x7ffffffeu /* 127.255.255.254 */

/* Let the kernel take what arrives on dev: no reverse-path check, local sources, IPv6 on. */
static int tun_configure(const char *dev)
{
	int err;

	err = ipr_sysctl_set("ipv4", dev, "rp_filter", "0");
	if (!err)
		err = ipr_sysctl_set("ipv4", dev, "accept_local", "1");
	if (err)
		return err;
	err = ipr_sysctl_set("ipv6", dev, "disable_ipv6", "0");
	if (err == -ENOENT) /* a kernel without IPv6: nothing to enable */
		err = 0;
	return err;
}

int ipr_link_up(const char *dev, uint32_t addr4, int mtu)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(addr4) };
	struct ifreq ifr = { 0 };
	int fd, err = 0;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return ipr_fail(-errno, "socket to configure %s: %s", dev, strerror(errno));
	memcpy(&ifr.ifr_addr, &sin, sizeof(sin));
	if (addr4 && ioctl(fd, SIOCSIFADDR, &ifr) < 0)
		err = ipr_fail(-errno, "setting an address on %s: %s", dev, strerror(errno));
	ifr.ifr_mtu = mtu;
	if (!err && mtu && ioctl(fd, SIOCSIFMTU, &ifr) < 0)
		err = ipr_fail(-errno, "setting the MTU of %s to %d: %s", dev, mtu, strerror(errno));
	if (!err && ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		err = ipr_fail(-errno, "reading the flags of %s: %s", dev, strerror(errno));
	ifr.ifr_flags |= IFF_UP;
	if (!err && ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		err = ipr_fail(-errno, "bringing %s up: %s", dev, strerror(errno));
	close(fd);
	return err;
}

/* prefix "<pid>.<n>" with n counting the tun devices of this process. */
static int tun_name(const char *prefix, char *buf, size_t size)
{
	static atomic_uint seq;
	unsigned int n = atomic_fetch_add(&seq, 1);
	int len;

	len = snprintf(buf, size, "%s%d.%u", prefix, (int)getpid(), n);
	if (len < 0 || (size_t)len >= size)
		return ipr_fail(-ENAMETOOLONG, "tun device name %s%d.%u is longer than %zu "
				"characters: too many handles of this process injected",
				prefix, (int)getpid(), n, size - 1);
	return 0;
}

int ipr_tun_new(const char *prefix, char *name)
{
	struct ifreq ifr = { .ifr_flags = IFF_TUN | IFF_NO_PI };
	int fd, err = tun_name(prefix, ifr.ifr_name, IFNAMSIZ);

	if (err)
		return err;
	fd = open(TUN_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return ipr_fail(-errno, TUN_PATH ": %s (is the tun module loaded?)",
				strerror(errno));
	/* not persistent: the device goes when fd closes */
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		err = ipr_fail(-errno, "creating tun device %s: %s (needs CAP_NET_ADMIN)",
			       ifr.ifr_name, strerror(errno));
		close(fd);
		return err;
	}
	memcpy(name, ifr.ifr_name, IFNAMSIZ);
	return fd;
}

/* Create, configure and bring up the handle's tun device: its fd or -errno. */
static int tun_create(char *name)
{
	struct ifreq ifr = { 0 };
	int fd = ipr_tun_new(IPR_TUN_PREFIX, ifr.ifr_name), err;

	if (fd < 0)
		return fd;
	err = tun_configure(ifr.ifr_name);
	if (!err) /* a point-to-point device: a /32 */
		err = ipr_link_up(ifr.ifr_name, TUN_ADDR4, 0);
	if (err) {
		close(fd);
		return err;
	}
	memcpy(name, ifr.ifr_name, IFNAMSIZ);
	ipr_log(IPR_LOG_DEBUG, "inbound injection through tun device %s", name);
	return fd;
}

/* Strict reverse-path filtering drops every IPv4 packet of the tun device: say so instead. */
static int tun_check_rpf(const struct ipr_inject *in)
{
	char rpf[32];

	if (sysctl_read("ipv4", "all", "rp_filter", rpf, sizeof(rpf)) || strcmp(rpf, "1"))
		return 0;
	return ipr_fail(-EXDEV, "net.ipv4.conf.all.rp_filter is 1 (strict): the kernel would "
			"drop IPv4 packets injected inbound, as they arrive on %s and no route "
			"leads back through it; set it to 2 (loose) or 0 to inject inbound IPv4",
			in->tun_name);
}

/* The tun device, created on first use. */
static int tun_device(struct ipr_inject *in)
{
	if (in->tun < 0)
		in->tun = tun_create(in->tun_name);
	return in->tun;
}

static int send_in(struct ipr_inject *in, const uint8_t *pkt, size_t len)
{
	ssize_t n;
	int err;

	err = tun_device(in);
	if (err < 0)
		return err;
	err = pkt[0] >> 4 == 4 ? tun_check_rpf(in) : 0;
	if (err)
		return err;
	n = write(in->tun, pkt, len);
	if (n < 0)
		return ipr_fail(-errno, "writing the packet to tun device %s: %s", in->tun_name,
				strerror(errno));
	if ((size_t)n != len)
		return ipr_fail(-EIO, "tun device %s took %zd of %zu bytes", in->tun_name, n, len);
	return 0;
}

/* ---- entry points ---- */

/* Open what direction needs now: both raw sockets, or the tun device. */
static int prepare(struct ipr_inject *in, unsigned int direction)
{
	int fd;

	if (direction == IPR_LAYER_IN)
		fd = tun_device(in);
	else if ((fd = raw_socket(in, 4)) >= 0)
		fd = raw_socket(in, 6);
	return fd < 0 ? fd : 0;
}

int ipr_inject_send(struct ipr_inject *in, const void *pkt, size_t len, unsigned int direction)
{
	/* a tun device takes every write at once: only the raw sockets can wait */
	int msg_flags = direction & IPR_SEND_NONBLOCK ? MSG_DONTWAIT : 0;
	int err;

	direction &= ~(unsigned int)IPR_SEND_NONBLOCK;
	if (direction != IPR_LAYER_OUT && direction != IPR_LAYER_IN)
		return ipr_fail(-EINVAL, "direction %u: inject with IPR_LAYER_OUT or "
				"IPR_LAYER_IN", direction);
	if (!pkt && !len)
		return prepare(in, direction);
	err = ipr_inject_check(pkt, len);
	if (err)
		return err;
	return direction == IPR_LAYER_OUT ? send_out(in, pkt, len, msg_flags) :
					    send_in(in, pkt, len);
}

IPR_EXPORT int ipr_send(struct ipr_handle *h, const void *pkt, size_t len,
			unsigned int direction)
{
	return ipr_inject_send(&h->inject, pkt, len, direction);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void ipr_inject_close(struct ipr_inject *in)
{
	close_fd(&in->raw4);
	close_fd(&in->raw6);
	close_fd(&in->tun); /* the kernel removes the non-persistent device */
	in->tun_name[0] = '\0';
}
