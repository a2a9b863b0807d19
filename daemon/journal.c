/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Log sink for the journal: structured fields when stderr is journald's stream. */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <systemd/sd-journal.h>

#include "blocklog.h"
#include "journal.h"
#include "strutil.h"

#define MAX_FIELDS 12

static void journal_sink(int level, const char *const *fields, const char *msg)
{
        struct iovec iov[MAX_FIELDS + 3];
        char prio[16], *message;
        size_t n = 0;

        snprintf(prio, sizeof(prio), "PRIORITY=%d", level);
        if (asprintf(&message, "MESSAGE=%s", msg) < 0)
                return;
        iov[n++] = (struct iovec){.iov_base = message, .iov_len = strlen(message)};
        iov[n++] = (struct iovec){.iov_base = prio, .iov_len = strlen(prio)};
        iov[n++] = (struct iovec){.iov_base = (char *)"SYSLOG_IDENTIFIER=memhpd",
                                  .iov_len = strlen("SYSLOG_IDENTIFIER=memhpd")};
        for (size_t i = 0; fields && fields[i] && i < MAX_FIELDS; i++)
                iov[n++] =
                        (struct iovec){.iov_base = (char *)fields[i], .iov_len = strlen(fields[i])};
        if (sd_journal_sendv(iov, (int)n) < 0)
                fprintf(stderr, "<%d>%s\n", level, msg);
        free(message);
}

static bool journal_stream_is_stderr(void)
{
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
                return false;
        return st.st_dev == (dev_t)dev && st.st_ino == (ino_t)ino;
}

void journal_setup(void)
{
        if (!journal_stream_is_stderr())
                return;
        /* sd_journal_sendv() reports success when journald's socket is missing: check first. */
        if (access("/run/systemd/journal/socket", F_OK) == 0)
                log_set_sink(journal_sink);
        else
                log_set_syslog_prefix(true);
}

int log_block(int level, int error, uint32_t block, int node, const char *zone, const char *action,
              const char *format, ...)
{
        char f_block[32], f_node[32], f_zone[48], f_action[64], f_errno[32], f_id[64];
        const char *fields[8];
        char msg[1024];
        size_t n = 0;
        const char *id;
        va_list ap;

        if (log_get_max_level() < level)
                return -ERRNO_VALUE(error);

        /* Format once; build fields only for the journal, stderr has no use for them. */
        errno = ERRNO_VALUE(error);
        va_start(ap, format);
        vsnprintf(msg, sizeof(msg), format, ap);
        va_end(ap);
        if (!log_has_sink())
                return log_internal(level, error, NULL, __FILE__, __LINE__, __func__, "%s", msg);

        if (error != 0)
                id = MEMHP_MESSAGE_BLOCK_FAILED;
        else if (streq(action, "already-online"))
                id = MEMHP_MESSAGE_BLOCK_ALREADY;
        else if (streq(action, "rollback"))
                id = MEMHP_MESSAGE_BLOCK_ROLLBACK;
        else if (streq(action, "offline"))
                id = MEMHP_MESSAGE_BLOCK_OFFLINED;
        else
                id = MEMHP_MESSAGE_BLOCK_ONLINED;

        snprintf(f_id, sizeof(f_id), "MESSAGE_ID=%s", id);
        fields[n++] = f_id;
        snprintf(f_block, sizeof(f_block), "MEMHP_BLOCK=%" PRIu32, block);
        fields[n++] = f_block;
        if (node >= 0) {
                snprintf(f_node, sizeof(f_node), "MEMHP_NODE=%d", node);
                fields[n++] = f_node;
        }
        if (zone && zone[0]) {
                snprintf(f_zone, sizeof(f_zone), "MEMHP_ZONE=%s", zone);
                fields[n++] = f_zone;
        }
        snprintf(f_action, sizeof(f_action), "MEMHP_ACTION=%s", action);
        fields[n++] = f_action;
        if (error != 0) {
                snprintf(f_errno, sizeof(f_errno), "ERRNO=%d", ERRNO_VALUE(error));
                fields[n++] = f_errno;
        }
        fields[n] = NULL;
        return log_internal(level, error, fields, __FILE__, __LINE__, __func__, "%s", msg);
}
