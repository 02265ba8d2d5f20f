/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * capture.h - capture files of received packets: pcap (LINUX_SLL2) or pcapng
 * (raw IP, an interface description per interface with its name), to a file
 * or to stdout ("-"), each batch in one writev.
 */
#ifndef IPREDIR_CAPTURE_H
#define IPREDIR_CAPTURE_H

#include <stdint.h>
#include <sys/uio.h>

#include "ipredir.h"

#define CAPTURE_BATCH 64 /* packets of one capture_write() at most */

enum capture_format { CAPTURE_PCAP, CAPTURE_PCAPNG };

/* What the file says of the capture (pcapng: the section header). */
struct capture_about {
	const char *filter;   /* the redirector's filter; NULL = every IP packet */
	unsigned int snaplen; /* bytes kept of each packet */
};

struct capture;

/* The format a file name asks for: pcapng for a name ending ".pcapng". */
enum capture_format capture_format_of(const char *file);

/* Create file ("-": stdout) and write its header; NULL with errno on failure. */
struct capture *capture_open(const char *file, enum capture_format format,
			     const struct capture_about *about);

/* Append n (<= CAPTURE_BATCH) packets; comments[i] (NULL, or NULL entries: none)
 * becomes the packet's pcapng comment. 0 or -errno. */
int capture_write(struct capture *c, const struct ipr_packet *pkts, int n,
		  const char *const *comments);

/* Write the end of the file (pcapng: statistics with stats' drops, if given),
 * close it and free c. 0 or -errno. */
int capture_close(struct capture *c, const struct ipr_stats *stats);

/* ---- what capture.c and pcapng.c share ---- */

#define CAPTURE_IFACES 256   /* interfaces of one pcapng file */
#define CAPTURE_ARENA 65536  /* bytes of block headers and options of one batch */

struct capture_iface {
	uint32_t ifindex;
	uint64_t written;    /* packets written on it */
};

struct capture {
	int fd;
	int close_fd;               /* 0 for stdout */
	enum capture_format format;
	unsigned int snaplen;
	uint64_t start_ns;          /* when the file was opened (CLOCK_REALTIME) */
	struct capture_iface iface[CAPTURE_IFACES];
	unsigned int nifaces;
	uint8_t arena[CAPTURE_ARENA];
	size_t used;                /* bytes of arena taken by the batch */
	struct iovec iov[8 * CAPTURE_BATCH];  /* 5 per packet, 3 per new interface */
	int niov;
};

/* Copy len bytes into the batch's arena and queue them; 0 or -ENOBUFS. */
int capture_put(struct capture *c, const void *data, size_t len);

/* Queue len bytes that stay valid until the batch is written (packet bytes). */
void capture_ref(struct capture *c, const void *data, size_t len);

/* Write and forget what the batch queued; 0 or -errno. */
int capture_flush(struct capture *c);

/* The wall clock in nanoseconds. */
uint64_t capture_now_ns(void);

/* pcapng.c */
int pcapng_header(struct capture *c, const struct capture_about *about);
int pcapng_packets(struct capture *c, const struct ipr_packet *pkts, int n,
		   const char *const *comments);
int pcapng_statistics(struct capture *c, const struct ipr_stats *stats);

#endif /* IPREDIR_CAPTURE_H */
