/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

typedef struct CapsDropped {
        bool permitted;     /* it was in the effective or permitted set, and is no more */
        bool bounding;      /* removed from the bounding set */
        bool bounding_kept; /* still in the bounding set (no CAP_SETPCAP to remove it) */
        bool no_new_privs;  /* PR_SET_NO_NEW_PRIVS is set: no exec can regain it */
} CapsDropped;

/* Removes @cap (CAP_*) from the effective, permitted and inheritable sets, and from the bounding
 * set when CAP_SETPCAP allows. Returns 0, or -errno (-EPERM if it is still effective after). */
int caps_drop(unsigned cap, CapsDropped *ret);
