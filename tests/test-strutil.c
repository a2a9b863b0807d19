/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for the strict parsers in lib/strutil.c: edges, overflow, sysfs newlines. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "macro.h"
#include "strutil.h"
#include "test-util.h"

#define SENTINEL UINT64_C(0x5a5a5a5a5a5a5a5a)

/* Each parser must leave *ret alone when it fails. */
#define ASSERT_U64(fn, s, expected)                      \
        do {                                             \
                uint64_t _v = SENTINEL;                  \
                ASSERT_OK(fn((s), &_v));                 \
                ASSERT_TRUE(_v == (uint64_t)(expected)); \
        } while (0)

#define ASSERT_U64_FAIL(fn, s, err)              \
        do {                                     \
                uint64_t _v = SENTINEL;          \
                ASSERT_ERROR(fn((s), &_v), err); \
                ASSERT_TRUE(_v == SENTINEL);     \
        } while (0)

TEST(safe_atou64)
{
        ASSERT_U64(safe_atou64, "0", 0);
        ASSERT_U64(safe_atou64, "42", 42);
        ASSERT_U64(safe_atou64, "007", 7);
        ASSERT_U64(safe_atou64, "18446744073709551615", UINT64_MAX);
        /* sysfs attributes end in one newline. */
        ASSERT_U64(safe_atou64, "12\n", 12);

        ASSERT_U64_FAIL(safe_atou64, "18446744073709551616", ERANGE);
        ASSERT_U64_FAIL(safe_atou64, "99999999999999999999", ERANGE);
        ASSERT_U64_FAIL(safe_atou64, "184467440737095516150", ERANGE);
        ASSERT_U64_FAIL(safe_atou64, "", EINVAL);
        ASSERT_U64_FAIL(safe_atou64, "\n", EINVAL);
        ASSERT_U64_FAIL(safe_atou64, "12\n\n", EINVAL);
        ASSERT_U64_FAIL(safe_atou64, "1\n2", EINVAL);
        ASSERT_U64_FAIL(safe_atou64, "12 ", EINVAL);
        ASSERT_U64_FAIL(safe_atou64, " 12", EINVAL);
        ASSERT_U64_FAIL(safe_atou64, "+1", EINVAL);
        ASSERT_U64_FAIL(safe_atou64, "-1", EINVAL);
        ASSERT_U64_FAIL(safe_atou64, "0x10", EINVAL);
        ASSERT_U64_FAIL(safe_atou64, "1a", EINVAL);
        ASSERT_U64_FAIL(safe_atou64, "a", EINVAL);
        ASSERT_U64_FAIL(safe_atou64, "1.0", EINVAL);
        ASSERT_U64_FAIL(safe_atou64, "1\r\n", EINVAL);
}

TEST(safe_atou)
{
        unsigned v = 77;

        ASSERT_OK(safe_atou("0", &v));
        ASSERT_EQ(v, 0);
        ASSERT_OK(safe_atou("4294967295", &v));
        ASSERT_EQ(v, UINT32_MAX);
        ASSERT_OK(safe_atou("3\n", &v));
        ASSERT_EQ(v, 3);

        v = 77;
        ASSERT_ERROR(safe_atou("4294967296", &v), ERANGE);
        ASSERT_ERROR(safe_atou("18446744073709551616", &v), ERANGE);
        ASSERT_ERROR(safe_atou("-1", &v), EINVAL);
        ASSERT_ERROR(safe_atou("", &v), EINVAL);
        ASSERT_EQ(v, 77);
}

