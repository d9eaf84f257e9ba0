/* service.h -- the service context: what the use cases share -- the store, writer, registry,
 * accounts, audit log, event bus, login guard and password pool, the configuration, the
 * modules' own state as opaque handles, and the service's lifecycle flags. It holds no transport
 * handle: the HTTP front and the handset listener keep theirs in their own contexts
 * (http/http_ctx.h, handset/handset_ctx.h), which point to it. Created and torn down by
 * dispatchd.c, which embeds it in its own wiring (transports' contexts, listeners, signals).
 */
#ifndef LPG_SERVICE_H
#define LPG_SERVICE_H

#include "app/dispatchd_settings.h"
#include "core/delivery_rules.h"
#include "core/fix_filter.h"
#include "core/rules.h"

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct event_base;
struct event;
struct store;
struct registry;
struct accounts;
struct writer;
struct tracks;
struct audit_log;
struct work_pool;
struct login_guard;
struct event_bus;
struct evbuffer;
struct dispatcher;
struct delivery;
struct route_seals;

/* What a device transport reports on the operational endpoints (/healthz, /metrics), registered
 * when dispatchd wires it: http/ knows the other transports only through these. */
struct transport_probe {
    const char *name;                                 /* "handset": /healthz' handset_connections */
    size_t (*connections)(void *arg);                 /* open connections */
    void (*metrics)(void *arg, struct evbuffer *out); /* its Prometheus families */
    void *arg;
};
#define SERVICE_MAX_TRANSPORTS 4

#define DISPATCHD_VERSION "0.1.0"

struct service {
    /* Configuration: read-only once started. The rules' structs are the settings in the form
     * the rules read (dispatchd_settings_apply_rules), shared like cfg: rules_cfg is read by
     * ingest and the summaries, delivery_cfg by delivery, stations and the compliance handlers. */
    struct dispatchd_config cfg;             /* owned; released with cfg_free() */
    struct fix_filter_config fix_filter_cfg; /* filters before the rules */
    struct rules_config rules_cfg;           /* tracking rule thresholds */
    struct delivery_policy delivery_cfg;     /* loading and hand-over rules */
    int64_t rectification_ms;                /* deadline of a rectification notice */

    /* The shared handles. */
    struct event_base *base;     /* the one event loop */
    struct store *store;         /* Redis, the store of record */
    struct registry *registry;   /* in-memory cache of the stored domain (registry_store.c) */
    struct accounts *accounts;   /* users and sessions of the HTTP API */
    struct work_pool *hash_pool; /* threads checking passwords off the loop (work_pool.h) */
    struct login_guard *guard;   /* limits on failed logins and Hellos (login_guard.h) */
    struct event_bus *bus;       /* events of the use cases, for the transports (events.h) */
    struct writer *writer;       /* the single writer: every change goes through it */
    struct audit_log *audit;     /* the tamper-evident record (audit_log.h); every change
                                    appends to it in its own transaction */

    /* The modules' own state, opaque: each is read and written by its module only (the
     * counters through its accessor, for /metrics). */
    struct tracks *tracks;         /* ingest: tracks, devices, counters (ingest_init) */
    struct dispatcher *dispatcher; /* re-matching queue and counters (dispatcher_init) */
    struct delivery *delivery;     /* delivery counters (delivery_init) */

    /* Sealed routes: timer, counters (route_seal_init). */
    struct route_seals *route_seals;

    /* Lifecycle: written by the binary (the load, shutdown) and service_request_reload; read
     * by the use cases and the transports (refused while not loaded, or shutting down). */
    int loaded;              /* registry, accounts and audit head loaded: serving /v1 */
    int loading;             /* a load is in progress */
    int reload_needed;       /* a commit's outcome is unknown: reload when Redis is back */
    int shutting_down;       /* SIGTERM/SIGINT: draining */
    struct timespec started; /* CLOCK_MONOTONIC at start, for uptime */

    struct transport_probe transports[SERVICE_MAX_TRANSPORTS]; /* the device transports' probes */
    size_t n_transports;
    /* Set by the binary (dispatchd.c), which owns the load: starts the reload that
     * service_request_reload asks for, on a later turn of the loop. NULL: the reload waits for
     * the next time Redis comes back up (as after a lost commit). */
    void (*reload_start)(void *arg);
    void *reload_arg;
    /* The Ed25519 key that signs audit checkpoints (an OpenSSL EVP_PKEY, owned by the binary;
     * NULL when audit_signing_key is not set). docs/audit.md, "Checkpoints". */
    struct evp_pkey_st *audit_key;
};

/* Seconds since start (monotonic). */
double service_uptime(const struct service *s);

/* The registry no longer holds what Redis, the store of record, has (a change Redis committed
 * could not be applied): sets reload_needed and asks the binary to reload the registry and
 * accounts from Redis (s->reload_start, once per reload). Ignored while nothing is loaded yet
 * (a load under way reports its own failure) and during shutdown. */
void service_request_reload(struct service *s);
/* registry_put_failed_fn (core/registry.h) of the service's registry: arg is the service. */
void service_registry_put_failed(void *arg);

#endif
