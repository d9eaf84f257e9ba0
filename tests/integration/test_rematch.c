/* test_rematch.c -- dispatch that moves by itself (issue 13 item 3) against real Redis and
 * dispatchd, watched on the live feed: a waiting order is assigned when its person's mandatory
 * rest ends (the rest recorded by the fatigue rule from a handset's real PositionBatch) and when
 * its delivery window opens less the lead time, with no other event -- the periodic pass is set
 * to an hour, so only the one-shot wake-up can do it; an order whose window ends undelivered is
 * flagged late once (order JSON, history, live feed, /metrics), and not again after a restart;
 * `expiring` alerts for an enterprise licence, a staff certificate, a vehicle permit and a
 * cylinder's inspection, raised once across restarts.
 *
 * Short settings keep it quick: continuous driving 10 min, rest 1 min (the track ends 55 s ago,
 * so the rest ends ~5 s after the batch), window lead 1 min (a window starting in 65 s opens in
 * ~5 s). Every wait is for an event, bounded by HARNESS_REPLY_TIMEOUT_MS.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"
#include "wire_client.h"

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct harness_stack stack;
static char admin[64], secret_h1[64];

static const char *const dispatchd_args[] = {
    "--rematch_interval=3600", /* the periodic pass must not be what assigns */
    "--order_window_lead=1",
    "--continuous_driving_max=10",
    "--fatigue_warning=0",
    "--min_rest=1",
    NULL};

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void instant(int64_t ms, char out[48])
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    snprintf(out, 48, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

static int req(const char *method, const char *path, const char *body, char *resp, size_t cap)
{
    char headers[256];
    snprintf(headers, sizeof(headers), "Authorization: Bearer %s\r\n", admin);
    int status = 0;
    if (harness_http_req(stack.d.http_port, method, path, headers, body, &status, resp, cap) != 0)
        return -1;
    return status;
}

static long long metric(const char *name)
{
    return harness_metric(stack.d.http_port, name);
}

static int setup(void **state)
{
    (void)state;
    char resp[4096];
    if (harness_stack_start(&stack, "rematch", dispatchd_args) != 0 ||
        harness_stack_admin_token(&stack, admin) != 0 ||
        harness_stack_device(&stack, "H1", secret_h1) != 0 ||
        harness_stack_vehicle(&stack, "V1", "H1") != 0)
        return -1;
    const char *calls[][3] = {
        {"POST", "/v1/zones",
         "{\"id\":\"Z1\",\"enterprise_id\":\"E0\",\"name\":\"West\",\"shape\":{\"type\":"
         "\"Polygon\",\"coordinates\":[[[119.6,49.15],[119.8,49.15],[119.8,49.3],[119.6,49.3],"
         "[119.6,49.15]]]}}"},
        {"PATCH", "/v1/staff/S-H1",
         "{\"zone_id\":\"Z1\",\"on_duty\":true,\"qualification_no\":\"QC-1\","
         "\"qualification_expiry\":\"2099-12-31\",\"training_no\":\"ST-1\","
         "\"training_expiry\":\"2099-12-31\"}"},
        {"PATCH", "/v1/vehicles/V1",
         "{\"permit_no\":\"DG-1\",\"permit_expiry\":\"2099-12-31\",\"capacity\":10}"},
        /* C1 in zone Z1; C2 in the enterprise's area but in no zone: it always waits. */
        {"POST", "/v1/customers",
         "{\"id\":\"C1\",\"enterprise_id\":\"E0\",\"name\":\"A\",\"kind\":\"household\","
         "\"location\":{\"lon\":119.7,\"lat\":49.2},\"contract_no\":\"S1\","
         "\"contract_from\":\"2025-01-01\"}"},
        {"POST", "/v1/customers",
         "{\"id\":\"C2\",\"enterprise_id\":\"E0\",\"name\":\"B\",\"kind\":\"household\","
         "\"location\":{\"lon\":119.85,\"lat\":49.2},\"contract_no\":\"S2\","
         "\"contract_from\":\"2025-01-01\"}"},
    };
    for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
        int st = req(calls[i][0], calls[i][1], calls[i][2], resp, sizeof(resp));
        if (st != 200 && st != 201) {
            fprintf(stderr, "setup %s %s -> %d: %s\n", calls[i][0], calls[i][1], st, resp);
            return -1;
        }
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return harness_stack_stop(&stack) == 0 ? 0 : -1;
}

/* ---- the live feed ---- */

struct feed {
    int fd;
    char buf[262144];
    size_t used;
};

static void feed_open(struct feed *f)
{
    f->fd = harness_tcp_connect(stack.d.http_port);
    assert_true(f->fd >= 0);
    f->used = 0;
    f->buf[0] = '\0';
    char rq[512];
    snprintf(rq, sizeof(rq),
             "GET /v1/events?types=orders HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
             "%s\r\n\r\n",
             admin);
    assert_int_equal(harness_send_all(f->fd, rq, strlen(rq)), 0);
}

/* Reads until needle shows up (1) or timeout_ms passes (0). */
static int feed_wait(struct feed *f, const char *needle, int timeout_ms)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        if (strstr(f->buf, needle))
            return 1;
        clock_gettime(CLOCK_MONOTONIC, &t);
        long left =
            timeout_ms - ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
        if (left <= 0 || f->used + 1 >= sizeof(f->buf))
            return 0;
        struct pollfd p = {.fd = f->fd, .events = POLLIN};
        if (poll(&p, 1, (int)left) <= 0)
            return 0;
        ssize_t r = recv(f->fd, f->buf + f->used, sizeof(f->buf) - f->used - 1, 0);
        if (r <= 0)
            return 0;
        f->used += (size_t)r;
        f->buf[f->used] = '\0';
    }
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* feed_wait for needle; on a timeout, says what the order and the service show. */
static int feed_wait_or_tell(struct feed *f, const char *needle, const char *order_id)
{
    if (feed_wait(f, needle, HARNESS_REPLY_TIMEOUT_MS))
        return 1;
    char path[128], resp[8192];
    snprintf(path, sizeof(path), "/v1/orders/%s", order_id);
    int st = req("GET", path, NULL, resp, sizeof(resp));
    fprintf(stderr, "no %s on the feed within %d ms; GET %s -> %d %s\n", needle,
            HARNESS_REPLY_TIMEOUT_MS, path, st, resp);
    harness_proc_dump_log(&stack.d.proc, 40);
    return 0;
}

