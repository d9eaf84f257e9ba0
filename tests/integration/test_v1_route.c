/* test_v1_route.c -- GET /v1/vehicles/{id}/route (and /position, /nearest) against real Redis
 * and dispatchd. 5,000 fixes over two UTC days are stored through the handset protocol (ten
 * batches, a run of 20 fixes at the same millisecond straddling the 2,000-member chunk
 * boundary, and a late batch interleaved with earlier fixes); then every format is exported and
 * checked for count, order and first/last fix, here and by an independent Python checker
 * (tests/python/check_exports.py: xml.etree, json, csv, reading Redis itself). Also ranges
 * inside a day, an empty range, a slow reader, a reader that leaves mid-stream, and access
 * (401 / another enterprise's dispatcher 404 / auditor 200). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"
#include "wire_client.h"

#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct harness_stack stack;
static char secret[64];
static char tok_admin[64], tok_aud[64], tok_disp0[64], tok_disp1[64];

/* 2026-11-20T23:00:00Z: regular fixes every second from here, seq 1..4900 (3,600 on the 20th,
 * 1,300 on the 21st); seq 1991..2010 share the time of seq 1991; seq 4901..5000 arrive late,
 * at T_A + 3000.5 s + 2 s * j. */
#define T_A        1795215600000LL
#define N_REGULAR  4900
#define N_LATE     100
#define N_TOTAL    (N_REGULAR + N_LATE)
#define SAME_FIRST 1991 /* seqs SAME_FIRST .. SAME_FIRST+19 have the same time */
#define SAME_N     20
#define LAT        492100000
#define LON        1197500000

static const char *FROM_ALL = "2026-11-20T22:00:00Z", *TO_ALL = "2026-11-21T02:00:00Z";

static int64_t fix_time(uint64_t seq)
{
    if (seq > N_REGULAR)
        return T_A + 3000500 + (int64_t)(seq - N_REGULAR - 1) * 2000;
    uint64_t i = seq - 1;
    if (seq >= SAME_FIRST && seq < SAME_FIRST + SAME_N)
        i = SAME_FIRST - 1;
    return T_A + (int64_t)i * 1000;
}

static void make_fix(Lpg__V1__Fix *f, uint64_t seq)
{
    lpg__v1__fix__init(f);
    f->has_seq = f->has_time_ms = f->has_lat_e7 = f->has_lon_e7 = 1;
    f->seq = seq;
    f->time_ms = (uint64_t)fix_time(seq);
    int64_t i = (fix_time(seq) - T_A) / 100; /* 1 m per 100 ms along the meridian */
    f->lat_e7 = LAT + (int32_t)i * 9;
    f->lon_e7 = LON - (int32_t)(seq % 7);
    if (seq % 5 != 0) {
        f->has_speed_cm_s = 1;
        f->speed_cm_s = 1000 + (uint32_t)(seq % 3);
    }
    if (seq % 4 == 0) {
        f->has_heading_cdeg = 1;
        f->heading_cdeg = (uint32_t)(seq * 7 % 36000);
    }
    if (seq % 3 == 0) {
        f->has_accuracy_cm = 1;
        f->accuracy_cm = 350;
    }
    f->has_mode = 1;
    f->mode = LPG__V1__FIX__MODE__FIX_3D;
    if (seq % 11 == 0) {
        f->has_speed_derived = 1;
        f->speed_derived = 1;
    }
}

static uint64_t send_batch(int fd, uint64_t req, uint64_t first, uint64_t last, int late)
{
    size_t n = (size_t)(last - first + 1);
    Lpg__V1__Fix *fixes = calloc(n, sizeof(*fixes));
    Lpg__V1__Fix **ptrs = calloc(n, sizeof(*ptrs));
    assert_non_null(fixes);
    assert_non_null(ptrs);
    for (size_t i = 0; i < n; i++) {
        make_fix(&fixes[i], first + i);
        ptrs[i] = &fixes[i];
    }
    Lpg__V1__PositionBatch b = LPG__V1__POSITION_BATCH__INIT;
    b.n_fixes = n;
    b.fixes = ptrs;
    b.has_late = late;
    b.late = late;
    Lpg__V1__Envelope env = LPG__V1__ENVELOPE__INIT;
    env.has_request_id = 1;
    env.request_id = req;
    env.body_case = LPG__V1__ENVELOPE__BODY_POSITION_BATCH;
    env.position_batch = &b;
    assert_int_equal(wire_send(fd, &env), 0);
    free(fixes);
    free(ptrs);
    Lpg__V1__Envelope *reply = wire_recv(fd, 10000);
    assert_non_null(reply);
    assert_int_equal(reply->body_case, LPG__V1__ENVELOPE__BODY_ACK);
    uint64_t seq = reply->ack->position_seq;
    lpg__v1__envelope__free_unpacked(reply, NULL);
    return seq;
}

