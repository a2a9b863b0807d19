/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Output tables through libsmartcols, the library lsmem uses: same look, same JSON. */
#include <errno.h>
#include <libsmartcols.h>
#include <stdarg.h>

#include "ctl.h"
#include "log.h"

void ctl_table_unrefp(struct libscols_table **tb)
{
        scols_unref_table(*tb);
}

struct libscols_table *ctl_table_new(const CtlArgs *arg, const char *json_name)
{
        struct libscols_table *tb = scols_new_table();

        if (!tb) {
                log_oom();
                return NULL;
        }
        if (arg->json) {
                scols_table_enable_json(tb, 1);
                /* The name of the JSON array, like lsmem's "memory". */
                scols_table_set_name(tb, json_name);
        }
        scols_table_enable_noheadings(tb, !arg->legend);
        return tb;
}

int ctl_table_add_column(struct libscols_table *tb, const char *name, bool right, bool number)
{
        struct libscols_column *cl =
                scols_table_new_column(tb, name, 0, right ? SCOLS_FL_RIGHT : 0);

        if (!cl)
                return log_oom();
        if (number && scols_column_set_json_type(cl, SCOLS_JSON_NUMBER) < 0)
                return log_oom();
        return 0;
}

int ctl_table_add_column_json(struct libscols_table *tb, const char *name, int json_type)
{
        struct libscols_column *cl = scols_table_new_column(tb, name, 0, 0);

        if (!cl || scols_column_set_json_type(cl, json_type) < 0)
                return log_oom();
        return 0;
}

int ctl_table_add_row(struct libscols_table *tb, size_t n_cells, ...)
{
        struct libscols_line *ln = scols_table_new_line(tb, NULL);
        va_list ap;
        int r = 0;

        if (!ln)
                return log_oom();
        va_start(ap, n_cells);
        for (size_t i = 0; i < n_cells; i++) {
                const char *cell = va_arg(ap, const char *);

                if (cell && scols_line_set_data(ln, i, cell) < 0) {
                        r = log_oom();
                        break;
                }
        }
        va_end(ap);
        return r;
}

int ctl_table_print(struct libscols_table *tb)
{
        int r = scols_print_table(tb);

        if (r < 0)
                return log_error_errno(r, "Failed to print the table: %m");
        if (fflush(stdout) != 0)
                return log_error_errno(negative_errno(), "Failed to write the output: %m");
        return 0;
}
