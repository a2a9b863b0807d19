/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Strict parsers for config values and sysfs attributes. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <strings.h>

#include "strutil.h"

/* Length of @s without one trailing newline: sysfs attributes end in '\n'. */
static size_t len_without_newline(const char *s)
{
        size_t l = strlen(s);
        return (l > 0 && s[l - 1] == '\n') ? l - 1 : l;
}

int parse_uint(const char *s, size_t len, ParseUintFlags flags, uint64_t max, uint64_t *ret)
{
        unsigned base = (flags & PARSE_UINT_HEX) ? 16 : 10;
        bool overflow = false;
        uint64_t v = 0;

        if ((flags & PARSE_UINT_NEWLINE) && len > 0 && s[len - 1] == '\n')
                len--;
        if (len == 0)
                return -EINVAL;
        if ((flags & PARSE_UINT_NO_LEADING_ZERO) && len > 1 && s[0] == '0')
                return -EINVAL;
        for (size_t i = 0; i < len; i++) {
                char c = s[i];
                unsigned d;

                if (c >= '0' && c <= '9')
                        d = (unsigned)(c - '0');
                else if (base == 16 && c >= 'a' && c <= 'f')
                        d = (unsigned)(c - 'a' + 10);
                else if (base == 16 && c >= 'A' && c <= 'F')
                        d = (unsigned)(c - 'A' + 10);
                else
                        return -EINVAL;
                if (v > (UINT64_MAX - d) / base)
                        overflow = true;
                else
                        v = v * base + d;
        }
        if (overflow || v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}

int safe_atou64(const char *s, uint64_t *ret)
{
        return parse_uint(s, strlen(s), PARSE_UINT_NEWLINE, UINT64_MAX, ret);
}

int safe_atoux64(const char *s, uint64_t *ret)
{
        return parse_uint(s, strlen(s), PARSE_UINT_HEX | PARSE_UINT_NEWLINE, UINT64_MAX, ret);
}

int safe_atou(const char *s, unsigned *ret)
{
        uint64_t v;
        int r = parse_uint(s, strlen(s), PARSE_UINT_NEWLINE, UINT32_MAX, &v);

        if (r < 0)
                return r;
        *ret = (unsigned)v;
        return 0;
}

int parse_boolean(const char *s)
{
        static const char *const yes[] = {"1", "yes", "y", "true", "on"};
        static const char *const no[] = {"0", "no", "n", "false", "off"};

        for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
                if (strcasecmp(s, yes[i]) == 0)
                        return 1;
        for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
                if (strcasecmp(s, no[i]) == 0)
                        return 0;
        return -EINVAL;
}

int parse_size(const char *s, uint64_t *ret)
{
        static const struct {
                char c;
                unsigned shift;
        } suffixes[] = {{'K', 10}, {'M', 20}, {'G', 30}, {'T', 40}};
        char buf[32];
        size_t l = strlen(s);
        unsigned shift = 0;
        uint64_t v;
        int r;

        if (l == 0 || l >= sizeof(buf))
                return -EINVAL;
        memcpy(buf, s, l + 1);
        /* Accept "128M", "128MiB", "128m"; a bare number is bytes. */
        if (l > 3 && strcasecmp(buf + l - 2, "iB") == 0) {
                buf[l -= 2] = 0;
                /* "iB" only completes a K/M/G/T prefix: "12iB" is not 12 bytes. */
                if (!isalpha((unsigned char)buf[l - 1]))
                        return -EINVAL;
        }
        if (l > 1 && isalpha((unsigned char)buf[l - 1])) {
                char c = (char)toupper((unsigned char)buf[l - 1]);
                size_t i;

                for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
                        if (suffixes[i].c == c)
                                break;
                if (i == sizeof(suffixes) / sizeof(suffixes[0]))
                        return -EINVAL;
                shift = suffixes[i].shift;
                buf[--l] = 0;
        }
        r = safe_atou64(buf, &v);
        if (r < 0)
                return r;
        if (shift > 0 && v > (UINT64_MAX >> shift))
                return -ERANGE;
        *ret = v << shift;
        return 0;
}

int parse_sec(const char *s, uint64_t *ret_usec)
{
        size_t l = len_without_newline(s);
        const char *dot = memchr(s, '.', l);
        uint64_t whole, frac = 0;
        char buf[32];
        int r;

        if (!dot) {
                r = safe_atou64(s, &whole);
                if (r < 0)
                        return r;
        } else {
                size_t wl = (size_t)(dot - s), fl = l - wl - 1;

                if (wl == 0 || wl >= sizeof(buf) || fl == 0 || fl > 6)
                        return -EINVAL;
                /* Check both parts here: safe_atou64() would let a '\n' end either of them. */
                for (size_t i = 0; i < l; i++)
                        if (i != wl && (s[i] < '0' || s[i] > '9'))
                                return -EINVAL;
                memcpy(buf, s, wl);
                buf[wl] = 0;
                r = safe_atou64(buf, &whole);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < 6; i++)
                        frac = frac * 10 + (i < fl ? (uint64_t)(dot[1 + i] - '0') : 0);
        }
        if (whole > UINT64_MAX / 1000000 - 1)
                return -ERANGE;
        *ret_usec = whole * 1000000 + frac;
        return 0;
}

int string_table_lookup(const char *const *table, size_t n, const char *s)
{
        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (table[i] && strcmp(table[i], s) == 0)
                        return (int)i;
        return -EINVAL;
}

char *strstrip(char *s)
{
        size_t l;

        while (isspace((unsigned char)*s))
                s++;
        l = strlen(s);
        while (l > 0 && isspace((unsigned char)s[l - 1]))
                s[--l] = 0;
        return s;
}

const char *quote_untrusted(char buf[static QUOTE_BUF_SIZE], const char *s, size_t n)
{
        static const char hex[] = "0123456789abcdef";
        char *o = buf;

        for (size_t i = 0; i < n && i < QUOTE_MAX; i++) {
                unsigned char c = (unsigned char)s[i];

                if (c >= 0x20 && c < 0x7f && c != '\\') {
                        *o++ = (char)c;
                } else {
                        *o++ = '\\';
                        *o++ = 'x';
                        *o++ = hex[c >> 4];
                        *o++ = hex[c & 15];
                }
        }
        if (n > QUOTE_MAX)
                o = stpcpy(o, "...");
        *o = 0;
        return buf;
}
