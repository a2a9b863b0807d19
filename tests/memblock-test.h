/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The fixture tree and its Sysfs that the memblock tests share, one per test. */
#pragma once

#include <stdint.h>

#include "fixture.h"
#include "sysfs.h"

extern Fixture *fixture;
extern Sysfs *sysfs;

/* A new fixture tree and the Sysfs opened on it; teardown() removes both. */
void setup(void);
void teardown(void);
/* Writes memory<id>/<attr> of the fixture verbatim. */
void write_attr(uint32_t id, const char *attr, const char *value);
