/* work_pool.h -- a few worker threads for CPU-heavy jobs that must not run on the event loop
 * (password hashing: ~60-85 ms of scrypt per login, auth.h), with results handed back to the
 * loop.
 *
 * A job is run(arg) on a worker thread, then done(arg) on the loop thread, in the order the
 * workers finish. run() must touch nothing but what arg owns (no libevent, no module state);
 * done() may do anything a loop callback does. Hand-back goes through a pipe watched by the
 * loop, so libevent needs no thread support. The queue is bounded: a submit beyond it is
 * refused at once, so a flood costs the caller a cheap refusal instead of memory and latency.
 *
 * Workers run at a lower CPU priority (nice +10) than the loop thread: when both want the
 * CPU, the loop (health checks, handsets, every other request) wins, and the jobs wait.
 *
 * Lifetime: work_pool_free() stops the workers (a job being run finishes first), joins them,
 * and calls cancel(arg) for every job whose done() has not run (queued, or finished and not
 * yet handed back); cancel frees arg without replying to anyone.
 */
#ifndef LPG_WORK_POOL_H
#define LPG_WORK_POOL_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct work_pool;

typedef void work_run_fn(void *arg);    /* on a worker thread */
typedef void work_done_fn(void *arg);   /* on the loop, after run */
typedef void work_cancel_fn(void *arg); /* on the loop, at work_pool_free, instead of done */

/* threads >= 1 workers; at most queue_max jobs waiting for a worker (jobs being run do not
 * count). NULL with errbuf filled on failure. */
struct work_pool *work_pool_new(struct event_base *base, int threads, size_t queue_max,
                                char *errbuf, size_t errlen);
/* Queues a job. 0, or -1 when the queue is full (or out of memory): nothing was queued and
 * the caller still owns arg. */
int work_pool_submit(struct work_pool *wp, work_run_fn *run, work_done_fn *done,
                     work_cancel_fn *cancel, void *arg);
/* Jobs submitted whose done() has not run yet (waiting, running, or being handed back). */
size_t work_pool_depth(const struct work_pool *wp);
/* Jobs refused because the queue was full, since creation. */
uint64_t work_pool_refused(const struct work_pool *wp);
void work_pool_free(struct work_pool *wp);

#endif
