/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * filter.h - what the filter*.c files share: the compiled form of a filter and
 * the table of its fields. Only they and their tests include it.
 *
 *   filter_fields.c     the fields: names, layers, bounds, where they live
 *   filter_lex.c        text -> tokens (numbers, addresses, names, operators)
 *   filter_parse.c      tokens -> expression tree, with WinDivert's errors
 *   filter_compile.c    tree -> tests with jumps (constant tests folded away)
 *   filter_object.c     tests <-> WinDivert's object string ("@WinDiv_...")
 *   filter_eval.c       tests over a packet and its WINDIVERT_ADDRESS
 *   filter_decompile.c  tests -> and/or/conditional expressions, as WinDivert
 *                       rebuilds them
 *   filter_format.c     expressions -> canonical text (WinDivertHelperFormatFilter)
 *   filter_kernel.c     expressions -> pcap superset, directions and interface
 *   filter_pcap.c       pcap expressions built from pieces
 *   filter_rule.c       SOCKET-layer tests -> the kernel rule of bind and connect calls
 *   filter_api.c        the public WinDivertHelper*Filter calls
 *
 * A compiled filter is WinDivert's: a list of tests, each jumping to a later
 * test or to ACCEPT/REJECT on success and on failure; test 0 runs first. A test
 * on a field the packet lacks fails. Values are 128-bit with a sign, the least
 * significant 32-bit word first.
 */
#ifndef WINDIVERT_FILTER_H
#define WINDIVERT_FILTER_H

#include <stdint.h>

#include "wd.h"

#define WD_FILTER_MAXLEN 256   /* tests of one compiled filter */
#define WD_LABEL_ACCEPT 0x7FFE /* jump target: the filter matches */
#define WD_LABEL_REJECT 0x7FFF /* jump target: it does not */
#define WD_INDEX_MAX 0xFFFF    /* byte index of packet[]/Payload[] fields, in magnitude */

/* Comparisons, numbered as in WinDivert's object form. */
enum wd_op { WD_EQ, WD_NEQ, WD_LT, WD_LEQ, WD_GT, WD_GEQ, WD_OP_MAX = WD_GEQ };

/* Fields, numbered as in WinDivert's object form; TRUE and FALSE exist only in text. */
enum wd_field_id {
	WD_F_ZERO, WD_F_INBOUND, WD_F_OUTBOUND, WD_F_IFIDX, WD_F_SUBIFIDX,
	WD_F_IP, WD_F_IPV6, WD_F_ICMP, WD_F_TCP, WD_F_UDP, WD_F_ICMPV6,
	WD_F_IP_HDRLENGTH, WD_F_IP_TOS, WD_F_IP_LENGTH, WD_F_IP_ID, WD_F_IP_DF, WD_F_IP_MF,
	WD_F_IP_FRAGOFF, WD_F_IP_TTL, WD_F_IP_PROTOCOL, WD_F_IP_CHECKSUM, WD_F_IP_SRCADDR,
	WD_F_IP_DSTADDR,
	WD_F_IPV6_TRAFFICCLASS, WD_F_IPV6_FLOWLABEL, WD_F_IPV6_LENGTH, WD_F_IPV6_NEXTHDR,
	WD_F_IPV6_HOPLIMIT, WD_F_IPV6_SRCADDR, WD_F_IPV6_DSTADDR,
	WD_F_ICMP_TYPE, WD_F_ICMP_CODE, WD_F_ICMP_CHECKSUM, WD_F_ICMP_BODY,
	WD_F_ICMPV6_TYPE, WD_F_ICMPV6_CODE, WD_F_ICMPV6_CHECKSUM, WD_F_ICMPV6_BODY,
	WD_F_TCP_SRCPORT, WD_F_TCP_DSTPORT, WD_F_TCP_SEQNUM, WD_F_TCP_ACKNUM, WD_F_TCP_HDRLENGTH,
	WD_F_TCP_URG, WD_F_TCP_ACK, WD_F_TCP_PSH, WD_F_TCP_RST, WD_F_TCP_SYN, WD_F_TCP_FIN,
	WD_F_TCP_WINDOW, WD_F_TCP_CHECKSUM, WD_F_TCP_URGPTR, WD_F_TCP_PAYLOADLENGTH,
	WD_F_UDP_SRCPORT, WD_F_UDP_DSTPORT, WD_F_UDP_LENGTH, WD_F_UDP_CHECKSUM,
	WD_F_UDP_PAYLOADLENGTH,
	WD_F_LOOPBACK, WD_F_IMPOSTOR, WD_F_PROCESSID, WD_F_LOCALADDR, WD_F_REMOTEADDR,
	WD_F_LOCALPORT, WD_F_REMOTEPORT, WD_F_PROTOCOL, WD_F_ENDPOINTID, WD_F_PARENTENDPOINTID,
	WD_F_LAYER, WD_F_PRIORITY, WD_F_EVENT,
	WD_F_PACKET, WD_F_PACKET16, WD_F_PACKET32, WD_F_TCP_PAYLOAD, WD_F_TCP_PAYLOAD16,
	WD_F_TCP_PAYLOAD32, WD_F_UDP_PAYLOAD, WD_F_UDP_PAYLOAD16, WD_F_UDP_PAYLOAD32,
	WD_F_LENGTH, WD_F_TIMESTAMP, WD_F_RANDOM8, WD_F_RANDOM16, WD_F_RANDOM32, WD_F_FRAGMENT,
	WD_F_MAX = WD_F_FRAGMENT,
	WD_F_TRUE, WD_F_FALSE,
	WD_F_COUNT
};

