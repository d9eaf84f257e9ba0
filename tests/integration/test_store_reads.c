/* test_store_reads.c -- the store's read modules (dispatch/store/route_reads.c, alert_reads.c,
 * compliance_reads.c, audit_reads.c) in-process, on the real store module and a private
 * redis-server: what each read returns for the keys as ingest, alerts, delivery and the audit
 * log write them, including what the HTTP tests do not reach -- malformed members, expired or
 * unparsable records, a key of the wrong type, paging of the alert index, and reads refused
 * while the store is not up (callback never called). The HTTP replies built on these reads are
 * covered by integration.v1_route (and check_exports.py), v1_summary, delivery and audit. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"
#include "store/alert_reads.h"
#include "store/audit_reads.h"
#include "store/compliance_reads.h"
#include "store/route_reads.h"
#include "store/store.h"

#include <event2/event.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct harness_redis redis;
static char dir[256];
static int port;
static struct event_base *base;
static struct store *st;

/* Runs the loop until *flag is set or timeout_ms passes; returns *flag. */
static int run_until(const int *flag, int timeout_ms)
{
    for (int waited = 0; !*flag && waited < timeout_ms; waited += 10) {
        struct timeval tv = {0, 10000};
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
    }
    return *flag;
}

static int state_up;
static void on_state(void *arg, enum store_state s, const char *detail)
{
    (void)arg;
    (void)detail;
    state_up = s == STORE_UP;
}

static struct store *store_on(int p)
{
    struct store_options so = {.host = "127.0.0.1",
                               .port = p,
                               .connect_timeout_ms = 300,
                               .ping_interval_ms = 100,
                               .reconnect_min_ms = 50,
                               .reconnect_max_ms = 200,
                               .key_prefix = "t:"};
    return store_new(base, &so);
}

static int setup(void **state)
{
    (void)state;
    port = harness_free_port();
    if (harness_tmpdir(dir, sizeof(dir), "storereads") != 0 ||
        harness_redis_start(&redis, dir, port) != 0)
        return -1;
    base = event_base_new();
    st = base ? store_on(port) : NULL;
    if (st == NULL)
        return -1;
    store_set_state_callback(st, on_state, NULL);
    return run_until(&state_up, 5000) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    store_free(st);
    event_base_free(base);
    int rc = harness_redis_stop(&redis);
    harness_rmdir(dir);
    return rc;
}

/* A command straight to Redis (the writer's side of the test). */
static void redis_do(int argc, const char *const *argv)
{
    char r[512];
    assert_int_equal(harness_redis_cmd(port, r, sizeof(r), argc, argv), 0);
    if (r[0] == '-')
        fail_msg("%s: %s", argv[0], r);
}
#define REDIS(...)                                                                                 \
    do {                                                                                           \
        const char *const a_[] = {__VA_ARGS__};                                                    \
        redis_do((int)(sizeof(a_) / sizeof(a_[0])), a_);                                           \
    } while (0)

/* ---- route chunks ---- */

#define DAY 20785 /* 2026-11-28 */
#define T0  1795824000000LL
#define T0S "1795824000000"
#define M1  "1:1795824000000:492391000:1197412000:850:9000:350:3:0"
#define M2  "2:1795824001000:492391100:1197412100:-:-:-:0:2"
#define M3  "3:1795824002000:492391200:1197412200:900:100:50:3:1"

static int got;
static char err_copy[256];
static size_t chunk_n;
static struct route_member_read chunk_m[8];
static char chunk_text[8][128];

static void on_chunk(void *arg, const struct route_chunk *c, const char *err)
{
    (void)arg;
    got = 1;
    snprintf(err_copy, sizeof(err_copy), "%s", err ? err : "");
    if (err) {
        assert_null(c);
        return;
    }
    chunk_n = route_chunk_size(c);
    for (size_t i = 0; i < chunk_n && i < 8; i++) {
        route_chunk_member(c, i, &chunk_m[i]);
        snprintf(chunk_text[i], sizeof(chunk_text[i]), "%.*s", (int)chunk_m[i].len,
                 chunk_m[i].text ? chunk_m[i].text : "");
    }
}

