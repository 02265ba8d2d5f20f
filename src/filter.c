/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * filter.c - pcap expression -> classic BPF for the xt_bpf match and for user space.
 *
 * xt_bpf runs at most IPR_XT_BPF_MAX instructions. A longer program is cut:
 * the kernel runs its first instructions, and every exit over the cut either
 * rejects (when no path beyond it can match) or matches. That coarse program
 * matches a superset of the full one; user space runs the full program on
 * what the kernel queued.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "internal.h"

#define FILTER_SNAPLEN 262144 /* pcap's snapshot length; a match returns it */
#define JUMP_MAX 255          /* conditional jump offsets are 8 bits */
#define EXPR_SHOWN 200        /* a longer expression is cut in messages so the reason fits */
#define PROBE_WORDS 64        /* words of an expression searched for a syntax error */
#define AT_END UINT_MAX       /* a syntax error at the end: something is missing */

/* f->prog is followed, in the same allocation, by the same program as struct
 * bpf_insn for bpf_filter(): both layouts must have the same size and alignment. */
_Static_assert(sizeof(struct sock_filter) == sizeof(struct bpf_insn), "bpf_insn size");
_Static_assert(_Alignof(struct sock_filter) == _Alignof(struct bpf_insn), "bpf_insn align");

/* pcap_compile() keeps parser state in globals before libpcap 1.8. */
static pthread_mutex_t compile_lock = PTHREAD_MUTEX_INITIALIZER;

/* How the full program is cut into the coarse kernel program. */
struct cut {
	unsigned int keep;          /* instructions kept from the full program */
	unsigned int match_at;      /* index of "ret #FILTER_SNAPLEN" */
	unsigned int reject_at;     /* index of "ret #0" */
	unsigned int len;           /* length of the full program */
	const uint8_t *may_match;   /* per full instruction: can any path from it match */
};

static int is_blank(const char *expr)
{
	if (!expr)
		return 1;
	while (isspace((unsigned char)*expr))
		expr++;
	return *expr == '\0';
}

static int fail_nomem(void)
{
	return ipr_fail(-ENOMEM, "cannot compile filter: out of memory");
}

/* ---- error messages ---- */

static int is_word_sep(char c)
{
	return isspace((unsigned char)c) || (c != '\0' && strchr("()!&|", c));
}

/* Position (from 1) of the only word of expr equal to name[0..len); 0 if none or several. */
static unsigned int word_position(const char *expr, const char *name, size_t len)
{
	unsigned int word = 0, found = 0;
	const char *p = expr;
	size_t n;

	for (;;) {
		while (is_word_sep(*p))
			p++;
		if (*p == '\0')
			return found;
		for (n = 0; p[n] != '\0' && !is_word_sep(p[n]); n++)
			;
		word++;
		if (n == len && memcmp(p, name, len) == 0) {
			if (found)
				return 0;
			found = word;
		}
		p += n;
	}
}

/* The word libpcap quotes in "unknown host 'x'" or "invalid ... 'x'"; 0 if unsure. */
static unsigned int offending_word(const char *expr, const char *msg)
{
	const char *open, *close;

	if (strncmp(msg, "unknown ", 8) != 0 && strncmp(msg, "invalid ", 8) != 0)
		return 0;
	open = strchr(msg, '\'');
	close = open ? strchr(open + 1, '\'') : NULL;
	if (!close)
		return 0;
	return word_position(expr, open + 1, (size_t)(close - open - 1));
}

static int compile_raw(const char *expr, struct bpf_program *bp, char *msg);

/* Whether text, its parentheses closed and one of a few endings added, compiles. */
static int can_be_completed(const char *text)
{
	static const char *const endings[] = { "", " tcp", " 1", " = 1", " 1 = 1", " 0] = 1",
					       "] = 1", " host 1.2.3.4", " 1.2.3.4" };
	char buf[EXPR_SHOWN * 2 + 64], msg[PCAP_ERRBUF_SIZE];
	int open = 0, len = (int)strlen(text);
	struct bpf_program bp;

	for (const char *p = text; *p; p++)
		open += *p == '(' ? 1 : *p == ')' ? -1 : 0;
	for (size_t i = 0; i < sizeof(endings) / sizeof(endings[0]); i++) {
		snprintf(buf, sizeof(buf), "%.*s%s%.*s", len, text, endings[i],
			 open > 0 ? open : 0, "))))))))))))))))");
		if (compile_raw(buf, &bp, msg) == 0) {
			pcap_freecode(&bp);
			return 1;
		}
	}
	return 0;
}