static int post(const char *tok, const char *path, const char *body, char *resp, size_t cap)
{
    char auth[128] = "";
    int status = 0;
    if (tok)
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", tok);
    if (harness_http_req(stack.d.http_port, "POST", path, tok ? auth : NULL, body, &status, resp,
                         cap) != 0)
        return -1;
    return status;
}

static int user_token(const char *name, const char *role, const char *ent, char tok[64])
{
    char body[512], resp[4096];
    snprintf(body, sizeof(body),
             "{\"name\":\"%s\",\"role\":\"%s\",%s%s%s\"password\":\"route-test-pw-1\"}", name, role,
             ent ? "\"enterprise_id\":\"" : "", ent ? ent : "", ent ? "\"," : "");
    if (post(tok_admin, "/v1/users", body, resp, sizeof(resp)) != 201) {
        fprintf(stderr, "user %s: %s\n", name, resp);
        return -1;
    }
    snprintf(body, sizeof(body), "{\"user\":\"%s\",\"password\":\"route-test-pw-1\"}", name);
    if (post(NULL, "/v1/sessions", body, resp, sizeof(resp)) != 201 ||
        harness_json_str(resp, "token", tok, 64) != 0) {
        fprintf(stderr, "login %s: %s\n", name, resp);
        return -1;
    }
    return 0;
}