static void read_chunk(const char *vehicle, int64_t min, int64_t max, long off, int count)
{
    const char *why = NULL;
    got = 0;
    assert_int_equal(route_read_chunk(st, vehicle, DAY, min, max, off, count, on_chunk, NULL, &why),
                     0);
    assert_true(run_until(&got, 3000));
}

static void test_route_chunk(void **state)
{
    (void)state;
    REDIS("ZADD", "t:route:V1:20261128", "1795824000000", M1, "1795824001000", M2, "1795824001500",
          "junk", "1795824002000", M3);
    read_chunk("V1", T0, T0 + 3000, 0, 10);
    assert_string_equal(err_copy, "");
    assert_int_equal(chunk_n, 4);
    assert_true(chunk_m[0].ok);
    assert_string_equal(chunk_text[0], M1);
    assert_int_equal(chunk_m[0].fix.seq, 1);
    assert_int_equal(chunk_m[0].fix.lat_e7, 492391000);
    assert_true(chunk_m[0].fix.has_speed);
    assert_true(chunk_m[1].ok);
    assert_false(chunk_m[1].fix.has_speed); /* '-' */
    assert_int_equal(chunk_m[1].fix.flags, 2);
    assert_false(chunk_m[2].ok); /* not in the stored format: the caller skips it */
    assert_string_equal(chunk_text[2], "junk");
    assert_true(chunk_m[3].ok);
    /* [min, max): a member scored max is out; offset and count page. */
    read_chunk("V1", T0, T0 + 2000, 0, 10);
    assert_int_equal(chunk_n, 3);
    read_chunk("V1", T0, T0 + 3000, 1, 2);
    assert_int_equal(chunk_n, 2);
    assert_string_equal(chunk_text[0], M2);
    assert_string_equal(chunk_text[1], "junk");
    /* No such day: empty. A key of another type: Redis' error, as the reason. */
    read_chunk("V2", T0, T0 + 3000, 0, 10);
    assert_string_equal(err_copy, "");
    assert_int_equal(chunk_n, 0);
    REDIS("SET", "t:route:V3:20261128", "x");
    read_chunk("V3", T0, T0 + 3000, 0, 10);
    assert_non_null(strstr(err_copy, "WRONGTYPE"));
}

/* ---- the newest fix ---- */

static struct route_last last;
static void on_last(void *arg, const struct route_last *l, const char *err)
{
    (void)arg;
    got = 1;
    snprintf(err_copy, sizeof(err_copy), "%s", err ? err : "");
    if (l)
        last = *l;
}

static void read_last(const char *vehicle)
{
    const char *why = NULL;
    got = 0;
    memset(&last, 0xff, sizeof(last));
    assert_int_equal(route_read_last(st, vehicle, on_last, NULL, &why), 0);
    assert_true(run_until(&got, 3000));
}

static void test_route_last(void **state)
{
    (void)state;
    read_last("L0"); /* never stored */
    assert_string_equal(err_copy, "");
    assert_int_equal(last.has_fix, 0);
    REDIS("HSET", "t:vehicle:L1:last", "time_ms", "1795824002000", "lat_e7", "492391200", "lon_e7",
          "1197412200", "speed_cm_s", "900", "seq", "3", "device", "hs-1");
    read_last("L1");
    assert_int_equal(last.has_fix, 1);
    assert_int_equal(last.time_ms, 1795824002000LL);
    assert_int_equal(last.lat_e7, 492391200);
    assert_int_equal(last.lon_e7, 1197412200);
    assert_int_equal(last.seq, 3);
    assert_int_equal(last.has_speed, 1);
    assert_int_equal(last.speed_cm_s, 900);
    REDIS("HSET", "t:vehicle:L2:last", "time_ms", "1", "lat_e7", "2", "lon_e7", "3", "speed_cm_s",
          "-", "seq", "4");
    read_last("L2");
    assert_int_equal(last.has_fix, 1);
    assert_int_equal(last.has_speed, 0);
    REDIS("HSET", "t:vehicle:L3:last", "time_ms", "1", "lat_e7", "north", "lon_e7", "3", "seq",
          "4");
    read_last("L3");
    assert_int_equal(last.has_fix, 0); /* does not parse: no fix */
}

