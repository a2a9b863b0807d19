/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Replays inputs through a fuzz target without libFuzzer: every argument is a file, or a
 * directory whose files (not hidden, not recursing) are replayed in name order. Used by the
 * 'fuzz-replay' test suite on the committed corpora, with any compiler, and handy for
 * reproducing a crash under gdb or valgrind:  build/fuzz/fuzz-conf crash-1234...
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fileio.h"
#include "fuzz.h"
#include "macro.h"
#include "strv.h"

/* Optional, as in libFuzzer. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int replay_file(const char *path, unsigned *count)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        _cleanup_free_ char *buf = NULL;
        _cleanup_free_ uint8_t *exact = NULL;
        size_t size;
        int r;

        if (fd < 0) {
                fprintf(stderr, "%s: %s\n", path, strerror(errno));
                return -1;
        }
        r = read_full_fd(fd, SIZE_MAX, &buf, &size);
        if (r < 0) {
                fprintf(stderr, "%s: %s\n", path, strerror(-r));
                return -1;
        }

        /* Exactly the bytes of the file, in a buffer of that size, as libFuzzer passes them. */
        exact = malloc(size ? size : 1);
        if (!exact)
                return -1;
        if (size)
                memcpy(exact, buf, size);
        printf("replay %s (%zu bytes)\n", path, size);
        fflush(stdout);
        (void)LLVMFuzzerTestOneInput(exact, size);
        (*count)++;
        return 0;
}

static int replay_dir(const char *dir, unsigned *count)
{
        _cleanup_closedir_ DIR *d = opendir(dir);
        _cleanup_strv_free_ char **names = NULL;
        struct dirent *de;

        if (!d) {
                fprintf(stderr, "%s: %s\n", dir, strerror(errno));
                return -1;
        }
        while ((de = readdir(d)))
                if (de->d_name[0] != '.' && strv_extend(&names, de->d_name) < 0)
                        return -1;
        strv_sort(names);
        for (size_t i = 0; names && names[i]; i++) {
                _cleanup_free_ char *path = NULL;
                struct stat st;

                if (asprintf(&path, "%s/%s", dir, names[i]) < 0)
                        return -1;
                if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && replay_file(path, count) < 0)
                        return -1;
        }
        return 0;
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
