/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * webfilter - block HTTP requests for the sites of a blacklist. Outbound
 * requests to port 80 are read; when the Host header and the path match a
 * blacklist entry, the connection is taken over: the request is replaced by
 * a reset to the server, and the browser gets a block page and the end of
 * the connection as if the server had sent them. Other requests go on.
 *
 * Shows: reading a TCP payload with WinDivertHelperParsePacket, sending a
 * packet other than the received one in its place (same address), and
 * answering the other way (Outbound flipped).
 *
 * Usage: webfilter blacklist.txt [blacklist2.txt ...]
 * A blacklist holds entries "domain" or "domain/path-prefix", separated by
 * white space; "#" starts a comment to the end of the line. An entry blocks
 * its domain and every subdomain. Limits, as in WinDivert's sample: IPv4 and
 * port 80 only, and the request line and Host header must be in the first
 * packet of the request.
 *
 * On Linux: run it as root on the host of the browser, for example in a
 * network namespace: ip netns exec NS build/examples/windivert/webfilter list.txt
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <windivert.h>

#define ntohs(x) WinDivertHelperNtohs(x)
#define ntohl(x) WinDivertHelperNtohl(x)
#define htons(x) WinDivertHelperHtons(x)
#define htonl(x) WinDivertHelperHtonl(x)

#define MAXBUF WINDIVERT_MTU_MAX
#define MAXURL 4096
#define PROTO_TCP 6

/* A blacklist entry, and a requested URL. */
struct url {
	char *domain; /* lower case, no trailing dot */
	char *path;   /* after the first "/"; "" for the whole site */
};

struct blacklist {
	struct url *urls;
	size_t length, size;
};

/* The packets this program makes. */
struct packet {
	WINDIVERT_IPHDR ip;
	WINDIVERT_TCPHDR tcp;
};

static const char block_data[] =
	"HTTP/1.1 403 Forbidden\r\n"
	"Connection: close\r\n"
	"Content-Type: text/html\r\n"
	"\r\n"
	"<!doctype html>\n"
	"<html><head><title>BLOCKED</title></head>\n"
	"<body><h1>BLOCKED</h1><p>webfilter does not let this page through.</p></body>\n"
	"</html>\n";
#define BLOCK_LEN ((UINT)sizeof(block_data) - 1)

/* The console colours of the Windows sample, as ANSI colours, on a terminal only. */
enum { RED = 1, GREEN = 2, BLUE = 4, WHITE = RED | GREEN | BLUE };

static int console;

static void set_color(int color)
{
	if (console && color == WHITE)
		fputs("\033[0m", stdout);
	else if (console)
		printf("\033[%dm", 30 + color);
}

static void *checked(void *p)
{
	if (!p) {
		fprintf(stderr, "error: memory allocation failed\n");
		exit(EXIT_FAILURE);
	}
	return p;
}

/* ---- the blacklist ---- */

static int url_compare(const void *a, const void *b)
{
	const struct url *x = a, *y = b;
	int cmp = strcmp(x->domain, y->domain);

	return cmp ? cmp : strcmp(x->path, y->path);
}

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* A domain of letters, digits, "-" and "." that starts with a letter, digit or "-". */
static int domain_valid(const char *s, size_t len)
{
	if (len == 0 || len > MAXURL || !(isalnum((unsigned char)*s) || *s == '-'))
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.')
			return 0;
	return 1;
}

/* Add the entry "domain[/path]" in word; other words are ignored. */
static void blacklist_add(struct blacklist *bl, const char *word)
{
	size_t len = strcspn(word, "/");
	struct url url;

	if (!domain_valid(word, len) || strlen(word + len) > MAXURL)
		return;
	url.domain = checked(strndup(word, len));
	url.path = checked(strdup(word[len] ? word + len + 1 : ""));
	lower(url.domain);
	printf("ADD %s/%s\n", url.domain, url.path);
	if (bl->length == bl->size) {
		bl->size = bl->size ? bl->size * 3 / 2 : 1024;
		bl->urls = checked(realloc(bl->urls, bl->size * sizeof(*bl->urls)));
	}
	bl->urls[bl->length++] = url;
}

static void blacklist_read(struct blacklist *bl, const char *filename)
{
	FILE *file = fopen(filename, "r");
	char *line = NULL, *word, *rest;
	size_t size = 0;

	if (!file) {
		fprintf(stderr, "error: could not open blacklist file %s\n", filename);
		exit(EXIT_FAILURE);
	}
	while (getline(&line, &size, file) != -1) {
		line[strcspn(line, "#")] = '\0';
		for (word = strtok_r(line, " \t\r\n", &rest); word;
		     word = strtok_r(NULL, " \t\r\n", &rest))
			blacklist_add(bl, word);
	}
	free(line);
	fclose(file);
}

