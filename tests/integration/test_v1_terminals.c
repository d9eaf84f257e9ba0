/* test_v1_terminals.c -- JT/T 808 terminals and vehicle units belong to vehicles, over the real
 * dispatchd and Redis (docs/http-api.md "Terminals", "Devices"):
 *
 *   - POST/GET/PATCH/DELETE /v1/terminals and the listing per enterprise, paged by id; the
 *     record never shows the code or its digest;
 *   - 409 already_exists for an id taken (also under other leading zeros, also by another
 *     enterprise: the same answer, naming nobody), 409 vehicle_has_terminal (one per vehicle);
 *   - tenancy: a dispatcher of EB cannot see, change, delete or bind EA's terminal, nor bind one
 *     to EA's vehicle (answered exactly like a terminal or vehicle that does not exist);
 *   - a restart keeps the terminals (loaded from Redis) and their codes;
 *   - a handset-protocol device bound to a vehicle: POST /v1/devices {"vehicle_id"}, its Hello
 *     opens a session with no person, its positions land on the vehicle, an order answer from it
 *     is refused (not_a_person).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"
#include "wire_client.h"

#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct harness_stack stack;
static char admin[64], disp_a[64], disp_b[64];

/* One request; status, and the reply parsed into *out (caller decrefs). */
static int api(json_t **out, const char *method, const char *path, const char *token,
               const char *body)
{
    if (out)
        *out = NULL;
    char hdr[128] = "";
    if (token)
        snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", token);
    static char resp[1 << 16];
    int status = -1;
    if (harness_http_req(stack.d.http_port, method, path, hdr, body, &status, resp, sizeof(resp)) !=
        0)
        return -1;
    if (out)
        *out = json_loads(resp, 0, NULL);
    return status;
}

static void ok(const char *path, const char *token, const char *body)
{
    json_t *j = NULL;
    int st = api(&j, "POST", path, token, body);
    if (st != 201) {
        char *s = j ? json_dumps(j, 0) : NULL;
        fail_msg("POST %s -> %d %s", path, st, s ? s : "");
    }
    json_decref(j);
}

static const char *str(json_t *j, const char *key)
{
    return json_string_value(json_object_get(j, key));
}

static const char *err_code(json_t *j)
{
    return str(json_object_get(j, "error"), "code");
}

static void login(const char *user, const char *password, char tok[64])
{
    char body[256];
    snprintf(body, sizeof(body), "{\"user\":\"%s\",\"password\":\"%s\"}", user, password);
    json_t *j = NULL;
    assert_int_equal(api(&j, "POST", "/v1/sessions", NULL, body), 201);
    snprintf(tok, 64, "%s", str(j, "token"));
    json_decref(j);
}

/* Expects status and error code; and, when no_leak, that nothing of EA shows in the answer. */
static void expect(const char *method, const char *path, const char *token, const char *body,
                   int want_status, const char *want_code, int no_leak)
{
    json_t *j = NULL;
    int st = api(&j, method, path, token, body);
    char *d = j ? json_dumps(j, 0) : NULL;
    if (st != want_status || (want_code && (!err_code(j) || strcmp(err_code(j), want_code) != 0)))
        fail_msg("%s %s %s -> %d %s; want %d %s", method, path, body ? body : "", st, d ? d : "",
                 want_status, want_code ? want_code : "");
    if (no_leak && d && (strstr(d, "EA") || strstr(d, "VA") || strstr(d, "has_code")))
        fail_msg("%s %s: the answer shows EA's data: %s", method, path, d);
    free(d);
    json_decref(j);
}

#define AREA_A                                                                                     \
    "{\"type\":\"Polygon\",\"coordinates\":[[[119.6,49.15],[119.9,49.15],[119.9,49.3],"            \
    "[119.6,49.3],[119.6,49.15]]]}"
#define AREA_B                                                                                     \
    "{\"type\":\"Polygon\",\"coordinates\":[[[120.6,49.15],[120.9,49.15],[120.9,49.3],"            \
    "[120.6,49.3],[120.6,49.15]]]}"

static void vehicle(const char *token, const char *id, const char *ent)
{
    char body[512];
    snprintf(body, sizeof(body),
             "{\"id\":\"%s\",\"enterprise_id\":\"%s\",\"plate\":\"P-%s\",\"kind\":\"van\","
             "\"permit_no\":\"PN-%s\",\"permit_expiry\":\"2030-01-01\",\"capacity\":30}",
             id, ent, id, id);
    ok("/v1/vehicles", token, body);
}