TEST(safe_atoux64)
{
        /* block_size_bytes and phys_index: hex digits, no "0x", one '\n'. */
        ASSERT_U64(safe_atoux64, "0", 0);
        ASSERT_U64(safe_atoux64, "8000000", 0x8000000);
        ASSERT_U64(safe_atoux64, "8000000\n", 0x8000000);
        ASSERT_U64(safe_atoux64, "00000020\n", 0x20);
        ASSERT_U64(safe_atoux64, "deadBEEF", 0xdeadbeef);
        ASSERT_U64(safe_atoux64, "ffffffffffffffff", UINT64_MAX);
        ASSERT_U64(safe_atoux64, "FFFFFFFFFFFFFFFF", UINT64_MAX);
        /* Decimal-looking text is still hex here. */
        ASSERT_U64(safe_atoux64, "10", 16);

        ASSERT_U64_FAIL(safe_atoux64, "10000000000000000", ERANGE);
        ASSERT_U64_FAIL(safe_atoux64, "fffffffffffffffff", ERANGE);
        ASSERT_U64_FAIL(safe_atoux64, "0x10", EINVAL);
        ASSERT_U64_FAIL(safe_atoux64, "0X10", EINVAL);
        ASSERT_U64_FAIL(safe_atoux64, "g", EINVAL);
        ASSERT_U64_FAIL(safe_atoux64, "", EINVAL);
        ASSERT_U64_FAIL(safe_atoux64, "\n", EINVAL);
        ASSERT_U64_FAIL(safe_atoux64, "10\n\n", EINVAL);
        ASSERT_U64_FAIL(safe_atoux64, " 10", EINVAL);
        ASSERT_U64_FAIL(safe_atoux64, "-1", EINVAL);
}

TEST(parse_boolean)
{
        static const char *const yes[] = {"1", "yes", "y", "true", "on", "YES", "True", "ON", "Y"};
        static const char *const no[] = {"0", "no", "n", "false", "off", "NO", "False", "Off", "N"};
        static const char *const bad[] = {"",       "2",  "yes ", " yes",  "yess", "nope", "of",
                                          "enable", "-1", "10",   "yes\n", "t",    "f"};

        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                ASSERT_EQ(parse_boolean(yes[i]), 1);
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                ASSERT_EQ(parse_boolean(no[i]), 0);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ASSERT_ERROR(parse_boolean(bad[i]), EINVAL);
}

TEST(parse_size)
{
        ASSERT_U64(parse_size, "0", 0);
        ASSERT_U64(parse_size, "1", 1);
        ASSERT_U64(parse_size, "4096", 4096);
        ASSERT_U64(parse_size, "4K", 4096);
        ASSERT_U64(parse_size, "4k", 4096);
        ASSERT_U64(parse_size, "128M", 128ULL << 20);
        ASSERT_U64(parse_size, "128m", 128ULL << 20);
        ASSERT_U64(parse_size, "1G", 1ULL << 30);
        ASSERT_U64(parse_size, "2T", 2ULL << 40);
        ASSERT_U64(parse_size, "1KiB", 1024);
        ASSERT_U64(parse_size, "128MiB", 128ULL << 20);
        ASSERT_U64(parse_size, "1gib", 1ULL << 30);
        ASSERT_U64(parse_size, "0K", 0);
        ASSERT_U64(parse_size, "16777215T", ((1ULL << 24) - 1) << 40);
        ASSERT_U64(parse_size, "18446744073709551615", UINT64_MAX);

        ASSERT_U64_FAIL(parse_size, "16777216T", ERANGE);
        ASSERT_U64_FAIL(parse_size, "17179869184G", ERANGE);
        ASSERT_U64_FAIL(parse_size, "18446744073709551616", ERANGE);
        ASSERT_U64_FAIL(parse_size, "", EINVAL);
        ASSERT_U64_FAIL(parse_size, "K", EINVAL);
        ASSERT_U64_FAIL(parse_size, "KiB", EINVAL);
        ASSERT_U64_FAIL(parse_size, "iB", EINVAL);
        /* "iB" completes a prefix; it is not a unit of its own. */
        ASSERT_U64_FAIL(parse_size, "12iB", EINVAL);
        ASSERT_U64_FAIL(parse_size, "1B", EINVAL);
        ASSERT_U64_FAIL(parse_size, "1KB", EINVAL);
        ASSERT_U64_FAIL(parse_size, "1P", EINVAL);
        ASSERT_U64_FAIL(parse_size, "1.5G", EINVAL);
        ASSERT_U64_FAIL(parse_size, "-1K", EINVAL);
        ASSERT_U64_FAIL(parse_size, "+1K", EINVAL);
        ASSERT_U64_FAIL(parse_size, " 1K", EINVAL);
        ASSERT_U64_FAIL(parse_size, "1 K", EINVAL);
        ASSERT_U64_FAIL(parse_size, "1K ", EINVAL);
        ASSERT_U64_FAIL(parse_size, "1KK", EINVAL);
        ASSERT_U64_FAIL(parse_size, "0x10", EINVAL);
        ASSERT_U64_FAIL(parse_size, "1111111111111111111111111111111111", EINVAL);
}

