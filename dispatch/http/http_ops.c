/* http_ops.c -- operational endpoints: GET /healthz (is the service able to work?) and
 * GET /metrics (Prometheus text). Documented in docs/http-api.md.
 */
#define LOG_TAG "http"
#include "store/audit_log.h"
#include "app/service.h"
#include "app/delivery.h"
#include "app/dispatcher.h"
#include "app/route_seal.h"
#include "http/live_feed.h"
#include "core/login_guard.h"
#include "core/registry.h"
#include "store/writer.h"
#include "app/ingest.h"
#include "http/http_ctx.h"
#include "http/http_server.h"
#include "common/prometheus.h"
#include "store/store.h"
#include "common/work_pool.h"

#include <stdio.h>

#include <event2/buffer.h>
#include <jansson.h>

/* Redis memory (ingest.h: read every redis_memory_check_interval s) under "redis", and a
 * "warnings" list when it passed the watermark or has no limit at all. A warning does not
 * change the status: the instance still serves, an operator must act before Redis is full. */
static void healthz_memory(struct service *d, json_t *body, json_t *redis)
{
    const struct ingest_redis_memory *m = ingest_redis_memory(d);
    if (body == NULL || redis == NULL || m == NULL || !m->known)
        return;
    json_object_set_new(redis, "used_memory", json_integer((json_int_t)m->used));
    json_object_set_new(redis, "maxmemory", json_integer((json_int_t)m->max));
    char w[200];
    if (m->max == 0)
        snprintf(w, sizeof(w),
                 "redis has no maxmemory: one flood of writes can take all of the "
                 "host's memory (set maxmemory, deploy/redis.conf)");
    else if (m->above)
        snprintf(w, sizeof(w), "redis memory at %d%% of maxmemory (watermark %lld%%)", m->percent,
                 (long long)d->cfg.redis_memory_watermark);
    else
        return;
    json_object_set_new(redis, "memory_percent", json_integer(m->percent));
    json_object_set_new(body, "warnings", json_pack("[s]", w));
}

/* 200 when the store is reachable and the registry is loaded, 503 otherwise: a load balancer
 * takes the instance out of rotation while it cannot serve or record anything. */
static void handle_healthz(struct http_call *call, void *ctx)
{
    struct service *d = http_service(ctx);
    enum store_state st = store_state(d->store);
    int ok = st == STORE_UP && d->loaded && !d->shutting_down;
    json_t *redis = json_pack("{s:s, s:s, s:I}", "state", store_state_name(st), "host",
                              d->cfg.redis_host, "port", (json_int_t)d->cfg.redis_port);
    if (redis && st != STORE_UP && store_last_error(d->store)[0])
        json_object_set_new(redis, "last_error", json_string(store_last_error(d->store)));
    const char *status = ok                 ? "ok"
                         : d->shutting_down ? "shutting_down"
                         : st != STORE_UP   ? "unavailable"
                                            : "loading";
    json_t *body =
        json_pack("{s:s, s:s, s:I, s:o, s:s}", "status", status, "version", DISPATCHD_VERSION,
                  "uptime_seconds", (json_int_t)service_uptime(d), "redis", redis, "registry",
                  d->loaded ? "loaded" : (d->loading ? "loading" : "not_loaded"));
    for (size_t i = 0; body && i < d->n_transports; i++) { /* "handset_connections": 3 */
        char key[64];
        snprintf(key, sizeof(key), "%s_connections", d->transports[i].name);
        json_object_set_new(
            body, key,
            json_integer((json_int_t)d->transports[i].connections(d->transports[i].arg)));
    }
    healthz_memory(d, body, redis);
    http_reply_json(call, ok ? 200 : 503, body);
}

struct stat_ctx {
    struct evbuffer *out;
};

static void emit_http_stat(void *arg, const char *route, const char *method, int status,
                           uint64_t count)
{
    struct stat_ctx *sc = arg;
    char code[8];
    snprintf(code, sizeof(code), "%d", status);
    const char *labels[] = {"route", route, "method", method, "status", code, NULL};
    prom_sample_u64(sc->out, "lpg_http_requests_total", labels, count);
}

