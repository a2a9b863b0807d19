/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Replays inputs through a fuzz target without libFuzzer: every argument is a file, or a
 * directory whose files (not hidden, not recursing) are replayed in name order. Used by the
 * 'fuzz-replay' test suite on the committed corpora, with any compiler, and handy for
 * reproducing a crash under gdb or valgrind:  build/fuzz/fuzz-conf crash-1234...
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Optional, as in libFuzzer. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int replay_file(const char *path, unsigned *count)
{
        FILE *f = fopen(path, "re");
        uint8_t *buf = NULL;
        size_t size = 0, alloc = 0;

        if (!f) {
                fprintf(stderr, "%s: %s\n", path, strerror(errno));
                return -1;
        }
        for (;;) {
                size_t k;

                if (size == alloc) {
                        uint8_t *b;

                        alloc = alloc ? alloc * 2 : 4096;
                        b = realloc(buf, alloc);
                        if (!b) {
                                fprintf(stderr, "%s: out of memory\n", path);
                                free(buf);
                                fclose(f);
                                return -1;
                        }
                        buf = b;
                }
                k = fread(buf + size, 1, alloc - size, f);
                size += k;
                if (k == 0)
                        break;
        }
        if (ferror(f)) {
                fprintf(stderr, "%s: read error\n", path);
                free(buf);
                fclose(f);
                return -1;
        }
        fclose(f);

        /* Exactly the bytes of the file, in a buffer of that size, as libFuzzer passes them. */
        uint8_t *exact = malloc(size ? size : 1);
        if (!exact) {
                free(buf);
                return -1;
        }
        if (size)
                memcpy(exact, buf, size);
        free(buf);
        printf("replay %s (%zu bytes)\n", path, size);
        fflush(stdout);
        (void)LLVMFuzzerTestOneInput(exact, size);
        free(exact);
        (*count)++;
        return 0;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static int replay_dir(const char *dir, unsigned *count)
{
        DIR *d = opendir(dir);
        struct dirent *de;
        char **names = NULL;
        size_t n = 0;
        int r = 0;

        if (!d) {
                fprintf(stderr, "%s: %s\n", dir, strerror(errno));
                return -1;
        }
        while ((de = readdir(d))) {
                char **l;

                if (de->d_name[0] == '.')
                        continue;
                l = realloc(names, (n + 1) * sizeof(*names));
                if (!l || !(l[n] = strdup(de->d_name))) {
                        names = l ? l : names;
                        r = -1;
                        break;
                }
                names = l;
                n++;
        }
        closedir(d);
        if (n > 1)
                qsort(names, n, sizeof(*names), cmp_str);
        for (size_t i = 0; i < n; i++) {
                char *path;
                struct stat st;

                if (r == 0 && asprintf(&path, "%s/%s", dir, names[i]) >= 0) {
                        if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
                            replay_file(path, count) < 0)
                                r = -1;
                        free(path);
                }
                free(names[i]);
        }
        free(names);
        return r;
}

int main(int argc, char **argv)
{
        unsigned count = 0;
        int r = 0;

        if (LLVMFuzzerInitialize)
                (void)LLVMFuzzerInitialize(&argc, &argv);
        if (argc < 2) {
                fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
                return 2;
        }
        for (int i = 1; i < argc; i++) {
                struct stat st;

                if (stat(argv[i], &st) < 0) {
                        fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
                        r = -1;
                } else if (S_ISDIR(st.st_mode)) {
                        if (replay_dir(argv[i], &count) < 0)
                                r = -1;
                } else if (replay_file(argv[i], &count) < 0)
                        r = -1;
        }
        printf("%u inputs replayed%s\n", count, r < 0 ? ", some could not be read" : "");
        /* An empty corpus is a mistake in the tree, not a pass. */
        return r < 0 || count == 0 ? 1 : 0;
}
