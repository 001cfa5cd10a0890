/*
 * check.h: the unit tests' whole framework (jansson's util.h idea). check()
 * records a failure with file and line and goes on; check_fatal() stops the
 * test; main returns check_report(). Each tests/unit/test_<module>.c is one
 * executable registered with CTest as unit.<module>.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef PS_TEST_CHECK_H
#define PS_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failures = 0;
static int check_count = 0;

#define check(cond, ...)                                                       \
    do {                                                                       \
        check_count++;                                                         \
        if (!(cond)) {                                                         \
            check_failures++;                                                  \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__,   \
                    #cond);                                                    \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
        }                                                                      \
    } while (0)

#define check_fatal(cond, ...)                                                 \
    do {                                                                       \
        int check_ok_ = (cond) ? 1 : 0;                                        \
        check_count++;                                                         \
        if (!check_ok_) {                                                      \
            fprintf(stderr, "%s:%d: fatal check failed: %s: ", __FILE__,       \
                    __LINE__, #cond);                                          \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
            exit(1);                                                           \
        }                                                                      \
    } while (0)

#define check_str(a, b)                                                        \
    do {                                                                       \
        const char *check_a_ = (a), *check_b_ = (b);                           \
        check(check_a_ &&check_b_ &&strcmp(check_a_, check_b_) == 0,           \
              "\"%s\" != \"%s\"", check_a_ ? check_a_ : "(null)",              \
              check_b_ ? check_b_ : "(null)");                                 \
    } while (0)

static inline int check_report(void)
{
    if (check_failures)
        fprintf(stderr, "%d of %d checks failed\n", check_failures,
                check_count);
    else
        printf("%d checks passed\n", check_count);
    return check_failures ? 1 : 0;
}

/* A fresh temporary directory for a test (removed by the caller with
 * check_rmtree). */
static inline char *check_tmpdir(const char *tag)
{
    static char path[256];
    const char *base = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/pansift-%s-XXXXXX", base ? base : "/tmp",
             tag);
    extern char *mkdtemp(char *);
    return mkdtemp(path);
}

static inline void check_rmtree(const char *path)
{
    char cmd[600];
    if (!path || !*path || strcmp(path, "/") == 0)
        return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0)
        fprintf(stderr, "warning: could not remove %s\n", path);
}

#endif /* PS_TEST_CHECK_H */
