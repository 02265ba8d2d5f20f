/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* live.h - for unit tests that run handles in a private network namespace (root). */
#ifndef IPR_LIVE_H
#define IPR_LIVE_H

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static inline int bring_lo_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err;

	if (fd < 0)
		return -1;
	err = ioctl(fd, SIOCGIFFLAGS, &ifr);
	ifr.ifr_flags |= IFF_UP;
	if (!err)
		err = ioctl(fd, SIOCSIFFLAGS, &ifr);
	close(fd);
	return err;
}

static inline struct sockaddr_in loopback_port(uint16_t port)
{
	return (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(port),
				     .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
}

/* A non-blocking UDP socket bound to 127.0.0.1:port; -1 on failure. */
static inline int udp_receiver(uint16_t port)
{
	struct sockaddr_in at = loopback_port(port);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd >= 0 && bind(fd, (struct sockaddr *)&at, sizeof(at)) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* One datagram of 7 bytes to 127.0.0.1:port; 0 or -1. */
static inline int udp_send(uint16_t port)
{
	struct sockaddr_in to = loopback_port(port);
	int tx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int err = tx < 0 ? -1 : 0;

	if (!err && sendto(tx, "hostile", 7, 0, (struct sockaddr *)&to, sizeof(to)) != 7)
		err = -1;
	if (tx >= 0)
		close(tx);
	return err;
}

/* A UDP datagram to 127.0.0.1:port; the socket *rx stays open to see it arrive. */
static inline int send_datagram(uint16_t port, int *rx)
{
	*rx = udp_receiver(port);
	return *rx < 0 ? -1 : udp_send(port);
}

/* Whether a datagram reaches rx within ms milliseconds. */
static inline int arrives_within(int rx, int ms)
{
	char buf[16];

	for (int i = 0; i < ms / 10; i++) {
		if (recv(rx, buf, sizeof(buf), 0) == 7)
			return 1;
		usleep(10000);
	}
	return 0;
}

/* Wait up to 2 s for the datagram the verdict let through. */
static inline int arrived(int rx)
{
	return arrives_within(rx, 2000);
}

/* Enter a new network namespace with lo up; 0, or -1 when not permitted. */
static inline int private_netns(void)
{
	if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0)
		return -1;
	return bring_lo_up();
}

/* A veth pair wv0/wv1 with 10.99.0.1 on wv0, and a UDP receiver there with IP_PKTINFO:
 * its fd, or -1. */
static inline int veth_receiver(uint16_t port)
{
	struct sockaddr_in at = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(0x0a630001) };
	int fd, on = 1;

	if (system("ip link add wv0 type veth peer name wv1 && ip addr add 10.99.0.1/24 dev wv0"
		   " && ip link set wv0 up && ip link set wv1 up"))
		return -1;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd >= 0 && (setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on)) < 0 ||
			bind(fd, (struct sockaddr *)&at, sizeof(at)) < 0)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* The index of the interface the next datagram at rx (with IP_PKTINFO on) arrived on,
 * waiting up to 1 s; 0 if none came. */
static inline int arrival_ifindex(int rx)
{
	static char data[65536];
	char control[128];
	struct iovec iov = { data, sizeof(data) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
			    .msg_controllen = sizeof(control) };

	for (int i = 0; i < 100; i++, usleep(10000)) {
		if (recvmsg(rx, &m, 0) < 0)
			continue;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
			if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO)
				return ((struct in_pktinfo *)CMSG_DATA(c))->ipi_ifindex;
	}
	return 0;
}

#endif /* IPR_LIVE_H */
