/* test_ingest_sources.c -- app/ingest.c in-process, fed by a source that is not a handset (a
 * unit bound to a vehicle, no person, no protobuf): the service's modules on the real store
 * module and a private redis-server. Proves that plain fixes with the source's identity are
 * stored in the wire's integer units exactly, resends skipped, invalid fixes ignored, the
 * refusals given in the one refusal shape, the device's mark re-read once its session ends, and
 * that raised alerts reach the transports through the bus only (EV_ALERT_RAISED).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "app/alerts.h"
#include "app/events.h"
#include "app/ingest.h"
#include "store/keys.h"
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
#include "store/store.h"
#include "store/writer.h"

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <jansson.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct harness_redis redis;
static char dir[256];
static struct service svc;
static redisContext *rc; /* a plain client, to look at what was stored */

/* Runs the loop until *flag is set or timeout_ms passes; returns *flag. */
static int run_until(const int *flag, int timeout_ms)
{
    return inproc_run_until(&svc, flag, timeout_ms);
}

/* Vehicle V2 has no person bound: an in-vehicle unit reports for it. V1 is S1's. */
static const char *const seeds[][2] = {
    {"enterprise", "{\"id\":\"E1\",\"name\":\"Hailar Gas\",\"area\":{\"type\":\"Polygon\","
                   "\"coordinates\":[[[119.0,49.0],[120.5,49.0],[120.5,49.5],[119.0,49.5],"
                   "[119.0,49.0]]]}}"},
    {"vehicle", "{\"id\":\"V1\",\"enterprise_id\":\"E1\",\"plate\":\"MB12345\",\"kind\":\"truck\","
                "\"capacity\":40,\"staff_id\":\"S1\"}"},
    {"vehicle", "{\"id\":\"V2\",\"enterprise_id\":\"E1\",\"plate\":\"MB67890\",\"kind\":\"truck\","
                "\"capacity\":40}"},
    {"staff", "{\"id\":\"S1\",\"enterprise_id\":\"E1\",\"name\":\"Li Si\",\"role\":\"delivery\","
              "\"vehicle_id\":\"V1\",\"device_id\":\"D1\",\"on_duty\":true}"},
};

static void seed(void)
{
    inproc_seed(svc.registry, seeds, sizeof(seeds) / sizeof(seeds[0]));
}

/* The alerts the transports would hear. */
static struct {
    int n;
    char device[LPG_ID_MAX + 1];
    char enterprise[LPG_ID_MAX + 1];
    char json_id[64];
    int has_alert;
} heard;

static void on_alert(void *arg, const struct service_event *ev)
{
    (void)arg;
    heard.n++;
    snprintf(heard.device, sizeof(heard.device), "%s", ev->device_id ? ev->device_id : "");
    snprintf(heard.enterprise, sizeof(heard.enterprise), "%s",
             ev->enterprise_id ? ev->enterprise_id : "(null)");
    const char *id = ev->json ? json_string_value(json_object_get(ev->json, "id")) : NULL;
    snprintf(heard.json_id, sizeof(heard.json_id), "%s", id ? id : "");
    heard.has_alert = ev->alert != NULL;
}

static int setup(void **state)
{
    (void)state;
    log_set_level(LL_WARN);
    if (inproc_redis_start(&redis, dir, sizeof(dir), "ingestsrc") != 0)
        return -1;
    if (inproc_service_start(&svc, redis.port, "t:") != 0)
        return -1;
    seed();
    if (event_bus_subscribe(svc.bus, EV_ALERT_RAISED, on_alert, NULL) != 0)
        return -1;
    svc.loaded = 1;
    rc = redisConnect("127.0.0.1", redis.port);
    return rc && !rc->err ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    if (rc)
        redisFree(rc);
    inproc_service_stop(&svc);
    inproc_redis_stop(&redis, dir);
    return 0;
}

/* ---- feeding ingest ---- */

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

static const struct ingest_source unit_v2 = {
    .kind = INGEST_SOURCE_VEHICLE_UNIT,
    .device_id = "U2",
    .staff_id = NULL,
    .vehicle_id = "V2",
};

static int64_t t0; /* the first fix's time: a minute ago */

/* A fix given in the wire's integer units, through fix.h's. */
static struct ingest_fix fix_at(uint64_t seq, int64_t time_ms, int32_t lat_e7, int32_t lon_e7,
                                uint32_t speed_cm_s)
{
    struct ingest_fix f;
    memset(&f, 0, sizeof(f));
    f.seq = seq;
    f.fix.time_ms = time_ms;
    f.fix.pos.lat = lat_e7 / 1e7;
    f.fix.pos.lon = lon_e7 / 1e7;
    f.fix.has_speed = true;
    f.fix.speed_kmh = speed_cm_s * 0.036;
    f.fix.has_heading = true;
    f.fix.heading_deg = 123.45;
    f.fix.has_accuracy = true;
    f.fix.accuracy_m = 2.5;
    f.fix.mode = LPG_FIX_MODE_3D;
    return f;
}

