/* test_ingest_terminal.c -- app/ingest.c in-process, fed as the JT/T 808 listener feeds it (issue
 * 12): a terminal bound to a vehicle, fixes numbered by time (INGEST_SEQ_TIME), with vehicle
 * data. The entities are made through a real dispatchd's HTTP API and loaded from the shared
 * Redis; what ingest stored is then read back through that dispatchd (route exports, position,
 * alerts). Proves: a resent live fix is not stored twice; a backfill older than the newest is
 * stored, marked late, and does not move the position or the mark; resending it leaves the day
 * set unchanged; vehicle data round-trips to every export and the position endpoint; the
 * terminal's alarm bits raise one alert per episode (rising edge), nothing while the bit stays
 * set (also across a restart), close it on the falling edge, and raise nothing for backfill.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "app/alerts.h"
#include "app/events.h"
#include "app/ingest.h"
#include "app/service.h"
#include "common/clock.h"
#include "common/log.h"
#include "core/model_json.h"
#include "core/registry.h"
#include "core/route_member.h"
#include "harness.h"
#include "inproc_service.h"
#include "store/accounts.h"
#include "store/audit_log.h"
#include "store/keys.h"
#include "store/registry_store.h"
#include "store/store.h"
#include "store/writer.h"

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct harness_stack stack;
static struct service svc;
static redisContext *rc; /* a plain client, to look at what was stored */
static char auth[128];   /* the admin's header for dispatchd */

#define TERMINAL "13800138000"

/* Runs the loop until *flag is set or timeout_ms passes; returns *flag. */
static int run_until(const int *flag, int timeout_ms)
{
    return inproc_run_until(&svc, flag, timeout_ms);
}

static int registry_loaded;
static void on_registry_loaded(void *arg, const char *err, const struct registry_counts *counts)
{
    (void)arg;
    (void)counts;
    assert_null(err);
    registry_loaded = 1;
}

/* The live alerts the transports would hear. */
static struct {
    int n;
    char rule[40], kind[24], source[16], device[32];
    long long duration_ms;
} heard;

static void copy_str(char *out, size_t cap, json_t *j, const char *name)
{
    const char *v = json_string_value(json_object_get(j, name));
    snprintf(out, cap, "%s", v ? v : "");
}

static void on_alert(void *arg, const struct service_event *ev)
{
    (void)arg;
    heard.n++;
    json_t *j = ev->json;
    copy_str(heard.rule, sizeof(heard.rule), j, "rule");
    copy_str(heard.kind, sizeof(heard.kind), j, "kind");
    copy_str(heard.source, sizeof(heard.source), j, "source");
    snprintf(heard.device, sizeof(heard.device), "%s", ev->device_id ? ev->device_id : "");
    heard.duration_ms = json_integer_value(json_object_get(j, "duration_ms"));
}

static int http(const char *path, int *status, char *body, size_t cap)
{
    return harness_http_req(stack.d.http_port, "GET", path, auth, NULL, status, body, cap);
}

static int setup(void **state)
{
    (void)state;
    log_set_level(LL_WARN);
    char secret[64], tok[64], resp[4096];
    int status;
    /* The entities, made as an operator makes them: enterprise E0 (with a person), and VT, a
     * vehicle nobody is bound to, which its terminal reports for. */
    if (harness_stack_start(&stack, "ingestterm", NULL) != 0 ||
        harness_stack_device(&stack, "D1", secret) != 0 ||
        harness_stack_admin_token(&stack, tok) != 0)
        return -1;
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", tok);
    if (harness_http_req(stack.d.http_port, "POST", "/v1/vehicles", auth,
                         "{\"id\":\"VT\",\"enterprise_id\":\"E0\",\"plate\":\"P-VT\",\"kind\":"
                         "\"truck\",\"capacity\":20}",
                         &status, resp, sizeof(resp)) != 0 ||
        status != 201) {
        fprintf(stderr, "creating VT: %d %s\n", status, resp);
        return -1;
    }
    /* The service in-process on the same Redis (dispatchd only reads from here on). */
    if (inproc_service_start(&svc, stack.redis.port, NULL) != 0 ||
        registry_store_load(svc.store, svc.registry, on_registry_loaded, NULL) != 0 ||
        !run_until(&registry_loaded, 5000) || registry_vehicle(svc.registry, "VT") == NULL)
        return -1;
    if (event_bus_subscribe(svc.bus, EV_ALERT_RAISED, on_alert, NULL) != 0)
        return -1;
    svc.loaded = 1;
    rc = redisConnect("127.0.0.1", stack.redis.port);
    return rc && !rc->err ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    if (rc)
        redisFree(rc);
    inproc_service_stop(&svc);
    return harness_stack_stop(&stack) == 0 ? 0 : -1;
}

