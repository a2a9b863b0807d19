/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * stepgate: makes a kernel refusal hit step k of a memhpd operation, not step 0, without racing.
 *
 *   stepgate PID BLOCK FILE VALUE TMO_MS
 *
 * memhpd performs an operation's writes one after the other on its writer thread. stepgate
 * traces every thread of PID except the main one (ptrace, syscall stops only) and, when one of
 * them enters open()/openat()/openat2() on "BLOCK/state" (memhpd's openat2(memory_fd,
 * "memory43/state")), writes VALUE to FILE (the memory notifier error injection) before it lets
 * that open go on. At that moment every earlier step has returned from the kernel and nothing
 * of the step on BLOCK has reached it: the refusal lands exactly on BLOCK, whatever the timing.
 *
 * FILE "kill" sends signal VALUE to PID instead, with the writer held at that open: the system
 * tier's "kill -9 in the middle of an offline transaction", after exactly the earlier steps.
 *
 * Prints "@@GATE armed" once every thread is traced (the host starts the operation only then),
 * "@@GATE fired BLOCK" when it acted. Exit status: 0 fired, 1 timeout or memhpd gone, 2 refused
 * or usage. Only runs inside the test VM (guest marker file and kernel command line word).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_THREADS 64

static pid_t tids[MAX_THREADS];
static int n_tids;

static int in_guest(void)
{
        char buf[4096];
        ssize_t n;
        int fd;

        if (access("/etc/memhpd-vm-guest", F_OK) != 0)
                return 0;
        fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return 0;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
                return 0;
        buf[n] = 0;
        for (char *p = strtok(buf, " \n"); p; p = strtok(NULL, " \n"))
                if (!strcmp(p, "memhpd_vm_guest"))
                        return 1;
        return 0;
}

/* A NUL-terminated string of the tracee, page by page (a read must not cross into a hole). */
static int read_string(pid_t tid, unsigned long addr, char *buf, size_t len)
{
        size_t got = 0;

        while (got < len - 1) {
                size_t chunk = 4096 - ((addr + got) & 4095);
                struct iovec local, remote;
                ssize_t n;

                if (chunk > len - 1 - got)
                        chunk = len - 1 - got;
                local = (struct iovec){buf + got, chunk};
                remote = (struct iovec){(void *)(addr + got), chunk};
                n = process_vm_readv(tid, &local, 1, &remote, 1, 0);
                if (n <= 0)
                        return -1;
                if (memchr(buf + got, 0, (size_t)n))
                        return 0;
                got += (size_t)n;
        }
        buf[len - 1] = 0;
        return 0;
}

/* "memory43/state" or ".../memory43/state" */
static int is_state_of(const char *path, const char *block)
{
        char want[64];
        size_t lp = strlen(path), lw;

        snprintf(want, sizeof(want), "%s/state", block);
        lw = strlen(want);
        return lp >= lw && !strcmp(path + lp - lw, want) && (lp == lw || path[lp - lw - 1] == '/');
}

static int write_file(const char *file, const char *value)
{
        int fd = open(file, O_WRONLY | O_CLOEXEC);
        ssize_t n;

        if (fd < 0)
                return -errno;
        n = write(fd, value, strlen(value));
        if (n < 0) {
                n = -errno;
                close(fd);
                return (int)n;
        }
        return close(fd) < 0 ? -errno : 0;
}

static void on_alarm(int sig)
{
        (void)sig;
        printf("@@GATE timeout\n");
        /* The kernel detaches every tracee when its tracer exits. */
        _exit(1);
}

static void forget(pid_t tid)
{
        for (int i = 0; i < n_tids; i++)
                if (tids[i] == tid)
                        tids[i] = tids[--n_tids];
}

