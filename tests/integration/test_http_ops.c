/* test_http_ops.c -- dispatchd's operational HTTP endpoints against a real Redis:
 * /healthz, /metrics, JSON errors for unknown paths and methods, and the command line
 * (--help, bad configuration). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static struct harness_stack stack;

static int setup(void **state)
{
    (void)state;
    return harness_stack_start(&stack, "http", NULL);
}

static int teardown(void **state)
{
    (void)state;
    return harness_stack_stop(&stack) == 0 ? 0 : -1;
}

static void test_healthz_ok_with_redis(void **state)
{
    (void)state;
    int status;
    char body[4096], headers[4096];
    assert_int_equal(harness_http(stack.d.http_port, "GET", "/healthz", &status, body, sizeof(body),
                                  headers, sizeof(headers)),
                     0);
    assert_int_equal(status, 200);
    assert_non_null(strstr(headers, "Content-Type: application/json"));
    assert_non_null(strstr(body, "\"status\":\"ok\""));
    assert_non_null(strstr(body, "\"state\":\"up\""));
    char want_port[32];
    snprintf(want_port, sizeof(want_port), "\"port\":%d", stack.redis.port);
    assert_non_null(strstr(body, want_port));
}

static void test_metrics_prometheus_text(void **state)
{
    (void)state;
    int status;
    char body[16384], headers[4096];
    /* One /healthz first, so its counter must show up. */
    char tmp[4096];
    assert_int_equal(
        harness_http(stack.d.http_port, "GET", "/healthz", &status, tmp, sizeof(tmp), NULL, 0), 0);
    assert_int_equal(harness_http(stack.d.http_port, "GET", "/metrics", &status, body, sizeof(body),
                                  headers, sizeof(headers)),
                     0);
    assert_int_equal(status, 200);
    assert_non_null(strstr(headers, "Content-Type: text/plain; version=0.0.4"));
    assert_non_null(strstr(body, "# TYPE lpg_uptime_seconds gauge\n"));
    assert_non_null(strstr(body, "\nlpg_redis_up 1\n"));
    assert_non_null(strstr(body, "lpg_redis_connects_total 1\n"));
    assert_non_null(strstr(body, "lpg_handset_connections 0\n"));
    assert_non_null(strstr(body, "lpg_frames_total{direction=\"in\"} "));
    assert_non_null(strstr(body, "lpg_frames_rejected_total{reason=\"oversize\"} 0\n"));
    assert_non_null(
        strstr(body, "lpg_http_requests_total{route=\"/healthz\",method=\"GET\",status=\"200\"}"));
}

static void test_unknown_path_is_json_404(void **state)
{
    (void)state;
    int status;
    char body[4096], headers[4096];
    assert_int_equal(harness_http(stack.d.http_port, "GET", "/no/such/thing", &status, body,
                                  sizeof(body), headers, sizeof(headers)),
                     0);
    assert_int_equal(status, 404);
    assert_non_null(strstr(headers, "application/json"));
    assert_non_null(strstr(body, "{\"error\":{\"code\":\"not_found\""));
}

static void test_wrong_method_is_json_405_with_allow(void **state)
{
    (void)state;
    int status;
    char body[4096], headers[4096];
    assert_int_equal(harness_http(stack.d.http_port, "DELETE", "/healthz", &status, body,
                                  sizeof(body), headers, sizeof(headers)),
                     0);
    assert_int_equal(status, 405);
    assert_non_null(strstr(headers, "Allow: GET"));
    assert_non_null(strstr(body, "\"code\":\"method_not_allowed\""));
}

static void test_unknown_paths_are_counted_unmatched(void **state)
{
    (void)state;
    int status;
    char body[16384];
    assert_int_equal(
        harness_http(stack.d.http_port, "GET", "/missing", &status, body, sizeof(body), NULL, 0),
        0);
    assert_int_equal(
        harness_http(stack.d.http_port, "GET", "/metrics", &status, body, sizeof(body), NULL, 0),
        0);
    assert_non_null(strstr(body, "lpg_http_requests_total{route=\"unmatched\",method=\"any\","
                                 "status=\"404\"}"));
}

