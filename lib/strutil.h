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

/* Strips leading and trailing whitespace in place, returns the start. */
char *strstrip(char *s);