static int setup(void **state)
{
    (void)state;
    if (harness_stack_start(&stack, "terminals", NULL) != 0 ||
        harness_stack_admin_token(&stack, admin) != 0)
        return -1;
    ok("/v1/enterprises", admin, "{\"id\":\"EA\",\"name\":\"Hailar Gas\",\"area\":" AREA_A "}");
    ok("/v1/enterprises", admin, "{\"id\":\"EB\",\"name\":\"Other Gas\",\"area\":" AREA_B "}");
    ok("/v1/users", admin,
       "{\"name\":\"disp-a\",\"role\":\"dispatcher\",\"enterprise_id\":\"EA\",\"password\":"
       "\"dispatcher-a-pw\"}");
    ok("/v1/users", admin,
       "{\"name\":\"disp-b\",\"role\":\"dispatcher\",\"enterprise_id\":\"EB\",\"password\":"
       "\"dispatcher-b-pw\"}");
    login("disp-a", "dispatcher-a-pw", disp_a);
    login("disp-b", "dispatcher-b-pw", disp_b);
    vehicle(disp_a, "VA1", "EA");
    vehicle(disp_a, "VA2", "EA");
    vehicle(disp_a, "VA3", "EA");
    vehicle(disp_b, "VB1", "EB");
    vehicle(disp_b, "VB2", "EB");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return harness_stack_stop(&stack) == 0 ? 0 : -1;
}

static void test_crud(void **state)
{
    (void)state;
    json_t *j = NULL;
    assert_int_equal(api(&j, "POST", "/v1/terminals", disp_a,
                         "{\"id\":\"13912345678\",\"vehicle_id\":\"VA1\",\"protocol\":\"jt808\"}"),
                     201);
    assert_string_equal(str(j, "id"), "13912345678");
    assert_string_equal(str(j, "vehicle_id"), "VA1");
    assert_string_equal(str(j, "enterprise_id"), "EA");
    assert_string_equal(str(j, "protocol"), "jt808");
    assert_true(json_is_false(json_object_get(j, "has_code")));
    assert_null(json_object_get(j, "code_digest"));
    json_decref(j);
    /* A preconfigured code: write-only. */
    assert_int_equal(api(&j, "POST", "/v1/terminals", disp_a,
                         "{\"id\":\"013800000002\",\"vehicle_id\":\"VA2\","
                         "\"auth_code\":\"authentication\"}"),
                     201);
    assert_true(json_is_true(json_object_get(j, "has_code")));
    assert_null(json_object_get(j, "auth_code"));
    assert_null(json_object_get(j, "code_digest"));
    json_decref(j);
    /* Found under any edition's leading zeros. */
    assert_int_equal(api(&j, "GET", "/v1/terminals/00000000013912345678", disp_a, NULL), 200);
    assert_string_equal(str(j, "id"), "13912345678");
    json_decref(j);
    /* Taken ids, however written; one terminal per vehicle. */
    expect("POST", "/v1/terminals", disp_a, "{\"id\":\"13912345678\",\"vehicle_id\":\"VA3\"}", 409,
           "already_exists", 0);
    expect("POST", "/v1/terminals", disp_a, "{\"id\":\"013912345678\",\"vehicle_id\":\"VA3\"}", 409,
           "already_exists", 0);
    expect("POST", "/v1/terminals", disp_a, "{\"id\":\"13900000009\",\"vehicle_id\":\"VA1\"}", 409,
           "vehicle_has_terminal", 0);
    /* Malformed. */
    expect("POST", "/v1/terminals", disp_a, "{\"id\":\"1391234567\",\"vehicle_id\":\"VA3\"}", 400,
           "invalid_field", 0);
    expect("POST", "/v1/terminals", disp_a, "{\"id\":\"4eb6fb4afd9e\",\"vehicle_id\":\"VA3\"}", 400,
           "invalid_field", 0);
    expect("POST", "/v1/terminals", disp_a,
           "{\"id\":\"13900000009\",\"vehicle_id\":\"VA3\",\"protocol\":\"gt06\"}", 400,
           "invalid_field", 0);
    expect("POST", "/v1/terminals", disp_a,
           "{\"id\":\"13900000009\",\"vehicle_id\":\"VA3\",\"auth_code\":\"a b\"}", 400,
           "invalid_field", 0);
    expect("POST", "/v1/terminals", disp_a, "{\"id\":\"13900000009\",\"vehicle\":\"VA3\"}", 400,
           "unknown_field", 0);
    expect("POST", "/v1/terminals", disp_a, "{\"id\":\"13900000009\",\"vehicle_id\":\"VX\"}", 422,
           "unknown_reference", 0);
    /* Re-bound, then a code set: the answer shows has_code, never the code. */
    assert_int_equal(
        api(&j, "PATCH", "/v1/terminals/13912345678", disp_a, "{\"vehicle_id\":\"VA3\"}"), 200);
    assert_string_equal(str(j, "vehicle_id"), "VA3");
    json_decref(j);
    expect("PATCH", "/v1/terminals/13912345678", disp_a, "{\"vehicle_id\":\"VA2\"}", 409,
           "vehicle_has_terminal", 0);
    assert_int_equal(
        api(&j, "PATCH", "/v1/terminals/13912345678", disp_a, "{\"auth_code\":\"123456\"}"), 200);
    assert_true(json_is_true(json_object_get(j, "has_code")));
    assert_string_equal(str(j, "vehicle_id"), "VA3");
    json_decref(j);
    /* Listing: paged by id. */
    assert_int_equal(api(&j, "GET", "/v1/terminals?limit=1", disp_a, NULL), 200);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 1);
    assert_string_equal(str(json_array_get(json_object_get(j, "items"), 0), "id"), "013800000002");
    assert_string_equal(str(j, "next_after"), "013800000002");
    json_decref(j);
    assert_int_equal(api(&j, "GET", "/v1/terminals?after=013800000002", disp_a, NULL), 200);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 1);
    assert_string_equal(str(json_array_get(json_object_get(j, "items"), 0), "id"), "13912345678");
    assert_true(json_is_null(json_object_get(j, "next_after")));
    json_decref(j);
    /* Deleted: gone, and the vehicle free again. */
    assert_int_equal(api(&j, "DELETE", "/v1/terminals/013800000002", disp_a, NULL), 200);
    assert_string_equal(str(j, "id"), "013800000002");
    json_decref(j);
    expect("GET", "/v1/terminals/013800000002", disp_a, NULL, 404, "not_found", 0);
    expect("DELETE", "/v1/terminals/013800000002", disp_a, NULL, 404, "not_found", 0);
    ok("/v1/terminals", disp_a, "{\"id\":\"13800000003\",\"vehicle_id\":\"VA2\"}");
}

