/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A running multi-block operation: a Txn state machine driven through the writer thread,
 * an intent record for crash safety, and the D-Bus call waiting for its reply.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "manager.h"
#include "txn.h"

struct Operation {
        Manager *manager;
        uint64_t id;
        Txn *txn;
        sd_bus_message *request; /* NULL for crash recovery */
        char *sender;
        sd_bus_track *track;    /* the caller leaving cancels the operation */
        sd_event_source *timer; /* EBUSY backoff */
        bool running;           /* blocks claimed, intent record written */
        bool in_flight;         /* a write of this operation is on the writer */
        bool cancel_requested;
        TxnStep step;
        Operation *next;
};

/* Queues @txn (taking ownership) as an operation; it starts once its blocks are free. */
int operation_submit(Manager *m, Txn *txn, sd_bus_message *request);
/* Cancels every operation @sender started; returns how many. */
unsigned operation_cancel_sender(Manager *m, const char *sender);
/* Starts queued operations whose blocks are free (after a block stops being busy). */
void manager_ops_kick(Manager *m);
