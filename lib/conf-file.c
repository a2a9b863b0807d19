/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* memhpd.conf parser: inih driven by our own line reader, which knows file:line, plus drop-ins. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf-internal.h"
#include "conf.h"
#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "strutil.h"
#include "strv.h"

/* A config file is a few hundred bytes; anything this big is not one. */
#define CONF_FILE_MAX (1024U * 1024U)

/* Comments start a line, or follow whitespace: "Key=value   # why". */
#define IS_COMMENT_CHAR(c) ((c) == '#' || (c) == ';')

/*
 * Reads one line of the input into @str and decides what inih gets to see of it: a canonical
 * "[Section]" or "Key=Value" line, or an empty line for comments, blanks and lines we already
 * reported. So every syntax error is reported here with its line number (inih would report
 * only the first and has no line number for the handler), inline comments are cut with '#'
 * as well as ';', and inih's own quirks (continuation lines, truncation at its line limit,
 * "Key:Value", text after "]") never come into play.
 */
static char *conf_reader(char *str, int num, void *stream)
{
        Parser *p = stream;
        char q[QUOTE_BUF_SIZE];
        const char *l, *nl;
        size_t n, limit;
        char *s, *eq, *key, *value;

        if (p->pos >= p->end || num < 1)
                return NULL;

        l = p->pos;
        nl = memchr(l, '\n', (size_t)(p->end - l));
        n = nl ? (size_t)(nl - l) : (size_t)(p->end - l);
        p->pos = nl ? nl + 1 : p->end;
        p->line++;
        str[0] = 0;

        if (p->line == 1 && n >= 3 && memcmp(l, "\xef\xbb\xbf", 3) == 0) {
                l += 3;
                n -= 3;
        }
        if (n > 0 && l[n - 1] == '\r')
                n--;

        /* inih needs room for "\r\n\0" beyond the text of a line. */
        limit = num > 3 ? (size_t)num - 3 : 0;
        if (n > limit) {
                conf_parser_error(p, "line too long (%zu bytes, at most %zu): '%s...'", n, limit,
                                  quote_untrusted(q, l, MIN(n, (size_t)40)));
                return str;
        }
        if (memchr(l, 0, n)) {
                conf_parser_error(p, "line contains a NUL byte");
                return str;
        }

        memcpy(str, l, n);
        str[n] = 0;

        s = str;
        while (isspace((unsigned char)*s))
                s++;
        if (*s == 0 || IS_COMMENT_CHAR(*s))
                goto blank;
        for (char *c = s + 1; *c; c++)
                if (IS_COMMENT_CHAR(*c) && isspace((unsigned char)c[-1])) {
                        *c = 0;
                        break;
                }
        s = strstrip(s);
        n = strlen(s);
        if (n == 0)
                goto blank;

        if (s[0] == '[') {
                conf_parse_section_header(p, s, n);
                if (p->section == SECTION_BAD)
                        str[0] = 0;
                else
                        memmove(str, s, n + 1);
                return str;
        }

        eq = strchr(s, '=');
        if (!eq) {
                conf_parser_error(p, "missing '=' in '%s', expected Key=Value or [Section]",
                                  quote_untrusted(q, s, n));
                goto blank;
        }
        *eq = 0;
        key = strstrip(s);
        value = strstrip(eq + 1);

        if (key[0] == 0) {
                conf_parser_error(p, "missing key name before '=%s'",
                                  quote_untrusted(q, value, strlen(value)));
                goto blank;
        }
        if (p->section == SECTION_NONE) {
                conf_parser_error(p, "key '%s' outside of any section",
                                  quote_untrusted(q, key, strlen(key)));
                goto blank;
        }
        if (p->section == SECTION_BAD)
                goto blank;
        if (strchr(key, ':')) {
                /* inih would split "A:B=c" at the ':'; no key of ours has one anyway. */
                conf_unknown_key(p, key, strlen(key));
                goto blank;
        }

        /* Canonical "Key=Value": never longer than the line it came from. */
        n = strlen(key);
        memmove(str, key, n);
        str[n] = '=';
        memmove(str + n + 1, value, strlen(value) + 1);
        return str;

blank:
        /* inih takes an empty line as a comment: nothing reaches the handler. */
        str[0] = 0;
        return str;
}

static int parse_text(Parser *p, const char *fname, const char *text, size_t size)
{
        int r;

        p->fname = fname;
        p->pos = text;
        p->end = text + size;
        p->line = 0;
        p->section = SECTION_NONE;
        p->section_name[0] = 0;

        r = ini_parse_stream(conf_reader, p, conf_handler, p);
        if (r == -2)
                return -ENOMEM;
        if (r != 0)
                /* Our handler fails nothing, so any other result is inih misbehaving. */
                return -EIO;
        return p->errors.error < 0 ? p->errors.error : 0;
}

/* Hard failures (not parse errors) end the load; their message replaces the collected ones. */
static int load_error(Parser *p, int r, const char *what)
{
        conf_strbuf_done(&p->errors);
        if (r == -ENOMEM)
                return r;
        if (r == -EFBIG)
                conf_strbuf_appendf(&p->errors, "%s: file too large (over %u bytes)", what,
                                    CONF_FILE_MAX);
        else {
                errno = -r;
                conf_strbuf_appendf(&p->errors, "%s: %m", what);
        }
        p->n_errors = 1;
        return r;
}

