/* test_v1_driver_day.c -- GET /v1/reports/driver-day (issue 14 item 3b) through the handset
 * protocol and real Redis: person S1 logs in on handset H1 (bound to V1, so S1 signs on to V1),
 * drives V1 in real time, logs out (signed off); is rebound to V2, logs in on a new handset H2,
 * drives V2, logs out. The report of the day lists V1 then V2 with their sign-on and sign-off
 * times, the driving of each interval is that of GET /v1/vehicles/{id}/trips over the same
 * interval, and the totals are their sums. The CSV form, read with the project's RFC 4180 reader,
 * has each interval followed by its alerts (the JSON form's, field for field; V2's warning
 * message holds a comma, so it is quoted) and the day's total. A dispatcher of another enterprise
 * gets 404, as for a person that does not exist.
 *
 * The reply is streamed: over HTTP/1.1 both forms come chunked, ended by the last chunk, and read
 * byte for byte as the HTTP/1.0 reply. A store that fails once the stream has begun (V2's alert
 * index made a string: WRONGTYPE) cuts it: a 200 whose CSV lacks its total and "# end" line and
 * whose JSON does not parse; one that fails before the first byte (V1's route day made a string,
 * the first interval's walk) is a 503.
 */
#define _GNU_SOURCE /* strptime, timegm */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "common/csv.h"
#include "harness.h"
#include "wire_client.h"

#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* Real time driven per vehicle: the fixes carry the time they are sent. */
#define DRIVE_MS 1500
/* V1 drives at 72 km/h (over its 60 km/h limit: an overspeed), V2 at 57.6 km/h (within 5 km/h of
 * the same limit: a warning, "approaching the speed limit: 57.6 km/h, limit 60 km/h", a message
 * with a comma, which the CSV must quote). */
static const double SPEED_M_S[2] = {20.0, 16.0};

static struct harness_stack stack;
static char admin[64], disp1[64], disp2[64];
static uint64_t req = 100;
static char resp[1 << 18];

static int64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static int call(const char *token, const char *method, const char *path, const char *body)
{
    char headers[256];
    snprintf(headers, sizeof(headers), "Authorization: Bearer %s\r\n", token);
    int status = 0;
    if (harness_http_req(stack.d.http_port, method, path, headers, body, &status, resp,
                         sizeof(resp)) != 0)
        return -1;
    return status;
}

static int ok(const char *method, const char *path, const char *body, int want)
{
    int st = call(admin, method, path, body);
    if (st != want)
        fprintf(stderr, "%s %s -> %d %s\n", method, path, st, resp);
    return st == want ? 0 : -1;
}

static int login_user(const char *name, const char *password, char *tok)
{
    char body[256];
    snprintf(body, sizeof(body), "{\"user\":\"%s\",\"password\":\"%s\"}", name, password);
    int st = 0;
    return harness_http_req(stack.d.http_port, "POST", "/v1/sessions", NULL, body, &st, resp,
                            sizeof(resp)) == 0 &&
                   st == 201 && harness_json_str(resp, "token", tok, 64) == 0
               ? 0
               : -1;
}

/* Waits (polling, bounded) until the vehicle's driver_id is want. */
static void wait_driver(const char *vehicle, const char *want)
{
    char path[64], got[64];
    snprintf(path, sizeof(path), "/v1/vehicles/%s", vehicle);
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(call(admin, "GET", path, NULL), 200);
        if (harness_json_str(resp, "driver_id", got, sizeof(got)) != 0)
            got[0] = '\0';
        if (strcmp(got, want) == 0)
            return;
        harness_sleep_ms(10);
    }
    fail_msg("%s: driver_id %s, want \"%s\"", vehicle, got, want);
}

/* What the test saw of one session (UTC ms, its own clock: dispatchd's, the same machine). */
struct seen {
    int64_t login_from, login_acked; /* before Hello was sent, after its Ack came */
    int64_t opened_ms;               /* the session as dispatchd recorded it (Redis) */
    int64_t first_fix, last_fix;     /* the drive */
    int64_t closing, off_seen;       /* before the connection was closed; signed off seen */
};