/* The first word (from 1) after which no ending makes expr's words a filter: where
 * a syntax error lies; AT_END when every prefix can go on; 0 for an expression too
 * long to search. */
static unsigned int syntax_error_word(const char *expr)
{
	char prefix[EXPR_SHOWN * 2];
	unsigned int word = 0;
	const char *p = expr;

	if (strlen(expr) >= EXPR_SHOWN)
		return 0;
	for (;;) {
		while (is_word_sep(*p) && *p != '(' && *p != ')')
			p++;
		if (*p == '\0')
			return AT_END;
		if (++word > PROBE_WORDS)
			return 0;
		while (*p == '(' || *p == ')')
			p++;
		while (*p != '\0' && !is_word_sep(*p))
			p++;
		snprintf(prefix, sizeof(prefix), "%.*s", (int)(p - expr), expr);
		if (!can_be_completed(prefix))
			return word;
	}
}

/* " at word N", " at the end", or "" if unsure. */
static void error_position(const char *expr, const char *msg, char *buf, size_t size)
{
	unsigned int word = offending_word(expr, msg);

	*buf = '\0';
	if (!word && strstr(msg, "syntax error"))
		word = syntax_error_word(expr);
	if (word == AT_END)
		snprintf(buf, size, " at the end");
	else if (word)
		snprintf(buf, size, " at word %u", word);
}

static int fail_bad_filter(const char *expr, const char *msg)
{
	size_t len = strlen(expr);
	char where[32];

	error_position(expr, msg, where, sizeof(where));
	return ipr_fail(-EINVAL, "bad filter \"%.*s%s\": %s%s",
			(int)(len > EXPR_SHOWN ? EXPR_SHOWN : len), expr,
			len > EXPR_SHOWN ? "..." : "", msg, where);
}

/* ---- compiling ---- */

/* pcap_compile() expr for DLT_RAW: 0, -ENOMEM, or -EINVAL with libpcap's reason in msg. */
static int compile_raw(const char *expr, struct bpf_program *bp, char *msg)
{
	pcap_t *pcap;
	int ret = 0;

	pthread_mutex_lock(&compile_lock);
	pcap = pcap_open_dead(DLT_RAW, FILTER_SNAPLEN);
	if (!pcap) {
		ret = -ENOMEM;
		goto out;
	}
	if (pcap_compile(pcap, bp, expr, 1, PCAP_NETMASK_UNKNOWN) < 0) {
		snprintf(msg, PCAP_ERRBUF_SIZE, "%s", pcap_geterr(pcap));
		ret = -EINVAL;
	}
	pcap_close(pcap);
out:
	pthread_mutex_unlock(&compile_lock);
	return ret;
}

static int compile_pcap(const char *expr, struct bpf_program *bp)
{
	char msg[PCAP_ERRBUF_SIZE];
	int ret = compile_raw(expr, bp, msg);

	if (ret == -ENOMEM)
		return fail_nomem();
	if (ret < 0)
		return fail_bad_filter(expr, msg);
	return 0;
}

static struct sock_filter to_sock_filter(const struct bpf_insn *in)
{
	struct sock_filter out = {
		.code = in->code,
		.jt = in->jt,
		.jf = in->jf,
		.k = in->k,
	};

	return out;
}

/* Copy bp into f->prog and keep its struct bpf_insn twin right behind it. */
static int store_program(struct ipr_filter *f, const struct bpf_program *bp)
{
	unsigned int n = bp->bf_len;
	struct bpf_insn *twin;

	f->prog = calloc(n, sizeof(struct sock_filter) + sizeof(struct bpf_insn));
	if (!f->prog)
		return fail_nomem();
	twin = (void *)(f->prog + n);
	for (unsigned int i = 0; i < n; i++) {
		f->prog[i] = to_sock_filter(&bp->bf_insns[i]);
		twin[i] = bp->bf_insns[i];
	}
	f->prog_len = n;
	return 0;
}

static const struct bpf_insn *user_program(const struct ipr_filter *f)
{
	return (const void *)(f->prog + f->prog_len);
}

/* ---- the coarse kernel program ---- */

static uint64_t jump_target(unsigned int at, uint32_t offset)
{
	return (uint64_t)at + 1 + offset;
}

