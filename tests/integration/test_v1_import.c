/* test_v1_import.c -- bulk import (POST /v1/import/{kind}) against real Redis and dispatchd:
 * 2,000 customers from a generated CSV (Chinese names, quoted addresses with commas, quotes and
 * line breaks, CRLF); a file with 3 bad rows refused whole (422, exactly those rows and fields)
 * and then imported with skip_errors; dry_run writes nothing; duplicate and existing ids;
 * file-level errors (media type, header, CSV syntax, encoding, row cap, scope); zones from a
 * GeoJSON FeatureCollection with one outside the supply area; staff binding vehicles of an
 * earlier import, mirrored on the vehicles; everything still there after a restart; and the
 * time to import 2,000 and 10,000 customers (printed).
 *
 * dispatchd runs with http_max_body 8 MiB here, as docs/import.md advises for files over the
 * 1 MiB default (the 10,000-customer file is about 1.3 MB).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ADMIN_PASSWORD      "correct horse battery"
#define RESPONSE_TIMEOUT_MS 120000 /* a 10,000-row import under ASan takes a few seconds */

static struct harness_stack stack;
static char admin_tok[64], disp1_tok[64], disp2_tok[64];
static const char *const dispatchd_args[] = {"--http-max-body=8388608", NULL};

/* ---- a raw HTTP client: any content type, large bodies, large replies ---- */

/* Sends one request and returns its status, the reply parsed as JSON in *out (may be NULL;
 * caller decrefs). content_type NULL: no body. */
static int http(json_t **out, const char *method, const char *path, const char *token,
                const char *content_type, const char *body, size_t len)
{
    if (out)
        *out = NULL;
    int fd = harness_tcp_connect(stack.d.http_port);
    if (fd < 0)
        return -1;
    char head[1024];
    int n = snprintf(head, sizeof(head), "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\n", method, path);
    if (token)
        n += snprintf(head + n, sizeof(head) - (size_t)n, "Authorization: Bearer %s\r\n", token);
    if (content_type)
        n += snprintf(head + n, sizeof(head) - (size_t)n,
                      "Content-Type: %s\r\nContent-Length: %zu\r\n", content_type, len);
    n += snprintf(head + n, sizeof(head) - (size_t)n, "\r\n");
    if (harness_send_all(fd, head, (size_t)n) != 0 ||
        (content_type && len && harness_send_all(fd, body, len) != 0)) {
        close(fd);
        return -1;
    }
    size_t cap = 1 << 16, used = 0;
    char *resp = malloc(cap);
    assert_non_null(resp);
    for (;;) {
        if (used + 1 == cap) {
            cap *= 2;
            resp = realloc(resp, cap);
            assert_non_null(resp);
        }
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, RESPONSE_TIMEOUT_MS) <= 0)
            break;
        ssize_t r = recv(fd, resp + used, cap - used - 1, 0);
        if (r <= 0)
            break;
        used += (size_t)r;
    }
    close(fd);
    resp[used] = '\0';
    harness_http_record_raw(method, path, resp, used);
    int status = -1;
    char *sep = strstr(resp, "\r\n\r\n");
    if (sep && sscanf(resp, "HTTP/1.%*d %d", &status) == 1 && out)
        *out = json_loads(sep + 4, 0, NULL);
    if (status >= 400 && getenv("LPG_TEST_VERBOSE"))
        fprintf(stderr, "%s %s -> %d %.2000s\n", method, path, status, sep ? sep + 4 : "");
    free(resp);
    return status;
}

static int api(json_t **out, const char *method, const char *path, const char *token,
               const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int api(json_t **out, const char *method, const char *path, const char *token,
               const char *fmt, ...)
{
    static char body[16384];
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(body, sizeof(body), fmt, ap);
        va_end(ap);
    }
    return http(out, method, path, token, fmt ? "application/json" : NULL, body,
                fmt ? strlen(body) : 0);
}

static int import_csv(json_t **out, const char *path, const char *token, const char *csv)
{
    return http(out, "POST", path, token, "text/csv; charset=utf-8", csv, strlen(csv));
}

static const char *str(json_t *j, const char *key)
{
    return json_string_value(json_object_get(j, key));
}

static long long num(json_t *j, const char *key)
{
    return json_integer_value(json_object_get(j, key));
}

