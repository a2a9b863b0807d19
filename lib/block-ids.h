/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Lists of memory block ids: the one comparator, sorting, and the duplicate checks built on it. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Ascending. */
void block_ids_sort(uint32_t *ids, size_t n);

/*
 * Sorts @ids ascending and checks that none appears twice. Return: 0, or -EEXIST with the
 * lowest repeated id in *@ret_dup (may be NULL).
 */
int block_ids_sort_check_unique(uint32_t *ids, size_t n, uint32_t *ret_dup);

/* Sorts @ids ascending and drops repeats: a block listed twice is still one block. Returns the
 * number of distinct ids, now at the front of @ids. */
size_t block_ids_sort_unique(uint32_t *ids, size_t n);
