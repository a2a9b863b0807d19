/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The intent record parser trusts nothing: a wrong checksum, truncation, garbage, each field out
 * of range (edited and resealed, so the parser itself must refuse it), too many blocks.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "intent-test.h"
#include "intent.h"
#include "macro.h"
#include "strutil.h"
#include "test-util.h"
#include "txn.h"

/* Replaces the first occurrence of @from in @text by @to. */
static char *edit(const char *text, const char *from, const char *to)
{
        const char *p = strstr(text, from);
        size_t lt = strlen(text), lf = strlen(from), lto = strlen(to);
        char *out;

        ASSERT_TRUE(p);
        out = malloc(lt - lf + lto + 1);
        ASSERT_TRUE(out);
        memcpy(out, text, (size_t)(p - text));
        memcpy(out + (p - text), to, lto);
        strcpy(out + (p - text) + lto, p + lf);
        return out;
}

static int parse_resealed(const char *text)
{
        _cleanup_(txn_freep) Txn *t = NULL;
        _cleanup_free_ char *s = reseal(text);
        int r;

        r = intent_parse(s, &t);
        ASSERT_TRUE((r == 0) == (t != NULL));
        return r;
}

static int parse_edited(const char *text, const char *from, const char *to)
{
        _cleanup_free_ char *e = edit(text, from, to);
        return parse_resealed(e);
}

TEST(checksum)
{
        _cleanup_(txn_freep) Txn *t = sample(), *u = NULL;
        _cleanup_free_ char *text = NULL;
        char *p;

        ASSERT_OK(intent_format(t, &text));
        ASSERT_OK(intent_parse(text, &u));
        u = txn_free(u);

        /* A structurally valid change without a new checksum. */
        p = strstr(text, "changed=1");
        ASSERT_TRUE(p);
        p[8] = '0';
        ASSERT_ERROR(intent_parse(text, &u), EBADMSG);
        ASSERT_TRUE(u == NULL);
        /* ...which parses once resealed, so the checksum was the only problem. */
        ASSERT_OK(parse_resealed(text));
        p[8] = '1';

        /* A wrong checksum digit; upper-case hex. */
        p = strstr(text, "crc32 ") + 6;
        for (int i = 0; i < 8; i++) {
                char saved = p[i];

                p[i] = p[i] == '0' ? '1' : '0';
                ASSERT_ERROR(intent_parse(text, &u), EBADMSG);
                p[i] = saved;
        }
        for (int i = 0; i < 8; i++)
                if (p[i] >= 'a' && p[i] <= 'f') {
                        p[i] = (char)(p[i] - 'a' + 'A');
                        ASSERT_ERROR(intent_parse(text, &u), EBADMSG);
                        p[i] = (char)(p[i] - 'A' + 'a');
                }
        ASSERT_OK(intent_parse(text, &u));
}

TEST(truncated)
{
        _cleanup_(txn_freep) Txn *t = sample(), *u = NULL;
        _cleanup_free_ char *text = NULL;
        size_t len;

        ASSERT_OK(intent_format(t, &text));
        len = strlen(text);
        for (size_t l = 0; l < len; l++) {
                _cleanup_free_ char *cut = strndup(text, l);

                ASSERT_TRUE(cut);
                ASSERT_ERROR(intent_parse(cut, &u), EBADMSG);
                ASSERT_TRUE(u == NULL);
        }
        /* Trailing bytes after the checksum line. */
        _cleanup_free_ char *more = malloc(len + 2);
        ASSERT_TRUE(more);
        memcpy(more, text, len);
        strcpy(more + len, "\n");
        ASSERT_ERROR(intent_parse(more, &u), EBADMSG);
        /* A block line dropped, checksum recomputed: the count no longer matches. */
        ASSERT_EQ(parse_edited(text,
                               "block 0 online Normal action=online_kernel changed=1 restored=1 "
                               "error=-5 state=online zone=Normal\n",
                               ""),
                  -EBADMSG);
        ASSERT_OK(parse_edited(text, "", ""));
}