/* ---- feeding ingest as the JT/T 808 listener does ---- */

static const struct ingest_source terminal = {
    .kind = INGEST_SOURCE_JT808,
    .seq_mode = INGEST_SEQ_TIME,
    .device_id = TERMINAL,
    .vehicle_id = "VT",
};

static int64_t t0; /* ten minutes ago, to the second (JT/T 808 times are whole seconds) */

/* What the terminal of these tests sends beside each fix. */
static const struct lpg_vehicle_data vd_base = {
    .status = 0x3, /* ACC on, positioned */
    .alarm = 0,
    .present = LPG_VD_ALL,
    .altitude_m = 812,
    .mileage_100m = 123456, /* 12345.6 km */
    .fuel_dl = 456,         /* 45.6 L */
    .recorder_speed_dkmh = 345,
    .signal = 25,
    .satellites = 12,
};

static struct lpg_vehicle_data vds[16]; /* the fixes point here */

static struct ingest_fix fix_at(int k, int64_t time_ms, uint32_t alarm, uint32_t flags)
{
    struct ingest_fix f;
    memset(&f, 0, sizeof(f));
    f.seq = 7; /* the message serial's stand-in: ignored in INGEST_SEQ_TIME */
    f.fix.time_ms = time_ms;
    f.fix.pos.lat = 49.2 + (time_ms - t0) / 1e8;
    f.fix.pos.lon = 119.75;
    f.fix.has_speed = true;
    f.fix.speed_kmh = 36.0;
    f.fix.has_heading = true;
    f.fix.heading_deg = 90;
    f.fix.mode = LPG_FIX_MODE_3D;
    f.fix.flags = flags;
    vds[k] = vd_base;
    vds[k].alarm = alarm;
    f.vehicle_data = &vds[k];
    return f;
}

struct answer {
    int done;
    struct ingest_result r;
};

static void on_done(void *arg, const struct ingest_result *r)
{
    struct answer *a = arg;
    a->done++;
    a->r = *r;
}

static struct ingest_result feed(const struct ingest_fix *fixes, size_t n)
{
    struct answer a = {0};
    ingest_positions(&svc, &terminal, fixes, n, on_done, &a);
    assert_true(run_until(&a.done, 5000));
    assert_int_equal(a.done, 1);
    assert_int_equal(a.r.refusal.kind, REFUSAL_NONE);
    return a.r;
}

static long long zcard(void)
{
    char rel[64], key[96];
    keys_route_day(rel, sizeof(rel), "VT", lpg_local_day(t0, 0));
    snprintf(key, sizeof(key), "lpg:%s", rel);
    redisReply *r = redisCommand(rc, "ZCARD %s", key);
    assert_non_null(r);
    long long n = r->integer;
    freeReplyObject(r);
    return n;
}

/* The stored member of the fix at time_ms (exactly one). */
static void member_at(int64_t time_ms, struct route_fix *out)
{
    char rel[64], key[96], at[24];
    keys_route_day(rel, sizeof(rel), "VT", lpg_local_day(time_ms, 0));
    snprintf(key, sizeof(key), "lpg:%s", rel);
    snprintf(at, sizeof(at), "%lld", (long long)time_ms);
    redisReply *r = redisCommand(rc, "ZRANGEBYSCORE %s %s %s", key, at, at);
    assert_non_null(r);
    assert_int_equal(r->elements, 1);
    assert_int_equal(route_member_parse(r->element[0]->str, r->element[0]->len, out), 0);
    freeReplyObject(r);
}

static long long last_time(void)
{
    redisReply *r = redisCommand(rc, "HGET lpg:vehicle:VT:last time_ms");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    long long t = atoll(r->str);
    freeReplyObject(r);
    return t;
}

