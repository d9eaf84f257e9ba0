/* work_pool.c -- worker threads with hand-back to the event loop through a pipe
 * (work_pool.h).
 *
 * Shared state (under `lock`): the queue of jobs waiting for a worker, the list of jobs run and
 * not yet handed back, and the stop flag. A worker that puts a job on an empty `finished` list
 * writes one byte to the pipe; the loop, woken by it, empties the pipe first and then takes the
 * whole list, so a job finished in between is either taken now or finds the list empty and
 * writes its own byte: no wake-up is lost.
 */
/* pipe2() and the thread id for setpriority() are Linux (GNU) interfaces. */
#define _GNU_SOURCE
#include "common/work_pool.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <event2/event.h>

/* CPU priority of the workers, relative to the process (see work_pool.h). */
#define WORK_POOL_NICE 10

struct job {
    work_run_fn *run;
    work_done_fn *done;
    work_cancel_fn *cancel;
    void *arg;
    struct job *next;
};

struct job_list {
    struct job *head, *tail;
};

struct work_pool {
    struct event_base *base;
    int pipe_rd, pipe_wr;
    struct event *wake;
    pthread_t *threads;
    int nthreads; /* started */
    size_t queue_max;

    pthread_mutex_t lock;
    pthread_cond_t work_ready;
    struct job_list queued;   /* under lock */
    size_t n_queued;          /* under lock */
    struct job_list finished; /* under lock */
    int stop;                 /* under lock */

    size_t depth;     /* loop thread only */
    uint64_t refused; /* loop thread only */
};

static void list_push(struct job_list *l, struct job *j)
{
    j->next = NULL;
    if (l->tail)
        l->tail->next = j;
    else
        l->head = j;
    l->tail = j;
}

static struct job *list_pop(struct job_list *l)
{
    struct job *j = l->head;
    if (j) {
        l->head = j->next;
        if (l->head == NULL)
            l->tail = NULL;
    }
    return j;
}

static void *worker_main(void *arg)
{
    struct work_pool *wp = arg;
    /* Linux: a thread's nice value is its own. Best effort: refused, it runs at the loop's. */
    (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), WORK_POOL_NICE);
    for (;;) {
        pthread_mutex_lock(&wp->lock);
        while (!wp->stop && wp->queued.head == NULL)
            pthread_cond_wait(&wp->work_ready, &wp->lock);
        if (wp->stop) {
            pthread_mutex_unlock(&wp->lock);
            return NULL;
        }
        struct job *j = list_pop(&wp->queued);
        wp->n_queued--;
        pthread_mutex_unlock(&wp->lock);

        j->run(j->arg);

        pthread_mutex_lock(&wp->lock);
        int was_empty = wp->finished.head == NULL;
        list_push(&wp->finished, j);
        pthread_mutex_unlock(&wp->lock);
        if (was_empty) {
            /* Full pipe (EAGAIN): a wake-up is pending already. */
            ssize_t n;
            do
                n = write(wp->pipe_wr, "x", 1);
            while (n < 0 && errno == EINTR);
        }
    }
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct work_pool *wp = arg;
    char buf[64];
    while (read(fd, buf, sizeof(buf)) > 0)
        ;
    pthread_mutex_lock(&wp->lock);
    struct job_list done = wp->finished;
    wp->finished.head = wp->finished.tail = NULL;
    pthread_mutex_unlock(&wp->lock);
    struct job *j;
    while ((j = list_pop(&done)) != NULL) {
        wp->depth--;
        work_done_fn *fn = j->done;
        void *jarg = j->arg;
        free(j);
        fn(jarg);
    }
}

struct work_pool *work_pool_new(struct event_base *base, int threads, size_t queue_max,
                                char *errbuf, size_t errlen)
{
    struct work_pool *wp = calloc(1, sizeof(*wp));
    int fds[2] = {-1, -1};
    if (wp == NULL || threads < 1) {
        snprintf(errbuf, errlen, "work pool: %s", wp ? "no worker threads" : "out of memory");
        free(wp);
        return NULL;
    }
    wp->base = base;
    wp->queue_max = queue_max;
    wp->pipe_rd = wp->pipe_wr = -1;
    pthread_mutex_init(&wp->lock, NULL);
    pthread_cond_init(&wp->work_ready, NULL);
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
        snprintf(errbuf, errlen, "work pool: pipe: %s", strerror(errno));
        work_pool_free(wp);
        return NULL;
    }
    wp->pipe_rd = fds[0];
    wp->pipe_wr = fds[1];
    wp->wake = event_new(base, wp->pipe_rd, EV_READ | EV_PERSIST, on_wake, wp);
    wp->threads = calloc((size_t)threads, sizeof(*wp->threads));
    if (wp->wake == NULL || wp->threads == NULL || event_add(wp->wake, NULL) != 0) {
        snprintf(errbuf, errlen, "work pool: out of memory");
        work_pool_free(wp);
        return NULL;
    }
    for (int i = 0; i < threads; i++) {
        int rc = pthread_create(&wp->threads[i], NULL, worker_main, wp);
        if (rc != 0) {
            snprintf(errbuf, errlen, "work pool: cannot start a thread: %s", strerror(rc));
            work_pool_free(wp);
            return NULL;
        }
        wp->nthreads++;
    }
    return wp;
}

int work_pool_submit(struct work_pool *wp, work_run_fn *run, work_done_fn *done,
                     work_cancel_fn *cancel, void *arg)
{
    struct job *j = malloc(sizeof(*j));
    if (j == NULL) {
        wp->refused++;
        return -1;
    }
    j->run = run;
    j->done = done;
    j->cancel = cancel;
    j->arg = arg;
    pthread_mutex_lock(&wp->lock);
    int full = wp->n_queued >= wp->queue_max;
    if (!full) {
        list_push(&wp->queued, j);
        wp->n_queued++;
        pthread_cond_signal(&wp->work_ready);
    }
    pthread_mutex_unlock(&wp->lock);
    if (full) {
        free(j);
        wp->refused++;
        return -1;
    }
    wp->depth++;
    return 0;
}

size_t work_pool_depth(const struct work_pool *wp)
{
    return wp ? wp->depth : 0;
}

uint64_t work_pool_refused(const struct work_pool *wp)
{
    return wp ? wp->refused : 0;
}

static void cancel_all(struct job_list *l)
{
    struct job *j;
    while ((j = list_pop(l)) != NULL) {
        if (j->cancel)
            j->cancel(j->arg);
        free(j);
    }
}

void work_pool_free(struct work_pool *wp)
{
    if (wp == NULL)
        return;
    pthread_mutex_lock(&wp->lock);
    wp->stop = 1;
    pthread_cond_broadcast(&wp->work_ready);
    pthread_mutex_unlock(&wp->lock);
    for (int i = 0; i < wp->nthreads; i++)
        pthread_join(wp->threads[i], NULL);
    /* The workers are gone: the lists are the loop's alone now. */
    cancel_all(&wp->queued);
    cancel_all(&wp->finished);
    if (wp->wake)
        event_free(wp->wake);
    if (wp->pipe_rd >= 0)
        close(wp->pipe_rd);
    if (wp->pipe_wr >= 0)
        close(wp->pipe_wr);
    free(wp->threads);
    pthread_cond_destroy(&wp->work_ready);
    pthread_mutex_destroy(&wp->lock);
    free(wp);
}