TEST(parse_sec)
{
        ASSERT_U64(parse_sec, "0", 0);
        ASSERT_U64(parse_sec, "30", 30000000);
        ASSERT_U64(parse_sec, "1.5", 1500000);
        ASSERT_U64(parse_sec, "0.5", 500000);
        ASSERT_U64(parse_sec, "0.000001", 1);
        ASSERT_U64(parse_sec, "0.05", 50000);
        ASSERT_U64(parse_sec, "1.000000", 1000000);
        ASSERT_U64(parse_sec, "2.123456", 2123456);
        ASSERT_U64(parse_sec, "007.25", 7250000);
        /* One trailing newline, wherever the dot is: "1.5\n" is not 1.05 s. */
        ASSERT_U64(parse_sec, "30\n", 30000000);
        ASSERT_U64(parse_sec, "1.5\n", 1500000);
        ASSERT_U64(parse_sec, "1.123456\n", 1123456);
        ASSERT_U64(parse_sec, "18446744073708", 18446744073708000000ULL);
        ASSERT_U64(parse_sec, "18446744073708.999999", 18446744073708999999ULL);

        ASSERT_U64_FAIL(parse_sec, "18446744073709", ERANGE);
        ASSERT_U64_FAIL(parse_sec, "18446744073709.5", ERANGE);
        ASSERT_U64_FAIL(parse_sec, "99999999999999999999", ERANGE);
        ASSERT_U64_FAIL(parse_sec, "", EINVAL);
        ASSERT_U64_FAIL(parse_sec, "\n", EINVAL);
        ASSERT_U64_FAIL(parse_sec, ".5", EINVAL);
        ASSERT_U64_FAIL(parse_sec, "1.", EINVAL);
        ASSERT_U64_FAIL(parse_sec, "1.\n", EINVAL);
        ASSERT_U64_FAIL(parse_sec, ".", EINVAL);
        ASSERT_U64_FAIL(parse_sec, "1.0000001", EINVAL);
        ASSERT_U64_FAIL(parse_sec, "1.2.3", EINVAL);
        ASSERT_U64_FAIL(parse_sec, "1.-5", EINVAL);
        ASSERT_U64_FAIL(parse_sec, "1.+5", EINVAL);
        ASSERT_U64_FAIL(parse_sec, "1. 5", EINVAL);
        ASSERT_U64_FAIL(parse_sec, "1 .5", EINVAL);
        ASSERT_U64_FAIL(parse_sec, "1\n.5", EINVAL);
        ASSERT_U64_FAIL(parse_sec, "1.5\n\n", EINVAL);
        ASSERT_U64_FAIL(parse_sec, "1.5x", EINVAL);
        ASSERT_U64_FAIL(parse_sec, "-1", EINVAL);
        ASSERT_U64_FAIL(parse_sec, "+1", EINVAL);
        ASSERT_U64_FAIL(parse_sec, "1e3", EINVAL);
        ASSERT_U64_FAIL(parse_sec, "5s", EINVAL);
        ASSERT_U64_FAIL(parse_sec, "infinity", EINVAL);
        ASSERT_U64_FAIL(parse_sec, "1111111111111111111111111111111111.5", EINVAL);
}

