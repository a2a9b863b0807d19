/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Intent records: exact text form, round trip of every field, the parser's refusals (checksum,
 * truncation, garbage, each field out of range, too many blocks) and the on-disk life cycle in a
 * temporary directory (save, atomic replace, load_all with garbage around, remove).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "intent.h"
#include "macro.h"
#include "strutil.h"
#include "strv.h"
#include "test-util.h"
#include "txn.h"

/* An independent CRC-32 (bitwise), to check the record's and to reseal edited ones. */
static uint32_t ref_crc32(const char *s, size_t len)
{
        uint32_t c = 0xffffffff;

        for (size_t i = 0; i < len; i++) {
                c ^= (unsigned char)s[i];
                for (int k = 0; k < 8; k++)
                        c = (c >> 1) ^ (0xedb88320 & -(c & 1));
        }
        return ~c;
}

/* Replaces the final "crc32 ..." line of @text (or appends one) with the right checksum. */
static char *reseal(const char *text)
{
        const char *crc = strstr(text, "crc32 ");
        size_t body = crc ? (size_t)(crc - text) : strlen(text);
        char *out = malloc(body + 16);

        ASSERT_TRUE(out);
        memcpy(out, text, body);
        snprintf(out + body, 16, "crc32 %08x\n", ref_crc32(text, body));
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

static int parse_edited(const char *text, const char *from, const char *to)
{
        _cleanup_free_ char *e = edit(text, from, to);
        return parse_resealed(e);
}

static Txn *sample(void)
{
        Txn *t = NULL;

        ASSERT_OK(txn_new(UINT64_C(18446744073709551615), TXN_OFFLINE, 4, &t));
        t->phase = TXN_ROLLBACK;
        t->cursor = 2;
        t->failed_index = 3;
        t->failed_error = -EBUSY;
        t->cancelled = true;
        t->blocks[0] = (TxnBlock){
                .id = 32,
                .action = MEM_ACTION_OFFLINE,
                .prior_state = MEM_STATE_ONLINE,
                .prior_zone = MEM_ZONE_MOVABLE,
                .state = MEM_STATE_OFFLINE,
                .zone = MEM_ZONE_UNKNOWN,
                .changed = true,
                .restored = false,
                .error = 0,
        };
        t->blocks[1] = (TxnBlock){
                .id = 4294967295u,
                .action = MEM_ACTION_NONE,
                .prior_state = MEM_STATE_GOING_OFFLINE,
                .prior_zone = MEM_ZONE_DMA32,
                .state = MEM_STATE_GOING_OFFLINE,
                .zone = MEM_ZONE_DMA32,
        };
        t->blocks[2] = (TxnBlock){
                .id = 0,
                .action = MEM_ACTION_ONLINE_KERNEL,
                .prior_state = MEM_STATE_ONLINE,
                .prior_zone = MEM_ZONE_NORMAL,
                .state = MEM_STATE_ONLINE,
                .zone = MEM_ZONE_NORMAL,
                .changed = true,
                .restored = true,
                .error = -EIO,
        };
        t->blocks[3] = (TxnBlock){
                .id = 33,
                .action = MEM_ACTION_OFFLINE,
                .prior_state = MEM_STATE_ONLINE,
                .prior_zone = MEM_ZONE_NONE,
                .state = MEM_STATE_ONLINE,
                .zone = MEM_ZONE_DEVICE,
                .error = -EBUSY,
        };
        return t;
}

static const char sample_body[] =
        "memhpd-intent 1\n"
        "id 18446744073709551615\n"
        "kind offline\n"
        "phase rollback\n"
        "cursor 2\n"
        "failed 3 -16\n"
        "cancelled 1\n"
        "blocks 4\n"
        "block 32 online Movable action=offline changed=1 restored=0 error=0 state=offline "
        "zone=-\n"
        "block 4294967295 going-offline DMA32 action=none changed=0 restored=0 error=0 "
        "state=going-offline zone=DMA32\n"
        "block 0 online Normal action=online_kernel changed=1 restored=1 error=-5 state=online "
        "zone=Normal\n"
        "block 33 online none action=offline changed=0 restored=0 error=-16 state=online "
        "zone=Device\n";

static void assert_txn_eq(const Txn *a, const Txn *b)
{
        ASSERT_TRUE(a->id == b->id);
        ASSERT_EQ(a->kind, b->kind);
        ASSERT_EQ(a->phase, b->phase);
        ASSERT_EQ(a->cursor, b->cursor);
        ASSERT_EQ(a->failed_index, b->failed_index);
        ASSERT_EQ(a->failed_error, b->failed_error);
        ASSERT_EQ(a->cancelled, b->cancelled);
        ASSERT_EQ(a->n_blocks, b->n_blocks);
        for (size_t i = 0; i < a->n_blocks; i++) {
                const TxnBlock *x = &a->blocks[i], *y = &b->blocks[i];

                ASSERT_EQ(x->id, y->id);
                ASSERT_EQ(x->action, y->action);
                ASSERT_EQ(x->prior_state, y->prior_state);
                ASSERT_EQ(x->prior_zone, y->prior_zone);
                ASSERT_EQ(x->state, y->state);
                ASSERT_EQ(x->zone, y->zone);
                ASSERT_EQ(x->changed, y->changed);
                ASSERT_EQ(x->restored, y->restored);
                ASSERT_EQ(x->error, y->error);
        }
}

TEST(crc_reference)
{
        /* The check value of CRC-32/ISO-HDLC, as zlib's crc32(). */
        ASSERT_EQ(ref_crc32("123456789", 9), 0xcbf43926);
}

TEST(format_exact)
{
        _cleanup_(txn_freep) Txn *t = sample();
        _cleanup_free_ char *text = NULL;
        char want[sizeof(sample_body) + 32];

        ASSERT_OK(intent_format(t, &text));
        snprintf(want, sizeof(want), "%scrc32 %08x\n", sample_body,
                 ref_crc32(sample_body, strlen(sample_body)));
        ASSERT_STREQ(text, want);
        ASSERT_ERROR(intent_format(NULL, &text), EINVAL);
}

TEST(round_trip)
{
        for (int kind = 0; kind < _TXN_KIND_MAX; kind++)
                for (int phase = 0; phase < _TXN_PHASE_MAX; phase++) {
                        _cleanup_(txn_freep) Txn *t = sample(), *u = NULL;
                        _cleanup_free_ char *a = NULL, *b = NULL;

                        t->kind = (TxnKind)kind;
                        t->phase = (TxnPhase)phase;
                        t->cancelled = phase == 1;
                        if (phase == 2) {
                                t->failed_index = -1;
                                t->failed_error = -ECANCELED;
                                t->cursor = t->n_blocks;
                        }
                        ASSERT_OK(intent_format(t, &a));
                        ASSERT_OK(intent_parse(a, &u));
                        assert_txn_eq(t, u);
                        /* Not recorded: a parsed machine gets txn_new()'s defaults. */
                        ASSERT_EQ(u->attempts, 0);
                        ASSERT_EQ(u->max_retries, 3);
                        ASSERT_EQ(u->retry_base_usec, 1000000);
                        ASSERT_OK(intent_format(u, &b));
                        ASSERT_STREQ(a, b);
                }

        /* No blocks at all. */
        _cleanup_(txn_freep) Txn *t = NULL, *u = NULL;
        _cleanup_free_ char *a = NULL;

        ASSERT_OK(txn_new(0, TXN_ONLINE, 0, &t));
        ASSERT_OK(intent_format(t, &a));
        ASSERT_CONTAINS(a, "\nfailed -1 0\n");
        ASSERT_OK(intent_parse(a, &u));
        assert_txn_eq(t, u);
}

TEST(format_refuses)
{
        _cleanup_(txn_freep) Txn *t = sample(), *big = NULL;
        _cleanup_free_ char *text = NULL;

        t->blocks[2].id = 33; /* duplicate of block 3 */
        ASSERT_ERROR(intent_format(t, &text), EINVAL);
        t->blocks[2].id = 0;
        t->blocks[1].error = 5; /* not a -errno */
        ASSERT_ERROR(intent_format(t, &text), EINVAL);
        t->blocks[1].error = 0;
        t->blocks[1].zone = _MEM_ZONE_MAX;
        ASSERT_ERROR(intent_format(t, &text), EINVAL);
        t->blocks[1].zone = MEM_ZONE_NORMAL;
        t->failed_index = 4;
        ASSERT_ERROR(intent_format(t, &text), EINVAL);
        t->failed_index = 3;
        t->cursor = 5;
        ASSERT_ERROR(intent_format(t, &text), EINVAL);
        t->cursor = 4;
        ASSERT_OK(intent_format(t, &text));

        ASSERT_OK(txn_new(1, TXN_ONLINE, 65537, &big));
        for (size_t i = 0; i < big->n_blocks; i++)
                big->blocks[i].id = (uint32_t)i;
        ASSERT_ERROR(intent_format(big, &text), E2BIG);
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

static size_t count_entries(int dirfd, bool *ret_only_records)
{
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        size_t n = 0;
        int fd;

        fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_TRUE(fd >= 0);
        d = fdopendir(fd);
        ASSERT_TRUE(d);
        *ret_only_records = true;
        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (strncmp(de->d_name, "txn-", 4) != 0)
                        *ret_only_records = false;
                n++;
        }
        return n;
}

static void free_all(Txn **l, size_t n, char **bad)
{
        for (size_t i = 0; i < n; i++)
                txn_free(l[i]);
        free(l);
        strv_free(bad);
}

static bool strv_contains(char **l, const char *s)
{
        for (; l && *l; l++)
                if (streq(*l, s))
                        return true;
        return false;
}

static void write_file_at(int dirfd, const char *name, const char *content)
{
        _cleanup_close_ int fd =
                openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ(write(fd, content, strlen(content)), (ssize_t)strlen(content));
}

static void rm_rf(const char *dir)
{
        _cleanup_closedir_ DIR *d = opendir(dir);
        struct dirent *de;

        ASSERT_TRUE(d);
        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (unlinkat(dirfd(d), de->d_name, 0) < 0)
                        ASSERT_EQ(unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR), 0);
        }
        ASSERT_EQ(rmdir(dir), 0);
}

