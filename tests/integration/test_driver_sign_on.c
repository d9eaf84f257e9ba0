/* test_driver_sign_on.c -- the driver's card and fatigue following the person (issue 12 item 5),
 * in-process on the service's modules, the real store module and a private redis-server, fed
 * as the JT/T 808 listener feeds them (driver_card_report for 0x0702, ingest_positions with
 * INGEST_SEQ_TIME). Proves: a valid card signs its person on (registry, stored record, audit);
 * a mismatched, expired or unread card raises one driver_card alert and holds the vehicle --
 * matching skips its person and says why -- until a valid card or a handset login of the bound
 * person; a removed card signs off; a driver who drove 3 h in VA is alerted for continuous
 * driving after 1 more hour in VB, across a restart of ingest, while the second driver of VA
 * starts from zero.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "app/alerts.h"
#include "app/driver_sign_on.h"
#include "core/match.h"
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

/* S1 is bound to VA, S2 to VB (人车对应); both licensed until 2030, in zone Z1 (the whole area).
 * Terminals UA and UB report for VA and VB. */
#define AREA                                                                                       \
    "{\"type\":\"Polygon\",\"coordinates\":[[[119.0,49.0],[120.5,49.0],[120.5,49.5],[119.0,49.5]," \
    "[119.0,49.0]]]}"
#define PERSON(id, cert, veh)                                                                      \
    "{\"id\":\"" id "\",\"enterprise_id\":\"E1\",\"name\":\"" id "\",\"role\":\"driver\","         \
    "\"qualification_no\":\"" cert "\",\"qualification_expiry\":\"2030-01-01\","                   \
    "\"training_no\":\"T-" id "\",\"training_expiry\":\"2030-01-01\",\"zone_id\":\"Z1\","          \
    "\"vehicle_id\":\"" veh "\",\"on_duty\":true}"
#define VEHICLE(id, staff)                                                                         \
    "{\"id\":\"" id "\",\"enterprise_id\":\"E1\",\"plate\":\"P" id "\",\"kind\":\"van\","          \
    "\"capacity\":40,\"permit_no\":\"DG-" id "\",\"permit_expiry\":\"2030-01-01\","                \
    "\"staff_id\":\"" staff "\"}"
static const char *const seeds[][2] = {
    {"enterprise",
     "{\"id\":\"E1\",\"name\":\"Hailar Gas\",\"utc_offset_min\":480,\"area\":" AREA "}"},
    {"zone", "{\"id\":\"Z1\",\"enterprise_id\":\"E1\",\"name\":\"all\",\"shape\":" AREA "}"},
    {"customer", "{\"id\":\"C1\",\"enterprise_id\":\"E1\",\"name\":\"C1\",\"kind\":\"household\","
                 "\"location\":{\"lon\":119.5,\"lat\":49.2}}"},
    {"vehicle", VEHICLE("VA", "S1")},
    {"vehicle", VEHICLE("VB", "S2")},
    {"staff", PERSON("S1", "4401AB123", "VA")},
    {"staff", PERSON("S2", "4401CD456", "VB")},
};

static void seed(void)
{
    inproc_seed(svc.registry, seeds, sizeof(seeds) / sizeof(seeds[0]));
}

/* The alerts the transports would hear. */
static struct {
    int n;
    char device[LPG_ID_MAX + 1];
    char rule[32];
    char message[RULE_EVENT_MESSAGE_MAX];
    int fatigue_starts[3]; /* continuous-driving violations, by person S0..S2 */
    char fatigue_vehicle[LPG_ID_MAX + 1];
    int64_t fatigue_duration_ms;
} heard;