static void test_tenancy(void **state)
{
    (void)state;
    /* EB's own terminal. */
    ok("/v1/terminals", disp_b, "{\"id\":\"15000000001\",\"vehicle_id\":\"VB1\"}");
    /* EA's terminal is EB's "no such terminal"; EA's id taken answers as any taken id. */
    expect("GET", "/v1/terminals/13912345678", disp_b, NULL, 404, "not_found", 1);
    expect("GET", "/v1/terminals/13999999999", disp_b, NULL, 404, "not_found", 1);
    expect("PATCH", "/v1/terminals/13912345678", disp_b, "{\"vehicle_id\":\"VB2\"}", 404,
           "not_found", 1);
    expect("PATCH", "/v1/terminals/13912345678", disp_b, "{\"auth_code\":\"stolen\"}", 404,
           "not_found", 1);
    expect("DELETE", "/v1/terminals/13912345678", disp_b, NULL, 404, "not_found", 1);
    expect("POST", "/v1/terminals", disp_b, "{\"id\":\"13912345678\",\"vehicle_id\":\"VB2\"}", 409,
           "already_exists", 1);
    /* EA's vehicle is EB's "no such vehicle", for a new terminal and for a re-binding. */
    expect("POST", "/v1/terminals", disp_b, "{\"id\":\"15000000002\",\"vehicle_id\":\"VA1\"}", 422,
           "unknown_reference", 1);
    expect("PATCH", "/v1/terminals/15000000001", disp_b, "{\"vehicle_id\":\"VA1\"}", 422,
           "unknown_reference", 1);
    expect("PATCH", "/v1/terminals/13912345678", disp_a, "{\"vehicle_id\":\"VB2\"}", 422,
           "unknown_reference", 0);
    /* EB lists its own only; an admin any enterprise, or all. */
    json_t *j = NULL;
    assert_int_equal(api(&j, "GET", "/v1/terminals", disp_b, NULL), 200);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 1);
    assert_string_equal(str(json_array_get(json_object_get(j, "items"), 0), "id"), "15000000001");
    json_decref(j);
    expect("GET", "/v1/terminals?enterprise_id=EA", disp_b, NULL, 403, "wrong_enterprise", 0);
    assert_int_equal(api(&j, "GET", "/v1/terminals?enterprise_id=EA", admin, NULL), 200);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 2);
    json_decref(j);
    assert_int_equal(api(&j, "GET", "/v1/terminals", admin, NULL), 200);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 3);
    json_decref(j);
    /* Nothing of EA's terminal changed. */
    assert_int_equal(api(&j, "GET", "/v1/terminals/13912345678", disp_a, NULL), 200);
    assert_string_equal(str(j, "vehicle_id"), "VA3");
    json_decref(j);
}

