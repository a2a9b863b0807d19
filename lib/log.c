/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Process-wide logger: stderr with "<N>" prefixes under journald, or a pluggable sink. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static int max_level = LOG_INFO;
static log_sink_t sink;
static const char *ident = "memhpd";
static bool syslog_prefix;

static const char *const level_names[] = {
        [LOG_EMERG] = "emerg", [LOG_ALERT] = "alert",     [LOG_CRIT] = "crit",
        [LOG_ERR] = "err",     [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
        [LOG_INFO] = "info",   [LOG_DEBUG] = "debug",
};

int log_get_max_level(void)
{
        return max_level;
}

void log_set_max_level(int level)
{
        max_level = level;
}

void log_set_sink(log_sink_t s)
{
        sink = s;
}

bool log_has_sink(void)
{
        return sink != NULL;
}

void log_set_ident(const char *i)
{
        ident = i;
}

void log_set_syslog_prefix(bool b)
{
        syslog_prefix = b;
}

int log_level_from_string(const char *s)
{
        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(level_names); i++)
                if (strcmp(s, level_names[i]) == 0)
                        return (int)i;
        /* Accept the spellings admins know from syslog and systemd too. */
        if (strcmp(s, "error") == 0)
                return LOG_ERR;
        if (strcmp(s, "warn") == 0)
                return LOG_WARNING;
        return -EINVAL;
}

const char *log_level_to_string(int level)
{
        if (level < 0 || (size_t)level >= ELEMENTSOF(level_names))
                return NULL;
        return level_names[level];
}

int log_internal(int level, int error, const char *const *fields, const char *file, int line,
                 const char *func, const char *format, ...)
{
        char buf[2048];
        int saved = errno;
        va_list ap;

        (void)file;
        (void)line;
        (void)func;

        /* Let "%m" print the error we were handed, not whatever errno happens to be. */
        if (error != 0)
                errno = ERRNO_VALUE(error);
        va_start(ap, format);
        vsnprintf(buf, sizeof(buf), format, ap);
        va_end(ap);

        if (sink)
                sink(level, fields, buf);
        else if (syslog_prefix)
                fprintf(stderr, "<%d>%s\n", level, buf);
        else
                fprintf(stderr, "%s: %s\n", ident, buf);

        errno = saved;
        return -ERRNO_VALUE(error);
}
