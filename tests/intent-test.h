/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helpers of the intent record tests: a sample transaction, comparing two, resealing text. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "txn.h"

/* An independent CRC-32 (bitwise), to check the record's and to reseal edited ones. */
uint32_t ref_crc32(const char *s, size_t len);

/* Replaces the final "crc32 ..." line of @text (or appends one) with the right checksum. */
char *reseal(const char *text);

/* A 4-block offline in rollback, every field away from its default (test-intent.c has its text). */
Txn *sample(void);
/* Every recorded field equal; attempts and the retry settings are not recorded. */
void assert_txn_eq(const Txn *a, const Txn *b);
