/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Minimal assertion helpers for the unit tests: a failed check prints where and exits 1. */
#pragma once

#undef NDEBUG
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_TEST_SKIP 77

#define ASSERT_TRUE(expr)                                                                    \
        do {                                                                                 \
                if (!(expr)) {                                                               \
                        fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__, \
                                #expr);                                                      \
                        abort();                                                             \
                }                                                                            \
        } while (0)

#define ASSERT_EQ(a, b)                                                                   \
        do {                                                                              \
                intmax_t _a = (intmax_t)(a), _b = (intmax_t)(b);                          \
                if (_a != _b) {                                                           \
                        fprintf(stderr, "%s:%d: %s == %s failed: %jd != %jd\n", __FILE__, \
                                __LINE__, #a, #b, _a, _b);                                \
                        abort();                                                          \
                }                                                                         \
        } while (0)

#define ASSERT_OK(expr)                                                                      \
        do {                                                                                 \
                intmax_t _r = (intmax_t)(expr);                                              \
                if (_r < 0) {                                                                \
                        fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #expr, \
                                strerror((int)-_r));                                         \
                        abort();                                                             \
                }                                                                            \
        } while (0)

#define ASSERT_ERROR(expr, err) ASSERT_EQ((expr), -(err))

#define ASSERT_STREQ(a, b)                                                                      \
        do {                                                                                    \
                const char *_a = (a), *_b = (b);                                                \
                if (!_a || !_b || strcmp(_a, _b) != 0) {                                        \
                        fprintf(stderr, "%s:%d: %s == %s failed: \"%s\" != \"%s\"\n", __FILE__, \
                                __LINE__, #a, #b, _a ? _a : "(null)", _b ? _b : "(null)");      \
                        abort();                                                                \
                }                                                                               \
        } while (0)

#define ASSERT_CONTAINS(haystack, needle)                                                    \
        do {                                                                                 \
                const char *_h = (haystack), *_n = (needle);                                 \
                if (!_h || !strstr(_h, _n)) {                                                \
                        fprintf(stderr, "%s:%d: \"%s\" does not contain \"%s\"\n", __FILE__, \
                                __LINE__, _h ? _h : "(null)", _n);                           \
                        abort();                                                             \
                }                                                                            \
        } while (0)

/*
 * Tests register themselves: TEST(name) { ... } defines test_name() and, from a constructor, adds
 * it to the list that test-main.c runs in source order (file name, then line). A module's test
 * binary is its test-<module>*.c files plus test-main.c, so a new test is just a new TEST(); there
 * is no hand-kept list that could forget one. Constructors rather than an ELF section: ASan pads
 * instrumented globals, which would break walking a section of descriptors.
 */
typedef struct TestCase {
        const char *name;
        const char *file;
        int line;
        void (*func)(void);
        struct TestCase *next;
} TestCase;

void test_register(TestCase *t);

#define TEST(n)                                                          \
        static void test_##n(void);                                      \
        static TestCase test_case_##n = {                                \
                .name = #n,                                              \
                .file = __FILE__,                                        \
                .line = __LINE__,                                        \
                .func = test_##n,                                        \
        };                                                               \
        __attribute__((constructor)) static void test_register_##n(void) \
        {                                                                \
                test_register(&test_case_##n);                           \
        }                                                                \
        static void test_##n(void)
