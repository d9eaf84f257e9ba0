/*
 * agent_gpsd.h - lpg-agent's connection to gpsd (prefix agent_gpsd_): libgps (gps_open,
 * gps_stream with WATCH_JSON, gps_read) driven by the agent's libevent loop (gpsd's socket is
 * an event; every buffered line is drained while gps_waiting() says so), TPV reports turned
 * into fixes by agent_receiver, reconnection with backoff and jitter when gpsd is down or
 * restarts.
 *
 * The connect itself (gps_open) is a blocking TCP connect: gpsd runs on the unit itself, on
 * loopback, where it completes or fails at once.
 */
#ifndef LPG_AGENT_GPSD_H
#define LPG_AGENT_GPSD_H

#include <event2/event.h>
#include <stdbool.h>

#include "agent/agent_receiver.h"
#include "agent/agent_settings.h"

struct agent_gpsd;

/* Receives each fix once its epoch is complete (seq not yet set). */
typedef void (*agent_gpsd_fix_fn)(void *arg, struct agent_fix *fix);

/* Starts connecting at once. NULL on out-of-memory. */
struct agent_gpsd *agent_gpsd_new(struct event_base *base, const struct agent_config *cfg,
                                  agent_gpsd_fix_fn on_fix, void *arg);
/* Hands over the epoch in progress (on_fix), closes the connection, frees. NULL is a no-op. */
void agent_gpsd_free(struct agent_gpsd *g);

bool agent_gpsd_connected(const struct agent_gpsd *g);
/* Counters of the receiver rules (reports, epochs, no_fix, no_time, backwards, derived). */
const struct agent_receiver_counters *agent_gpsd_counters(const struct agent_gpsd *g);
/* Connections made to gpsd since start. */
unsigned agent_gpsd_connects(const struct agent_gpsd *g);

#endif /* LPG_AGENT_GPSD_H */
