/* handset_metrics.h -- the handset listener's figures for the operational endpoints: its
 * Prometheus families and its connection count, registered with the service as a transport
 * probe (app/service.h) when dispatchd wires the listener. */
#ifndef LPG_HANDSET_METRICS_H
#define LPG_HANDSET_METRICS_H

#include "app/service.h"

struct handset_server;

/* The probe of `hs` (name "handset"): /healthz's handset_connections, /metrics' lpg_handset_*
 * and lpg_frames_* families. */
struct transport_probe handset_metrics_probe(struct handset_server *hs);

#endif
