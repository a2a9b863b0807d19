/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The worker thread that performs memoryN/state writes with deadlines and cancellation. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "time-util.h"
#include "macro.h"
#include "writer.h"

#define WRITER_SIGNAL SIGUSR2
/* After the first interrupt, poke again this often: the kernel may restart the wait. */
#define REPOKE_NSEC (50 * 1000 * 1000)

struct Writer {
        const Sysfs *sysfs;
        writer_done_t done;
        void *userdata;

        pthread_t thread;
        bool thread_started;
        pid_t tid;
        timer_t timer;
        bool timer_created;

        pthread_mutex_t lock;
        pthread_cond_t cond;
        WriteJob *queue_head, *queue_tail; /* submitted, not started */
        WriteJob *done_head, *done_tail;   /* finished, not yet reported */
        WriteJob *current;
        bool quit;
        atomic_int interrupt_reason; /* 0, -ETIMEDOUT or -ECANCELED for the current job */
        uint64_t timeout_usec;
        unsigned pending; /* submitted and not yet reported */

        int efd;
        sd_event_source *source;
};

static void noop_handler(int sig)
{
        (void)sig;
}

static void arm_timer(Writer *w, uint64_t first_nsec)
{
        struct itimerspec its = {
                .it_value = {.tv_sec = (time_t)(first_nsec / 1000000000),
                             .tv_nsec = (long)(first_nsec % 1000000000)},
                .it_interval = {.tv_nsec = REPOKE_NSEC},
        };
        if (first_nsec == 0)
                its = (struct itimerspec){}; /* disarm */
        timer_settime(w->timer, 0, &its, NULL);
}

static void push(WriteJob **head, WriteJob **tail, WriteJob *j)
{
        j->next = NULL;
        if (*tail)
                (*tail)->next = j;
        else
                *head = j;
        *tail = j;
}

static void finish_locked(Writer *w, WriteJob *j)
{
        uint64_t one = 1;

        push(&w->done_head, &w->done_tail, j);
        /* eventfd writes never fail short of a bug; the loop also drains on the next wakeup. */
        (void)!write(w->efd, &one, sizeof(one));
}

static void *writer_thread(void *p)
{
        Writer *w = p;
        sigset_t ss;

        w->tid = gettid();
        sigemptyset(&ss);
        sigaddset(&ss, WRITER_SIGNAL);
        pthread_sigmask(SIG_UNBLOCK, &ss, NULL);

        pthread_mutex_lock(&w->lock);
        for (;;) {
                WriteJob *j;
                uint64_t t0, timeout;
                int r, reason;

                while (!w->queue_head && !w->quit)
                        pthread_cond_wait(&w->cond, &w->lock);
                if (w->quit)
                        break;
                j = w->queue_head;
                w->queue_head = j->next;
                if (!w->queue_head)
                        w->queue_tail = NULL;
                w->current = j;
                atomic_store(&w->interrupt_reason, 0);
                timeout = w->timeout_usec;
                pthread_mutex_unlock(&w->lock);

                t0 = now_usec();
                if (timeout > 0)
                        arm_timer(w, timeout * 1000);
                r = memblock_apply(w->sysfs, j->block, j->action, &j->zone);
                if (timeout > 0)
                        arm_timer(w, 0);
                j->usec = now_usec() - t0;

                pthread_mutex_lock(&w->lock);
                w->current = NULL;
                reason = atomic_load(&w->interrupt_reason);
                /* A deadline or cancel that arrived before the write finished wins over EINTR. */
                if (r == -EINTR && reason == 0)
                        reason = -ETIMEDOUT;
                j->result = (r == -EINTR) ? reason : r;
                finish_locked(w, j);
        }
        pthread_mutex_unlock(&w->lock);
        return NULL;
}

static int on_done(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Writer *w = userdata;
        WriteJob *list;
        uint64_t v;

        (void)s;
        (void)revents;
        (void)!read(fd, &v, sizeof(v));

        pthread_mutex_lock(&w->lock);
        list = w->done_head;
        w->done_head = w->done_tail = NULL;
        pthread_mutex_unlock(&w->lock);

        while (list) {
                WriteJob *j = list;
                list = j->next;
                w->pending--;
                w->done(j, w->userdata);
                free(j);
        }
        return 0;
}