static char unit_secret[64];

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_vehicle_unit(void **state)
{
    (void)state;
    json_t *j = NULL;
    assert_int_equal(
        api(&j, "POST", "/v1/devices", disp_a, "{\"device_id\":\"U1\",\"vehicle_id\":\"VA1\"}"),
        201);
    assert_string_equal(str(j, "vehicle_id"), "VA1");
    assert_null(json_object_get(j, "staff_id"));
    snprintf(unit_secret, sizeof(unit_secret), "%s", str(j, "secret"));
    json_decref(j);
    expect("POST", "/v1/devices", disp_b, "{\"device_id\":\"U2\",\"vehicle_id\":\"VA1\"}", 422,
           "unknown_reference", 1);
    expect("POST", "/v1/devices", disp_b, "{\"device_id\":\"U1\",\"vehicle_id\":\"VB1\"}", 409,
           "already_exists", 1);
    expect("POST", "/v1/devices", disp_a,
           "{\"device_id\":\"U2\",\"vehicle_id\":\"VA1\",\"staff_id\":\"S1\"}", 400,
           "invalid_field", 0);
    /* Device ids and terminal ids are one namespace, both ways. */
    expect("POST", "/v1/devices", disp_a, "{\"device_id\":\"13912345678\",\"vehicle_id\":\"VA2\"}",
           409, "already_exists", 0);
    ok("/v1/devices", disp_a, "{\"device_id\":\"15500000001\",\"vehicle_id\":\"VA2\"}");
    expect("POST", "/v1/terminals", disp_a, "{\"id\":\"15500000001\",\"vehicle_id\":\"VA1\"}", 409,
           "already_exists", 0);
    int fd = wire_login(stack.d.handset_port, "U1", unit_secret);
    assert_true(fd >= 0);
    Lpg__V1__Fix fx[2];
    int64_t t = now_ms() - 5000;
    wire_fix_3d(&fx[0], 1, (uint64_t)t, 492000000, 1197000000, 500);
    wire_fix_3d(&fx[1], 2, (uint64_t)t + 1000, 492000100, 1197000100, 500);
    assert_int_equal(wire_send_positions(fd, 10, fx, 2, HARNESS_REPLY_TIMEOUT_MS), 2);
    assert_int_equal(api(&j, "GET", "/v1/vehicles/VA1/position", disp_a, NULL), 200);
    json_t *fix = json_object_get(j, "fix");
    assert_int_equal(json_integer_value(json_object_get(fix, "seq")), 2);
    assert_true(json_real_value(json_object_get(fix, "lat")) > 49.19);
    json_decref(j);
    /* Not a person: an order answer is refused. */
    Lpg__V1__OrderAccept acc = LPG__V1__ORDER_ACCEPT__INIT;
    acc.order_id = "O1";
    Lpg__V1__Envelope env = LPG__V1__ENVELOPE__INIT;
    env.has_request_id = 1;
    env.request_id = 11;
    env.body_case = LPG__V1__ENVELOPE__BODY_ORDER_ACCEPT;
    env.order_accept = &acc;
    assert_int_equal(wire_send(fd, &env), 0);
    Lpg__V1__Envelope *in = wire_recv(fd, HARNESS_REPLY_TIMEOUT_MS);
    assert_non_null(in);
    assert_int_equal(in->body_case, LPG__V1__ENVELOPE__BODY_ERROR);
    assert_int_equal(in->error->code, LPG__V1__ERROR__CODE__REFUSED);
    assert_string_equal(in->error->refusal, "not_a_person");
    lpg__v1__envelope__free_unpacked(in, NULL);
    close(fd);
}

static void test_restart_keeps_terminals(void **state)
{
    (void)state;
    assert_int_equal(harness_proc_stop(&stack.d.proc, SIGTERM, 10000), 0);
    assert_int_equal(harness_dispatchd_start(&stack.d, stack.dir, stack.redis.port, NULL), 0);
    assert_int_equal(harness_http_wait_status(stack.d.http_port, "/healthz", 200, 10000), 0);
    json_t *j = NULL;
    assert_int_equal(api(&j, "GET", "/v1/terminals/13912345678", disp_a, NULL), 200);
    assert_string_equal(str(j, "vehicle_id"), "VA3");
    assert_string_equal(str(j, "enterprise_id"), "EA");
    assert_true(json_is_true(json_object_get(j, "has_code")));
    json_decref(j);
    assert_int_equal(api(&j, "GET", "/v1/terminals", admin, NULL), 200);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 3);
    json_decref(j);
    expect("GET", "/v1/terminals/013800000002", disp_a, NULL, 404, "not_found", 0);
    /* The vehicle's unit still logs in. */
    int fd = wire_login(stack.d.handset_port, "U1", unit_secret);
    assert_true(fd >= 0);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crud),
        cmocka_unit_test(test_tenancy),
        cmocka_unit_test(test_vehicle_unit),
        cmocka_unit_test(test_restart_keeps_terminals),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
