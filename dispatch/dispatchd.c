/* dispatchd.c -- the dispatchd binary: reads the configuration, wires the modules onto one
 * libevent loop (store, HTTP front, handset listener), and shuts down gracefully.
 *
 * Shutdown (SIGTERM or SIGINT): stop accepting on both listeners, tell every handset
 * connection SHUTTING_DOWN, wait until in-flight store writes are answered and connections
 * have flushed (at most shutdown_timeout ms), then free everything and exit 0. A second
 * signal during shutdown exits at once.
 */
#define LOG_TAG "dispatchd"
#include "dispatchd.h"
#include "common/clock.h"

#include "store/accounts.h"
#include "app/alerts.h"
#include "store/audit_log.h"
#include "common/config.h"
#include "handset/handset_dispatch.h"
#include "handset/handset_metrics.h"
#include "handset/handset_positions.h"
#include "handset/handset_server.h"
#include "jt808/jt808_server.h"
#include "http/http_console.h"
#include "http/http_server.h"
#include "app/delivery.h"
#include "app/dispatcher.h"
#include "app/events.h"
#include "http/http_v1.h"
#include "app/ingest.h"
#include "app/route_seal.h"
#include "http/live_feed.h"
#include "common/log.h"
#include "core/login_guard.h"
#include "core/registry.h"
#include "store/registry_store.h"
#include "store/store.h"
#include "common/work_pool.h"
#include "checkpoint_cli.h"
#include "common/key_file.h"
#include "core/audit_checkpoint.h"
#include "store/writer.h"

#include <hiredis/hiredis.h>
#include <openssl/rand.h>

#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

/* How often a shutting-down dispatchd checks whether it has drained. */
#define DISPATCHD_DRAIN_POLL_MS 20

static double elapsed_s(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - since->tv_sec) + (double)(now.tv_nsec - since->tv_nsec) / 1e9;
}

static void dispatchd_load(struct dispatchd *d);

/* The last step of the load: the audit head, so that the first change can be recorded. */
static void on_audit_loaded(void *arg, const char *err)
{
    struct dispatchd *d = arg;
    d->s.loading = 0;
    if (err) {
        log_error("reading the audit head failed: %s; /v1 stays unavailable", err);
        return;
    }
    d->s.loaded = 1;
    writer_resume(d->s.writer);
    ingest_watch_active(&d->s);
    dispatcher_rematch(&d->s); /* orders that waited while the service was down */
    dispatcher_start(&d->s);   /* and from now on, by time too */
    route_seal_start(&d->s);   /* days closed while the service was down, then by time */
    log_info("audit head at seq %lld; serving /v1", (long long)audit_log_head_seq(d->s.audit));
}

static void on_registry_loaded(void *arg, const char *err, const struct registry_counts *c)
{
    struct dispatchd *d = arg;
    if (err) {
        d->s.loading = 0;
        /* Serving on a partial registry would answer wrongly; retry on the next connection. */
        log_error("loading the registry failed: %s; /v1 stays unavailable", err);
        return;
    }
    log_info("registry loaded: %zu enterprises, %zu zones, %zu staff, %zu vehicles, %zu "
             "customers, %zu orders",
             c->enterprises, c->zones, c->staff, c->vehicles, c->customers, c->orders);
    if (audit_log_reload(d->s.audit, on_audit_loaded, d) != 0) {
        d->s.loading = 0;
        log_error("reading the audit head could not start: the store is down");
    }
}

static void on_accounts_loaded(void *arg, const char *err)
{
    struct dispatchd *d = arg;
    if (err) {
        d->s.loading = 0;
        log_error("loading accounts failed: %s; /v1 stays unavailable", err);
        return;
    }
    if (registry_store_load(d->s.store, d->s.registry, on_registry_loaded, d) != 0) {
        d->s.loading = 0;
        log_error("loading the registry could not start: the store is down");
    }
}

/* Loads accounts and the registry once, the first time Redis is up. After that the registry
 * is kept in step by the writer, and a Redis outage does not require a reload. */
static void dispatchd_load(struct dispatchd *d)
{
    if (d->s.loaded || d->s.loading || store_state(d->s.store) != STORE_UP)
        return;
    d->s.loading = 1;
    log_info("loading accounts and registry from Redis");
    if (accounts_load(d->s.store, d->s.accounts, lpg_now_ms(), on_accounts_loaded, d) != 0) {
        d->s.loading = 0;
        log_error("out of memory starting the load");
    }
}

/* A change was sent but never confirmed: Redis may or may not have applied it, so the
 * registry may not match the store of record. Reload everything once Redis answers again. */
