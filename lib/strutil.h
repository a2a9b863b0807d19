/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Strict number and string parsers: whole string or -EINVAL, overflow is -ERANGE. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define streq(a, b) (strcmp((a), (b)) == 0)

static inline const char *startswith(const char *s, const char *prefix)
{
        size_t l = strlen(prefix);
        return strncmp(s, prefix, l) == 0 ? s + l : NULL;
}

typedef enum ParseUintFlags {
        /* Hexadecimal digits, without "0x". */
        PARSE_UINT_HEX = 1 << 0,
        /* One trailing '\n' allowed: sysfs ends its attributes with one. */
        PARSE_UINT_NEWLINE = 1 << 1,
        /* "0" but not "07": the number is a name, and "07" must not alias "7". */
        PARSE_UINT_NO_LEADING_ZERO = 1 << 2,
} ParseUintFlags;

/**
 * parse_uint() - the whole of s[0..len) as an unsigned number, digits only (no sign, no space).
 * @max: the largest value accepted
 *
 * An overflowing number is still scanned to its end: garbage later on is the clearer error, so
 * "99999999999999999999x" is -EINVAL, not -ERANGE. Works on (pointer, length) so that a caller
 * need not copy a token out of a longer string.
 *
 * Return: 0; -EINVAL for empty input or any other character; -ERANGE above @max. *@ret is
 * untouched on failure.
 */
int parse_uint(const char *s, size_t len, ParseUintFlags flags, uint64_t max, uint64_t *ret);

/* Decimal, no sign, no leading/trailing garbage (one trailing '\n' allowed). */
int safe_atou64(const char *s, uint64_t *ret);
int safe_atou(const char *s, unsigned *ret);

/* Hex without "0x" as sysfs prints it (block_size_bytes, phys_index); '\n' allowed. */
int safe_atoux64(const char *s, uint64_t *ret);

/* yes/no, true/false, on/off, 1/0. Returns 1, 0 or -EINVAL. */
int parse_boolean(const char *s);

/* Bytes with optional K/M/G/T suffix (powers of 1024), e.g. "128M". */
int parse_size(const char *s, uint64_t *ret);

/* Seconds as a non-negative decimal with optional fraction ("1.5"); "infinity" not accepted. */
int parse_sec(const char *s, uint64_t *ret_usec);

/* Index of @s in @table (NULL entries never match); -EINVAL when absent or @s is NULL. */
int string_table_lookup(const char *const *table, size_t n, const char *s);

/* Longest piece of untrusted input quoted in a message; longer input is cut and marked "...". */
#define QUOTE_MAX 64U
#define QUOTE_BUF_SIZE (4 * QUOTE_MAX + 4)

/*
 * Copies untrusted input for an error message: printable ASCII as is, everything else (and '\\')
 * as \xNN, cut after QUOTE_MAX bytes; so a garbage file or argument cannot put terminal escapes
 * into memhpctl's output or the journal. Returns @buf.
 */
const char *quote_untrusted(char buf[static QUOTE_BUF_SIZE], const char *s, size_t n);

/* Strips leading and trailing whitespace in place, returns the start. */
char *strstrip(char *s);