/* A value: magnitude in 32-bit words, least significant first, and a sign. */
struct wd_value {
	uint32_t w[4];
	uint8_t neg;
};

/* One test of a compiled filter; the layout of WinDivert's WINDIVERT_FILTER. */
struct wd_test {
	uint8_t field;   /* enum wd_field_id */
	uint8_t op;      /* enum wd_op */
	uint8_t neg;     /* arg is negative */
	uint16_t succ;   /* next test when the test holds, or WD_LABEL_* */
	uint16_t fail;   /* next test when it does not (or the field is missing) */
	uint32_t arg[4]; /* the value; of packet[]/Payload[] fields arg[1] is the byte index */
};

struct wd_filter {
	WINDIVERT_LAYER layer;
	unsigned int len;                    /* tests; at least 1 */
	struct wd_test test[WD_FILTER_MAXLEN];
};

/* ---- errors of WinDivertHelperCompileFilter(), numbered as WinDivert numbers them ---- */

enum wd_filter_error {
	WD_ERR_NONE, WD_ERR_NO_MEMORY, WD_ERR_TOO_DEEP, WD_ERR_TOO_LONG, WD_ERR_BAD_TOKEN,
	WD_ERR_BAD_TOKEN_FOR_LAYER, WD_ERR_UNEXPECTED_TOKEN, WD_ERR_INDEX_OOB,
	WD_ERR_OUTPUT_TOO_SHORT, WD_ERR_BAD_OBJECT,
};

/* WinDivert's text for an error code. */
const char *wd_filter_error_str(enum wd_filter_error code);

/* ---- filter_fields.c ---- */

/* How FormatFilter prints a test's value. */
enum wd_style { WD_STYLE_DEC, WD_STYLE_HEX, WD_STYLE_FLAG, WD_STYLE_IPV4, WD_STYLE_IPV6,
		WD_STYLE_LAYER, WD_STYLE_EVENT };

struct wd_field {
	const char *name;
	uint8_t layers;      /* bit (1 << WINDIVERT_LAYER_x) per layer that has it */
	uint8_t style;       /* enum wd_style */
	uint8_t array;       /* bytes of one word of an indexed field (packet32[i]: 4); else 0 */
	uint8_t big;         /* compared in 128 bits (addresses, 64-bit ids, timestamp) */
	struct wd_value lo;  /* the values it can take, for folding constant tests */
	struct wd_value hi;
};