/* The first entry of domain, by binary search in the sorted list; bl->length if none. */
static size_t first_of(const struct blacklist *bl, const char *domain)
{
	size_t lo = 0, hi = bl->length;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(bl->urls[mid].domain, domain) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < bl->length && !strcmp(bl->urls[lo].domain, domain) ? lo : bl->length;
}

/* An entry of exactly domain whose path starts the requested path. */
static int domain_match(const struct blacklist *bl, const char *domain, const char *path)
{
	for (size_t i = first_of(bl, domain); i < bl->length; i++) {
		const struct url *u = &bl->urls[i];

		if (strcmp(u->domain, domain))
			break;
		if (!strncmp(path, u->path, strlen(u->path)))
			return 1;
	}
	return 0;
}

/* url or a domain it is a subdomain of is listed. */
static int blacklist_match(const struct blacklist *bl, const struct url *url)
{
	const char *domain = url->domain;

	while (domain) {
		if (domain_match(bl, domain, url->path))
			return 1;
		domain = strchr(domain, '.');
		if (domain)
			domain++;
	}
	return 0;
}

/* ---- the request ---- */

/* The value of the Host header among the lines after the request line, or NULL. */
static char *host_header(char *headers)
{
	for (char *line = strstr(headers, "\r\n"); line; line = strstr(line, "\r\n")) {
		line += 2;
		if (!strncasecmp(line, "Host:", 5))
			return line + 5 + strspn(line + 5, " \t");
		if (!strncmp(line, "\r\n", 2))
			break; /* the end of the headers */
	}
	return NULL;
}

/* Read "GET /path HTTP/1.x" or "POST ..." and the Host header from data,
 * a NUL-terminated copy of the payload; 0 if it is not such a request. */
static int parse_request(char *data, struct url *url)
{
	char *path, *host;

	if (!strncmp(data, "GET /", 5))
		path = data + 5;
	else if (!strncmp(data, "POST /", 6))
		path = data + 6;
	else
		return 0;
	host = host_header(path);
	path[strcspn(path, " \r")] = '\0';
	if (!host)
		return 0;
	host[strcspn(host, " \t\r:")] = '\0'; /* without a port */
	if (*host && host[strlen(host) - 1] == '.')
		host[strlen(host) - 1] = '\0'; /* the same host: nice try */
	lower(host);
	url->domain = host;
	url->path = path;
	return *host != '\0';
}

/* Whether the payload is a request for a listed URL; says so on stdout. */
static int payload_match(const struct blacklist *bl, const char *payload, UINT len)
{
	static char data[2 * MAXURL + 1];
	struct url url;
	int blocked;

	len = len < sizeof(data) - 1 ? len : sizeof(data) - 1;
	memcpy(data, payload, len);
	data[len] = '\0';
	if (!parse_request(data, &url))
		return 0;
	blocked = blacklist_match(bl, &url);
	printf("URL %s/%s: ", url.domain, url.path);
	set_color(blocked ? RED : GREEN);
	puts(blocked ? "BLOCKED!" : "allowed");
	set_color(WHITE);
	return blocked;
}

/* ---- taking the connection over ---- */

static void packet_init(struct packet *p, UINT len)
{
	memset(p, 0, sizeof(*p));
	p->ip.Version = 4;
	p->ip.HdrLength = sizeof(p->ip) / sizeof(UINT32);
	p->ip.Length = htons((UINT16)len);
	p->ip.TTL = 64;
	p->ip.Protocol = PROTO_TCP;
	p->tcp.HdrLength = sizeof(p->tcp) / sizeof(UINT32);
}

/* Addresses and ports of the request (from the browser), or the other way. */
static void set_ends(struct packet *p, const struct packet *req, int to_browser)
{
	p->ip.SrcAddr = to_browser ? req->ip.DstAddr : req->ip.SrcAddr;
	p->ip.DstAddr = to_browser ? req->ip.SrcAddr : req->ip.DstAddr;
	p->tcp.SrcPort = to_browser ? req->tcp.DstPort : req->tcp.SrcPort;
	p->tcp.DstPort = to_browser ? req->tcp.SrcPort : req->tcp.DstPort;
}

static void send_packet(HANDLE handle, void *p, UINT len, WINDIVERT_ADDRESS *addr,
			const char *what)
{
	WinDivertHelperCalcChecksums(p, len, addr, 0);
	if (!WinDivertSend(handle, p, len, NULL, addr))
		fprintf(stderr, "warning: failed to send %s packet (%u)\n", what, GetLastError());
}