/* ---- nearest ---- */

static size_t near_n, near_bad;
static char near_ids[8][32];
static double near_dist[8];

static void on_near(void *arg, const struct route_nearby_list *l, const char *err)
{
    (void)arg;
    got = 1;
    snprintf(err_copy, sizeof(err_copy), "%s", err ? err : "");
    near_n = near_bad = 0;
    for (size_t i = 0; l && i < route_nearby_size(l); i++) {
        struct route_nearby e;
        if (route_nearby_get(l, i, &e) != 0) {
            near_bad++;
            continue;
        }
        snprintf(near_ids[near_n], sizeof(near_ids[0]), "%s", e.vehicle_id);
        near_dist[near_n++] = e.distance_m;
    }
}

static void read_near(double radius, int count)
{
    const char *why = NULL;
    got = 0;
    assert_int_equal(route_read_nearest(st, 119.75, 49.26, radius, count, on_near, NULL, &why), 0);
    assert_true(run_until(&got, 3000));
}

static void test_nearest(void **state)
{
    (void)state;
    REDIS("GEOADD", "t:geo:vehicles", "119.7500000", "49.2600000", "N0", "119.7600000",
          "49.2600000", "N1", "119.7800000", "49.2600000", "N2");
    read_near(10000, 2);
    assert_string_equal(err_copy, "");
    assert_int_equal(near_n, 2);
    assert_string_equal(near_ids[0], "N0");
    assert_string_equal(near_ids[1], "N1");
    assert_true(near_dist[0] < 1.0);
    assert_true(near_dist[1] > 700 && near_dist[1] < 750); /* 0.01 degree of longitude at 49.26 */
    read_near(10000, 0);                                   /* every one within the radius */
    assert_int_equal(near_n, 3);
    read_near(10, 0);
    assert_int_equal(near_n, 1);
}

/* ---- a vehicle's alerts ---- */

static size_t page_ids, page_alerts;
static char page_rules[8][32];

static void on_page(void *arg, const struct alert_page *p, const char *err)
{
    (void)arg;
    got = 1;
    snprintf(err_copy, sizeof(err_copy), "%s", err ? err : "");
    page_ids = p ? p->n_ids : 0;
    page_alerts = p ? p->n_alerts : 0;
    for (size_t i = 0; i < page_alerts && i < 8; i++) {
        const char *r = json_string_value(json_object_get(p->alerts[i], "rule"));
        snprintf(page_rules[i], sizeof(page_rules[i]), "%s", p->alerts[i] ? (r ? r : "?") : "-");
    }
}

static void read_page(const char *vehicle, int64_t min, uint64_t off, int count)
{
    const char *why = NULL;
    got = 0;
    assert_int_equal(alert_read_vehicle_page(st, vehicle, min, off, count, on_page, NULL, &why), 0);
    assert_true(run_until(&got, 3000));
}

static void test_alert_pages(void **state)
{
    (void)state;
    REDIS("ZADD", "t:alerts:vehicle:A1", "100", "a1", "200", "a2", "300", "a3", "400", "a4");
    REDIS("SET", "t:alert:a1", "{\"rule\":\"overspeed\"}");
    /* a2 has expired: no record */
    REDIS("SET", "t:alert:a3", "{not json");
    REDIS("SET", "t:alert:a4", "{\"rule\":\"fatigue\"}");
    read_page("A1", 0, 0, 2);
    assert_string_equal(err_copy, "");
    assert_int_equal(page_ids, 2); /* a full page: there may be more */
    assert_int_equal(page_alerts, 2);
    assert_string_equal(page_rules[0], "overspeed");
    assert_string_equal(page_rules[1], "-");
    read_page("A1", 0, 2, 2);
    assert_int_equal(page_ids, 2);
    assert_string_equal(page_rules[0], "-"); /* does not parse: left out like an expired one */
    assert_string_equal(page_rules[1], "fatigue");
    read_page("A1", 250, 0, 10); /* scored from 250 on */
    assert_int_equal(page_ids, 2);
    assert_string_equal(page_rules[1], "fatigue");
    read_page("A-none", 0, 0, 10);
    assert_string_equal(err_copy, "");
    assert_int_equal(page_ids, 0);
}