/* Creates an order of one YSP-12 for customer; window bounds 0: open. Returns its JSON. */
static void create_order(const char *id, const char *customer, int64_t start_ms, int64_t end_ms,
                         char *resp, size_t cap)
{
    char body[512], s[48], e[48], ws[80] = "", we[80] = "";
    if (start_ms) {
        instant(start_ms, s);
        snprintf(ws, sizeof(ws), ",\"window_start\":\"%s\"", s);
    }
    if (end_ms) {
        instant(end_ms, e);
        snprintf(we, sizeof(we), ",\"window_end\":\"%s\"", e);
    }
    snprintf(body, sizeof(body),
             "{\"id\":\"%s\",\"enterprise_id\":\"E0\",\"customer_id\":\"%s\",\"items\":[{\"spec\":"
             "\"YSP-12\",\"count\":1}]%s%s}",
             id, customer, ws, we);
    int st = req("POST", "/v1/orders", body, resp, cap);
    if (st != 201)
        fprintf(stderr, "POST /v1/orders -> %d: %s\n", st, resp);
    assert_int_equal(st, 201);
}

/* The event of order id becoming `type` ("order.assigned", "order.late") on the feed. */
static void event_needle(char *out, size_t cap, const char *type, const char *id)
{
    snprintf(out, cap, "\"type\":\"%s\",\"order\":{\"id\":\"%s\"", type, id);
}

/* ---- a rest ending ---- */

/* S-H1 drives V1 10.5 min (its handset's PositionBatch), up to 55 s ago: the fatigue rule puts
 * them in a 1-min rest, stored in their record. An order created meanwhile waits for the rest;
 * it is assigned when the rest ends, with nothing else happening. */
