/* SPDX-License-Identifier: GPL-2.0-or-later */
/* list.c - `ipredir list`: interfaces with index, name, state, MTU and addresses. */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli.h"

static int json;

static void parse_option(int opt, const char *arg, void *ctx)
{
	json = 1;
}

static const struct option list_options[] = {
	{ "json", no_argument, NULL, 'j' },
	{ 0 },
};

static const struct cli_spec spec = {
	.name = "list",
	.synopsis = "[-j]",
	.help = "  -j, --json             print JSON\n",
	.longopts = list_options,
	.shortopts = "j",
	.parse = parse_option,
};

static const char *state(unsigned int flags)
{
	if (!(flags & IFF_UP))
		return "down";
	return (flags & IFF_RUNNING) ? "up" : "no-carrier";
}

static int mtu(const char *name)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int value = -1;

	if (fd < 0)
		return -1;
	strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
	if (ioctl(fd, SIOCGIFMTU, &ifr) == 0)
		value = ifr.ifr_mtu;
	close(fd);
	return value;
}

static int prefix_len(const struct sockaddr *mask)
{
	const uint8_t *b;
	size_t n;
	int bits = 0;

	if (!mask)
		return 0;
	if (mask->sa_family == AF_INET) {
		b = (const uint8_t *)&((const struct sockaddr_in *)mask)->sin_addr;
		n = 4;
	} else {
		b = (const uint8_t *)&((const struct sockaddr_in6 *)mask)->sin6_addr;
		n = 16;
	}
	for (size_t i = 0; i < n; i++)
		bits += __builtin_popcount(b[i]);
	return bits;
}

/* "ADDR/LEN" of an address entry, or 0 if it is not IPv4/IPv6. */
static int format_address(const struct ifaddrs *a, char *buf, size_t size)
{
	char text[INET6_ADDRSTRLEN] = "";
	const void *addr;

	if (!a->ifa_addr || (a->ifa_addr->sa_family != AF_INET && a->ifa_addr->sa_family != AF_INET6))
		return 0;
	if (a->ifa_addr->sa_family == AF_INET)
		addr = &((const struct sockaddr_in *)a->ifa_addr)->sin_addr;
	else
		addr = &((const struct sockaddr_in6 *)a->ifa_addr)->sin6_addr;
	inet_ntop(a->ifa_addr->sa_family, addr, text, sizeof(text));
	snprintf(buf, size, "%s/%u", text, (unsigned int)prefix_len(a->ifa_netmask) & 0xff);
	return 1;
}

static void print_addresses(const struct ifaddrs *all, const char *name)
{
	char buf[INET6_ADDRSTRLEN + 16];
	int first = 1;

	for (const struct ifaddrs *a = all; a; a = a->ifa_next) {
		if (strcmp(a->ifa_name, name) || !format_address(a, buf, sizeof(buf)))
			continue;
		if (json) {
			printf("%s", first ? "" : ",");
			cli_json_string(stdout, buf);
		} else {
			printf(" %s", buf);
		}
		first = 0;
	}
}

static void print_interface(const struct ifaddrs *all, const struct if_nameindex *ni,
			    int first)
{
	unsigned int flags = 0;

	for (const struct ifaddrs *a = all; a; a = a->ifa_next)
		if (!strcmp(a->ifa_name, ni->if_name))
			flags = a->ifa_flags;
	if (json) {
		printf("%s{\"index\":%u,\"name\":", first ? "" : ",", ni->if_index);
		cli_json_string(stdout, ni->if_name);
		printf(",\"state\":\"%s\",\"mtu\":%d,\"addresses\":[", state(flags), mtu(ni->if_name));
		print_addresses(all, ni->if_name);
		printf("]}");
		return;
	}
	printf("%3u  %-15s %-10s mtu %-6d", ni->if_index, ni->if_name, state(flags),
	       mtu(ni->if_name));
	print_addresses(all, ni->if_name);
	printf("\n");
}

int cmd_list(int argc, char **argv)
{
	struct cli_common c;
	struct if_nameindex *names;
	struct ifaddrs *all;

	if (cli_parse(&spec, argc, argv, &c) != argc)
		cli_usage_error(&spec, "unexpected argument \"%s\"", argv[optind]);
	names = if_nameindex();
	if (!names || getifaddrs(&all) < 0) {
		perror("ipredir list");
		return 1;
	}
	printf("%s", json ? "[" : "");
	for (struct if_nameindex *ni = names; ni->if_index; ni++)
		print_interface(all, ni, ni == names);
	printf("%s", json ? "]\n" : "");
	freeifaddrs(all);
	if_freenameindex(names);
	return 0;
}
