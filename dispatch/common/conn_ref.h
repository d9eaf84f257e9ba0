/* conn_ref.h -- the lifetime rule of a network connection, one for every transport (the
 * handset protocol today; JT/T 808 and others reuse it).
 *
 * A connection is in use while
 *   - one of its own callbacks runs (reading and handling frames, writing, a store reply for
 *     it): the callback holds a reference from its first to its last line (conn_ref_enter /
 *     conn_ref_leave), and
 *   - a job works for it (an ingest batch, a delivery, an answer, a Hello being recorded):
 *     each job holds a reference from when it starts until it ends (conn_ref_hold /
 *     conn_ref_release), also counted in `jobs`, which pauses reading so replies keep request
 *     order.
 * Closing only marks the connection (no more input is handled). The transport frees it at one
 * place only: when the last reference is dropped (conn_ref_leave or conn_ref_release returns
 * 1) and it is closing and flushed. So however deep a call chain runs -- a job ending inside the
 * handling of a frame, a release that handles the next frame, a fatal error or an EOF on the
 * way -- whoever is still on the stack keeps the connection alive, and nothing is freed under
 * it. A transport must not free a connection anywhere else (except when the whole server is
 * torn down, after every job was cancelled).
 */
#ifndef LPG_CONN_REF_H
#define LPG_CONN_REF_H

#include <assert.h>

struct conn_ref {
    unsigned refs; /* running callbacks + jobs in flight */
    unsigned jobs; /* jobs in flight (reading pauses while > 0) */
};

static inline void conn_ref_enter(struct conn_ref *r)
{
    r->refs++;
}

/* Returns 1 when that was the last reference: the transport frees the connection now if it is
 * closing (and its output is flushed). */
static inline int conn_ref_leave(struct conn_ref *r)
{
    assert(r->refs > 0);
    return --r->refs == 0;
}

static inline void conn_ref_hold(struct conn_ref *r)
{
    r->refs++;
    r->jobs++;
}

/* Ends a job's hold. Call it between conn_ref_enter and conn_ref_leave of the transport's
 * release function: the connection then outlives what the release does next (resume reading,
 * handle the frames that waited), and conn_ref_leave decides about freeing. */
static inline void conn_ref_release(struct conn_ref *r)
{
    assert(r->jobs > 0 && r->refs > 1);
    r->jobs--;
    r->refs--;
}

#endif