static void handle_metrics(struct http_call *call, void *ctx)
{
    struct http_ctx *h = ctx;
    struct service *d = h->s;
    struct evbuffer *out = evbuffer_new();
    if (out == NULL) {
        http_reply_error(call, 500, "internal", "out of memory", NULL);
        return;
    }
    prom_family(out, "lpg_uptime_seconds", "gauge", "Seconds since dispatchd started.");
    prom_sample_double(out, "lpg_uptime_seconds", NULL, service_uptime(d));

    prom_family(out, "lpg_http_requests_total", "counter",
                "HTTP requests answered, by route, method and status (this scrape excluded).");
    struct stat_ctx sc = {out};
    http_server_foreach_stat(h->srv, emit_http_stat, &sc);
    prom_family(out, "lpg_http_requests_in_flight", "gauge", "HTTP requests not yet answered.");
    prom_sample_u64(out, "lpg_http_requests_in_flight", NULL, http_server_inflight(h->srv));

    enum store_state st = store_state(d->store);
    const struct store_stats *ss = store_stats(d->store);
    prom_family(out, "lpg_redis_up", "gauge", "1 when the Redis store is connected and answering.");
    prom_sample_u64(out, "lpg_redis_up", NULL, st == STORE_UP);
    prom_family(out, "lpg_redis_connects_total", "counter", "Successful connections to Redis.");
    prom_sample_u64(out, "lpg_redis_connects_total", NULL, ss->connects);
    prom_family(out, "lpg_redis_connect_failures_total", "counter",
                "Failed or lost Redis connections (refused, timed out, dropped).");
    prom_sample_u64(out, "lpg_redis_connect_failures_total", NULL, ss->connect_failures);
    prom_family(out, "lpg_redis_commands_total", "counter",
                "Redis commands by outcome: sent, failed (lost with a connection), refused "
                "(store down).");
    const char *l_sent[] = {"result", "sent", NULL};
    const char *l_failed[] = {"result", "failed", NULL};
    const char *l_refused[] = {"result", "refused", NULL};
    prom_sample_u64(out, "lpg_redis_commands_total", l_sent, ss->commands_sent);
    prom_sample_u64(out, "lpg_redis_commands_total", l_failed, ss->commands_failed);
    prom_sample_u64(out, "lpg_redis_commands_total", l_refused, ss->commands_refused);
    prom_family(out, "lpg_redis_commands_in_flight", "gauge", "Redis commands awaiting a reply.");
    prom_sample_u64(out, "lpg_redis_commands_in_flight", NULL, store_inflight(d->store));

    const struct http_conn_stats *hcs = http_server_conn_stats(h->srv);
    prom_family(out, "lpg_http_connections", "gauge", "Open HTTP connections.");
    prom_sample_u64(out, "lpg_http_connections", NULL, http_server_connections(h->srv));
    prom_family(out, "lpg_http_connections_refused_total", "counter",
                "HTTP connections refused at http_max_connections (503 too_many_connections).");
    prom_sample_u64(out, "lpg_http_connections_refused_total", NULL, hcs->refused);
    prom_family(out, "lpg_http_request_timeouts_total", "counter",
                "HTTP connections closed because a request's headers or body did not arrive in "
                "time.");
    const char *l_th[] = {"phase", "headers", NULL};
    const char *l_tb[] = {"phase", "body", NULL};
    prom_sample_u64(out, "lpg_http_request_timeouts_total", l_th, hcs->header_timeouts);
    prom_sample_u64(out, "lpg_http_request_timeouts_total", l_tb, hcs->body_timeouts);
    for (size_t i = 0; i < d->n_transports; i++) /* the device transports' own figures */
        d->transports[i].metrics(d->transports[i].arg, out);

    struct login_guard_stats *lg = login_guard_stats(d->guard);
    prom_family(out, "lpg_login_attempts_total", "counter",
                "POST /v1/sessions with a user and a password, by outcome: ok, wrong (wrong "
                "password, unknown or disabled user), throttled and locked (refused untried: too "
                "many failures of the account or the address), busy (refused untried: the "
                "password-checking queue was full).");
    for (int o = 0; o < LOGIN_OUTCOME_COUNT; o++) {
        const char *l_o[] = {"outcome", login_outcome_name((enum login_outcome)o), NULL};
        prom_sample_u64(out, "lpg_login_attempts_total", l_o, lg->logins[o]);
    }
    prom_family(out, "lpg_login_hash_queue_depth", "gauge",
                "Password checks and hashes queued or running on the worker threads.");
    prom_sample_u64(out, "lpg_login_hash_queue_depth", NULL, work_pool_depth(d->hash_pool));
    prom_family(out, "lpg_handset_hello_failures_total", "counter",
                "Hellos refused for an unknown device or a wrong credential.");
    prom_sample_u64(out, "lpg_handset_hello_failures_total", NULL, lg->hello_failed);
    prom_family(out, "lpg_handset_hello_throttled_total", "counter",
                "Hellos refused untried: too many failures of the device or the address.");
    prom_sample_u64(out, "lpg_handset_hello_throttled_total", NULL, lg->hello_throttled);
    prom_family(out, "lpg_login_throttle_keys", "gauge",
                "Accounts, devices and addresses with failures remembered (all tables).");
    prom_sample_u64(out, "lpg_login_throttle_keys", NULL, login_guard_tracked(d->guard));
    prom_family(out, "lpg_login_throttle_evictions_total", "counter",
                "Remembered keys forgotten to make room (auth_track_max reached).");
    prom_sample_u64(out, "lpg_login_throttle_evictions_total", NULL,
                    login_guard_evictions(d->guard));
    prom_family(out, "lpg_login_failure_logs_suppressed_total", "counter",
                "Log lines of failed logins and Hellos left out by the log rate limit.");
    prom_sample_u64(out, "lpg_login_failure_logs_suppressed_total", NULL, lg->log_suppressed);

    prom_family(out, "lpg_registry_entities", "gauge", "Entities in the registry, by kind.");
    struct registry_counts rc;
    registry_counts(d->registry, &rc);
    const struct {
        const char *kind;
        size_t n;
    } kinds[] = {{"enterprise", rc.enterprises}, {"zone", rc.zones},         {"staff", rc.staff},
                 {"vehicle", rc.vehicles},       {"customer", rc.customers}, {"order", rc.orders}};
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        const char *l_kind[] = {"kind", kinds[i].kind, NULL};
        prom_sample_u64(out, "lpg_registry_entities", l_kind, kinds[i].n);
    }
    prom_family(out, "lpg_writer_jobs_pending", "gauge",
                "Changes queued or running in the single writer.");
    prom_sample_u64(out, "lpg_writer_jobs_pending", NULL, writer_pending(d->writer));
    const struct dispatcher_stats *ds = dispatcher_stats(d);
    prom_family(out, "lpg_rematch_passes_total", "counter", "Re-matching jobs run.");
    prom_sample_u64(out, "lpg_rematch_passes_total", NULL, ds->passes);
    prom_family(out, "lpg_rematch_assigned_total", "counter",
                "Waiting orders assigned by re-matching.");
    prom_sample_u64(out, "lpg_rematch_assigned_total", NULL, ds->assigned);
    prom_family(out, "lpg_orders_late_total", "counter",
                "Orders flagged late: their delivery window ended undelivered.");
    prom_sample_u64(out, "lpg_orders_late_total", NULL, ds->late);
    prom_family(out, "lpg_expiring_checks_total", "counter",
                "Checks for expiring documents completed (at start and each local midnight).");
    prom_sample_u64(out, "lpg_expiring_checks_total", NULL, ds->expiring.checks);
    prom_family(out, "lpg_expiring_alerts_total", "counter",
                "expiring alerts raised: a certificate, permit, inspection or licence runs out "
                "soon.");
    prom_sample_u64(out, "lpg_expiring_alerts_total", NULL, ds->expiring.raised);
    const struct route_seal_stats *rss = route_seal_stats(d);
    prom_family(out, "lpg_route_seals_total", "counter",
                "Vehicle route days sealed into the audit record (route_sealed entries).");
    prom_sample_u64(out, "lpg_route_seals_total", NULL, rss->sealed);
    prom_family(out, "lpg_route_late_after_seal_fixes_total", "counter",
                "Fixes stored into a sealed route day, recorded by route_late_after_seal entries.");
    prom_sample_u64(out, "lpg_route_late_after_seal_fixes_total", NULL, rss->late_fixes);
    prom_family(out, "lpg_route_seal_failures_total", "counter",
                "Route seal checks or records that could not be read or stored (retried).");
    prom_sample_u64(out, "lpg_route_seal_failures_total", NULL, rss->failures);
    prom_family(out, "lpg_live_feed_subscribers", "gauge", "Open GET /v1/events streams.");
    prom_sample_u64(out, "lpg_live_feed_subscribers", NULL, live_feed_subscribers(h->feed));
    const struct live_feed_stats *fs = live_feed_stats(h->feed);
    prom_family(out, "lpg_live_feed_refused_total", "counter",
                "GET /v1/events streams refused, by limit: capacity (503), enterprise, user "
                "(429).");
    const char *l_fcap[] = {"limit", "capacity", NULL};
    const char *l_fent[] = {"limit", "enterprise", NULL};
    const char *l_fuser[] = {"limit", "user", NULL};
    prom_sample_u64(out, "lpg_live_feed_refused_total", l_fcap, fs->refused_capacity);
    prom_sample_u64(out, "lpg_live_feed_refused_total", l_fent, fs->refused_enterprise);
    prom_sample_u64(out, "lpg_live_feed_refused_total", l_fuser, fs->refused_user);
    prom_family(out, "lpg_live_feed_positions_total", "counter",
                "Vehicle positions on the live feed, by outcome: sent, superseded (a newer one "
                "replaced it within events_position_interval), dropped (out of memory or too "
                "many vehicles).");
    const char *l_psent[] = {"outcome", "sent", NULL};
    const char *l_psup[] = {"outcome", "superseded", NULL};
    const char *l_pdrop[] = {"outcome", "dropped", NULL};
    prom_sample_u64(out, "lpg_live_feed_positions_total", l_psent, fs->positions_sent);
    prom_sample_u64(out, "lpg_live_feed_positions_total", l_psup, fs->positions_superseded);
    prom_sample_u64(out, "lpg_live_feed_positions_total", l_pdrop, fs->positions_dropped);

    const struct ingest_stats *is = ingest_stats(d);
    prom_family(out, "lpg_position_batches_total", "counter", "PositionBatch requests handled.");
    prom_sample_u64(out, "lpg_position_batches_total", NULL, is->batches);
    prom_family(out, "lpg_position_batches_refused_total", "counter",
                "PositionBatch requests refused whole (no bound vehicle, too many fixes).");
    prom_sample_u64(out, "lpg_position_batches_refused_total", NULL, is->batches_refused);
    prom_family(out, "lpg_fixes_total", "counter",
                "Fixes received, by outcome: stored, duplicate (resend), invalid, late (stored, "
                "older than the vehicle's newest).");
    const char *l_st[] = {"result", "stored", NULL};
    const char *l_dup[] = {"result", "duplicate", NULL};
    const char *l_inv[] = {"result", "invalid", NULL};
    const char *l_late[] = {"result", "late", NULL};
    prom_sample_u64(out, "lpg_fixes_total", l_st, is->fixes_stored);
    prom_sample_u64(out, "lpg_fixes_total", l_dup, is->fixes_duplicate);
    prom_sample_u64(out, "lpg_fixes_total", l_inv, is->fixes_invalid);
    prom_sample_u64(out, "lpg_fixes_total", l_late, is->fixes_late);
    prom_family(out, "lpg_fixes_filtered_total", "counter",
                "Stored fixes by the filters' verdict before the rules: ok (evaluated), invalid, "
                "zero, future, accuracy, duplicate, out_of_order, jump.");
    for (int r = 0; r < FIX_FILTER_REASON_COUNT && r < 8; r++) {
        const char *l_r[] = {"reason", fix_filter_reason_name((enum fix_filter_reason)r), NULL};
        prom_sample_u64(out, "lpg_fixes_filtered_total", l_r, is->filtered[r]);
    }
    prom_family(out, "lpg_position_batches_limited_total", "counter",
                "PositionBatch requests refused by an ingest limit, by reason: rate "
                "(position_rate_max), seq_window (a seq beyond position_seq_window).");
    const char *l_rate[] = {"reason", "rate", NULL};
    const char *l_seqw[] = {"reason", "seq_window", NULL};
    prom_sample_u64(out, "lpg_position_batches_limited_total", l_rate, is->batches_rate_limited);
    prom_sample_u64(out, "lpg_position_batches_limited_total", l_seqw, is->batches_seq_refused);
    prom_family(out, "lpg_fixes_rate_limited_total", "counter",
                "Fixes in batches refused by the per-device rate limit (resent later).");
    prom_sample_u64(out, "lpg_fixes_rate_limited_total", NULL, is->fixes_rate_limited);
    const struct ingest_redis_memory *mem = ingest_redis_memory(d);
    prom_family(out, "lpg_redis_used_memory_bytes", "gauge",
                "Redis used_memory at the last INFO memory (0 while unknown).");
    prom_sample_u64(out, "lpg_redis_used_memory_bytes", NULL, mem && mem->known ? mem->used : 0);
    prom_family(out, "lpg_redis_maxmemory_bytes", "gauge",
                "Redis maxmemory at the last INFO memory (0: no limit, or unknown).");
    prom_sample_u64(out, "lpg_redis_maxmemory_bytes", NULL, mem && mem->known ? mem->max : 0);
    prom_family(out, "lpg_redis_memory_alerts_total", "counter",
                "Times Redis memory passed redis_memory_watermark (each alerted to the admins).");
    prom_sample_u64(out, "lpg_redis_memory_alerts_total", NULL, is->memory_alerts);
    prom_family(out, "lpg_rule_events_dropped_total", "counter",
                "Rule events beyond the per-batch cap (not stored).");
    prom_sample_u64(out, "lpg_rule_events_dropped_total", NULL, is->events_dropped);

    const struct delivery_stats *dl = delivery_stats(d);
    prom_family(out, "lpg_cylinder_scans_total", "counter",
                "Cylinder scans from handsets: accepted, refused (a refused hand-over or "
                "collection is a suspected roadside sale).");
    const char *l_scan_ok[] = {"result", "accepted", NULL};
    const char *l_rfs[] = {"result", "refused", NULL};
    prom_sample_u64(out, "lpg_cylinder_scans_total", l_scan_ok, dl->scans_accepted);
    prom_sample_u64(out, "lpg_cylinder_scans_total", l_rfs, dl->scans_refused);
    prom_family(out, "lpg_safety_checks_total", "counter",
                "Safety checks recorded, by verdict (a failed one suspends the customer).");
    const char *l_pass[] = {"result", "passed", NULL};
    const char *l_failc[] = {"result", "failed", NULL};
    prom_sample_u64(out, "lpg_safety_checks_total", l_pass, dl->checks_passed);
    prom_sample_u64(out, "lpg_safety_checks_total", l_failc, dl->checks_failed);
    prom_family(out, "lpg_deliveries_confirmed_total", "counter",
                "Delivery orders confirmed delivered from a handset.");
    prom_sample_u64(out, "lpg_deliveries_confirmed_total", NULL, dl->delivered);
    prom_family(out, "lpg_load_reconciliations_total", "counter",
                "Load reconciliations at the station: balanced, mismatch (a violation).");
    const char *l_bal[] = {"result", "balanced", NULL};
    const char *l_mis[] = {"result", "mismatch", NULL};
    prom_sample_u64(out, "lpg_load_reconciliations_total", l_bal,
                    dl->reconciliations - dl->reconciliation_mismatches);
    prom_sample_u64(out, "lpg_load_reconciliations_total", l_mis, dl->reconciliation_mismatches);

    const struct audit_log_stats *as = audit_log_stats(d->audit);
    prom_family(out, "lpg_audit_head_seq", "gauge",
                "Seq of the last entry of the tamper-evident record (0 while unknown).");
    prom_sample_u64(out, "lpg_audit_head_seq", NULL,
                    audit_log_ready(d->audit) ? (uint64_t)audit_log_head_seq(d->audit) : 0);
    prom_family(out, "lpg_audit_appends_total", "counter",
                "Audit entries: appended to a transaction, refused (head unknown: the change was "
                "refused), given_back (their transaction was never sent).");
    const char *l_app[] = {"result", "appended", NULL};
    const char *l_ref[] = {"result", "refused", NULL};
    const char *l_back[] = {"result", "given_back", NULL};
    prom_sample_u64(out, "lpg_audit_appends_total", l_app, as->appended);
    prom_sample_u64(out, "lpg_audit_appends_total", l_ref, as->refused);
    prom_sample_u64(out, "lpg_audit_appends_total", l_back, as->given_back);
    prom_family(out, "lpg_audit_head_reloads_total", "counter",
                "Times the audit head was read from Redis (start, after a failed transaction).");
    prom_sample_u64(out, "lpg_audit_head_reloads_total", NULL, as->reloads);
    prom_family(out, "lpg_audit_verifications_total", "counter",
                "GET /v1/audit/verify runs started.");
    prom_sample_u64(out, "lpg_audit_verifications_total", NULL, as->verifications);

    http_reply_buffer(call, 200, "text/plain; version=0.0.4; charset=utf-8", out);
    evbuffer_free(out);
}

const struct http_route ops_routes[] = {
    {"GET", "/healthz", handle_healthz, HTTP_ROUTE_READ},
    {"GET", "/metrics", handle_metrics, HTTP_ROUTE_READ},
};
const size_t ops_routes_count = sizeof(ops_routes) / sizeof(ops_routes[0]);
