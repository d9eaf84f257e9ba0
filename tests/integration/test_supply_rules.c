/* test_supply_rules.c -- who may be supplied at all (issue 14 item 4), through HTTP against real
 * Redis and dispatchd: an enterprise whose gas business licence has expired takes no orders; a
 * reseller is supplied only with a gas business licence in force; a truck takes orders only with
 * a certified escort bound beside its driver; an escort rides in one vehicle at a time. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct harness_stack stack;
static char tok[64], auth[128], secret[64];

static int req(const char *method, const char *path, const char *body, char *resp, size_t cap)
{
    int status = 0;
    if (harness_http_req(stack.d.http_port, method, path, auth, body, &status, resp, cap) != 0)
        return -1;
    return status;
}

/* The local (UTC+8) day `days` from today, YYYY-MM-DD. */
static void local_day(int days, char out[40])
{
    time_t s = time(NULL) + 8 * 3600 + (time_t)days * 86400;
    struct tm tm;
    gmtime_r(&s, &tm);
    snprintf(out, 40, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

static int setup(void **state)
{
    (void)state;
    if (harness_stack_start(&stack, "supply", NULL) != 0 ||
        harness_stack_device(&stack, "H1", secret) != 0 ||
        harness_stack_admin_token(&stack, tok) != 0)
        return -1;
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", tok);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return harness_stack_stop(&stack) == 0 ? 0 : -1;
}

static const char area[] = "\"area\":{\"type\":\"Polygon\",\"coordinates\":[[[119.0,48.9],[120.5,"
                           "48.9],[120.5,49.5],[119.0,49.5],[119.0,48.9]]]}";

/* Enterprise EX's licence ran out yesterday: an order is refused with 422
 * enterprise_licence_expired, naming the licence and its day; EY's, valid until today, is not. */
static void test_expired_enterprise_licence_stops_orders(void **state)
{
    (void)state;
    static char body[2048], resp[8192];
    char yesterday[40], today[40];
    local_day(-1, yesterday);
    local_day(0, today);
    const char *ids[2] = {"EX", "EY"};
    const char *days[2] = {yesterday, today};
    for (int i = 0; i < 2; i++) {
        snprintf(body, sizeof(body),
                 "{\"id\":\"%s\",\"name\":\"Gas %s\",\"licence_no\":\"GL-%s\",\"licence_expiry\":"
                 "\"%s\",%s}",
                 ids[i], ids[i], ids[i], days[i], area);
        assert_int_equal(req("POST", "/v1/enterprises", body, resp, sizeof(resp)), 201);
        snprintf(body, sizeof(body),
                 "{\"id\":\"C-%s\",\"enterprise_id\":\"%s\",\"name\":\"A\",\"kind\":\"household\","
                 "\"location\":{\"lon\":119.7,\"lat\":49.2},\"contract_no\":\"S1\"}",
                 ids[i], ids[i]);
        assert_int_equal(req("POST", "/v1/customers", body, resp, sizeof(resp)), 201);
    }
    assert_int_equal(req("POST", "/v1/orders",
                         "{\"id\":\"O-X\",\"enterprise_id\":\"EX\",\"customer_id\":\"C-EX\","
                         "\"items\":[{\"spec\":\"YSP-12\",\"count\":1}]}",
                         resp, sizeof(resp)),
                     422);
    assert_non_null(strstr(resp, "\"code\":\"enterprise_licence_expired\""));
    assert_non_null(strstr(resp, "\"field\":\"enterprise_id\""));
    char want[128];
    snprintf(want, sizeof(want), "licence GL-EX expired on %s", yesterday);
    assert_non_null(strstr(resp, want));
    assert_int_equal(req("POST", "/v1/orders",
                         "{\"id\":\"O-Y\",\"enterprise_id\":\"EY\",\"customer_id\":\"C-EY\","
                         "\"items\":[{\"spec\":\"YSP-12\",\"count\":1}]}",
                         resp, sizeof(resp)),
                     201);
}

/* Resellers of E0: R1 has no licence, R2's ran out yesterday, R3's runs until today. Only R3 is
 * supplied; the refusals name the customer and the licence. */
static void test_reseller_needs_a_licence_in_force(void **state)
{
    (void)state;
    static char body[2048], resp[8192];
    char yesterday[40], today[40];
    local_day(-1, yesterday);
    local_day(0, today);
    const char *licence[3] = {"", "", ""};
    static char l2[128], l3[128];
    snprintf(l2, sizeof(l2), ",\"licence_no\":\"GL-R2\",\"licence_expiry\":\"%s\"", yesterday);
    snprintf(l3, sizeof(l3), ",\"licence_no\":\"GL-R3\",\"licence_expiry\":\"%s\"", today);
    licence[1] = l2;
    licence[2] = l3;
    const char *want[3] = {"reseller_unlicensed", "reseller_licence_expired", NULL};
    for (int i = 0; i < 3; i++) {
        snprintf(body, sizeof(body),
                 "{\"id\":\"R%d\",\"enterprise_id\":\"E0\",\"name\":\"Shop\",\"kind\":"
                 "\"reseller\",\"location\":{\"lon\":119.7,\"lat\":49.2},\"contract_no\":"
                 "\"S-R\"%s}",
                 i + 1, licence[i]);
        assert_int_equal(req("POST", "/v1/customers", body, resp, sizeof(resp)), 201);
        assert_non_null(strstr(resp, "\"kind\":\"reseller\""));
        snprintf(body, sizeof(body),
                 "{\"id\":\"O-R%d\",\"enterprise_id\":\"E0\",\"customer_id\":\"R%d\","
                 "\"items\":[{\"spec\":\"YSP-12\",\"count\":1}]}",
                 i + 1, i + 1);
        int st = req("POST", "/v1/orders", body, resp, sizeof(resp));
        if (want[i] == NULL) {
            assert_int_equal(st, 201);
            continue;
        }
        assert_int_equal(st, 422);
        char code[80];
        snprintf(code, sizeof(code), "\"code\":\"%s\"", want[i]);
        assert_non_null(strstr(resp, code));
        assert_non_null(strstr(resp, "\"field\":\"customer_id\""));
        if (i == 1) { /* names the licence and its day */
            assert_non_null(strstr(resp, "GL-R2"));
            assert_non_null(strstr(resp, yesterday));
        }
    }
}

/* GET path until its body contains `needle` (bounded by HARNESS_REPLY_TIMEOUT_MS); the last body
 * is left in resp. */
static int wait_body(const char *path, const char *needle, char *resp, size_t cap)
{
    for (int i = 0; i < HARNESS_REPLY_TIMEOUT_MS / 20; i++) {
        if (req("GET", path, NULL, resp, cap) == 200 && strstr(resp, needle) != NULL)
            return 1;
        harness_sleep_ms(20);
    }
    fprintf(stderr, "GET %s never showed %s: %s\n", path, needle, resp);
    return 0;
}

/* S-H1, licensed and on duty in zone Z1, drives truck VT: an order of C1 (in Z1) waits, saying
 * the truck has no escort; a delivery person is refused as its escort (422 not_an_escort); once
 * escort ES1, of role escort with certificates in force, is bound beside the driver, the waiting
 * order is assigned to S-H1 on VT. */
static void test_truck_needs_a_certified_escort(void **state)
{
    (void)state;
    static char resp[8192];
    const char *calls[][3] = {
        {"POST", "/v1/zones",
         "{\"id\":\"Z1\",\"enterprise_id\":\"E0\",\"name\":\"West\",\"shape\":{\"type\":"
         "\"Polygon\",\"coordinates\":[[[119.6,49.15],[119.8,49.15],[119.8,49.3],[119.6,49.3],"
         "[119.6,49.15]]]}}"},
        {"POST", "/v1/vehicles",
         "{\"id\":\"VT\",\"enterprise_id\":\"E0\",\"plate\":\"T1\",\"kind\":\"truck\","
         "\"capacity\":10,\"staff_id\":\"S-H1\",\"permit_no\":\"DG-1\",\"permit_expiry\":"
         "\"2099-12-31\"}"},
        {"PATCH", "/v1/staff/S-H1",
         "{\"zone_id\":\"Z1\",\"on_duty\":true,\"qualification_no\":\"QC-1\","
         "\"qualification_expiry\":\"2099-12-31\",\"training_no\":\"ST-1\","
         "\"training_expiry\":\"2099-12-31\"}"},
        {"POST", "/v1/customers",
         "{\"id\":\"C1\",\"enterprise_id\":\"E0\",\"name\":\"A\",\"kind\":\"household\","
         "\"location\":{\"lon\":119.7,\"lat\":49.2},\"contract_no\":\"S1\"}"},
        {"POST", "/v1/staff",
         "{\"id\":\"D2\",\"enterprise_id\":\"E0\",\"name\":\"Li\",\"role\":\"delivery\"}"},
        {"POST", "/v1/staff",
         "{\"id\":\"ES1\",\"enterprise_id\":\"E0\",\"name\":\"Wang\",\"role\":\"escort\","
         "\"qualification_no\":\"QC-E\",\"qualification_expiry\":\"2099-12-31\","
         "\"training_no\":\"ST-E\",\"training_expiry\":\"2099-12-31\"}"},
    };
    for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
        int st = req(calls[i][0], calls[i][1], calls[i][2], resp, sizeof(resp));
        if (st != 200 && st != 201)
            fail_msg("%s %s -> %d: %s", calls[i][0], calls[i][1], st, resp);
    }
    assert_int_equal(req("POST", "/v1/orders",
                         "{\"id\":\"O-T\",\"enterprise_id\":\"E0\",\"customer_id\":\"C1\","
                         "\"items\":[{\"spec\":\"YSP-12\",\"count\":1}]}",
                         resp, sizeof(resp)),
                     201);
    assert_non_null(strstr(resp, "\"state\":\"created\""));
    assert_non_null(strstr(resp, "no escort on board"));

    assert_int_equal(req("PATCH", "/v1/vehicles/VT", "{\"escort_id\":\"D2\"}", resp, sizeof(resp)),
                     422);
    assert_non_null(strstr(resp, "\"code\":\"not_an_escort\""));
    assert_int_equal(
        req("PATCH", "/v1/vehicles/VT", "{\"escort_id\":\"NOBODY\"}", resp, sizeof(resp)), 422);
    assert_non_null(strstr(resp, "\"code\":\"unknown_reference\""));

    assert_int_equal(req("PATCH", "/v1/vehicles/VT", "{\"escort_id\":\"ES1\"}", resp, sizeof(resp)),
                     200);
    assert_non_null(strstr(resp, "\"escort_id\":\"ES1\""));
    assert_true(wait_body("/v1/orders/O-T", "\"state\":\"assigned\"", resp, sizeof(resp)));
    assert_non_null(strstr(resp, "\"vehicle_id\":\"VT\""));
}

/* POST a CSV import (the harness's requests are JSON); the exchange is recorded for the check
 * against docs/openapi.yaml like the others. Returns the status, the body in resp. */
static int import_csv(const char *path, const char *csv, char *resp, size_t cap)
{
    int fd = harness_tcp_connect(stack.d.http_port);
    if (fd < 0)
        return -1;
    char head[512];
    int n = snprintf(head, sizeof(head),
                     "POST %s HTTP/1.0\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
                     "Content-Type: text/csv\r\nContent-Length: %zu\r\n\r\n",
                     path, tok, strlen(csv));
    static char raw[16384];
    size_t used = 0;
    if (harness_send_all(fd, head, (size_t)n) == 0 && harness_send_all(fd, csv, strlen(csv)) == 0)
        for (;;) {
            int eof = 0;
            /* One byte at a time until the server closes (HTTP/1.0): a short reply. */
            if (used + 1 >= sizeof(raw) ||
                harness_recv_exact(fd, raw + used, 1, HARNESS_REPLY_TIMEOUT_MS, &eof) != 0)
                break;
            used++;
        }
    harness_close(fd);
    raw[used] = '\0';
    harness_http_record_raw("POST", path, raw, used);
    int status = -1;
    const char *sep = strstr(raw, "\r\n\r\n");
    if (sep == NULL || sscanf(raw, "HTTP/1.%*d %d", &status) != 1)
        return -1;
    snprintf(resp, cap, "%s", sep + 4);
    return status;
}

/* One vehicle per escort (issue 14): escort ES2 rides in van VA; naming ES2 for another vehicle
 * is refused with 409 escort_in_use naming VA -- on create, on a PATCH, and on an import row
 * (two rows of one file naming one escort too: the second is refused, naming the first) --
 * and nothing of the refused write is stored. Clearing VA's escort_id frees ES2 at once. A
 * PATCH of VA that keeps its escort is not a conflict with itself. */
static void test_one_vehicle_per_escort(void **state)
{
    (void)state;
    static char resp[8192];
    const char *calls[][3] = {
        {"POST", "/v1/staff",
         "{\"id\":\"ES2\",\"enterprise_id\":\"E0\",\"name\":\"Zhao\",\"role\":\"escort\"}"},
        {"POST", "/v1/staff",
         "{\"id\":\"ES3\",\"enterprise_id\":\"E0\",\"name\":\"Qian\",\"role\":\"escort\"}"},
        {"POST", "/v1/vehicles",
         "{\"id\":\"VA\",\"enterprise_id\":\"E0\",\"plate\":\"A1\",\"kind\":\"van\","
         "\"capacity\":10,\"escort_id\":\"ES2\"}"},
        {"POST", "/v1/vehicles",
         "{\"id\":\"VB\",\"enterprise_id\":\"E0\",\"plate\":\"B1\",\"kind\":\"truck\","
         "\"capacity\":10}"},
        {"PATCH", "/v1/vehicles/VA", "{\"escort_id\":\"ES2\",\"capacity\":12}"},
    };
    for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
        int st = req(calls[i][0], calls[i][1], calls[i][2], resp, sizeof(resp));
        if (st != 200 && st != 201)
            fail_msg("%s %s -> %d: %s", calls[i][0], calls[i][1], st, resp);
    }

    /* create */
    assert_int_equal(req("POST", "/v1/vehicles",
                         "{\"id\":\"VC\",\"enterprise_id\":\"E0\",\"plate\":\"C1\",\"kind\":"
                         "\"truck\",\"capacity\":10,\"escort_id\":\"ES2\"}",
                         resp, sizeof(resp)),
                     409);
    assert_non_null(strstr(resp, "\"code\":\"escort_in_use\""));
    assert_non_null(strstr(resp, "\"field\":\"escort_id\""));
    assert_non_null(strstr(resp, "vehicle VA"));
    assert_int_equal(req("GET", "/v1/vehicles/VC", NULL, resp, sizeof(resp)), 404);

    /* patch */
    assert_int_equal(req("PATCH", "/v1/vehicles/VB", "{\"escort_id\":\"ES2\"}", resp, sizeof(resp)),
                     409);
    assert_non_null(strstr(resp, "\"code\":\"escort_in_use\""));
    assert_non_null(strstr(resp, "vehicle VA"));
    assert_int_equal(req("GET", "/v1/vehicles/VB", NULL, resp, sizeof(resp)), 200);
    assert_null(strstr(resp, "\"escort_id\":\"ES2\""));

    /* import: VD names VA's escort; VE takes the free ES3 and VF, a later row, names it too */
    static const char csv[] = "id,plate,kind,capacity,escort_id\n"
                              "VD,D1,truck,10,ES2\n"
                              "VE,E1,truck,10,ES3\n"
                              "VF,F1,truck,10,ES3\n";
    assert_int_equal(import_csv("/v1/import/vehicles?enterprise_id=E0", csv, resp, sizeof(resp)),
                     422);
    assert_non_null(strstr(resp, "\"error_count\":2"));
    assert_non_null(strstr(resp, "\"imported\":0"));
    const char *d = strstr(resp, "\"id\":\"VD\"");
    const char *f = strstr(resp, "\"id\":\"VF\"");
    assert_non_null(d);
    assert_non_null(f);
    assert_null(strstr(resp, "\"id\":\"VE\""));
    assert_non_null(strstr(d, "\"code\":\"escort_in_use\""));
    assert_non_null(strstr(d, "vehicle VA"));
    assert_non_null(strstr(f, "\"code\":\"escort_in_use\""));
    assert_non_null(strstr(f, "vehicle VE"));
    assert_int_equal(req("GET", "/v1/vehicles/VE", NULL, resp, sizeof(resp)), 404);

    /* Cleared on VA, ES2 is free: VB takes it. */
    assert_int_equal(req("PATCH", "/v1/vehicles/VA", "{\"escort_id\":null}", resp, sizeof(resp)),
                     200);
    assert_int_equal(req("PATCH", "/v1/vehicles/VB", "{\"escort_id\":\"ES2\"}", resp, sizeof(resp)),
                     200);
    assert_non_null(strstr(resp, "\"escort_id\":\"ES2\""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expired_enterprise_licence_stops_orders),
        cmocka_unit_test(test_reseller_needs_a_licence_in_force),
        cmocka_unit_test(test_truck_needs_a_certified_escort),
        cmocka_unit_test(test_one_vehicle_per_escort),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