/* A live fix resent is skipped; a backfill older than the newest is stored late without moving
 * the mark or the position, and resending it adds nothing. */
static void test_resend_and_backfill(void **state)
{
    (void)state;
    t0 = (lpg_now_ms() - 600000) / 1000 * 1000;
    struct ingest_fix a = fix_at(0, t0 + 60000, 0, 0);
    struct ingest_result r = feed(&a, 1);
    assert_int_equal(r.position_seq, (uint64_t)(t0 + 60000)); /* the mark is the time */
    assert_int_equal(zcard(), 1);
    uint64_t dup0 = ingest_stats(&svc)->fixes_duplicate;
    r = feed(&a, 1); /* the terminal did not hear the 0x8001: the same report again */
    assert_int_equal(r.position_seq, (uint64_t)(t0 + 60000));
    assert_int_equal(zcard(), 1);
    assert_int_equal(ingest_stats(&svc)->fixes_duplicate, dup0 + 1);

    struct ingest_fix b = fix_at(1, t0 + 120000, 0, 0);
    feed(&b, 1);
    assert_int_equal(zcard(), 2);
    assert_int_equal(last_time(), t0 + 120000);

    /* Blind-area backfill (0x0704 type 1) from before both. */
    uint64_t late0 = ingest_stats(&svc)->fixes_late;
    struct ingest_fix c[2] = {fix_at(2, t0 + 30000, 0, LPG_FIX_LATE),
                              fix_at(3, t0 + 31000, 0, LPG_FIX_LATE)};
    r = feed(c, 2);
    assert_int_equal(r.position_seq, (uint64_t)(t0 + 120000)); /* the mark stays */
    assert_int_equal(zcard(), 4);
    assert_int_equal(last_time(), t0 + 120000); /* and the position */
    assert_int_equal(ingest_stats(&svc)->fixes_late, late0 + 2);
    struct route_fix m;
    member_at(t0 + 30000, &m);
    assert_true(m.flags & ROUTE_FLAG_LATE);
    assert_int_equal(m.seq, (uint64_t)(t0 + 30000));
    assert_true(m.has_vd);

    r = feed(c, 2); /* resent */
    assert_int_equal(r.position_seq, (uint64_t)(t0 + 120000));
    assert_int_equal(zcard(), 4);
    /* The same time again without the backfill flag: a retransmission, skipped. */
    struct ingest_fix again = fix_at(4, t0 + 30000, 0, 0);
    feed(&again, 1);
    assert_int_equal(zcard(), 4);
    redisReply *seq = redisCommand(rc, "GET lpg:device:" TERMINAL ":seq");
    assert_non_null(seq);
    assert_int_equal(atoll(seq->str), t0 + 120000);
    freeReplyObject(seq);
}

