/* test_openapi_tour.c -- the operations of docs/openapi.yaml that no other integration test
 * calls, over the real dispatchd and Redis, so that the contract check
 * (tests/docs/check_openapi.py, after every integration test) validates their responses too:
 * the lists of enterprises, vehicles and cylinders, PATCH of a customer and of a cylinder.
 * The statuses and a field or two are asserted here; the shapes by the check.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static struct harness_stack stack;
static char admin[64];

/* One request as the admin; status, and the reply parsed into *out (caller decrefs). */
static int api(json_t **out, const char *method, const char *path, const char *body)
{
    char hdr[128];
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", admin);
    static char resp[1 << 16];
    int status = -1;
    *out = NULL;
    if (harness_http_req(stack.d.http_port, method, path, hdr, body, &status, resp, sizeof(resp)) !=
        0)
        return -1;
    *out = json_loads(resp, 0, NULL);
    return status;
}

static void expect(int want, const char *method, const char *path, const char *body, json_t **out)
{
    json_t *j = NULL;
    int st = api(&j, method, path, body);
    if (st != want) {
        char *s = j ? json_dumps(j, 0) : NULL;
        fail_msg("%s %s -> %d, want %d: %s", method, path, st, want, s ? s : "");
    }
    if (out)
        *out = j;
    else
        json_decref(j);
}

static int setup(void **state)
{
    (void)state;
    if (harness_stack_start(&stack, "openapi", NULL) != 0 ||
        harness_stack_admin_token(&stack, admin) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return harness_stack_stop(&stack) == 0 ? 0 : -1;
}

static size_t n_items(json_t *page)
{
    return json_array_size(json_object_get(page, "items"));
}

static void test_untested_operations(void **state)
{
    (void)state;
    json_t *j = NULL;
    expect(201, "POST", "/v1/enterprises",
           "{\"id\":\"E1\",\"name\":\"Hailar Gas\",\"area\":{\"type\":\"Polygon\",\"coordinates\":"
           "[[[119.6,49.15],[119.9,49.15],[119.9,49.3],[119.6,49.3],[119.6,49.15]]]}}",
           NULL);
    expect(200, "GET", "/v1/enterprises?limit=10", NULL, &j);
    assert_int_equal(n_items(j), 1);
    json_decref(j);

    expect(201, "POST", "/v1/vehicles",
           "{\"id\":\"V1\",\"enterprise_id\":\"E1\",\"plate\":\"P-1\",\"kind\":\"van\","
           "\"capacity\":20}",
           NULL);
    expect(200, "GET", "/v1/vehicles?enterprise_id=E1", NULL, &j);
    assert_int_equal(n_items(j), 1);
    json_decref(j);

    expect(201, "POST", "/v1/customers",
           "{\"id\":\"C1\",\"enterprise_id\":\"E1\",\"name\":\"Noodle house\",\"kind\":"
           "\"restaurant\",\"location\":{\"lon\":119.74,\"lat\":49.21}}",
           NULL);
    expect(200, "PATCH", "/v1/customers/C1",
           "{\"address\":\"12 Zhongyang St\",\"premises\":[\"high_rise_residential\"]}", &j);
    assert_string_equal(json_string_value(json_object_get(j, "address")), "12 Zhongyang St");
    json_decref(j);

    expect(201, "POST", "/v1/cylinders",
           "{\"id\":\"CY1\",\"enterprise_id\":\"E1\",\"spec\":\"YSP-12\","
           "\"manufactured\":\"2024-03-01\"}",
           NULL);
    expect(200, "GET", "/v1/cylinders?enterprise_id=E1&status=in_stock", NULL, &j);
    assert_int_equal(n_items(j), 1);
    json_decref(j);
    expect(200, "PATCH", "/v1/cylinders/CY1", "{\"serial\":\"HLR-000001\"}", &j);
    assert_string_equal(json_string_value(json_object_get(j, "serial")), "HLR-000001");
    json_decref(j);
    /* A refusal of a PATCH: the error shape of the contract. */
    expect(400, "PATCH", "/v1/cylinders/CY1", "{\"status\":\"lost\"}", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_untested_operations)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
