/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for lib/fileio.c: sizes around the growth steps and the cap, pipes, errors. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"
#include "test-util.h"

/* A memfd holding @n bytes of a known pattern, offset at 0. */
static int pattern_fd(size_t n)
{
        _cleanup_free_ char *b = malloc(n + 1);
        int fd = memfd_create("test-fileio", MFD_CLOEXEC);

        ASSERT_TRUE(fd >= 0 && b);
        for (size_t i = 0; i < n; i++)
                b[i] = (char)('a' + i % 26);
        ASSERT_EQ(write(fd, b, n), (ssize_t)n);
        ASSERT_EQ(lseek(fd, 0, SEEK_SET), 0);
        return fd;
}

static void check_pattern(const char *b, size_t n)
{
        for (size_t i = 0; i < n; i++)
                ASSERT_EQ(b[i], 'a' + i % 26);
        ASSERT_EQ(b[n], 0);
}

TEST(sizes)
{
        static const size_t sizes[] = {0, 1, 4094, 4095, 4096, 4097, 8191, 8192, 100000};

        for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
                _cleanup_close_ int fd = pattern_fd(sizes[i]);
                _cleanup_free_ char *b = NULL;
                size_t n = 77;

                ASSERT_OK(read_full_fd(fd, SIZE_MAX, &b, &n));
                ASSERT_EQ(n, sizes[i]);
                check_pattern(b, n);
        }
}

TEST(cap)
{
        for (size_t size = 4094; size <= 4098; size++) {
                _cleanup_close_ int fd = pattern_fd(size);
                _cleanup_free_ char *b = NULL;
                int r;

                /* Exactly @max bytes is fine, one more is refused and nothing is returned. */
                r = read_full_fd(fd, 4096, &b, NULL);
                if (size <= 4096) {
                        ASSERT_OK(r);
                        check_pattern(b, size);
                } else {
                        ASSERT_ERROR(r, EFBIG);
                        ASSERT_TRUE(b == NULL);
                }
        }

        _cleanup_close_ int fd = pattern_fd(1);
        _cleanup_free_ char *b = NULL;
        ASSERT_ERROR(read_full_fd(fd, 0, &b, NULL), EFBIG);
}

TEST(nul_bytes_and_offset)
{
        _cleanup_close_ int fd = memfd_create("test-fileio", MFD_CLOEXEC);
        _cleanup_free_ char *b = NULL;
        size_t n;

        ASSERT_EQ(write(fd, "skip\0in\0side", 13), 13);
        /* From the current offset on, as read() goes. */
        ASSERT_EQ(lseek(fd, 4, SEEK_SET), 4);
        ASSERT_OK(read_full_fd(fd, 100, &b, &n));
        ASSERT_EQ(n, 9);
        ASSERT_EQ(memcmp(b, "\0in\0side", 9), 0);
}

TEST(pipe_in_small_writes)
{
        _cleanup_free_ char *b = NULL;
        int p[2], status;
        size_t n;
        pid_t pid;

        ASSERT_OK(pipe2(p, O_CLOEXEC));
        pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                close(p[0]);
                for (int i = 0; i < 3000; i++)
                        if (write(p[1], "0123456789", 10) != 10)
                                _exit(1);
                _exit(0);
        }
        close(p[1]);
        ASSERT_OK(read_full_fd(p[0], SIZE_MAX, &b, &n));
        close(p[0]);
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        ASSERT_EQ(n, 30000);
        for (size_t i = 0; i < n; i++)
                ASSERT_EQ(b[i], '0' + i % 10);
}

TEST(read_error)
{
        _cleanup_free_ char *b = NULL;
        _cleanup_close_ int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        ASSERT_ERROR(read_full_fd(-1, 10, &b, NULL), EBADF);
        ASSERT_TRUE(fd >= 0);
        ASSERT_ERROR(read_full_fd(fd, 10, &b, NULL), EISDIR);
        ASSERT_TRUE(b == NULL);
}
