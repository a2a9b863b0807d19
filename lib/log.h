/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Logging: one process-wide level and target. lib/ code only ever logs at debug level; the
 * daemon and memhpctl log the failures they receive exactly once, with log_*_errno(), which
 * returns the negative errno so that "return log_error_errno(r, ...)" reads naturally.
 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <syslog.h>

#include "macro.h"

/* Marks an errno we made up, so that "%m" is not printed for it. */
#define SYNTHETIC_ERRNO(e) (1 << 30 | (e))
#define ERRNO_VALUE(e) (((e) < 0 ? -(e) : (e)) & ~(1 << 30))

int log_get_max_level(void);
void log_set_max_level(int level);
int log_level_from_string(const char *s);
const char *log_level_to_string(int level);

/*
 * Structured fields ("KEY=value" strings, NULL-terminated) may be attached to a message; a
 * sink installed with log_set_sink() (the daemon's journal writer) receives them, the stderr
 * fallback ignores them.
 */
typedef void (*log_sink_t)(int level, const char *const *fields, const char *msg);
void log_set_sink(log_sink_t sink);
bool log_has_sink(void);
void log_set_ident(const char *ident);
/* stderr is journald's stream: prefix lines with "<N>" so it keeps their priority. */
void log_set_syslog_prefix(bool b);

int log_internal(int level, int error, const char *const *fields, const char *file, int line,
                 const char *func, const char *format, ...) _printf_(7, 8);

#define log_full_errno(level, error, ...)                                                       \
        ({                                                                                      \
                int _l = (level), _e = (error);                                                 \
                (log_get_max_level() >= _l)                                                     \
                        ? log_internal(_l, _e, NULL, __FILE__, __LINE__, __func__, __VA_ARGS__) \
                        : -ERRNO_VALUE(_e);                                                     \
        })

#define log_struct_errno(level, error, fields, ...)                                              \
        ({                                                                                       \
                int _l = (level), _e = (error);                                                  \
                (log_get_max_level() >= _l) ? log_internal(_l, _e, (fields), __FILE__, __LINE__, \
                                                           __func__, __VA_ARGS__)                \
                                            : -ERRNO_VALUE(_e);                                  \
        })

#define log_full(level, ...) (void)log_full_errno((level), 0, __VA_ARGS__)

#define log_debug(...) log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_full(LOG_ERR, __VA_ARGS__)

#define log_debug_errno(e, ...) log_full_errno(LOG_DEBUG, e, __VA_ARGS__)
#define log_info_errno(e, ...) log_full_errno(LOG_INFO, e, __VA_ARGS__)
#define log_notice_errno(e, ...) log_full_errno(LOG_NOTICE, e, __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, e, __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_ERR, e, __VA_ARGS__)

#define log_oom() log_error_errno(SYNTHETIC_ERRNO(ENOMEM), "Out of memory.")