static void on_commit_lost(void *arg)
{
    struct dispatchd *d = arg;
    if (!d->s.reload_needed)
        log_warn("a change was sent to Redis but never confirmed; the registry will be "
                 "reloaded from Redis when it is back");
    d->s.reload_needed = 1;
}

/* The audit head was read again after a failed transaction: matching refused meanwhile (it
 * could not record an assignment) may go on. */
static void on_audit_reread(void *arg, const char *err)
{
    struct dispatchd *d = arg;
    if (err == NULL && d->s.loaded)
        dispatcher_rematch(&d->s);
}

/* A registry of the service: every failed put asks for a reload (registry.h). */
static struct registry *dispatchd_registry_new(struct dispatchd *d)
{
    struct registry *reg = registry_new();
    if (reg != NULL)
        registry_set_put_failed(reg, service_registry_put_failed, &d->s);
    return reg;
}

/* Replaces the registry and accounts with empty ones and loads them again from Redis, when a
 * reload is needed and Redis is up. */
static void reload_if_needed(struct dispatchd *d)
{
    if (d->s.reload_needed && d->s.loaded && !d->s.shutting_down) {
        /* Jobs wait (paused writer) until the fresh registry is loaded. */
        writer_pause(d->s.writer);
        struct registry *reg = dispatchd_registry_new(d);
        struct accounts *acc = accounts_new();
        if (reg == NULL || acc == NULL) {
            registry_free(reg);
            accounts_free(acc);
            writer_resume(d->s.writer);
            log_error("out of memory reloading the registry");
            return;
        }
        registry_free(d->s.registry);
        accounts_free(d->s.accounts);
        d->s.registry = reg;
        d->s.accounts = acc;
        d->s.loaded = 0;
        d->s.reload_needed = 0;
    }
    dispatchd_load(d);
}

static void on_store_state(void *arg, enum store_state state, const char *detail)
{
    struct dispatchd *d = arg;
    (void)detail; /* store.c logs transitions; metrics read the state directly */
    if (state != STORE_UP)
        return;
    /* A transaction with audit entries failed while Redis was away (ingest's included): the
     * head is re-read before the next append, behind nothing (a new connection). A full
     * reload below re-reads it anyway. */
    if (d->s.loaded && !d->s.reload_needed && !audit_log_ready(d->s.audit) && !d->s.shutting_down)
        audit_log_reload(d->s.audit, on_audit_reread, d);
    reload_if_needed(d);
}

/* service_request_reload's request (a committed change that could not be applied): the
 * writer stops at once, so that no job validates against the wrong registry, and the reload
 * runs on the next turn of the loop, outside the job that found the failure; when Redis is
 * down it runs once Redis is back (on_store_state). */
static void dispatchd_reload_start(void *arg)
{
    struct dispatchd *d = arg;
    writer_pause(d->s.writer);
    event_active(d->reload_ev, EV_TIMEOUT, 0);
}

static void on_reload_requested(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct dispatchd *d = arg;
    if (store_state(d->s.store) == STORE_UP)
        reload_if_needed(d);
}

static void on_drain_poll(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct dispatchd *d = arg;
    size_t writes = store_inflight(d->s.store) + writer_pending(d->s.writer);
    size_t conns = handset_server_connections(d->handset.srv) + jt808_server_connections(d->jt808);
    size_t http = http_server_inflight(d->http.srv);
    double waited_ms = elapsed_s(&d->shutdown_began) * 1000.0;
    if (writes == 0 && conns == 0 && http == 0) {
        log_info("drained after %.0f ms", waited_ms);
        event_base_loopexit(d->s.base, NULL);
        return;
    }
    if (waited_ms >= (double)d->s.cfg.shutdown_timeout) {
        log_warn("shutdown timeout (%lld ms) reached with %zu store writes, %zu device "
                 "connections and %zu HTTP requests outstanding; exiting anyway",
                 (long long)d->s.cfg.shutdown_timeout, writes, conns, http);
        event_base_loopexit(d->s.base, NULL);
        return;
    }
    struct timeval tv = {0, DISPATCHD_DRAIN_POLL_MS * 1000};
    evtimer_add(d->drain_timer, &tv);
}

static void begin_shutdown(struct dispatchd *d, const char *why)
{
    if (d->s.shutting_down) {
        log_warn("%s again during shutdown: exiting now", why);
        event_base_loopbreak(d->s.base);
        return;
    }
    d->s.shutting_down = 1;
    clock_gettime(CLOCK_MONOTONIC, &d->shutdown_began);
    log_info("%s: shutting down (stop accepting, flush, exit)", why);
    http_server_stop_accepting(d->http.srv);
    live_feed_close_all(d->http.feed);
    handset_server_shutdown(d->handset.srv);
    jt808_server_shutdown(d->jt808);
    on_drain_poll(-1, 0, d);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    begin_shutdown(arg, sig == SIGTERM ? "SIGTERM" : "SIGINT");
}