static void a_rest_ending_assigns_a_waiting_order(void **state)
{
    (void)state;
    static struct feed f;
    feed_open(&f);
    assert_true(feed_wait(&f, "live feed", HARNESS_REPLY_TIMEOUT_MS));

    int h = wire_login(stack.d.handset_port, "H1", secret_h1);
    assert_true(h >= 0);
    enum { N = 22 };
    Lpg__V1__Fix fixes[N];
    int64_t last = now_ms() - 55000;
    for (int i = 0; i < N; i++) /* north at 10 m/s, one fix every 30 s */
        wire_fix_3d(&fixes[i], (uint64_t)i + 1, (uint64_t)(last - (int64_t)(N - 1 - i) * 30000),
                    491600000 + i * 27000, 1196500000, 1000);
    assert_true(wire_send_positions(h, 10, fixes, N, HARNESS_REPLY_TIMEOUT_MS) >= 0);
    close(h);

    /* The rest reaches the person's record (a write of its own). */
    char resp[8192];
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        assert_int_equal(req("GET", "/v1/staff/S-H1", NULL, resp, sizeof(resp)), 200);
        if (strstr(resp, "\"rest_until\":\"") != NULL)
            break;
        clock_gettime(CLOCK_MONOTONIC, &t);
        assert_true((t.tv_sec - t0.tv_sec) * 1000 < HARNESS_REPLY_TIMEOUT_MS);
        harness_sleep_ms(20);
    }

    long long assigned_before = metric("lpg_rematch_assigned_total");
    create_order("O-R", "C1", 0, 0, resp, sizeof(resp));
    assert_non_null(strstr(resp, "\"state\":\"created\""));
    assert_non_null(strstr(resp, "in mandatory rest until"));

    char needle[128];
    event_needle(needle, sizeof(needle), "order.assigned", "O-R");
    assert_true(feed_wait_or_tell(&f, needle, "O-R"));
    assert_int_equal(req("GET", "/v1/orders/O-R", NULL, resp, sizeof(resp)), 200);
    assert_non_null(strstr(resp, "\"state\":\"assigned\""));
    assert_non_null(strstr(resp, "\"staff_id\":\"S-H1\""));
    assert_int_equal(metric("lpg_rematch_assigned_total"), assigned_before + 1);
    close(f.fd);
}

/* ---- a window opening ---- */

/* A window starting in 65 s with a 1-min lead: the order waits, saying when it is offered, and
 * is assigned when that instant comes. */
static void a_window_opening_assigns_a_waiting_order(void **state)
{
    (void)state;
    static struct feed f;
    feed_open(&f);
    assert_true(feed_wait(&f, "live feed", HARNESS_REPLY_TIMEOUT_MS));
    char resp[8192];
    int64_t start = now_ms() + 65000;
    create_order("O-W", "C1", start, start + 7200000, resp, sizeof(resp));
    assert_non_null(strstr(resp, "\"state\":\"created\""));
    assert_non_null(strstr(resp, "delivery window starts "));
    assert_non_null(strstr(resp, "; offered to staff from "));

    char needle[128];
    event_needle(needle, sizeof(needle), "order.assigned", "O-W");
    assert_true(feed_wait_or_tell(&f, needle, "O-W"));
    /* Not before start - lead (the server's clock is this one). */
    assert_true(now_ms() >= start - 60000);
    assert_int_equal(req("GET", "/v1/orders/O-W", NULL, resp, sizeof(resp)), 200);
    assert_non_null(strstr(resp, "\"state\":\"assigned\""));
    close(f.fd);
}

/* ---- late ---- */

static int restart_dispatchd(void)
{
    if (harness_proc_stop(&stack.d.proc, SIGTERM, 10000) != 0) {
        fprintf(stderr, "restart: dispatchd did not stop within 10 s\n");
        return -1;
    }
    if (harness_dispatchd_start(&stack.d, stack.dir, stack.redis.port, dispatchd_args) != 0 ||
        harness_http_wait_status(stack.d.http_port, "/healthz", 200, HARNESS_REPLY_TIMEOUT_MS) !=
            0) {
        fprintf(stderr, "restart: dispatchd did not start\n");
        harness_proc_dump_log(&stack.d.proc, 30);
        return -1;
    }
    /* /v1 answers once the registry is loaded. */
    char resp[4096];
    for (int i = 0; i < HARNESS_REPLY_TIMEOUT_MS / 20; i++) {
        if (req("GET", "/v1/orders/O-L", NULL, resp, sizeof(resp)) == 200)
            return 0;
        harness_sleep_ms(20);
    }
    fprintf(stderr, "restart: /v1/orders/O-L did not answer 200: %s\n", resp);
    harness_proc_dump_log(&stack.d.proc, 30);
    return -1;
}

/* An order nobody can take (C2 is in no zone) whose window ends in 2.5 s: flagged late then,
 * once -- the order, its history, the live feed, /metrics -- and not again after a restart. */
