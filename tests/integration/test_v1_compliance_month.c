/* test_v1_compliance_month.c -- GET /v1/reports/compliance (issue 14) beyond zero, through the
 * protobuf handset protocol and HTTP against real Redis and dispatchd. One delivery person of
 * E1 (UTC+8, the default offset) makes, in this order:
 *
 *   O1  a delivery: loaded, a hand-over refused while the vehicle moves (vehicle_moving: one
 *       refused scan, a suspected roadside sale), handed over stopped, checked, delivered;
 *   O2  a delivery: loaded, handed over, checked, delivered;
 *   O3  a delivery whose safety check fails (leak_test): the order fails, a hazard is opened;
 *   O4  the re-inspection visit: its passing check closes the hazard (the order ends delivered).
 *
 * Then every figure of the month's row is checked, in JSON and in CSV: orders delivered 3 (O1,
 * O2 and the re-inspection O4), failed 1, cancelled 0; checks failed 1; hazards opened 1,
 * closed 1, overdue 0; refusals 1, by reason vehicle_moving 1 (and as many as the audit chain's
 * scan_refused entries of E1); alerts roadside_sale.violation_start 1, hazard.violation_start 1;
 * violations 2; nothing else.
 *
 * The month is E1's local month (UTC+8), computed here the same way. The story takes a few
 * seconds: when it runs across the end of a local month (16:00 UTC on a month's last day), its
 * figures are split between the two months' rows, so the rows of every local month it touched
 * are added up, and the sum must be the story exactly; each row's from/to is checked against
 * the month computed here.
 */
#define _GNU_SOURCE /* timegm */
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

/* The customer, and the depot 200 m south of it (a circle of 80 m). */
#define C1_LON        119.70
#define C1_LAT        49.20
#define M_PER_DEG_LAT 111195.0
#define ST_LON        C1_LON
#define ST_LAT        (C1_LAT - 200.0 / M_PER_DEG_LAT)
#define UTC_OFFSET_S  (8 * 3600) /* E1's, the default */

static struct harness_stack stack;
static char admin[64], secret1[64];
static int h1 = -1;
static uint64_t req = 100, seq1 = 0;
static int64_t fix_ms; /* the time of the next fix */

static int64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static char resp[1 << 18];