/* Program actions that are not settings (cfg_program.options). */
enum {
    OPT_CREATE_ADMIN,
    OPT_CREATE_SIGNING_KEY,
    OPT_VERIFY_CHECKPOINT,
    OPT_VERIFY_KEY,
    OPT_VERIFY_ENTRIES
};
static const struct cfg_option dispatchd_options[] = {
    [OPT_CREATE_ADMIN] = {"create-admin", "NAME",
                          "Create (or reset the password of) admin user NAME in the configured "
                          "Redis, reading the password from standard input, and exit."},
    [OPT_CREATE_SIGNING_KEY] = {"create-signing-key", "FILE",
                                "Write a new Ed25519 audit signing key to FILE (mode 0600; FILE "
                                "must not exist), print its public key and key_id, and exit."},
    [OPT_VERIFY_CHECKPOINT] = {"verify-checkpoint", "FILE",
                               "Verify the saved audit checkpoint FILE with --key and against "
                               "--entries (docs/audit.md), print OK or FAILED, and exit (0 OK, "
                               "1 failed, 2 unreadable)."},
    [OPT_VERIFY_KEY] = {"key", "FILE",
                        "With --verify-checkpoint: the service's public key in PEM "
                        "(GET /v1/audit/key)."},
    [OPT_VERIFY_ENTRIES] = {"entries", "FILE",
                            "With --verify-checkpoint: a later export of the chain, one JSON per "
                            "line (entry texts, items or pages of GET /v1/audit/entries)."},
};

static const struct cfg_program dispatchd_program = {
    .name = "dispatchd",
    .version = DISPATCHD_VERSION,
    .summary = "lpg-dispatch service: dispatch, vehicle supervision and delivery compliance "
               "for bottled LPG.",
    .settings = dispatchd_settings,
    .n_settings = DISPATCHD_SETTINGS_COUNT,
    .options = dispatchd_options,
    .n_options = sizeof(dispatchd_options) / sizeof(dispatchd_options[0]),
    .validate = dispatchd_settings_validate,
};

static int load_signing_key(struct dispatchd *d);