/* Each field, edited to something invalid and resealed: the parser itself must refuse it. */
TEST(bad_fields)
{
        static const struct {
                const char *from, *to;
        } cases[] = {
                {"memhpd-intent 1", "memhpd-intent 2"},
                {"memhpd-intent 1", "memhpd-intent  1"},
                {"memhpd-intent 1", "memhpd-intent 1 "},
                {"memhpd-intent 1", "memhpd-intent 01"},
                {"id 18446744073709551615", "id 18446744073709551616"},
                {"id 18446744073709551615", "id 99999999999999999999999"},
                {"id 18446744073709551615", "id -1"},
                {"id 18446744073709551615", "id +1"},
                {"id 18446744073709551615", "id 0x10"},
                {"id 18446744073709551615", "id 007"},
                {"id 18446744073709551615", "id"},
                {"id 18446744073709551615", "ID 1"},
                {"kind offline", "kind Offline"},
                {"kind offline", "kind offlinex"},
                {"phase rollback", "phase back"},
                {"cursor 2", "cursor 5"},
                {"cursor 2", "cursor -1"},
                {"failed 3 -16", "failed 4 -16"},
                {"failed 3 -16", "failed -2 -16"},
                {"failed 3 -16", "failed 3 16"},
                {"failed 3 -16", "failed 3 -0"},
                {"failed 3 -16", "failed 3 -4096"},
                {"failed 3 -16", "failed 3"},
                {"failed 3 -16", "failed 3 -16 0"},
                {"failed 3 -16", "failed 99999999999999999999 -16"},
                {"cancelled 1", "cancelled 2"},
                {"cancelled 1", "cancelled yes"},
                {"blocks 4", "blocks 5"},
                {"blocks 4", "blocks 3"},
                {"blocks 4", "blocks 1000"},
                {"blocks 4", "blocks 65537"},
                {"blocks 4", "blocks 18446744073709551615"},
                {"block 32 ", "block 4294967296 "},
                {"block 32 ", "block 33 "}, /* duplicate id */
                {"block 32 online", "block 32 Online"},
                {"block 32 online Movable", "block 32 online movable"},
                {"block 32 online Movable", "block 32 online "},
                {"block 32 online Movable", "block 32 online  Movable"},
                {"Movable action=offline", "Movable action=offline_movable"},
                {"Movable action=offline", "Movable actions=offline"},
                {"Movable action=offline", "Movable action offline"},
                {"changed=1 restored=0", "changed=2 restored=0"},
                {"changed=1 restored=0", "restored=0 changed=1"},
                {"restored=0 error=0 state=offline", "restored=0 error=1 state=offline"},
                {"restored=0 error=0 state=offline", "restored=0 error= state=offline"},
                {"state=offline zone=-", "state=gone zone=-"},
                {"state=offline zone=-", "state=offline zone="},
                {"state=offline zone=-", "state=offline zone=- "},
                {"state=offline zone=-", "state=offline zone=-\r"},
                {"state=offline zone=-", "state=offline zone=- extra=1"},
                {"state=offline zone=-\n", "state=offline zone=-\n\n"},
                {"state=offline zone=-\n", "state=offline zone=-\nnoise\n"},
                {"\nblock 0 ", "\nblock 00 "},
        };
        _cleanup_(txn_freep) Txn *t = sample();
        _cleanup_free_ char *text = NULL;

        ASSERT_OK(intent_format(t, &text));
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                int r = parse_edited(text, cases[i].from, cases[i].to);

                if (r != -EBADMSG)
                        fprintf(stderr, "case %zu: '%s' -> '%s' gave %d\n", i, cases[i].from,
                                cases[i].to, r);
                ASSERT_EQ(r, -EBADMSG);
        }
        /* Positive controls: the same machinery accepts valid edits. */
        ASSERT_OK(parse_edited(text, "block 32 ", "block 31 "));
        ASSERT_OK(parse_edited(text, "cursor 2", "cursor 4"));
        ASSERT_OK(parse_edited(text, "failed 3 -16", "failed -1 -4095"));
        ASSERT_OK(parse_edited(text, "kind offline", "kind recover"));
}

