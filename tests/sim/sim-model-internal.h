/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Private to the model: sim-model.c (blocks, hotplug lock, hot-add/remove), sim-zone.c (zone
 * names, spans and placement) and sim-write.c (state/online stores, fault injection).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim.h"

#define DMA_END_PFN 4096ULL       /* 16 MiB */
#define DMA32_END_PFN 0x100000ULL /* 4 GiB */

/* sim-model.c */
int hotplug_lock(struct sim *s);
void hotplug_unlock(struct sim *s);
int change_state_locked(struct sim *s, struct block *b, enum online_op op, bool noop_ok);
int unregister_locked(struct sim *s, size_t first, size_t last);

/* sim-zone.c */
uint64_t block_start_pfn(const struct sim *s, const struct block *b);
void account_locked(struct sim *s, const struct block *b, int sign);
unsigned zone_for_op(struct sim *s, const struct block *b, enum online_op op);
