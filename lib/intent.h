/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Crash-safety records: before the first write of a transaction its intent (kind, blocks, each
 * block's prior state and zone, progress) is written to a file in the runtime directory,
 * fsync'd and atomically replaced as the transaction progresses. After a crash the daemon
 * reads the records back and restores every listed block to its prior state. The record is a
 * hint; sysfs stays the truth.
 */
#pragma once

#include <stddef.h>

#include "txn.h"

/* Text form, versioned, with a checksum; the parser is fuzzed and trusts nothing. */
int intent_format(const Txn *t, char **ret);
/* Rebuilds a Txn (kind, id, blocks with prior state/zone, progress flags). -EBADMSG on a bad
 * checksum or format. */
int intent_parse(const char *text, Txn **ret);

/* Writes "txn-<id>.intent" in @dirfd: temp file, fsync, renameat, fsync of the directory. */
int intent_save(int dirfd, const Txn *t);
int intent_remove(int dirfd, uint64_t id);
/*
 * Every record in @dirfd, oldest id first (an array of *ret_n machines; free each with txn_free()
 * and the array with free()). A "txn-<id>.intent" that cannot be read or parsed, or whose id does
 * not match its name, is skipped; if @ret_bad is not NULL their names are returned there as a
 * NULL-terminated array (NULL when there are none; free each name and the array).
 */
int intent_load_all(int dirfd, Txn ***ret, size_t *ret_n, char ***ret_bad);