/* The field numbered id (< WD_F_COUNT). */
const struct wd_field *wd_field(unsigned int id);

/* Where a field lives in the packet: header, byte offset, bytes (1, 2, 4; 16 for an
 * IPv6 address), then a right shift and a mask. hdr WD_HDR_NONE: not in a header;
 * size 0: it needs the header but is read otherwise (payloads). */
enum wd_hdr { WD_HDR_NONE, WD_HDR_IP, WD_HDR_IPV6, WD_HDR_ICMP, WD_HDR_ICMPV6, WD_HDR_TCP,
	      WD_HDR_UDP };

struct wd_spot {
	uint8_t hdr, off, size, shift;
	uint32_t mask;
};

/* Where the field numbered id lives. */
const struct wd_spot *wd_field_spot(unsigned int id);

/* The id of the field named name[0..len), or -1. */
int wd_field_lookup(const char *name, size_t len);

/* Whether the field exists at layer. */
int wd_field_valid(unsigned int id, WINDIVERT_LAYER layer);

/* <0, 0, >0 as a is below, equal to, above b: WinDivert's signed 128-bit order
 * (-0 is below 0); with big == 0 only the low words are compared. */
int wd_value_cmp(const struct wd_value *a, const struct wd_value *b, int big);

/* Whether "a op b" holds, cmp being wd_value_cmp(a, b). */
int wd_op_holds(unsigned int op, int cmp);

/* Whether a test with op and value v is settled by the field's bounds alone: 1 and
 * *holds when it is, 0 when it depends on the packet. */
int wd_test_fold(unsigned int field, unsigned int op, const struct wd_value *v, int *holds);

/* The test's value as a struct wd_value (arrays: the word only). */
void wd_test_value(const struct wd_test *t, struct wd_value *v);

/* ---- filter_lex.c ---- */

#define WD_TOKENS_MAX (5 * WD_FILTER_MAXLEN) /* WinDivert's limit: "too long" beyond */

/* Token kinds; EQ..GEQ in the order of enum wd_op. */
enum wd_tok_kind {
	WD_TOK_END, WD_TOK_FIELD, WD_TOK_NUMBER, WD_TOK_MACRO, WD_TOK_OPEN, WD_TOK_CLOSE,
	WD_TOK_SQUARE_OPEN, WD_TOK_SQUARE_CLOSE, WD_TOK_MINUS, WD_TOK_BYTES,
	WD_TOK_EQ, WD_TOK_NEQ, WD_TOK_LT, WD_TOK_LEQ, WD_TOK_GT, WD_TOK_GEQ,
	WD_TOK_NOT, WD_TOK_AND, WD_TOK_OR, WD_TOK_COLON, WD_TOK_QUESTION,
};

struct wd_token {
	uint8_t kind;    /* enum wd_tok_kind */
	uint8_t field;   /* WD_TOK_FIELD: enum wd_field_id */
	uint32_t pos;    /* offset in the text */
	uint32_t val[4]; /* WD_TOK_NUMBER: the number or address */
};

/* Cut text into tok[WD_TOKENS_MAX], the last one WD_TOK_END; macros the layer
 * lacks stay WD_TOK_MACRO. 0, or an error code with the position in *pos. */
enum wd_filter_error wd_filter_lex(const char *text, WINDIVERT_LAYER layer,
				   struct wd_token *tok, unsigned int *pos);

/* ---- filter_parse.c ---- */

/* A parsed expression: tests combined with and, or and (c ? a : b). */
enum wd_node_kind { WD_NODE_TEST, WD_NODE_AND, WD_NODE_OR, WD_NODE_COND };

struct wd_node {
	uint8_t kind;
	int a, b, c;         /* children (node indexes) of and/or/cond */
	struct wd_test test; /* a test: field, op, the value in arg[] (succ/fail unused) */
	int32_t index;       /* a test of packet[]/Payload[]: the byte index, < 0 from the end */
};

struct wd_tree {
	struct wd_node *node;
	int nnode;
	int root;
};

