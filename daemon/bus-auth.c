/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Who may change memory: root, or members of group "memhp". The bus policy says so too; this is
 * the daemon's own check, made with the uid and groups the bus daemon reports for the caller
 * (GetConnectionCredentials), never with credentials read from /proc, which can race.
 */
#include <grp.h>
#include <inttypes.h>
#include <stdlib.h>
#include <systemd/sd-bus.h>

#include "bus-auth.h"
#include "log.h"
#include "memhp-api.h"
#include "strutil.h"

typedef struct AuthRequest {
        Manager *manager;
        sd_bus_message *msg;
        privileged_fn fn;
} AuthRequest;

static void auth_request_free(AuthRequest *a)
{
        sd_bus_message_unref(a->msg);
        free(a);
}

/* Replies with the handler's error, or nothing when it replied (or will) itself. */
static void reply_result(sd_bus_message *msg, int r, sd_bus_error *error)
{
        if (r >= 0)
                return;
        if (sd_bus_error_is_set(error))
                (void)sd_bus_reply_method_error(msg, error);
        else
                (void)sd_bus_reply_method_errno(msg, r, NULL);
}

static bool gid_in(sd_bus_message *reply, gid_t gid)
{
        uint32_t g;
        bool found = false;

        while (sd_bus_message_read(reply, "u", &g) > 0)
                if (g == gid)
                        found = true;
        return found;
}

static int on_credentials(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        AuthRequest *a = userdata;
        struct group *grp = getgrnam(MEMHP_BUS_GROUP);
        const char *member = sd_bus_message_get_member(a->msg);
        uint32_t uid = UINT32_MAX;
        bool in_group = false;
        int r;

        (void)ret_error;
        if (sd_bus_message_is_method_error(reply, NULL)) {
                (void)sd_bus_reply_method_errorf(a->msg, SD_BUS_ERROR_ACCESS_DENIED,
                                                 "Cannot verify the caller of %s: %s.", member,
                                                 sd_bus_message_get_error(reply)->message);
                goto out;
        }
        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        while (r > 0 && (r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                const char *key;

                if (sd_bus_message_read(reply, "s", &key) < 0)
                        break;
                if (streq(key, "UnixUserID")) {
                        if (sd_bus_message_read(reply, "v", "u", &uid) < 0)
                                break;
                } else if (streq(key, "UnixGroupIDs") && grp) {
                        if (sd_bus_message_enter_container(reply, 'v', "au") < 0 ||
                            sd_bus_message_enter_container(reply, 'a', "u") < 0)
                                break;
                        in_group = gid_in(reply, grp->gr_gid);
                        (void)sd_bus_message_exit_container(reply);
                        (void)sd_bus_message_exit_container(reply);
                } else if (sd_bus_message_skip(reply, "v") < 0)
                        break;
                (void)sd_bus_message_exit_container(reply);
        }

        if (uid != 0 && !in_group) {
                log_notice("Denied %s to uid %" PRIu32 " (not root, not in group '%s').", member,
                           uid, MEMHP_BUS_GROUP);
                (void)sd_bus_reply_method_errorf(a->msg, SD_BUS_ERROR_ACCESS_DENIED,
                                                 "%s needs root or membership in group '%s'.",
                                                 member, MEMHP_BUS_GROUP);
                goto out;
        }
        (void)sd_bus_message_rewind(a->msg, true);
        r = a->fn(a->manager, a->msg, &error);
        reply_result(a->msg, r, &error);
out:
        auth_request_free(a);
        return 0;
}

int bus_authorize(Manager *m, sd_bus_message *msg, privileged_fn fn, sd_bus_error *error)
{
        const char *sender = sd_bus_message_get_sender(msg);
        AuthRequest *a;
        int r;

        if (!sender)
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED,
                                        "Caller without a bus name.");
        a = calloc(1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        a->manager = m;
        a->msg = sd_bus_message_ref(msg);
        a->fn = fn;
        r = sd_bus_call_method_async(sd_bus_message_get_bus(msg), NULL, "org.freedesktop.DBus",
                                     "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                     "GetConnectionCredentials", on_credentials, a, "s", sender);
        if (r < 0) {
                auth_request_free(a);
                return r;
        }
        return 1;
}