/* Feeds the fixes and waits for the answer (called exactly once). */
static struct ingest_result feed(const struct ingest_source *src, const struct ingest_fix *fixes,
                                 size_t n)
{
    struct answer a = {0};
    ingest_positions(&svc, src, fixes, n, on_done, &a);
    assert_true(run_until(&a.done, 5000));
    assert_int_equal(a.done, 1);
    return a.r;
}

static redisReply *cmd(const char *fmt, const char *arg)
{
    redisReply *r = redisCommand(rc, fmt, arg);
    assert_non_null(r);
    return r;
}

static long long zcard(const char *vehicle, int64_t ms)
{
    char rel[64], key[96];
    keys_route_day(rel, sizeof(rel), vehicle, lpg_local_day(ms, 0));
    snprintf(key, sizeof(key), "t:%s", rel);
    redisReply *r = cmd("ZCARD %s", key);
    long long n = r->integer;
    freeReplyObject(r);
    return n;
}

static void expect_stored(const char *fmt, const char *arg, const char *want)
{
    redisReply *r = cmd(fmt, arg);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_string_equal(r->str, want);
    freeReplyObject(r);
}

/* A unit bound to a vehicle, with no person and no protobuf: stored under the vehicle, the
 * device's mark, the vehicle's latest position naming the device; the member in the wire's
 * integers exactly. A resend is acknowledged with the mark and not stored twice. */
static void test_vehicle_unit_fixes_stored(void **state)
{
    (void)state;
    t0 = lpg_now_ms() - 60000;
    struct ingest_fix fixes[3] = {
        fix_at(1, t0, 492000001, 1197000002, 1234),
        fix_at(2, t0 + 1000, 492000101, 1197000102, 1240),
        fix_at(3, t0 + 2000, 492000201, 1197000202, 1250),
    };
    struct ingest_result r = feed(&unit_v2, fixes, 3);
    assert_int_equal(r.refusal.kind, REFUSAL_NONE);
    assert_int_equal(r.position_seq, 3);
    assert_int_equal(zcard("V2", t0), 3);
    expect_stored("GET %s", "t:device:U2:seq", "3");
    expect_stored("HGET %s device", "t:vehicle:V2:last", "U2");

    char rel[64], key[96], want[ROUTE_MEMBER_MAX];
    keys_route_day(rel, sizeof(rel), "V2", lpg_local_day(t0, 0));
    snprintf(key, sizeof(key), "t:%s", rel);
    struct route_fix rf = {
        .seq = 1,
        .time_ms = t0,
        .lat_e7 = 492000001,
        .lon_e7 = 1197000002,
        .has_speed = 1,
        .speed_cm_s = 1234,
        .has_heading = 1,
        .heading_cdeg = 12345,
        .has_acc = 1,
        .accuracy_cm = 250,
        .mode = 3,
    };
    route_member_format(&rf, want, sizeof(want));
    redisReply *z = redisCommand(rc, "ZRANGE %s 0 0", key);
    assert_non_null(z);
    assert_int_equal(z->elements, 1);
    assert_string_equal(z->element[0]->str, want);
    freeReplyObject(z);

    r = feed(&unit_v2, fixes, 3); /* resent */
    assert_int_equal(r.refusal.kind, REFUSAL_NONE);
    assert_int_equal(r.position_seq, 3);
    assert_int_equal(zcard("V2", t0), 3);
}

/* A fix without a position (NaN) or with seq 0 is skipped and never moves the mark. */
static void test_unusable_fixes_skipped(void **state)
{
    (void)state;
    struct ingest_fix fixes[2] = {
        fix_at(4, t0 + 3000, 492000301, 1197000302, 0),
        fix_at(0, t0 + 4000, 492000401, 1197000402, 0),
    };
    fixes[0].fix.pos.lat = NAN;
    struct ingest_result r = feed(&unit_v2, fixes, 2);
    assert_int_equal(r.refusal.kind, REFUSAL_NONE);
    assert_int_equal(r.position_seq, 3);
    assert_int_equal(zcard("V2", t0), 3);
    expect_stored("GET %s", "t:device:U2:seq", "3");
}