typedef enum ConfFileKind {
        CONF_FILE_MAIN,    /* the configured path: read whatever type of file it is */
        CONF_FILE_DROP_IN, /* a directory entry: only regular files count */
} ConfFileKind;

/* Parses one file; -ENOENT is returned silently so the caller decides whether it matters. */
static int parse_file_at(Parser *p, int dir_fd, const char *name, const char *display,
                         ConfFileKind kind)
{
        bool regular_only = kind == CONF_FILE_DROP_IN;
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *text = NULL;
        struct stat st;
        size_t size = 0;
        int r;

        /* O_NONBLOCK so that a FIFO in the drop-in directory cannot hang us before fstat(). */
        fd = openat(dir_fd, name,
                    O_RDONLY | O_CLOEXEC | O_NOCTTY | (regular_only ? O_NONBLOCK : 0));
        if (fd < 0)
                return errno == ENOENT ? -ENOENT : load_error(p, -errno, display);
        if (fstat(fd, &st) < 0)
                return load_error(p, -errno, display);
        if (regular_only && !S_ISREG(st.st_mode)) {
                log_debug("Ignoring %s: not a regular file.", display);
                return 0;
        }

        r = read_full_fd(fd, CONF_FILE_MAX, &text, &size);
        if (r < 0)
                return load_error(p, r, display);

        log_debug("Parsing %s.", display);
        r = parse_text(p, display, text, size);
        if (r < 0)
                return load_error(p, r, display);
        return 0;
}

static bool dropin_name_ok(const char *name)
{
        size_t n = strlen(name);

        /* Hidden files are editor or package manager leftovers, as systemd treats them. */
        return name[0] != '.' && n > 5 && streq(name + n - 5, ".conf");
}

static int parse_dropins(Parser *p, const char *dir)
{
        _cleanup_closedir_ DIR *d = NULL;
        _cleanup_strv_free_ char **names = NULL;
        struct dirent *de;

        d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : load_error(p, -errno, dir);

        for (;;) {
                errno = 0;
                de = readdir(d);
                if (!de) {
                        if (errno != 0)
                                return load_error(p, -errno, dir);
                        break;
                }
                if (!dropin_name_ok(de->d_name))
                        continue;
                if (strv_extend(&names, de->d_name) < 0)
                        return -ENOMEM;
        }

        /* Byte order, not the locale's collation: the same files must always win. */
        strv_sort(names);

        for (size_t i = 0; names && names[i]; i++) {
                _cleanup_free_ char *display = NULL;
                int r;

                if (asprintf(&display, "%s/%s", dir, names[i]) < 0)
                        return -ENOMEM;
                r = parse_file_at(p, dirfd(d), names[i], display, CONF_FILE_DROP_IN);
                if (r == -ENOENT)
                        continue; /* removed while we were reading the directory */
                if (r < 0)
                        return r;
        }
        return 0;
}

static int finish(Parser *p, int r, MemhpConfig **config, MemhpConfig **ret, char **ret_error)
{
        if (r >= 0 && p->errors.error < 0)
                r = p->errors.error;
        if (r >= 0 && p->n_errors > 0)
                r = -EINVAL;

        if (r < 0) {
                if (ret_error && p->errors.error >= 0 && p->n_errors > 0) {
                        *ret_error = TAKE_PTR(p->errors.s);
                        p->errors = (StrBuf){};
                }
                return r;
        }

        if (ret)
                *ret = TAKE_PTR(*config);
        return 0;
}

int conf_load(const char *path, bool missing_ok, MemhpConfig **ret, char **ret_error)
{
        _cleanup_free_ MemhpConfig *c = NULL;
        _cleanup_free_ char *dir = NULL;
        Parser p = {};
        int r;

        if (ret_error)
                *ret_error = NULL;
        if (!path)
                return -EINVAL;

        c = malloc(sizeof(*c));
        if (!c)
                return -ENOMEM;
        conf_init_defaults(c);
        p.config = c;

        r = parse_file_at(&p, AT_FDCWD, path, path, CONF_FILE_MAIN);
        if (r == -ENOENT) {
                if (!missing_ok)
                        r = load_error(&p, r, path);
                else {
                        log_debug("%s does not exist, using defaults.", path);
                        r = 0;
                }
        }
        if (r >= 0) {
                if (asprintf(&dir, "%s.d", path) < 0)
                        r = -ENOMEM;
                else
                        r = parse_dropins(&p, dir);
        }

        r = finish(&p, r, &c, ret, ret_error);
        conf_strbuf_done(&p.errors);
        return r;
}

int conf_load_string(const char *text, const char *name, MemhpConfig **ret, char **ret_error)
{
        _cleanup_free_ MemhpConfig *c = NULL;
        Parser p = {};
        int r;

        if (ret_error)
                *ret_error = NULL;
        if (!text)
                return -EINVAL;

        c = malloc(sizeof(*c));
        if (!c)
                return -ENOMEM;
        conf_init_defaults(c);
        p.config = c;

        r = parse_text(&p, name ?: "(string)", text, strlen(text));
        r = finish(&p, r, &c, ret, ret_error);
        conf_strbuf_done(&p.errors);
        return r;
}