static int dispatchd_start(struct dispatchd *d)
{
    char err[256];
    if (load_signing_key(d) != 0)
        return -1;
    /* The epoll changelist coalesces the disable/enable of a connection's read event around
     * each request (handset_conn_hold/release) into at most one epoll_ctl per loop turn. */
    struct event_config *ecfg = event_config_new();
    if (ecfg)
        event_config_set_flag(ecfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    d->s.base = ecfg ? event_base_new_with_config(ecfg) : event_base_new();
    if (ecfg)
        event_config_free(ecfg);
    if (d->s.base == NULL) {
        log_error("cannot create the event loop");
        return -1;
    }
    struct store_options so = {
        .host = d->s.cfg.redis_host,
        .port = (int)d->s.cfg.redis_port,
        .connect_timeout_ms = (int)d->s.cfg.redis_connect_timeout,
        .ping_interval_ms = (int)d->s.cfg.redis_ping_interval,
        .reconnect_min_ms = (int)d->s.cfg.redis_reconnect_min,
        .reconnect_max_ms = (int)d->s.cfg.redis_reconnect_max,
        .key_prefix = d->s.cfg.redis_key_prefix,
        .user = d->s.cfg.redis_user,
        .password = d->s.cfg.redis_password,
    };
    /* The figures of the rules are settings (docs/configuration.md); the rest of the rules'
     * tuning (e.g. the 200 m gap-as-rest radius) keeps rules_config_default's values. */
    const struct dispatchd_config *c = &d->s.cfg;
    lpg_geometry_set_limits((size_t)c->geometry_ring_vertices_max,
                            (size_t)c->geometry_vertices_max);
    dispatchd_settings_apply_rules(c, &d->s.fix_filter_cfg, &d->s.rules_cfg, &d->s.delivery_cfg,
                                   &d->s.rectification_ms);
    d->s.registry = dispatchd_registry_new(d);
    d->s.accounts = accounts_new();
    if (d->s.registry == NULL || d->s.accounts == NULL) {
        log_error("out of memory");
        return -1;
    }
    /* Failed-login limits, and the threads that check passwords: a login must not hold the
     * loop for the ~60-85 ms of its scrypt (auth.h). */
    struct login_guard_options go = {
        .max_failures = (int)c->auth_max_failures,
        .max_failures_address = (int)c->auth_max_failures_address,
        .delay_ms = c->auth_delay * 1000,
        .lock_ms = c->auth_lock_period * 1000,
        .track_max = (size_t)c->auth_track_max,
    };
    uint64_t seed = 0;
    if (RAND_bytes((unsigned char *)&seed, sizeof(seed)) != 1)
        log_warn("no random seed for the login throttle tables; using the clock");
    seed ^= (uint64_t)lpg_now_ms();
    d->s.guard = login_guard_new(&go, seed);
    d->s.hash_pool = work_pool_new(d->s.base, (int)c->login_workers, (size_t)c->login_queue_max,
                                   err, sizeof(err));
    if (d->s.guard == NULL || d->s.hash_pool == NULL) {
        log_error("%s", d->s.hash_pool ? "out of memory" : err);
        return -1;
    }
    d->s.store = store_new(d->s.base, &so);
    if (d->s.store == NULL) {
        log_error("cannot create the Redis store");
        return -1;
    }
    d->handset.s = &d->s;
    d->http.s = &d->s;
    d->s.writer = writer_new(d->s.base, d->s.store);
    d->s.bus = event_bus_new();
    d->http.feed = live_feed_new(d->s.base);
    d->s.audit = audit_log_new(d->s.store);
    if (d->s.writer == NULL || d->s.bus == NULL || d->http.feed == NULL || d->s.audit == NULL ||
        ingest_init(&d->s) != 0 || dispatcher_init(&d->s) != 0 || delivery_init(&d->s) != 0 ||
        route_seal_init(&d->s) != 0 || live_feed_listen(d->http.feed, d->s.bus) != 0 ||
        handset_dispatch_watch(&d->handset) != 0) {
        log_error("out of memory");
        return -1;
    }
    live_feed_set_limits(d->http.feed, (size_t)d->s.cfg.events_max_per_enterprise,
                         (size_t)d->s.cfg.events_max_per_user);
    live_feed_set_position_interval(d->http.feed, d->s.cfg.events_position_interval);
    store_set_state_callback(d->s.store, on_store_state, d);
    writer_set_lost_callback(d->s.writer, on_commit_lost, d);
    writer_pause(d->s.writer); /* until the registry is loaded */

    struct http_server_options ho = {
        .bind = d->s.cfg.http_bind,
        .port = (int)d->s.cfg.http_port,
        .max_body = d->s.cfg.http_max_body,
        .max_headers = d->s.cfg.http_max_headers,
        .timeout_s = (int)d->s.cfg.http_timeout,
        .max_connections = (int)d->s.cfg.http_max_connections,
        .header_timeout_s = (int)d->s.cfg.http_header_timeout,
        .body_timeout_s = (int)d->s.cfg.http_body_timeout,
        .tls_cert = d->s.cfg.http_tls_cert,
        .tls_key = d->s.cfg.http_tls_key,
    };
    /* One route table from the areas' tables. */
    const struct {
        const struct http_route *routes;
        size_t n;
    } areas[] = {{ops_routes, ops_routes_count},
                 {v1_auth_routes, v1_auth_routes_count},
                 {v1_tracking_routes, v1_tracking_routes_count},
                 {v1_summary_routes, v1_summary_routes_count},
                 {v1_registry_routes, v1_registry_routes_count},
                 {v1_import_routes, v1_import_routes_count},
                 {v1_order_routes, v1_order_routes_count},
                 {v1_device_routes, v1_device_routes_count},
                 {v1_alert_routes, v1_alert_routes_count},
                 {v1_audit_routes, v1_audit_routes_count},
                 {v1_compliance_routes, v1_compliance_routes_count},
                 {v1_terminal_routes, v1_terminal_routes_count},
                 {v1_report_routes, v1_report_routes_count}};
    size_t nroutes = 0;
    for (size_t i = 0; i < sizeof(areas) / sizeof(areas[0]); i++)
        nroutes += areas[i].n;
    d->routes = calloc(nroutes, sizeof(*d->routes));
    if (d->routes == NULL) {
        log_error("out of memory");
        return -1;
    }
    nroutes = 0;
    for (size_t i = 0; i < sizeof(areas) / sizeof(areas[0]); i++)
        for (size_t r = 0; r < areas[i].n; r++)
            d->routes[nroutes++] = areas[i].routes[r];
    d->http.srv =
        http_server_new(d->s.base, &ho, d->routes, nroutes, &d->http, d->s.store, err, sizeof(err));
    if (d->http.srv == NULL) {
        log_error("%s", err);
        return -1;
    }
    struct http_console_limits limits = {.road_kmh = d->s.cfg.speed_limit_road,
                                         .expressway_kmh = d->s.cfg.speed_limit_expressway};
    d->console = http_console_new(d->s.cfg.console_dir, LPG_CONSOLE_DEFAULT_DIR,
                                  d->s.cfg.console_leaflet_dir, d->s.cfg.console_tile_url, &limits,
                                  err, sizeof(err));
    if (d->console == NULL) {
        log_error("%s", err);
        return -1;
    }
    http_console_mount(d->console, d->http.srv);
    struct handset_server_options hso = {
        .bind = d->s.cfg.handset_bind,
        .port = (int)d->s.cfg.handset_port,
        .max_connections = (int)d->s.cfg.handset_max_connections,
        .idle_timeout_s = (int)d->s.cfg.handset_idle_timeout,
        .hello_timeout_s = (int)d->s.cfg.handset_hello_timeout,
        .max_unauthenticated = (int)d->s.cfg.handset_max_unauthenticated,
        .max_unauthenticated_per_address = (int)d->s.cfg.handset_max_unauthenticated_per_address,
        .max_frame = (size_t)d->s.cfg.handset_max_frame,
        .tls_cert = d->s.cfg.handset_tls_cert,
        .tls_key = d->s.cfg.handset_tls_key,
        .hooks = &handset_dispatch_hooks,
        .hooks_ctx = &d->handset,
    };
    d->handset.srv = handset_server_new(d->s.base, &hso, d->s.store, err, sizeof(err));
    if (d->handset.srv == NULL) {
        log_error("%s", err);
        return -1;
    }
    d->s.transports[d->s.n_transports++] = handset_metrics_probe(d->handset.srv);
    /* The transports hear the use cases' events (app/events.h). */
    if (handset_server_subscribe(d->handset.srv, d->s.bus) != 0 ||
        handset_positions_listen(&d->handset) != 0) {
        log_error("the event bus is full: a wiring error");
        return -1;
    }
    struct jt808_server_options jso = {
        .bind = d->s.cfg.jt808_bind,
        .port = (int)d->s.cfg.jt808_port,
        .max_connections = (int)d->s.cfg.jt808_max_connections,
        .idle_timeout_s = (int)d->s.cfg.jt808_idle_timeout,
        .auth_timeout_s = (int)d->s.cfg.jt808_auth_timeout,
        .max_unauthenticated = (int)d->s.cfg.jt808_max_unauthenticated,
        .max_unauthenticated_per_address = (int)d->s.cfg.jt808_max_unauthenticated_per_address,
        .heartbeat_s = (int)d->s.cfg.jt808_heartbeat,
        .reassembly_timeout_s = (int)d->s.cfg.jt808_reassembly_timeout,
    };
    d->jt808 = jt808_server_new(d->s.base, &jso, &d->s, err, sizeof(err));
    if (d->jt808 == NULL) {
        log_error("%s", err);
        return -1;
    }
    if (!dispatchd_settings_is_loopback(d->s.cfg.jt808_bind))
        log_warn("jt808_bind %s is not loopback: JT/T 808 has no TLS, terminals' codes and "
                 "positions cross the network in clear (as the standard has it)",
                 d->s.cfg.jt808_bind);
    d->s.transports[d->s.n_transports++] = jt808_server_probe(d->jt808);
    if (jt808_server_subscribe(d->jt808) != 0) {
        log_error("the event bus is full: a wiring error");
        return -1;
    }
    d->sigterm = evsignal_new(d->s.base, SIGTERM, on_signal, d);
    d->sigint = evsignal_new(d->s.base, SIGINT, on_signal, d);
    d->drain_timer = evtimer_new(d->s.base, on_drain_poll, d);
    d->reload_ev = event_new(d->s.base, -1, 0, on_reload_requested, d);
    d->s.reload_start = dispatchd_reload_start;
    d->s.reload_arg = d;
    if (!d->sigterm || !d->sigint || !d->drain_timer || !d->reload_ev ||
        evsignal_add(d->sigterm, NULL) != 0 || evsignal_add(d->sigint, NULL) != 0) {
        log_error("cannot install signal handlers");
        return -1;
    }
    return 0;
}

/* Order matters: the store first, so that pending command callbacks run (with an error)
 * while the connections that issued them still exist; then the listeners. */
static void dispatchd_stop(struct dispatchd *d)
{
    store_free(d->s.store);
    audit_log_free(d->s.audit); /* after the store: its pending transactions report to it */
    EVP_PKEY_free(d->s.audit_key);
    writer_free(d->s.writer);
    event_bus_free(d->s.bus);
    handset_server_free(d->handset.srv);
    jt808_server_free(d->jt808);
    live_feed_free(d->http.feed);
    ingest_free(&d->s);
    dispatcher_free(&d->s); /* after the writer: its cancelled re-matching jobs write to it */
    delivery_free(&d->s);
    route_seal_free(&d->s); /* after the store: its pending reads report to it */
    /* Before the HTTP server: logins still being checked are dropped with their connections. */
    work_pool_free(d->s.hash_pool);
    login_guard_free(d->s.guard);
    http_server_free(d->http.srv);
    http_console_free(d->console); /* after the server that serves it */
    free(d->routes);
    registry_free(d->s.registry);
    accounts_free(d->s.accounts);
    if (d->sigterm)
        event_free(d->sigterm);
    if (d->sigint)
        event_free(d->sigint);
    if (d->drain_timer)
        event_free(d->drain_timer);
    if (d->reload_ev)
        event_free(d->reload_ev);
    if (d->s.base)
        event_base_free(d->s.base);
}

/* The terminal's settings while a password is typed without echo; put back on a signal too,
 * so that Ctrl-C at the prompt does not leave the operator's terminal silent. */
static struct termios saved_tty;
static volatile sig_atomic_t tty_quiet;
static const int tty_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

static void tty_restore(void)
{
    if (tty_quiet)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
    tty_quiet = 0;
    for (size_t i = 0; i < sizeof(tty_signals) / sizeof(tty_signals[0]); i++)
        signal(tty_signals[i], SIG_DFL);
}

static void on_tty_signal(int sig)
{
    if (tty_quiet)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* One line of standard input into buf: from a terminal without echo (the newline still
 * shows), from a pipe or file as it comes (scripts). 0, 1 at end of input, -1 when the
 * terminal's echo cannot be turned off (the password is then not read at all). */
static int read_password(const char *name, char *buf, size_t cap)
{
    if (isatty(STDIN_FILENO)) {
        if (tcgetattr(STDIN_FILENO, &saved_tty) != 0)
            return -1;
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_tty_signal;
        sigemptyset(&sa.sa_mask);
        for (size_t i = 0; i < sizeof(tty_signals) / sizeof(tty_signals[0]); i++)
            sigaction(tty_signals[i], &sa, NULL);
        struct termios quiet = saved_tty;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        quiet.c_lflag |= ECHONL;
        tty_quiet = 1;
        /* TCSANOW, not TCSAFLUSH: what was typed ahead stays (it was echoed as typed). */
        if (tcsetattr(STDIN_FILENO, TCSANOW, &quiet) != 0) {
            tty_restore();
            return -1;
        }
        fprintf(stderr, "password for %s (one line, not shown): ", name);
        fflush(stderr);
    }
    char *got = fgets(buf, (int)cap, stdin);
    tty_restore();
    return got ? 0 : 1;
}

/* --create-admin NAME: a one-shot, synchronous action (no event loop): reads the password
 * from standard input (first line; not echoed on a terminal), and writes the user to Redis
 * directly. A running dispatchd reads a user's record from Redis at each login, so the admin
 * can log in at once, without a restart. */
static int create_admin(const struct dispatchd_config *cfg, const char *name)
{
    if (!lpg_id_valid(name)) {
        fprintf(stderr,
                "dispatchd: --create-admin: '%s' is not a valid user name "
                "(1..64 characters of [A-Za-z0-9_.-])\n",
                name);
        return 2;
    }
    char password[AUTH_PASSWORD_MAX + 2];
    int rd = read_password(name, password, sizeof(password));
    if (rd < 0) {
        fprintf(stderr, "dispatchd: --create-admin: cannot turn off the terminal's echo; give "
                        "the password on a pipe instead\n");
        return 2;
    }
    if (rd > 0) {
        fprintf(stderr, "dispatchd: --create-admin: no password on standard input\n");
        return 2;
    }
    password[strcspn(password, "\r\n")] = '\0';
    char why[160];
    if (!auth_password_acceptable(password, why, sizeof(why))) {
        fprintf(stderr, "dispatchd: --create-admin: %s\n", why);
        return 2;
    }
    struct auth_user u;
    memset(&u, 0, sizeof(u));
    snprintf(u.name, sizeof(u.name), "%s", name);
    u.role = AUTH_ROLE_ADMIN;
    u.created_ms = lpg_now_ms();
    int hashed = auth_password_hash(password, u.password_hash, sizeof(u.password_hash));
    memset(password, 0, sizeof(password));
    json_t *j = hashed == 0 ? auth_user_to_store_json(&u) : NULL;
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (text == NULL) {
        fprintf(stderr, "dispatchd: --create-admin: could not hash the password\n");
        return 1;
    }
    struct timeval tv = {(long)(cfg->redis_connect_timeout / 1000),
                         (long)(cfg->redis_connect_timeout % 1000) * 1000};
    redisContext *rc = redisConnectWithTimeout(cfg->redis_host, (int)cfg->redis_port, tv);
    int status = 1;
    if (rc == NULL || rc->err) {
        fprintf(stderr, "dispatchd: --create-admin: cannot connect to Redis %s:%lld: %s\n",
                cfg->redis_host, (long long)cfg->redis_port, rc ? rc->errstr : "out of memory");
    } else {
        char key[256], idx[128];
        if (cfg->redis_password[0] != '\0') {
            /* First command: as dispatchd does on every connection (store.c). */
            if (cfg->redis_user[0] != '\0')
                redisAppendCommand(rc, "AUTH %s %s", cfg->redis_user, cfg->redis_password);
            else
                redisAppendCommand(rc, "AUTH %s", cfg->redis_password);
        }
        snprintf(key, sizeof(key), "%suser:%s", cfg->redis_key_prefix, name);
        snprintf(idx, sizeof(idx), "%sindex:user", cfg->redis_key_prefix);
        redisAppendCommand(rc, "MULTI");
        redisAppendCommand(rc, "SET %s %s", key, text);
        redisAppendCommand(rc, "SADD %s %s", idx, name);
        redisAppendCommand(rc, "EXEC");
        int ok = 1;
        int replies = cfg->redis_password[0] != '\0' ? 5 : 4;
        char first_err[128] = "error reply";
        for (int i = 0; i < replies; i++) {
            redisReply *r = NULL;
            if (redisGetReply(rc, (void **)&r) != REDIS_OK || r == NULL ||
                r->type == REDIS_REPLY_ERROR ||
                (i == replies - 1 && r->type != REDIS_REPLY_ARRAY)) {
                /* Redis' error text (e.g. WRONGPASS, NOAUTH) never contains the password. */
                if (ok && r && r->type == REDIS_REPLY_ERROR)
                    snprintf(first_err, sizeof(first_err), "%s", r->str);
                ok = 0;
            }
            if (r)
                freeReplyObject(r);
        }
        if (ok) {
            printf("admin user %s saved in Redis %s:%lld; it can log in now (a running "
                   "dispatchd reads it at login)\n",
                   name, cfg->redis_host, (long long)cfg->redis_port);
            status = 0;
        } else {
            fprintf(stderr, "dispatchd: --create-admin: Redis refused the write: %s\n",
                    rc->err ? rc->errstr : first_err);
        }
    }
    if (rc)
        redisFree(rc);
    free(text);
    return status;
}

/* --create-signing-key, --verify-checkpoint --key --entries: one-shot, no Redis. */
static int checkpoint_action(const char *const *v)
{
    if (v[OPT_CREATE_SIGNING_KEY])
        return checkpoint_cli_create_key(v[OPT_CREATE_SIGNING_KEY], stdout);
    if (!v[OPT_VERIFY_CHECKPOINT] || !v[OPT_VERIFY_KEY] || !v[OPT_VERIFY_ENTRIES]) {
        fprintf(stderr, "dispatchd: --verify-checkpoint FILE --key PUB.pem --entries FILE go "
                        "together\n(try dispatchd --help)\n");
        return 2;
    }
    return checkpoint_cli_verify(v[OPT_VERIFY_CHECKPOINT], v[OPT_VERIFY_KEY], v[OPT_VERIFY_ENTRIES],
                                 stdout);
}

/* The audit signing key (audit_signing_key), when set: an unreadable or exposed key stops the
 * start rather than leaving checkpoints unsigned unnoticed. */
static int load_signing_key(struct dispatchd *d)
{
    const char *path = d->s.cfg.audit_signing_key;
    if (path == NULL || path[0] == '\0') {
        log_info("audit: no audit_signing_key: GET /v1/audit/checkpoint answers 503");
        return 0;
    }
    char why[600], id[AUDIT_HASH_HEX_LEN + 1];
    EVP_PKEY *k = key_file_load_private(path, why, sizeof(why));
    if (k == NULL || audit_key_id(k, id) != 0) {
        log_error("audit_signing_key: %s", k ? "not an Ed25519 key" : why);
        EVP_PKEY_free(k);
        return -1;
    }
    d->s.audit_key = k;
    log_info("audit: checkpoints signed with key_id %s (%s)", id, path);
    return 0;
}

/*
 * glibc's allocator, tuned for thousands of idle connections (measured by bench-ingest,
 * tests/bench/README.md: memory per tracked vehicle after a burst of batches).
 *
 * - No per-thread cache (tcache). It keeps up to 7 freed chunks of every small size "in use"
 *   for reuse; after a burst those chunks sit in the middle of the freed region, split it into
 *   hundreds of pieces and keep them from coalescing, and malloc_trim() cannot hand back pages
 *   they touch: with it, 1,000 tracked vehicles cost ~2.1 KB each after a burst, without it
 *   ~1.2 KB, at the same throughput (the fastbins still serve small sizes). The cache can only
 *   be turned off by the environment, GLIBC_TUNABLES=glibc.malloc.tcache_count=0, read when the
 *   process starts: the systemd unit and deploy/run.sh set it, and the start-up log says
 *   whether it is set. dispatchd does not set it for itself (re-executing would hide the
 *   tuning from operators, valgrind and gdb).
 * - A fixed mmap threshold. By default glibc raises it (from 128 KiB up to 32 MiB) each time an
 *   mmap'd block is freed: the first scrypt hash (16 MiB, auth.c) lifts it to 16 MiB, and from
 *   then on every large transient buffer (hiredis' output buffer holds all commands not yet
 *   written to Redis: MBs when 1,000 handsets upload at once) grows inside the heap. Fixed,
 *   such buffers stay mmap'd and go back to the system when freed (and the trim threshold
 *   stays at its 128 KiB default).
 */
#define TCACHE_OFF "glibc.malloc.tcache_count=0"

static void tune_malloc(void)
{
#ifdef __GLIBC__
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
}

static void log_malloc_tuning(void)
{
#ifdef __GLIBC__
    const char *t = getenv("GLIBC_TUNABLES");
    if (t != NULL && strstr(t, TCACHE_OFF) != NULL)
        log_info("malloc: per-thread cache off (GLIBC_TUNABLES=%s)", t);
    else
        log_info("malloc: per-thread cache on; GLIBC_TUNABLES=" TCACHE_OFF " (set by the systemd "
                 "unit and run.sh) saves ~0.9 KB per tracked vehicle after a burst");
#endif
}

/* Every connection is a descriptor: the connection caps (handset_max_connections +
 * http_max_connections) are only real if the process may open that many. The soft limit is
 * often 1024; raise it to the hard limit, and say so when even that is too low (accepting then
 * fails with EMFILE and is logged). */
static void raise_fd_limit(const struct dispatchd_config *cfg)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    rlim_t want = (rlim_t)(cfg->handset_max_connections + cfg->jt808_max_connections +
                           cfg->http_max_connections + 64);
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want)
        log_warn("open-file limit %llu is below the connection caps (%llu descriptors); raise "
                 "LimitNOFILE / ulimit -n",
                 (unsigned long long)rl.rlim_cur, (unsigned long long)want);
}