/* Refusals come in the one shape, nothing stored. */
static void test_refusals(void **state)
{
    (void)state;
    struct ingest_fix one = fix_at(5, t0 + 5000, 492000501, 1197000502, 0);
    struct ingest_source ghost = unit_v2;
    ghost.vehicle_id = "V9";
    struct ingest_result r = feed(&ghost, &one, 1);
    assert_int_equal(r.refusal.kind, REFUSAL_INVALID);
    assert_string_equal(r.refusal.code, "unknown_vehicle");

    struct ingest_source nobody = {.kind = INGEST_SOURCE_HANDSET, .device_id = "D7"};
    r = feed(&nobody, &one, 1);
    assert_int_equal(r.refusal.kind, REFUSAL_INVALID);
    assert_string_equal(r.refusal.code, "no_vehicle");

    r = feed(&unit_v2, &one, 0);
    assert_int_equal(r.refusal.kind, REFUSAL_INVALID);
    assert_string_equal(r.refusal.code, "batch_size");

    struct ingest_fix far = fix_at(UINT64_MAX, t0 + 5000, 492000501, 1197000502, 0);
    r = feed(&unit_v2, &far, 1);
    assert_int_equal(r.refusal.kind, REFUSAL_RULE);
    assert_string_equal(r.refusal.code, "seq_out_of_window");
    assert_non_null(strstr(r.refusal.message, "high-water mark 3"));
    expect_stored("GET %s", "t:device:U2:seq", "3");
    assert_int_equal(zcard("V2", t0), 3);

    svc.loaded = 0;
    r = feed(&unit_v2, &one, 1);
    svc.loaded = 1;
    assert_int_equal(r.refusal.kind, REFUSAL_UNAVAILABLE);
    assert_string_equal(r.refusal.code, "loading");
}

/* A person's device (no vehicle named) reports for the person's vehicle. */
static void test_person_source_goes_to_bound_vehicle(void **state)
{
    (void)state;
    struct ingest_source handset = {
        .kind = INGEST_SOURCE_HANDSET, .device_id = "D1", .staff_id = "S1"};
    struct ingest_fix one = fix_at(7, t0, 492000001, 1197000002, 100);
    struct ingest_result r = feed(&handset, &one, 1);
    assert_int_equal(r.refusal.kind, REFUSAL_NONE);
    assert_int_equal(r.position_seq, 7);
    assert_int_equal(zcard("V1", t0), 1);
    expect_stored("HGET %s device", "t:vehicle:V1:last", "D1");
}

/* The mark is cached per device while its session lasts; once the transport says the session
 * ended, the next batch reads it from the store again (a mark changed in the store meanwhile is
 * honoured: seq 50 is then a resend). */
static void test_mark_reread_after_session_end(void **state)
{
    (void)state;
    redisReply *set = redisCommand(rc, "SET t:device:U2:seq 100");
    assert_non_null(set);
    freeReplyObject(set);
    ingest_device_session_ended(ingest_device_of(&svc, "U2"));
    struct ingest_fix one = fix_at(50, t0 + 6000, 492000601, 1197000602, 0);
    struct ingest_result r = feed(&unit_v2, &one, 1);
    assert_int_equal(r.refusal.kind, REFUSAL_NONE);
    assert_int_equal(r.position_seq, 100);
    assert_int_equal(zcard("V2", t0), 3);
}

/* Raised alerts go out on the bus only: live ones with the device to tell, late ones not at
 * all, system alerts to every enterprise's streams without an alert record. */
static void test_alerts_published_on_bus(void **state)
{
    (void)state;
    struct rule_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.rule = RULE_OVERSPEED;
    ev.kind = RULE_EVENT_VIOLATION_START;
    ev.start_ms = ev.end_ms = t0;
    snprintf(ev.message, sizeof(ev.message), "overspeed");
    struct lpg_alert a;
    alerts_from_event(&a, &ev, "E1", "V2", "", t0);
    memset(&heard, 0, sizeof(heard));
    alerts_raised(&svc, &a, "U2");
    assert_int_equal(heard.n, 1);
    assert_string_equal(heard.device, "U2");
    assert_string_equal(heard.enterprise, "E1");
    assert_string_equal(heard.json_id, a.id);
    assert_true(heard.has_alert);

    a.ev.late = true;
    alerts_raised(&svc, &a, "U2");
    assert_int_equal(heard.n, 1); /* recorded, never live */

    assert_int_equal(alerts_system(&svc, "redis_memory", "memory high", NULL), -1);
    assert_int_equal(heard.n, 2);
    assert_string_equal(heard.enterprise, "");
    assert_string_equal(heard.device, "");
    assert_false(heard.has_alert);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vehicle_unit_fixes_stored),
        cmocka_unit_test(test_unusable_fixes_skipped),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_person_source_goes_to_bound_vehicle),
        cmocka_unit_test(test_mark_reread_after_session_end),
        cmocka_unit_test(test_alerts_published_on_bus),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