static int setup(void **state)
{
    (void)state;
    char resp[4096];
    if (harness_stack_start(&stack, "route", NULL) != 0 ||
        harness_stack_device(&stack, "H1", secret) != 0 ||
        harness_stack_admin_token(&stack, tok_admin) != 0)
        return -1;
    if (post(tok_admin, "/v1/vehicles",
             "{\"id\":\"V1\",\"enterprise_id\":\"E0\",\"plate\":\"P1\",\"kind\":\"van\","
             "\"capacity\":10,\"staff_id\":\"S-H1\"}",
             resp, sizeof(resp)) != 201 ||
        post(tok_admin, "/v1/enterprises",
             "{\"id\":\"E1\",\"name\":\"Other Gas\",\"area\":{\"type\":\"Polygon\","
             "\"coordinates\":[[[119.6,49.15],[119.9,49.15],[119.9,49.3],[119.6,49.3],"
             "[119.6,49.15]]]}}",
             resp, sizeof(resp)) != 201) {
        fprintf(stderr, "setup: %s\n", resp);
        return -1;
    }
    if (user_token("aud", "auditor", NULL, tok_aud) != 0 ||
        user_token("disp0", "dispatcher", "E0", tok_disp0) != 0 ||
        user_token("disp1", "dispatcher", "E1", tok_disp1) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return harness_stack_stop(&stack) == 0 ? 0 : -1;
}

/* ---- a small HTTP/1.1 client: whole response, chunked transfer decoded ---- */

/* A reply, and how long it took (the export rates printed). */
struct resp {
    struct harness_reply h;
    double seconds;
};

static void resp_free(struct resp *r)
{
    harness_reply_free(&r->h);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The path of the last request, for the recording of its exchange (read_response). */
static char last_path[1024];

static int send_request(const char *tok, const char *path)
{
    snprintf(last_path, sizeof(last_path), "%s", path);
    int fd = harness_get11_send(stack.d.http_port, tok, path);
    assert_true(fd >= 0);
    return fd;
}

/* Reads the whole response (to EOF) from fd; pause_ms before reading (a slow client). */
static void read_response(int fd, struct resp *r, int pause_ms)
{
    if (pause_ms)
        harness_sleep_ms(pause_ms);
    assert_int_equal(harness_get11_read(fd, &r->h, 20000), 0);
    harness_http_record_raw("GET", last_path, r->h.raw, r->h.raw_len);
}

static void get(const char *tok, const char *path, struct resp *r)
{
    double t0 = now_s();
    read_response(send_request(tok, path), r, 0);
    r->seconds = now_s() - t0;
}

static void route(const char *tok, const char *vehicle, const char *from, const char *to,
                  const char *format, struct resp *r)
{
    char path[512];
    snprintf(path, sizeof(path), "/v1/vehicles/%s/route?from=%s&to=%s%s%s", vehicle, from, to,
             format ? "&format=" : "", format ? format : "");
    get(tok, path, r);
}

static size_t count_str(const char *s, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static long redis_long(int argc, const char *const *argv)
{
    char reply[256];
    assert_int_equal(harness_redis_cmd(stack.redis.port, reply, sizeof(reply), argc, argv), 0);
    assert_int_equal(reply[0], ':');
    return strtol(reply + 1, NULL, 10);
}

/* ---- tests ---- */

static void test_store_fixes(void **state)
{
    (void)state;
    int fd = harness_tcp_connect(stack.d.handset_port);
    assert_true(fd >= 0);
    assert_int_equal(wire_send_hello(fd, 1, 1, "H1", secret), 0);
    Lpg__V1__Envelope *env = wire_recv(fd, HARNESS_REPLY_TIMEOUT_MS);
    assert_non_null(env);
    assert_int_equal(env->body_case, LPG__V1__ENVELOPE__BODY_ACK);
    lpg__v1__envelope__free_unpacked(env, NULL);
    uint64_t req = 2;
    for (uint64_t first = 1; first <= N_REGULAR; first += 490) {
        uint64_t last = first + 489 > N_REGULAR ? N_REGULAR : first + 489;
        assert_int_equal(send_batch(fd, req++, first, last, 0), last);
    }
    assert_int_equal(send_batch(fd, req++, N_REGULAR + 1, N_TOTAL, 1), N_TOTAL);
    close(fd);
    const char *z1[] = {"ZCARD", "lpg:route:V1:20261120"};
    const char *z2[] = {"ZCARD", "lpg:route:V1:20261121"};
    assert_int_equal(redis_long(2, z1), 3600 + N_LATE);
    assert_int_equal(redis_long(2, z2), N_REGULAR - 3600);
    /* The same-millisecond run is stored as it was sent (the paging test depends on it). */
    char same[24];
    snprintf(same, sizeof(same), "%lld", (long long)fix_time(SAME_FIRST));
    const char *zc[] = {"ZCOUNT", "lpg:route:V1:20261120", same, same};
    assert_int_equal(redis_long(4, zc), SAME_N);
}

/* The fixes of a JSON export in order: (time, seq within the same-ms run), no duplicates. */
static void check_json_fixes(const struct resp *r, size_t want, uint64_t first_seq,
                             uint64_t last_seq)
{
    json_error_t jerr;
    json_t *doc = json_loadb(r->h.body, r->h.len, 0, &jerr);
    if (doc == NULL)
        fail_msg("export is not JSON: %s (line %d)", jerr.text, jerr.line);
    json_t *fixes = json_object_get(doc, "fixes");
    assert_true(json_is_array(fixes));
    assert_int_equal(json_array_size(fixes), want);
    assert_int_equal(json_integer_value(json_object_get(doc, "count")), want);
    assert_string_equal(json_string_value(json_object_get(doc, "vehicle")), "V1");
    char *seen = calloc(N_TOTAL + 1, 1);
    assert_non_null(seen);
    const char *prev_time = "";
    uint64_t prev_seq = 0;
    for (size_t i = 0; i < json_array_size(fixes); i++) {
        json_t *f = json_array_get(fixes, i);
        uint64_t seq = (uint64_t)json_integer_value(json_object_get(f, "seq"));
        const char *t = json_string_value(json_object_get(f, "time"));
        assert_true(seq >= 1 && seq <= N_TOTAL);
        assert_false(seen[seq]);
        seen[seq] = 1;
        assert_non_null(t);
        int c = strcmp(prev_time, t);
        assert_true(c <= 0);
        if (c == 0)
            assert_true(seq > prev_seq); /* the same-ms run, by member: seq 4 digits */
        assert_int_equal(json_is_true(json_object_get(f, "late")), seq > N_REGULAR);
        prev_time = t;
        prev_seq = seq;
    }
    if (want > 0) {
        assert_int_equal(json_integer_value(json_object_get(json_array_get(fixes, 0), "seq")),
                         first_seq);
        assert_int_equal(
            json_integer_value(json_object_get(json_array_get(fixes, want - 1), "seq")), last_seq);
    }
    free(seen);
    json_decref(doc);
}

static void test_json_both_days(void **state)
{
    (void)state;
    struct resp r;
    route(tok_aud, "V1", FROM_ALL, TO_ALL, NULL, &r);
    assert_int_equal(r.h.status, 200);
    assert_true(r.h.complete);
    assert_non_null(strstr(r.h.headers, "Content-Type: application/json"));
    check_json_fixes(&r, N_TOTAL, 1, N_REGULAR);
    /* Exact values from the stored integers: seq 4 has speed 1001 cm/s, heading 28 cdeg. */
    assert_non_null(strstr(r.h.body, "{\"seq\":1,\"time\":\"2026-11-20T23:00:00.000Z\",\"lat\":"
                                     "49.2100000,\"lon\":119.7499999,\"speed_kmh\":36.036,"
                                     "\"heading_deg\":null,\"accuracy_m\":null,\"mode\":\"3d\","
                                     "\"late\":false,\"speed_derived\":false}"));
    assert_non_null(strstr(r.h.body, "{\"seq\":3,\"time\":\"2026-11-20T23:00:02.000Z\",\"lat\":"
                                     "49.2100180,\"lon\":119.7499997,\"speed_kmh\":36.000,"
                                     "\"heading_deg\":null,\"accuracy_m\":3.50,"));
    assert_non_null(strstr(r.h.body, "\"seq\":4,\"time\":\"2026-11-20T23:00:03.000Z\",\"lat\":"
                                     "49.2100270,\"lon\":119.7499996,\"speed_kmh\":36.036,"
                                     "\"heading_deg\":0.28,"));
    print_message("json export of %d fixes: %zu bytes in %.3f s = %.0f fixes/s\n", N_TOTAL, r.h.len,
                  r.seconds, N_TOTAL / r.seconds);
    resp_free(&r);
}

static void test_other_formats_both_days(void **state)
{
    (void)state;
    struct resp r;
    /* GeoJSON: a Feature, LineString of every position, times in the properties. */
    route(tok_aud, "V1", FROM_ALL, TO_ALL, "geojson", &r);
    assert_int_equal(r.h.status, 200);
    assert_non_null(strstr(r.h.headers, "Content-Type: application/geo+json"));
    print_message("geojson export: %zu bytes in %.3f s = %.0f fixes/s\n", r.h.len, r.seconds,
                  N_TOTAL / r.seconds);
    json_t *doc = json_loadb(r.h.body, r.h.len, 0, NULL);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "type")), "Feature");
    json_t *geom = json_object_get(doc, "geometry");
    assert_string_equal(json_string_value(json_object_get(geom, "type")), "LineString");
    json_t *coords = json_object_get(geom, "coordinates");
    json_t *times = json_object_get(json_object_get(doc, "properties"), "times");
    assert_int_equal(json_array_size(coords), N_TOTAL);
    assert_int_equal(json_array_size(times), N_TOTAL);
    assert_string_equal(json_string_value(json_array_get(times, 0)), "2026-11-20T23:00:00.000Z");
    assert_string_equal(json_string_value(json_array_get(times, N_TOTAL - 1)),
                        "2026-11-21T00:21:39.000Z");
    json_decref(doc);
    resp_free(&r);

    /* GPX 1.1 */
    route(tok_aud, "V1", FROM_ALL, TO_ALL, "gpx", &r);
    assert_int_equal(r.h.status, 200);
    assert_non_null(strstr(r.h.headers, "Content-Type: application/gpx+xml"));
    assert_non_null(strstr(r.h.headers, "Content-Disposition: attachment; filename=\"route-V1-"
                                        "20261120T220000Z-20261121T020000Z.gpx\""));
    print_message("gpx export: %zu bytes in %.3f s = %.0f fixes/s\n", r.h.len, r.seconds,
                  N_TOTAL / r.seconds);
    assert_int_equal(strncmp(r.h.body, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<gpx ", 44), 0);
    assert_non_null(strstr(r.h.body, "xmlns=\"http://www.topografix.com/GPX/1/1\""));
    assert_int_equal(count_str(r.h.body, "<trkpt "), N_TOTAL);
    assert_non_null(strstr(r.h.body, "<trkpt lat=\"49.2100000\" lon=\"119.7499999\"><time>2026-11-"
                                     "20T23:00:00.000Z</time><extensions><gpxtpx:TrackPointExtensi"
                                     "on><gpxtpx:speed>10.01</gpxtpx:speed>"));
    assert_string_equal(r.h.body + r.h.len - 23, "</trkseg></trk>\n</gpx>\n");
    resp_free(&r);

    /* CSV: header, one record per fix, the end line. */
    route(tok_aud, "V1", FROM_ALL, TO_ALL, "csv", &r);
    assert_int_equal(r.h.status, 200);
    assert_non_null(strstr(r.h.headers, "Content-Type: text/csv"));
    assert_non_null(strstr(r.h.headers, ".csv\""));
    print_message("csv export: %zu bytes in %.3f s = %.0f fixes/s\n", r.h.len, r.seconds,
                  N_TOTAL / r.seconds);
    assert_int_equal(count_str(r.h.body, "\r\n"), N_TOTAL + 2);
    const char *head = "seq,time,lat,lon,speed_kmh,heading_deg,accuracy_m,mode,late,"
                       "speed_derived,status,alarm,altitude_m,mileage_km,fuel_l,"
                       "recorder_speed_kmh,signal,satellites\r\n1,2026-11-20T23:00:00.000Z,"
                       "49.2100000,119.7499999,36.036,,,3d,false,false,,,,,,,,\r\n";
    assert_int_equal(strncmp(r.h.body, head, strlen(head)), 0);
    assert_string_equal(r.h.body + r.h.len - 19, "# end: 5000 fixes\r\n");
    resp_free(&r);
}

static void test_ranges_inside_a_day(void **state)
{
    (void)state;
    struct resp r;
    /* [23:01:40, 23:03:20): seq 101..200 */
    route(tok_aud, "V1", "2026-11-20T23:01:40Z", "2026-11-21T07:03:20%2B08:00", NULL, &r);
    assert_int_equal(r.h.status, 200);
    check_json_fixes(&r, 100, 101, 200);
    resp_free(&r);
    /* One millisecond: exactly the same-ms run, in member order. */
    route(tok_aud, "V1", "2026-11-20T23:33:10.000Z", "2026-11-20T23:33:10.001Z", NULL, &r);
    check_json_fixes(&r, SAME_N, SAME_FIRST, SAME_FIRST + SAME_N - 1);
    resp_free(&r);
    /* The first day only: 3,700 fixes, two chunks, the run across their boundary. */
    route(tok_aud, "V1", "2026-11-20T00:00:00Z", "2026-11-21T00:00:00Z", NULL, &r);
    check_json_fixes(&r, 3600 + N_LATE, 1, 3600);
    resp_free(&r);
    /* The second day only. */
    route(tok_aud, "V1", "2026-11-21T00:00:00Z", "2026-11-22T00:00:00Z", "geojson", &r);
    json_t *doc = json_loadb(r.h.body, r.h.len, 0, NULL);
    assert_non_null(doc);
    assert_int_equal(
        json_array_size(json_object_get(json_object_get(doc, "geometry"), "coordinates")),
        N_REGULAR - 3600);
    json_decref(doc);
    resp_free(&r);
    /* One fix: a GeoJSON Point. */
    route(tok_aud, "V1", "2026-11-20T23:00:00Z", "2026-11-20T23:00:00.001Z", "geojson", &r);
    doc = json_loadb(r.h.body, r.h.len, 0, NULL);
    assert_non_null(doc);
    json_t *g = json_object_get(doc, "geometry");
    assert_string_equal(json_string_value(json_object_get(g, "type")), "Point");
    assert_int_equal(json_array_size(json_object_get(g, "coordinates")), 2);
    json_decref(doc);
    resp_free(&r);
}

static void test_empty_range(void **state)
{
    (void)state;
    struct resp r;
    const char *from = "2026-11-10T00:00:00Z", *to = "2026-11-12T00:00:00Z";
    route(tok_aud, "V1", from, to, NULL, &r);
    assert_int_equal(r.h.status, 200);
    check_json_fixes(&r, 0, 0, 0);
    resp_free(&r);
    route(tok_aud, "V1", from, to, "geojson", &r);
    json_t *doc = json_loadb(r.h.body, r.h.len, 0, NULL);
    assert_non_null(doc);
    assert_true(json_is_null(json_object_get(doc, "geometry")));
    assert_int_equal(json_array_size(json_object_get(json_object_get(doc, "properties"), "times")),
                     0);
    json_decref(doc);
    resp_free(&r);
    route(tok_aud, "V1", from, to, "gpx", &r);
    assert_int_equal(count_str(r.h.body, "<trkpt"), 0);
    assert_non_null(strstr(r.h.body, "<trkseg>\n</trkseg></trk>\n</gpx>\n"));
    resp_free(&r);
    route(tok_aud, "V1", from, to, "csv", &r);
    assert_string_equal(r.h.body, "seq,time,lat,lon,speed_kmh,heading_deg,accuracy_m,mode,late,"
                                  "speed_derived,status,alarm,altitude_m,mileage_km,fuel_l,"
                                  "recorder_speed_kmh,signal,satellites\r\n# end: 0 fixes\r\n");
    resp_free(&r);
}

static void test_slow_and_vanishing_readers(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof(path), "/v1/vehicles/V1/route?from=%s&to=%s&format=gpx", FROM_ALL,
             TO_ALL);
    /* Reads nothing for a second (the export waits on back-pressure), then everything. */
    struct resp r;
    read_response(send_request(tok_aud, path), &r, 1000);
    assert_int_equal(r.h.status, 200);
    assert_true(r.h.complete);
    assert_int_equal(count_str(r.h.body, "<trkpt "), N_TOTAL);
    resp_free(&r);
    /* Leaves after the first bytes, several times; dispatchd carries on. */
    for (int i = 0; i < 3; i++) {
        int fd = send_request(tok_aud, path);
        char buf[512];
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        assert_int_equal(poll(&pfd, 1, 5000), 1);
        assert_true(recv(fd, buf, sizeof(buf), 0) > 0);
        close(fd);
    }
    harness_sleep_ms(200);
    route(tok_aud, "V1", FROM_ALL, TO_ALL, "csv", &r);
    assert_int_equal(r.h.status, 200);
    assert_int_equal(count_str(r.h.body, "\r\n"), N_TOTAL + 2);
    resp_free(&r);
}

static void expect_error(const char *tok, const char *vehicle, const char *from, const char *to,
                         const char *format, int status, const char *code)
{
    struct resp r;
    route(tok, vehicle, from, to, format, &r);
    if (r.h.status != status || strstr(r.h.body, code) == NULL)
        fail_msg("%s %s..%s %s: %d %s (wanted %d %s)", vehicle, from, to, format ? format : "",
                 r.h.status, r.h.body, status, code);
    assert_non_null(strstr(r.h.headers, "application/json"));
    resp_free(&r);
}

static void test_errors_and_access(void **state)
{
    (void)state;
    const char *f = FROM_ALL, *t = TO_ALL;
    expect_error(NULL, "V1", f, t, NULL, 401, "unauthenticated");
    expect_error(tok_disp1, "V1", f, t, NULL, 404, "not_found"); /* another enterprise's */
    expect_error(tok_aud, "V9", f, t, NULL, 404, "not_found");
    expect_error(tok_aud, "V1", "yesterday", t, NULL, 400, "\"from\"");
    expect_error(tok_aud, "V1", f, f, NULL, 400, "\"to\"");
    expect_error(tok_aud, "V1", "2026-10-01T00:00:00Z", "2026-11-01T00:00:00.001Z", NULL, 400,
                 "range_too_long");
    expect_error(tok_aud, "V1", f, t, "kml", 400, "\"format\"");
    struct resp r;
    char path[256];
    snprintf(path, sizeof(path), "/v1/vehicles/V1/route?to=%s", t);
    get(tok_aud, path, &r);
    assert_int_equal(r.h.status, 400);
    resp_free(&r);
    /* 31 days exactly is allowed; the owning dispatcher and the admin read it too. */
    route(tok_disp0, "V1", "2026-10-21T23:00:00Z", "2026-11-21T23:00:00Z", "csv", &r);
    assert_int_equal(r.h.status, 200);
    assert_int_equal(count_str(r.h.body, "\r\n"), N_TOTAL + 2);
    resp_free(&r);
    route(tok_admin, "V1", f, t, "csv", &r);
    assert_int_equal(r.h.status, 200);
    resp_free(&r);
}

static void test_position_and_nearest(void **state)
{
    (void)state;
    struct resp r;
    get(tok_disp0, "/v1/vehicles/V1/position", &r);
    assert_int_equal(r.h.status, 200);
    json_t *doc = json_loadb(r.h.body, r.h.len, 0, NULL);
    assert_non_null(doc);
    json_t *fix = json_object_get(doc, "fix");
    /* The newest fix; the late ones did not replace it. */
    assert_int_equal(json_integer_value(json_object_get(fix, "seq")), N_REGULAR);
    assert_string_equal(json_string_value(json_object_get(fix, "time")),
                        "2026-11-21T00:21:39.000Z");
    json_decref(doc);
    resp_free(&r);
    get(tok_disp1, "/v1/vehicles/V1/position", &r);
    assert_int_equal(r.h.status, 404);
    resp_free(&r);

    get(tok_aud, "/v1/vehicles/nearest?lon=119.75&lat=49.26&radius_m=10000", &r);
    assert_int_equal(r.h.status, 200);
    assert_non_null(strstr(r.h.body, "\"vehicle_id\":\"V1\""));
    resp_free(&r);
    get(tok_disp1, "/v1/vehicles/nearest?lon=119.75&lat=49.26&radius_m=10000", &r);
    assert_int_equal(r.h.status, 200);
    assert_non_null(strstr(r.h.body, "\"items\":[]"));
    resp_free(&r);
    get(tok_aud, "/v1/vehicles/nearest?lon=119.75&lat=49.26&radius_m=10", &r);
    assert_non_null(strstr(r.h.body, "\"items\":[]"));
    resp_free(&r);
    get(tok_aud, "/v1/vehicles/nearest?lon=200&lat=49.26", &r);
    assert_int_equal(r.h.status, 400);
    resp_free(&r);
}

/* The independent check: Python's xml.etree, json and csv against Redis itself. */
static void python_check(const char *from, const char *to, int min_fixes)
{
    char dir[512], cmd[2048];
    snprintf(dir, sizeof(dir), "%s", __FILE__);
    char *slash = strrchr(dir, '/');
    assert_non_null(slash);
    *slash = '\0';
    /* --token=: a token may begin with "-", which argparse would take for an option. */
    snprintf(cmd, sizeof(cmd),
             "/usr/bin/python3 '%s/../python/check_exports.py' --http-port %d --redis-port %d "
             "--token=%s --vehicle V1 --from %s --to %s --min-fixes %d",
             dir, stack.d.http_port, stack.redis.port, tok_aud, from, to, min_fixes);
    int st = system(cmd);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

/* GeoJSON is written in passes (times, then positions). A vehicle that keeps storing fixes
 * while its route of "the last hour" is exported must not cut the export: the positions pass
 * covers exactly the fixes of the times pass. Made deterministic by back-pressure: the client
 * reads until the times pass is complete, then stops reading while the positions pass (far
 * larger than the 1 MiB backlog and the sockets' buffers) waits on it, stores fixes at the
 * range's end, and reads on. Before the fix, the positions pass read the new fixes and the
 * export was cut ("fixes were stored into the range during the export"). */
#define BIG_N  100000
#define BIG_T0 1795600800000LL /* 2026-11-25T08:00:00Z */

/* Stores fixes seq first..first+n-1 of V2 at 10 Hz from BIG_T0 straight into the day's set, in
 * the stored member format (core/route_member.h), with one script: faster than 100,000 batches
 * and the ingest rate limit, and the export reads them exactly as ingested ones. */
static void store_big_fixes(uint64_t first, uint64_t n)
{
    static const char script[] =
        "for seq = tonumber(ARGV[1]), tonumber(ARGV[2]) do "
        "local t = tonumber(ARGV[3]) + seq * 100 "
        "redis.call('ZADD', KEYS[1], t, string.format('%d:%d:492100000:%d:1000:-:-:3:0', seq, t, "
        "1197500000 + seq % 1000)) end return 1";
    char a1[24], a2[24], a3[24];
    snprintf(a1, sizeof(a1), "%llu", (unsigned long long)first);
    snprintf(a2, sizeof(a2), "%llu", (unsigned long long)(first + n - 1));
    snprintf(a3, sizeof(a3), "%lld", BIG_T0);
    const char *argv[] = {"EVAL", script, "1", "lpg:route:V2:20261125", a1, a2, a3};
    char reply[64];
    assert_int_equal(harness_redis_cmd(stack.redis.port, reply, sizeof(reply), 7, argv), 0);
    assert_string_equal(reply, ":1");
}

static void test_geojson_while_fixes_arrive(void **state)
{
    (void)state;
    char resp[4096];
    assert_int_equal(post(tok_admin, "/v1/vehicles",
                          "{\"id\":\"V2\",\"enterprise_id\":\"E0\",\"plate\":\"P2\",\"kind\":"
                          "\"van\",\"capacity\":10}",
                          resp, sizeof(resp)),
                     201);
    store_big_fixes(0, BIG_N);
    const char *path = "/v1/vehicles/V2/route?from=2026-11-25T00:00:00Z&to=2026-11-26T00:00:00Z"
                       "&format=geojson";
    /* A small receive buffer, so that the server's backlog (not the socket) holds the rest. */
    int fd = harness_tcp_connect_rcvbuf(stack.d.http_port, 4096);
    assert_true(fd >= 0);
    assert_int_equal(harness_get11_request(fd, tok_aud, path), 0);
    size_t cap = 16 << 20, used = 0;
    char *raw = malloc(cap);
    assert_non_null(raw);
    int geometry_seen = 0;
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        assert_int_equal(poll(&pfd, 1, 60000), 1);
        assert_true(used + 65536 < cap);
        ssize_t got = recv(fd, raw + used, 65536, 0);
        if (got <= 0)
            break;
        used += (size_t)got;
        if (!geometry_seen) {
            raw[used] = '\0';
            /* The times pass is complete once the geometry begins (the marker may straddle
             * two reads: look back a little). */
            size_t from = used > (size_t)got + 64 ? used - (size_t)got - 64 : 0;
            if (strstr(raw + from, "\"geometry\":") != NULL) {
                geometry_seen = 1;
                /* The times pass is over; the positions pass (2.6 MB) cannot end while nothing
                 * is read, however far it got: fixes arrive meanwhile, no wait needed. */
                store_big_fixes(BIG_N, 50);
            }
        }
    }
    close(fd);
    assert_true(geometry_seen);
    struct harness_reply r;
    assert_int_equal(harness_reply_parse(&r, raw, used), 0);
    assert_int_equal(r.status, 200);
    assert_true(r.complete);
    json_t *doc = json_loadb(r.body, r.len, 0, NULL);
    assert_non_null(doc); /* a cut export does not parse */
    json_t *props = json_object_get(doc, "properties");
    json_t *coords = json_object_get(json_object_get(doc, "geometry"), "coordinates");
    assert_int_equal(json_integer_value(json_object_get(props, "count")), BIG_N);
    assert_int_equal(json_array_size(json_object_get(props, "times")), BIG_N);
    assert_int_equal(json_array_size(coords), BIG_N);
    /* The fixes written are the first BIG_N, in order: the last one's longitude is seq 99999's. */
    json_t *lastc = json_array_get(coords, BIG_N - 1);
    assert_true(json_real_value(json_array_get(lastc, 0)) > 119.7500998 &&
                json_real_value(json_array_get(lastc, 0)) < 119.7501000);
    json_decref(doc);
    harness_reply_free(&r);
    /* The fixes stored meanwhile are there for the next export. */
    struct resp again;
    get(tok_aud, "/v1/vehicles/V2/route?from=2026-11-25T00:00:00Z&to=2026-11-26T00:00:00Z", &again);
    assert_int_equal(again.h.status, 200);
    assert_non_null(strstr(again.h.body, "\"count\":100050}"));
    resp_free(&again);
}

static void test_python_checks(void **state)
{
    (void)state;
    python_check(FROM_ALL, TO_ALL, N_TOTAL);
    python_check("2026-11-20T23:33:09Z", "2026-11-20T23:33:12Z", SAME_N + 1);
    python_check("2026-11-10T00:00:00Z", "2026-11-11T00:00:00Z", 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_fixes),
        cmocka_unit_test(test_json_both_days),
        cmocka_unit_test(test_other_formats_both_days),
        cmocka_unit_test(test_ranges_inside_a_day),
        cmocka_unit_test(test_empty_range),
        cmocka_unit_test(test_slow_and_vanishing_readers),
        cmocka_unit_test(test_errors_and_access),
        cmocka_unit_test(test_position_and_nearest),
        cmocka_unit_test(test_geojson_while_fixes_arrive),
        cmocka_unit_test(test_python_checks),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
