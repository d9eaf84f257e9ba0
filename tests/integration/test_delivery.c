/* test_delivery.c -- delivery compliance end to end through the protobuf handset protocol
 * against real Redis and dispatchd (issue 5): loading with every kind of invalid cylinder
 * refused, and refused away from the vehicle's station, with a stale fix, or for a vehicle without
 * a station (issue 13); a hand-over refused for each reason (wrong person, wrong vehicle, cylinder
 * not loaded for the order, vehicle moving, at the depot, 300 m from the customer) and recorded
 * as a suspected
 * roadside sale; the happy path to delivered; a failed safety check through suspension, an order
 * refused for the suspended customer, a re-inspection that closes the notice; reconciliation
 * with and without a mismatch; the audit chain verified, then broken by editing Redis directly
 * and detected at the right entry.
 *
 * The tests run in order and build on each other (one stack, one story of a working day).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"
#include "wire_client.h"

#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* The customers' registered locations; a degree of latitude is ~111.2 km. */
#define C1_LON        119.70
#define C1_LAT        49.20
#define C2_LON        119.85
#define C2_LAT        49.25
#define M_PER_DEG_LAT 111195.0
/* The depot of E1: a circle of 80 m whose centre is 200 m south of C1 (docs/http-api.md,
 * "Stations"), so that a vehicle can drive between them between two fixes. */
#define ST_LON C1_LON
#define ST_LAT (C1_LAT - 200.0 / M_PER_DEG_LAT)

static struct harness_stack stack;
static char admin[64], secret1[64], secret2[64];
static int h1 = -1, h2 = -1; /* the two handsets' connections */
static uint64_t req = 100, seq1 = 0, seq2 = 0;

static int api(json_t **out, const char *method, const char *path, const char *body)
{
    char headers[256];
    snprintf(headers, sizeof(headers), "Authorization: Bearer %s\r\n", admin);
    static char resp[262144];
    int status = 0;
    if (harness_http_req(stack.d.http_port, method, path, headers, body, &status, resp,
                         sizeof(resp)) != 0)
        return -1;
    if (out)
        *out = json_loads(resp, 0, NULL);
    return status;
}

static const char *str(json_t *j, const char *key)
{
    return json_string_value(json_object_get(j, key));
}

static int64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* The enterprises of this test keep the default time zone, UTC+8: the server takes "today" (an
 * inspection date, an expiry) as the enterprise's local day, so must the expectations. */
#define ENTERPRISE_UTC_OFFSET_S (8 * 3600)

/* "YYYY-MM-DD" of the enterprise's local today + days (the tests keep a margin of days around
 * every limit; the one exact comparison, last_inspection = today, needs the local day). */
static const char *day(int days)
{
    static char buf[8][16];
    static int k;
    time_t t = time(NULL) + ENTERPRISE_UTC_OFFSET_S + (time_t)days * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    char *out = buf[k++ % 8];
    strftime(out, 16, "%Y-%m-%d", &tm);
    return out;
}

static void post_ok(const char *path, const char *body)
{
    json_t *j = NULL;
    int st = api(&j, "POST", path, body);
    if (st != 201 && st != 200) {
        char *t = j ? json_dumps(j, 0) : NULL;
        fprintf(stderr, "POST %s -> %d %s\n", path, st, t ? t : "");
        free(t);
    }
    assert_true(st == 201 || st == 200);
    json_decref(j);
}

static void cylinder(const char *id, const char *ent, const char *manufactured,
                     const char *next_inspection, const char *extra)
{
    char body[512];
    snprintf(body, sizeof(body),
             "{\"id\":\"%s\",\"enterprise_id\":\"%s\",\"spec\":\"YSP-35.5\",\"manufacturer\":"
             "\"Hulun Steel\",\"serial\":\"S-%s\",\"manufactured\":\"%s\",\"next_inspection\":"
             "\"%s\"%s}",
             id, ent, id, manufactured, next_inspection, extra ? extra : "");
    post_ok("/v1/cylinders", body);
}

