/* test_terminal_cases.c -- the terminal's side of app/terminals.c in-process, on the real store
 * module and a private redis-server: 0x0100 registration (terminal_register) and 0x0102
 * authentication (terminal_authenticate) as the JT/T 808 listener calls them.
 *
 *   - a registered terminal whose plate matches (spaces, '-', '·' and ASCII case aside) gets a
 *     fresh code, stored as its SHA-256 digest before the answer, under any edition's leading
 *     zeros of its id; the code authenticates, a wrong one, a prefix of it, an old one after a
 *     new registration, or any code of a terminal without one, do not;
 *   - an unknown terminal answers 4 and a plate of another vehicle 2, at once (before the call
 *     returns: no writer, no store), leaving the code as it was; a service not loaded answers
 *     100 (retry);
 *   - EV_TERMINAL_REVOKED is published when the code is replaced, the terminal re-bound or
 *     deleted, naming the terminal as registered;
 *   - the codes survive a reload of the accounts from Redis;
 *   - a registration still queued when the service stops is answered 100, once.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "app/events.h"
#include "app/service.h"
#include "app/terminals.h"
#include "common/log.h"
#include "core/model_json.h"
#include "core/registry.h"
#include "harness.h"
#include "inproc_service.h"
#include "store/accounts.h"
#include "store/store.h"
#include "store/writer.h"

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct harness_redis redis;
static char dir[256];
static struct service svc;
static redisContext *rc;

static int run_until(const int *flag, int timeout_ms)
{
    return inproc_run_until(&svc, flag, timeout_ms);
}

static int store_up;
static void on_state(void *arg, enum store_state s, const char *detail)
{
    (void)arg;
    (void)detail;
    store_up = s == STORE_UP;
}

static const char *const vehicles[] = {
    "{\"id\":\"V1\",\"enterprise_id\":\"E1\",\"plate\":\"蒙E·12345\",\"kind\":\"truck\","
    "\"capacity\":40}",
    "{\"id\":\"V2\",\"enterprise_id\":\"E1\",\"plate\":\"蒙E67890\",\"kind\":\"truck\","
    "\"capacity\":40}",
    "{\"id\":\"V3\",\"enterprise_id\":\"E1\",\"plate\":\"蒙E55555\",\"kind\":\"truck\","
    "\"capacity\":40}",
};

static void seed(void)
{
    json_t *j = json_loads("{\"id\":\"E1\",\"name\":\"Hailar Gas\",\"area\":{\"type\":\"Polygon\","
                           "\"coordinates\":[[[119.0,49.0],[120.5,49.0],[120.5,49.5],[119.0,49.5],"
                           "[119.0,49.0]]]}}",
                           0, NULL);
    struct lpg_json_error err;
    struct lpg_enterprise *e = calloc(1, sizeof(*e));
    assert_non_null(e);
    assert_int_equal(lpg_json_load_enterprise(j, e, &err), 0);
    assert_int_equal(registry_put_enterprise(svc.registry, e), 0);
    json_decref(j);
    for (size_t i = 0; i < sizeof(vehicles) / sizeof(vehicles[0]); i++) {
        j = json_loads(vehicles[i], 0, NULL);
        struct lpg_vehicle *v = calloc(1, sizeof(*v));
        assert_non_null(v);
        assert_int_equal(lpg_json_load_vehicle(j, v, &err), 0);
        assert_int_equal(registry_put_vehicle(svc.registry, v), 0);
        json_decref(j);
    }
}

/* What the listener would hear. */
static struct {
    int n;
    char terminal[32], vehicle[LPG_ID_MAX + 1], reason[128];
} revoked;

static void on_revoked(void *arg, const struct service_event *ev)
{
    (void)arg;
    revoked.n++;
    snprintf(revoked.terminal, sizeof(revoked.terminal), "%s", ev->terminal_id);
    snprintf(revoked.vehicle, sizeof(revoked.vehicle), "%s", ev->vehicle_id);
    snprintf(revoked.reason, sizeof(revoked.reason), "%s", ev->reason);
}

static const struct auth_principal root = {
    .user = "root", .role = AUTH_ROLE_ADMIN, .expires_ms = 4102444800000};