static void an_order_whose_window_ends_is_flagged_late_once(void **state)
{
    (void)state;
    static struct feed f;
    feed_open(&f);
    assert_true(feed_wait(&f, "live feed", HARNESS_REPLY_TIMEOUT_MS));
    char resp[16384];
    create_order("O-L", "C2", 0, now_ms() + 2500, resp, sizeof(resp));
    assert_non_null(strstr(resp, "\"late\":false"));
    char needle[128];
    event_needle(needle, sizeof(needle), "order.late", "O-L");
    assert_true(feed_wait_or_tell(&f, needle, "O-L"));
    assert_int_equal(req("GET", "/v1/orders/O-L", NULL, resp, sizeof(resp)), 200);
    assert_non_null(strstr(resp, "\"late\":true"));
    assert_non_null(strstr(resp, "\"state\":\"created\"")); /* lateness is not a state */
    assert_int_equal(req("GET", "/v1/orders/O-L/history", NULL, resp, sizeof(resp)), 200);
    assert_int_equal(count(resp, "\"event\":\"late\""), 1);
    assert_non_null(strstr(resp, "the delivery window ended at "));
    assert_int_equal(metric("lpg_orders_late_total"), 1);
    close(f.fd);

    /* A restarted service: O-L is late already. Another order becoming late proves the check
     * ran (it flags every late order, by id); O-L was not flagged again. */
    assert_int_equal(restart_dispatchd(), 0);
    feed_open(&f);
    assert_true(feed_wait(&f, "live feed", HARNESS_REPLY_TIMEOUT_MS));
    create_order("O-M", "C2", 0, now_ms() + 1500, resp, sizeof(resp));
    event_needle(needle, sizeof(needle), "order.late", "O-M");
    assert_true(feed_wait_or_tell(&f, needle, "O-M"));
    assert_int_equal(count(f.buf, "\"type\":\"order.late\""), 1);
    assert_int_equal(metric("lpg_orders_late_total"), 1);
    assert_int_equal(req("GET", "/v1/orders/O-L/history", NULL, resp, sizeof(resp)), 200);
    assert_int_equal(count(resp, "\"event\":\"late\""), 1);
    close(f.fd);
}

/* ---- expiring documents ---- */