static void on_alert(void *arg, const struct service_event *ev)
{
    (void)arg;
    const struct lpg_alert *a = ev->alert;
    if (a == NULL)
        return;
    if (strcmp(alerts_rule_name(a), "fatigue") == 0) {
        if (a->ev.kind == RULE_EVENT_VIOLATION_START && a->ev.code == RULE_FATIGUE_CONTINUOUS &&
            a->staff_id[0] == 'S' && a->staff_id[1] >= '0' && a->staff_id[1] <= '2') {
            heard.fatigue_starts[a->staff_id[1] - '0']++;
            snprintf(heard.fatigue_vehicle, sizeof(heard.fatigue_vehicle), "%s", a->vehicle_id);
            heard.fatigue_duration_ms = a->ev.duration_ms;
        }
        return;
    }
    if (strcmp(alerts_rule_name(a), "driver_card") != 0)
        return; /* zone exits and the like: not this test's */
    heard.n++;
    snprintf(heard.device, sizeof(heard.device), "%s", ev->device_id ? ev->device_id : "");
    snprintf(heard.rule, sizeof(heard.rule), "%s", alerts_rule_name(a));
    snprintf(heard.message, sizeof(heard.message), "%s", a->ev.message);
}

static int setup(void **state)
{
    (void)state;
    log_set_level(LL_WARN);
    if (inproc_redis_start(&redis, dir, sizeof(dir), "drivercard") != 0)
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

/* ---- sign-on ---- */

struct card_answer {
    int done;
    struct refusal r;
};

static void on_card(void *arg, const struct refusal *r)
{
    struct card_answer *a = arg;
    a->done++;
    a->r = *r;
}

static int32_t today(void)
{
    return lpg_local_day(lpg_now_ms(), 480);
}

/* Reports a card in vehicle (by its terminal U<vehicle[1]>) and waits for the answer. */
static void card(const char *vehicle, int inserted, int read_ok, const char *cert, int32_t expiry)
{
    struct driver_card c;
    memset(&c, 0, sizeof(c));
    c.inserted = inserted;
    c.read_ok = read_ok;
    snprintf(c.name, sizeof(c.name), "%s", "张三");
    snprintf(c.certificate, sizeof(c.certificate), "%s", cert);
    c.expiry_day = expiry;
    char device[8];
    snprintf(device, sizeof(device), "U%c", vehicle[1]);
    struct card_answer a = {0};
    driver_card_report(&svc, vehicle, device, &c, on_card, &a);
    assert_true(run_until(&a.done, 5000));
    assert_int_equal(a.done, 1);
    assert_int_equal(a.r.kind, REFUSAL_NONE);
}

static const struct lpg_vehicle *vehicle(const char *id)
{
    const struct lpg_vehicle *v = registry_vehicle(svc.registry, id);
    assert_non_null(v);
    return v;
}

/* Whether matching would give S1 an order of C1 now; why says why not. */
static bool s1_eligible(char *why, size_t cap)
{
    struct lpg_order o;
    memset(&o, 0, sizeof(o));
    snprintf(o.id, sizeof(o.id), "O1");
    snprintf(o.enterprise_id, sizeof(o.enterprise_id), "E1");
    snprintf(o.customer_id, sizeof(o.customer_id), "C1");
    o.n_items = 1;
    snprintf(o.items[0].spec, sizeof(o.items[0].spec), "YSP-35.5");
    o.items[0].count = 1;
    const struct lpg_staff *s = registry_staff(svc.registry, "S1");
    assert_non_null(s);
    return match_staff_eligible(svc.registry, &o, s, lpg_now_ms(), why, cap);
}

static void expect_in_store(const char *key, const char *needle)
{
    redisReply *r = redisCommand(rc, "GET %s", key);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    if (strstr(r->str, needle) == NULL)
        fail_msg("%s: %s has no %s", key, r->str, needle);
    freeReplyObject(r);
}

/* The newest member of the person's sign-on index {p}staff:{id}:drives. */
static void expect_last_drive(const char *staff, const char *needle)
{
    redisReply *r = redisCommand(rc, "ZRANGE t:staff:%s:drives -1 -1", staff);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 1);
    if (strstr(r->element[0]->str, needle) == NULL)
        fail_msg("%s: newest sign-on %s has no %s", staff, r->element[0]->str, needle);
    freeReplyObject(r);
}

static void expect_last_audit(const char *needle)
{
    redisReply *r = redisCommand(rc, "LRANGE t:audit:entries -1 -1");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 1);
    if (strstr(r->element[0]->str, needle) == NULL)
        fail_msg("last audit entry %s has no %s", r->element[0]->str, needle);
    freeReplyObject(r);
}