/* Drives north at speed (m/s) for DRIVE_MS of real time, one fix per acknowledged batch. */
static void drive(int fd, double lon, double lat, double speed, struct seen *w)
{
    int64_t t0 = now_ms(), last = 0;
    uint64_t seq = 0;
    for (;;) {
        int64_t t = now_ms();
        if (t <= last) { /* one fix per millisecond at most: fix times stay real times */
            harness_sleep_ms(1);
            continue;
        }
        if (seq == 0)
            w->first_fix = t;
        w->last_fix = last = t;
        double north_m = speed * (double)(t - t0) / 1000.0;
        Lpg__V1__Fix f;
        wire_fix_3d(&f, ++seq, (uint64_t)t, (int32_t)lround((lat + north_m / 111320.0) * 1e7),
                    (int32_t)lround(lon * 1e7), (uint32_t)lround(speed * 100));
        assert_true(wire_send_positions(fd, ++req, &f, 1, 10000) == (long long)seq);
        if (t - t0 >= DRIVE_MS)
            break;
    }
}

/* One session of S1 on device dev (already registered), driving vehicle. */
static void session(const char *dev, const char *secret, const char *vehicle, double lon,
                    double speed, struct seen *w)
{
    w->login_from = now_ms();
    int fd = wire_login(stack.d.handset_port, dev, secret);
    assert_true(fd >= 0);
    w->login_acked = now_ms();
    char key[96], got[64];
    snprintf(key, sizeof(key), "lpg:device:%s:session", dev);
    const char *hget[] = {"HGET", key, "opened_ms"};
    assert_int_equal(harness_redis_cmd(stack.redis.port, got, sizeof(got), 3, hget), 0);
    w->opened_ms = strtoll(got, NULL, 10);
    wait_driver(vehicle, "S1"); /* the login signed S1 on */
    drive(fd, lon, 30.0, speed, w);
    /* The interval is [on, off): a sign-off in the last fix's millisecond (a fast machine
     * closes within it) would leave that fix out of it. The close waits for the next one. */
    while (now_ms() <= w->last_fix)
        harness_sleep_ms(1);
    w->closing = now_ms();
    close(fd);
    wait_driver(vehicle, ""); /* the session's end signed S1 off */
    w->off_seen = now_ms();
}

