/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * filter_lex.c - the filter text cut into tokens, as WinDivert 2.2 cuts it.
 *
 * A word is a run of letters, digits, '.', ':' and '_' (at most 39 characters):
 * a name (keyword, macro, field), a decimal number (with a 'b' suffix for byte
 * indexes), a hexadecimal number ("0x..."), an IPv4 address (taken as the
 * IPv4-mapped IPv6 address ::ffff:a.b.c.d) or an IPv6 address. One ':' ending a
 * word is the ':' of a conditional. Errors carry WinDivert's positions.
 */
#include <errno.h>
#include <string.h>

#include "filter.h"

#define WORD_MAX 40 /* a word of this many characters is a bad token */

struct lexer {
	const char *s;
	unsigned int i;          /* next character */
	WINDIVERT_LAYER layer;
	struct wd_token *tok;
	unsigned int n;          /* tokens so far */
	unsigned int pos;        /* of the error */
};

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int hex_digit(char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int is_word(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' ||
	       c == ':' || c == '_';
}

/* n = n * base + digit in 128 bits; 0, or -1 on overflow. */
static int mul_add(uint32_t n[4], uint32_t base, uint32_t digit)
{
	uint64_t carry = digit;

	for (int i = 0; i < 4; i++) {
		carry += (uint64_t)n[i] * base;
		n[i] = (uint32_t)carry;
		carry >>= 32;
	}
	return carry ? -1 : 0;
}

/* Digits of base at s into n (128 bits): the end of the digits, or NULL if
 * there are none (hexadecimal: a "0x" prefix counts) or the number overflows. */
static const char *read_number(const char *s, uint32_t base, uint32_t n[4])
{
	const char *p = s;
	int d;

	memset(n, 0, 4 * sizeof(n[0]));
	if (base == 16) {
		if (p[0] != '0' || p[1] != 'x')
			return NULL;
		p += 2;
	}
	for (; (d = hex_digit(*p)) >= 0 && (uint32_t)d < base; p++)
		if (mul_add(n, base, (uint32_t)d) < 0)
			return NULL;
	return p == s ? NULL : p;
}

/* Shared with WinDivertHelperParseIPv4Address(): see wd.h. */
int wd_parse_ipv4(const char *s, UINT32 *addr)
{
	uint32_t part[4];

	if (!s)
		return -EINVAL;
	*addr = 0;
	for (int i = 0; i < 4; i++) {
		s = read_number(s, 10, part);
		if (!s || part[0] > 0xFF || (i < 3 && *s++ != '.'))
			return -EINVAL;
		*addr |= part[0] << (8 * (3 - i));
	}
	return *s == '\0' ? 0 : -EINVAL;
}

/* The groups of an IPv6 address as they are read: those before "::" and after. */
struct groups {
	uint16_t left[8], right[8];
	unsigned int nleft, nright;
	int after_gap;           /* "::" seen */
	int v4;                  /* ends in an IPv4 address */
	uint32_t v4addr;
};

/* The eight groups into w[] (least significant word first); 0 or -EINVAL. */
static int join_groups(const struct groups *g, uint32_t w[4])
{
	uint16_t group[8];

	for (unsigned int p = 0; p < 8; p++)
		group[p] = g->left[p] | g->right[(p + g->nright) % 8];
	for (int i = 0; i < 4; i++)
		w[3 - i] = (uint32_t)group[2 * i] << 16 | group[2 * i + 1];
	if (!g->v4)
		return 0;
	if (w[3] || w[2] || w[0] || (w[1] != 0xFFFF && w[1] != 0))
		return -EINVAL; /* only ::ffff:a.b.c.d and ::a.b.c.d */
	w[0] = g->v4addr;
	return 0;
}

/* One group of up to 4 hex digits at *s, then ':' or the end; 0 or -1. */
static int read_group(const char **s, struct groups *g)
{
	uint32_t v = 0;
	int n, d;

	for (n = 0; n < 4 && (d = hex_digit(**s)) >= 0; n++, (*s)++)
		v = v << 4 | (uint32_t)d;
	if (n == 0 || (**s != ':' && **s != '\0'))
		return -1;
	if (g->after_gap)
		g->right[g->nright++] = (uint16_t)v;
	else
		g->left[g->nleft++] = (uint16_t)v;
	return 0;
}

/* Shared with WinDivertHelperParseIPv6Address(): see wd.h. */
int wd_parse_ipv6(const char *s, UINT32 *w)
{
	struct groups g = { .nleft = 0 };

	if (!s)
		return -EINVAL;
	if (*s == ':') {
		if (s[1] != ':')
			return -EINVAL;
		g.after_gap = 1;
		s += 2;
		if (*s == '\0')
			return join_groups(&g, w);
	}
	for (int k = 0; k < 8; k++) {
		if (*s == ':') {
			if (g.after_gap)
				return -EINVAL;
			g.after_gap = 1;
			if (*++s == '\0')
				break;
		}
		if (g.nleft < 6 && wd_parse_ipv4(s, &g.v4addr) == 0) {
			g.v4 = 1;
			g.nright += 2;
			break;
		}
		if (read_group(&s, &g) < 0)
			return -EINVAL;
		if (*s == '\0') {
			if (g.after_gap || k == 7)
				break;
			return -EINVAL;
		}
		s++; /* past ':'; a ninth group is not read, as WinDivert does not */
	}
	return join_groups(&g, w);
}

/* The value of macro name at the layer: 1, 0 if the layer lacks it, -1 if not a macro. */
static int macro_value(const char *name, WINDIVERT_LAYER layer, uint32_t *val)
{
	static const struct {
		const char *name;
		uint8_t layers;  /* 0: all */
		uint8_t val;
	} macros[] = {
		{ "TRUE", 0, 1 }, { "FALSE", 0, 0 }, { "TCP", 0, 6 }, { "UDP", 0, 17 },
		{ "ICMP", 0, 1 }, { "ICMPV6", 0, 58 },
		{ "NETWORK", 0, WINDIVERT_LAYER_NETWORK },
		{ "NETWORK_FORWARD", 0, WINDIVERT_LAYER_NETWORK_FORWARD },
		{ "FLOW", 0, WINDIVERT_LAYER_FLOW }, { "SOCKET", 0, WINDIVERT_LAYER_SOCKET },
		{ "REFLECT", 0, WINDIVERT_LAYER_REFLECT },
		{ "PACKET", 1 << WINDIVERT_LAYER_NETWORK | 1 << WINDIVERT_LAYER_NETWORK_FORWARD,
		  WINDIVERT_EVENT_NETWORK_PACKET },
		{ "ESTABLISHED", 1 << WINDIVERT_LAYER_FLOW, WINDIVERT_EVENT_FLOW_ESTABLISHED },
		{ "DELETED", 1 << WINDIVERT_LAYER_FLOW, WINDIVERT_EVENT_FLOW_DELETED },
		{ "BIND", 1 << WINDIVERT_LAYER_SOCKET, WINDIVERT_EVENT_SOCKET_BIND },
		{ "CONNECT", 1 << WINDIVERT_LAYER_SOCKET, WINDIVERT_EVENT_SOCKET_CONNECT },
		{ "LISTEN", 1 << WINDIVERT_LAYER_SOCKET, WINDIVERT_EVENT_SOCKET_LISTEN },
		{ "ACCEPT", 1 << WINDIVERT_LAYER_SOCKET, WINDIVERT_EVENT_SOCKET_ACCEPT },
		{ "OPEN", 1 << WINDIVERT_LAYER_REFLECT, WINDIVERT_EVENT_REFLECT_OPEN },
		{ "CLOSE", 1 << WINDIVERT_LAYER_SOCKET, WINDIVERT_EVENT_SOCKET_CLOSE },
		{ "CLOSE", 1 << WINDIVERT_LAYER_REFLECT, WINDIVERT_EVENT_REFLECT_CLOSE },
	};
	int known = -1;

	for (size_t i = 0; i < sizeof(macros) / sizeof(macros[0]); i++) {
		if (strcmp(macros[i].name, name) != 0)
			continue;
		known = 0;
		if (!macros[i].layers || ((unsigned int)layer < 8 && macros[i].layers >> layer & 1)) {
			*val = macros[i].val;
			return 1;
		}
	}
	return known;
}

static struct wd_token *emit(struct lexer *lx, uint8_t kind, unsigned int pos)
{
	struct wd_token *t = &lx->tok[lx->n++];

	memset(t, 0, sizeof(*t));
	t->kind = kind;
	t->pos = pos;
	return t;
}

/* A keyword, macro or field: 1 (a token was emitted), 0 (not a name), or an error. */
static int lex_name(struct lexer *lx, const char *word, unsigned int start)
{
	static const char *const keywords[] = { "and", "or", "not" };
	static const uint8_t kinds[] = { WD_TOK_AND, WD_TOK_OR, WD_TOK_NOT };
	int field = wd_field_lookup(word, strlen(word));
	uint32_t val = 0;
	int macro;

	for (int k = 0; k < 3; k++) {
		if (strcmp(word, keywords[k]) == 0) {
			emit(lx, kinds[k], start);
			return 1;
		}
	}
	if (field >= 0) {
		if (field <= WD_F_MAX && !wd_field_valid((unsigned int)field, lx->layer))
			return -WD_ERR_BAD_TOKEN_FOR_LAYER;
		emit(lx, WD_TOK_FIELD, start)->field = (uint8_t)field;
		return 1;
	}
	macro = macro_value(word, lx->layer, &val);
	if (macro < 0)
		return 0;
	if (macro == 0)
		emit(lx, WD_TOK_MACRO, start);
	else
		emit(lx, WD_TOK_NUMBER, start)->val[0] = val;
	return 1;
}

/* A number or an address: 1, or 0 if the word is neither. */
static int lex_value(struct lexer *lx, const char *word, unsigned int start)
{
	uint32_t n[4], addr;
	const char *end = read_number(word, 10, n);
	struct wd_token *t;

	if (end && (*end == '\0' || (end[0] == 'b' && end[1] == '\0'))) {
		memcpy(emit(lx, WD_TOK_NUMBER, start)->val, n, sizeof(n));
		if (*end == 'b')
			emit(lx, WD_TOK_BYTES, start + (unsigned int)(end - word));
		return 1;
	}
	end = read_number(word, 16, n);
	if (!end || *end != '\0') {
		if (wd_parse_ipv4(word, &addr) == 0) {
			n[0] = addr;
			n[1] = 0xFFFF; /* ::ffff:a.b.c.d */
			n[2] = n[3] = 0;
		} else if (wd_parse_ipv6(word, n) < 0) {
			return 0;
		}
	}
	t = emit(lx, WD_TOK_NUMBER, start);
	memcpy(t->val, n, sizeof(n));
	return 1;
}

/* The word starting at lx->i - 1; 0 or an error code. */
static enum wd_filter_error lex_word(struct lexer *lx, unsigned int start)
{
	char word[WORD_MAX];
	unsigned int j = 1;
	int r;

	word[0] = lx->s[start];
	for (; j < WORD_MAX && is_word(lx->s[lx->i]); j++)
		word[j] = lx->s[lx->i++];
	lx->pos = lx->i - j; /* WinDivert's position, even after a ':' is given back */
	if (j >= WORD_MAX)
		return WD_ERR_BAD_TOKEN;
	word[j] = '\0';
	if (word[j - 1] == ':' && (j == 1 || word[j - 2] != ':')) {
		word[j - 1] = '\0'; /* the ':' of "(a? b: c)" */
		lx->i--;
		lx->pos--;
	}
	if (word[0] == 'b' && word[1] == '\0')
		return WD_ERR_NONE; /* a lone 'b' is dropped, as WinDivert drops it */
	r = lex_name(lx, word, start);
	if (r == 0)
		r = lex_value(lx, word, start);
	if (r < 0)
		return (enum wd_filter_error)-r;
	return r ? WD_ERR_NONE : WD_ERR_BAD_TOKEN;
}

/* An operator at lx->i - 1: 1 (emitted), 0 (not an operator), or an error code. */
static int lex_operator(struct lexer *lx, char c, unsigned int start)
{
	static const char singles[] = "()[]-?";
	static const uint8_t kinds[] = { WD_TOK_OPEN, WD_TOK_CLOSE, WD_TOK_SQUARE_OPEN,
					 WD_TOK_SQUARE_CLOSE, WD_TOK_MINUS, WD_TOK_QUESTION };
	const char *single = c ? strchr(singles, c) : NULL;
	int eq = lx->s[lx->i] == '=';

	if (single) {
		emit(lx, kinds[single - singles], start);
		return 1;
	}
	switch (c) {
	case '!':
		emit(lx, eq ? WD_TOK_NEQ : WD_TOK_NOT, start);
		break;
	case '=':
		emit(lx, WD_TOK_EQ, start);
		break;
	case '<':
		emit(lx, eq ? WD_TOK_LEQ : WD_TOK_LT, start);
		break;
	case '>':
		emit(lx, eq ? WD_TOK_GEQ : WD_TOK_GT, start);
		break;
	case '&':
	case '|':
		lx->pos = lx->i; /* WinDivert points past the first '&' */
		if (lx->s[lx->i] != c)
			return -WD_ERR_BAD_TOKEN;
		emit(lx, c == '&' ? WD_TOK_AND : WD_TOK_OR, start);
		lx->i++;
		return 1;
	default:
		return 0;
	}
	if (eq)
		lx->i++;
	return 1;
}

/* One token (or the end) at lx->i: 1 at the end, 0 for more, or an error code < 0. */
static int lex_one(struct lexer *lx)
{
	unsigned int start;
	char c;
	int r;

	if (lx->n >= WD_TOKENS_MAX - 2) {
		lx->pos = lx->i;
		return -WD_ERR_TOO_LONG;
	}
	while (is_space(lx->s[lx->i]))
		lx->i++;
	start = lx->i;
	c = lx->s[lx->i++];
	if (c == '\0') {
		emit(lx, WD_TOK_END, start);
		return 1;
	}
	if (c == ':' && lx->s[lx->i] != ':') {
		emit(lx, WD_TOK_COLON, start);
		return 0;
	}
	r = lex_operator(lx, c, start);
	if (r != 0)
		return r < 0 ? r : 0;
	if (!is_word(c)) {
		lx->pos = lx->i; /* WinDivert points past the bad character */
		return -WD_ERR_BAD_TOKEN;
	}
	return -(int)lex_word(lx, start);
}

enum wd_filter_error wd_filter_lex(const char *text, WINDIVERT_LAYER layer,
				   struct wd_token *tok, unsigned int *pos)
{
	struct lexer lx = { .s = text, .layer = layer, .tok = tok };
	int r;

	while ((r = lex_one(&lx)) == 0)
		;
	if (r > 0)
		return WD_ERR_NONE;
	*pos = lx.pos;
	return (enum wd_filter_error)-r;
}
