/* writer.h -- the single writer: every change to stored data goes through one queue, one job
 * at a time. A job validates against the registry as it is *now*, then commits one Redis
 * transaction; the next job starts only after that transaction is answered and its effect is
 * applied to the registry. So validation and commit can never interleave (two dispatchers
 * assigning the same order, a staff change racing a match), without locks, on one thread.
 *
 * Cost: writes are serialised on one Redis round trip each (~0.1 ms on loopback: about 10,000
 * transactions per second), which is far above what dispatching needs; bulk operations put
 * many records in one transaction. Position ingest (high volume) does not go through here.
 *
 * A job runs as run(w, arg). It must end, now or later, with exactly one of:
 *   writer_commit(w, txn, done, arg) -- sends txn; done(arg, reply, err) runs with the EXEC
 *       reply, and the writer moves to the next job when done returns;
 *   writer_finish(w)                 -- the job wrote nothing (e.g. validation failed).
 * When the writer is freed with jobs queued, each gets cancel(arg) instead of run.
 */
#ifndef LPG_WRITER_H
#define LPG_WRITER_H

#include "store/store.h"

#include <stddef.h>

struct writer;

typedef void writer_run_fn(struct writer *w, void *arg);
typedef void writer_cancel_fn(void *arg);

struct writer *writer_new(struct event_base *base, struct store *st);
void writer_free(struct writer *w);

/* Queues a job. Returns 0, or -1 on out-of-memory (nothing queued). */
int writer_submit(struct writer *w, writer_run_fn *run, writer_cancel_fn *cancel, void *arg);

/* See above. writer_commit returns 0, or -1 with *why when the store refused the transaction
 * (done is then NOT called, and the job is over: the caller reports the error). */
int writer_commit(struct writer *w, struct store_txn *txn, store_reply_fn *done, void *arg,
                  const char **why);
void writer_finish(struct writer *w);

/* Jobs queued or running, for shutdown and metrics. */
size_t writer_pending(const struct writer *w);

/* Called when a commit was sent but its outcome is unknown (the connection dropped before
 * EXEC was answered): memory may no longer match the store. */
typedef void writer_lost_fn(void *arg);
void writer_set_lost_callback(struct writer *w, writer_lost_fn *fn, void *arg);

/* While paused, queued jobs wait (a running job finishes). Used while the registry is
 * reloaded, so no job validates against a half-loaded registry. */
void writer_pause(struct writer *w);
void writer_resume(struct writer *w);

#endif