TEST(save_load_remove)
{
        static const uint64_t ids[] = {30, 5, 12, 1000000};
        char dir[] = "/tmp/test-intent-XXXXXX";
        _cleanup_close_ int dfd = -EBADF, pfd = -EBADF;
        _cleanup_free_ char *wrong_id = NULL;
        Txn **l = NULL;
        char **bad = NULL;
        size_t n = 0;
        bool only;

        ASSERT_TRUE(mkdtemp(dir));
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_TRUE(dfd >= 0);
        pfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        ASSERT_TRUE(pfd >= 0);

        /* Empty directory. */
        ASSERT_OK(intent_load_all(dfd, &l, &n, &bad));
        ASSERT_EQ(n, 0);
        ASSERT_TRUE(bad == NULL);
        free_all(l, n, bad);

        for (size_t i = 0; i < ELEMENTSOF(ids); i++) {
                _cleanup_(txn_freep) Txn *t = sample();

                t->id = ids[i];
                t->cursor = i;
                /* Works with an O_PATH directory fd as well. */
                ASSERT_OK(intent_save(i % 2 ? pfd : dfd, t));
        }
        ASSERT_EQ(count_entries(dfd, &only), ELEMENTSOF(ids));
        ASSERT_TRUE(only);

        /* Garbage around the records. */
        write_file_at(dfd, "txn-7.intent", "memhpd-intent 1\nid 7\ngarbage\n");
        write_file_at(dfd, "txn-8.intent", "");
        {
                _cleanup_(txn_freep) Txn *t = sample();
                _cleanup_free_ char *text = NULL;

                t->id = 9; /* content says 9, name says 10 */
                ASSERT_OK(intent_format(t, &text));
                write_file_at(dfd, "txn-10.intent", text);
                wrong_id = TAKE_PTR(text);
        }
        write_file_at(dfd, "txn-005.intent", wrong_id); /* not a record name: ignored */
        write_file_at(dfd, "txn-11.intent.bak", wrong_id);
        write_file_at(dfd, "notes.txt", "hello");
        ASSERT_EQ(mkdirat(dfd, "txn-13.intent", 0700), 0);
        ASSERT_EQ(mkfifoat(dfd, "txn-14.intent", 0600), 0);
        {
                /* A symlink to a record that would be valid under that name is refused. */
                _cleanup_(txn_freep) Txn *t = sample();
                _cleanup_free_ char *text = NULL;

                t->id = 15;
                ASSERT_OK(intent_format(t, &text));
                write_file_at(dfd, "record-15", text);
                ASSERT_EQ(symlinkat("record-15", dfd, "txn-15.intent"), 0);
        }

        ASSERT_OK(intent_load_all(dfd, &l, &n, &bad));
        ASSERT_EQ(n, 4);
        ASSERT_TRUE(l[0]->id == 5 && l[1]->id == 12 && l[2]->id == 30 && l[3]->id == 1000000);
        ASSERT_EQ(l[0]->cursor, 1);
        ASSERT_EQ(l[1]->cursor, 2);
        ASSERT_EQ(l[2]->cursor, 0);
        ASSERT_EQ(l[3]->cursor, 3);
        {
                _cleanup_(txn_freep) Txn *want = sample();

                want->id = 12;
                want->cursor = 2;
                assert_txn_eq(want, l[1]);
        }
        ASSERT_EQ(strv_length(bad), 6);
        ASSERT_TRUE(strv_contains(bad, "txn-7.intent"));
        ASSERT_TRUE(strv_contains(bad, "txn-8.intent"));
        ASSERT_TRUE(strv_contains(bad, "txn-10.intent"));
        ASSERT_TRUE(strv_contains(bad, "txn-13.intent"));
        ASSERT_TRUE(strv_contains(bad, "txn-14.intent"));
        ASSERT_TRUE(strv_contains(bad, "txn-15.intent"));
        free_all(l, n, bad);

        /* Without the list of bad names; through an O_PATH fd. */
        ASSERT_OK(intent_load_all(pfd, &l, &n, NULL));
        ASSERT_EQ(n, 4);
        free_all(l, n, NULL);

        ASSERT_OK(intent_remove(dfd, 12));
        ASSERT_ERROR(intent_remove(dfd, 12), ENOENT);
        ASSERT_OK(intent_load_all(dfd, &l, &n, NULL));
        ASSERT_EQ(n, 3);
        ASSERT_TRUE(l[0]->id == 5 && l[1]->id == 30 && l[2]->id == 1000000);
        free_all(l, n, NULL);

        ASSERT_ERROR(intent_save(-1, NULL), EINVAL);
        ASSERT_ERROR(intent_load_all(-1, &l, &n, NULL), EINVAL);
        rm_rf(dir);
}

