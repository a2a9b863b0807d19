/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helpers of the memhpd.conf tests: parse text that must be valid or invalid, compare configs. */
#pragma once

#include "conf.h"

#ifndef MEMHP_SOURCE_ROOT
#error "MEMHP_SOURCE_ROOT must point at the source tree"
#endif

/* tests/fixtures/conf: whole files, valid and invalid. */
#define FIXTURES MEMHP_SOURCE_ROOT "/tests/fixtures/conf"

/* The policy a block of unknown source on @node gets on a generic platform. */
Policy node_policy(const MemhpConfig *c, int node);

/* Parses @text, which must be valid, and returns the config. */
MemhpConfig *load_ok(const char *text);

/* Parses @text, which must be invalid, and returns the error text (caller frees). */
char *load_bad(const char *text);

/* @text must be invalid, and its error text be exactly @expected. */
void assert_bad(const char *text, const char *expected);
void assert_defaults(const MemhpConfig *c);

/* Parses the output of conf_format(@c) and checks that it gives @c back. */
void assert_round_trip(const MemhpConfig *c);