/* The local day (UTC+8, the enterprise's) of now + days, "YYYY-MM-DD". */
static void local_day(int days, char out[40])
{
    time_t s = (time_t)(now_ms() / 1000 + 8 * 3600 + (int64_t)days * 86400);
    struct tm tm;
    gmtime_r(&s, &tm);
    snprintf(out, 40, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

/* Waits until a check for expiring documents completed since this run started. */
static int wait_expiring_check(void)
{
    for (int i = 0; i < HARNESS_REPLY_TIMEOUT_MS / 20; i++) {
        if (metric("lpg_expiring_checks_total") >= 1)
            return 0;
        harness_sleep_ms(20);
    }
    fprintf(stderr,
            "no check for expiring documents since the restart (lpg_expiring_checks_total "
            "%lld)\n",
            metric("lpg_expiring_checks_total"));
    harness_proc_dump_log(&stack.d.proc, 30);
    return -1;
}

/* One of each kind runs out within 30 days (the default expiry_alert_days): a restart checks
 * them and raises four `expiring` alerts, each naming its thing and day; the next restart
 * raises none. The check at the very first start found nothing to raise. */
static void expiring_alerts_once_across_a_restart(void **state)
{
    (void)state;
    char d3[40], d5[40], d10[40], d20[40], body[1024], resp[65536];
    local_day(3, d3);
    local_day(5, d5);
    local_day(10, d10);
    local_day(20, d20);
    snprintf(body, sizeof(body),
             "{\"id\":\"E5\",\"name\":\"Five Gas\",\"licence_no\":\"GL-5\",\"licence_expiry\":"
             "\"%s\",\"area\":{\"type\":\"Polygon\",\"coordinates\":[[[119.6,49.15],[119.9,49.15],"
             "[119.9,49.3],[119.6,49.3],[119.6,49.15]]]}}",
             d10);
    assert_int_equal(req("POST", "/v1/enterprises", body, resp, sizeof(resp)), 201);
    /* An expiry without the licence is refused. */
    assert_int_equal(req("POST", "/v1/enterprises",
                         "{\"id\":\"E6\",\"name\":\"Six\",\"licence_expiry\":\"2030-01-01\","
                         "\"area\":{\"type\":\"Polygon\",\"coordinates\":[[[119.6,49.15],"
                         "[119.9,49.15],[119.9,49.3],[119.6,49.3],[119.6,49.15]]]}}",
                         resp, sizeof(resp)),
                     400);
    assert_non_null(strstr(resp, "licence_expiry"));
    assert_int_equal(req("POST", "/v1/enterprises",
                         "{\"id\":\"E7\",\"name\":\"Seven\",\"licence_no\":\"GL-7\","
                         "\"licence_expiry\":\"2030-02-30\",\"area\":{\"type\":\"Polygon\","
                         "\"coordinates\":[[[119.6,49.15],[119.9,49.15],[119.9,49.3],[119.6,49.3],"
                         "[119.6,49.15]]]}}",
                         resp, sizeof(resp)),
                     400);
    snprintf(body, sizeof(body),
             "{\"id\":\"SX\",\"enterprise_id\":\"E5\",\"name\":\"Li\",\"role\":\"driver\","
             "\"qualification_no\":\"QC-X\",\"qualification_expiry\":\"%s\",\"training_no\":"
             "\"ST-X\",\"training_expiry\":\"2099-12-31\"}",
             d5);
    assert_int_equal(req("POST", "/v1/staff", body, resp, sizeof(resp)), 201);
    snprintf(body, sizeof(body),
             "{\"id\":\"VX\",\"enterprise_id\":\"E5\",\"plate\":\"P-X\",\"kind\":\"van\","
             "\"capacity\":10,\"permit_no\":\"DG-X\",\"permit_expiry\":\"%s\"}",
             d20);
    assert_int_equal(req("POST", "/v1/vehicles", body, resp, sizeof(resp)), 201);
    snprintf(body, sizeof(body),
             "{\"id\":\"CYX\",\"enterprise_id\":\"E5\",\"spec\":\"YSP-12\",\"manufactured\":"
             "\"2024-01-01\",\"next_inspection\":\"%s\"}",
             d3);
    assert_int_equal(req("POST", "/v1/cylinders", body, resp, sizeof(resp)), 201);

    assert_int_equal(restart_dispatchd(), 0);
    assert_int_equal(wait_expiring_check(), 0);
    assert_int_equal(metric("lpg_expiring_alerts_total"), 4);
    assert_int_equal(
        req("GET", "/v1/alerts?enterprise_id=E5&rule=expiring", NULL, resp, sizeof(resp)), 200);
    assert_int_equal(count(resp, "\"rule\":\"expiring\""), 4);
    const char *want[][3] = {{"enterprise", "E5", d10},
                             {"staff", "SX", d5},
                             {"vehicle", "VX", d20},
                             {"cylinder", "CYX", d3}};
    for (size_t i = 0; i < 4; i++) {
        char needle[160];
        snprintf(needle, sizeof(needle),
                 "\"subject_kind\":\"%s\",\"subject_id\":\"%s\",\"document\":", want[i][0],
                 want[i][1]);
        assert_non_null(strstr(resp, needle));
        snprintf(needle, sizeof(needle), "\"expires\":\"%s\"", want[i][2]);
        assert_non_null(strstr(resp, needle));
    }
    assert_non_null(strstr(resp, "gas business licence GL-5 of enterprise E5 (Five Gas): last "
                                 "valid day "));
    assert_non_null(strstr(resp, "periodic inspection of cylinder CYX (YSP-12) falls due "));

    /* Restarted again: the same documents, the same days, nothing new. */
    assert_int_equal(restart_dispatchd(), 0);
    assert_int_equal(wait_expiring_check(), 0);
    assert_int_equal(metric("lpg_expiring_alerts_total"), 0);
    assert_int_equal(
        req("GET", "/v1/alerts?enterprise_id=E5&rule=expiring", NULL, resp, sizeof(resp)), 200);
    assert_int_equal(count(resp, "\"rule\":\"expiring\""), 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_rest_ending_assigns_a_waiting_order),
        cmocka_unit_test(a_window_opening_assigns_a_waiting_order),
        cmocka_unit_test(an_order_whose_window_ends_is_flagged_late_once),
        cmocka_unit_test(expiring_alerts_once_across_a_restart),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    harness_cleanup_all();
    return rc;
}