/* A card of the bound person's certificate (spaces and case aside), valid today: S1 drives VA,
 * in the registry, in the stored record, with an audit entry; no alert; S1 takes orders. */
static void valid_card_signs_on(void **state)
{
    (void)state;
    char why[LPG_TEXT_MAX + 1];
    assert_true(s1_eligible(why, sizeof(why)));
    card("VA", 1, 1, "4401 ab123", today());
    const struct lpg_vehicle *v = vehicle("VA");
    assert_string_equal(v->driver_id, "S1");
    assert_string_equal(v->driver_via, "card");
    assert_true(v->driver_since_ms > 0);
    assert_string_equal(v->driver_hold, "");
    expect_in_store("t:vehicle:VA", "\"driver_id\":\"S1\"");
    expect_last_audit("driver_signed_on");
    assert_int_equal(heard.n, 0);
    assert_true(s1_eligible(why, sizeof(why)));
}

/* Another person's certificate, an expired card, a card not read: one alert each (source
 * driver_card, naming the card), the vehicle held -- S1 not eligible, and the reason says so --
 * until a valid card; the same refusal resent alerts once. */
static void refused_cards_hold_the_vehicle(void **state)
{
    (void)state;
    char why[LPG_TEXT_MAX + 1];
    card("VA", 1, 1, "4401CD456", today()); /* S2's certificate */
    assert_int_equal(heard.n, 1);
    assert_string_equal(heard.device, "UA");
    assert_non_null(strstr(heard.message, "certificate_mismatch"));
    assert_non_null(strstr(heard.message, "4401CD456"));
    assert_non_null(strstr(heard.message, "张三"));
    assert_string_equal(vehicle("VA")->driver_id, "");
    assert_false(s1_eligible(why, sizeof(why)));
    if (strstr(why, "vehicle held: driver's card refused (certificate_mismatch)") == NULL)
        fail_msg("reason: %s", why);
    expect_in_store("t:vehicle:VA", "certificate_mismatch");

    card("VA", 1, 1, "4401CD456", today()); /* resent */
    assert_int_equal(heard.n, 1);

    card("VA", 1, 1, "4401AB123", today() - 1); /* the right person, expired yesterday */
    assert_int_equal(heard.n, 2);
    assert_non_null(strstr(heard.message, "card_expired"));
    assert_false(s1_eligible(why, sizeof(why)));

    card("VA", 1, 0, "", -1); /* not read */
    assert_int_equal(heard.n, 3);
    assert_non_null(strstr(heard.message, "card_not_read"));
    assert_false(s1_eligible(why, sizeof(why)));

    card("VA", 1, 1, "4401AB123", -1); /* valid, expiry unknown: the person's counts */
    assert_string_equal(vehicle("VA")->driver_id, "S1");
    assert_string_equal(vehicle("VA")->driver_hold, "");
    assert_true(s1_eligible(why, sizeof(why)));
    assert_int_equal(heard.n, 3);
}

/* A handset login of the bound person lifts a hold; the card removed falls back to that
 * person. Without a handset sign-on, a removed card holds the vehicle. A handset's sign-on and
 * sign-off are recorded at the instant the transport gives (the login accepted, the session
 * ended), not when the writer runs them, and after the vehicle's last change of driver. */