/* The vehicle data of the newest fix (b) and of every fix, through dispatchd's read API. */
static void test_vehicle_data_read_back(void **state)
{
    (void)state;
    static char body[65536];
    int status;
    assert_int_equal(http("/v1/vehicles/VT/position", &status, body, sizeof(body)), 0);
    assert_int_equal(status, 200);
    json_t *j = json_loads(body, 0, NULL);
    assert_non_null(j);
    json_t *vd = json_object_get(json_object_get(j, "fix"), "vehicle_data");
    assert_non_null(vd);
    assert_int_equal(json_integer_value(json_object_get(vd, "status")), 3);
    assert_int_equal(json_integer_value(json_object_get(vd, "alarm")), 0);
    assert_int_equal(json_integer_value(json_object_get(vd, "altitude_m")), 812);
    assert_true(json_real_value(json_object_get(vd, "mileage_km")) == 12345.6);
    assert_true(json_real_value(json_object_get(vd, "fuel_l")) == 45.6);
    assert_true(json_real_value(json_object_get(vd, "recorder_speed_kmh")) == 34.5);
    assert_int_equal(json_integer_value(json_object_get(vd, "signal")), 25);
    assert_int_equal(json_integer_value(json_object_get(vd, "satellites")), 12);
    json_decref(j);

    char path[256], from[32], to[32];
    lpg_json_instant_format(t0, from);
    lpg_json_instant_format(t0 + 150000, to);
    const char *want_vd = "\"vehicle_data\":{\"status\":3,\"alarm\":0,\"altitude_m\":812,"
                          "\"mileage_km\":12345.6,\"fuel_l\":45.6,\"recorder_speed_kmh\":34.5,"
                          "\"signal\":25,\"satellites\":12}";
    snprintf(path, sizeof(path), "/v1/vehicles/VT/route?from=%s&to=%s", from, to);
    assert_int_equal(http(path, &status, body, sizeof(body)), 0);
    assert_int_equal(status, 200);
    j = json_loads(body, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "count")), 4);
    json_decref(j);
    assert_non_null(strstr(body, want_vd));

    snprintf(path, sizeof(path), "/v1/vehicles/VT/route?from=%s&to=%s&format=csv", from, to);
    assert_int_equal(http(path, &status, body, sizeof(body)), 0);
    assert_int_equal(status, 200);
    assert_non_null(strstr(body, "late,speed_derived,status,alarm,altitude_m,mileage_km,fuel_l,"
                                 "recorder_speed_kmh,signal,satellites\r\n"));
    assert_non_null(strstr(body, ",3d,true,false,3,0,812,12345.6,45.6,34.5,25,12\r\n"));
    assert_non_null(strstr(body, ",3d,false,false,3,0,812,12345.6,45.6,34.5,25,12\r\n"));

    snprintf(path, sizeof(path), "/v1/vehicles/VT/route?from=%s&to=%s&format=gpx", from, to);
    assert_int_equal(http(path, &status, body, sizeof(body)), 0);
    assert_int_equal(status, 200);
    assert_non_null(strstr(body, "<ele>812</ele><time>"));
    assert_non_null(strstr(body, "<lpg:vehicle status=\"3\" alarm=\"0\" mileage_km=\"12345.6\" "
                                 "fuel_l=\"45.6\" recorder_speed_kmh=\"34.5\" signal=\"25\" "
                                 "satellites=\"12\"/>"));

    snprintf(path, sizeof(path), "/v1/vehicles/VT/route?from=%s&to=%s&format=geojson", from, to);
    assert_int_equal(http(path, &status, body, sizeof(body)), 0);
    assert_int_equal(status, 200);
    j = json_loads(body, 0, NULL);
    assert_non_null(j);
    json_t *props = json_object_get(j, "properties");
    assert_int_equal(json_array_size(json_object_get(props, "times")), 4);
    json_t *vda = json_object_get(props, "vehicle_data");
    assert_int_equal(json_array_size(vda), 4);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(vda, 3), "altitude_m")),
                     812);
    assert_int_equal(
        json_array_size(json_object_get(json_object_get(j, "geometry"), "coordinates")), 4);
    json_decref(j);
}

static void expect_heard(int n, const char *rule, const char *kind)
{
    assert_int_equal(heard.n, n);
    assert_string_equal(heard.rule, rule);
    assert_string_equal(heard.kind, kind);
    assert_string_equal(heard.source, "terminal");
    assert_string_equal(heard.device, TERMINAL);
}

#define SOS   (1u << 0)
#define POWER (1u << 8)

/* SOS rises (one alert), stays (none, also after a restart), falls (the episode's end); a report
 * without a position still counts; backfill raises nothing. */