TEST(garbage)
{
        static const char *const texts[] = {
                "",
                "\n",
                "memhpd-intent 1",
                "memhpd-intent 1\n",
                "crc32 00000000\n",
                "memhpd-intent 1\ncrc32 00000000\n",
                "\xff\xfe\x00",
                "memhpd-intent 1\nid 1\nkind online\nphase forward\ncursor 0\nfailed -1 0\n"
                "cancelled 0\nblocks 0\ncrc32 zzzzzzzz\n",
                "memhpd-intent 1\nid 1\nkind online\nphase forward\ncursor 0\nfailed -1 0\n"
                "cancelled 0\nblocks 0\ncrc32 0\n",
        };
        _cleanup_(txn_freep) Txn *u = NULL;
        uint64_t x = 0x9e3779b97f4a7c15;
        char buf[512];

        for (size_t i = 0; i < ELEMENTSOF(texts); i++)
                ASSERT_ERROR(intent_parse(texts[i], &u), EBADMSG);
        ASSERT_ERROR(intent_parse(NULL, &u), EINVAL);
        ASSERT_ERROR(intent_parse("x", NULL), EINVAL);

        /* A line longer than any we write. */
        memset(buf, 'a', sizeof(buf) - 2);
        buf[sizeof(buf) - 2] = '\n';
        buf[sizeof(buf) - 1] = 0;
        ASSERT_ERROR(intent_parse(buf, &u), EBADMSG);

        /* Random bytes, and random bytes after a valid header (xorshift, fixed seed). */
        for (int round = 0; round < 20000; round++) {
                size_t len, off = 0;

                if (round % 2) {
                        static const char head[] = "memhpd-intent 1\nid 5\nkind online\n";
                        memcpy(buf, head, sizeof(head) - 1);
                        off = sizeof(head) - 1;
                }
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                len = off + x % (sizeof(buf) - off);
                for (size_t i = off; i < len; i++) {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        /* Mostly printable with many newlines and spaces. */
                        buf[i] = (x & 7) == 0 ? '\n' : (x & 7) == 1 ? ' ' : (char)(x >> 8);
                }
                buf[len] = 0;
                ASSERT_ERROR(intent_parse(buf, &u), EBADMSG);
                ASSERT_TRUE(u == NULL);
        }
}

static char *many_blocks_text(size_t n, size_t declared)
{
        size_t size = 256 + n * 128, len = 0;
        char *s = malloc(size), *sealed;

        ASSERT_TRUE(s);
        len += (size_t)snprintf(s + len, size - len,
                                "memhpd-intent 1\nid 3\nkind online\nphase forward\ncursor 0\n"
                                "failed -1 0\ncancelled 0\nblocks %zu\n",
                                declared);
        for (size_t i = 0; i < n; i++)
                len += (size_t)snprintf(s + len, size - len,
                                        "block %zu offline - action=online_movable changed=0 "
                                        "restored=0 error=0 state=offline zone=-\n",
                                        i);
        ASSERT_TRUE(len < size);
        sealed = reseal(s);
        free(s);
        return sealed;
}

TEST(too_many_blocks)
{
        _cleanup_(txn_freep) Txn *u = NULL;
        _cleanup_free_ char *ok = many_blocks_text(65536, 65536);
        _cleanup_free_ char *over = many_blocks_text(65537, 65537);
        _cleanup_free_ char *lying = many_blocks_text(65537, 65536);

        ASSERT_OK(intent_parse(ok, &u));
        ASSERT_EQ(u->n_blocks, 65536);
        ASSERT_EQ(u->blocks[65535].id, 65535);
        u = txn_free(u);
        ASSERT_ERROR(intent_parse(over, &u), EBADMSG);
        ASSERT_ERROR(intent_parse(lying, &u), EBADMSG);
        ASSERT_TRUE(u == NULL);
}
