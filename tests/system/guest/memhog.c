/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * memhog MIB: the system tier's memory pressure. Maps MIB MiB of anonymous memory, touches
 * every page (the guest has no swap: none of it can be reclaimed), prints "@@HOG MIB" and
 * sleeps until killed. Anonymous, not tmpfs: should the OOM killer run, killing the hog frees
 * its memory, so nothing else has to die for it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
        long page = sysconf(_SC_PAGESIZE);
        size_t len;
        char *p;

        if (argc != 2 || atol(argv[1]) <= 0) {
                fprintf(stderr, "usage: memhog MIB\n");
                return 64;
        }
        len = (size_t)atol(argv[1]) << 20;
        p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
                perror("memhog: mmap");
                return 1;
        }
        for (size_t off = 0; off < len; off += (size_t)page)
                p[off] = 1;
        printf("@@HOG %s\n", argv[1]);
        fflush(stdout);
        for (;;)
                pause();
}