static int setup(void **state)
{
    (void)state;
    if (harness_stack_start(&stack, "delivery", NULL) != 0 ||
        harness_stack_admin_token(&stack, admin) != 0)
        return -1;
    const char *area = "{\"type\":\"Polygon\",\"coordinates\":[[[119.6,49.15],[119.9,49.15],"
                       "[119.9,49.3],[119.6,49.3],[119.6,49.15]]]}";
    char body[1024];
    snprintf(body, sizeof(body), "{\"id\":\"E1\",\"name\":\"Hailar Gas\",\"area\":%s}", area);
    post_ok("/v1/enterprises", body);
    snprintf(body, sizeof(body), "{\"id\":\"E2\",\"name\":\"Other Gas\",\"area\":%s}", area);
    post_ok("/v1/enterprises", body);
    post_ok("/v1/zones", "{\"id\":\"Z1\",\"enterprise_id\":\"E1\",\"name\":\"West\",\"shape\":"
                         "{\"type\":\"Polygon\",\"coordinates\":[[[119.6,49.15],[119.75,49.15],"
                         "[119.75,49.3],[119.6,49.3],[119.6,49.15]]]}}");
    post_ok("/v1/zones", "{\"id\":\"Z2\",\"enterprise_id\":\"E1\",\"name\":\"East\",\"shape\":"
                         "{\"type\":\"Polygon\",\"coordinates\":[[[119.75,49.15],[119.9,49.15],"
                         "[119.9,49.3],[119.75,49.3],[119.75,49.15]]]}}");
    snprintf(body, sizeof(body),
             "{\"id\":\"ST1\",\"enterprise_id\":\"E1\",\"name\":\"Hailar depot\",\"center\":"
             "{\"lon\":%.6f,\"lat\":%.6f},\"radius_m\":80}",
             ST_LON, ST_LAT);
    post_ok("/v1/stations", body);
    for (int i = 1; i <= 2; i++) {
        snprintf(body, sizeof(body),
                 "{\"id\":\"V%d\",\"enterprise_id\":\"E1\",\"plate\":\"蒙E0000%d\",\"kind\":"
                 "\"van\",\"permit_no\":\"P%d\",\"permit_expiry\":\"%s\",\"capacity\":30,"
                 "\"station_id\":\"ST1\"}",
                 i, i, i, day(900));
        post_ok("/v1/vehicles", body);
        snprintf(body, sizeof(body),
                 "{\"id\":\"S%d\",\"enterprise_id\":\"E1\",\"name\":\"Staff %d\",\"role\":"
                 "\"delivery\",\"qualification_no\":\"Q%d\",\"qualification_expiry\":\"%s\","
                 "\"training_no\":\"T%d\",\"training_expiry\":\"%s\",\"zone_id\":\"Z%d\","
                 "\"vehicle_id\":\"V%d\",\"on_duty\":true}",
                 i, i, i, day(900), i, day(900), i, i);
        post_ok("/v1/staff", body);
    }
    snprintf(body, sizeof(body),
             "{\"id\":\"C1\",\"enterprise_id\":\"E1\",\"name\":\"Zhang household\",\"kind\":"
             "\"household\",\"location\":{\"lon\":%.6f,\"lat\":%.6f},\"address\":\"1 Road\","
             "\"contract_no\":\"SC1\",\"contract_from\":\"%s\",\"contract_to\":\"%s\"}",
             C1_LON, C1_LAT, day(-400), day(900));
    post_ok("/v1/customers", body);
    snprintf(body, sizeof(body),
             "{\"id\":\"C2\",\"enterprise_id\":\"E1\",\"name\":\"East restaurant\",\"kind\":"
             "\"restaurant\",\"location\":{\"lon\":%.6f,\"lat\":%.6f},\"address\":\"2 Road\","
             "\"contract_no\":\"SC2\",\"contract_from\":\"%s\",\"contract_to\":\"%s\"}",
             C2_LON, C2_LAT, day(-400), day(900));
    post_ok("/v1/customers", body);
    /* Good cylinders, and one of each kind a loading must refuse. */
    const char *good[] = {"CY1", "CY2", "CY3", "CY4", "CY5", "CY6"};
    for (size_t i = 0; i < 6; i++)
        cylinder(good[i], "E1", day(-365), day(700), NULL);
    cylinder("CY-OVERDUE", "E1", day(-5 * 365), day(-3), NULL);
    cylinder("CY-OLD", "E1", day(-13 * 365), day(300), NULL); /* beyond 12 years */
    cylinder("CY-BL", "E1", day(-365), day(700),
             ",\"blacklisted\":true,\"blacklist_reason\":\"valve recall 2026-07\"");
    cylinder("CY-SCRAP", "E1", day(-365), day(700), NULL);
    cylinder("CY-LOST", "E1", day(-365), day(700), NULL);
    cylinder("CY-E2", "E2", day(-365), day(700), NULL);
    post_ok("/v1/cylinders/CY-SCRAP/events", "{\"event\":\"scrapped\",\"note\":\"dented\"}");
    post_ok("/v1/cylinders/CY-LOST/events", "{\"event\":\"lost\"}");
    json_t *j = NULL;
    assert_int_equal(api(&j, "POST", "/v1/devices", "{\"device_id\":\"H1\",\"staff_id\":\"S1\"}"),
                     201);
    snprintf(secret1, sizeof(secret1), "%s", str(j, "secret"));
    json_decref(j);
    assert_int_equal(api(&j, "POST", "/v1/devices", "{\"device_id\":\"H2\",\"staff_id\":\"S2\"}"),
                     201);
    snprintf(secret2, sizeof(secret2), "%s", str(j, "secret"));
    json_decref(j);
    h1 = wire_login(stack.d.handset_port, "H1", secret1);
    h2 = wire_login(stack.d.handset_port, "H2", secret2);
    return h1 >= 0 && h2 >= 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    if (h1 >= 0)
        close(h1);
    if (h2 >= 0)
        close(h2);
    return harness_stack_stop(&stack) == 0 ? 0 : -1;
}

