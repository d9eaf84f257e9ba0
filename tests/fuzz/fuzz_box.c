/* fuzz_box.c -- see fuzz_box.h. Mirrors dispatchd_start / dispatchd_stop (dispatchd.c) minus
 * the HTTP front, signals and Redis. */
#include "handset/handset_metrics.h"
#include "app/events.h"
#include "fuzz_box.h"

#include "store/accounts.h"
#include "store/audit_log.h"
#include "core/auth.h"
#include "core/login_guard.h"
#include "fake_store.h"
#include "handset/handset_dispatch.h"
#include "handset/handset_positions.h"
#include "handset/handset_server.h"
#include "app/delivery.h"
#include "app/dispatcher.h"
#include "app/ingest.h"
#include "http/live_feed.h"
#include "jt808/jt808_server.h"
#include "common/log.h"
#include "core/model_json.h"
#include "core/registry.h"
#include "store/store.h"
#include "store/terminals.h"
#include "store/writer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>

/* The seeded registry, as stored records (lpg_json_load_*). The area holds every customer. */
#define AREA                                                                                       \
    "{\"type\":\"Polygon\",\"coordinates\":[[[119.0,49.0],[120.5,49.0],[120.5,49.5],[119.0,"       \
    "49.5],[119.0,49.0]]]}"
static const char *const seed_enterprise =
    "{\"id\":\"E1\",\"name\":\"Hailar Gas\",\"area\":" AREA "}";
static const char *const seed_zone =
    "{\"id\":\"Z1\",\"enterprise_id\":\"E1\",\"name\":\"North\",\"shape\":" AREA "}";
static const char *const seed_staff =
    "{\"id\":\"S1\",\"enterprise_id\":\"E1\",\"name\":\"Li Si\",\"role\":\"delivery\","
    "\"vehicle_id\":\"V1\",\"device_id\":\"" FUZZ_DEVICE "\",\"on_duty\":true,\"zone_id\":\"Z1\"}";
static const char *const seed_vehicle =
    "{\"id\":\"V1\",\"enterprise_id\":\"E1\",\"plate\":\"" FUZZ_PLATE "\",\"kind\":\"truck\","
    "\"capacity\":40,\"staff_id\":\"S1\"}";
static const char *const seed_customer =
    "{\"id\":\"C1\",\"enterprise_id\":\"E1\",\"name\":\"Wang Wu\",\"kind\":\"household\","
    "\"location\":{\"lon\":119.7,\"lat\":49.2},\"address\":\"1 Main St\"}";
static const char *const seed_order =
    "{\"id\":\"O1\",\"enterprise_id\":\"E1\",\"customer_id\":\"C1\",\"kind\":\"delivery\","
    "\"state\":\"assigned\",\"staff_id\":\"S1\",\"vehicle_id\":\"V1\","
    "\"items\":[{\"spec\":\"YSP-12\",\"count\":2}]}";
/* The two cylinders order O1 needs (2 x YSP-12), so that loading can complete. */
static const char *const seed_cylinder =
    "{\"id\":\"CY1\",\"enterprise_id\":\"E1\",\"spec\":\"YSP-12\",\"manufactured\":\"2024-01-01\","
    "\"last_inspection\":\"2025-06-01\",\"serial\":\"SN1\"}";
static const char *const seed_cylinder2 =
    "{\"id\":\"CY2\",\"enterprise_id\":\"E1\",\"spec\":\"YSP-12\",\"manufactured\":\"2024-02-01\","
    "\"last_inspection\":\"2025-06-01\",\"serial\":\"SN2\"}";

static void discard_log(void *arg, enum log_level level, const char *line, size_t len)
{
    (void)arg;
    (void)level;
    (void)line;
    (void)len;
}

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    if (j == NULL) {
        fprintf(stderr, "fuzz_box: seed does not parse: %s\n", jerr.text);
        abort();
    }
    return j;
}

static void check(int rc, const struct lpg_json_error *err, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "fuzz_box: seed %s refused: %s %s %s\n", what, err->code, err->field,
                err->message);
        abort();
    }
}

