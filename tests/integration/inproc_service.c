/* inproc_service.c -- see inproc_service.h. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "inproc_service.h"

#include "app/events.h"
#include "app/ingest.h"
#include "core/model_json.h"
#include "core/registry.h"
#include "store/accounts.h"
#include "store/audit_log.h"
#include "store/store.h"
#include "store/writer.h"

#include <event2/event.h>
#include <jansson.h>

#include <stdlib.h>
#include <string.h>

int inproc_run_until(struct service *svc, const int *flag, int timeout_ms)
{
    for (int waited = 0; !*flag && waited < timeout_ms; waited += 10) {
        struct timeval tv = {0, 10000};
        event_base_loopexit(svc->base, &tv);
        event_base_dispatch(svc->base);
    }
    return *flag;
}

int inproc_redis_start(struct harness_redis *redis, char *dir, size_t dir_cap, const char *tag)
{
    int port = harness_free_port();
    if (harness_tmpdir(dir, dir_cap, tag) != 0 || harness_redis_start(redis, dir, port) != 0)
        return -1;
    return 0;
}

void inproc_redis_stop(struct harness_redis *redis, const char *dir)
{
    harness_redis_stop(redis);
    harness_rmdir(dir);
}

/* Module-wide: the store keeps calling on_state for as long as it lives. */
static int store_up;
static void on_state(void *arg, enum store_state s, const char *detail)
{
    (void)arg;
    (void)detail;
    store_up = s == STORE_UP;
}

static int audit_loaded;
static void on_audit_loaded(void *arg, const char *err)
{
    (void)arg;
    assert_null(err);
    audit_loaded = 1;
}

int inproc_service_start(struct service *svc, int port, const char *key_prefix)
{
    store_up = 0;
    audit_loaded = 0;
    memset(svc, 0, sizeof(*svc));
    if (cfg_set_defaults(dispatchd_settings, dispatchd_settings_count, &svc->cfg) != 0)
        return -1;
    fix_filter_config_default(&svc->fix_filter_cfg);
    rules_config_default(&svc->rules_cfg);
    svc->base = event_base_new();
    struct store_options so = {.host = "127.0.0.1",
                               .port = port,
                               .connect_timeout_ms = 300,
                               .ping_interval_ms = 100,
                               .reconnect_min_ms = 50,
                               .reconnect_max_ms = 200,
                               .key_prefix = key_prefix ? key_prefix : svc->cfg.redis_key_prefix};
    svc->store = store_new(svc->base, &so);
    svc->registry = registry_new();
    svc->accounts = accounts_new();
    svc->writer = writer_new(svc->base, svc->store);
    svc->bus = event_bus_new();
    svc->audit = audit_log_new(svc->store);
    if (!svc->base || !svc->store || !svc->registry || !svc->accounts || !svc->writer ||
        !svc->bus || !svc->audit || ingest_init(svc) != 0)
        return -1;
    store_set_state_callback(svc->store, on_state, NULL);
    if (!inproc_run_until(svc, &store_up, 5000) ||
        audit_log_reload(svc->audit, on_audit_loaded, NULL) != 0 ||
        !inproc_run_until(svc, &audit_loaded, 5000))
        return -1;
    return 0;
}

void inproc_service_stop(struct service *svc)
{
    store_free(svc->store);
    audit_log_free(svc->audit);
    writer_free(svc->writer);
    event_bus_free(svc->bus);
    ingest_free(svc);
    registry_free(svc->registry);
    accounts_free(svc->accounts);
    cfg_free(dispatchd_settings, dispatchd_settings_count, &svc->cfg);
    event_base_free(svc->base);
}

void inproc_seed(struct registry *reg, const char *const (*seeds)[2], size_t n)
{
    for (size_t i = 0; i < n; i++) {
        json_error_t jerr;
        json_t *j = json_loads(seeds[i][1], 0, &jerr);
        assert_non_null(j);
        struct lpg_json_error err;
        int ok;
        void *rec = NULL;
        if (strcmp(seeds[i][0], "enterprise") == 0) {
            struct lpg_enterprise *e = rec = calloc(1, sizeof(*e));
            ok = e && lpg_json_load_enterprise(j, e, &err) == 0 &&
                 registry_put_enterprise(reg, e) == 0;
        } else if (strcmp(seeds[i][0], "vehicle") == 0) {
            struct lpg_vehicle *v = rec = calloc(1, sizeof(*v));
            ok = v && lpg_json_load_vehicle(j, v, &err) == 0 && registry_put_vehicle(reg, v) == 0;
        } else if (strcmp(seeds[i][0], "zone") == 0) {
            struct lpg_zone *z = rec = calloc(1, sizeof(*z));
            ok = z && lpg_json_load_zone(j, z, &err) == 0 && registry_put_zone(reg, z) == 0;
        } else if (strcmp(seeds[i][0], "customer") == 0) {
            struct lpg_customer *c = rec = calloc(1, sizeof(*c));
            ok = c && lpg_json_load_customer(j, c, &err) == 0 && registry_put_customer(reg, c) == 0;
        } else {
            struct lpg_staff *s = rec = calloc(1, sizeof(*s));
            ok = s && lpg_json_load_staff(j, s, &err) == 0 && registry_put_staff(reg, s) == 0;
        }
        if (!ok)
            free(rec); /* the registry owns what it took */
        json_decref(j);
        if (!ok)
            fail_msg("seed %zu refused: %s %s", i, err.code, err.message);
    }
}
