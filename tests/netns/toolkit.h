/* SPDX-License-Identifier: GPL-2.0-or-later */
/* toolkit.h - what the traffic tools of the tests and the benchmark share. */
#ifndef IPREDIR_TOOLKIT_H
#define IPREDIR_TOOLKIT_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The decimal number arg for what in [min, max]; exits 2 with a message otherwise. */
static inline unsigned long tool_number(const char *prog, const char *what, const char *arg,
					unsigned long min, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || v < min || v > max) {
		fprintf(stderr, "%s: bad %s \"%s\" (%lu..%lu)\n", prog, what, arg, min, max);
		exit(2);
	}
	return v;
}

/* A UDP socket bound to [::]:port, IPv4 and IPv6; -1 after printing why. */
static inline int tool_udp_listen(const char *prog, const char *port)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT };
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0), off = 0;

	sa.sin6_port = htons((uint16_t)tool_number(prog, "port", port, 1, 65535));
	if (fd < 0 || setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "%s: UDP socket on port %s: %s\n", prog, port, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

#endif