/* Parse text for layer into *tree (free tree->node). 0, or an error code with the
 * position in *pos. */
enum wd_filter_error wd_filter_parse(const char *text, WINDIVERT_LAYER layer,
				     struct wd_tree *tree, unsigned int *pos);

/* ---- filter_compile.c ---- */

/* Compile text or an object for layer into *f. strict: refuse an object whose
 * tests are not all valid at layer (WinDivertOpen), as the helpers do not. */
enum wd_filter_error wd_filter_build(const char *filter, WINDIVERT_LAYER layer, int strict,
				     struct wd_filter *f, unsigned int *pos);

/* ---- filter_object.c (and wd_filter_object() of wd.h) ---- */

/* Read an object string (from its '@') into *f: 0 or -EINVAL. */
int wd_object_read(const char *obj, struct wd_filter *f);

/* ---- filter_eval.c ---- */

/* wd_filter_match() with its refusal: 1, 0, or -EINVAL if the packet does not fit
 * f's layer (NETWORK*: an IPv4 or IPv6 packet, IPv6 as addr->IPv6 says; FLOW,
 * SOCKET: no packet) or f names a field the layer lacks. */
int wd_filter_run(const struct wd_filter *f, const void *pkt, UINT len,
		  const WINDIVERT_ADDRESS *addr);

/* ---- filter_decompile.c ---- */

enum wd_expr_kind { WD_EXPR_TEST, WD_EXPR_AND, WD_EXPR_OR, WD_EXPR_COND, WD_EXPR_TRUE,
		    WD_EXPR_FALSE };

#define WD_EXPR_MAX (2 * WD_FILTER_MAXLEN + 2) /* tests, and one node per merge */

struct wd_expr {
	uint8_t kind;
	int a, b, c;           /* children (node indexes) of and/or/cond */
	int test;              /* WD_EXPR_TEST: index of the test */
	uint16_t succ, fail;   /* where the expression jumps */
	int count;             /* jumps to its slot */
};

struct wd_decompiled {
	const struct wd_filter *f;
	struct wd_expr node[WD_EXPR_MAX];
	int nnode;
	int expr[WD_FILTER_MAXLEN];  /* the expression standing for each test; -1: merged */
};

/* Rebuild f's expressions into *d (which refers to f). */
void wd_decompile(struct wd_decompiled *d, const struct wd_filter *f);

/* Where label leads once tests that jump the same way either way are skipped. */
uint16_t wd_decompiled_resolve(const struct wd_decompiled *d, uint16_t label);

/* What label stands for: true, false, the expression *node alone (its jumps are
 * accept and reject), or (*node? its success: its failure); WD_AT_BAD for a label
 * no expression stands for. */
enum wd_at { WD_AT_TRUE, WD_AT_FALSE, WD_AT_NODE, WD_AT_COND, WD_AT_BAD };
enum wd_at wd_decompiled_at(const struct wd_decompiled *d, uint16_t label, int *node);

/* ---- filter_pcap.c ---- */

#define WD_PF_MAX 4096 /* characters of one piece; longer ones are "big" */

enum wd_pf_kind { WD_PF_FALSE, WD_PF_TRUE, WD_PF_ATOM, WD_PF_AND, WD_PF_OR, WD_PF_BIG,
		  WD_PF_NOMEM };

/* A piece of a pcap expression: a constant, or text (s, malloc'ed) of a kind. */
struct wd_pf {
	uint8_t kind;
	char *s;
};

struct wd_pf wd_pf_const(int v);
struct wd_pf wd_pf_atom(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
struct wd_pf wd_pf_and(struct wd_pf a, struct wd_pf b);
struct wd_pf wd_pf_or(struct wd_pf a, struct wd_pf b);
struct wd_pf wd_pf_not(struct wd_pf a);
struct wd_pf wd_pf_dup(const struct wd_pf *a);
int wd_pf_equal(const struct wd_pf *a, const struct wd_pf *b);
void wd_pf_free(struct wd_pf *p);

#endif /* WINDIVERT_FILTER_H */
