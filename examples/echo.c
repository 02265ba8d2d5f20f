/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * echo - a virtual host: answers ICMP / ICMPv6 echo requests sent to an address
 * that no interface of this host owns, so `ping ADDR` from a peer works.
 *
 * Shows: building a filter from an argument, dropping a packet and injecting
 * a new one instead (ipr_drop, then ipr_send with IPR_LAYER_OUT), and the
 * packet helpers (ipr_parse, ipr_set_ttl, ipr_checksum_fill).
 *
 * Where the requests are taken: ADDR is not local, so this host must be the
 * router the peer sends them to, with forwarding on and a route for ADDR
 * (towards a dummy interface, say); the requests then cross the forward
 * hook, and that is where echo listens (IPR_LAYER_FORWARD). Were ADDR a
 * local address, the kernel would answer by itself.
 *
 *   sudo sysctl -w net.ipv4.ip_forward=1     (net.ipv6.conf.all.forwarding=1)
 *   sudo ip link add virt0 type dummy && sudo ip link set virt0 up
 *   sudo ip route add 192.0.2.7 dev virt0    (the peer routes it via this host)
 *   sudo build/examples/echo 192.0.2.7 [COUNT]
 *
 * It stops after COUNT answers (default: run until Ctrl-C or SIGTERM) and
 * prints how many it sent.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <ipredir.h>

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	stopping = sig;
}

/* No SA_RESTART: a signal makes the blocking receive return -EINTR. */
static void catch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* Echo requests (ICMP type 8, ICMPv6 type 128) to addr, in pcap syntax. */
static void make_filter(const struct ipr_addr *addr, const char *text, char *buf, size_t size)
{
	if (addr->family == AF_INET)
		snprintf(buf, size, "icmp[icmptype] == icmp-echo and dst host %s", text);
	else
		snprintf(buf, size, "icmp6[icmp6type] == icmp6-echo and dst host %s", text);
}

/* Turn the echo request in pkt (len bytes, parsed as p) into its reply. */
static void make_reply(uint8_t *pkt, size_t len, const struct ipr_parsed *p)
{
	size_t off = p->version == 4 ? 12 : 8, alen = p->version == 4 ? 4 : 16;
	uint8_t tmp[16];

	memcpy(tmp, pkt + off, alen);            /* swap source and destination */
	memcpy(pkt + off, pkt + off + alen, alen);
	memcpy(pkt + off + alen, tmp, alen);
	pkt[p->l4 - p->l3] = p->version == 4 ? 0 : 129; /* echo reply, code stays 0 */
	ipr_set_ttl(pkt, len, 64);
	ipr_checksum_fill(pkt, len);
}

/* Drop the request and inject the reply. Returns 1 if answered, 0 if not, <0 on error. */
static int answer(struct ipr_handle *h, struct ipr_packet *req)
{
	static uint8_t reply[IPR_SNAPLEN_MAX];
	struct ipr_parsed p;

	if ((req->flags & IPR_PKT_TRUNCATED) || ipr_parse(req->data, req->caplen, &p) < 0 ||
	    !p.l4 || p.fragment || p.truncated || p.l3_len > sizeof(reply))
		return ipr_accept(h, req); /* nothing we can answer: let it go on */
	memcpy(reply, p.l3, p.l3_len);
	make_reply(reply, p.l3_len, &p);
	if (ipr_drop(h, req) < 0)
		return -1;
	if (ipr_send(h, reply, p.l3_len, IPR_LAYER_OUT) < 0) {
		fprintf(stderr, "echo: reply not sent: %s\n", ipr_last_error());
		return 0; /* one lost answer; keep serving */
	}
	return 1;
}

static int run(struct ipr_handle *h, unsigned long limit, unsigned long *answered)
{
	size_t buflen = ipr_slot_size(h);
	struct ipr_packet pkt;
	void *buf = malloc(buflen);
	int n = 0;

	if (!buf)
		return -ENOMEM;
	while (!stopping && (limit == 0 || *answered < limit)) {
		n = ipr_recv(h, buf, buflen, &pkt, 0);
		if (n == -EINTR) {
			n = 0;
			continue;
		}
		if (n < 0 || (n = answer(h, &pkt)) < 0)
			break;
		*answered += n;
	}
	n = n < 0 ? -1 : ipr_flush(h);
	free(buf);
	return n;
}

int main(int argc, char **argv)
{
	struct ipr_options opts = IPR_OPTIONS_INIT;
	unsigned long answered = 0;
	struct ipr_handle *h;
	struct ipr_addr addr;
	char filter[128];
	int err;

	if (argc < 2 || argc > 3 || ipr_addr_parse(argv[1], &addr) < 0) {
		fprintf(stderr, "usage: %s ADDR [COUNT]\n", argv[0]);
		return 2;
	}
	make_filter(&addr, argv[1], filter, sizeof(filter));
	opts.filter = filter;
	opts.layers = IPR_LAYER_FORWARD;
	catch_signals();
	if (ipr_open(&opts, &h) < 0) {
		fprintf(stderr, "echo: %s\n", ipr_last_error());
		return 1;
	}
	printf("echo: ready, answering for %s\n", argv[1]);
	fflush(stdout);
	err = run(h, argc > 2 ? strtoul(argv[2], NULL, 10) : 0, &answered);
	if (err < 0)
		fprintf(stderr, "echo: %s\n", err == -ENOMEM ? "out of memory" : ipr_last_error());
	ipr_close(h);
	printf("echo: %lu requests answered\n", answered);
	return err < 0;
}