static int is_cond_jump(const struct sock_filter *in)
{
	return BPF_CLASS(in->code) == BPF_JMP && BPF_OP(in->code) != BPF_JA;
}

static int is_ja(const struct sock_filter *in)
{
	return BPF_CLASS(in->code) == BPF_JMP && BPF_OP(in->code) == BPF_JA;
}

/* A target past the end is invalid; count it as a possible match to stay safe. */
static uint8_t target_may_match(const uint8_t *may_match, unsigned int len, uint64_t target)
{
	return target >= len || may_match[target];
}

static uint8_t insn_may_match(const struct sock_filter *prog, unsigned int len,
			      const uint8_t *may_match, unsigned int at)
{
	const struct sock_filter *in = &prog[at];

	if (BPF_CLASS(in->code) == BPF_RET)
		return BPF_RVAL(in->code) != BPF_K || in->k != 0;
	if (is_ja(in))
		return target_may_match(may_match, len, jump_target(at, in->k));
	if (is_cond_jump(in))
		return target_may_match(may_match, len, jump_target(at, in->jt)) ||
		       target_may_match(may_match, len, jump_target(at, in->jf));
	return target_may_match(may_match, len, jump_target(at, 0));
}

/* may_match[i] = 0 when every path from instruction i returns 0 (jumps only go forward). */
static void find_may_match(const struct sock_filter *prog, unsigned int len, uint8_t *may_match)
{
	for (unsigned int i = len; i-- > 0;)
		may_match[i] = insn_may_match(prog, len, may_match, i);
}

/* Where a jump to target of the full program lands in the coarse program. */
static uint64_t cut_target(const struct cut *c, uint64_t target)
{
	if (target < c->keep)
		return target;
	if (target_may_match(c->may_match, c->len, target))
		return c->match_at;
	return c->reject_at;
}

static int rewire_cond(const struct cut *c, unsigned int at, uint8_t *offset)
{
	uint64_t target = cut_target(c, jump_target(at, *offset));

	if (target - at - 1 > JUMP_MAX)
		return -1;
	*offset = (uint8_t)(target - at - 1);
	return 0;
}

static void rewire_ja(const struct cut *c, unsigned int at, uint32_t *offset)
{
	*offset = (uint32_t)(cut_target(c, jump_target(at, *offset)) - at - 1);
}

static struct sock_filter ret_insn(uint32_t k)
{
	struct sock_filter in = { .code = BPF_RET | BPF_K, .k = k };

	return in;
}

/* The first c->keep instructions of prog with exits past them rewired, plus two returns. */
static int cut_program(const struct sock_filter *prog, const struct cut *c,
		       struct sock_filter *out)
{
	for (unsigned int i = 0; i < c->keep; i++) {
		out[i] = prog[i];
		if (is_ja(&out[i]))
			rewire_ja(c, i, &out[i].k);
		else if (is_cond_jump(&out[i]) &&
			 (rewire_cond(c, i, &out[i].jt) < 0 || rewire_cond(c, i, &out[i].jf) < 0))
			return -1;
	}
	out[c->match_at] = ret_insn(FILTER_SNAPLEN);
	out[c->reject_at] = ret_insn(0);
	return 0;
}

/* Every jump lands inside the program and the last instruction returns. */
static int program_valid(const struct sock_filter *prog, unsigned int len)
{
	if (len == 0 || len > IPR_XT_BPF_MAX || BPF_CLASS(prog[len - 1].code) != BPF_RET)
		return 0;
	for (unsigned int i = 0; i < len; i++) {
		if (is_ja(&prog[i]) && jump_target(i, prog[i].k) >= len)
			return 0;
		if (is_cond_jump(&prog[i]) && (jump_target(i, prog[i].jt) >= len ||
					       jump_target(i, prog[i].jf) >= len))
			return 0;
	}
	return 1;
}

/* Try the longest prefix first; the instruction right after it decides which return
 * comes first, so a fall-through over the cut lands on the right one. */
static unsigned int cut_longest(const struct ipr_filter *f, const uint8_t *may_match,
				struct sock_filter *out)
{
	struct cut c = { .len = f->prog_len, .may_match = may_match };

	for (c.keep = IPR_XT_BPF_MAX - 2; c.keep > 0; c.keep--) {
		c.match_at = may_match[c.keep] ? c.keep : c.keep + 1;
		c.reject_at = may_match[c.keep] ? c.keep + 1 : c.keep;
		if (cut_program(f->prog, &c, out) == 0 && program_valid(out, c.keep + 2))
			return c.keep + 2;
	}
	return 0;
}