static int setup(void **state)
{
    (void)state;
    log_set_level(LL_WARN);
    if (inproc_redis_start(&redis, dir, sizeof(dir), "termcases") != 0)
        return -1;
    int port = redis.port;
    memset(&svc, 0, sizeof(svc));
    if (cfg_set_defaults(dispatchd_settings, dispatchd_settings_count, &svc.cfg) != 0)
        return -1;
    svc.base = event_base_new();
    struct store_options so = {.host = "127.0.0.1",
                               .port = port,
                               .connect_timeout_ms = 300,
                               .ping_interval_ms = 100,
                               .reconnect_min_ms = 50,
                               .reconnect_max_ms = 200,
                               .key_prefix = "t:"};
    svc.store = store_new(svc.base, &so);
    svc.registry = registry_new();
    svc.accounts = accounts_new();
    svc.writer = writer_new(svc.base, svc.store);
    svc.bus = event_bus_new();
    if (!svc.base || !svc.store || !svc.registry || !svc.accounts || !svc.writer || !svc.bus)
        return -1;
    store_set_state_callback(svc.store, on_state, NULL);
    if (!run_until(&store_up, 5000))
        return -1;
    seed();
    if (event_bus_subscribe(svc.bus, EV_TERMINAL_REVOKED, on_revoked, NULL) != 0)
        return -1;
    svc.loaded = 1;
    rc = redisConnect("127.0.0.1", port);
    return rc && !rc->err ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    if (rc)
        redisFree(rc);
    writer_free(svc.writer);
    store_free(svc.store);
    event_bus_free(svc.bus);
    registry_free(svc.registry);
    accounts_free(svc.accounts);
    cfg_free(dispatchd_settings, dispatchd_settings_count, &svc.cfg);
    event_base_free(svc.base);
    inproc_redis_stop(&redis, dir);
    return 0;
}

/* ---- calling the use cases ---- */

struct written {
    int done;
    int ok;
    char code[REFUSAL_CODE_MAX];
};

static void on_written(void *arg, const struct terminal_record *t, const struct refusal *r)
{
    struct written *w = arg;
    w->done++;
    w->ok = t != NULL;
    snprintf(w->code, sizeof(w->code), "%s", t ? "" : r->code);
}

static void create(const char *id, const char *vehicle, const char *code)
{
    struct written w = {0};
    struct refusal r;
    assert_int_equal(terminal_create(&svc, &root, id, vehicle, NULL, code, on_written, &w, &r), 0);
    assert_true(run_until(&w.done, 5000));
    assert_true(w.ok);
}

struct registered {
    int done;
    int before_return;
    enum terminal_reg_result result;
    char code[64];
    int code_null;
};

static void on_registered(void *arg, enum terminal_reg_result result, const char *code)
{
    struct registered *g = arg;
    g->done++;
    g->result = result;
    g->code_null = code == NULL;
    snprintf(g->code, sizeof(g->code), "%s", code ? code : "");
}

static struct registered reg(const char *id, const char *plate)
{
    struct registered g = {0};
    terminal_register(&svc, id, plate, on_registered, &g);
    g.before_return = g.done;
    assert_true(run_until(&g.done, 5000));
    assert_int_equal(g.done, 1);
    return g;
}

static int auth(const char *id, const char *code)
{
    return terminal_authenticate(&svc, id, (const uint8_t *)code, strlen(code));
}

/* The stored record of terminal id, as Redis has it. */
static json_t *stored(const char *id)
{
    redisReply *r = redisCommand(rc, "GET t:terminal:%s", id);
    assert_non_null(r);
    json_t *j = r->type == REDIS_REPLY_STRING ? json_loads(r->str, 0, NULL) : NULL;
    freeReplyObject(r);
    return j;
}

/* ---- the tests ---- */

static char code1[64];

