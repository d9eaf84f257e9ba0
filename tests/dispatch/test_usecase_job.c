/* test_usecase_job.c -- the one lifecycle of a writer job (dispatch/app/usecase_job.c): every
 * ending answers once, frees once and ends the writer's turn once, in whichever turn it comes
 * (before the job was queued, in its run, in the commit's callback, at shutdown). The writer
 * is a stand-in that records what the lifecycle asks of it and checks its turn discipline, as
 * the real one asserts; the frees are proven by ASan/LSan (the job owns a heap block).
 */
#include "app/service.h"
#include "app/usecase_job.h"
#include "store/store.h"
#include "store/writer.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

/* ---- the writer stand-in ---- */

static struct {
    writer_run_fn *run;
    writer_cancel_fn *cancel;
    void *arg;
    int queued, turn_open, finishes, commits, submit_fails, commit_fails;
    store_reply_fn *done;
    void *done_arg;
} wr;

int writer_submit(struct writer *w, writer_run_fn *run, writer_cancel_fn *cancel, void *arg)
{
    (void)w;
    if (wr.submit_fails)
        return -1;
    assert_int_equal(wr.queued, 0);
    wr.run = run;
    wr.cancel = cancel;
    wr.arg = arg;
    wr.queued = 1;
    return 0;
}

int writer_commit(struct writer *w, struct store_txn *txn, store_reply_fn *done, void *arg,
                  const char **why)
{
    (void)w;
    (void)txn; /* a stand-in pointer: nothing to free */
    assert_int_equal(wr.turn_open, 1);
    assert_null(wr.done);
    wr.commits++;
    if (wr.commit_fails) {
        *why = "the store (Redis) is unavailable";
        wr.turn_open = 0; /* as the real writer: the turn ends with the refused commit */
        return -1;
    }
    wr.done = done;
    wr.done_arg = arg;
    return 0;
}

void writer_finish(struct writer *w)
{
    (void)w;
    assert_int_equal(wr.turn_open, 1);
    assert_null(wr.done);
    wr.turn_open = 0;
    wr.finishes++;
}

/* The writer's turn comes. */
static void writer_runs(void)
{
    assert_int_equal(wr.queued, 1);
    wr.queued = 0;
    wr.turn_open = 1;
    wr.run((struct writer *)&wr, wr.arg);
}

/* The EXEC is answered: reply, or err. The turn ends when the callback returns. */
static void redis_answers(const struct redisReply *reply, const char *err)
{
    assert_non_null(wr.done);
    store_reply_fn *done = wr.done;
    wr.done = NULL;
    done(wr.done_arg, reply, err);
    wr.turn_open = 0;
}

/* Shutdown: the writer is freed with the job queued. */
static void writer_freed(void)
{
    assert_int_equal(wr.queued, 1);
    wr.queued = 0;
    wr.cancel(wr.arg);
}

const char store_err_lost_[] = "connection to Redis lost before it answered";
const char store_err_shutdown_[] = "store shutting down";
bool store_err_outcome_unknown(const char *err)
{
    return err == STORE_ERR_LOST || err == STORE_ERR_SHUTDOWN;
}

/* ---- a job ---- */

enum run_does { RUN_REFUSES, RUN_OOM, RUN_STORE_FAILS, RUN_COMMITS, RUN_ENDS };

static struct {
    int failed, applied, freed;
    struct refusal refusal; /* the last failure's */
    const char *store_err;
    bool cancelled;
} seen;

struct test_job {
    struct usecase_job base;
    enum run_does run;
    int applied_refuses; /* ops->applied ends it with a refusal, this many times */
    char *owned;         /* a heap block: LSan reports it if the job is not freed */
};

static void t_run(struct usecase_job *base)
{
    struct test_job *job = (struct test_job *)base;
    switch (job->run) {
    case RUN_REFUSES:
        assert_int_equal(
            usecase_job_refuse(base, REFUSAL_CONFLICT, "taken", "id", "id %s is taken", "x-1"), -1);
        break;
    case RUN_OOM:
        usecase_job_out_of_memory(base);
        break;
    case RUN_STORE_FAILS:
        usecase_job_store_failed(base, "the audit record is unavailable");
        break;
    case RUN_COMMITS:
        usecase_job_commit(base, (struct store_txn *)&seen); /* the stand-in never reads it */
        break;
    case RUN_ENDS:
        usecase_job_end(base);
        break;
    }
}

static void t_applied(struct usecase_job *base)
{
    struct test_job *job = (struct test_job *)base;
    seen.applied++;
    for (int i = 0; i < job->applied_refuses; i++)
        usecase_job_out_of_memory(base);
}

