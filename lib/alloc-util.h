/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Growing arrays: one place that doubles, checks overflow and keeps the old array on failure. */
#pragma once

#include <stddef.h>

/**
 * greedy_realloc() - makes room for at least @need elements of @size bytes in *@p.
 * @allocated: how many elements *@p has room for; updated on growth
 *
 * Grows to at least twice the old room (and at least 16 elements), so appending one element at
 * a time costs amortised O(1). Nothing changes when *@allocated >= @need already.
 *
 * Return: 0, or -ENOMEM (also when the size would overflow); then *@p and *@allocated are
 * unchanged, so the caller still owns and frees the old array.
 */
int greedy_realloc(void **p, size_t *allocated, size_t need, size_t size);

#define GREEDY_REALLOC(array, allocated, need) \
        greedy_realloc((void **)&(array), &(allocated), (need), sizeof((array)[0]))

/* As greedy_realloc(), and the new room is zeroed: for arrays indexed by id, where a gap means
 * "nothing here". */
int greedy_realloc0(void **p, size_t *allocated, size_t need, size_t size);

#define GREEDY_REALLOC0(array, allocated, need) \
        greedy_realloc0((void **)&(array), &(allocated), (need), sizeof((array)[0]))
