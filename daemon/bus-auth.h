/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The in-daemon authorization of mutating D-Bus methods. */
#pragma once

#include <systemd/sd-bus.h>

#include "manager.h"

/* A method body run once the caller is known to be allowed; it replies itself, or returns < 0. */
typedef int (*privileged_fn)(Manager *m, sd_bus_message *msg, sd_bus_error *error);

/*
 * Asks the bus daemon who sent @msg; runs @fn once the answer allows it, else replies
 * AccessDenied. Returns 1 (the reply comes later) or a negative errno.
 */
int bus_authorize(Manager *m, sd_bus_message *msg, privileged_fn fn, sd_bus_error *error);