static void t_failed(struct usecase_job *base, const struct usecase_failure *f)
{
    (void)base;
    seen.failed++;
    seen.cancelled = f->cancelled;
    seen.store_err = f->store_err;
    assert_true(f->cancelled == (f->refusal == NULL));
    if (f->refusal)
        seen.refusal = *f->refusal;
}

static void t_free(struct usecase_job *base)
{
    struct test_job *job = (struct test_job *)base;
    seen.freed++;
    free(job->owned);
    free(job);
}

static const struct usecase_job_ops t_ops = {.store_refused = "the store refused the test",
                                             .run = t_run,
                                             .applied = t_applied,
                                             .failed = t_failed,
                                             .free = t_free};

static struct service svc;

static struct test_job *job_new(enum run_does run)
{
    memset(&wr, 0, sizeof(wr));
    memset(&seen, 0, sizeof(seen));
    struct test_job *job = calloc(1, sizeof(*job));
    assert_non_null(job);
    job->owned = malloc(32);
    assert_non_null(job->owned);
    job->run = run;
    usecase_job_init(&job->base, &t_ops, &svc);
    return job;
}

static struct test_job *job_queued(enum run_does run)
{
    struct test_job *job = job_new(run);
    assert_int_equal(usecase_job_submit(&job->base), 0);
    return job;
}

/* Answered once through ops->failed, freed once, the writer's turn ended. */
static void assert_failed_once(void)
{
    assert_int_equal(seen.failed, 1);
    assert_int_equal(seen.freed, 1);
    assert_int_equal(wr.turn_open, 0);
    assert_int_equal(wr.queued, 0);
}

/* ---- the endings ---- */

static void a_refusal_in_the_run_answers_it_ends_the_turn_and_frees(void **state)
{
    (void)state;
    job_queued(RUN_REFUSES);
    writer_runs();
    assert_failed_once();
    assert_int_equal(wr.finishes, 1);
    assert_int_equal(wr.commits, 0);
    assert_int_equal(seen.applied, 0);
    assert_null(seen.store_err);
    assert_int_equal(seen.refusal.kind, REFUSAL_CONFLICT);
    assert_string_equal(seen.refusal.code, "taken");
    assert_string_equal(seen.refusal.field, "id");
    assert_string_equal(seen.refusal.message, "id x-1 is taken");
}

static void out_of_memory_is_an_internal_refusal(void **state)
{
    (void)state;
    job_queued(RUN_OOM);
    writer_runs();
    assert_failed_once();
    assert_int_equal(wr.finishes, 1);
    assert_int_equal(seen.refusal.kind, REFUSAL_INTERNAL);
    assert_string_equal(seen.refusal.code, "internal");
    assert_string_equal(seen.refusal.field, "");
    assert_string_equal(seen.refusal.message, "out of memory");
}

static void a_store_failure_before_the_commit_gives_its_reason_and_the_refusal(void **state)
{
    (void)state;
    job_queued(RUN_STORE_FAILS);
    writer_runs();
    assert_failed_once();
    assert_int_equal(wr.finishes, 1);
    assert_string_equal(seen.store_err, "the audit record is unavailable");
    assert_int_equal(seen.refusal.kind, REFUSAL_UNAVAILABLE);
    assert_string_equal(seen.refusal.code, "store_unavailable");
}

static void a_confirmed_commit_is_applied_once_and_freed_once(void **state)
{
    (void)state;
    job_queued(RUN_COMMITS);
    writer_runs();
    assert_int_equal(wr.commits, 1);
    assert_int_equal(seen.freed, 0); /* waits for Redis */
    struct redisReply reply = {.type = REDIS_REPLY_ARRAY};
    redis_answers(&reply, NULL);
    assert_int_equal(seen.applied, 1);
    assert_int_equal(seen.failed, 0);
    assert_int_equal(seen.freed, 1);
    assert_int_equal(wr.finishes, 0); /* the commit's callback ended the turn */
}

static void a_commit_the_store_refuses_at_once_is_a_store_failure(void **state)
{
    (void)state;
    job_queued(RUN_COMMITS);
    wr.commit_fails = 1;
    writer_runs();
    assert_failed_once();
    assert_int_equal(wr.finishes, 0); /* writer_commit ended the turn */
    assert_int_equal(seen.applied, 0);
    assert_string_equal(seen.store_err, "the store (Redis) is unavailable");
    assert_int_equal(seen.refusal.kind, REFUSAL_UNAVAILABLE);
}

