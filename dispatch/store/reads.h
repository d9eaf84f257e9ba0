/* reads.h -- what the store's read modules (route_reads, alert_reads, compliance_reads,
 * audit_reads) have in common.
 *
 * Each read sends its command(s) on the store and answers through a callback, exactly once per
 * read that was started, with plain C results (parsed structs, or JSON built from the replies)
 * valid during the call only, or with err set (a human-readable reason, also valid during the
 * call only): the store is down or the connection was lost, Redis answered an error or an
 * unexpected type. A read that could not be started returns -1 with *why set, and the callback
 * is not called. Callers above the store never see a hiredis reply.
 */
#ifndef LPG_STORE_READS_H
#define LPG_STORE_READS_H

/* The reason (a *why, or an err) given when the read itself ran out of memory, as opposed to a
 * store that is down: callers compare the pointer (err == STORE_READ_NOMEM) to answer it as an
 * internal error rather than as "retry later". */
#define STORE_READ_NOMEM store_read_nomem_
extern const char store_read_nomem_[]; /* "out of memory" */

/* The reason given for a reply of an unexpected type without a Redis error message. */
#define STORE_READ_UNEXPECTED "unexpected reply from the store"

#endif
