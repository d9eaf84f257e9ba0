/* usecase_job.h -- the one lifecycle of a use case that writes through the single writer
 * (store/writer.h): queued, run in the writer's turn (decide against the registry), then either
 * refused (nothing written) or committed in one transaction, applied once Redis confirms it,
 * and in every case answered once and freed once.
 *
 * A use case embeds `struct usecase_job` first in its own job, fills an ops table and calls
 * usecase_job_submit. From then on the job ends with exactly one of the endings below; the
 * lifecycle calls the ops in the right turn, ends the writer's turn (writer_finish, or the
 * commit's callback), and frees. Asserts check that a job ends once and that the writer's
 * turn is ended by the ending that owns it.
 *
 * Here (app/) and not in store/: the endings answer in the refusal shape of app/refusal.h,
 * which store/ may not include; the writer stays a plain queue of (run, cancel, arg).
 */
#ifndef LPG_USECASE_JOB_H
#define LPG_USECASE_JOB_H

#include "app/refusal.h"

#include <stdbool.h>

struct service;
struct store_txn;
struct writer;
struct usecase_job;

/* Why a job did not succeed, for ops->failed. Exactly one of: cancelled (the writer was freed
 * with the job queued: shutdown); store_err (the store refused or lost the commit: its reason,
 * with refusal the refusal refuse_store() makes of it); refusal alone (decided: nothing was
 * written). */
struct usecase_failure {
    const struct refusal *refusal; /* NULL only when cancelled */
    const char *store_err;
    bool cancelled;
};

struct usecase_job_ops {
    /* The store_err of an EXEC answered with something else than the transaction's replies
     * (NULL: "the store refused the change"). */
    const char *store_refused;
    /* In the writer's turn: decides and ends the job (a refusal, a commit, usecase_job_end). */
    void (*run)(struct usecase_job *job);
    /* Redis confirmed the commit: apply to the registry, publish, answer the caller. May end
     * the job with a refusal instead (a post-commit failure to report); freed after it. */
    void (*applied)(struct usecase_job *job);
    /* Answers a failure (see usecase_failure). A job whose caller is gone at shutdown (an HTTP
     * request freed with its server) ignores cancelled: nothing to answer. */
    void (*failed)(struct usecase_job *job, const struct usecase_failure *f);
    /* Releases the job (the struct that embeds `struct usecase_job` first included). */
    void (*free)(struct usecase_job *job);
};

enum usecase_job_state {
    USECASE_JOB_NEW,        /* made, not (yet) queued: may be discarded */
    USECASE_JOB_QUEUED,     /* in the writer's queue */
    USECASE_JOB_RUNNING,    /* the writer's turn is the job's: ended by its ending */
    USECASE_JOB_COMMITTING, /* the transaction is sent: the commit's callback ends the turn */
    USECASE_JOB_COMMITTED,  /* the commit is over (confirmed or failed): its path frees */
    USECASE_JOB_ENDED       /* answered: only the free is left (inside applied) */
};

struct usecase_job {
    const struct usecase_job_ops *ops;
    struct service *s;
    struct writer *w; /* the writer it was submitted to */
    enum usecase_job_state state;
};

/* Fills the header of a new job (calloc'ed by the use case). */
void usecase_job_init(struct usecase_job *job, const struct usecase_job_ops *ops,
                      struct service *s);

/* Queues the job on s->writer. Returns 0: the job will end once, later. Returns -1 (out of
 * memory) with the job still NEW: the caller answers (usecase_job_out_of_memory) or discards. */
int usecase_job_submit(struct usecase_job *job);

/* A NEW job that was never queued and promised nothing: freed, not answered. */
void usecase_job_discard(struct usecase_job *job);

/* The endings. Each answers through ops->failed (but usecase_job_end), ends the writer's turn
 * when the job holds it, and frees the job (inside ops->applied: after applied returns). One
 * may also end a NEW job, one that a step before the writer (a password hashed on the work
 * pool) did not get as far as the queue: answered and freed, no turn to end. */

/* A refusal: nothing was written. Returns -1, so that `return usecase_job_refuse(...)` reads
 * as a refusal. */
int usecase_job_refuse(struct usecase_job *job, enum refusal_kind kind, const char *code,
                       const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* The same with a refusal made elsewhere (refuse_from.h, a module's mapping). Returns -1. */
int usecase_job_refused(struct usecase_job *job, const struct refusal *r);
/* REFUSAL_INTERNAL "internal", "out of memory". Returns -1. */
int usecase_job_out_of_memory(struct usecase_job *job);
/* The store refused or lost the write (why: its reason). */
void usecase_job_store_failed(struct usecase_job *job, const char *why);
/* Sends txn (owned from here, in every case): ops->applied runs once Redis confirms it, else
 * the store failure is answered. */
void usecase_job_commit(struct usecase_job *job, struct store_txn *txn);
/* The job answered its caller itself (or has none) without writing: ends the turn, frees. */
void usecase_job_end(struct usecase_job *job);

#endif
