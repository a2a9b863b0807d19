/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Private to intent.c and intent-store.c: the format's size limits and shared helpers. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "txn.h"

#define INTENT_BLOCKS_MAX 65536U
/* Longer than any line we write (a block line is < 128 bytes). */
#define INTENT_LINE_MAX 256
/* 65,536 block lines of at most INTENT_LINE_MAX bytes, plus the header. */
#define INTENT_FILE_MAX ((size_t)INTENT_BLOCKS_MAX * INTENT_LINE_MAX + 4096)

/* intent.c: decimal without sign or leading zeros, overflow-checked; -EBADMSG otherwise. */
int intent_parse_u64(const char *s, uint64_t *ret);