/* ---- delivery compliance ---- */

static char list_dump[512];
static int check_null;

static void on_list(void *arg, json_t *items, const char *err)
{
    (void)arg;
    got = 1;
    snprintf(err_copy, sizeof(err_copy), "%s", err ? err : "");
    char *s = items ? json_dumps(items, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    snprintf(list_dump, sizeof(list_dump), "%s", s ? s : "");
    free(s);
}

static void on_check(void *arg, json_t *check, const char *err)
{
    (void)arg;
    got = 1;
    snprintf(err_copy, sizeof(err_copy), "%s", err ? err : "");
    check_null = check == NULL;
    char *s = check ? json_dumps(check, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    snprintf(list_dump, sizeof(list_dump), "%s", s ? s : "");
    free(s);
}

static void test_compliance_reads(void **state)
{
    (void)state;
    const char *why = NULL;
    REDIS("RPUSH", "t:cylinder:CY1:history", "{\"event\":\"filled\"}", "junk",
          "{\"event\":\"loaded\"}");
    got = 0;
    assert_int_equal(compliance_read_cylinder_history(st, "CY1", 5000, on_list, NULL, &why), 0);
    assert_true(run_until(&got, 3000));
    assert_string_equal(err_copy, "");
    assert_string_equal(list_dump, "[{\"event\":\"filled\"},{\"event\":\"loaded\"}]");

    REDIS("RPUSH", "t:order:O1:history", "{\"to\":\"assigned\"}", "{bad", "{\"to\":\"accepted\"}",
          "{\"to\":\"loaded\"}");
    got = 0; /* an order's history: unparsable entries left out, at most max */
    assert_int_equal(compliance_read_order_history(st, "O1", 3, on_list, NULL, &why), 0);
    assert_true(run_until(&got, 3000));
    assert_string_equal(err_copy, "");
    assert_string_equal(list_dump, "[{\"to\":\"assigned\"},{\"to\":\"accepted\"}]");

    got = 0; /* an order without checks */
    assert_int_equal(compliance_read_order_checks(st, "O0", 1000, on_list, NULL, &why), 0);
    assert_true(run_until(&got, 3000));
    assert_string_equal(err_copy, "");
    assert_string_equal(list_dump, "[]");
    REDIS("RPUSH", "t:order:O1:checks", "c1", "c2", "c3");
    REDIS("SET", "t:check:c1", "{\"id\":\"c1\"}");
    REDIS("SET", "t:check:c3", "{\"id\":\"c3\"}");
    got = 0; /* c2's record is missing: left out */
    assert_int_equal(compliance_read_order_checks(st, "O1", 1000, on_list, NULL, &why), 0);
    assert_true(run_until(&got, 3000));
    assert_string_equal(list_dump, "[{\"id\":\"c1\"},{\"id\":\"c3\"}]");
    got = 0; /* at most max ids */
    assert_int_equal(compliance_read_order_checks(st, "O1", 2, on_list, NULL, &why), 0);
    assert_true(run_until(&got, 3000));
    assert_string_equal(list_dump, "[{\"id\":\"c1\"}]");

    got = 0;
    assert_int_equal(compliance_read_check(st, "c3", on_check, NULL, &why), 0);
    assert_true(run_until(&got, 3000));
    assert_false(check_null);
    assert_string_equal(list_dump, "{\"id\":\"c3\"}");
    got = 0; /* none: no check, no error */
    assert_int_equal(compliance_read_check(st, "c2", on_check, NULL, &why), 0);
    assert_true(run_until(&got, 3000));
    assert_string_equal(err_copy, "");
    assert_true(check_null);
    REDIS("RPUSH", "t:check:weird", "x");
    got = 0; /* a key of another type: an error, not "no such check" */
    assert_int_equal(compliance_read_check(st, "weird", on_check, NULL, &why), 0);
    assert_true(run_until(&got, 3000));
    assert_string_not_equal(err_copy, "");
}

/* ---- audit entries ---- */

static size_t texts_n;
static char texts[4][32];

static void on_texts(void *arg, const struct audit_texts *t, const char *err)
{
    (void)arg;
    got = 1;
    snprintf(err_copy, sizeof(err_copy), "%s", err ? err : "");
    texts_n = t ? audit_texts_count(t) : 0;
    for (size_t i = 0; i < texts_n && i < 4; i++) {
        const char *s;
        size_t len;
        audit_texts_get(t, i, &s, &len);
        snprintf(texts[i], sizeof(texts[i]), "%.*s", (int)len, s);
    }
}

static void test_audit_texts(void **state)
{
    (void)state;
    const char *why = NULL;
    REDIS("RPUSH", "t:audit:entries", "e1", "e2", "e3");
    got = 0; /* entries 2..3 are at indexes 1..2 */
    assert_int_equal(audit_read_entries(st, 2, 3, on_texts, NULL, &why), 0);
    assert_true(run_until(&got, 3000));
    assert_string_equal(err_copy, "");
    assert_int_equal(texts_n, 2);
    assert_string_equal(texts[0], "e2");
    assert_string_equal(texts[1], "e3");
    got = 0; /* beyond the head: none */
    assert_int_equal(audit_read_entries(st, 5, 9, on_texts, NULL, &why), 0);
    assert_true(run_until(&got, 3000));
    assert_int_equal(texts_n, 0);
}

/* ---- a store that is not up refuses every read; no callback runs ---- */

static int called;
static void on_any_chunk(void *arg, const struct route_chunk *c, const char *err)
{
    (void)arg, (void)c, (void)err;
    called = 1;
}
static void on_any_last(void *arg, const struct route_last *l, const char *err)
{
    (void)arg, (void)l, (void)err;
    called = 1;
}
static void on_any_near(void *arg, const struct route_nearby_list *l, const char *err)
{
    (void)arg, (void)l, (void)err;
    called = 1;
}
static void on_any_page(void *arg, const struct alert_page *p, const char *err)
{
    (void)arg, (void)p, (void)err;
    called = 1;
}
static void on_any_list(void *arg, json_t *j, const char *err)
{
    (void)arg, (void)j, (void)err;
    called = 1;
}
static void on_any_texts(void *arg, const struct audit_texts *t, const char *err)
{
    (void)arg, (void)t, (void)err;
    called = 1;
}

static void test_reads_refused_while_down(void **state)
{
    (void)state;
    struct store *down = store_on(harness_free_port()); /* nothing listens there */
    assert_non_null(down);
    const char *why;
    called = 0;
#define REFUSED(call)                                                                              \
    do {                                                                                           \
        why = NULL;                                                                                \
        assert_int_equal(call, -1);                                                                \
        assert_non_null(why);                                                                      \
        assert_ptr_not_equal(why, STORE_READ_NOMEM);                                               \
    } while (0)
    REFUSED(route_read_chunk(down, "V1", DAY, T0, T0 + 1, 0, 10, on_any_chunk, NULL, &why));
    REFUSED(route_read_last(down, "V1", on_any_last, NULL, &why));
    REFUSED(route_read_nearest(down, 1, 2, 3, 0, on_any_near, NULL, &why));
    REFUSED(alert_read_vehicle_page(down, "V1", 0, 0, 10, on_any_page, NULL, &why));
    REFUSED(compliance_read_cylinder_history(down, "CY1", 10, on_any_list, NULL, &why));
    REFUSED(compliance_read_order_checks(down, "O1", 10, on_any_list, NULL, &why));
    REFUSED(compliance_read_check(down, "c1", on_check, NULL, &why));
    REFUSED(audit_read_entries(down, 1, 2, on_any_texts, NULL, &why));
    store_free(down);
    assert_int_equal(called, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_route_chunk),
        cmocka_unit_test(test_route_last),
        cmocka_unit_test(test_nearest),
        cmocka_unit_test(test_alert_pages),
        cmocka_unit_test(test_compliance_reads),
        cmocka_unit_test(test_audit_texts),
        cmocka_unit_test(test_reads_refused_while_down),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
