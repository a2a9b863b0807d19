/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Routes log messages to the journal with fields when stderr is connected to journald. */
#pragma once

/* Installs the journal sink when running under journald; otherwise stderr stays the target. */
void journal_setup(void);