/* (1) Instead of the request, a reset to the server: its end closes at once. */
static void reset_server(HANDLE handle, const struct packet *req, WINDIVERT_ADDRESS *addr)
{
	struct packet reset;

	packet_init(&reset, sizeof(reset));
	set_ends(&reset, req, 0);
	reset.tcp.SeqNum = req->tcp.SeqNum;
	reset.tcp.AckNum = req->tcp.AckNum;
	reset.tcp.Rst = reset.tcp.Ack = 1;
	send_packet(handle, &reset, sizeof(reset), addr, "reset");
}

/* (2) The block page to the browser, as the answer to its request. */
static void send_page(HANDLE handle, const struct packet *req, UINT32 acked,
		      WINDIVERT_ADDRESS *addr)
{
	static struct {
		struct packet header;
		char data[sizeof(block_data)];
	} page;

	packet_init(&page.header, sizeof(page.header) + BLOCK_LEN);
	set_ends(&page.header, req, 1);
	page.header.tcp.SeqNum = req->tcp.AckNum;
	page.header.tcp.AckNum = acked;
	page.header.tcp.Psh = page.header.tcp.Ack = 1;
	memcpy(page.data, block_data, BLOCK_LEN);
	send_packet(handle, &page, sizeof(page.header) + BLOCK_LEN, addr, "block page");
}

/* (3) A FIN to the browser after the page: its end closes too. */
static void finish_browser(HANDLE handle, const struct packet *req, UINT32 acked,
			   WINDIVERT_ADDRESS *addr)
{
	struct packet finish;

	packet_init(&finish, sizeof(finish));
	set_ends(&finish, req, 1);
	finish.tcp.SeqNum = htonl(ntohl(req->tcp.AckNum) + BLOCK_LEN);
	finish.tcp.AckNum = acked;
	finish.tcp.Fin = finish.tcp.Ack = 1;
	send_packet(handle, &finish, sizeof(finish), addr, "finish");
}

/* Take the connection of a blocked request over. */
static void hijack(HANDLE handle, const struct packet *req, UINT payload_len,
		   WINDIVERT_ADDRESS *addr)
{
	UINT32 acked = htonl(ntohl(req->tcp.SeqNum) + payload_len); /* the request, all of it */

	reset_server(handle, req, addr);
	addr->Outbound = !addr->Outbound; /* now towards the browser */
	send_page(handle, req, acked, addr);
	finish_browser(handle, req, acked, addr);
}

/* ---- the program ---- */

static HANDLE open_handle(void)
{
	HANDLE handle = WinDivertOpen("outbound and "          /* from this host */
				      "!loopback and "         /* to another one */
				      "ip and "                /* IPv4 only */
				      "tcp.DstPort == 80 and " /* HTTP */
				      "tcp.PayloadLength > 0", /* carrying data */
				      WINDIVERT_LAYER_NETWORK, 404 /* any */, 0);

	if (handle == INVALID_HANDLE_VALUE) {
		fprintf(stderr, "error: failed to open the WinDivert device (%u)\n",
			GetLastError());
		exit(EXIT_FAILURE);
	}
	printf("OPENED WinDivert\n");
	return handle;
}

/* Take requests over or let them go on, until killed. */
static void filter_requests(HANDLE handle, const struct blacklist *bl)
{
	static UINT8 packet[MAXBUF];
	WINDIVERT_ADDRESS addr;
	UINT packet_len, payload_len;
	PWINDIVERT_IPHDR ip;
	PWINDIVERT_TCPHDR tcp;
	PVOID payload;

	for (;;) {
		if (!WinDivertRecv(handle, packet, sizeof(packet), &packet_len, &addr)) {
			fprintf(stderr, "warning: failed to read packet (%u)\n", GetLastError());
			continue;
		}
		if (WinDivertHelperParsePacket(packet, packet_len, &ip, NULL, NULL, NULL, NULL,
					       &tcp, NULL, &payload, &payload_len, NULL, NULL) &&
		    ip && tcp && payload && payload_match(bl, payload, payload_len)) {
			struct packet req = { .ip = *ip, .tcp = *tcp };

			hijack(handle, &req, payload_len, &addr);
			continue;
		}
		if (!WinDivertSend(handle, packet, packet_len, NULL, &addr))
			fprintf(stderr, "warning: failed to reinject packet (%u)\n",
				GetLastError());
	}
}

int main(int argc, char **argv)
{
	struct blacklist bl = { 0 };

	if (argc <= 1) {
		fprintf(stderr, "usage: %s blacklist.txt [blacklist2.txt ...]\n", argv[0]);
		exit(EXIT_FAILURE);
	}
	console = isatty(STDOUT_FILENO);
	setvbuf(stdout, NULL, _IOLBF, 0); /* each line as it comes, into a pipe or file too */
	for (int i = 1; i < argc; i++)
		blacklist_read(&bl, argv[i]);
	if (bl.length)
		qsort(bl.urls, bl.length, sizeof(*bl.urls), url_compare);
	filter_requests(open_handle(), &bl);
	return 0;
}