static void test_terminal_alarm_episodes(void **state)
{
    (void)state;
    memset(&heard, 0, sizeof(heard));
    struct ingest_fix f = fix_at(5, t0 + 180000, SOS | 1u << 3 /* not watched */, 0);
    feed(&f, 1);
    expect_heard(1, "terminal_sos", "violation_start");
    f = fix_at(6, t0 + 190000, SOS, 0);
    feed(&f, 1);
    assert_int_equal(heard.n, 1); /* the same episode */

    /* A restart: the episode is still open, the bit still set raises nothing. */
    ingest_free(&svc);
    assert_int_equal(ingest_init(&svc), 0);
    f = fix_at(7, t0 + 200000, SOS, 0);
    feed(&f, 1);
    assert_int_equal(heard.n, 1);

    f = fix_at(8, t0 + 210000, 0, 0);
    feed(&f, 1);
    expect_heard(2, "terminal_sos", "violation_end");
    assert_int_equal(heard.duration_ms, 30000); /* from the rising edge before the restart */

    /* No valid position (a GNSS fault comes with none): stored, not the newest, still counts. */
    f = fix_at(9, t0 + 220000, POWER, 0);
    f.fix.mode = LPG_FIX_MODE_NONE;
    feed(&f, 1);
    expect_heard(3, "terminal_power_off", "violation_start");
    assert_int_equal(last_time(), t0 + 210000);
    /* Refused by the filters is not late (/metrics counted it so, issue 14): since the restart
     * no stored fix was older than the newest. */
    assert_int_equal(ingest_stats(&svc)->fixes_late, 0);

    /* Backfill with alarm bits: stored with them, no live alert, no edge. */
    f = fix_at(10, t0 + 40000, SOS, LPG_FIX_LATE);
    feed(&f, 1);
    assert_int_equal(heard.n, 3);
    struct route_fix m;
    member_at(t0 + 40000, &m);
    assert_int_equal(m.vd.alarm, SOS);
    /* Flagged late but newer than the mark (the terminal uploads what it buffered before any
     * live report): stored as new, still no edge. */
    f = fix_at(11, t0 + 230000, SOS, LPG_FIX_LATE);
    feed(&f, 1);
    assert_int_equal(heard.n, 3);

    /* Stored like every alert: GET /v1/alerts lists them, told apart from the server's rules. */
    static char body[16384];
    int status;
    assert_int_equal(
        http("/v1/alerts?vehicle_id=VT&rule=terminal_sos", &status, body, sizeof(body)), 0);
    assert_int_equal(status, 200);
    json_t *j = json_loads(body, 0, NULL);
    assert_non_null(j);
    json_t *items = json_object_get(j, "items");
    assert_int_equal(json_array_size(items), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *a = json_array_get(items, i);
        assert_string_equal(json_string_value(json_object_get(a, "source")), "terminal");
        assert_string_equal(json_string_value(json_object_get(a, "rule")), "terminal_sos");
        assert_int_equal(json_integer_value(json_object_get(a, "alarm_bit")), 0);
    }
    json_decref(j);
    redisReply *st = redisCommand(rc, "GET lpg:vehicle:VT:alarms");
    assert_non_null(st);
    assert_int_equal(st->type, REDIS_REPLY_STRING);
    assert_non_null(strstr(st->str, "lpgalarms/1 256 "));
    freeReplyObject(st);
}

static long long zcard_key(const char *key)
{
    redisReply *r = redisCommand(rc, "ZCARD %s", key);
    assert_non_null(r);
    long long n = r->integer;
    freeReplyObject(r);
    return n;
}

/* Backfill that overspeeds makes one late overspeed alert (recorded, not heard); the terminal
 * resending that backfill makes no second one, the day set stays the same. */
static void test_resent_backfill_not_evaluated_again(void **state)
{
    (void)state;
    struct ingest_fix f[5];
    for (int i = 0; i < 5; i++) {
        f[i] = fix_at(11 + i, t0 + 130000 + i * 4000, 0, LPG_FIX_LATE);
        f[i].fix.speed_kmh = 90.0; /* over the 60 km/h road limit for 16 s */
    }
    const char *k = "lpg:alerts-by-rule:overspeed:vehicle:VT";
    long long alerts0 = zcard_key(k), fixes0 = zcard();
    int heard0 = heard.n;
    feed(f, 5);
    assert_int_equal(zcard(), fixes0 + 5);
    assert_int_equal(zcard_key(k), alerts0 + 1);
    assert_int_equal(heard.n, heard0); /* late: recorded, never pushed */
    feed(f, 5);
    assert_int_equal(zcard(), fixes0 + 5);
    assert_int_equal(zcard_key(k), alerts0 + 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resend_and_backfill),
        cmocka_unit_test(test_vehicle_data_read_back),
        cmocka_unit_test(test_terminal_alarm_episodes),
        cmocka_unit_test(test_resent_backfill_not_evaluated_again),
    };
    int rc_ = cmocka_run_group_tests(tests, setup, teardown);
    harness_cleanup_all();
    return rc_;
}
