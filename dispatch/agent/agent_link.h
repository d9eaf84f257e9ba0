/*
 * agent_link.h - lpg-agent's session with dispatchd over the handset protocol (prefix
 * agent_link_): TCP connect, Hello with the device credential, PositionBatch and its Ack, Ping
 * when idle, and reconnection with exponential backoff and jitter (proto/README.md).
 *
 * One batch at a time is in flight (the server answers one request at a time anyway). The
 * link never holds fixes: the caller (agent.c) reads them from the spool, so a batch lost with
 * a connection is simply read and sent again; the server's de-duplication by (device, seq)
 * makes that harmless.
 *
 * What the server says is logged so an operator can act: a refused credential
 * (UNAUTHORIZED: re-register the device), a batch refused as invalid (INVALID_ARGUMENT, e.g. no
 * vehicle bound: the batch size is halved in case it was too large, and it is retried with
 * backoff), the store down (UNAVAILABLE: retried with backoff). Alerts pushed to the unit
 * are logged at warn level.
 */
#ifndef LPG_AGENT_LINK_H
#define LPG_AGENT_LINK_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/agent_settings.h"
#include "agent/agent_spool.h"

struct agent_link;

struct agent_link_callbacks {
    /* A batch whose last fix had seq batch_last was answered with Ack.position_seq: it is
     * stored, and every fix of it at or below batch_last is done (stored, or skipped by the
     * server as invalid or out of order, which position_seq below batch_last tells). */
    void (*on_ack)(void *arg, uint64_t position_seq, uint64_t batch_last);
    /* A batch may be sent now (session opened, previous batch answered, retry delay over). */
    void (*on_ready)(void *arg);
};

struct agent_link_counters {
    uint64_t connects;     /* sessions opened */
    uint64_t batches_sent; /* PositionBatch frames sent (resends included) */
    uint64_t fixes_sent;   /* fixes in them */
    uint64_t batches_acked;
    uint64_t errors; /* Error replies from the server */
};

/* Starts connecting at once. `credential` is copied. NULL on out-of-memory. */
struct agent_link *agent_link_new(struct event_base *base, const struct agent_config *cfg,
                                  const char *credential, const struct agent_link_callbacks *cb,
                                  void *arg);
void agent_link_free(struct agent_link *l);

/* True when a batch may be sent now. */
bool agent_link_ready(const struct agent_link *l);
/* True while a session is open. */
bool agent_link_connected(const struct agent_link *l);
/* Largest batch to send now: batch_max_fixes, halved after INVALID_ARGUMENT replies. */
size_t agent_link_batch_limit(const struct agent_link *l);

/* Sends fixes[0..n) as one PositionBatch (n >= 1, increasing seq). Returns 0 when sent, 1 when
 * it does not fit in the server's frame limit (send fewer), -1 when not ready or on error. */
int agent_link_send(struct agent_link *l, const struct agent_fix *fixes, size_t n, bool late);

const struct agent_link_counters *agent_link_get_counters(const struct agent_link *l);

#endif /* LPG_AGENT_LINK_H */