#define SEED(type, loader, putter, text)                                                           \
    do {                                                                                           \
        struct type *e = calloc(1, sizeof(*e));                                                    \
        struct lpg_json_error err;                                                                 \
        json_t *j = parse(text);                                                                   \
        if (e == NULL)                                                                             \
            abort();                                                                               \
        check(loader(j, e, &err), &err, #type);                                                    \
        json_decref(j);                                                                            \
        if (putter(d->registry, e) != 0)                                                           \
            abort();                                                                               \
    } while (0)

static void seed(struct service *d)
{
    SEED(lpg_enterprise, lpg_json_load_enterprise, registry_put_enterprise, seed_enterprise);
    SEED(lpg_zone, lpg_json_load_zone, registry_put_zone, seed_zone);
    SEED(lpg_vehicle, lpg_json_load_vehicle, registry_put_vehicle, seed_vehicle);
    SEED(lpg_staff, lpg_json_load_staff, registry_put_staff, seed_staff);
    SEED(lpg_customer, lpg_json_load_customer, registry_put_customer, seed_customer);
    SEED(lpg_order, lpg_json_load_order, registry_put_order, seed_order);
    SEED(lpg_cylinder, lpg_json_load_cylinder, registry_put_cylinder, seed_cylinder);
    SEED(lpg_cylinder, lpg_json_load_cylinder, registry_put_cylinder, seed_cylinder2);

    struct device_record dev;
    memset(&dev, 0, sizeof(dev));
    snprintf(dev.device_id, sizeof(dev.device_id), "%s", FUZZ_DEVICE);
    snprintf(dev.staff_id, sizeof(dev.staff_id), "S1");
    snprintf(dev.enterprise_id, sizeof(dev.enterprise_id), "E1");
    if (auth_device_secret_digest(FUZZ_SECRET, dev.secret_digest) != 0 ||
        accounts_put_device(d->accounts, &dev) != 0)
        abort();
}

/* The terminal of V1 with a preset code, put in the accounts' table as their load would. */
static void seed_terminal(struct service *d)
{
    struct terminal_record t;
    memset(&t, 0, sizeof(t));
    snprintf(t.id, sizeof(t.id), "%s", FUZZ_TERMINAL);
    snprintf(t.vehicle_id, sizeof(t.vehicle_id), "V1");
    snprintf(t.enterprise_id, sizeof(t.enterprise_id), "E1");
    snprintf(t.protocol, sizeof(t.protocol), "jt808");
    if (terminal_code_digest((const uint8_t *)FUZZ_AUTH_CODE, strlen(FUZZ_AUTH_CODE),
                             t.code_digest) != 0 ||
        terminal_table_put(accounts_terminals(d->accounts), &t) != 0)
        abort();
}

static void on_audit_loaded(void *arg, const char *err)
{
    int *done = arg;
    if (err) {
        fprintf(stderr, "fuzz_box: audit head: %s\n", err);
        abort();
    }
    *done = 1;
}

void fuzz_box_init(struct fuzz_box *box, int what)
{
    memset(box, 0, sizeof(*box));
    struct service *d = &box->s;
    box->handset.s = d;
    log_set_sink(discard_log, NULL); /* every line is still formatted */
    log_set_level(LL_DEBUG);
    if (cfg_set_defaults(dispatchd_settings, dispatchd_settings_count, &d->cfg) != 0)
        abort();
    dispatchd_settings_apply_rules(&d->cfg, &d->fix_filter_cfg, &d->rules_cfg, &d->delivery_cfg,
                                   &d->rectification_ms);
    clock_gettime(CLOCK_MONOTONIC, &d->started);
    struct event_config *ecfg = event_config_new();
    if (ecfg == NULL)
        abort();
    event_config_set_flag(ecfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    d->base = event_base_new_with_config(ecfg);
    event_config_free(ecfg);
    struct store_options so = {.host = "fake", .key_prefix = d->cfg.redis_key_prefix};
    d->registry = registry_new();
    d->accounts = accounts_new();
    if (d->base == NULL || d->registry == NULL || d->accounts == NULL)
        abort();
    d->store = store_new(d->base, &so);
    if (d->store == NULL)
        abort();
    seed(d);
    if (what & FUZZ_BOX_JT808)
        seed_terminal(d);
    if (what == 0)
        return; /* the registry is all the import's validation reads */
    /* Failed-login limits, as dispatchd_start sets them (the Hello checks them first), but
     * for a few devices. */
    const struct dispatchd_config *c = &d->cfg;
    struct login_guard_options go = {
        .max_failures = (int)c->auth_max_failures,
        .max_failures_address = (int)c->auth_max_failures_address,
        .delay_ms = c->auth_delay * 1000,
        .lock_ms = c->auth_lock_period * 1000,
        /* Not auth_track_max: its tables are allocated whole (most of an input's time); a few
         * devices log in here. */
        .track_max = 64,
    };
    d->guard = login_guard_new(&go, 1);
    d->writer = writer_new(d->base, d->store);
    d->bus = event_bus_new();
    box->feed = live_feed_new(d->base);
    d->audit = audit_log_new(d->store);
    if (d->guard == NULL || d->writer == NULL || d->bus == NULL || box->feed == NULL ||
        d->audit == NULL || ingest_init(d) != 0 || dispatcher_init(d) != 0 ||
        delivery_init(d) != 0 || live_feed_listen(box->feed, d->bus) != 0 ||
        handset_dispatch_watch(&box->handset) != 0)
        abort();

    /* The audit head is read like at start (it answers from the fake store: empty chain). */
    int loaded = 0;
    fake_store_script(NULL, 0);
    if (audit_log_reload(d->audit, on_audit_loaded, &loaded) != 0)
        abort();
    while (!loaded)
        event_base_loop(d->base, EVLOOP_ONCE);
    d->loaded = 1;

    if (what & FUZZ_BOX_HANDSET) {
        char err[256];
        struct handset_server_options hso = {
            .bind = NULL, /* no listener: the target adopts its socket */
            .max_connections = (int)d->cfg.handset_max_connections,
            .idle_timeout_s = (int)d->cfg.handset_idle_timeout,
            .max_frame = (size_t)d->cfg.handset_max_frame,
            .hooks = &handset_dispatch_hooks,
            .hooks_ctx = &box->handset,
        };
        box->handset.srv = handset_server_new(d->base, &hso, d->store, err, sizeof(err));
        if (box->handset.srv == NULL) {
            fprintf(stderr, "fuzz_box: %s\n", err);
            abort();
        }
        d->transports[d->n_transports++] = handset_metrics_probe(box->handset.srv);
        /* The transports hear the service's events, as dispatchd wires them. */
        if (handset_server_subscribe(box->handset.srv, d->bus) != 0 ||
            handset_positions_listen(&box->handset) != 0)
            abort();
    }
    if (what & FUZZ_BOX_JT808) {
        char err[256];
        struct jt808_server_options jso = {
            .bind = NULL, /* no listener: the target adopts its socket */
            /* Not the default 100,000: the key index is sized at the cap (1 MiB, calloc'd and
             * freed per input, a third of the time of an input); one terminal connects. */
            .max_connections = 64,
            .idle_timeout_s = (int)d->cfg.jt808_idle_timeout,
            .auth_timeout_s = (int)d->cfg.jt808_auth_timeout,
            .max_unauthenticated = (int)d->cfg.jt808_max_unauthenticated,
            .max_unauthenticated_per_address = (int)d->cfg.jt808_max_unauthenticated_per_address,
            .heartbeat_s = (int)d->cfg.jt808_heartbeat,
            /* The smallest jt808_reassembly_timeout, so that a target that moves the clock
             * reaches the 0x8003 and the drop in a few simulated seconds. */
            .reassembly_timeout_s = 1,
        };
        box->jt808 = jt808_server_new(d->base, &jso, d, err, sizeof(err));
        if (box->jt808 == NULL) {
            fprintf(stderr, "fuzz_box: %s\n", err);
            abort();
        }
        d->transports[d->n_transports++] = jt808_server_probe(box->jt808);
        if (jt808_server_subscribe(box->jt808) != 0)
            abort();
    }
}

void fuzz_box_turn(struct fuzz_box *box)
{
    event_base_loop(box->s.base, EVLOOP_NONBLOCK);
}

void fuzz_box_free(struct fuzz_box *box)
{
    struct service *d = &box->s;
    store_free(d->store);
    if (d->audit) { /* the whole service was built */
        audit_log_free(d->audit);
        writer_free(d->writer);
        event_bus_free(d->bus);
        handset_server_free(box->handset.srv);
        jt808_server_free(box->jt808);
        live_feed_free(box->feed);
        ingest_free(d);
        dispatcher_free(d);
        delivery_free(d);
        login_guard_free(d->guard);
    }
    registry_free(d->registry);
    accounts_free(d->accounts);
    cfg_free(dispatchd_settings, dispatchd_settings_count, &d->cfg);
    event_base_free(d->base);
    memset(box, 0, sizeof(*box));
}

void fuzz_box_settle(struct fuzz_box *box, const struct fuzz_peer_io *io)
{
    int quiet = 0;
    for (int i = 0; i < 20000 && quiet < 3; i++) {
        uint64_t before = io->progress(box, io->peer);
        fuzz_box_turn(box);
        io->drain(io->peer);
        if (io->progress(box, io->peer) == before && fake_store_pending(box->s.store) == 0)
            quiet++;
        else
            quiet = 0;
    }
}

void fuzz_box_peer_write(struct fuzz_box *box, const struct fuzz_peer_io *io, const uint8_t *bytes,
                         size_t n)
{
    while (n > 0) {
        ssize_t w = send(io->fd, bytes, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w > 0) {
            bytes += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            uint64_t before = io->progress(box, io->peer);
            fuzz_box_settle(box, io);
            if (io->progress(box, io->peer) == before)
                return; /* the server stopped reading for good (e.g. closed) */
            continue;
        }
        return; /* EPIPE: the server closed its end */
    }
}