static const char *error_code(json_t *j)
{
    return str(json_object_get(j, "error"), "code");
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void login(const char *user, const char *password, char tok[64])
{
    json_t *j;
    assert_int_equal(api(&j, "POST", "/v1/sessions", NULL, "{\"user\":\"%s\",\"password\":\"%s\"}",
                         user, password),
                     201);
    snprintf(tok, 64, "%s", str(j, "token"));
    json_decref(j);
}

static void create_ok(const char *path, const char *token, const char *json)
{
    json_t *j;
    int st = api(&j, "POST", path, token, "%s", json);
    if (st != 201)
        fprintf(stderr, "POST %s -> %d\n", path, st);
    assert_int_equal(st, 201);
    json_decref(j);
}

/* A rectangle as a GeoJSON Polygon, lon/lat degrees. */
static const char *rect(char *buf, size_t cap, double lon0, double lat0, double lon1, double lat1)
{
    snprintf(buf, cap,
             "{\"type\":\"Polygon\",\"coordinates\":[[[%.6f,%.6f],[%.6f,%.6f],[%.6f,%.6f],"
             "[%.6f,%.6f],[%.6f,%.6f]]]}",
             lon0, lat0, lon1, lat0, lon1, lat1, lon0, lat1, lon0, lat0);
    return buf;
}

/* Checks errors[i] of a report: row, code and field (NULL: none). */
static void expect_error(json_t *report, size_t i, long long row, const char *code,
                         const char *field)
{
    json_t *e = json_array_get(json_object_get(report, "errors"), i);
    assert_non_null(e);
    if (num(e, "row") != row || strcmp(str(e, "code"), code) != 0 ||
        (field ? str(e, "field") == NULL || strcmp(str(e, "field"), field) != 0
               : str(e, "field") != NULL)) {
        char *s = json_dumps(e, 0);
        fail_msg("errors[%zu] = %s; want row %lld, code %s, field %s", i, s, row, code,
                 field ? field : "(none)");
    }
}

static int get_status(const char *path, const char *token)
{
    return api(NULL, "GET", path, token, NULL);
}

/* ---- a growing text buffer for generated files ---- */

struct text {
    char *s;
    size_t n, cap;
};

static void text_printf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void text_printf(struct text *t, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(t->s ? t->s + t->n : NULL, t->s ? t->cap - t->n : 0, fmt, ap);
        va_end(ap);
        assert_true(k >= 0);
        if (t->s && (size_t)k < t->cap - t->n) {
            t->n += (size_t)k;
            return;
        }
        t->cap = t->cap ? t->cap * 2 : 65536;
        t->s = realloc(t->s, t->cap);
        assert_non_null(t->s);
    }
}

static const char customer_header[] =
    "id,name,kind,lon,lat,address,premises,contract_no,contract_from,contract_to\r\n";

/* n customers with ids <prefix><5 digits>, in the west of Hailar. Every 7th has an address
 * with a quote and a line break; every 11th is a restaurant; every 13th has premises. */
static void gen_customers(struct text *t, const char *prefix, int n)
{
    text_printf(t, "%s", customer_header);
    for (int i = 1; i <= n; i++) {
        double lon = 119.61 + 0.13 * (double)(i % 997) / 997.0;
        double lat = 49.16 + 0.13 * (double)(i % 991) / 991.0;
        const char *kind = i % 11 == 0 ? "restaurant" : "household";
        if (i % 7 == 0)
            text_printf(t,
                        "%s%05d,王芳%d,%s,%.6f,%.6f,\"海拉尔区 \"\"新村\"\" %d号,\r\n3单元\",%s,"
                        "SC-%d,2025-01-01,2030-12-31\r\n",
                        prefix, i, i, kind, lon, lat, i, i % 13 == 0 ? "high_rise_residential" : "",
                        i);
        else
            text_printf(t,
                        "%s%05d,张三%d号客户,%s,%.6f,%.6f,\"海拉尔区胜利大街%d号, 2单元\",%s,SC-%d,"
                        "2025-01-01,2030-12-31\r\n",
                        prefix, i, i, kind, lon, lat, i,
                        i % 13 == 0 ? "\"underground; semi_underground\"" : "", i);
    }
}

/* Counts one enterprise's customers by paging through GET /v1/customers. */
static long long count_customers(const char *token)
{
    long long total = 0;
    char after[80] = "", path[160];
    for (;;) {
        snprintf(path, sizeof(path), "/v1/customers?limit=1000%s%s", after[0] ? "&after=" : "",
                 after);
        json_t *j;
        assert_int_equal(api(&j, "GET", path, token, NULL), 200);
        total += (long long)json_array_size(json_object_get(j, "items"));
        const char *next = str(j, "next_after");
        if (next == NULL) {
            json_decref(j);
            return total;
        }
        snprintf(after, sizeof(after), "%s", next);
        json_decref(j);
    }
}

/* ---- setup: Hailar Gas (E1) with its supply area, another enterprise, two dispatchers ---- */