int main(int argc, char **argv)
{
    tune_malloc();
    struct dispatchd d;
    memset(&d, 0, sizeof(d));
    clock_gettime(CLOCK_MONOTONIC, &d.s.started);

    char err[512];
    const char *opt_values[sizeof(dispatchd_options) / sizeof(dispatchd_options[0])];
    int rc = cfg_parse_args(&dispatchd_program, &d.s.cfg, argc, argv, opt_values, stdout, err,
                            sizeof(err));
    if (rc != CFG_PARSE_RUN) {
        if (rc == CFG_PARSE_ERROR)
            fprintf(stderr, "dispatchd: %s\n(try dispatchd --help)\n", err);
        cfg_free(dispatchd_settings, dispatchd_settings_count, &d.s.cfg);
        return rc == CFG_PARSE_EXIT ? 0 : 2;
    }
    log_set_level((enum log_level)d.s.cfg.log_level);
    log_route_libevent();
    if (opt_values[OPT_CREATE_SIGNING_KEY] || opt_values[OPT_VERIFY_CHECKPOINT] ||
        opt_values[OPT_VERIFY_KEY] || opt_values[OPT_VERIFY_ENTRIES]) {
        int status = checkpoint_action(opt_values);
        cfg_free(dispatchd_settings, dispatchd_settings_count, &d.s.cfg);
        return status;
    }
    if (opt_values[OPT_CREATE_ADMIN]) {
        int status = create_admin(&d.s.cfg, opt_values[OPT_CREATE_ADMIN]);
        cfg_free(dispatchd_settings, dispatchd_settings_count, &d.s.cfg);
        return status;
    }
    /* A peer closing its socket must not kill the process. */
    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit(&d.s.cfg);
    /* Jitter of reconnection delays only: not a security use. */
    srand((unsigned)time(NULL) ^ (unsigned)getpid());

    log_info("dispatchd %s starting (pid %d)", DISPATCHD_VERSION, (int)getpid());
    log_malloc_tuning();
    int status = 1;
    if (dispatchd_start(&d) == 0) {
        log_info("ready: HTTP %s:%lld, handsets %s:%lld, Redis %s:%lld", d.s.cfg.http_bind,
                 (long long)d.s.cfg.http_port, d.s.cfg.handset_bind,
                 (long long)d.s.cfg.handset_port, d.s.cfg.redis_host,
                 (long long)d.s.cfg.redis_port);
        if (event_base_dispatch(d.s.base) == 0 || d.s.shutting_down)
            status = 0;
    }
    dispatchd_stop(&d);
    log_info("dispatchd stopped (exit %d)", status);
    cfg_free(dispatchd_settings, dispatchd_settings_count, &d.s.cfg);
    return status;
}