static void handset_sign_on_and_card_removed(void **state)
{
    (void)state;
    char why[LPG_TEXT_MAX + 1];
    card("VA", 1, 1, "X-1", today());
    assert_false(s1_eligible(why, sizeof(why)));
    struct card_answer a = {0};
    int64_t login_ms = vehicle("VA")->driver_since_ms + 1; /* just after the refused card */
    driver_sign_on_person(&svc, "S1", login_ms, on_card, &a);
    assert_true(run_until(&a.done, 5000));
    assert_int_equal(a.r.kind, REFUSAL_NONE);
    assert_int_equal(vehicle("VA")->driver_since_ms, login_ms);
    char drive[64];
    snprintf(drive, sizeof(drive), "%lld:on:VA", (long long)login_ms);
    expect_last_drive("S1", drive);
    assert_string_equal(vehicle("VA")->driver_id, "S1");
    assert_string_equal(vehicle("VA")->driver_via, "handset");
    assert_true(s1_eligible(why, sizeof(why)));
    expect_last_audit("driver_signed_on");

    card("VA", 1, 1, "4401AB123", today()); /* S1's card, then removed: S1 stays, through the
                                                handset */
    assert_string_equal(vehicle("VA")->driver_via, "card");
    card("VA", 0, 1, "", -1);
    assert_string_equal(vehicle("VA")->driver_id, "S1");
    assert_string_equal(vehicle("VA")->driver_via, "handset");
    assert_true(s1_eligible(why, sizeof(why)));
    expect_last_audit("driver_signed_off");
    expect_last_drive("S1", ":on:VA"); /* the card's end, then the handset's person again */

    card("VB", 0, 1, "", -1); /* removed, nobody signed on by a card: nothing to record */
    assert_string_equal(vehicle("VB")->driver_hold, "");
    assert_string_equal(vehicle("VB")->driver_id, "");

    card("VB", 1, 1, "4401CD456", today()); /* S2 in VB, then removed: nobody signed on */
    assert_string_equal(vehicle("VB")->driver_id, "S2");
    card("VB", 0, 1, "", -1);
    assert_string_equal(vehicle("VB")->driver_id, "");
    assert_non_null(strstr(vehicle("VB")->driver_hold, "removed"));
    expect_last_drive("S2", ":off:VB");
    card("VB", 1, 1, "4401CD456", today());
    assert_string_equal(vehicle("VB")->driver_hold, "");

    /* S1's handset session ends: no longer signed on by it, and VA is not held for it; a card
     * removed then has no handset to fall back to. */
    struct card_answer off = {0};
    int64_t since = vehicle("VA")->driver_since_ms; /* the card removed: S1 by the handset */
    driver_sign_off_person(&svc, "S1", since - 5000, on_card, &off); /* an end before that */
    assert_true(run_until(&off.done, 5000));
    assert_int_equal(off.r.kind, REFUSAL_NONE);
    assert_string_equal(vehicle("VA")->handset_driver_id, "");
    assert_int_equal(vehicle("VA")->driver_since_ms, since + 1); /* just after it */
    snprintf(drive, sizeof(drive), "%lld:off:VA", (long long)since + 1);
    expect_last_drive("S1", drive);
    assert_string_equal(vehicle("VA")->driver_id, "");
    assert_string_equal(vehicle("VA")->driver_hold, "");
    expect_last_audit("driver_signed_off");
    card("VA", 1, 1, "4401AB123", today());
    card("VA", 0, 1, "", -1);
    assert_non_null(strstr(vehicle("VA")->driver_hold, "removed"));
    assert_false(s1_eligible(why, sizeof(why)));
    card("VA", 1, 1, "4401AB123", today());
    assert_true(s1_eligible(why, sizeof(why)));
}

/* ---- fatigue follows the person ---- */

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

/* Drives `vehicle` (its terminal, fixes numbered by time) from t for `minutes`, a fix every
 * 30 s at 20 km/h eastwards from lon, in batches of 60. Returns the longitude reached. */
static double drive(const char *vehicle, int64_t t, int minutes, double lon)
{
    char device[8];
    snprintf(device, sizeof(device), "U%c", vehicle[1]);
    struct ingest_source src = {.kind = INGEST_SOURCE_JT808,
                                .seq_mode = INGEST_SEQ_TIME,
                                .device_id = device,
                                .vehicle_id = vehicle};
    const double step = 20.0 / 3.6 * 30.0 / 72700.0; /* degrees of longitude per 30 s */
    struct ingest_fix batch[60];
    int n = 0;
    for (int i = 0; i <= minutes * 2; i++) {
        struct ingest_fix *f = &batch[n++];
        memset(f, 0, sizeof(*f));
        f->fix.time_ms = t + (int64_t)i * 30000;
        f->fix.pos.lat = 49.2;
        f->fix.pos.lon = lon + step * i;
        f->fix.has_speed = true;
        f->fix.speed_kmh = 20.0;
        f->fix.mode = LPG_FIX_MODE_3D;
        if (n == 60 || i == minutes * 2) {
            struct answer a = {0};
            ingest_positions(&svc, &src, batch, (size_t)n, on_done, &a);
            assert_true(run_until(&a.done, 5000));
            assert_int_equal(a.r.refusal.kind, REFUSAL_NONE);
            n = 0;
        }
    }
    return lon + step * minutes * 2;
}