/* ---- the handset side ---- */

/* Reads frames until the reply to request r (Ack, Error or LoadReconciliation); pushed
 * OrderAssigned and Alert frames are skipped. The caller frees it. */
static Lpg__V1__Envelope *reply_to(int fd, uint64_t r)
{
    for (int i = 0; i < 20; i++) {
        Lpg__V1__Envelope *env = wire_recv(fd, HARNESS_REPLY_TIMEOUT_MS);
        assert_non_null(env);
        if ((env->body_case == LPG__V1__ENVELOPE__BODY_ACK && env->ack->ack_seq == r) ||
            (env->body_case == LPG__V1__ENVELOPE__BODY_ERROR && env->error->ack_seq == r) ||
            (env->body_case == LPG__V1__ENVELOPE__BODY_LOAD_RECONCILIATION &&
             env->load_reconciliation->ack_seq == r))
            return env;
        lpg__v1__envelope__free_unpacked(env, NULL);
    }
    fail_msg("no reply to request %llu", (unsigned long long)r);
    return NULL;
}

/* Sends env and expects Ack (refusal NULL) or Error REFUSED with that refusal code. */
static void expect(int fd, Lpg__V1__Envelope *env, const char *refusal)
{
    env->has_request_id = 1;
    env->request_id = ++req;
    assert_int_equal(wire_send(fd, env), 0);
    Lpg__V1__Envelope *r = reply_to(fd, env->request_id);
    if (refusal == NULL) {
        if (r->body_case != LPG__V1__ENVELOPE__BODY_ACK)
            fail_msg("expected Ack, got error %s: %s", r->error->refusal ? r->error->refusal : "-",
                     r->error->message);
    } else {
        if (r->body_case != LPG__V1__ENVELOPE__BODY_ERROR)
            fail_msg("expected refusal %s, got body %d", refusal, (int)r->body_case);
        if (r->error->refusal == NULL || strcmp(r->error->refusal, refusal) != 0)
            fail_msg("expected refusal %s, got %s: %s", refusal,
                     r->error->refusal ? r->error->refusal : "-", r->error->message);
        assert_int_equal(r->error->code, LPG__V1__ERROR__CODE__REFUSED);
    }
    lpg__v1__envelope__free_unpacked(r, NULL);
}

static void scan(int fd, Lpg__V1__CylinderScan__Action action, const char *order, const char *code,
                 const char *refusal)
{
    Lpg__V1__CylinderScan m = LPG__V1__CYLINDER_SCAN__INIT;
    m.has_action = 1;
    m.action = action;
    m.order_id = (char *)order;
    m.cylinder_code = (char *)code;
    Lpg__V1__Envelope env = LPG__V1__ENVELOPE__INIT;
    env.body_case = LPG__V1__ENVELOPE__BODY_CYLINDER_SCAN;
    env.cylinder_scan = &m;
    expect(fd, &env, refusal);
}
#define LOAD        LPG__V1__CYLINDER_SCAN__ACTION__LOAD
#define HAND_OVER   LPG__V1__CYLINDER_SCAN__ACTION__HAND_OVER
#define COLLECT     LPG__V1__CYLINDER_SCAN__ACTION__COLLECT_EMPTY
#define RETURN_FULL LPG__V1__CYLINDER_SCAN__ACTION__RETURN_FULL

/* One fix of handset fd's vehicle, `north_m` metres north of (lon, lat), age_s old -- or 10 s
 * after that vehicle's previous fix if that is later: the vehicle drives between the depot and
 * the customers, and a fix that implied more than 250 km/h would be refused as a jump. */
static void fix_at(int fd, uint64_t *seq, double lon, double lat, double north_m, int age_s,
                   uint32_t speed_cm_s)
{
    static int64_t last1, last2;
    int64_t *last = seq == &seq1 ? &last1 : &last2;
    int64_t t = now_ms() - age_s * 1000LL;
    if (*last && t < *last + 10000)
        t = *last + 10000;
    *last = t;
    Lpg__V1__Fix f;
    wire_fix_3d(&f, ++*seq, (uint64_t)t, (int32_t)lround((lat + north_m / M_PER_DEG_LAT) * 1e7),
                (int32_t)lround(lon * 1e7), speed_cm_s);
    assert_true(wire_send_positions(fd, ++req, &f, 1, 5000) == (long long)*seq);
}

static const char *household_items[] = {"leak_test",
                                        "hose_gas_specific",
                                        "hose_length",
                                        "hose_no_joints",
                                        "hose_not_through_structure",
                                        "regulator_non_adjustable",
                                        "regulator_service_life",
                                        "premises_not_underground",
                                        "premises_not_high_rise",
                                        "ventilation",
                                        "cylinder_placement",
                                        "no_second_gas_source",
                                        "stove_flame_failure"};
#define N_HOUSEHOLD (sizeof(household_items) / sizeof(household_items[0]))