static int setup(void **state)
{
    (void)state;
    memset(&stack, 0, sizeof(stack));
    if (harness_tmpdir(stack.dir, sizeof(stack.dir), "import") != 0 ||
        harness_redis_start(&stack.redis, stack.dir, harness_free_port()) != 0 ||
        harness_create_admin(stack.redis.port, "root", ADMIN_PASSWORD) != 0 ||
        harness_dispatchd_start(&stack.d, stack.dir, stack.redis.port, dispatchd_args) != 0 ||
        harness_http_wait_status(stack.d.http_port, "/healthz", 200, 5000) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return harness_stack_stop(&stack) == 0 ? 0 : -1;
}

static void test_onboard(void **state)
{
    (void)state;
    char g[512], body[2048];
    login("root", ADMIN_PASSWORD, admin_tok);
    snprintf(body, sizeof(body), "{\"id\":\"E1\",\"name\":\"Hailar Gas\",\"area\":%s}",
             rect(g, sizeof(g), 119.60, 49.15, 119.90, 49.30));
    create_ok("/v1/enterprises", admin_tok, body);
    snprintf(body, sizeof(body), "{\"id\":\"E2\",\"name\":\"Other Gas\",\"area\":%s}",
             rect(g, sizeof(g), 120.60, 49.15, 120.90, 49.30));
    create_ok("/v1/enterprises", admin_tok, body);
    create_ok("/v1/users", admin_tok,
              "{\"name\":\"disp1\",\"role\":\"dispatcher\",\"enterprise_id\":\"E1\","
              "\"password\":\"dispatcher-one-pw\"}");
    create_ok("/v1/users", admin_tok,
              "{\"name\":\"disp2\",\"role\":\"dispatcher\",\"enterprise_id\":\"E2\","
              "\"password\":\"dispatcher-two-pw\"}");
    login("disp1", "dispatcher-one-pw", disp1_tok);
    login("disp2", "dispatcher-two-pw", disp2_tok);
}

/* 2,000 customers in one request, by a dispatcher (its enterprise implied). */
static void test_import_2000_customers(void **state)
{
    (void)state;
    struct text t = {0};
    gen_customers(&t, "C", 2000);
    json_t *r;
    double t0 = now_s();
    int st = import_csv(&r, "/v1/import/customers", disp1_tok, t.s);
    double dt = now_s() - t0;
    assert_int_equal(st, 200);
    assert_string_equal(str(r, "kind"), "customers");
    assert_int_equal(num(r, "rows"), 2000);
    assert_int_equal(num(r, "imported"), 2000);
    assert_int_equal(num(r, "skipped"), 0);
    assert_int_equal(num(r, "error_count"), 0);
    assert_int_equal(json_array_size(json_object_get(r, "errors")), 0);
    assert_true(json_is_false(json_object_get(r, "dry_run")));
    json_decref(r);
    printf("import: 2000 customers (%zu bytes of CSV) in %.0f ms\n", t.n, dt * 1000.0);
    free(t.s);

    /* Chinese text, quoted commas, doubled quotes, line breaks and lists came through. */
    json_t *c;
    assert_int_equal(api(&c, "GET", "/v1/customers/C00042", disp1_tok, NULL), 200);
    assert_string_equal(str(c, "enterprise_id"), "E1");
    assert_string_equal(str(c, "name"), "王芳42");
    assert_string_equal(str(c, "address"), "海拉尔区 \"新村\" 42号,\r\n3单元");
    assert_string_equal(str(c, "contract_to"), "2030-12-31");
    json_decref(c);
    assert_int_equal(api(&c, "GET", "/v1/customers/C00026", disp1_tok, NULL), 200);
    assert_string_equal(str(c, "name"), "张三26号客户");
    assert_string_equal(str(c, "address"), "海拉尔区胜利大街26号, 2单元");
    assert_string_equal(str(c, "kind"), "household");
    json_t *prem = json_object_get(c, "premises");
    assert_int_equal(json_array_size(prem), 2);
    assert_string_equal(json_string_value(json_array_get(prem, 0)), "underground");
    json_decref(c);
    assert_int_equal(count_customers(disp1_tok), 2000);
}

static const char bad_file[] =
    "id,name,kind,lon,lat,address\n"
    "B01,甲,household,119.70,49.20,\"1 Rd, A\"\n"
    "B02,乙,household,119.70,49.20,\n"
    "B03,丙,spaceship,119.70,49.20,\n" /* row 3: unknown kind */
    "B04,丁,restaurant,119.70,49.20,\n"
    "B05,戊,household,119.70,49.20,\n"
    "B06,己,household,119.70,91.5,\n" /* row 6: latitude out of range */
    "B07,庚,household,119.70,49.20,\n"
    "C00001,辛,household,119.70,49.20,\n" /* row 8: exists (first import) */
    "B09,壬,household,119.70,49.20,\n"
    "B10,癸,household,119.70,49.20,\n";

/* A file with errors imports nothing and lists exactly the bad rows; skip_errors imports the
 * rest; dry_run writes nothing. */
static void test_bad_rows(void **state)
{
    (void)state;
    json_t *r;
    assert_int_equal(import_csv(&r, "/v1/import/customers", disp1_tok, bad_file), 422);
    assert_int_equal(num(r, "rows"), 10);
    assert_int_equal(num(r, "valid"), 7);
    assert_int_equal(num(r, "imported"), 0);
    assert_int_equal(num(r, "error_count"), 3);
    assert_int_equal(json_array_size(json_object_get(r, "errors")), 3);
    expect_error(r, 0, 3, "invalid_field", "kind");
    expect_error(r, 1, 6, "invalid_field", "lat");
    expect_error(r, 2, 8, "already_exists", "id");
    json_t *e = json_array_get(json_object_get(r, "errors"), 0);
    assert_string_equal(str(e, "id"), "B03");
    assert_int_equal(num(e, "line"), 4);
    json_decref(r);
    assert_int_equal(get_status("/v1/customers/B01", disp1_tok), 404);

    /* The same file as a dry run with skip_errors: the same report, still nothing written. */
    assert_int_equal(
        import_csv(&r, "/v1/import/customers?skip_errors=true&dry_run=true", disp1_tok, bad_file),
        200);
    assert_int_equal(num(r, "valid"), 7);
    assert_int_equal(num(r, "imported"), 0);
    assert_int_equal(num(r, "skipped"), 3);
    assert_true(json_is_true(json_object_get(r, "dry_run")));
    json_decref(r);
    assert_int_equal(get_status("/v1/customers/B01", disp1_tok), 404);

    /* skip_errors: the 7 good rows go in. */
    assert_int_equal(import_csv(&r, "/v1/import/customers?skip_errors=true", disp1_tok, bad_file),
                     200);
    assert_int_equal(num(r, "imported"), 7);
    assert_int_equal(num(r, "skipped"), 3);
    assert_int_equal(num(r, "error_count"), 3);
    json_decref(r);
    assert_int_equal(get_status("/v1/customers/B01", disp1_tok), 200);
    assert_int_equal(get_status("/v1/customers/B10", disp1_tok), 200);
    assert_int_equal(get_status("/v1/customers/B03", disp1_tok), 404);
    assert_int_equal(get_status("/v1/customers/B06", disp1_tok), 404);

    /* A clean dry run: valid, nothing written. */
    assert_int_equal(import_csv(&r, "/v1/import/customers?dry_run=true", disp1_tok,
                                "id,name,kind,lon,lat\nD01,x,household,119.7,49.2\n"
                                "D02,y,household,119.7,49.2\n"),
                     200);
    assert_int_equal(num(r, "valid"), 2);
    assert_int_equal(num(r, "imported"), 0);
    json_decref(r);
    assert_int_equal(get_status("/v1/customers/D01", disp1_tok), 404);

    /* An id twice in one file; a row naming another enterprise; a short row. */
    assert_int_equal(import_csv(&r, "/v1/import/customers", disp1_tok,
                                "id,name,kind,lon,lat,enterprise_id\n"
                                "F01,x,household,119.7,49.2,\n"
                                "F02,x,household,119.7,49.2,E1\n"
                                "F01,x,household,119.7,49.2,\n"
                                "F04,x,household,119.7,49.2,E2\n"
                                "F05,x,household\n"),
                     422);
    assert_int_equal(num(r, "error_count"), 3);
    expect_error(r, 0, 3, "duplicate_id", "id");
    expect_error(r, 1, 4, "wrong_enterprise", "enterprise_id");
    expect_error(r, 2, 5, "wrong_cell_count", NULL);
    json_decref(r);
    assert_int_equal(get_status("/v1/customers/F01", disp1_tok), 404);
}

/* Problems with the whole file, and with who may import where. */
static void test_file_errors(void **state)
{
    (void)state;
    json_t *r;
    const char *ok = "id,name,kind,lon,lat\nG01,x,household,119.7,49.2\n";
    assert_int_equal(
        http(&r, "POST", "/v1/import/customers", disp1_tok, "application/json", ok, strlen(ok)),
        415);
    assert_string_equal(error_code(r), "unsupported_media_type");
    json_decref(r);
    assert_int_equal(import_csv(&r, "/v1/import/orders", disp1_tok, ok), 404);
    json_decref(r);
    assert_int_equal(import_csv(&r, "/v1/import/customers", NULL, ok), 401);
    json_decref(r);
    /* Another enterprise's dispatcher, and an admin without an enterprise. */
    assert_int_equal(import_csv(&r, "/v1/import/customers?enterprise_id=E1", disp2_tok, ok), 403);
    json_decref(r);
    assert_int_equal(import_csv(&r, "/v1/import/customers", admin_tok, ok), 400);
    assert_string_equal(error_code(r), "missing_parameter");
    json_decref(r);
    assert_int_equal(import_csv(&r, "/v1/import/customers?skip_errors=yes", disp1_tok, ok), 400);
    assert_string_equal(error_code(r), "invalid_parameter");
    json_decref(r);

    assert_int_equal(import_csv(&r, "/v1/import/customers", disp1_tok,
                                "id,name,kind,lon,lat,colour\nG01,x,household,119.7,49.2,red\n"),
                     400);
    assert_string_equal(error_code(r), "unknown_column");
    assert_string_equal(str(json_object_get(r, "error"), "field"), "colour");
    json_decref(r);
    assert_int_equal(import_csv(&r, "/v1/import/customers", disp1_tok,
                                "id,name,kind,lon\nG01,x,household,119.7\n"),
                     400);
    assert_string_equal(error_code(r), "missing_column");
    assert_string_equal(str(json_object_get(r, "error"), "field"), "lat");
    json_decref(r);
    assert_int_equal(import_csv(&r, "/v1/import/customers", disp1_tok,
                                "id,name,kind,lon,lat\nG01,x\"y,household,119.7,49.2\n"),
                     400);
    assert_string_equal(error_code(r), "invalid_csv");
    json_decref(r);
    /* 张三 in GBK, as Excel saves a CSV on a Chinese Windows. */
    assert_int_equal(
        import_csv(&r, "/v1/import/customers", disp1_tok,
                   "id,name,kind,lon,lat\nG01,\xD5\xC5\xC8\xFD,household,119.7,49.2\n"),
        400);
    assert_string_equal(error_code(r), "invalid_csv");
    assert_non_null(strstr(str(json_object_get(r, "error"), "message"), "UTF-8"));
    json_decref(r);
    assert_int_equal(import_csv(&r, "/v1/import/customers", disp1_tok, ""), 400);
    json_decref(r);

    /* 1,500 bad rows: all counted, the first 1,000 listed. */
    struct text bad = {0};
    text_printf(&bad, "id,name,kind,lon,lat\n");
    for (int i = 1; i <= 1500; i++)
        text_printf(&bad, "K%05d,x,household,119.7,%s\n", i, i % 2 ? "95" : "north");
    assert_int_equal(import_csv(&r, "/v1/import/customers", disp1_tok, bad.s), 422);
    assert_int_equal(num(r, "error_count"), 1500);
    assert_int_equal(json_array_size(json_object_get(r, "errors")), 1000);
    expect_error(r, 999, 1000, "invalid_field", "lat");
    json_decref(r);
    free(bad.s);

    /* One row more than the cap (20,000). */
    struct text t = {0};
    text_printf(&t, "id,name,kind,lon,lat\n");
    for (int i = 0; i <= 20000; i++)
        text_printf(&t, "H%05d,x,household,119.7,49.2\n", i);
    assert_int_equal(import_csv(&r, "/v1/import/customers", disp1_tok, t.s), 413);
    assert_string_equal(error_code(r), "too_many_rows");
    json_decref(r);
    free(t.s);
    assert_int_equal(get_status("/v1/customers/G01", disp1_tok), 404);
    assert_int_equal(get_status("/v1/customers/H00001", disp1_tok), 404);
}

/* Zones from a FeatureCollection; one lies outside the supply area. */
static void test_zones_geojson(void **state)
{
    (void)state;
    char g1[512], g2[512], g3[512], fc[4096];
    snprintf(fc, sizeof(fc),
             "{\"type\":\"FeatureCollection\",\"features\":["
             "{\"type\":\"Feature\",\"properties\":{\"id\":\"Z1\",\"name\":\"西区\","
             "\"speed_limit_kmh\":40},\"geometry\":%s},"
             "{\"type\":\"Feature\",\"properties\":{\"id\":\"Z2\",\"name\":\"东区\","
             "\"expressway\":true},\"geometry\":%s},"
             "{\"type\":\"Feature\",\"properties\":{\"id\":\"Z9\",\"name\":\"Beyond\"},"
             "\"geometry\":%s}]}",
             rect(g1, sizeof(g1), 119.60, 49.15, 119.75, 49.30),
             rect(g2, sizeof(g2), 119.75, 49.15, 119.90, 49.30),
             rect(g3, sizeof(g3), 119.85, 49.15, 120.10, 49.30));
    json_t *r;
    assert_int_equal(
        http(&r, "POST", "/v1/import/zones", disp1_tok, "application/geo+json", fc, strlen(fc)),
        422);
    assert_int_equal(num(r, "rows"), 3);
    assert_int_equal(num(r, "error_count"), 1);
    expect_error(r, 0, 3, "zone_outside_service_area", "geometry");
    assert_string_equal(str(json_array_get(json_object_get(r, "errors"), 0), "id"), "Z9");
    json_decref(r);
    assert_int_equal(get_status("/v1/zones/Z1", disp1_tok), 404);

    /* An admin names the enterprise. */
    assert_int_equal(http(&r, "POST", "/v1/import/zones?skip_errors=true&enterprise_id=E1",
                          admin_tok, "application/geo+json", fc, strlen(fc)),
                     200);
    assert_int_equal(num(r, "imported"), 2);
    json_decref(r);
    json_t *z;
    assert_int_equal(api(&z, "GET", "/v1/zones/Z1", disp1_tok, NULL), 200);
    assert_string_equal(str(z, "name"), "西区");
    assert_int_equal(num(z, "speed_limit_kmh"), 40);
    json_decref(z);
    assert_int_equal(api(&z, "GET", "/v1/zones/Z2", disp1_tok, NULL), 200);
    assert_true(json_is_true(json_object_get(z, "expressway")));
    json_decref(z);

    /* A bad geometry is reported at its path in the Feature; not a Feature collection: 400. */
    const char *bad = "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\","
                      "\"properties\":{\"id\":\"Z5\",\"name\":\"x\"},\"geometry\":"
                      "{\"type\":\"Point\",\"coordinates\":[119.7,49.2]}},"
                      "{\"type\":\"Feature\",\"properties\":{\"id\":\"Z6\",\"nmae\":\"x\"},"
                      "\"geometry\":null},"
                      "{\"type\":\"Feature\",\"properties\":{\"id\":\"Z7\",\"name\":\"Bow-tie\"},"
                      "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[119.65,49.2],"
                      "[119.7,49.25],[119.7,49.2],[119.65,49.25],[119.65,49.2]]]}}]}";
    assert_int_equal(
        http(&r, "POST", "/v1/import/zones", disp1_tok, "application/json", bad, strlen(bad)), 422);
    assert_int_equal(num(r, "error_count"), 3);
    json_t *e0 = json_array_get(json_object_get(r, "errors"), 0);
    assert_int_equal(strncmp(str(e0, "field"), "geometry", 8), 0);
    expect_error(r, 1, 2, "unknown_field", "properties.nmae");
    /* A self-crossing zone: invalid_geometry at its first crossing edge's vertex. */
    expect_error(r, 2, 3, "invalid_geometry", "geometry.coordinates[0][0]");
    json_decref(r);
    const char *notfc = "{\"type\":\"Polygon\",\"coordinates\":[]}";
    assert_int_equal(
        http(&r, "POST", "/v1/import/zones", disp1_tok, "application/json", notfc, strlen(notfc)),
        400);
    assert_string_equal(error_code(r), "invalid_geojson");
    json_decref(r);
}

/* Vehicles first, then staff binding them: both sides of each binding are written. */
static void test_vehicles_then_staff(void **state)
{
    (void)state;
    json_t *r;
    assert_int_equal(import_csv(&r, "/v1/import/vehicles", disp1_tok,
                                "id,plate,kind,permit_no,permit_expiry,capacity\r\n"
                                "V1,蒙E12345,van,P-1,2030-01-01,20\r\n"
                                "V2,蒙E54321,tricycle,P-2,2030-01-01,10\r\n"
                                "V3,蒙E00003,van,P-3,2030-01-01,20\r\n"),
                     200);
    assert_int_equal(num(r, "imported"), 3);
    json_decref(r);

    /* An order that waits: nobody works the zone of customer C00002 yet. */
    json_t *o;
    assert_int_equal(api(&o, "POST", "/v1/orders", disp1_tok,
                         "{\"id\":\"O1\",\"customer_id\":\"C00002\",\"items\":[{\"spec\":"
                         "\"YSP-12\",\"count\":1}]}"),
                     201);
    assert_string_equal(str(o, "state"), "created");
    json_decref(o);

    const char *staff =
        "id,name,role,qualification_no,qualification_expiry,training_no,training_expiry,"
        "zone_id,vehicle_id,on_duty,qualification_from\r\n"
        "S1,王伟,delivery,Q-1,2030-01-01,T-1,2030-01-01,Z1,V1,TRUE,2025-01-01\r\n"
        "S2,李娜,delivery,Q-2,2030-01-01,T-2,2030-01-01,Z2,V2,true,\r\n"
        "S3,赵六,delivery,,,,,Z1,V1,false,\r\n" /* row 3: V1 was taken by row 1 */
        "S4,钱七,delivery,,,,,Z404,,false,\r\n" /* row 4: no such zone */
        "S5,孙八,driver,,,,,,V9,false,\r\n";    /* row 5: no such vehicle */
    assert_int_equal(import_csv(&r, "/v1/import/staff", disp1_tok, staff), 422);
    assert_int_equal(num(r, "error_count"), 3);
    expect_error(r, 0, 3, "vehicle_already_bound", "vehicle_id");
    expect_error(r, 1, 4, "unknown_reference", "zone_id");
    expect_error(r, 2, 5, "unknown_reference", "vehicle_id");
    json_decref(r);
    json_t *v;
    assert_int_equal(api(&v, "GET", "/v1/vehicles/V1", disp1_tok, NULL), 200);
    assert_true(json_is_null(json_object_get(v, "staff_id")));
    json_decref(v);

    assert_int_equal(import_csv(&r, "/v1/import/staff?skip_errors=true", disp1_tok, staff), 200);
    assert_int_equal(num(r, "imported"), 2);
    json_decref(r);
    assert_int_equal(api(&v, "GET", "/v1/vehicles/V1", disp1_tok, NULL), 200);
    assert_string_equal(str(v, "staff_id"), "S1");
    json_decref(v);
    assert_int_equal(api(&v, "GET", "/v1/vehicles/V2", disp1_tok, NULL), 200);
    assert_string_equal(str(v, "staff_id"), "S2");
    json_decref(v);
    assert_int_equal(api(&v, "GET", "/v1/vehicles/V3", disp1_tok, NULL), 200);
    assert_true(json_is_null(json_object_get(v, "staff_id")));
    json_decref(v);
    json_t *s;
    assert_int_equal(api(&s, "GET", "/v1/staff/S1", disp1_tok, NULL), 200);
    assert_string_equal(str(s, "vehicle_id"), "V1");
    assert_string_equal(str(s, "name"), "王伟");
    assert_true(json_is_true(json_object_get(s, "on_duty")));
    assert_string_equal(str(s, "qualification_from"), "2025-01-01");
    json_decref(s);
    assert_int_equal(api(&s, "GET", "/v1/staff/S2", disp1_tok, NULL), 200);
    assert_true(json_is_null(json_object_get(s, "qualification_from")));
    json_decref(s);

    /* The import was followed by a re-matching pass: S1 (zone Z1, V1, on duty) takes O1. */
    const char *state_now = NULL;
    for (int i = 0; i < 100; i++) {
        assert_int_equal(api(&o, "GET", "/v1/orders/O1", disp1_tok, NULL), 200);
        state_now = strcmp(str(o, "state"), "assigned") == 0 ? "assigned" : "created";
        if (strcmp(state_now, "assigned") == 0)
            break;
        json_decref(o);
        o = NULL;
        harness_sleep_ms(50);
    }
    assert_string_equal(state_now, "assigned");
    assert_string_equal(str(o, "staff_id"), "S1");
    json_decref(o);

    /* The mirror: a vehicle row binding a person of an earlier import. */
    assert_int_equal(
        import_csv(&r, "/v1/import/staff", disp1_tok, "id,name,role,zone_id\nS6,周九,driver,Z2\n"),
        200);
    json_decref(r);
    assert_int_equal(import_csv(&r, "/v1/import/vehicles", disp1_tok,
                                "id,plate,kind,capacity,staff_id\n"
                                "V6,蒙E00006,van,20,S6\n"
                                "V7,蒙E00007,van,20,S6\n"), /* row 2: S6 drives V6 now */
                     422);
    expect_error(r, 0, 2, "staff_already_bound", "staff_id");
    json_decref(r);
    assert_int_equal(import_csv(&r, "/v1/import/vehicles", disp1_tok,
                                "id,plate,kind,capacity,staff_id\n"
                                "V6,蒙E00006,van,20,S6\n"),
                     200);
    json_decref(r);
    assert_int_equal(api(&s, "GET", "/v1/staff/S6", disp1_tok, NULL), 200);
    assert_string_equal(str(s, "vehicle_id"), "V6");
    json_decref(s);

    /* A vehicle's station (issue 13): one of the enterprise's, or the row is refused. */
    json_t *st = NULL;
    assert_int_equal(api(&st, "POST", "/v1/stations", disp1_tok,
                         "{\"id\":\"ST1\",\"name\":\"Depot\",\"center\":{\"lon\":119.7,"
                         "\"lat\":49.2},\"radius_m\":120}"),
                     201);
    json_decref(st);
    assert_int_equal(import_csv(&r, "/v1/import/vehicles", disp1_tok,
                                "id,plate,kind,capacity,station_id\n"
                                "V8,蒙E00008,van,20,ST1\n"
                                "V9,蒙E00009,van,20,ST404\n"),
                     422);
    expect_error(r, 0, 2, "unknown_reference", "station_id");
    json_decref(r);
    assert_int_equal(import_csv(&r, "/v1/import/vehicles", disp1_tok,
                                "id,plate,kind,capacity,station_id\nV8,蒙E00008,van,20,ST1\n"),
                     200);
    json_decref(r);
    assert_int_equal(api(&v, "GET", "/v1/vehicles/V8", disp1_tok, NULL), 200);
    assert_string_equal(str(v, "station_id"), "ST1");
    json_decref(v);
}

/* What was imported is in Redis: a restarted dispatchd loads it back. */
/* Cylinders (一瓶一码) by CSV: typed cells, a spec and a date refused with their row, an
 * other enterprise's dispatcher cannot see them; imported cylinders are in stock. */
static void test_cylinders_csv(void **state)
{
    (void)state;
    const char *csv = "id,spec,manufacturer,serial,manufactured,next_inspection,"
                      "service_life_years,blacklisted,blacklist_reason\n"
                      "HLR-0001,YSP-35.5,Hulun Steel,G123,2024-03-01,2028-03-01,,,\n"
                      "HLR-0002,YSP-118-II,Hulun Steel,G124,2024-03-01,2028-03-01,10,FALSE,\n"
                      "HLR-0003,YSP-99,Hulun Steel,G125,2024-03-01,2028-03-01,,,\n"
                      "HLR-0004,YSP-12,Hulun Steel,G126,2024-03-01,2020-01-01,,,\n"
                      "HLR-0005,YSP-12,Hulun Steel,G127,2024-03-01,2028-03-01,,TRUE,\n";
    json_t *r;
    assert_int_equal(import_csv(&r, "/v1/import/cylinders", disp1_tok, csv), 422);
    assert_int_equal(num(r, "rows"), 5);
    assert_int_equal(num(r, "valid"), 2);
    expect_error(r, 0, 3, "invalid_field", "spec");
    expect_error(r, 1, 4, "invalid_field", "next_inspection");
    expect_error(r, 2, 5, "invalid_field", "blacklist_reason");
    json_decref(r);
    assert_int_equal(import_csv(&r, "/v1/import/cylinders?skip_errors=true", disp1_tok, csv), 200);
    assert_int_equal(num(r, "imported"), 2);
    json_decref(r);
    json_t *c;
    assert_int_equal(http(&c, "GET", "/v1/cylinders/HLR-0002", disp1_tok, NULL, NULL, 0), 200);
    assert_string_equal(str(c, "status"), "in_stock");
    assert_string_equal(str(c, "enterprise_id"), "E1");
    assert_int_equal(num(c, "service_life_years"), 10);
    json_decref(c);
    assert_int_equal(get_status("/v1/cylinders/HLR-0001", disp2_tok), 404);
}

static void test_restart_keeps_imports(void **state)
{
    (void)state;
    int st = harness_proc_stop(&stack.d.proc, SIGTERM, 10000);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_int_equal(harness_dispatchd_start(&stack.d, stack.dir, stack.redis.port, dispatchd_args),
                     0);
    assert_int_equal(harness_http_wait_status(stack.d.http_port, "/healthz", 200, 10000), 0);
    login("disp1", "dispatcher-one-pw", disp1_tok);
    json_t *j;
    assert_int_equal(api(&j, "GET", "/v1/customers/C00042", disp1_tok, NULL), 200);
    assert_string_equal(str(j, "name"), "王芳42");
    json_decref(j);
    assert_int_equal(api(&j, "GET", "/v1/vehicles/V1", disp1_tok, NULL), 200);
    assert_string_equal(str(j, "staff_id"), "S1");
    json_decref(j);
    assert_int_equal(get_status("/v1/zones/Z2", disp1_tok), 200);
    assert_int_equal(count_customers(disp1_tok), 2007);
}

/* 10,000 customers in one request (about 1.3 MB), timed. */
static void test_import_10000_customers(void **state)
{
    (void)state;
    struct text t = {0};
    gen_customers(&t, "T", 10000);
    json_t *r;
    double t0 = now_s();
    int st = import_csv(&r, "/v1/import/customers", disp1_tok, t.s);
    double dt = now_s() - t0;
    assert_int_equal(st, 200);
    assert_int_equal(num(r, "imported"), 10000);
    json_decref(r);
    printf("import: 10000 customers (%zu bytes of CSV) in %.0f ms\n", t.n, dt * 1000.0);
    free(t.s);
    assert_int_equal(count_customers(disp1_tok), 12007);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_onboard),
        cmocka_unit_test(test_import_2000_customers),
        cmocka_unit_test(test_bad_rows),
        cmocka_unit_test(test_file_errors),
        cmocka_unit_test(test_zones_geojson),
        cmocka_unit_test(test_vehicles_then_staff),
        cmocka_unit_test(test_cylinders_csv),
        cmocka_unit_test(test_restart_keeps_imports),
        cmocka_unit_test(test_import_10000_customers),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