int main(int argc, char **argv)
{
        char dir[64], path[512];
        int pid, timeout_ms, unarmed = 0, armed_said = 0;
        const char *block, *file, *value;
        struct sigaction sa = {.sa_handler = on_alarm};
        struct dirent *de;
        DIR *d;

        setvbuf(stdout, NULL, _IOLBF, 0);
        if (argc != 6) {
                fprintf(stderr, "usage: stepgate PID BLOCK FILE VALUE TMO_MS\n");
                return 2;
        }
        if (!in_guest()) {
                fprintf(stderr, "stepgate: not in the memhpd test VM, refusing\n");
                return 2;
        }
        pid = atoi(argv[1]);
        block = argv[2];
        file = argv[3];
        value = argv[4];
        timeout_ms = atoi(argv[5]);
        sigaction(SIGALRM, &sa, NULL);
        alarm((unsigned)(timeout_ms + 999) / 1000);

        snprintf(dir, sizeof(dir), "/proc/%d/task", pid);
        d = opendir(dir);
        if (!d) {
                perror(dir);
                return 1;
        }
        while ((de = readdir(d)) && n_tids < MAX_THREADS) {
                pid_t tid = atoi(de->d_name);

                if (tid <= 0 || tid == pid)
                        continue;
                if (ptrace(PTRACE_SEIZE, tid, 0, PTRACE_O_TRACESYSGOOD) < 0 ||
                    ptrace(PTRACE_INTERRUPT, tid, 0, 0) < 0) {
                        fprintf(stderr, "stepgate: trace thread %d: %m\n", tid);
                        return 1;
                }
                tids[n_tids++] = tid;
                unarmed++;
        }
        closedir(d);
        if (n_tids == 0) {
                fprintf(stderr, "stepgate: %d has no thread besides its main one\n", pid);
                return 1;
        }

        for (;;) {
                int status, sig, event;
                pid_t tid = waitpid(-1, &status, __WALL);

                if (tid < 0) {
                        if (errno == EINTR)
                                continue;
                        printf("@@GATE tracee gone\n");
                        return 1;
                }
                if (WIFEXITED(status) || WIFSIGNALED(status)) {
                        forget(tid);
                        if (n_tids == 0) {
                                printf("@@GATE tracee gone\n");
                                return 1;
                        }
                        continue;
                }
                if (!WIFSTOPPED(status))
                        continue;
                sig = WSTOPSIG(status);
                event = status >> 16;
                if (event == PTRACE_EVENT_STOP) {
                        /* Our PTRACE_INTERRUPT: from now on every syscall of this thread stops. */
                        if (unarmed > 0 && --unarmed == 0 && !armed_said) {
                                armed_said = 1;
                                printf("@@GATE armed %d thread(s)\n", n_tids);
                        }
                        ptrace(PTRACE_SYSCALL, tid, 0, 0);
                        continue;
                }
                if (sig == (SIGTRAP | 0x80)) {
                        struct __ptrace_syscall_info info;

                        if (ptrace(PTRACE_GET_SYSCALL_INFO, tid, sizeof(info), &info) > 0 &&
                            info.op == PTRACE_SYSCALL_INFO_ENTRY &&
                            (info.entry.nr == SYS_open || info.entry.nr == SYS_openat ||
                             info.entry.nr == SYS_openat2) &&
                            read_string(tid,
                                        (unsigned long)(info.entry.nr == SYS_open
                                                                ? info.entry.args[0]
                                                                : info.entry.args[1]),
                                        path, sizeof(path)) == 0 &&
                            is_state_of(path, block)) {
                                int r = strcmp(file, "kill")         ? write_file(file, value)
                                        : kill(pid, atoi(value)) < 0 ? -errno
                                                                     : 0;

                                if (r < 0)
                                        printf("@@GATE write %s: %s\n", file, strerror(-r));
                                else
                                        printf("@@GATE fired %s\n", block);
                                /* This thread goes on into its open; the others are detached
                                 * by the kernel when we exit. */
                                ptrace(PTRACE_DETACH, tid, 0, 0);
                                return r < 0 ? 1 : 0;
                        }
                        ptrace(PTRACE_SYSCALL, tid, 0, 0);
                        continue;
                }
                /* A signal for the thread (memhpd's writer deadline is SIGUSR2): deliver it. */
                ptrace(PTRACE_SYSCALL, tid, 0, sig);
        }
}
