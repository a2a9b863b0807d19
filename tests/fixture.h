/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Builder for temporary sysroot trees (mkdtemp) shaped like the kernel's memory hotplug sysfs:
 * <root>/sys/devices/system/memory/{block_size_bytes,auto_online_blocks,memoryN/...},
 * <root>/sys/devices/system/node/nodeX and <root>/proc/zoneinfo. Plain files and symlinks only;
 * every write stays inside the temporary directory.
 *
 * All functions return 0 or a negative errno.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The default block_size_bytes of a new fixture: 128 MiB, as on x86-64. */
#define FIXTURE_BLOCK_SIZE_HEX "8000000"
#define FIXTURE_BLOCK_SIZE (UINT64_C(128) << 20)

typedef struct Fixture {
        char *root; /* the sysroot: pass it to sysfs_open() */
} Fixture;

/* Creates the tree; also sets MEMHP_TESTING=1 so sysfs_open() refuses the real sysfs. */
int fixture_new(Fixture **ret);
/* Removes the whole tree (nftw, symlinks are not followed) and frees @f. NULL is fine. */
void fixture_free(Fixture *f);

/*
 * memoryN with state, valid_zones, phys_index (%08x of @id), phys_device, removable and online.
 * @node >= 0 also creates node/node<node> and both links; -1 leaves the block without a node link
 * (as the kernel does between the add uevent and register_memory_blocks_under_node()).
 * @state and @valid_zones are written with a trailing newline, as sysfs prints them.
 */
int fixture_add_block(Fixture *f, uint32_t id, int node, const char *state,
                      const char *valid_zones);
/* node/node<node> (no error if it exists). */
int fixture_add_node(Fixture *f, int node);
/* The memoryN/node<node> -> ../../node/node<node> link and the node's back link. */
int fixture_link_block(Fixture *f, uint32_t id, int node);
/* <root>/proc/zoneinfo. */
int fixture_write_zoneinfo(Fixture *f, const char *text);

/* Writes @content verbatim (no newline added) to <root>/<relpath>, creating or truncating it. */
int fixture_write(Fixture *f, const char *relpath, const char *content);
/* <root>/<relpath> and its parents (no error if they exist). */
int fixture_mkdir(Fixture *f, const char *relpath);
/* <root>/<relpath> -> @target, verbatim (relative targets stay inside the tree). */
int fixture_symlink(Fixture *f, const char *target, const char *relpath);
/* Reads <root>/<relpath> verbatim into @buf (NUL-terminated); returns the length. */
int fixture_read(Fixture *f, const char *relpath, char *buf, size_t size);
/* memoryN/state verbatim (no newline stripped): what the last write left in the file. */
int fixture_read_state(Fixture *f, uint32_t id, char *buf, size_t size);
/* <root>/sys/devices/system/memory/<rel>; a static buffer, valid until the next call. */
const char *fixture_memory_path(Fixture *f, const char *rel);
