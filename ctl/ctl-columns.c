/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Column choice for the listings (`list -o RANGE,SOURCE`, `devices -o DEVICE`), as lsmem's -o
 * works: names are case-insensitive, "+A,B" appends to the default columns, "help" lists them.
 */
#include <assert.h>
#include <errno.h>
#include <libsmartcols.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ctl.h"
#include "log.h"
#include "strutil.h"

static void print_columns_help(const char *verb, const CtlColumn *all, size_t n_all)
{
        size_t width = 0;
        bool first = true;

        for (size_t i = 0; i < n_all; i++)
                width = MAX(width, strlen(all[i].name));
        printf("Columns of 'memhpctl %s' (default: ", verb);
        for (size_t i = 0; i < n_all; i++)
                if (all[i].flags & CTL_COLUMN_DEFAULT) {
                        printf("%s%s", first ? "" : ",", all[i].name);
                        first = false;
                }
        printf("):\n");
        for (size_t i = 0; i < n_all; i++)
                printf("  %-*s  %s\n", (int)width, all[i].name, all[i].help);
}

static bool shown(const CtlColumns *c, unsigned id)
{
        for (size_t i = 0; i < c->n_shown; i++)
                if (c->shown[i] == id)
                        return true;
        return false;
}

/* One name of a -o list, [start, start + len), into the selection. */
static int select_one(const char *verb, const CtlColumn *all, size_t n_all, const char *start,
                      size_t len, CtlColumns *c)
{
        for (unsigned id = 0; id < n_all; id++) {
                if (strlen(all[id].name) != len || strncasecmp(all[id].name, start, len) != 0)
                        continue;
                if (shown(c, id)) {
                        log_error("Column '%s' is named twice.", all[id].name);
                        return CTL_EXIT_USAGE;
                }
                c->shown[c->n_shown++] = id;
                return CTL_EXIT_SUCCESS;
        }
        if (len == 0)
                log_error("Empty column name in the list of columns; 'memhpctl %s -o help' "
                          "lists them.",
                          verb);
        else
                log_error("Unknown column '%.*s' for '%s'; 'memhpctl %s -o help' lists them.",
                          (int)len, start, verb, verb);
        return CTL_EXIT_USAGE;
}

int ctl_columns_select(const char *verb, const CtlColumn *all, size_t n_all, const char *spec,
                       CtlColumns *ret, bool *ret_help)
{
        CtlColumns c = {.all = all, .n_all = n_all};
        int r;

        assert(n_all <= CTL_COLUMNS_MAX);
        *ret_help = false;
        if (spec && strcasecmp(spec, "help") == 0) {
                print_columns_help(verb, all, n_all);
                *ret_help = true;
                return CTL_EXIT_SUCCESS;
        }
        /* No -o, or "+A,B": the defaults first. */
        if (!spec || spec[0] == '+')
                for (unsigned id = 0; id < n_all; id++)
                        if (all[id].flags & CTL_COLUMN_DEFAULT)
                                c.shown[c.n_shown++] = id;
        if (spec) {
                const char *p = spec[0] == '+' ? spec + 1 : spec;

                for (;;) {
                        size_t len = strcspn(p, ",");

                        r = select_one(verb, all, n_all, p, len, &c);
                        if (r != CTL_EXIT_SUCCESS)
                                return r;
                        if (!p[len])
                                break;
                        p += len + 1;
                }
        }
        *ret = c;
        return CTL_EXIT_SUCCESS;
}

bool ctl_columns_shown(const CtlColumns *c, unsigned id)
{
        return shown(c, id);
}

int ctl_columns_add_to_table(struct libscols_table *tb, const CtlColumns *c)
{
        for (size_t i = 0; i < c->n_shown; i++) {
                const CtlColumn *col = &c->all[c->shown[i]];
                int r;

                if (col->flags & CTL_COLUMN_BOOLEAN)
                        r = ctl_table_add_column_json(tb, col->name, SCOLS_JSON_BOOLEAN);
                else
                        r = ctl_table_add_column(tb, col->name, col->flags & CTL_COLUMN_RIGHT,
                                                 col->flags & CTL_COLUMN_NUMBER);
                if (r < 0)
                        return r;
        }
        return 0;
}

int ctl_columns_add_row(struct libscols_table *tb, const CtlColumns *c, const char *const *cells)
{
        struct libscols_line *ln = scols_table_new_line(tb, NULL);

        if (!ln)
                return log_oom();
        for (size_t i = 0; i < c->n_shown; i++) {
                const char *cell = cells[c->shown[i]];

                if (cell && scols_line_set_data(ln, i, cell) < 0)
                        return log_oom();
        }
        return 0;
}
