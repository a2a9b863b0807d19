/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Default=auto: the policy for a source on a platform, with the reason for it. One table, used by
 * the policy decision, the start-up log, --check-config and (by hand) memhpd.conf(5).
 */
#pragma once

#include "memsource.h"
#include "platform.h"
#include "policy.h"

typedef struct AutoChoice {
        Policy policy;
        const char *reason; /* one sentence, no final period; static */
} AutoChoice;

/* The choice for @source on @platform; invalid arguments give the unknown source's generic row. */
AutoChoice autopolicy_lookup(Platform platform, MemSource source);
