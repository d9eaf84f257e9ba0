/* usecase_job.c -- see usecase_job.h. */
#include "app/usecase_job.h"

#include "app/refuse_from.h"
#include "app/service.h"
#include "store/writer.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>

#include <hiredis/hiredis.h>

void usecase_job_init(struct usecase_job *job, const struct usecase_job_ops *ops, struct service *s)
{
    assert(ops->run && ops->applied && ops->failed && ops->free);
    job->ops = ops;
    job->s = s;
    job->w = s->writer;
    job->state = USECASE_JOB_NEW;
}

static void run(struct writer *w, void *arg)
{
    struct usecase_job *job = arg;
    (void)w; /* the job's own: only asserted */
    assert(job->state == USECASE_JOB_QUEUED && job->w == w);
    job->state = USECASE_JOB_RUNNING;
    job->ops->run(job);
}

/* Frees the job, unless its commit is over: then the commit's path frees it, after
 * ops->applied (which may end it with a refusal) returns. */
static void release(struct usecase_job *job)
{
    if (job->state == USECASE_JOB_COMMITTED) {
        job->state = USECASE_JOB_ENDED;
        return;
    }
    job->ops->free(job);
}

/* Ends the writer's turn if the job holds it; refuses a second ending. */
static void end_turn(struct usecase_job *job)
{
    assert(job->state != USECASE_JOB_ENDED && job->state != USECASE_JOB_COMMITTING);
    if (job->state == USECASE_JOB_RUNNING)
        writer_finish(job->w);
}

static void fail(struct usecase_job *job, const struct usecase_failure *f)
{
    end_turn(job);
    job->ops->failed(job, f);
    release(job);
}

static void cancel(void *arg)
{
    struct usecase_job *job = arg;
    assert(job->state == USECASE_JOB_QUEUED);
    fail(job, &(struct usecase_failure){.cancelled = true});
}

int usecase_job_submit(struct usecase_job *job)
{
    assert(job->state == USECASE_JOB_NEW);
    job->state = USECASE_JOB_QUEUED;
    if (writer_submit(job->w, run, cancel, job) != 0) {
        job->state = USECASE_JOB_NEW;
        return -1;
    }
    return 0;
}

void usecase_job_discard(struct usecase_job *job)
{
    assert(job->state == USECASE_JOB_NEW);
    job->ops->free(job);
}

int usecase_job_refused(struct usecase_job *job, const struct refusal *r)
{
    fail(job, &(struct usecase_failure){.refusal = r});
    return -1;
}

int usecase_job_refuse(struct usecase_job *job, enum refusal_kind kind, const char *code,
                       const char *field, const char *fmt, ...)
{
    struct refusal r;
    refuse(&r, kind, code, field, "%s", "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r.message, sizeof(r.message), fmt, ap);
    va_end(ap);
    return usecase_job_refused(job, &r);
}

int usecase_job_out_of_memory(struct usecase_job *job)
{
    return usecase_job_refuse(job, REFUSAL_INTERNAL, "internal", NULL, "out of memory");
}

void usecase_job_store_failed(struct usecase_job *job, const char *why)
{
    struct refusal r;
    refuse_store(&r, why);
    fail(job, &(struct usecase_failure){.refusal = &r, .store_err = why});
}

static void on_committed(void *arg, const struct redisReply *reply, const char *err)
{
    struct usecase_job *job = arg;
    assert(job->state == USECASE_JOB_COMMITTING);
    if (err || reply->type != REDIS_REPLY_ARRAY) {
        job->state = USECASE_JOB_COMMITTED; /* the writer moves on when this returns */
        usecase_job_store_failed(job, err                       ? err
                                      : job->ops->store_refused ? job->ops->store_refused
                                                                : "the store refused the change");
    } else {
        job->state = USECASE_JOB_COMMITTED;
        job->ops->applied(job);
    }
    job->ops->free(job);
}

void usecase_job_commit(struct usecase_job *job, struct store_txn *txn)
{
    assert(job->state == USECASE_JOB_RUNNING);
    job->state = USECASE_JOB_COMMITTING;
    const char *why = "the store refused the change";
    if (writer_commit(job->w, txn, on_committed, job, &why) != 0) {
        job->state = USECASE_JOB_COMMITTED; /* writer_commit ended the turn */
        usecase_job_store_failed(job, why);
        job->ops->free(job);
    }
}

void usecase_job_end(struct usecase_job *job)
{
    end_turn(job);
    release(job);
}