/* A household checklist, every item passing except `failing` (NULL: none). */
static void check(int fd, const char *order, const char *code, const char *failing,
                  const char *refusal)
{
    Lpg__V1__SafetyCheck m = LPG__V1__SAFETY_CHECK__INIT;
    Lpg__V1__SafetyCheck__Item items[N_HOUSEHOLD], *ptrs[N_HOUSEHOLD];
    for (size_t i = 0; i < N_HOUSEHOLD; i++) {
        lpg__v1__safety_check__item__init(&items[i]);
        items[i].item = (char *)household_items[i];
        items[i].has_result = 1;
        bool fails = failing && strcmp(failing, household_items[i]) == 0;
        items[i].result =
            fails ? LPG__V1__SAFETY_CHECK__RESULT__FAIL : LPG__V1__SAFETY_CHECK__RESULT__PASS;
        items[i].note = fails ? "bubbles at the valve" : NULL;
        ptrs[i] = &items[i];
    }
    m.order_id = (char *)order;
    m.cylinder_code = (char *)code;
    m.n_items = N_HOUSEHOLD;
    m.items = ptrs;
    m.customer_name = "Zhang San";
    m.customer_pin = "4321";
    Lpg__V1__Envelope env = LPG__V1__ENVELOPE__INIT;
    env.body_case = LPG__V1__ENVELOPE__BODY_SAFETY_CHECK;
    env.safety_check = &m;
    expect(fd, &env, refusal);
}

static void confirm(int fd, const char *order, const char *refusal)
{
    Lpg__V1__DeliveryConfirm m = LPG__V1__DELIVERY_CONFIRM__INIT;
    m.order_id = (char *)order;
    Lpg__V1__Envelope env = LPG__V1__ENVELOPE__INIT;
    env.body_case = LPG__V1__ENVELOPE__BODY_DELIVERY_CONFIRM;
    env.delivery_confirm = &m;
    expect(fd, &env, refusal);
}

static void accept_order(int fd, const char *order)
{
    Lpg__V1__OrderAccept m = LPG__V1__ORDER_ACCEPT__INIT;
    m.order_id = (char *)order;
    Lpg__V1__Envelope env = LPG__V1__ENVELOPE__INIT;
    env.body_case = LPG__V1__ENVELOPE__BODY_ORDER_ACCEPT;
    env.order_accept = &m;
    expect(fd, &env, NULL);
}

/* Creates an order (201, assigned to `staff`). */
static void order(const char *id, const char *customer, const char *kind, int count,
                  const char *staff)
{
    char body[256];
    if (count > 0)
        snprintf(body, sizeof(body),
                 "{\"id\":\"%s\",\"customer_id\":\"%s\",\"enterprise_id\":\"E1\",\"kind\":\"%s\","
                 "\"items\":[{\"spec\":\"YSP-35.5\",\"count\":%d}]}",
                 id, customer, kind, count);
    else
        snprintf(body, sizeof(body),
                 "{\"id\":\"%s\",\"customer_id\":\"%s\",\"enterprise_id\":\"E1\",\"kind\":\"%s\"}",
                 id, customer, kind);
    json_t *j = NULL;
    assert_int_equal(api(&j, "POST", "/v1/orders", body), 201);
    assert_string_equal(str(j, "state"), "assigned");
    assert_string_equal(str(j, "staff_id"), staff);
    json_decref(j);
}

static json_t *get(const char *path)
{
    json_t *j = NULL;
    assert_int_equal(api(&j, "GET", path, NULL), 200);
    assert_non_null(j);
    return j;
}

static void expect_field(const char *path, const char *field, const char *want)
{
    json_t *j = get(path);
    if (str(j, field) == NULL || strcmp(str(j, field), want) != 0)
        fail_msg("%s: %s is %s, want %s", path, field, str(j, field) ? str(j, field) : "null",
                 want);
    json_decref(j);
}

/* Alerts of one rule (or compliance source), counted in the enterprise's list; the rule=
 * filter must give the same count. */
static size_t alerts_of(const char *rule)
{
    json_t *j = get("/v1/alerts?enterprise_id=E1&limit=500");
    size_t n = 0, i;
    json_t *a;
    json_array_foreach(json_object_get(j, "items"), i, a) n += strcmp(str(a, "rule"), rule) == 0;
    json_decref(j);
    char path[128];
    snprintf(path, sizeof(path), "/v1/alerts?enterprise_id=E1&limit=500&rule=%s", rule);
    j = get(path);
    assert_int_equal(json_array_size(json_object_get(j, "items")), n);
    json_decref(j);
    return n;
}

/* ---- the story ---- */