int writer_new(sd_event *e, const Sysfs *s, writer_done_t done, void *userdata, Writer **ret)
{
        struct sigaction sa = {.sa_handler = noop_handler}; /* no SA_RESTART: EINTR is the point */
        _cleanup_(writer_freep) Writer *w = NULL;
        struct sigevent sev = {};
        sigset_t ss;
        int r;

        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        /* writer_free() copes with every step below having failed: no fd, source or thread. */
        w->efd = -EBADF;
        w->sysfs = s;
        w->done = done;
        w->userdata = userdata;
        w->timeout_usec = 30 * 1000000ULL;
        pthread_mutex_init(&w->lock, NULL);
        pthread_cond_init(&w->cond, NULL);

        if (sigaction(WRITER_SIGNAL, &sa, NULL) < 0)
                return -errno;
        /* Only the worker takes the signal; every other thread keeps it blocked. */
        sigemptyset(&ss);
        sigaddset(&ss, WRITER_SIGNAL);
        pthread_sigmask(SIG_BLOCK, &ss, NULL);

        w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (w->efd < 0)
                return -errno;
        r = sd_event_add_io(e, &w->source, w->efd, EPOLLIN, on_done, w);
        if (r < 0)
                return r;

        r = -pthread_create(&w->thread, NULL, writer_thread, w);
        if (r < 0)
                return r;
        w->thread_started = true;
        while (__atomic_load_n(&w->tid, __ATOMIC_ACQUIRE) == 0)
                sched_yield();

        sev.sigev_notify = SIGEV_THREAD_ID;
        sev.sigev_signo = WRITER_SIGNAL;
        sev._sigev_un._tid = w->tid;
        if (timer_create(CLOCK_MONOTONIC, &sev, &w->timer) < 0)
                return -errno;
        w->timer_created = true;
        *ret = TAKE_PTR(w);
        return 0;
}

Writer *writer_free(Writer *w)
{
        if (!w)
                return NULL;
        if (w->thread_started) {
                pthread_mutex_lock(&w->lock);
                w->quit = true;
                pthread_cond_signal(&w->cond);
                if (w->current) {
                        atomic_store(&w->interrupt_reason, -ECANCELED);
                        if (w->timer_created)
                                arm_timer(w, 1);
                }
                pthread_mutex_unlock(&w->lock);
                pthread_join(w->thread, NULL);
        }
        if (w->timer_created)
                timer_delete(w->timer);
        for (WriteJob *l = w->queue_head; l;) {
                WriteJob *n = l->next;
                free(l);
                l = n;
        }
        for (WriteJob *l = w->done_head; l;) {
                WriteJob *n = l->next;
                free(l);
                l = n;
        }
        sd_event_source_disable_unref(w->source);
        if (w->efd >= 0)
                close(w->efd);
        pthread_mutex_destroy(&w->lock);
        pthread_cond_destroy(&w->cond);
        free(w);
        return NULL;
}

void writer_set_timeout(Writer *w, uint64_t usec)
{
        pthread_mutex_lock(&w->lock);
        w->timeout_usec = usec;
        pthread_mutex_unlock(&w->lock);
}

int writer_submit(Writer *w, uint32_t block, MemAction action, uint64_t cookie)
{
        WriteJob *j = calloc(1, sizeof(*j));

        if (!j)
                return -ENOMEM;
        j->block = block;
        j->action = action;
        j->cookie = cookie;
        pthread_mutex_lock(&w->lock);
        push(&w->queue_head, &w->queue_tail, j);
        w->pending++;
        pthread_cond_signal(&w->cond);
        pthread_mutex_unlock(&w->lock);
        return 0;
}

void writer_cancel(Writer *w, uint64_t cookie)
{
        WriteJob *keep_head = NULL, *keep_tail = NULL;

        pthread_mutex_lock(&w->lock);
        for (WriteJob *l = w->queue_head; l;) {
                WriteJob *n = l->next;
                if (l->cookie == cookie) {
                        l->result = -ECANCELED;
                        finish_locked(w, l);
                } else
                        push(&keep_head, &keep_tail, l);
                l = n;
        }
        w->queue_head = keep_head;
        w->queue_tail = keep_tail;
        if (w->current && w->current->cookie == cookie) {
                atomic_store(&w->interrupt_reason, -ECANCELED);
                arm_timer(w, 1);
        }
        pthread_mutex_unlock(&w->lock);
}

unsigned writer_pending(const Writer *w)
{
        return w->pending;
}