static void test_register_and_authenticate(void **state)
{
    (void)state;
    create("13912345678", "V1", NULL);
    /* No code issued yet: nothing authenticates. */
    assert_int_equal(auth("13912345678", ""), -1);
    assert_int_equal(auth("13912345678", "authentication"), -1);
    /* 2013 header: 12 digits with a leading zero; the plate without its dot, in lower case. */
    revoked.n = 0;
    struct registered g = reg("013912345678", "蒙e 12345");
    assert_int_equal(g.result, TERMINAL_REG_OK);
    assert_int_equal(strlen(g.code), TERMINAL_CODE_LEN);
    snprintf(code1, sizeof(code1), "%s", g.code);
    /* Stored as its digest, never the code, before the answer. */
    json_t *j = stored("13912345678");
    assert_non_null(j);
    char digest[65];
    assert_int_equal(terminal_code_digest((const uint8_t *)code1, strlen(code1), digest), 0);
    assert_string_equal(json_string_value(json_object_get(j, "code_digest")), digest);
    char *text = json_dumps(j, 0);
    assert_null(strstr(text, code1));
    free(text);
    json_decref(j);
    assert_int_equal(revoked.n, 1);
    assert_string_equal(revoked.terminal, "13912345678");
    assert_string_equal(revoked.reason, terminal_revoked_code_replaced);
    /* The code, under every edition's id. */
    assert_int_equal(auth("13912345678", code1), 0);
    assert_int_equal(auth("013912345678", code1), 0);
    assert_int_equal(auth("00000000013912345678", code1), 0);
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "%.*s", TERMINAL_CODE_LEN - 1, code1);
    assert_int_equal(auth("13912345678", prefix), -1);
    assert_int_equal(auth("13912345678", "WRONGWRONGWRONGWRONGWRONG0"), -1);
    assert_int_equal(auth("13912345679", code1), -1);
    assert_int_equal(auth("4eb6fb4afd9e", code1), -1);
    assert_int_equal(terminal_authenticate(&svc, "13912345678", NULL, 0), -1);
}

static void test_refused_registrations(void **state)
{
    (void)state;
    revoked.n = 0;
    /* The plate of another vehicle: 2, at once, the code unchanged. */
    struct registered g = reg("013912345678", "蒙E67890");
    assert_int_equal(g.result, TERMINAL_REG_VEHICLE_UNKNOWN);
    assert_true(g.before_return);
    assert_true(g.code_null);
    g = reg("013912345678", "");
    assert_int_equal(g.result, TERMINAL_REG_VEHICLE_UNKNOWN);
    /* An unknown terminal: 4, at once. */
    g = reg("013900000000", "蒙E·12345");
    assert_int_equal(g.result, TERMINAL_REG_TERMINAL_UNKNOWN);
    assert_true(g.before_return);
    g = reg("not-bcd", "蒙E·12345");
    assert_int_equal(g.result, TERMINAL_REG_TERMINAL_UNKNOWN);
    assert_int_equal(revoked.n, 0);
    assert_int_equal(auth("13912345678", code1), 0);
    /* Not loaded: 100, retry. */
    svc.loaded = 0;
    g = reg("013912345678", "蒙E·12345");
    assert_int_equal(g.result, TERMINAL_REG_UNAVAILABLE);
    svc.loaded = 1;
}

static void test_registration_is_first_use_only(void **state)
{
    (void)state;
    /* The terminal holds code1: another 0x0100 (whoever sends it) gets 3 and changes nothing. */
    struct registered g = reg("00000000013912345678", "蒙E-12345");
    assert_int_equal(g.result, TERMINAL_REG_TERMINAL_TAKEN);
    assert_true(g.code_null);
    assert_int_equal(auth("13912345678", code1), 0);
    /* The operator clears its code (a new unit): the session ends, and it may register again. */
    revoked.n = 0;
    struct written w = {0};
    struct refusal r;
    assert_int_equal(terminal_change(&svc, &root, "13912345678", NULL, "", on_written, &w, &r), 0);
    assert_true(run_until(&w.done, 5000));
    assert_true(w.ok);
    assert_int_equal(revoked.n, 1);
    assert_int_equal(auth("13912345678", code1), -1);
    g = reg("00000000013912345678", "蒙E-12345");
    assert_int_equal(g.result, TERMINAL_REG_OK);
    assert_string_not_equal(g.code, code1);
    assert_int_equal(auth("13912345678", code1), -1);
    assert_int_equal(auth("13912345678", g.code), 0);
    snprintf(code1, sizeof(code1), "%s", g.code);
}