static void test_loading_refuses_invalid_cylinders(void **state)
{
    (void)state;
    order("O1", "C1", "delivery", 2, "S1");
    accept_order(h1, "O1");
    scan(h1, LOAD, "O1", "CY-OVERDUE", "overdue_inspection");
    scan(h1, LOAD, "O1", "CY-OLD", "past_service_life");
    scan(h1, LOAD, "O1", "CY-BL", "blacklisted");
    scan(h1, LOAD, "O1", "CY-SCRAP", "scrapped");
    scan(h1, LOAD, "O1", "CY-LOST", "lost");
    scan(h1, LOAD, "O1", "CY-E2", "not_owned");
    scan(h1, LOAD, "O1", "NO-SUCH", "unknown_cylinder");
    scan(h2, LOAD, "O1", "CY1", "not_your_order");
    /* A good cylinder for the right order: only at the vehicle's station, seen there lately. */
    scan(h1, LOAD, "O1", "CY1", "position_unknown");
    fix_at(h1, &seq1, ST_LON, ST_LAT, 0, 200, 0); /* in the yard, but 200 s ago */
    scan(h1, LOAD, "O1", "CY1", "stale_fix");
    fix_at(h1, &seq1, ST_LON, ST_LAT, -100, 100, 0); /* 100 m from the centre of an 80 m depot */
    scan(h1, LOAD, "O1", "CY1", "not_at_station");
    fix_at(h1, &seq1, ST_LON, ST_LAT, 50, 100, 0);
    scan(h1, LOAD, "O1", "CY1", NULL);
    expect_field("/v1/orders/O1", "state", "accepted");
    scan(h1, LOAD, "O1", "CY1", "cylinder_not_in_stock"); /* a resent scan */
    scan(h1, LOAD, "O1", "CY2", NULL);
    expect_field("/v1/orders/O1", "state", "loaded");
    scan(h1, LOAD, "O1", "CY3", "order_not_loading");
    expect_field("/v1/cylinders/CY1", "status", "loaded");
    expect_field("/v1/cylinders/CY1", "vehicle_id", "V1");
    json_t *load = get("/v1/vehicles/V1/load");
    assert_int_equal(json_array_size(json_object_get(load, "full")), 2);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(load, "trip"), "loaded")),
                     2);
    json_decref(load);
    /* Nothing refused at loading is a roadside sale. */
    assert_int_equal(alerts_of("roadside_sale"), 0);
}

static void test_hand_over_refusals(void **state)
{
    (void)state;
    /* S2 loads CY4 on V2 for its own order O2 at the east restaurant. */
    order("O2", "C2", "delivery", 1, "S2");
    accept_order(h2, "O2");
    fix_at(h2, &seq2, ST_LON, ST_LAT, 0, 100, 0);
    scan(h2, LOAD, "O2", "CY4", NULL);

    scan(h1, HAND_OVER, "O1", "CY1", "not_at_customer"); /* still at the depot */
    fix_at(h1, &seq1, C1_LON, C1_LAT, -300, 100, 0);     /* stopped 300 m away */
    scan(h1, HAND_OVER, "O1", "CY1", "not_at_customer");
    fix_at(h1, &seq1, C1_LON, C1_LAT, 10, 50, 833); /* at the door at 30 km/h */
    scan(h1, HAND_OVER, "O1", "CY1", "vehicle_moving");
    fix_at(h1, &seq1, C1_LON, C1_LAT, 20, 1, 0); /* stopped 20 m from the door */
    scan(h2, HAND_OVER, "O1", "CY1", "not_your_order");
    scan(h1, HAND_OVER, "O1", "CY3", "cylinder_not_loaded_for_order");
    scan(h1, HAND_OVER, "O1", "CY4", "wrong_vehicle");
    /* Every refused hand-over is a suspected roadside sale, alerted and kept. */
    assert_int_equal(alerts_of("roadside_sale"), 6);
    expect_field("/v1/cylinders/CY1", "status", "loaded");
}

static void test_happy_path_to_delivered(void **state)
{
    (void)state;
    scan(h1, HAND_OVER, "O1", "CY1", NULL);
    expect_field("/v1/orders/O1", "state", "arrived");
    expect_field("/v1/cylinders/CY1", "status", "at_customer");
    expect_field("/v1/cylinders/CY1", "customer_id", "C1");
    check(h1, "O1", "CY2", NULL, "cylinder_not_handed_over");
    check(h1, "O1", "CY1", NULL, NULL);
    check(h1, "O1", "CY1", NULL, "already_checked");
    confirm(h1, "O1", "not_all_handed_over");
    scan(h1, HAND_OVER, "O1", "CY2", NULL);
    confirm(h1, "O1", "checks_missing");
    check(h1, "O1", "CY2", NULL, NULL);
    confirm(h1, "O1", NULL);
    expect_field("/v1/orders/O1", "state", "delivered");
    /* The cylinder's life, and the order's checks. */
    json_t *h = get("/v1/cylinders/CY1/history");
    json_t *items = json_object_get(h, "items");
    assert_int_equal(json_array_size(items), 3);
    assert_string_equal(str(json_array_get(items, 0), "event"), "loaded");
    assert_string_equal(str(json_array_get(items, 1), "event"), "handed_over");
    assert_string_equal(str(json_array_get(items, 2), "event"), "checked");
    json_decref(h);
    json_t *c = get("/v1/orders/O1/checks");
    items = json_object_get(c, "items");
    assert_int_equal(json_array_size(items), 2);
    assert_true(json_is_true(json_object_get(json_array_get(items, 0), "passed")));
    assert_string_equal(str(json_array_get(items, 0), "staff_id"), "S1");
    assert_string_equal(str(json_array_get(items, 0), "confirmation"), "pin");
    assert_null(json_object_get(json_array_get(items, 0), "customer_pin"));
    char path[160];
    snprintf(path, sizeof(path), "/v1/checks/%s", str(json_array_get(items, 1), "id"));
    json_t *one = get(path);
    assert_string_equal(str(one, "cylinder_id"), "CY2");
    assert_string_equal(str(one, "order_id"), "O1");
    json_decref(one);
    json_decref(c);
    json_t *none = NULL;
    assert_int_equal(api(&none, "GET", "/v1/checks/chk-0-00000000", NULL), 404);
    json_decref(none);
    json_t *hz = get("/v1/hazards?enterprise_id=E1");
    assert_int_equal(json_array_size(json_object_get(hz, "items")), 0);
    json_decref(hz);
}