/* Runs dispatchd with args, returns its exit status and its output in out. */
static int run_dispatchd(const char *const *args, char *out, size_t cap)
{
    char dir[256], log[400];
    assert_int_equal(harness_tmpdir(dir, sizeof(dir), "cli"), 0);
    snprintf(log, sizeof(log), "%s/out.log", dir);
    char *argv[16];
    int n = 0;
    argv[n++] = (char *)harness_dispatchd_path();
    for (int i = 0; args[i] && n < 15; i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;
    struct harness_proc p;
    assert_int_equal(harness_proc_start(&p, "dispatchd-cli", log, argv), 0);
    int st = harness_proc_stop(&p, 0, 5000); /* signal 0: just wait for it */
    FILE *f = fopen(log, "r");
    size_t got = f ? fread(out, 1, cap - 1, f) : 0;
    out[got] = '\0';
    if (f)
        fclose(f);
    harness_rmdir(dir);
    return st;
}

/* A path parameter that is not valid percent-encoded UTF-8 is a clear 400 on every route with
 * one (it was 500 "out of memory": the 404 message quoting it could not be JSON), and a
 * message quoting hostile bytes is still sent as valid JSON. */
static void test_invalid_id_encoding_is_400(void **state)
{
    (void)state;
    char tok[64], headers[128];
    assert_int_equal(harness_stack_admin_token(&stack, tok), 0);
    snprintf(headers, sizeof(headers), "Authorization: Bearer %s\r\n", tok);
    const char *calls[][3] = {
        {"GET", "/v1/staff/%ff", NULL},
        {"PATCH", "/v1/staff/%ff", "{\"on_duty\":true}"},
        {"GET", "/v1/vehicles/%C0%80", NULL},     /* overlong NUL */
        {"GET", "/v1/customers/%ED%A0%80", NULL}, /* a surrogate */
        {"GET", "/v1/orders/%ff/history", NULL},
        {"POST", "/v1/orders/%e4%b8/cancel", "{\"reason\":\"x\"}"}, /* truncated */
        {"GET", "/v1/vehicles/%zz/route", NULL},                    /* not an escape */
        {"GET", "/v1/cylinders/abc%", NULL},
        {"GET", "/v1/hazards/%00", NULL},
        {"GET", "/v1/checks/a%2Fb", NULL},
        {"POST", "/v1/alerts/%ff/ack", "{}"},
        {"POST", "/v1/import/%ff", "{}"},
    };
    static char body[8192];
    for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
        int status = 0;
        assert_int_equal(harness_http_req(stack.d.http_port, calls[i][0], calls[i][1], headers,
                                          calls[i][2], &status, body, sizeof(body)),
                         0);
        if (status != 400 || strstr(body, "\"invalid_parameter\"") == NULL ||
            strstr(body, "not a valid id") == NULL)
            fail_msg("%s %s -> %d %s", calls[i][0], calls[i][1], status, body);
    }
    /* A valid UTF-8 id that does not exist is an ordinary 404. */
    int status = 0;
    assert_int_equal(harness_http_req(stack.d.http_port, "GET", "/v1/staff/%E7%8E%8B", headers,
                                      NULL, &status, body, sizeof(body)),
                     0);
    assert_int_equal(status, 404);
    assert_non_null(strstr(body, "no staff with id \xE7\x8E\x8B"));
    /* A query parameter quoted in an error: valid JSON, the bad byte replaced. */
    assert_int_equal(harness_http_req(stack.d.http_port, "GET", "/v1/alerts?vehicle_id=%ff",
                                      headers, NULL, &status, body, sizeof(body)),
                     0);
    if (status >= 500)
        fail_msg("GET /v1/alerts?vehicle_id=%%ff -> %d %s", status, body);
    /* Raw bytes in a path that matches no route: the 404 quotes the path, scrubbed. */
    assert_int_equal(harness_http_req(stack.d.http_port, "GET", "/v1/nothing/\xff\xfe", headers,
                                      NULL, &status, body, sizeof(body)),
                     0);
    if (status != 404 || strstr(body, "no such resource: /v1/nothing/??") == NULL)
        fail_msg("GET /v1/nothing/\\xff\\xfe -> %d %s", status, body);
}

static void test_help_lists_every_setting(void **state)
{
    (void)state;
    static char out[65536];
    const char *args[] = {"--help", NULL};
    int st = run_dispatchd(args, out, sizeof(out));
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    const char *names[] = {"http_port",         "handset_port",        "redis_port",
                           "handset_max_frame", "redis_reconnect_max", "shutdown_timeout",
                           "log_level"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        assert_non_null(strstr(out, names[i]));
}

static void test_bad_setting_exits_2_with_reason(void **state)
{
    (void)state;
    static char out[8192];
    const char *args[] = {"--http-port=70000", NULL};
    int st = run_dispatchd(args, out, sizeof(out));
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 2);
    assert_non_null(strstr(out, "http_port"));
    assert_non_null(strstr(out, "65535"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_healthz_ok_with_redis),
        cmocka_unit_test(test_metrics_prometheus_text),
        cmocka_unit_test(test_unknown_path_is_json_404),
        cmocka_unit_test(test_wrong_method_is_json_405_with_allow),
        cmocka_unit_test(test_unknown_paths_are_counted_unmatched),
        cmocka_unit_test(test_invalid_id_encoding_is_400),
        cmocka_unit_test(test_help_lists_every_setting),
        cmocka_unit_test(test_bad_setting_exits_2_with_reason),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
