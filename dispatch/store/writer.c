/* writer.c -- the single-writer job queue (see writer.h). */
#define LOG_TAG "writer"
#include "store/writer.h"

#include "common/log.h"

#include <assert.h>
#include <stdlib.h>

#include <event2/event.h>

struct writer_job {
    struct writer_job *next;
    writer_run_fn *run;
    writer_cancel_fn *cancel;
    void *arg;
};

struct writer {
    struct store *store;
    struct writer_job *head, *tail; /* head is the running job while `running` */
    size_t pending;
    int running;
    /* Jobs are started from a zero-delay timer, never recursively from the previous job's
     * callback, so a long queue cannot grow the stack and every job starts outside hiredis'
     * reply callback. */
    struct event *kick;
    /* The current job's commit callback, wrapped so the writer advances after it. */
    store_reply_fn *done;
    void *done_arg;
    writer_lost_fn *lost;
    void *lost_arg;
    int paused;
};

static void writer_kick(struct writer *w)
{
    if (!w->running && !w->paused && w->head) {
        struct timeval now = {0, 0};
        evtimer_add(w->kick, &now);
    }
}

static void writer_next(struct writer *w)
{
    /* Only the running job ends itself, once (writer_commit's callback or writer_finish). */
    assert(w->running && w->head != NULL && w->pending > 0);
    struct writer_job *job = w->head;
    w->head = job->next;
    if (w->head == NULL)
        w->tail = NULL;
    free(job);
    w->pending--;
    w->running = 0;
    writer_kick(w);
}

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct writer *w = arg;
    if (w->running || w->paused || w->head == NULL)
        return;
    assert(w->done == NULL); /* the previous job's commit callback has run */
    w->running = 1;
    w->head->run(w, w->head->arg);
}

struct writer *writer_new(struct event_base *base, struct store *st)
{
    struct writer *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return NULL;
    w->store = st;
    w->kick = evtimer_new(base, on_kick, w);
    if (w->kick == NULL) {
        free(w);
        return NULL;
    }
    return w;
}

void writer_free(struct writer *w)
{
    if (w == NULL)
        return;
    struct writer_job *job = w->head;
    if (w->running && job) {
        /* Its commit callback already ran (the store is freed first) or never will. */
        struct writer_job *next = job->next;
        free(job);
        job = next;
    }
    while (job) {
        struct writer_job *next = job->next;
        if (job->cancel)
            job->cancel(job->arg);
        free(job);
        job = next;
    }
    event_free(w->kick);
    free(w);
}

int writer_submit(struct writer *w, writer_run_fn *run, writer_cancel_fn *cancel, void *arg)
{
    assert(run != NULL);
    struct writer_job *job = calloc(1, sizeof(*job));
    if (job == NULL)
        return -1;
    job->run = run;
    job->cancel = cancel;
    job->arg = arg;
    if (w->tail)
        w->tail->next = job;
    else
        w->head = job;
    w->tail = job;
    w->pending++;
    writer_kick(w);
    return 0;
}

static void on_commit(void *arg, const struct redisReply *reply, const char *err)
{
    struct writer *w = arg;
    assert(w->running && w->done != NULL); /* the one commit of the running job */
    store_reply_fn *done = w->done;
    void *done_arg = w->done_arg;
    w->done = NULL;
    w->done_arg = NULL;
    done(done_arg, reply, err);
    if (err != NULL && store_err_outcome_unknown(err) && w->lost)
        w->lost(w->lost_arg);
    writer_next(w);
}

int writer_commit(struct writer *w, struct store_txn *txn, store_reply_fn *done, void *arg,
                  const char **why)
{
    /* Only the running job commits, and only once. */
    assert(w->running && w->done == NULL && done != NULL);
    w->done = done;
    w->done_arg = arg;
    if (store_txn_exec(w->store, txn, on_commit, w, why) != 0) {
        w->done = NULL;
        w->done_arg = NULL;
        writer_next(w);
        return -1;
    }
    return 0;
}

void writer_finish(struct writer *w)
{
    writer_next(w);
}

size_t writer_pending(const struct writer *w)
{
    return w->pending;
}

void writer_set_lost_callback(struct writer *w, writer_lost_fn *fn, void *arg)
{
    w->lost = fn;
    w->lost_arg = arg;
}

void writer_pause(struct writer *w)
{
    w->paused = 1;
}

void writer_resume(struct writer *w)
{
    w->paused = 0;
    writer_kick(w);
}