static void test_failed_check_suspends_until_reinspection(void **state)
{
    (void)state;
    order("O3", "C1", "delivery", 1, "S1");
    accept_order(h1, "O3");
    fix_at(h1, &seq1, ST_LON, ST_LAT, 0, 100, 0); /* back at the depot to load */
    scan(h1, LOAD, "O3", "CY5", NULL);
    fix_at(h1, &seq1, C1_LON, C1_LAT, 15, 0, 0);
    scan(h1, HAND_OVER, "O3", "CY5", NULL);
    check(h1, "O3", "CY5", "leak_test", NULL);
    /* Not connected: back on the vehicle; the order failed; supply suspended; a notice. */
    expect_field("/v1/orders/O3", "state", "failed");
    expect_field("/v1/orders/O3", "reason", "hazard");
    expect_field("/v1/cylinders/CY5", "status", "loaded");
    expect_field("/v1/cylinders/CY5", "vehicle_id", "V1");
    expect_field("/v1/customers/C1", "status", "suspended");
    json_t *hz = get("/v1/hazards?enterprise_id=E1&status=open&customer_id=C1");
    json_t *items = json_object_get(hz, "items");
    assert_int_equal(json_array_size(items), 1);
    json_t *n = json_array_get(items, 0);
    char notice[80];
    snprintf(notice, sizeof(notice), "%s", str(n, "id"));
    assert_string_equal(str(n, "found_by"), "S1");
    assert_string_equal(str(n, "responsible"), "Zhang household");
    assert_non_null(strstr(str(n, "hazard"), "leak_test: bubbles at the valve"));
    assert_false(json_is_true(json_object_get(n, "overdue")));
    json_decref(hz);
    hz = get("/v1/hazards?enterprise_id=E1&status=overdue");
    assert_int_equal(json_array_size(json_object_get(hz, "items")), 0);
    json_decref(hz);
    assert_int_equal(alerts_of("hazard"), 1);

    /* No supply meanwhile: a new delivery order is refused. */
    json_t *j = NULL;
    assert_int_equal(api(&j, "POST", "/v1/orders",
                         "{\"id\":\"O-X\",\"customer_id\":\"C1\",\"enterprise_id\":\"E1\","
                         "\"items\":[{\"spec\":\"YSP-35.5\",\"count\":1}]}"),
                     422);
    assert_string_equal(str(json_object_get(j, "error"), "code"), "customer_suspended");
    json_decref(j);

    /* The re-inspection visit: its passing check closes the notice and lifts the suspension. */
    order("O4", "C1", "re-inspection", 0, "S1");
    accept_order(h1, "O4");
    check(h1, "O4", NULL, NULL, NULL);
    expect_field("/v1/orders/O4", "state", "delivered");
    expect_field("/v1/customers/C1", "status", "active");
    char path[160];
    snprintf(path, sizeof(path), "/v1/hazards/%s", notice);
    expect_field(path, "status", "closed");
    expect_field(path, "closed_by", "S1");
    expect_field(path, "closing_order_id", "O4");
}

static void station_return(int fd, uint32_t want_missing, bool want_balanced, uint32_t loaded,
                           uint32_t handed, uint32_t returned, uint32_t empties)
{
    Lpg__V1__StationReturn m = LPG__V1__STATION_RETURN__INIT;
    Lpg__V1__Envelope env = LPG__V1__ENVELOPE__INIT;
    env.body_case = LPG__V1__ENVELOPE__BODY_STATION_RETURN;
    env.station_return = &m;
    env.has_request_id = 1;
    env.request_id = ++req;
    assert_int_equal(wire_send(fd, &env), 0);
    Lpg__V1__Envelope *r = reply_to(fd, env.request_id);
    assert_int_equal(r->body_case, LPG__V1__ENVELOPE__BODY_LOAD_RECONCILIATION);
    const Lpg__V1__LoadReconciliation *rec = r->load_reconciliation;
    assert_int_equal(rec->n_missing, want_missing);
    assert_int_equal(rec->balanced, want_balanced);
    assert_int_equal(rec->loaded, loaded);
    assert_int_equal(rec->handed_over, handed);
    assert_int_equal(rec->returned_full, returned);
    assert_int_equal(rec->empties, empties);
    if (want_missing)
        assert_string_equal(rec->missing[0], "CY5");
    lpg__v1__envelope__free_unpacked(r, NULL);
}