static int set_coarse_program(struct ipr_filter *f)
{
	struct sock_filter *out = calloc(IPR_XT_BPF_MAX, sizeof(*out));
	uint8_t *may_match = malloc(f->prog_len);
	int err = 0;

	if (!out || !may_match) {
		err = fail_nomem();
		goto out;
	}
	find_may_match(f->prog, f->prog_len, may_match);
	f->kernel_len = cut_longest(f, may_match, out);
	if (f->kernel_len) {
		f->kernel = out;
		out = NULL;
		ipr_log(IPR_LOG_DEBUG, "filter has %u BPF instructions, xt_bpf takes %d: "
			"kernel runs a coarse %u, user space the full filter",
			f->prog_len, IPR_XT_BPF_MAX, f->kernel_len);
	} else {
		ipr_log(IPR_LOG_WARN, "filter has %u BPF instructions and cannot be cut "
			"for xt_bpf: every IP packet goes to user space", f->prog_len);
	}
out:
	free(may_match);
	free(out);
	return err;
}

static int set_kernel_program(struct ipr_filter *f)
{
	if (f->prog_len > IPR_XT_BPF_MAX) {
		f->user = 1;
		return set_coarse_program(f);
	}
	f->kernel = malloc(f->prog_len * sizeof(*f->kernel));
	if (!f->kernel)
		return fail_nomem();
	memcpy(f->kernel, f->prog, f->prog_len * sizeof(*f->kernel));
	f->kernel_len = f->prog_len;
	return 0;
}

int ipr_filter_compile(const char *expr, int force_user, struct ipr_filter *f)
{
	struct bpf_program bp;
	int err;

	memset(f, 0, sizeof(*f));
	f->user = force_user ? 1 : 0;
	if (is_blank(expr))
		return 0;
	err = compile_pcap(expr, &bp);
	if (err < 0)
		return err;
	err = store_program(f, &bp);
	pcap_freecode(&bp);
	if (err == 0 && !force_user)
		err = set_kernel_program(f);
	if (err < 0)
		ipr_filter_free(f);
	return err;
}

int ipr_filter_match(const struct ipr_filter *f, const uint8_t *pkt, uint32_t caplen,
		     uint32_t len)
{
	if (!f->prog)
		return 1;
	return bpf_filter(user_program(f), pkt, len, caplen) != 0;
}

void ipr_filter_free(struct ipr_filter *f)
{
	free(f->prog);
	free(f->kernel);
	memset(f, 0, sizeof(*f));
}

const char *ipr_filter_kind(const struct ipr_filter *f)
{
	if (f->user)
		return "user";
	return f->prog ? "kernel" : "none";
}

/* ---- the public view of a compiled filter ---- */

_Static_assert(sizeof(struct sock_filter) == sizeof(struct ipr_bpf_insn), "insn size");

struct filter_program {
	struct ipr_filter_program pub; /* first: the caller's pointer is this */
	struct ipr_filter f;
};

IPR_EXPORT int ipr_filter_program_new(const char *expr, unsigned int flags,
				      struct ipr_filter_program **out)
{
	struct filter_program *p = calloc(1, sizeof(*p));
	int err;

	*out = NULL;
	if (!p)
		return fail_nomem();
	err = ipr_filter_compile(expr, !!(flags & IPR_OPEN_USER_FILTER), &p->f);
	if (err < 0) {
		free(p);
		return err;
	}
	p->pub = (struct ipr_filter_program){
		.kind = ipr_filter_kind(&p->f),
		.insns = (const void *)p->f.prog,
		.len = p->f.prog_len,
		.kernel = (const void *)p->f.kernel,
		.kernel_len = p->f.kernel_len,
		.kernel_max = IPR_XT_BPF_MAX,
	};
	*out = &p->pub;
	return 0;
}

/* The user-space program decides: the kernel's part matches a superset of it. */
IPR_EXPORT int ipr_filter_program_match(const struct ipr_filter_program *p, const void *pkt,
					uint32_t caplen, uint32_t len)
{
	const struct filter_program *fp = (const void *)p;

	return ipr_filter_match(&fp->f, pkt, caplen, len);
}

IPR_EXPORT void ipr_filter_program_free(struct ipr_filter_program *p)
{
	struct filter_program *fp = (void *)p;

	if (!fp)
		return;
	ipr_filter_free(&fp->f);
	free(fp);
}