TEST(strstrip)
{
        char a[] = "  a b \t\n", b[] = "", c[] = " \t\r\n ", d[] = "x";

        ASSERT_STREQ(strstrip(a), "a b");
        ASSERT_STREQ(strstrip(b), "");
        ASSERT_STREQ(strstrip(c), "");
        ASSERT_STREQ(strstrip(d), "x");
}

TEST(streq_startswith)
{
        ASSERT_TRUE(streq("abc", "abc"));
        ASSERT_TRUE(!streq("abc", "abd"));
        ASSERT_TRUE(!streq("abc", "ab"));
        ASSERT_STREQ(startswith("memory32", "memory"), "32");
        ASSERT_STREQ(startswith("memory", "memory"), "");
        ASSERT_STREQ(startswith("abc", ""), "abc");
        ASSERT_TRUE(!startswith("mem", "memory"));
        ASSERT_TRUE(!startswith("node1", "memory"));
}

#define ASSERT_PARSE(s, flags, max, expected)                               \
        do {                                                                \
                uint64_t _v = SENTINEL;                                     \
                ASSERT_OK(parse_uint((s), strlen(s), (flags), (max), &_v)); \
                ASSERT_TRUE(_v == (uint64_t)(expected));                    \
        } while (0)

#define ASSERT_PARSE_FAIL(s, flags, max, err)                                       \
        do {                                                                        \
                uint64_t _v = SENTINEL;                                             \
                ASSERT_ERROR(parse_uint((s), strlen(s), (flags), (max), &_v), err); \
                ASSERT_TRUE(_v == SENTINEL);                                        \
        } while (0)

TEST(parse_uint)
{
        uint64_t v = SENTINEL;

        /* Only the given length counts: the rest of a longer string is not looked at. */
        ASSERT_OK(parse_uint("32-47", 2, 0, UINT64_MAX, &v));
        ASSERT_EQ(v, 32);
        ASSERT_ERROR(parse_uint("32-47", 3, 0, UINT64_MAX, &v), EINVAL);
        ASSERT_ERROR(parse_uint("", 0, 0, UINT64_MAX, &v), EINVAL);

        /* @max is inclusive. */
        ASSERT_PARSE("4294967294", 0, UINT32_MAX - 1, UINT32_MAX - 1);
        ASSERT_PARSE_FAIL("4294967295", 0, UINT32_MAX - 1, ERANGE);
        ASSERT_PARSE("0", 0, 0, 0);
        ASSERT_PARSE_FAIL("1", 0, 0, ERANGE);

        /* An overflow scans on: garbage after it is the better error. */
        ASSERT_PARSE_FAIL("99999999999999999999", 0, UINT64_MAX, ERANGE);
        ASSERT_PARSE_FAIL("99999999999999999999x", 0, UINT64_MAX, EINVAL);
        ASSERT_PARSE_FAIL("99999999999999999999 ", 0, UINT64_MAX, EINVAL);

        /* No sign, no space, no prefix, whatever the flags. */
        ASSERT_PARSE_FAIL("+1", 0, UINT64_MAX, EINVAL);
        ASSERT_PARSE_FAIL("-1", PARSE_UINT_NEWLINE, UINT64_MAX, EINVAL);
        ASSERT_PARSE_FAIL(" 1", 0, UINT64_MAX, EINVAL);
        ASSERT_PARSE_FAIL("0x10", PARSE_UINT_HEX, UINT64_MAX, EINVAL);

        /* Hexadecimal, either case. */
        ASSERT_PARSE("fF", PARSE_UINT_HEX, UINT64_MAX, 255);
        ASSERT_PARSE("ffffffffffffffff", PARSE_UINT_HEX, UINT64_MAX, UINT64_MAX);
        ASSERT_PARSE_FAIL("10000000000000000", PARSE_UINT_HEX, UINT64_MAX, ERANGE);
        ASSERT_PARSE_FAIL("10000000000000000g", PARSE_UINT_HEX, UINT64_MAX, EINVAL);
        ASSERT_PARSE_FAIL("ff", 0, UINT64_MAX, EINVAL);

        /* One trailing newline, only when asked for. */
        ASSERT_PARSE("7\n", PARSE_UINT_NEWLINE, UINT64_MAX, 7);
        ASSERT_PARSE_FAIL("7\n", 0, UINT64_MAX, EINVAL);
        ASSERT_PARSE_FAIL("\n", PARSE_UINT_NEWLINE, UINT64_MAX, EINVAL);
        ASSERT_PARSE_FAIL("7\n\n", PARSE_UINT_NEWLINE, UINT64_MAX, EINVAL);

        /* Leading zeros, when a number is a name. */
        ASSERT_PARSE("0", PARSE_UINT_NO_LEADING_ZERO, UINT64_MAX, 0);
        ASSERT_PARSE("10", PARSE_UINT_NO_LEADING_ZERO, UINT64_MAX, 10);
        ASSERT_PARSE_FAIL("07", PARSE_UINT_NO_LEADING_ZERO, UINT64_MAX, EINVAL);
        ASSERT_PARSE_FAIL("00", PARSE_UINT_NO_LEADING_ZERO, UINT64_MAX, EINVAL);
        ASSERT_PARSE("0\n", PARSE_UINT_NO_LEADING_ZERO | PARSE_UINT_NEWLINE, UINT64_MAX, 0);
        ASSERT_PARSE("007", 0, UINT64_MAX, 7);
}