static int setup(void **state)
{
    (void)state;
    /* V1's limit is 60 km/h and it drives at 72 for 1.5 s: an overspeed of S1 in V1 */
    const char *extra[] = {"--overspeed-duration=1", NULL};
    if (harness_stack_start(&stack, "driverday", extra) != 0 ||
        harness_stack_admin_token(&stack, admin) != 0)
        return -1;
    char body[1024];
    for (int i = 1; i <= 2; i++) {
        snprintf(body, sizeof(body),
                 "{\"id\":\"E%d\",\"name\":\"Gas %d\",\"area\":{\"type\":\"Polygon\","
                 "\"coordinates\":[[[115,29],[118,29],[118,31],[115,31],[115,29]]]}}",
                 i, i);
        if (ok("POST", "/v1/enterprises", body, 201) != 0)
            return -1;
        snprintf(body, sizeof(body),
                 "{\"name\":\"disp%d\",\"role\":\"dispatcher\",\"enterprise_id\":\"E%d\","
                 "\"password\":\"dispatcher-pw-%d\"}",
                 i, i, i);
        if (ok("POST", "/v1/users", body, 201) != 0)
            return -1;
        snprintf(body, sizeof(body),
                 "{\"id\":\"V%d\",\"enterprise_id\":\"E1\",\"plate\":\"P-%d\",\"kind\":\"van\","
                 "\"permit_no\":\"PN%d\",\"permit_expiry\":\"2099-01-01\",\"capacity\":30,"
                 "\"speed_limit_kmh\":%d}",
                 i, i, i, i == 1 ? 60 : 0);
        if (ok("POST", "/v1/vehicles", body, 201) != 0)
            return -1;
    }
    if (ok("POST", "/v1/staff",
           "{\"id\":\"S1\",\"enterprise_id\":\"E1\",\"name\":\"P\",\"role\":\"delivery\","
           "\"qualification_no\":\"Q1\",\"qualification_expiry\":\"2099-01-01\","
           "\"training_no\":\"T1\",\"training_expiry\":\"2099-01-01\","
           "\"vehicle_id\":\"V1\",\"on_duty\":true}",
           201) != 0)
        return -1;
    if (login_user("disp1", "dispatcher-pw-1", disp1) != 0 ||
        login_user("disp2", "dispatcher-pw-2", disp2) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return harness_stack_stop(&stack) == 0 ? 0 : -1;
}

/* ---- an HTTP/1.1 GET, read to the end, chunked transfer decoded ---- */

/* A GET over HTTP/1.1 read to its end (the chunked streams of the report). */
static void get11(const char *token, const char *path, struct harness_reply *r)
{
    int fd = harness_get11_send(stack.d.http_port, token, path);
    assert_true(fd >= 0);
    assert_int_equal(harness_get11_read(fd, r, 60000), 0);
}

/* Runs a Redis command of the test's own (its reply's first line in out). */
static void redis(char *out, size_t cap, int argc, const char *const argv[])
{
    assert_int_equal(harness_redis_cmd(stack.redis.port, out, cap, argc, argv), 0);
}

/* Replaces key with a string (every read of it: WRONGTYPE), keeping it aside as key.saved. */
static void break_key(const char *key)
{
    char saved[160], out[256];
    snprintf(saved, sizeof(saved), "%s.saved", key);
    const char *rename[] = {"RENAME", key, saved};
    redis(out, sizeof(out), 3, rename);
    assert_string_equal(out, "+OK");
    const char *set[] = {"SET", key, "not a sorted set"};
    redis(out, sizeof(out), 3, set);
    assert_string_equal(out, "+OK");
}

static void restore_key(const char *key)
{
    char saved[160], out[256];
    snprintf(saved, sizeof(saved), "%s.saved", key);
    const char *rename[] = {"RENAME", saved, key};
    redis(out, sizeof(out), 3, rename);
    assert_string_equal(out, "+OK");
}

static double num(json_t *o, const char *k)
{
    return json_number_value(json_object_get(o, k));
}

/* The CSV form's records, parsed: [record][field] (a line "# end: ..." is a record too). */
#define CSV_ROWS 64
struct csv_rows {
    char f[CSV_ROWS][14][256];
    size_t nf[CSV_ROWS];
    size_t n;
};

static int on_csv(void *arg, const struct csv_record *rec)
{
    struct csv_rows *r = arg;
    assert_true(r->n < CSV_ROWS);
    assert_true(rec->nfields <= 14);
    for (size_t i = 0; i < rec->nfields; i++) {
        assert_true(rec->lens[i] < sizeof(r->f[0][0]));
        memcpy(r->f[r->n][i], rec->fields[i], rec->lens[i] + 1);
    }
    r->nf[r->n++] = rec->nfields;
    return 0;
}

/* The CSV in resp against the JSON report j: interval rows as the intervals, each followed by
 * the alerts of its vehicle in the JSON's order (every field of them), the total row, the end
 * line. */
static void check_csv(json_t *j, const char *date)
{
    static struct csv_rows r;
    memset(&r, 0, sizeof(r));
    printf("%s", resp);
    size_t quoted = 0;
    char err[CSV_ERRSTR_SIZE];
    if (csv_parse(resp, strlen(resp), NULL, on_csv, &r, err, sizeof(err)) != 0)
        fail_msg("CSV does not parse: %s", err);
    static const char *const head[] = {"record",   "staff_id", "date",  "vehicle_id", "on",
                                       "off",      "fixes",    "trips", "distance_m", "driving_s",
                                       "alert_id", "rule",     "kind",  "message"};
    assert_true(r.n >= 1);
    assert_int_equal(r.nf[0], 14);
    for (size_t i = 0; i < 14; i++)
        assert_string_equal(r.f[0][i], head[i]);
    json_t *iv = json_object_get(j, "intervals"), *al = json_object_get(j, "alerts");
    size_t row = 1, next_alert = 0, fixes = 0;
    for (size_t i = 0; i < json_array_size(iv); i++) {
        json_t *x = json_array_get(iv, i);
        const char *veh = json_string_value(json_object_get(x, "vehicle_id"));
        assert_true(row < r.n);
        assert_int_equal(r.nf[row], 14);
        assert_string_equal(r.f[row][0], "interval");
        assert_string_equal(r.f[row][1], "S1");
        assert_string_equal(r.f[row][2], date);
        assert_string_equal(r.f[row][3], veh);
        assert_string_equal(r.f[row][4], json_string_value(json_object_get(x, "on")));
        assert_string_equal(r.f[row][5], json_string_value(json_object_get(x, "off")));
        assert_int_equal(strtoull(r.f[row][6], NULL, 10),
                         json_integer_value(json_object_get(x, "fixes")));
        fixes += (size_t)json_integer_value(json_object_get(x, "fixes"));
        assert_true(fabs(strtod(r.f[row][8], NULL) - num(x, "distance_m")) < 0.051);
        assert_true(fabs(strtod(r.f[row][9], NULL) - num(x, "driving_s")) < 0.0006);
        for (size_t k = 10; k < 14; k++)
            assert_string_equal(r.f[row][k], "");
        row++;
        /* its alerts: those of the JSON form in this interval's vehicle, in order */
        while (
            next_alert < json_array_size(al) &&
            strcmp(json_string_value(json_object_get(json_array_get(al, next_alert), "vehicle_id")),
                   veh) == 0) {
            json_t *a = json_array_get(al, next_alert++);
            assert_true(row < r.n);
            assert_int_equal(r.nf[row], 14);
            assert_string_equal(r.f[row][0], "alert");
            assert_string_equal(r.f[row][1], "S1");
            assert_string_equal(r.f[row][2], date);
            assert_string_equal(r.f[row][3], veh);
            assert_string_equal(r.f[row][4], json_string_value(json_object_get(a, "start")));
            assert_string_equal(r.f[row][5], json_string_value(json_object_get(a, "end")));
            for (size_t k = 6; k < 10; k++)
                assert_string_equal(r.f[row][k], "");
            assert_string_equal(r.f[row][10], json_string_value(json_object_get(a, "id")));
            assert_string_equal(r.f[row][11], json_string_value(json_object_get(a, "rule")));
            assert_string_equal(r.f[row][12], json_string_value(json_object_get(a, "kind")));
            const char *msg = json_string_value(json_object_get(a, "message"));
            assert_string_equal(r.f[row][13], msg);
            if (strchr(msg, ',')) { /* then quoted on the wire, as RFC 4180 wants */
                char q[300];
                snprintf(q, sizeof(q), ",\"%s\"\r\n", msg);
                assert_non_null(strstr(resp, q));
                quoted++;
            }
            row++;
        }
    }
    assert_int_equal(next_alert, json_array_size(al)); /* every alert, once */
    assert_true(next_alert >= 1);
    assert_true(quoted >= 1); /* V2's warning (SPEED_M_S) */
    json_t *tot = json_object_get(j, "totals");
    assert_true(row < r.n);
    assert_int_equal(r.nf[row], 14);
    assert_string_equal(r.f[row][0], "total");
    assert_string_equal(r.f[row][3], "");
    assert_string_equal(r.f[row][4], json_string_value(json_object_get(j, "from")));
    assert_string_equal(r.f[row][5], json_string_value(json_object_get(j, "to")));
    assert_int_equal(strtoull(r.f[row][6], NULL, 10), fixes);
    assert_int_equal(strtoull(r.f[row][7], NULL, 10),
                     json_integer_value(json_object_get(tot, "trips")));
    assert_true(fabs(strtod(r.f[row][8], NULL) - num(tot, "distance_m")) < 0.051);
    assert_true(fabs(strtod(r.f[row][9], NULL) - num(tot, "driving_s")) < 0.0006);
    row++;
    assert_int_equal(row + 1, r.n); /* then the end line, last */
    char end[64];
    snprintf(end, sizeof(end), "# end: 2 intervals");
    assert_int_equal(strncmp(r.f[row][0], end, strlen(end)), 0);
    printf("CSV: %zu rows (2 intervals, %zu alerts, the total)\n", r.n - 2, next_alert);
}

static void test_driver_day(void **state)
{
    (void)state;
    char secret[64];
    assert_int_equal(ok("POST", "/v1/devices", "{\"device_id\":\"H1\",\"staff_id\":\"S1\"}", 201),
                     0);
    assert_int_equal(harness_json_str(resp, "secret", secret, sizeof(secret)), 0);
    /* Both sessions must fall in one local day (UTC+8): within a minute of its midnight
     * (16:00 UTC), wait for the new day to begin first. */
    while ((now_ms() / 1000 + 8 * 3600) % 86400 > 86400 - 60)
        harness_sleep_ms(200);
    struct seen seen[2];
    session("H1", secret, "V1", 116.30, SPEED_M_S[0], &seen[0]);
    /* rebound to V2, with a new handset */
    assert_int_equal(ok("PATCH", "/v1/staff/S1", "{\"vehicle_id\":\"V2\"}", 200), 0);
    assert_int_equal(ok("POST", "/v1/devices", "{\"device_id\":\"H2\",\"staff_id\":\"S1\"}", 201),
                     0);
    assert_int_equal(harness_json_str(resp, "secret", secret, sizeof(secret)), 0);
    session("H2", secret, "V2", 116.40, SPEED_M_S[1], &seen[1]);

    /* the local day (UTC+8, the default offset) of now */
    time_t t = (time_t)(now_ms() / 1000 + 8 * 3600);
    char date[16], path[256];
    strftime(date, sizeof(date), "%Y-%m-%d", gmtime(&t));
    snprintf(path, sizeof(path), "/v1/reports/driver-day?staff_id=S1&date=%s", date);
    assert_int_equal(call(disp1, "GET", path, NULL), 200);
    json_t *j = json_loads(resp, 0, NULL);
    assert_non_null(j);
    json_t *iv = json_object_get(j, "intervals"), *tot = json_object_get(j, "totals");
    assert_int_equal(json_array_size(iv), 2);
    double driving = 0, distance = 0;
    int64_t prev_off = 0;
    for (size_t i = 0; i < 2; i++) {
        json_t *x = json_array_get(iv, i);
        assert_string_equal(json_string_value(json_object_get(x, "vehicle_id")), i ? "V2" : "V1");
        int64_t on = 0, off = 0;
        const char *on_s = json_string_value(json_object_get(x, "on"));
        const char *off_s = json_string_value(json_object_get(x, "off"));
        struct tm tm;
        memset(&tm, 0, sizeof(tm));
        int ms1 = 0, ms2 = 0;
        assert_non_null(strptime(on_s, "%Y-%m-%dT%H:%M:%S", &tm));
        on = (int64_t)timegm(&tm) * 1000;
        sscanf(on_s + 20, "%3d", &ms1);
        on += ms1;
        assert_non_null(strptime(off_s, "%Y-%m-%dT%H:%M:%S", &tm));
        off = (int64_t)timegm(&tm) * 1000;
        sscanf(off_s + 20, "%3d", &ms2);
        off += ms2;
        assert_true(on < off && on >= prev_off);
        prev_off = off;
        double d_s = num(x, "driving_s"), d_m = num(x, "distance_m");
        const struct seen *w = &seen[i];
        /* The interval starts at the login's instant: the session's recorded opening, exactly
         * (the sign-on is timed by the transport, not when the writer gets to it, which lagged
         * the login by ~0.2 s on a loaded machine), between the Hello and its Ack; it ends
         * once the connection was closed, before the sign-off was seen. */
        if (on != w->opened_ms || on < w->login_from || on > w->login_acked || off < w->closing ||
            off > w->off_seen)
            fprintf(stderr,
                    "interval %zu: on %s, off %s; session opened %lld, login %lld..%lld, "
                    "closed %lld, off seen %lld\n",
                    i, on_s, off_s, (long long)w->opened_ms, (long long)w->login_from,
                    (long long)w->login_acked, (long long)w->closing, (long long)w->off_seen);
        assert_true(on == w->opened_ms);
        assert_true(on >= w->login_from && on <= w->login_acked);
        assert_true(off >= w->closing && off <= w->off_seen);
        /* So the whole drive, first fix to last, lies inside the interval (the driver was seen
         * signed on before it began), and its driving is all of it: no fraction of DRIVE_MS
         * left for a late start. */
        double drive_s = (double)(w->last_fix - w->first_fix) / 1000.0;
        if (!(d_s >= drive_s - 1e-9 && d_s <= (double)(off - on) / 1000.0))
            fprintf(stderr, "interval %zu: driving_s %.3f, drive %.3f s, on %s, off %s\n", i, d_s,
                    drive_s, on_s, off_s);
        assert_true(drive_s >= DRIVE_MS / 1000.0);
        assert_true(d_s >= drive_s - 1e-9 && d_s <= (double)(off - on) / 1000.0);
        assert_true(d_m >= SPEED_M_S[i] * drive_s - 0.1); /* positions rounded to 1e-7 degree */
        assert_true(json_is_false(json_object_get(x, "open_start")));
        assert_true(json_is_false(json_object_get(x, "open_end")));
        driving += d_s;
        distance += d_m;
        /* the interval's figures are the trips view's over the same interval */
        char tp[256];
        static char r2[1 << 16];
        snprintf(tp, sizeof(tp), "/v1/vehicles/%s/trips?from=%s&to=%s", i ? "V2" : "V1", on_s,
                 off_s);
        int st = 0;
        char hdr[128];
        snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", admin);
        assert_int_equal(
            harness_http_req(stack.d.http_port, "GET", tp, hdr, NULL, &st, r2, sizeof(r2)), 0);
        assert_int_equal(st, 200);
        json_t *tr = json_loads(r2, 0, NULL);
        assert_non_null(tr);
        assert_true(fabs(num(tr, "driving_s") - d_s) < 1e-6);
        assert_true(fabs(num(tr, "distance_m") - d_m) < 0.05);
        json_decref(tr);
        printf("%s: %s .. %s, driving %.3f s, %.1f m\n", i ? "V2" : "V1", on_s, off_s, d_s, d_m);
    }
    assert_int_equal(json_integer_value(json_object_get(tot, "vehicles")), 2);
    assert_int_equal(json_integer_value(json_object_get(tot, "intervals")), 2);
    assert_true(fabs(num(tot, "driving_s") - driving) < 1e-6);
    assert_true(fabs(num(tot, "distance_m") - distance) < 0.15);
    /* the person's alerts: V1's overspeed, all naming S1, as many as GET /v1/alerts lists for
     * S1 over the day */
    json_t *al = json_object_get(j, "alerts"), *a;
    size_t k, in_v1 = 0;
    json_array_foreach(al, k, a)
    {
        assert_string_equal(json_string_value(json_object_get(a, "staff_id")), "S1");
        in_v1 += strcmp(json_string_value(json_object_get(a, "vehicle_id")), "V1") == 0;
    }
    assert_true(in_v1 >= 1);
    assert_int_equal(json_integer_value(json_object_get(tot, "alerts")), json_array_size(al));
    char ap[256];
    snprintf(ap, sizeof(ap), "/v1/alerts?enterprise_id=E1&from=%s&to=%s&limit=500",
             json_string_value(json_object_get(j, "from")),
             json_string_value(json_object_get(j, "to")));
    static char r3[1 << 16];
    char hdr3[128];
    int st3 = 0;
    snprintf(hdr3, sizeof(hdr3), "Authorization: Bearer %s\r\n", admin);
    assert_int_equal(
        harness_http_req(stack.d.http_port, "GET", ap, hdr3, NULL, &st3, r3, sizeof(r3)), 0);
    assert_int_equal(st3, 200);
    json_t *listed = json_loads(r3, 0, NULL);
    assert_non_null(listed);
    size_t of_s1 = 0;
    json_array_foreach(json_object_get(listed, "items"), k, a) of_s1 +=
        strcmp(json_string_value(json_object_get(a, "staff_id")), "S1") == 0;
    json_decref(listed);
    assert_int_equal(of_s1, json_array_size(al));
    printf("%zu alerts of S1 (%zu in V1)\n", json_array_size(al), in_v1);
    assert_true(json_is_false(json_object_get(j, "truncated")));

    /* CSV: every row says what it is; each interval followed by its alerts, then the total */
    snprintf(path, sizeof(path), "/v1/reports/driver-day?staff_id=S1&date=%s&format=csv", date);
    assert_int_equal(call(admin, "GET", path, NULL), 200);
    check_csv(j, date);

    /* Streamed: over HTTP/1.1 each form comes chunked, ended by the last chunk, and is the
     * HTTP/1.0 reply (one piece) byte for byte. */
    static char whole[2][1 << 17];
    for (int csv = 0; csv <= 1; csv++) {
        snprintf(path, sizeof(path), "/v1/reports/driver-day?staff_id=S1&date=%s%s", date,
                 csv ? "&format=csv" : "");
        assert_int_equal(call(admin, "GET", path, NULL), 200);
        size_t len = strlen(resp);
        assert_true(len < sizeof(whole[0]));
        memcpy(whole[csv], resp, len + 1);
        struct harness_reply r;
        get11(admin, path, &r);
        assert_int_equal(r.status, 200);
        assert_true(r.chunked);
        assert_true(r.complete);
        assert_non_null(
            strstr(r.headers, csv ? "Content-Type: text/csv" : "Content-Type: application/json"));
        assert_string_equal(r.body, whole[csv]);
        harness_http_record_raw("GET", path, r.raw, r.raw_len);
        printf("%s: chunked, %zu bytes, as the HTTP/1.0 reply\n", csv ? "CSV" : "JSON", r.len);
        harness_reply_free(&r);
    }

    /* A store failure once the stream has begun: V2's alert index unreadable. The CSV has V1's
     * interval and alerts and V2's interval, then stops: no total, no end line; the JSON (its
     * alerts come after both intervals) does not parse. Neither is recorded: a cut reply is not
     * a document. */
    char key[160];
    snprintf(key, sizeof(key), "lpg:alerts:vehicle:V2");
    break_key(key);
    for (int csv = 0; csv <= 1; csv++) {
        snprintf(path, sizeof(path), "/v1/reports/driver-day?staff_id=S1&date=%s%s", date,
                 csv ? "&format=csv" : "");
        struct harness_reply r;
        get11(admin, path, &r);
        assert_int_equal(r.status, 200);
        assert_true(r.chunked);
        if (csv) { /* the whole reply's text up to the end of V2's interval row, exactly */
            char row[64];
            snprintf(row, sizeof(row), "\r\ninterval,S1,%s,V2,", date);
            const char *v2 = strstr(whole[1], row);
            assert_non_null(v2);
            const char *eol = strstr(v2 + 2, "\r\n");
            assert_non_null(eol);
            assert_int_equal(r.len, (size_t)(eol + 2 - whole[1]));
            assert_int_equal(memcmp(r.body, whole[1], r.len), 0);
            assert_null(strstr(r.body, "\r\ntotal,"));
            assert_null(strstr(r.body, "# end"));
        } else {
            assert_null(json_loads(r.body, 0, NULL));
            const char *alerts = strstr(whole[0], "],\"alerts\":[");
            assert_non_null(alerts);
            /* both intervals and the alerts array's start, then V1's alerts at most: a
             * beginning of the whole reply */
            assert_true(r.len > (size_t)(alerts - whole[0]) && r.len < strlen(whole[0]));
            assert_int_equal(memcmp(r.body, whole[0], r.len), 0);
            assert_null(strstr(r.body, "\"totals\""));
        }
        printf("%s cut after %zu bytes (of %zu)\n", csv ? "CSV" : "JSON", r.len,
               strlen(whole[csv]));
        harness_reply_free(&r);
    }
    restore_key(key);

    /* A store failure before the first byte: V1's route day unreadable, so the first interval's
     * walk fails before anything was written: an ordinary 503, in both forms. */
    const char *on1 = json_string_value(json_object_get(json_array_get(iv, 0), "on"));
    snprintf(key, sizeof(key), "lpg:route:V1:%.4s%.2s%.2s", on1, on1 + 5, on1 + 8);
    break_key(key);
    for (int csv = 0; csv <= 1; csv++) {
        snprintf(path, sizeof(path), "/v1/reports/driver-day?staff_id=S1&date=%s%s", date,
                 csv ? "&format=csv" : "");
        assert_int_equal(call(admin, "GET", path, NULL), 503);
        assert_non_null(strstr(resp, "store_unavailable"));
        assert_non_null(strstr(resp, "cannot read the route"));
    }
    restore_key(key);
    snprintf(path, sizeof(path), "/v1/reports/driver-day?staff_id=S1&date=%s", date);
    assert_int_equal(call(admin, "GET", path, NULL), 200);
    assert_string_equal(resp, whole[0]);
    json_decref(j);

    /* another enterprise's dispatcher: as missing as a person that does not exist */
    snprintf(path, sizeof(path), "/v1/reports/driver-day?staff_id=S1&date=%s", date);
    assert_int_equal(call(disp2, "GET", path, NULL), 404);
    snprintf(path, sizeof(path), "/v1/reports/driver-day?staff_id=S9&date=%s", date);
    assert_int_equal(call(disp1, "GET", path, NULL), 404);
    assert_int_equal(call(admin, "GET", "/v1/reports/driver-day?staff_id=S1&date=2026-13-01", NULL),
                     400);
    /* a day before any sign-on: nothing */
    assert_int_equal(call(admin, "GET", "/v1/reports/driver-day?staff_id=S1&date=2020-01-01", NULL),
                     200);
    assert_non_null(strstr(resp, "\"intervals\": []") ? resp : strstr(resp, "\"intervals\":[]"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_driver_day),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