TEST(atomic_replace)
{
        char dir[] = "/tmp/test-intent-XXXXXX";
        _cleanup_(txn_freep) Txn *t = sample();
        _cleanup_close_ int dfd = -EBADF;
        Txn **l = NULL;
        size_t n = 0;
        bool only;

        ASSERT_TRUE(mkdtemp(dir));
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_TRUE(dfd >= 0);

        t->id = 77;
        for (size_t c = 0; c <= t->n_blocks; c++) {
                t->cursor = c;
                ASSERT_OK(intent_save(dfd, t));
                ASSERT_EQ(count_entries(dfd, &only), 1);
                ASSERT_TRUE(only);
                ASSERT_OK(intent_load_all(dfd, &l, &n, NULL));
                ASSERT_EQ(n, 1);
                assert_txn_eq(t, l[0]);
                free_all(l, n, NULL);
        }
        rm_rf(dir);
}

/* A failed write leaves neither a temp file nor a changed record behind. */
TEST(save_failure_cleans_up)
{
        char dir[] = "/tmp/test-intent-XXXXXX";
        _cleanup_(txn_freep) Txn *t = sample(), *big = NULL;
        _cleanup_close_ int dfd = -EBADF;
        struct rlimit old, lim;
        Txn **l = NULL;
        size_t n = 0;
        bool only;

        ASSERT_TRUE(mkdtemp(dir));
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_TRUE(dfd >= 0);

        /* A record that cannot be formatted creates nothing. */
        ASSERT_OK(txn_new(2, TXN_ONLINE, 65537, &big));
        ASSERT_ERROR(intent_save(dfd, big), E2BIG);
        ASSERT_EQ(count_entries(dfd, &only), 0);

        t->id = 2;
        ASSERT_OK(intent_save(dfd, t));

        /* RLIMIT_FSIZE makes the write of a bigger record fail with EFBIG. */
        big = txn_free(big);
        ASSERT_OK(txn_new(2, TXN_ONLINE, 200, &big));
        for (size_t i = 0; i < big->n_blocks; i++)
                big->blocks[i].id = (uint32_t)i;
        ASSERT_TRUE(signal(SIGXFSZ, SIG_IGN) != SIG_ERR);
        ASSERT_OK(getrlimit(RLIMIT_FSIZE, &old));
        lim = old;
        lim.rlim_cur = 4096;
        ASSERT_OK(setrlimit(RLIMIT_FSIZE, &lim));
        ASSERT_ERROR(intent_save(dfd, big), EFBIG);
        ASSERT_OK(setrlimit(RLIMIT_FSIZE, &old));

        ASSERT_EQ(count_entries(dfd, &only), 1);
        ASSERT_TRUE(only);
        ASSERT_OK(intent_load_all(dfd, &l, &n, NULL));
        ASSERT_EQ(n, 1);
        assert_txn_eq(t, l[0]);
        free_all(l, n, NULL);
        rm_rf(dir);
}