TEST(quote_untrusted)
{
        char q[QUOTE_BUF_SIZE], in[QUOTE_MAX + 1], worst[QUOTE_MAX + 1];

        ASSERT_STREQ(quote_untrusted(q, "", 0), "");
        ASSERT_STREQ(quote_untrusted(q, "memory32", 8), "memory32");
        /* Only @n bytes, even across a NUL. */
        ASSERT_STREQ(quote_untrusted(q, "ab\0cd", 5), "ab\\x00cd");
        ASSERT_STREQ(quote_untrusted(q, "1\033[2J\n", 6), "1\\x1b[2J\\x0a");
        ASSERT_STREQ(quote_untrusted(q, "a\\b\x7f\xff", 5), "a\\x5cb\\x7f\\xff");

        /* QUOTE_MAX bytes are quoted whole; one more is cut and marked. */
        memset(in, 'x', sizeof(in));
        ASSERT_EQ(strlen(quote_untrusted(q, in, QUOTE_MAX)), QUOTE_MAX);
        quote_untrusted(q, in, QUOTE_MAX + 1);
        ASSERT_EQ(strlen(q), QUOTE_MAX + 3);
        ASSERT_STREQ(q + QUOTE_MAX, "...");

        /* The worst case fills the buffer exactly. */
        memset(worst, 0x1b, sizeof(worst));
        ASSERT_EQ(strlen(quote_untrusted(q, worst, sizeof(worst))), QUOTE_BUF_SIZE - 1);
}

TEST(string_table_lookup)
{
        static const char *const table[] = {"zero", NULL, "two"};

        ASSERT_EQ(string_table_lookup(table, 3, "zero"), 0);
        ASSERT_EQ(string_table_lookup(table, 3, "two"), 2);
        /* A NULL entry never matches, and the size bounds the search. */
        ASSERT_ERROR(string_table_lookup(table, 3, ""), EINVAL);
        ASSERT_ERROR(string_table_lookup(table, 2, "two"), EINVAL);
        ASSERT_ERROR(string_table_lookup(table, 3, "Zero"), EINVAL);
        ASSERT_ERROR(string_table_lookup(table, 3, NULL), EINVAL);
}
