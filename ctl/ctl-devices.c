/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `memhpctl devices`: the hotplug devices memhpd groups blocks into (PNP0C80:XX, virtioN,
 * daxX.Y), one row each, from ListDevices(); -o picks the columns, --json prints them as JSON.
 */
#include <errno.h>
#include <inttypes.h>
#include <libsmartcols.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc-util.h"
#include "ctl.h"
#include "log.h"
#include "strutil.h"
#include "target.h"

enum {
        COL_DEVICE,
        COL_SOURCE,
        COL_BACKING,
        COL_NODE,
        COL_RANGE,
        COL_SIZE,
        COL_BLOCKS,
        COL_ONLINE,
        COL_ZONES,
        _COL_MAX,
};

static const CtlColumn columns[_COL_MAX] = {
        [COL_DEVICE] = {"DEVICE", CTL_COLUMN_DEFAULT, "device id: PNP0C80:XX, virtioN, daxX.Y"},
        [COL_SOURCE] = {"SOURCE", CTL_COLUMN_DEFAULT, "dimm, virtio-mem or dax"},
        [COL_BACKING] = {"BACKING", CTL_COLUMN_DEFAULT,
                         "what backs a dax device: nvdimm, cxl, soft-reserved"},
        [COL_NODE] = {"NODE", CTL_COLUMN_DEFAULT | CTL_COLUMN_RIGHT | CTL_COLUMN_NUMBER,
                      "NUMA node of its blocks (- when unknown or several)"},
        [COL_RANGE] = {"RANGE", CTL_COLUMN_DEFAULT, "physical address range, inclusive"},
        [COL_SIZE] = {"SIZE", CTL_COLUMN_DEFAULT | CTL_COLUMN_RIGHT | CTL_COLUMN_NUMBER,
                      "size of the range (bytes in JSON)"},
        [COL_BLOCKS] = {"BLOCKS", CTL_COLUMN_DEFAULT | CTL_COLUMN_RIGHT | CTL_COLUMN_NUMBER,
                        "number of its memory blocks"},
        [COL_ONLINE] = {"ONLINE", CTL_COLUMN_DEFAULT | CTL_COLUMN_RIGHT | CTL_COLUMN_NUMBER,
                        "how many of them are online"},
        [COL_ZONES] = {"ZONES", CTL_COLUMN_DEFAULT, "zones of its online blocks"},
};

static int device_info_compare(const void *a, const void *b)
{
        const DeviceInfo *x = a, *y = b;
        return strcmp(x->id, y->id);
}

