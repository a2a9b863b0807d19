/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * main() of every unit test binary: runs the tests that TEST() registered, in source order.
 *
 *   test-<module>            every test
 *   test-<module> NAME...    only those (an unknown name is an error, not a silent pass)
 *   test-<module> --list     the names, one a line
 *
 * A failing check aborts the binary; a binary that registered no test at all fails, so a
 * module whose tests were lost from the build cannot pass by running nothing.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test-util.h"

static TestCase *registered;
static size_t n_registered;

void test_register(TestCase *t)
{
        t->next = registered;
        registered = t;
        n_registered++;
}

static int cmp_source_order(const void *a, const void *b)
{
        const TestCase *x = *(TestCase *const *)a, *y = *(TestCase *const *)b;
        int c = strcmp(x->file, y->file);

        return c != 0 ? c : (x->line > y->line) - (x->line < y->line);
}

static const TestCase *find(TestCase **tests, size_t n, const char *name)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(tests[i]->name, name) == 0)
                        return tests[i];
        return NULL;
}

int main(int argc, char *argv[])
{
        TestCase **tests;
        size_t n = 0, ran = 0;
        bool list = argc == 2 && strcmp(argv[1], "--list") == 0;

        if (n_registered == 0) {
                fprintf(stderr, "%s: no tests registered\n", argv[0]);
                return EXIT_FAILURE;
        }
        tests = calloc(n_registered, sizeof(*tests));
        if (!tests)
                return EXIT_FAILURE;
        for (TestCase *t = registered; t; t = t->next)
                tests[n++] = t;
        qsort(tests, n, sizeof(*tests), cmp_source_order);

        /* Names select tests: two tests of one name (static in two files) would be ambiguous. */
        for (size_t i = 0; i < n; i++)
                for (size_t j = i + 1; j < n; j++)
                        if (strcmp(tests[i]->name, tests[j]->name) == 0) {
                                fprintf(stderr, "%s: test '%s' is defined at %s:%d and %s:%d\n",
                                        argv[0], tests[i]->name, tests[i]->file, tests[i]->line,
                                        tests[j]->file, tests[j]->line);
                                free(tests);
                                return EXIT_FAILURE;
                        }

        if (list) {
                for (size_t i = 0; i < n; i++)
                        printf("%s\n", tests[i]->name);
                free(tests);
                return EXIT_SUCCESS;
        }
        for (int a = 1; a < argc; a++)
                if (!find(tests, n, argv[a])) {
                        fprintf(stderr, "%s: no test named '%s' (--list shows them)\n", argv[0],
                                argv[a]);
                        free(tests);
                        return EXIT_FAILURE;
                }

        for (size_t i = 0; i < n; i++) {
                bool selected = argc == 1;

                for (int a = 1; a < argc && !selected; a++)
                        selected = strcmp(tests[i]->name, argv[a]) == 0;
                if (!selected)
                        continue;
                fprintf(stderr, "== %s\n", tests[i]->name);
                tests[i]->func();
                ran++;
        }
        fprintf(stderr, "%zu tests passed%s\n", ran, ran < n ? " (the others not selected)" : "");
        free(tests);
        return EXIT_SUCCESS;
}
