/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* NULL-terminated lists of malloc'ed strings, as systemd's strv: a NULL list is an empty one. */
#pragma once

#include <stddef.h>

#include "macro.h"

/* Frees every string and the list; returns NULL so that "l = strv_free(l);" is safe. */
char **strv_free(char **l);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free);
#define _cleanup_strv_free_ _cleanup_(strv_freep)

size_t strv_length(char *const *l);

/* Appends a copy of @value. Return: 0 or -ENOMEM, and then *@l is unchanged. */
int strv_extend(char ***l, const char *value);

/* Byte order (strcmp), not the locale's collation: the same input always sorts the same way. */
void strv_sort(char **l);