static void test_operator_code_and_revocations(void **state)
{
    (void)state;
    /* A terminal that skips 0x0100 and sends its preconfigured code. */
    create("013800000002", "V2", "authentication");
    assert_int_equal(auth("13800000002", "authentication"), 0);
    assert_int_equal(auth("13800000002", "Authentication"), -1);
    /* Re-bound: its session must end. */
    revoked.n = 0;
    struct written w = {0};
    struct refusal r;
    assert_int_equal(terminal_change(&svc, &root, "13800000002", "V3", NULL, on_written, &w, &r),
                     0);
    assert_true(run_until(&w.done, 5000));
    assert_true(w.ok);
    assert_int_equal(revoked.n, 1);
    assert_string_equal(revoked.terminal, "013800000002");
    assert_string_equal(revoked.vehicle, "V2");
    assert_string_equal(revoked.reason, terminal_revoked_rebound);
    /* The plate is now V3's. */
    assert_int_equal(reg("013800000002", "蒙E67890").result, TERMINAL_REG_VEHICLE_UNKNOWN);
    /* Deleted: unknown from then on. */
    memset(&w, 0, sizeof(w));
    assert_int_equal(terminal_delete(&svc, &root, "13800000002", on_written, &w, &r), 0);
    assert_true(run_until(&w.done, 5000));
    assert_true(w.ok);
    assert_int_equal(revoked.n, 2);
    assert_string_equal(revoked.reason, terminal_revoked_deleted);
    assert_int_equal(auth("13800000002", "authentication"), -1);
    assert_null(stored("013800000002"));
    assert_int_equal(reg("013800000002", "蒙E55555").result, TERMINAL_REG_TERMINAL_UNKNOWN);
}

static int reloaded;
static void on_reloaded(void *arg, const char *err)
{
    (void)arg;
    assert_null(err);
    reloaded = 1;
}

static void test_codes_survive_reload(void **state)
{
    (void)state;
    struct accounts *fresh = accounts_new();
    assert_non_null(fresh);
    assert_int_equal(accounts_load(svc.store, fresh, 0, on_reloaded, NULL), 0);
    assert_true(run_until(&reloaded, 5000));
    accounts_free(svc.accounts);
    svc.accounts = fresh;
    assert_int_equal(auth("013912345678", code1), 0);
    assert_int_equal(auth("13800000002", "authentication"), -1);
    const struct terminal_record *t = terminals_get(&svc, "13912345678");
    assert_non_null(t);
    assert_string_equal(t->vehicle_id, "V1");
    assert_string_equal(t->enterprise_id, "E1");
}

/* The service stops with the registration still queued: answered 100 all the same, from the
 * writer's teardown, so the listener can release the connection it holds for the answer. */
static void test_shutdown_answers_queued_registration(void **state)
{
    (void)state;
    /* Reopened for registration first (it holds a code: a 0x0100 would be answered 3 at once). */
    struct written w = {0};
    struct refusal r;
    assert_int_equal(terminal_change(&svc, &root, "13912345678", NULL, "", on_written, &w, &r), 0);
    assert_true(run_until(&w.done, 5000));
    assert_true(w.ok);
    writer_pause(svc.writer);
    struct registered g = {0};
    terminal_register(&svc, "013912345678", "蒙E12345", on_registered, &g);
    assert_int_equal(g.done, 0);
    writer_free(svc.writer);
    assert_int_equal(g.done, 1);
    assert_int_equal(g.result, TERMINAL_REG_UNAVAILABLE);
    assert_true(g.code_null);
    svc.writer = writer_new(svc.base, svc.store);
    assert_non_null(svc.writer);
    /* Nothing was issued: it holds no code (the operator cleared it) and may register. */
    assert_int_equal(auth("13912345678", code1), -1);
    assert_int_equal(terminals_get(&svc, "13912345678")->code_digest[0], '\0');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register_and_authenticate),
        cmocka_unit_test(test_refused_registrations),
        cmocka_unit_test(test_registration_is_first_use_only),
        cmocka_unit_test(test_operator_code_and_revocations),
        cmocka_unit_test(test_codes_survive_reload),
        cmocka_unit_test(test_shutdown_answers_queued_registration),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