static void test_reconciliation(void **state)
{
    (void)state;
    /* V1 went out with CY1, CY2, CY5; CY1 and CY2 stayed; CY5 came back on the vehicle but is
     * not returned to stock: unaccounted for. The return counts what is unloaded at the
     * station: not at the customer's door. */
    Lpg__V1__StationReturn early = LPG__V1__STATION_RETURN__INIT;
    Lpg__V1__Envelope env = LPG__V1__ENVELOPE__INIT;
    env.body_case = LPG__V1__ENVELOPE__BODY_STATION_RETURN;
    env.station_return = &early;
    expect(h1, &env, "not_at_station");
    fix_at(h1, &seq1, ST_LON, ST_LAT, -20, 0, 0);
    station_return(h1, 1, false, 3, 2, 0, 0);
    expect_field("/v1/cylinders/CY5", "status", "lost");
    assert_int_equal(alerts_of("load_mismatch"), 1);

    /* The next trip balances: one loaded and returned full, one empty collected. */
    order("O5", "C1", "delivery", 1, "S1");
    accept_order(h1, "O5");
    scan(h1, LOAD, "O5", "CY6", NULL);
    fix_at(h1, &seq1, C1_LON, C1_LAT, 5, 0, 0);
    scan(h1, COLLECT, "O5", "CY3", "cylinder_not_at_customer");
    scan(h1, COLLECT, "O5", "CY1", NULL);
    expect_field("/v1/cylinders/CY1", "status", "collected_empty");
    scan(h1, RETURN_FULL, "", "CY6", NULL);
    fix_at(h1, &seq1, ST_LON, ST_LAT, 30, 0, 0);
    station_return(h1, 0, true, 1, 0, 1, 1);
    expect_field("/v1/cylinders/CY1", "status", "returned_empty");
    expect_field("/v1/cylinders/CY6", "status", "in_stock");
    assert_int_equal(alerts_of("load_mismatch"), 1);
    /* The trip is closed: another return has nothing to reconcile, and says so (a refusal,
     * not "retry later"). */
    Lpg__V1__StationReturn again = LPG__V1__STATION_RETURN__INIT;
    env = (Lpg__V1__Envelope)LPG__V1__ENVELOPE__INIT;
    env.body_case = LPG__V1__ENVELOPE__BODY_STATION_RETURN;
    env.station_return = &again;
    expect(h1, &env, "no_trip");
    /* The station refills the empty. */
    post_ok("/v1/cylinders/CY1/events", "{\"event\":\"filled\"}");
    expect_field("/v1/cylinders/CY1", "status", "in_stock");
}

/* The station's events: an overdue cylinder goes for inspection and comes back usable. */
static void test_station_events(void **state)
{
    (void)state;
    json_t *j = NULL;
    /* Filling an empty that may not be delivered is refused; so is an impossible move. */
    assert_int_equal(api(&j, "POST", "/v1/cylinders/CY-OVERDUE/events", "{\"event\":\"filled\"}"),
                     409);
    assert_string_equal(str(json_object_get(j, "error"), "code"), "illegal_transition");
    json_decref(j);
    assert_int_equal(
        api(&j, "POST", "/v1/cylinders/CY-OVERDUE/events", "{\"event\":\"repainted\"}"), 400);
    json_decref(j);
    post_ok("/v1/cylinders/CY-OVERDUE/events", "{\"event\":\"sent_for_inspection\"}");
    char body[160];
    snprintf(body, sizeof(body), "{\"event\":\"inspected\",\"next_inspection\":\"%s\"}", day(-1));
    assert_int_equal(api(&j, "POST", "/v1/cylinders/CY-OVERDUE/events", body), 400);
    json_decref(j);
    snprintf(body, sizeof(body),
             "{\"event\":\"inspected\",\"next_inspection\":\"%s\",\"note\":\"passed\"}",
             day(4 * 365));
    post_ok("/v1/cylinders/CY-OVERDUE/events", body);
    expect_field("/v1/cylinders/CY-OVERDUE", "status", "returned_empty");
    expect_field("/v1/cylinders/CY-OVERDUE", "last_inspection", day(0));
    post_ok("/v1/cylinders/CY-OVERDUE/events", "{\"event\":\"filled\"}");
    expect_field("/v1/cylinders/CY-OVERDUE", "status", "in_stock");
    /* A cylinder past its life cannot be filled either, whatever its inspection says. */
    post_ok("/v1/cylinders/CY-OLD/events", "{\"event\":\"sent_for_inspection\"}");
    snprintf(body, sizeof(body), "{\"event\":\"inspected\",\"next_inspection\":\"%s\"}", day(365));
    post_ok("/v1/cylinders/CY-OLD/events", body);
    assert_int_equal(api(&j, "POST", "/v1/cylinders/CY-OLD/events", "{\"event\":\"filled\"}"), 409);
    assert_string_equal(str(json_object_get(j, "error"), "code"), "cylinder_unusable");
    json_decref(j);
    post_ok("/v1/cylinders/CY-OLD/events", "{\"event\":\"scrapped\"}");
    json_t *h = get("/v1/cylinders/CY-OLD/history");
    json_t *items = json_object_get(h, "items");
    assert_int_equal(json_array_size(items), 3);
    assert_string_equal(str(json_array_get(items, 2), "event"), "scrapped");
    assert_string_equal(str(json_array_get(items, 2), "actor"), "root");
    json_decref(h);
}

