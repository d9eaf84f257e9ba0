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

#include "config.h"
#include "handset_server.h"
#include "http_server.h"
#include "log.h"
#include "store.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

/* How often a shutting-down dispatchd checks whether it has drained. */
#define DISPATCHD_DRAIN_POLL_MS 20

static double elapsed_s(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - since->tv_sec) + (double)(now.tv_nsec - since->tv_nsec) / 1e9;
}

double dispatchd_uptime(const struct dispatchd *d)
{
    return elapsed_s(&d->started);
}

static void on_store_state(void *arg, enum store_state state, const char *detail)
{
    (void)arg;
    (void)state;
    (void)detail; /* store.c logs transitions; metrics read the state directly */
}

static void on_drain_poll(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct dispatchd *d = arg;
    size_t writes = store_inflight(d->store);
    size_t conns = handset_server_connections(d->handset);
    size_t http = http_server_inflight(d->http);
    double waited_ms = elapsed_s(&d->shutdown_began) * 1000.0;
    if (writes == 0 && conns == 0 && http == 0) {
        log_info("drained after %.0f ms", waited_ms);
        event_base_loopexit(d->base, NULL);
        return;
    }
    if (waited_ms >= (double)d->cfg.shutdown_timeout) {
        log_warn("shutdown timeout (%lld ms) reached with %zu store writes, %zu handset "
                 "connections and %zu HTTP requests outstanding; exiting anyway",
                 (long long)d->cfg.shutdown_timeout, writes, conns, http);
        event_base_loopexit(d->base, NULL);
        return;
    }
    struct timeval tv = {0, DISPATCHD_DRAIN_POLL_MS * 1000};
    evtimer_add(d->drain_timer, &tv);
}

static void begin_shutdown(struct dispatchd *d, const char *why)
{
    if (d->shutting_down) {
        log_warn("%s again during shutdown: exiting now", why);
        event_base_loopbreak(d->base);
        return;
    }
    d->shutting_down = 1;
    clock_gettime(CLOCK_MONOTONIC, &d->shutdown_began);
    log_info("%s: shutting down (stop accepting, flush, exit)", why);
    http_server_stop_accepting(d->http);
    handset_server_shutdown(d->handset);
    on_drain_poll(-1, 0, d);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    begin_shutdown(arg, sig == SIGTERM ? "SIGTERM" : "SIGINT");
}

static const struct cfg_program dispatchd_program = {
    .name = "dispatchd",
    .version = DISPATCHD_VERSION,
    .summary = "lpg-dispatch service: dispatch, vehicle supervision and delivery compliance "
               "for bottled LPG.",
    .settings = dispatchd_settings,
    .n_settings = DISPATCHD_SETTINGS_COUNT,
    .options = NULL,
    .n_options = 0,
    .validate = dispatchd_settings_validate,
};

static int dispatchd_start(struct dispatchd *d)
{
    char err[256];
    d->base = event_base_new();
    if (d->base == NULL) {
        log_error("cannot create the event loop");
        return -1;
    }
    struct store_options so = {
        .host = d->cfg.redis_host,
        .port = (int)d->cfg.redis_port,
        .connect_timeout_ms = (int)d->cfg.redis_connect_timeout,
        .ping_interval_ms = (int)d->cfg.redis_ping_interval,
        .reconnect_min_ms = (int)d->cfg.redis_reconnect_min,
        .reconnect_max_ms = (int)d->cfg.redis_reconnect_max,
        .key_prefix = d->cfg.redis_key_prefix,
    };
    d->store = store_new(d->base, &so);
    if (d->store == NULL) {
        log_error("cannot create the Redis store");
        return -1;
    }
    store_set_state_callback(d->store, on_store_state, d);

    struct http_server_options ho = {
        .bind = d->cfg.http_bind,
        .port = (int)d->cfg.http_port,
        .max_body = d->cfg.http_max_body,
        .max_headers = d->cfg.http_max_headers,
        .timeout_s = (int)d->cfg.http_timeout,
    };
    d->http = http_server_new(d->base, &ho, dispatchd_routes, dispatchd_routes_count, d, d->store,
                              err, sizeof(err));
    if (d->http == NULL) {
        log_error("%s", err);
        return -1;
    }
    struct handset_server_options hso = {
        .bind = d->cfg.handset_bind,
        .port = (int)d->cfg.handset_port,
        .max_connections = (int)d->cfg.handset_max_connections,
        .idle_timeout_s = (int)d->cfg.handset_idle_timeout,
        .max_frame = (size_t)d->cfg.handset_max_frame,
    };
    d->handset = handset_server_new(d->base, &hso, d->store, err, sizeof(err));
    if (d->handset == NULL) {
        log_error("%s", err);
        return -1;
    }
    d->sigterm = evsignal_new(d->base, SIGTERM, on_signal, d);
    d->sigint = evsignal_new(d->base, SIGINT, on_signal, d);
    d->drain_timer = evtimer_new(d->base, on_drain_poll, d);
    if (!d->sigterm || !d->sigint || !d->drain_timer || evsignal_add(d->sigterm, NULL) != 0 ||
        evsignal_add(d->sigint, NULL) != 0) {
        log_error("cannot install signal handlers");
        return -1;
    }
    return 0;
}

/* Order matters: the store first, so that pending command callbacks run (with an error)
 * while the connections that issued them still exist; then the listeners. */
static void dispatchd_stop(struct dispatchd *d)
{
    store_free(d->store);
    handset_server_free(d->handset);
    http_server_free(d->http);
    if (d->sigterm)
        event_free(d->sigterm);
    if (d->sigint)
        event_free(d->sigint);
    if (d->drain_timer)
        event_free(d->drain_timer);
    if (d->base)
        event_base_free(d->base);
}

int main(int argc, char **argv)
{
    struct dispatchd d;
    memset(&d, 0, sizeof(d));
    clock_gettime(CLOCK_MONOTONIC, &d.started);

    char err[512];
    int rc = cfg_parse_args(&dispatchd_program, &d.cfg, argc, argv, NULL, stdout, err, sizeof(err));
    if (rc != CFG_PARSE_RUN) {
        if (rc == CFG_PARSE_ERROR)
            fprintf(stderr, "dispatchd: %s\n(try dispatchd --help)\n", err);
        cfg_free(dispatchd_settings, dispatchd_settings_count, &d.cfg);
        return rc == CFG_PARSE_EXIT ? 0 : 2;
    }
    log_set_level((enum log_level)d.cfg.log_level);
    log_route_libevent();
    /* A peer closing its socket must not kill the process. */
    signal(SIGPIPE, SIG_IGN);
    /* Jitter of reconnection delays only: not a security use. */
    srand((unsigned)time(NULL) ^ (unsigned)getpid());

    log_info("dispatchd %s starting (pid %d)", DISPATCHD_VERSION, (int)getpid());
    int status = 1;
    if (dispatchd_start(&d) == 0) {
        log_info("ready: HTTP %s:%lld, handsets %s:%lld, Redis %s:%lld", d.cfg.http_bind,
                 (long long)d.cfg.http_port, d.cfg.handset_bind, (long long)d.cfg.handset_port,
                 d.cfg.redis_host, (long long)d.cfg.redis_port);
        if (event_base_dispatch(d.base) == 0 || d.shutting_down)
            status = 0;
    }
    dispatchd_stop(&d);
    log_info("dispatchd stopped (exit %d)", status);
    cfg_free(dispatchd_settings, dispatchd_settings_count, &d.cfg);
    return status;
}
