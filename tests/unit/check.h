/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* check.h - a tiny test harness: each case prints PASS:/FAIL: for tests/run.sh. */
#ifndef IPR_CHECK_H
#define IPR_CHECK_H

#include <stdio.h>

static int check_failed;

/* Record a failed condition and go on with the case. */
#define CHECK(cond)                                                                    \
	do {                                                                           \
		if (!(cond)) {                                                         \
			fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, \
				#cond);                                                \
			check_failed = 1;                                              \
		}                                                                      \
	} while (0)

struct check_case {
	const char *name;
	void (*fn)(void);
};

#define CHECK_CASE(fn) { #fn, fn }

/* Run every case; exit status 1 if any failed. */
static inline int check_run(const char *suite, const struct check_case *cases, unsigned int n)
{
	int failures = 0;

	for (unsigned int i = 0; i < n; i++) {
		check_failed = 0;
		cases[i].fn();
		printf("%s: %s.%s\n", check_failed ? "FAIL" : "PASS", suite, cases[i].name);
		failures += check_failed;
	}
	fflush(stdout);
	return failures ? 1 : 0;
}

/* Define main() over a list of CHECK_CASE(fn) entries. */
#define CHECK_MAIN(suite, ...)                                                          \
	int main(void)                                                                 \
	{                                                                              \
		static const struct check_case cases[] = { __VA_ARGS__ };              \
		return check_run(suite, cases, sizeof(cases) / sizeof(cases[0]));      \
	}

#endif /* IPR_CHECK_H */