/* What happened shows in /metrics for the operator. */
static void test_metrics(void **state)
{
    (void)state;
    static char body[262144];
    int status = 0;
    assert_int_equal(
        harness_http(stack.d.http_port, "GET", "/metrics", &status, body, sizeof(body), NULL, 0),
        0);
    assert_int_equal(status, 200);
    const char *want[] = {
        "lpg_safety_checks_total{result=\"passed\"} 3",
        "lpg_safety_checks_total{result=\"failed\"} 1",
        "lpg_deliveries_confirmed_total 1",
        "lpg_load_reconciliations_total{result=\"balanced\"} 1",
        "lpg_load_reconciliations_total{result=\"mismatch\"} 1",
        "lpg_cylinder_scans_total{result=\"refused\"} 20",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (strstr(body, want[i]) == NULL)
            fail_msg("/metrics lacks %s", want[i]);
}

/* The audit chain holds the compliance record, verifies, and an edit is found where it was. */
static void test_audit_chain(void **state)
{
    (void)state;
    json_t *v = get("/v1/audit/verify");
    assert_true(json_is_true(json_object_get(v, "ok")));
    json_int_t head = json_integer_value(json_object_get(v, "head_seq"));
    json_decref(v);
    const char *kinds[] = {
        "cylinder_loaded",      "scan_refused",         "roadside_sale_suspected",
        "cylinder_handed_over", "safety_check",         "hazard_notice_issued",
        "supply_suspended",     "hazard_notice_closed", "supply_resumed",
        "load_mismatch",        "load_reconciled",      "empty_collected",
        "cylinder_returned",    "order_delivered",      "cylinder_filled",
        "cylinder_inspected",   "cylinder_scrapped"};
    json_int_t tamper_seq = 0;
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        char path[160];
        snprintf(path, sizeof(path), "/v1/audit/entries?kind=%s&limit=1000&to_seq=%lld", kinds[k],
                 (long long)head);
        json_t *e = get(path);
        json_t *items = json_object_get(e, "items");
        if (json_array_size(items) == 0)
            fail_msg("no audit entry of kind %s", kinds[k]);
        if (strcmp(kinds[k], "cylinder_handed_over") == 0) {
            /* where it happened, in integers: the canonical text has no reals */
            json_t *data =
                json_object_get(json_object_get(json_array_get(items, 0), "entry"), "data");
            assert_true(json_is_integer(json_object_get(data, "lat_e7")));
            assert_true(json_integer_value(json_object_get(data, "distance_m")) <= 100);
        }
        if (strcmp(kinds[k], "safety_check") == 0) {
            tamper_seq = json_integer_value(json_object_get(json_array_get(items, 0), "seq"));
            json_t *entry = json_object_get(json_array_get(items, 0), "entry");
            assert_string_equal(str(entry, "actor"), "S1");
            assert_string_equal(str(entry, "enterprise"), "E1");
        }
        json_decref(e);
    }
    /* An edit of the first safety check's record straight in Redis (say, to hide who checked). */
    char idx[24], reply[65536];
    snprintf(idx, sizeof(idx), "%lld", (long long)(tamper_seq - 1));
    const char *get_argv[] = {"LINDEX", "lpg:audit:entries", idx};
    assert_int_equal(harness_redis_cmd(stack.redis.port, reply, sizeof(reply), 3, get_argv), 0);
    char *at = strstr(reply, "\"actor\":\"S1\"");
    assert_non_null(at);
    at[10] = '2'; /* S1 -> S2 */
    const char *set_argv[] = {"LSET", "lpg:audit:entries", idx, reply};
    char ok[64];
    assert_int_equal(harness_redis_cmd(stack.redis.port, ok, sizeof(ok), 4, set_argv), 0);
    v = get("/v1/audit/verify");
    assert_false(json_is_true(json_object_get(v, "ok")));
    assert_int_equal(json_integer_value(json_object_get(v, "first_broken_seq")), tamper_seq);
    json_decref(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loading_refuses_invalid_cylinders),
        cmocka_unit_test(test_hand_over_refusals),
        cmocka_unit_test(test_happy_path_to_delivered),
        cmocka_unit_test(test_failed_check_suspends_until_reinspection),
        cmocka_unit_test(test_reconciliation),
        cmocka_unit_test(test_station_events),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_audit_chain),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