/* Moves person `staff` to vehicle `veh` (人车对应), as a dispatcher's change would. */
static void bind_person(const char *staff, const char *veh)
{
    struct lpg_staff *s = lpg_staff_dup(registry_staff(svc.registry, staff));
    struct lpg_vehicle *v = lpg_vehicle_dup(registry_vehicle(svc.registry, veh));
    assert_non_null(s);
    assert_non_null(v);
    snprintf(s->vehicle_id, sizeof(s->vehicle_id), "%s", veh);
    snprintf(v->staff_id, sizeof(v->staff_id), "%s", staff);
    assert_int_equal(registry_put_staff(svc.registry, s), 0);
    assert_int_equal(registry_put_vehicle(svc.registry, v), 0);
}

/* S1 drives VA 3 h; then S1 and S2 swap vehicles and sign on with their cards; dispatchd's
 * ingest restarts (its memory lost). S1 is alerted for 4 h of continuous driving after 1 more
 * hour in VB; S2, the second driver of VA, drives 65 min there and is not: VA's 3 h were S1's. */
static void fatigue_follows_the_driver(void **state)
{
    (void)state;
    int64_t t0 = lpg_now_ms() - 5 * 3600 * 1000LL;
    double lon_a = drive("VA", t0, 180, 119.1);
    assert_int_equal(heard.fatigue_starts[1], 0);

    bind_person("S1", "VB");
    bind_person("S2", "VA");
    card("VB", 1, 1, "4401AB123", today());
    card("VA", 1, 1, "4401CD456", today());
    assert_string_equal(vehicle("VB")->driver_id, "S1");
    assert_string_equal(vehicle("VA")->driver_id, "S2");

    /* A restart: the person's fatigue comes back from the store. */
    ingest_free(&svc);
    assert_int_equal(ingest_init(&svc), 0);

    int64_t t1 = t0 + 185 * 60000LL; /* 5 min to change vehicle: not a rest */
    drive("VA", t1, 65, lon_a);
    assert_int_equal(heard.fatigue_starts[2], 0);
    assert_int_equal(heard.fatigue_starts[1], 0);
    drive("VB", t1, 50, 119.95);
    assert_int_equal(heard.fatigue_starts[1], 0); /* 3 h 50 */
    drive("VB", t1 + 50 * 60000LL + 30000, 15, 119.95 + 50 * 2 * (20.0 / 3.6 * 30.0 / 72700.0));
    assert_int_equal(heard.fatigue_starts[1], 1);
    assert_string_equal(heard.fatigue_vehicle, "VB");
    assert_true(heard.fatigue_duration_ms >= 4 * 3600 * 1000LL);
    assert_int_equal(heard.fatigue_starts[2], 0);

    redisReply *r = redisCommand(rc, "HGET t:staff:S1:fatigue vehicle");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_string_equal(r->str, "VB");
    freeReplyObject(r);
    /* The rest goes to the driver's record, where matching reads it. */
    const struct lpg_staff *s1 = registry_staff(svc.registry, "S1");
    for (int i = 0; i < 100 && s1->rest_until_ms == 0; i++) {
        int never = 0;
        run_until(&never, 20);
        s1 = registry_staff(svc.registry, "S1");
    }
    assert_true(s1->rest_until_ms > 0);
    assert_int_equal(registry_staff(svc.registry, "S2")->rest_until_ms, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_card_signs_on),
        cmocka_unit_test(refused_cards_hold_the_vehicle),
        cmocka_unit_test(handset_sign_on_and_card_removed),
        cmocka_unit_test(fatigue_follows_the_driver),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