static int api(json_t **out, const char *method, const char *path, const char *body)
{
    char headers[256];
    snprintf(headers, sizeof(headers), "Authorization: Bearer %s\r\n", admin);
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

/* "YYYY-MM-DD" of E1's local today + days. */
static const char *day(int days)
{
    static char buf[8][16];
    static int k;
    time_t t = time(NULL) + UTC_OFFSET_S + (time_t)days * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    char *out = buf[k++ % 8];
    strftime(out, 16, "%Y-%m-%d", &tm);
    return out;
}

/* The local month (UTC+8) of instant ms: year * 12 + month - 1, the month index. */
static int month_of(int64_t ms)
{
    time_t t = (time_t)(ms / 1000) + UTC_OFFSET_S;
    struct tm tm;
    gmtime_r(&t, &tm);
    return (tm.tm_year + 1900) * 12 + tm.tm_mon;
}

static void post_ok(const char *path, const char *body)
{
    json_t *j = NULL;
    int st = api(&j, "POST", path, body);
    if (st != 201 && st != 200)
        fail_msg("POST %s -> %d %s", path, st, resp);
    json_decref(j);
}

static int setup(void **state)
{
    (void)state;
    /* The fixes below are minutes old (sent in order, 10 s apart, all in the past): a
     * hand-over needs the vehicle's newest fix no older than this. */
    const char *extra[] = {"--handover-max-fix-age=3600", NULL};
    if (harness_stack_start(&stack, "compmonth", extra) != 0 ||
        harness_stack_admin_token(&stack, admin) != 0)
        return -1;
    post_ok("/v1/enterprises",
            "{\"id\":\"E1\",\"name\":\"Hailar Gas\",\"area\":{\"type\":\"Polygon\","
            "\"coordinates\":[[[119.6,49.15],[119.9,49.15],[119.9,49.3],[119.6,49.3],"
            "[119.6,49.15]]]}}");
    post_ok("/v1/zones", "{\"id\":\"Z1\",\"enterprise_id\":\"E1\",\"name\":\"West\",\"shape\":"
                         "{\"type\":\"Polygon\",\"coordinates\":[[[119.6,49.15],[119.75,49.15],"
                         "[119.75,49.3],[119.6,49.3],[119.6,49.15]]]}}");
    char body[1024];
    snprintf(body, sizeof(body),
             "{\"id\":\"ST1\",\"enterprise_id\":\"E1\",\"name\":\"Hailar depot\",\"center\":"
             "{\"lon\":%.6f,\"lat\":%.6f},\"radius_m\":80}",
             ST_LON, ST_LAT);
    post_ok("/v1/stations", body);
    snprintf(body, sizeof(body),
             "{\"id\":\"V1\",\"enterprise_id\":\"E1\",\"plate\":\"E00001\",\"kind\":\"van\","
             "\"permit_no\":\"P1\",\"permit_expiry\":\"%s\",\"capacity\":30,"
             "\"station_id\":\"ST1\"}",
             day(900));
    post_ok("/v1/vehicles", body);
    snprintf(body, sizeof(body),
             "{\"id\":\"S1\",\"enterprise_id\":\"E1\",\"name\":\"Staff 1\",\"role\":"
             "\"delivery\",\"qualification_no\":\"Q1\",\"qualification_expiry\":\"%s\","
             "\"training_no\":\"T1\",\"training_expiry\":\"%s\",\"zone_id\":\"Z1\","
             "\"vehicle_id\":\"V1\",\"on_duty\":true}",
             day(900), day(900));
    post_ok("/v1/staff", body);
    snprintf(body, sizeof(body),
             "{\"id\":\"C1\",\"enterprise_id\":\"E1\",\"name\":\"Zhang household\",\"kind\":"
             "\"household\",\"location\":{\"lon\":%.6f,\"lat\":%.6f},\"address\":\"1 Road\","
             "\"contract_no\":\"SC1\",\"contract_from\":\"%s\",\"contract_to\":\"%s\"}",
             C1_LON, C1_LAT, day(-400), day(900));
    post_ok("/v1/customers", body);
    for (int i = 1; i <= 3; i++) {
        snprintf(body, sizeof(body),
                 "{\"id\":\"CY%d\",\"enterprise_id\":\"E1\",\"spec\":\"YSP-35.5\","
                 "\"manufacturer\":\"Hulun Steel\",\"serial\":\"S-%d\",\"manufactured\":\"%s\","
                 "\"next_inspection\":\"%s\"}",
                 i, i, day(-365), day(700));
        post_ok("/v1/cylinders", body);
    }
    json_t *j = NULL;
    if (api(&j, "POST", "/v1/devices", "{\"device_id\":\"H1\",\"staff_id\":\"S1\"}") != 201)
        return -1;
    snprintf(secret1, sizeof(secret1), "%s", str(j, "secret"));
    json_decref(j);
    h1 = wire_login(stack.d.handset_port, "H1", secret1);
    fix_ms = now_ms() - 1200 * 1000LL; /* 20 min ago: ~40 fixes 10 s apart stay in the past */
    return h1 >= 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    if (h1 >= 0)
        close(h1);
    return harness_stack_stop(&stack) == 0 ? 0 : -1;
}

/* ---- the handset side (as tests/integration/test_delivery.c) ---- */

/* Reads frames until the reply to request r; pushed OrderAssigned and Alert frames are skipped.
 * The caller frees it. */
static Lpg__V1__Envelope *reply_to(int fd, uint64_t r)
{
    for (int i = 0; i < 20; i++) {
        Lpg__V1__Envelope *env = wire_recv(fd, HARNESS_REPLY_TIMEOUT_MS);
        assert_non_null(env);
        if ((env->body_case == LPG__V1__ENVELOPE__BODY_ACK && env->ack->ack_seq == r) ||
            (env->body_case == LPG__V1__ENVELOPE__BODY_ERROR && env->error->ack_seq == r))
            return env;
        lpg__v1__envelope__free_unpacked(env, NULL);
    }
    fail_msg("no reply to request %llu", (unsigned long long)r);
    return NULL;
}

/* Sends env and expects Ack (refusal NULL) or Error REFUSED with that refusal code. */
static void expect(Lpg__V1__Envelope *env, const char *refusal)
{
    env->has_request_id = 1;
    env->request_id = ++req;
    assert_int_equal(wire_send(h1, env), 0);
    Lpg__V1__Envelope *r = reply_to(h1, env->request_id);
    if (refusal == NULL) {
        if (r->body_case != LPG__V1__ENVELOPE__BODY_ACK)
            fail_msg("expected Ack, got error %s: %s", r->error->refusal ? r->error->refusal : "-",
                     r->error->message);
    } else {
        if (r->body_case != LPG__V1__ENVELOPE__BODY_ERROR || r->error->refusal == NULL ||
            strcmp(r->error->refusal, refusal) != 0)
            fail_msg("expected refusal %s, got body %d", refusal, (int)r->body_case);
        assert_int_equal(r->error->code, LPG__V1__ERROR__CODE__REFUSED);
    }
    lpg__v1__envelope__free_unpacked(r, NULL);
}

static void scan(Lpg__V1__CylinderScan__Action action, const char *order, const char *code,
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
    expect(&env, refusal);
}
#define LOAD      LPG__V1__CYLINDER_SCAN__ACTION__LOAD
#define HAND_OVER LPG__V1__CYLINDER_SCAN__ACTION__HAND_OVER

/* One fix of V1, `north_m` metres north of (lon, lat), 10 s after the previous one. */
static void fix_at(double lon, double lat, double north_m, uint32_t speed_cm_s)
{
    fix_ms += 10000;
    assert_true(fix_ms < now_ms()); /* 20 min of fixes at most: never in the future */
    Lpg__V1__Fix f;
    wire_fix_3d(&f, ++seq1, (uint64_t)fix_ms,
                (int32_t)lround((lat + north_m / M_PER_DEG_LAT) * 1e7), (int32_t)lround(lon * 1e7),
                speed_cm_s);
    assert_true(wire_send_positions(h1, ++req, &f, 1, 5000) == (long long)seq1);
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
static void check(const char *order, const char *code, const char *failing)
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
    expect(&env, NULL);
}

static void confirm(const char *order)
{
    Lpg__V1__DeliveryConfirm m = LPG__V1__DELIVERY_CONFIRM__INIT;
    m.order_id = (char *)order;
    Lpg__V1__Envelope env = LPG__V1__ENVELOPE__INIT;
    env.body_case = LPG__V1__ENVELOPE__BODY_DELIVERY_CONFIRM;
    env.delivery_confirm = &m;
    expect(&env, NULL);
}

static void accept_order(const char *order)
{
    Lpg__V1__OrderAccept m = LPG__V1__ORDER_ACCEPT__INIT;
    m.order_id = (char *)order;
    Lpg__V1__Envelope env = LPG__V1__ENVELOPE__INIT;
    env.body_case = LPG__V1__ENVELOPE__BODY_ORDER_ACCEPT;
    env.order_accept = &m;
    expect(&env, NULL);
}

/* Creates an order of one cylinder (or none: a re-inspection), assigned to S1, accepted. */
static void order(const char *id, const char *kind, int count)
{
    char body[256];
    if (count > 0)
        snprintf(body, sizeof(body),
                 "{\"id\":\"%s\",\"customer_id\":\"C1\",\"enterprise_id\":\"E1\",\"kind\":\"%s\","
                 "\"items\":[{\"spec\":\"YSP-35.5\",\"count\":%d}]}",
                 id, kind, count);
    else
        snprintf(body, sizeof(body),
                 "{\"id\":\"%s\",\"customer_id\":\"C1\",\"enterprise_id\":\"E1\",\"kind\":\"%s\"}",
                 id, kind);
    json_t *j = NULL;
    assert_int_equal(api(&j, "POST", "/v1/orders", body), 201);
    assert_string_equal(str(j, "state"), "assigned");
    assert_string_equal(str(j, "staff_id"), "S1");
    json_decref(j);
    accept_order(id);
}

static void expect_field(const char *path, const char *field, const char *want)
{
    json_t *j = NULL;
    assert_int_equal(api(&j, "GET", path, NULL), 200);
    if (str(j, field) == NULL || strcmp(str(j, field), want) != 0)
        fail_msg("%s: %s is %s, want %s", path, field, str(j, field) ? str(j, field) : "null",
                 want);
    json_decref(j);
}

/* Loads `cyl` for `id` at the depot, drives to the customer and hands it over, stopped. */
static void load_and_hand_over(const char *id, const char *cyl)
{
    fix_at(ST_LON, ST_LAT, 0, 0);
    scan(LOAD, id, cyl, NULL);
    fix_at(C1_LON, C1_LAT, 15, 0);
    scan(HAND_OVER, id, cyl, NULL);
}

/* ---- the figures ---- */

/* A row's figures flattened to "section,measure" -> count, as the CSV names them. */
struct figures {
    char key[64][96];
    long long n[64];
    size_t count;
};

static void fig_add(struct figures *f, const char *section, const char *measure, long long n)
{
    char k[96];
    snprintf(k, sizeof(k), "%s,%s", section, measure);
    for (size_t i = 0; i < f->count; i++)
        if (strcmp(f->key[i], k) == 0) {
            f->n[i] += n;
            return;
        }
    assert_true(f->count < 64);
    snprintf(f->key[f->count], sizeof(f->key[0]), "%s", k);
    f->n[f->count++] = n;
}

/* The JSON row into f (added to what it holds). */
static void fig_from_json(struct figures *f, json_t *row)
{
    static const char *const flat[] = {"orders", "checks", "hazards", NULL};
    const char *k, *k2;
    json_t *v, *v2;
    for (size_t i = 0; flat[i]; i++)
        json_object_foreach(json_object_get(row, flat[i]), k, v)
        {
            assert_true(json_is_integer(v));
            fig_add(f, flat[i], k, json_integer_value(v));
        }
    json_t *refusals = json_object_get(row, "refusals");
    assert_true(json_is_integer(json_object_get(refusals, "total")));
    fig_add(f, "refusals", "total", json_integer_value(json_object_get(refusals, "total")));
    json_object_foreach(json_object_get(refusals, "by_reason"), k, v)
    {
        char m[96];
        snprintf(m, sizeof(m), "by_reason.%s", k);
        fig_add(f, "refusals", m, json_integer_value(v));
    }
    json_object_foreach(json_object_get(row, "alerts"), k, v)
    {
        json_object_foreach(v, k2, v2)
        {
            char m[96];
            snprintf(m, sizeof(m), "%s.%s", k, k2);
            fig_add(f, "alerts", m, json_integer_value(v2));
        }
    }
    fig_add(f, "violations", "episodes", json_integer_value(json_object_get(row, "violations")));
}

/* The CSV row (one line per figure, "E1,<month>,section,measure,count") into f. */
static void fig_from_csv(struct figures *f, const char *csv, const char *month)
{
    const char *head = "enterprise_id,month,section,measure,count\r\n";
    assert_int_equal(strncmp(csv, head, strlen(head)), 0);
    const char *line = csv + strlen(head);
    int ended = 0;
    while (*line) {
        const char *eol = strstr(line, "\r\n");
        assert_non_null(eol);
        char buf[256];
        size_t len = (size_t)(eol - line);
        assert_true(len < sizeof(buf));
        memcpy(buf, line, len);
        buf[len] = '\0';
        line = eol + 2;
        if (buf[0] == '#') {
            assert_string_equal(buf, "# end");
            ended = 1;
            continue;
        }
        assert_false(ended); /* nothing after the end line */
        char ent[16], mon[16], section[32], measure[96];
        long long n;
        if (sscanf(buf, "%15[^,],%15[^,],%31[^,],%95[^,],%lld", ent, mon, section, measure, &n) !=
            5)
            fail_msg("CSV row \"%s\" is not enterprise,month,section,measure,count", buf);
        assert_string_equal(ent, "E1");
        assert_string_equal(mon, month);
        fig_add(f, section, measure, n);
    }
    assert_true(ended);
}

static long long fig_get(const struct figures *f, const char *key)
{
    for (size_t i = 0; i < f->count; i++)
        if (strcmp(f->key[i], key) == 0)
            return f->n[i];
    return -1;
}

/* The story's figures, every one: the sum of the rows must be exactly this. */
static const struct {
    const char *key;
    long long n;
} want[] = {
    {"orders,delivered", 3},
    {"orders,failed", 1},
    {"orders,cancelled", 0},
    {"checks,failed", 1},
    {"hazards,opened", 1},
    {"hazards,closed", 1},
    {"hazards,overdue", 0},
    {"refusals,total", 1},
    {"refusals,by_reason.vehicle_moving", 1},
    {"alerts,roadside_sale.violation_start", 1},
    {"alerts,hazard.violation_start", 1},
    {"violations,episodes", 2},
};
#define N_WANT (sizeof(want) / sizeof(want[0]))

static void expect_story(const struct figures *f, const char *form)
{
    for (size_t i = 0; i < N_WANT; i++)
        if (fig_get(f, want[i].key) != want[i].n)
            fail_msg("%s: %s is %lld, want %lld", form, want[i].key, fig_get(f, want[i].key),
                     want[i].n);
    for (size_t i = 0; i < f->count; i++) {
        size_t k = 0;
        while (k < N_WANT && strcmp(want[k].key, f->key[i]) != 0)
            k++;
        if (k == N_WANT)
            fail_msg("%s: unexpected figure %s = %lld", form, f->key[i], f->n[i]);
    }
}

/* "YYYY-MM" of month index mi, and the instant its local first day begins, as the API formats
 * instants. */
static void month_bounds(int mi, char month[16], char from[32])
{
    snprintf(month, 16, "%04d-%02d", mi / 12, mi % 12 + 1);
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = mi / 12 - 1900;
    tm.tm_mon = mi % 12;
    tm.tm_mday = 1;
    time_t t = timegm(&tm) - UTC_OFFSET_S;
    struct tm u;
    gmtime_r(&t, &u);
    strftime(from, 32, "%Y-%m-%dT%H:%M:%S.000Z", &u);
}

static void test_month_row(void **state)
{
    (void)state;
    int first_month = month_of(now_ms());

    /* O1: a hand-over refused while moving, then the delivery. */
    order("O1", "delivery", 1);
    fix_at(ST_LON, ST_LAT, 0, 0);
    scan(LOAD, "O1", "CY1", NULL);
    fix_at(C1_LON, C1_LAT, 10, 833); /* at the door at 30 km/h */
    scan(HAND_OVER, "O1", "CY1", "vehicle_moving");
    fix_at(C1_LON, C1_LAT, 15, 0);
    scan(HAND_OVER, "O1", "CY1", NULL);
    check("O1", "CY1", NULL);
    confirm("O1");
    expect_field("/v1/orders/O1", "state", "delivered");
    /* O2: a delivery. */
    order("O2", "delivery", 1);
    load_and_hand_over("O2", "CY2");
    check("O2", "CY2", NULL);
    confirm("O2");
    expect_field("/v1/orders/O2", "state", "delivered");
    /* O3: the check fails: the order fails, a hazard is opened. */
    order("O3", "delivery", 1);
    load_and_hand_over("O3", "CY3");
    check("O3", "CY3", "leak_test");
    expect_field("/v1/orders/O3", "state", "failed");
    expect_field("/v1/customers/C1", "status", "suspended");
    /* O4: the re-inspection closes it. */
    order("O4", "re-inspection", 0);
    check("O4", NULL, NULL);
    expect_field("/v1/orders/O4", "state", "delivered");
    expect_field("/v1/customers/C1", "status", "active");

    int last_month = month_of(now_ms());
    assert_true(last_month - first_month <= 1);
    struct figures fj, fc;
    memset(&fj, 0, sizeof(fj));
    memset(&fc, 0, sizeof(fc));
    for (int mi = first_month; mi <= last_month; mi++) {
        char month[16], from[32], to_month[16], to[32], path[160];
        month_bounds(mi, month, from);
        month_bounds(mi + 1, to_month, to);
        snprintf(path, sizeof(path), "/v1/reports/compliance?enterprise_id=E1&month=%s", month);
        json_t *j = NULL;
        assert_int_equal(api(&j, "GET", path, NULL), 200);
        assert_non_null(j);
        assert_string_equal(str(j, "month"), month);
        assert_int_equal(json_integer_value(json_object_get(j, "utc_offset_min")), 480);
        assert_string_equal(str(j, "from"), from);
        assert_string_equal(str(j, "to"), to);
        assert_true(json_is_false(json_object_get(j, "truncated")));
        fig_from_json(&fj, j);
        json_decref(j);
        snprintf(path, sizeof(path), "/v1/reports/compliance?enterprise_id=E1&month=%s&format=csv",
                 month);
        assert_int_equal(api(NULL, "GET", path, NULL), 200);
        fig_from_csv(&fc, resp, month);
        printf("E1 %s: read\n", month);
    }
    expect_story(&fj, "JSON");
    expect_story(&fc, "CSV");

    /* The refusals are the audit chain's scan_refused entries of E1, counted independently. */
    json_t *e = NULL;
    assert_int_equal(
        api(&e, "GET", "/v1/audit/entries?kind=scan_refused&enterprise_id=E1&limit=1000", NULL),
        200);
    json_t *items = json_object_get(e, "items");
    assert_int_equal(json_array_size(items), fig_get(&fj, "refusals,total"));
    json_t *data = json_object_get(json_object_get(json_array_get(items, 0), "entry"), "data");
    assert_string_equal(str(data, "refusal"), "vehicle_moving");
    json_decref(e);
    printf("months %d..%d: orders 3/1/0, checks failed 1, hazards 1/1/0, refusals 1, alerts 2\n",
           first_month, last_month);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_month_row),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