/* The zones as one cell, "Normal,Movable" (lsmem's ZONES is one string as well). */
static int join_zones(sd_bus_message *reply, char **ret)
{
        _cleanup_free_ char *joined = NULL;
        const char *zone;
        size_t len = 0;
        int r;

        r = sd_bus_message_enter_container(reply, 'a', "s");
        while (r >= 0 && (r = sd_bus_message_read(reply, "s", &zone)) > 0) {
                size_t n = strlen(zone);
                char *p = realloc(joined, len + n + 2);

                if (!p)
                        return -ENOMEM;
                joined = p;
                if (len > 0)
                        joined[len++] = ',';
                memcpy(joined + len, zone, n + 1);
                len += n;
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(reply);
        if (r < 0)
                return r;
        *ret = joined ? TAKE_PTR(joined) : strdup("");
        return *ret ? 0 : -ENOMEM;
}

int ctl_list_devices(sd_bus *bus, DeviceList *ret)
{
        _cleanup_(device_list_done) DeviceList l = {};
        size_t allocated = 0;
        int r;

        r = ctl_call_list(bus, "ListDevices", "(sssuttuuas)", false, &l.reply);
        if (r < 0)
                return r;
        for (;;) {
                DeviceInfo d = {};

                r = sd_bus_message_enter_container(l.reply, 'r', "sssuttuuas");
                if (r == 0)
                        break;
                if (r >= 0)
                        r = sd_bus_message_read(l.reply, "sssuttuu", &d.id, &d.source, &d.backing,
                                                &d.node, &d.start, &d.end, &d.blocks,
                                                &d.online_blocks);
                if (r >= 0)
                        r = join_zones(l.reply, &d.zones);
                if (r >= 0)
                        r = sd_bus_message_exit_container(l.reply);
                if (r >= 0 && GREEDY_REALLOC(l.devices, allocated, l.n + 1) < 0)
                        r = -ENOMEM;
                if (r < 0) {
                        free(d.zones);
                        return r == -ENOMEM ? log_oom()
                                            : log_error_errno(r, "Unexpected reply to "
                                                                 "ListDevices: %m");
                }
                l.devices[l.n++] = d;
        }
        if (l.n > 0)
                qsort(l.devices, l.n, sizeof(DeviceInfo), device_info_compare);
        *ret = l;
        l = (DeviceList){};
        return 0;
}

void device_list_done(DeviceList *l)
{
        for (size_t i = 0; i < l->n; i++)
                free(l->devices[i].zones);
        free(l->devices);
        l->reply = sd_bus_message_unref(l->reply);
        *l = (DeviceList){};
}

const DeviceInfo *device_list_find(const DeviceList *l, const char *id)
{
        DeviceInfo key = {.id = id};

        if (l->n == 0)
                return NULL;
        return bsearch(&key, l->devices, l->n, sizeof(DeviceInfo), device_info_compare);
}

static int add_device_row(struct libscols_table *tb, const CtlArgs *arg, const CtlColumns *c,
                          const DeviceInfo *d)
{
        char node[16], range[64], size[TARGET_SIZE_STRING_MAX], blocks[16], online[16];
        const char *none = arg->json ? NULL : "-";
        const char *cells[_COL_MAX] = {};
        bool known = d->end != 0 && d->end >= d->start;

        snprintf(node, sizeof(node), "%" PRIu32, d->node);
        ctl_format_address_range(d->start, d->end, range, sizeof(range));
        if (arg->json)
                snprintf(size, sizeof(size), "%" PRIu64, d->end - d->start + 1);
        else
                target_format_size(d->end - d->start + 1, size);
        snprintf(blocks, sizeof(blocks), "%" PRIu32, d->blocks);
        snprintf(online, sizeof(online), "%" PRIu32, d->online_blocks);

        cells[COL_DEVICE] = d->id;
        cells[COL_SOURCE] = d->source;
        cells[COL_BACKING] = *d->backing ? d->backing : none;
        cells[COL_NODE] = d->node != MEMHP_NODE_UNKNOWN ? node : none;
        cells[COL_RANGE] = known ? range : none;
        cells[COL_SIZE] = known ? size : none;
        cells[COL_BLOCKS] = blocks;
        cells[COL_ONLINE] = online;
        cells[COL_ZONES] = *d->zones ? d->zones : none;
        return ctl_columns_add_row(tb, c, cells);
}

int verb_devices(char **args, size_t n_args, const CtlArgs *arg)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(ctl_table_unrefp) struct libscols_table *tb = NULL;
        _cleanup_(device_list_done) DeviceList l = {};
        CtlColumns c;
        bool help;
        int r;

        (void)args;
        (void)n_args;
        r = ctl_columns_select("devices", columns, _COL_MAX, arg->output, &c, &help);
        if (r != CTL_EXIT_SUCCESS || help)
                return r;
        if (ctl_bus_open(&bus) < 0 || ctl_list_devices(bus, &l) < 0)
                return CTL_EXIT_FAILURE;

        tb = ctl_table_new(arg, "devices");
        if (!tb || ctl_columns_add_to_table(tb, &c) < 0)
                return CTL_EXIT_FAILURE;
        for (size_t i = 0; i < l.n; i++) {
                if (arg->has_node && l.devices[i].node != arg->node)
                        continue;
                if (add_device_row(tb, arg, &c, &l.devices[i]) < 0)
                        return CTL_EXIT_FAILURE;
        }
        return ctl_table_print(tb) < 0 ? CTL_EXIT_FAILURE : CTL_EXIT_SUCCESS;
}
