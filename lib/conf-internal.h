/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Private to conf.c and conf-file.c: the parser state and helpers both halves share. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"
#include "macro.h"

/* A growing string; on allocation failure it remembers -ENOMEM and drops further text. */
typedef struct StrBuf {
        char *s;
        size_t len;
        size_t alloc;
        int error;
} StrBuf;

typedef enum Section {
        SECTION_NONE, /* before the first header: keys here are errors */
        SECTION_BAD,  /* after an invalid header: its keys are skipped, the header was reported */
        SECTION_DAEMON,
        SECTION_POLICY,
        SECTION_OFFLINE,
        SECTION_NODE,
        SECTION_SOURCE,
        SECTION_NODE_SOURCE,
} Section;

typedef struct Parser {
        MemhpConfig *config;

        /* The text being parsed and how far the reader got. */
        const char *fname;
        const char *pos;
        const char *end;
        unsigned line;

        Section section;
        unsigned node;
        MemSource source;
        /* Only valid sections are kept, and "Node 1023 Source hyperv-balloon" is the longest. */
        char section_name[40];

        unsigned n_errors;
        StrBuf errors;
} Parser;

/* conf.c */
void conf_strbuf_done(StrBuf *b);
_printf_(2, 3) void conf_strbuf_appendf(StrBuf *b, const char *format, ...);
_printf_(2, 3) void conf_parser_error(Parser *p, const char *format, ...);
void conf_unknown_key(Parser *p, const char *name, size_t n);
int conf_handler(void *user, const char *section, const char *name, const char *value);
void conf_parse_section_header(Parser *p, const char *s, size_t n);
