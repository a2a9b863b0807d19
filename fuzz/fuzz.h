/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shared by the fuzz targets. Each fuzz-<target>.c defines LLVMFuzzerTestOneInput(); it is linked
 * either with libFuzzer (-Dfuzz=true, clang) or with replay-main.c, which feeds it the files
 * given on the command line (the committed corpus, as the 'fuzz-replay' test suite).
 *
 * A target returns 0 for every input; a broken invariant aborts, so that libFuzzer keeps the
 * input as a crash reproducer and the replay test fails.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* For the harness's own hot loops: no coverage feedback from code that is not under test. */
#if defined(__clang__)
#define FUZZ_NO_COVERAGE __attribute__((no_sanitize("coverage"), noinline))
#else
#define FUZZ_NO_COVERAGE
#endif

#define FUZZ_CHECK(cond)                                      \
        do {                                                  \
                if (!(cond))                                  \
                        fuzz_fail(__FILE__, __LINE__, #cond); \
        } while (0)

#define FUZZ_CHECK_MSG(cond, ...)                             \
        do {                                                  \
                if (!(cond)) {                                \
                        fprintf(stderr, __VA_ARGS__);         \
                        fputc('\n', stderr);                  \
                        fuzz_fail(__FILE__, __LINE__, #cond); \
                }                                             \
        } while (0)

__attribute__((noreturn)) static inline void fuzz_fail(const char *file, int line, const char *what)
{
        fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, what);
        abort();
}

/* The input as a C string: a copy up to the first NUL (always terminated). NULL on ENOMEM. */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
        char *s = malloc(size + 1);

        if (!s)
                return NULL;
        memcpy(s, data, size);
        s[size] = 0;
        return s;
}

/* True when @s holds only printable ASCII, plus '\n' where @newline_ok. */
FUZZ_NO_COVERAGE static inline int fuzz_printable(const char *s, int newline_ok)
{
        for (; *s; s++) {
                unsigned char c = (unsigned char)*s;

                if (c == '\n' && newline_ok)
                        continue;
                if (c < 0x20 || c >= 0x7f)
                        return 0;
        }
        return 1;
}

/* True when @s has no ASCII control character (bytes >= 0x80, as in UTF-8 text, are allowed). */
FUZZ_NO_COVERAGE static inline int fuzz_no_controls(const char *s)
{
        for (; *s; s++) {
                unsigned char c = (unsigned char)*s;

                if (c < 0x20 || c == 0x7f)
                        return 0;
        }
        return 1;
}
