/* handset_metrics.c -- see handset_metrics.h. The families are documented in docs/http-api.md
 * ("GET /metrics"). */
#include "handset/handset_metrics.h"
#include "common/prometheus.h"
#include "handset/handset_server.h"

#include <event2/buffer.h>

static size_t connections(void *arg)
{
    return handset_server_connections(arg);
}

static void write_metrics(void *arg, struct evbuffer *out)
{
    struct handset_server *hs_server = arg;
    const struct handset_stats *hs = handset_server_stats(hs_server);
    prom_family(out, "lpg_handset_connections", "gauge", "Open handset/vehicle-unit connections.");
    prom_sample_u64(out, "lpg_handset_connections", NULL, handset_server_connections(hs_server));
    prom_family(out, "lpg_handset_unauthenticated", "gauge",
                "Open handset connections without an acknowledged Hello.");
    prom_sample_u64(out, "lpg_handset_unauthenticated", NULL,
                    handset_server_unauthenticated(hs_server));
    prom_family(out, "lpg_handset_connections_total", "counter",
                "Handset connections by outcome: accepted, or refused at the connection cap, at "
                "the cap of connections without Hello, or at that cap per source address.");
    const char *l_acc[] = {"result", "accepted", NULL};
    const char *l_cap[] = {"result", "refused_cap", NULL};
    const char *l_unauth[] = {"result", "refused_unauthenticated", NULL};
    const char *l_addr[] = {"result", "refused_address", NULL};
    prom_sample_u64(out, "lpg_handset_connections_total", l_acc, hs->accepted);
    prom_sample_u64(out, "lpg_handset_connections_total", l_cap, hs->refused_cap);
    prom_sample_u64(out, "lpg_handset_connections_total", l_unauth, hs->refused_unauth);
    prom_sample_u64(out, "lpg_handset_connections_total", l_addr, hs->refused_address);
    prom_family(out, "lpg_handset_hello_timeouts_total", "counter",
                "Handset connections closed for not having a Hello acknowledged in time.");
    prom_sample_u64(out, "lpg_handset_hello_timeouts_total", NULL, hs->hello_timeouts);
    prom_family(out, "lpg_handset_idle_timeouts_total", "counter",
                "Handset connections closed for idleness.");
    prom_sample_u64(out, "lpg_handset_idle_timeouts_total", NULL, hs->idle_timeouts);
    prom_family(out, "lpg_handset_output_queued_total", "counter",
                "Replies (or their rest) the socket did not take at once, queued in memory.");
    prom_sample_u64(out, "lpg_handset_output_queued_total", NULL, hs->output_queued);
    prom_family(out, "lpg_handset_dropped_slow_total", "counter",
                "Handset connections dropped for not reading their replies (over 1 MiB queued).");
    prom_sample_u64(out, "lpg_handset_dropped_slow_total", NULL, hs->dropped_slow);
    prom_family(out, "lpg_handset_sessions_opened_total", "counter", "Hello acknowledged.");
    prom_sample_u64(out, "lpg_handset_sessions_opened_total", NULL, hs->sessions_opened);
    prom_family(out, "lpg_frames_total", "counter", "Handset frames by direction.");
    const char *l_in[] = {"direction", "in", NULL};
    const char *l_out[] = {"direction", "out", NULL};
    prom_sample_u64(out, "lpg_frames_total", l_in, hs->frames_in);
    prom_sample_u64(out, "lpg_frames_total", l_out, hs->frames_out);
    prom_family(out, "lpg_frames_rejected_total", "counter",
                "Handset frames refused, by reason (oversize, malformed, truncated).");
    const char *l_over[] = {"reason", "oversize", NULL};
    const char *l_mal[] = {"reason", "malformed", NULL};
    const char *l_trunc[] = {"reason", "truncated", NULL};
    prom_sample_u64(out, "lpg_frames_rejected_total", l_over, hs->rejected_oversize);
    prom_sample_u64(out, "lpg_frames_rejected_total", l_mal, hs->rejected_malformed);
    prom_sample_u64(out, "lpg_frames_rejected_total", l_trunc, hs->rejected_truncated);
    prom_family(out, "lpg_handset_errors_sent_total", "counter", "Error replies sent to devices.");
    prom_sample_u64(out, "lpg_handset_errors_sent_total", NULL, hs->errors_sent);
}

struct transport_probe handset_metrics_probe(struct handset_server *hs)
{
    return (struct transport_probe){"handset", connections, write_metrics, hs};
}