static void an_exec_answered_otherwise_is_the_job_s_store_refusal(void **state)
{
    (void)state;
    job_queued(RUN_COMMITS);
    writer_runs();
    struct redisReply nil = {.type = REDIS_REPLY_NIL}; /* EXEC aborted */
    redis_answers(&nil, NULL);
    assert_failed_once();
    assert_int_equal(seen.applied, 0);
    assert_string_equal(seen.store_err, "the store refused the test");
}

static void a_commit_lost_on_the_way_says_its_outcome_is_unknown(void **state)
{
    (void)state;
    job_queued(RUN_COMMITS);
    writer_runs();
    redis_answers(NULL, STORE_ERR_LOST);
    assert_failed_once();
    assert_ptr_equal(seen.store_err, STORE_ERR_LOST);
    assert_int_equal(seen.refusal.kind, REFUSAL_OUTCOME_UNKNOWN);
    assert_string_equal(seen.refusal.code, "store_outcome_unknown");
}

static void a_refusal_after_the_commit_answers_once_and_frees_once(void **state)
{
    (void)state;
    struct test_job *job = job_queued(RUN_COMMITS);
    job->applied_refuses = 1;
    writer_runs();
    struct redisReply reply = {.type = REDIS_REPLY_ARRAY};
    redis_answers(&reply, NULL);
    assert_failed_once();
    assert_int_equal(seen.applied, 1);
    assert_int_equal(wr.finishes, 0);
    assert_int_equal(seen.refusal.kind, REFUSAL_INTERNAL);
}

static void a_job_queued_at_shutdown_is_cancelled_and_freed(void **state)
{
    (void)state;
    job_queued(RUN_COMMITS);
    writer_freed();
    assert_failed_once();
    assert_true(seen.cancelled);
    assert_int_equal(wr.finishes, 0);
    assert_int_equal(seen.applied, 0);
}

static void a_job_that_answered_itself_ends_the_turn_and_is_freed(void **state)
{
    (void)state;
    job_queued(RUN_ENDS);
    writer_runs();
    assert_int_equal(seen.failed, 0);
    assert_int_equal(seen.freed, 1);
    assert_int_equal(wr.finishes, 1);
}

static void a_job_never_queued_is_discarded_unanswered_or_refused_without_a_turn(void **state)
{
    (void)state;
    struct test_job *job = job_new(RUN_COMMITS);
    wr.submit_fails = 1;
    assert_int_equal(usecase_job_submit(&job->base), -1);
    usecase_job_discard(&job->base);
    assert_int_equal(seen.failed, 0);
    assert_int_equal(seen.freed, 1);

    job = job_new(RUN_COMMITS);
    wr.submit_fails = 1;
    assert_int_equal(usecase_job_submit(&job->base), -1);
    usecase_job_out_of_memory(&job->base);
    assert_failed_once();
    assert_int_equal(wr.finishes, 0); /* no turn was held */
    assert_int_equal(seen.refusal.kind, REFUSAL_INTERNAL);
}

/* A second ending is a bug: inside applied (where the job is still alive) the lifecycle's
 * assert stops it, in a child process. */
static void a_second_ending_aborts(void **state)
{
    (void)state;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* The child dies on purpose: its leak report and assert message are not the test's. */
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, 2);
        struct test_job *job = job_queued(RUN_COMMITS);
        job->applied_refuses = 2;
        writer_runs();
        struct redisReply reply = {.type = REDIS_REPLY_ARRAY};
        redis_answers(&reply, NULL);
        _exit(0); /* not reached */
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
}

int main(void)
{
    svc.writer = (struct writer *)&wr; /* never dereferenced: the stand-in is global */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_refusal_in_the_run_answers_it_ends_the_turn_and_frees),
        cmocka_unit_test(out_of_memory_is_an_internal_refusal),
        cmocka_unit_test(a_store_failure_before_the_commit_gives_its_reason_and_the_refusal),
        cmocka_unit_test(a_confirmed_commit_is_applied_once_and_freed_once),
        cmocka_unit_test(a_commit_the_store_refuses_at_once_is_a_store_failure),
        cmocka_unit_test(an_exec_answered_otherwise_is_the_job_s_store_refusal),
        cmocka_unit_test(a_commit_lost_on_the_way_says_its_outcome_is_unknown),
        cmocka_unit_test(a_refusal_after_the_commit_answers_once_and_frees_once),
        cmocka_unit_test(a_job_queued_at_shutdown_is_cancelled_and_freed),
        cmocka_unit_test(a_job_that_answered_itself_ends_the_turn_and_is_freed),
        cmocka_unit_test(a_job_never_queued_is_discarded_unanswered_or_refused_without_a_turn),
        cmocka_unit_test(a_second_ending_aborts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
