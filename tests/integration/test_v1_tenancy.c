/* test_v1_tenancy.c -- two enterprises, two dispatchers, real Redis and dispatchd: nothing a
 * dispatcher of one enterprise does reaches or reveals the other enterprise's handsets and
 * entities.
 *
 *   - the reported hijack: a dispatcher of EA binds EA's person to EB's handset (PATCH, create,
 *     CSV import): refused exactly like a device id that does not exist, and EB's handset
 *     neither receives EA's OrderAssigned nor is kicked off;
 *   - references to EB's zone, vehicle, person or customer read like references to nothing;
 *   - a create whose id is taken in EB answers exactly as one whose id is taken in EA (ids are
 *     unique across enterprises, docs/http-api.md "Authentication and roles"), naming no
 *     enterprise.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RESPONSE_TIMEOUT_MS 30000

static struct harness_stack stack;
static char admin[64], disp_a[64], disp_b[64];
static char secret_hb1[64];
static int hb1 = -1; /* EB's handset, logged in for the whole run */
static uint64_t hb1_req = 1;

/* One request with any content type; status, and the reply parsed into *out (caller
 * decrefs). */
static int http(json_t **out, const char *method, const char *path, const char *token,
                const char *content_type, const char *body)
{
    if (out)
        *out = NULL;
    int fd = harness_tcp_connect(stack.d.http_port);
    if (fd < 0)
        return -1;
    size_t len = body ? strlen(body) : 0;
    char head[1024];
    int n = snprintf(head, sizeof(head), "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\n", method, path);
    if (token)
        n += snprintf(head + n, sizeof(head) - (size_t)n, "Authorization: Bearer %s\r\n", token);
    if (body)
        n += snprintf(head + n, sizeof(head) - (size_t)n,
                      "Content-Type: %s\r\nContent-Length: %zu\r\n", content_type, len);
    n += snprintf(head + n, sizeof(head) - (size_t)n, "\r\n");
    if (harness_send_all(fd, head, (size_t)n) != 0 ||
        (len && harness_send_all(fd, body, len) != 0)) {
        close(fd);
        return -1;
    }
    static char resp[1 << 16];
    size_t used = 0;
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (used + 1 >= sizeof(resp) || poll(&pfd, 1, RESPONSE_TIMEOUT_MS) <= 0)
            break;
        ssize_t r = recv(fd, resp + used, sizeof(resp) - used - 1, 0);
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
    return status;
}

static int api(json_t **out, const char *method, const char *path, const char *token,
               const char *body)
{
    return http(out, method, path, token, "application/json", body);
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

static json_t *err_of(json_t *j)
{
    return json_object_get(j, "error");
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

/* msg with every occurrence of id replaced by "#" (into out). */
static void mask(const char *msg, const char *id, char *out, size_t cap)
{
    size_t n = 0, idl = strlen(id);
    while (*msg && n + 2 < cap) {
        if (strncmp(msg, id, idl) == 0) {
            out[n++] = '#';
            msg += idl;
        } else {
            out[n++] = *msg++;
        }
    }
    out[n] = '\0';
}

/* Two answers are the same answer: status, code, field, and message once the id each one
 * named is masked. Neither names enterprise EB. */
static void same_answer(int st1, json_t *j1, const char *id1, int st2, json_t *j2, const char *id2)
{
    char *d1 = json_dumps(j1, 0), *d2 = json_dumps(j2, 0);
    if (st1 != st2)
        fail_msg("statuses differ: %d %s / %d %s", st1, d1, st2, d2);
    json_t *e1 = err_of(j1), *e2 = err_of(j2);
    assert_non_null(e1);
    assert_non_null(e2);
    assert_string_equal(str(e1, "code"), str(e2, "code"));
    const char *f1 = str(e1, "field"), *f2 = str(e2, "field");
    assert_true((f1 == NULL) == (f2 == NULL));
    if (f1)
        assert_string_equal(f1, f2);
    char m1[512], m2[512];
    mask(str(e1, "message"), id1, m1, sizeof(m1));
    mask(str(e2, "message"), id2, m2, sizeof(m2));
    if (strcmp(m1, m2) != 0)
        fail_msg("messages differ: %s / %s", d1, d2);
    if (strstr(d1, "EB") || strstr(d2, "EB"))
        fail_msg("an answer names enterprise EB: %s / %s", d1, d2);
    free(d1);
    free(d2);
}

/* tmpl with every "%s" replaced by v (a template, not a format: no other directive). */
static void fill(char *out, size_t cap, const char *tmpl, const char *v)
{
    size_t n = 0, vl = strlen(v);
    while (*tmpl && n + vl + 1 < cap) {
        if (tmpl[0] == '%' && tmpl[1] == 's') {
            memcpy(out + n, v, vl);
            n += vl;
            tmpl += 2;
        } else {
            out[n++] = *tmpl++;
        }
    }
    out[n] = '\0';
}

/* Sends the same request with `a` and then `b` substituted for %s in body_fmt (and path_fmt),
 * and checks both get the same answer with status want. */
static void compare(const char *method, const char *path_fmt, const char *body_fmt, const char *a,
                    const char *b, int want)
{
    char path_a[256], path_b[256], body_a[1024], body_b[1024];
    fill(path_a, sizeof(path_a), path_fmt, a);
    fill(path_b, sizeof(path_b), path_fmt, b);
    fill(body_a, sizeof(body_a), body_fmt, a);
    fill(body_b, sizeof(body_b), body_fmt, b);
    json_t *ja = NULL, *jb = NULL;
    int sa = api(&ja, method, path_a, disp_a, body_a);
    int sb = api(&jb, method, path_b, disp_a, body_b);
    if (sa != want) {
        char *d = ja ? json_dumps(ja, 0) : NULL;
        fail_msg("%s %s %s -> %d %s; want %d", method, path_a, body_a, sa, d ? d : "", want);
    }
    same_answer(sa, ja, a, sb, jb, b);
    json_decref(ja);
    json_decref(jb);
}

#define AREA_A                                                                                     \
    "{\"type\":\"Polygon\",\"coordinates\":[[[119.6,49.15],[119.9,49.15],[119.9,49.3],"            \
    "[119.6,49.3],[119.6,49.15]]]}"
#define AREA_B                                                                                     \
    "{\"type\":\"Polygon\",\"coordinates\":[[[120.6,49.15],[120.9,49.15],[120.9,49.3],"            \
    "[120.6,49.3],[120.6,49.15]]]}"

static void staff(const char *token, const char *id, const char *ent, const char *zone,
                  const char *vehicle)
{
    char body[768];
    snprintf(body, sizeof(body),
             "{\"id\":\"%s\",\"enterprise_id\":\"%s\",\"name\":\"P %s\",\"role\":\"delivery\","
             "\"qualification_no\":\"Q-%s\",\"qualification_expiry\":\"2030-01-01\","
             "\"training_no\":\"T-%s\",\"training_expiry\":\"2030-01-01\",\"zone_id\":\"%s\","
             "\"vehicle_id\":\"%s\",\"on_duty\":true}",
             id, ent, id, id, id, zone, vehicle);
    ok("/v1/staff", token, body);
}

static void vehicle(const char *token, const char *id, const char *ent)
{
    char body[512];
    snprintf(body, sizeof(body),
             "{\"id\":\"%s\",\"enterprise_id\":\"%s\",\"plate\":\"P-%s\",\"kind\":\"van\","
             "\"permit_no\":\"PN-%s\",\"permit_expiry\":\"2030-01-01\",\"capacity\":30}",
             id, ent, id, id);
    ok("/v1/vehicles", token, body);
}

static void customer(const char *token, const char *id, const char *ent, double lon)
{
    char body[512];
    snprintf(body, sizeof(body),
             "{\"id\":\"%s\",\"enterprise_id\":\"%s\",\"name\":\"C %s\",\"kind\":\"household\","
             "\"location\":{\"lon\":%.4f,\"lat\":49.2},\"address\":\"1 Road\",\"contract_no\":"
             "\"SC-%s\",\"contract_from\":\"2025-01-01\",\"contract_to\":\"2030-12-31\"}",
             id, ent, id, lon, id);
    ok("/v1/customers", token, body);
}

static void cylinder(const char *token, const char *id, const char *ent)
{
    char body[512];
    snprintf(body, sizeof(body),
             "{\"id\":\"%s\",\"enterprise_id\":\"%s\",\"spec\":\"YSP-35.5\",\"manufacturer\":"
             "\"Hulun Steel\",\"serial\":\"S-%s\",\"manufactured\":\"2024-01-01\","
             "\"next_inspection\":\"2029-01-01\"}",
             id, ent, id);
    ok("/v1/cylinders", token, body);
}

static void device(const char *token, const char *device_id, const char *staff_id, char *secret)
{
    char body[256];
    snprintf(body, sizeof(body), "{\"device_id\":\"%s\",\"staff_id\":\"%s\"}", device_id, staff_id);
    json_t *j = NULL;
    assert_int_equal(api(&j, "POST", "/v1/devices", token, body), 201);
    if (secret)
        snprintf(secret, 64, "%s", str(j, "secret"));
    json_decref(j);
}

static int setup(void **state)
{
    (void)state;
    if (harness_stack_start(&stack, "tenancy", NULL) != 0 ||
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
    ok("/v1/zones", disp_a, "{\"id\":\"ZA\",\"name\":\"A\",\"shape\":" AREA_A "}");
    ok("/v1/zones", disp_b, "{\"id\":\"ZB\",\"name\":\"B\",\"shape\":" AREA_B "}");
    ok("/v1/stations", disp_a,
       "{\"id\":\"STA\",\"name\":\"A depot\",\"center\":{\"lon\":119.7,\"lat\":49.2},"
       "\"radius_m\":100}");
    ok("/v1/stations", disp_b,
       "{\"id\":\"STB\",\"name\":\"B depot\",\"center\":{\"lon\":120.7,\"lat\":49.2},"
       "\"radius_m\":100}");
    vehicle(disp_a, "VA1", "EA");
    vehicle(disp_a, "VA2", "EA");
    vehicle(disp_a, "VA3", "EA");
    vehicle(disp_b, "VB1", "EB");
    vehicle(disp_b, "VB2", "EB");
    staff(disp_a, "SA1", "EA", "ZA", "VA1");
    staff(disp_a, "SA2", "EA", "ZA", "VA2");
    staff(disp_b, "SB1", "EB", "ZB", "VB1");
    /* EA's orders go to SA1, the person of the hijack. */
    if (api(NULL, "PATCH", "/v1/staff/SA2", disp_a, "{\"on_duty\":false}") != 200)
        return -1;
    customer(disp_a, "CA1", "EA", 119.7);
    customer(disp_b, "CB1", "EB", 120.7);
    cylinder(disp_a, "CYA1", "EA");
    cylinder(disp_b, "CYB1", "EB");
    device(disp_a, "HA1", "SA1", NULL);
    device(disp_a, "HA2", "SA2", NULL);
    device(disp_b, "HB1", "SB1", secret_hb1);
    ok("/v1/orders", disp_b,
       "{\"id\":\"OB1\",\"customer_id\":\"CB1\",\"items\":[{\"spec\":\"YSP-35.5\",\"count\":1}]}");
    hb1 = wire_login(stack.d.handset_port, "HB1", secret_hb1);
    if (hb1 < 0)
        return -1;
    /* EB's own order went to SB1, on HB1: read it, so that HB1's queue is empty. */
    Lpg__V1__Envelope *env = wire_recv(hb1, RESPONSE_TIMEOUT_MS);
    int got = env && env->body_case == LPG__V1__ENVELOPE__BODY_ORDER_ASSIGNED &&
              strcmp(env->order_assigned->order_id, "OB1") == 0;
    if (env)
        lpg__v1__envelope__free_unpacked(env, NULL);
    return got ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    if (hb1 >= 0)
        close(hb1);
    return harness_stack_stop(&stack) == 0 ? 0 : -1;
}

/* HB1 is still logged in and nothing reached it but the answer to a Ping: whatever the server
 * sent it before (an OrderAssigned, a "replaced" Error) would arrive before the Ack. */
static void hb1_got_nothing(void)
{
    Lpg__V1__Ping ping = LPG__V1__PING__INIT;
    Lpg__V1__Envelope env = LPG__V1__ENVELOPE__INIT;
    env.has_request_id = 1;
    env.request_id = ++hb1_req;
    env.body_case = LPG__V1__ENVELOPE__BODY_PING;
    env.ping = &ping;
    assert_int_equal(wire_send(hb1, &env), 0);
    Lpg__V1__Envelope *got = wire_recv(hb1, RESPONSE_TIMEOUT_MS);
    if (got == NULL)
        fail_msg("HB1 was disconnected");
    if (got->body_case != LPG__V1__ENVELOPE__BODY_ACK)
        fail_msg(
            "HB1 received frame %d (%s) meant for nobody of EB", (int)got->body_case,
            got->body_case == LPG__V1__ENVELOPE__BODY_ORDER_ASSIGNED
                ? got->order_assigned->order_id
                : (got->body_case == LPG__V1__ENVELOPE__BODY_ERROR ? got->error->message : "-"));
    assert_int_equal(got->ack->ack_seq, hb1_req);
    lpg__v1__envelope__free_unpacked(got, NULL);
}

static void expect_device(const char *staff_id, const char *device_id)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/staff/%s", staff_id);
    json_t *j = NULL;
    assert_int_equal(api(&j, "GET", path, disp_a, NULL), 200);
    assert_string_equal(str(j, "device_id"), device_id);
    json_decref(j);
}

/* The reported hijack: EA's dispatcher points EA's person at EB's handset. Refused like an
 * unknown device; then an order of EA for that person never reaches HB1, and HB1 is not
 * kicked off. */
static void test_patch_cannot_bind_another_enterprises_handset(void **state)
{
    (void)state;
    compare("PATCH", "/v1/staff/SA1", "{\"device_id\":\"%s\"}", "HB1", "H-NOBODY", 422);
    json_t *j = NULL;
    assert_int_equal(api(&j, "PATCH", "/v1/staff/SA1", disp_a, "{\"device_id\":\"HB1\"}"), 422);
    assert_string_equal(str(err_of(j), "code"), "unknown_reference");
    assert_string_equal(str(err_of(j), "field"), "device_id");
    json_decref(j);
    /* A handset of another person of the same enterprise: the same answer. */
    compare("PATCH", "/v1/staff/SA1", "{\"device_id\":\"%s\"}", "HA2", "H-NOBODY", 422);
    expect_device("SA1", "HA1");

    /* EA's order goes to SA1: not to HB1. */
    ok("/v1/orders", disp_a,
       "{\"id\":\"OA1\",\"customer_id\":\"CA1\",\"items\":[{\"spec\":\"YSP-35.5\",\"count\":1}]}");
    assert_int_equal(api(&j, "GET", "/v1/orders/OA1", disp_a, NULL), 200);
    assert_string_equal(str(j, "staff_id"), "SA1");
    json_decref(j);
    hb1_got_nothing();
    /* "Switching back" is a no-op and kicks nobody. */
    assert_int_equal(api(NULL, "PATCH", "/v1/staff/SA1", disp_a, "{\"device_id\":\"HA1\"}"), 200);
    hb1_got_nothing();
    /* What PATCH device_id is for still works: back to an older handset of the same person. */
    device(disp_a, "HA1-new", "SA1", NULL);
    expect_device("SA1", "HA1-new");
    assert_int_equal(api(NULL, "PATCH", "/v1/staff/SA1", disp_a, "{\"device_id\":\"HA1\"}"), 200);
    expect_device("SA1", "HA1");
    /* Even an admin cannot bind a person to someone else's handset. */
    assert_int_equal(api(NULL, "PATCH", "/v1/staff/SA2", admin, "{\"device_id\":\"HB1\"}"), 422);
    expect_device("SA2", "HA2");
    hb1_got_nothing();
}

/* Creation and the CSV import, the other two paths that set a person's device_id. */
static void test_create_and_import_cannot_name_a_handset(void **state)
{
    (void)state;
    compare("POST", "/v1/staff",
            "{\"id\":\"SA9\",\"name\":\"x\",\"role\":\"delivery\",\"device_id\":\"%s\"}", "HB1",
            "H-NOBODY", 422);
    json_t *r = NULL;
    assert_int_equal(http(&r, "POST", "/v1/import/staff", disp_a, "text/csv",
                          "id,name,role,device_id\nSA8,x,delivery,HB1\nSA7,y,delivery,H-NOBODY\n"
                          "SA6,z,delivery,HA2\n"),
                     422);
    json_t *errors = json_object_get(r, "errors");
    assert_int_equal(json_array_size(errors), 3);
    const char *ids[] = {"HB1", "H-NOBODY", "HA2"};
    char m0[512], mi[512];
    mask(str(json_array_get(errors, 0), "message"), ids[0], m0, sizeof(m0));
    for (size_t i = 0; i < 3; i++) {
        json_t *e = json_array_get(errors, i);
        assert_string_equal(str(e, "code"), "unknown_reference");
        assert_string_equal(str(e, "field"), "device_id");
        char staff_id[8];
        snprintf(staff_id, sizeof(staff_id), "SA%zu", 8 - i);
        char tmp[512];
        mask(str(e, "message"), ids[i], tmp, sizeof(tmp));
        mask(tmp, staff_id, mi, sizeof(mi));
        if (i == 0) {
            snprintf(m0, sizeof(m0), "%s", mi);
            continue;
        }
        assert_string_equal(mi, m0);
    }
    json_decref(r);
    hb1_got_nothing();
}

/* POST /v1/devices: an id registered in EB answers as one registered to another person of EA. */
static void test_device_registration_does_not_tell_whose(void **state)
{
    (void)state;
    compare("POST", "/v1/devices", "{\"device_id\":\"%s\",\"staff_id\":\"SA1\"}", "HB1", "HA2",
            409);
    hb1_got_nothing();
}

/* References to EB's zone, vehicle, person, customer read like references to nothing. */
static void test_references_to_another_enterprise_read_like_missing_ones(void **state)
{
    (void)state;
    compare("POST", "/v1/staff",
            "{\"id\":\"SA5\",\"name\":\"x\",\"role\":\"delivery\",\"zone_id\":\"%s\"}", "ZB",
            "Z-NONE", 422);
    compare("POST", "/v1/staff",
            "{\"id\":\"SA5\",\"name\":\"x\",\"role\":\"delivery\",\"vehicle_id\":\"%s\"}", "VB2",
            "V-NONE", 422);
    compare("PATCH", "/v1/vehicles/VA3", "{\"staff_id\":\"%s\"}", "SB1", "S-NONE", 422);
    /* A vehicle's station: another enterprise's reads like a missing one; its own is taken. */
    compare("PATCH", "/v1/vehicles/VA3", "{\"station_id\":\"%s\"}", "STB", "ST-NONE", 422);
    json_t *ja = NULL, *jb = NULL;
    int sa = api(&ja, "GET", "/v1/stations/STB", disp_a, NULL);
    int sb = api(&jb, "GET", "/v1/stations/ST-NONE", disp_a, NULL);
    assert_int_equal(sa, 404);
    same_answer(sa, ja, "STB", sb, jb, "ST-NONE");
    json_decref(ja);
    json_decref(jb);
    assert_int_equal(api(NULL, "PATCH", "/v1/vehicles/VA3", disp_a, "{\"station_id\":\"STA\"}"),
                     200);
    json_t *l = NULL;
    assert_int_equal(api(&l, "GET", "/v1/stations", disp_a, NULL), 200);
    assert_int_equal(json_array_size(json_object_get(l, "items")), 1);
    assert_string_equal(str(json_array_get(json_object_get(l, "items"), 0), "id"), "STA");
    json_decref(l);
    compare("POST", "/v1/orders",
            "{\"customer_id\":\"%s\",\"items\":[{\"spec\":\"YSP-35.5\",\"count\":1}]}", "CB1",
            "C-NONE", 422);
    json_t *j = NULL;
    assert_int_equal(api(&j, "POST", "/v1/orders", disp_a,
                         "{\"customer_id\":\"CB1\",\"items\":[{\"spec\":\"YSP-35.5\","
                         "\"count\":1}]}"),
                     422);
    assert_string_equal(str(err_of(j), "code"), "unknown_reference");
    json_decref(j);
}

/* A create whose id is taken in EB: the same 409 as for an id taken in EA, naming nobody. */
static void test_create_with_an_id_taken_elsewhere(void **state)
{
    (void)state;
    compare("POST", "/v1/staff", "{\"id\":\"%s\",\"name\":\"x\",\"role\":\"delivery\"}", "SB1",
            "SA2", 409);
    compare("POST", "/v1/vehicles",
            "{\"id\":\"%s\",\"plate\":\"x\",\"kind\":\"van\",\"capacity\":3}", "VB1", "VA2", 409);
    compare("POST", "/v1/customers",
            "{\"id\":\"%s\",\"name\":\"x\",\"kind\":\"household\",\"location\":{\"lon\":119.7,"
            "\"lat\":49.2},\"address\":\"x\"}",
            "CB1", "CA1", 409);
    compare("POST", "/v1/cylinders",
            "{\"id\":\"%s\",\"spec\":\"YSP-35.5\",\"manufacturer\":\"x\",\"serial\":\"x\","
            "\"manufactured\":\"2024-01-01\",\"next_inspection\":\"2029-01-01\"}",
            "CYB1", "CYA1", 409);
    compare("POST", "/v1/orders",
            "{\"id\":\"%s\",\"customer_id\":\"CA1\",\"items\":[{\"spec\":\"YSP-35.5\","
            "\"count\":1}]}",
            "OB1", "OA1", 409);
    compare("POST", "/v1/zones", "{\"id\":\"%s\",\"name\":\"x\",\"shape\":" AREA_A "}", "ZB", "ZA",
            409);
    compare("POST", "/v1/stations",
            "{\"id\":\"%s\",\"name\":\"x\",\"center\":{\"lon\":119.7,\"lat\":49.2},"
            "\"radius_m\":50}",
            "STB", "STA", 409);
}

/* A station is a place of its enterprise: within its supply area, a simple polygon or a
 * circle, not both. */
static void test_station_places(void **state)
{
    (void)state;
    const struct {
        const char *body;
        int status;
        const char *code;
    } cases[] = {
        {"{\"id\":\"ST-X1\",\"name\":\"x\",\"center\":{\"lon\":120.7,\"lat\":49.2},"
         "\"radius_m\":50}",
         422, "zone_outside_service_area"}, /* in EB's area, not EA's */
        {"{\"id\":\"ST-X2\",\"name\":\"x\",\"shape\":{\"type\":\"Polygon\",\"coordinates\":"
         "[[[119.7,49.2],[119.71,49.21],[119.71,49.2],[119.7,49.21],[119.7,49.2]]]}}",
         422, "invalid_geometry"}, /* a bow tie */
        {"{\"id\":\"ST-X3\",\"name\":\"x\"}", 400, "missing_field"},
        {"{\"id\":\"ST-X4\",\"name\":\"x\",\"center\":{\"lon\":119.7,\"lat\":49.2}}", 400,
         "missing_field"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *j = NULL;
        int st = api(&j, "POST", "/v1/stations", disp_a, cases[i].body);
        if (st != cases[i].status || strcmp(str(err_of(j), "code"), cases[i].code) != 0)
            fail_msg("%s -> %d %s; want %d %s", cases[i].body, st, str(err_of(j), "code"),
                     cases[i].status, cases[i].code);
        if (i == 0) /* the enterprise's supply area (供应范围), docs/domain.md */
            assert_string_equal(str(err_of(j), "message"),
                                "station ST-X1 does not lie within the supply area of EA");
        json_decref(j);
    }
    ok("/v1/stations", disp_a,
       "{\"id\":\"ST-POLY\",\"name\":\"Yard\",\"shape\":{\"type\":\"Polygon\",\"coordinates\":"
       "[[[119.7,49.2],[119.71,49.2],[119.71,49.21],[119.7,49.21],[119.7,49.2]]]}}");
    json_t *j = NULL;
    assert_int_equal(api(&j, "GET", "/v1/stations/ST-POLY", disp_a, NULL), 200);
    assert_string_equal(str(json_object_get(j, "shape"), "type"), "Polygon");
    assert_true(json_is_null(json_object_get(j, "center")));
    json_decref(j);
}

/* PATCH /v1/stations/{id}: the name, and one form that replaces the other, checked as at
 * creation; another enterprise's station reads like a missing one. */
static void test_station_patch(void **state)
{
    (void)state;
    ok("/v1/stations", disp_a,
       "{\"id\":\"ST-P\",\"name\":\"Old\",\"center\":{\"lon\":119.7,\"lat\":49.2},"
       "\"radius_m\":80}");
    json_t *j = NULL;
    assert_int_equal(api(&j, "PATCH", "/v1/stations/ST-P", disp_a, "{\"name\":\"New\"}"), 200);
    assert_string_equal(str(j, "name"), "New");
    assert_int_equal(json_integer_value(json_object_get(j, "radius_m")), 80);
    json_decref(j);
    /* A polygon replaces the circle... */
    assert_int_equal(api(&j, "PATCH", "/v1/stations/ST-P", disp_a,
                         "{\"shape\":{\"type\":\"Polygon\",\"coordinates\":[[[119.7,49.2],"
                         "[119.71,49.2],[119.71,49.21],[119.7,49.21],[119.7,49.2]]]}}"),
                     200);
    assert_string_equal(str(json_object_get(j, "shape"), "type"), "Polygon");
    assert_true(json_is_null(json_object_get(j, "center")));
    json_decref(j);
    /* ...and a circle the polygon. */
    assert_int_equal(api(&j, "PATCH", "/v1/stations/ST-P", disp_a,
                         "{\"center\":{\"lon\":119.75,\"lat\":49.2},\"radius_m\":60}"),
                     200);
    assert_true(json_is_null(json_object_get(j, "shape")));
    assert_int_equal(json_integer_value(json_object_get(j, "radius_m")), 60);
    json_decref(j);
    assert_int_equal(api(&j, "GET", "/v1/stations/ST-P", disp_a, NULL), 200);
    assert_string_equal(str(j, "name"), "New");
    assert_true(json_is_null(json_object_get(j, "shape")));
    json_decref(j);
    const struct {
        const char *body;
        int status;
        const char *code;
    } cases[] = {
        {"{\"center\":{\"lon\":120.7,\"lat\":49.2}}", 422, "zone_outside_service_area"},
        {"{\"shape\":{\"type\":\"Polygon\",\"coordinates\":[[[119.7,49.2],[119.71,49.21],"
         "[119.71,49.2],[119.7,49.21],[119.7,49.2]]]}}",
         422, "invalid_geometry"},
        {"{\"shape\":{\"type\":\"Polygon\",\"coordinates\":[[[119.7,49.2],[119.71,49.2],"
         "[119.71,49.21],[119.7,49.21],[119.7,49.2]]]},\"radius_m\":50}",
         400, "invalid_field"},
        {"{\"center\":null}", 400, "missing_field"},
        {"{\"name\":null}", 400, "invalid_field"},
        {"{\"enterprise_id\":\"EB\"}", 400, "read_only_field"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int st = api(&j, "PATCH", "/v1/stations/ST-P", disp_a, cases[i].body);
        if (st != cases[i].status || strcmp(str(err_of(j), "code"), cases[i].code) != 0)
            fail_msg("%s -> %d %s; want %d %s", cases[i].body, st, str(err_of(j), "code"),
                     cases[i].status, cases[i].code);
        json_decref(j);
    }
    /* Refusals changed nothing. */
    assert_int_equal(api(&j, "GET", "/v1/stations/ST-P", disp_a, NULL), 200);
    assert_int_equal(json_integer_value(json_object_get(j, "radius_m")), 60);
    assert_string_equal(str(j, "name"), "New");
    json_decref(j);
    compare("PATCH", "/v1/stations/%s", "{\"name\":\"x\"}", "STB", "ST-NONE", 404);
    assert_int_equal(api(&j, "GET", "/v1/stations/STB", disp_b, NULL), 200);
    assert_string_equal(str(j, "name"), "B depot");
    json_decref(j);
}

/* DELETE /v1/stations/{id}: refused while a vehicle names the station (409 station_in_use),
 * then done; another enterprise's station reads like a missing one. */
static void test_station_delete(void **state)
{
    (void)state;
    json_t *ja = NULL, *jb = NULL;
    int sa = api(&ja, "DELETE", "/v1/stations/STB", disp_a, NULL);
    int sb = api(&jb, "DELETE", "/v1/stations/ST-NONE", disp_a, NULL);
    assert_int_equal(sa, 404);
    same_answer(sa, ja, "STB", sb, jb, "ST-NONE");
    json_decref(ja);
    json_decref(jb);
    /* VA3 names STA (test_references_to_another_enterprise_read_like_missing_ones). */
    json_t *j = NULL;
    assert_int_equal(api(&j, "DELETE", "/v1/stations/STA", disp_a, NULL), 409);
    assert_string_equal(str(err_of(j), "code"), "station_in_use");
    assert_non_null(strstr(str(err_of(j), "message"), "VA3"));
    json_decref(j);
    assert_int_equal(api(NULL, "GET", "/v1/stations/STA", disp_a, NULL), 200);
    assert_int_equal(api(NULL, "PATCH", "/v1/vehicles/VA3", disp_a, "{\"station_id\":null}"), 200);
    assert_int_equal(api(&j, "DELETE", "/v1/stations/STA", disp_a, NULL), 200);
    assert_string_equal(str(j, "id"), "STA");
    json_decref(j);
    assert_int_equal(api(NULL, "GET", "/v1/stations/STA", disp_a, NULL), 404);
    assert_int_equal(api(NULL, "DELETE", "/v1/stations/STA", disp_a, NULL), 404);
    assert_int_equal(api(&j, "PATCH", "/v1/vehicles/VA3", disp_a, "{\"station_id\":\"STA\"}"), 422);
    assert_string_equal(str(err_of(j), "code"), "unknown_reference");
    json_decref(j);
    /* Gone from Redis too (the listing is the registry's, the key the store's). */
    char out[64];
    const char *argv[] = {"EXISTS", "lpg:station:STA"};
    assert_int_equal(harness_redis_cmd(stack.redis.port, out, sizeof(out), 2, argv), 0);
    assert_non_null(strchr(out, '0')); /* ":0" or "0": no such key */
    assert_null(strchr(out, '1'));
    /* EB's station is still there. */
    assert_int_equal(api(NULL, "GET", "/v1/stations/STB", disp_b, NULL), 200);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_patch_cannot_bind_another_enterprises_handset),
        cmocka_unit_test(test_create_and_import_cannot_name_a_handset),
        cmocka_unit_test(test_device_registration_does_not_tell_whose),
        cmocka_unit_test(test_references_to_another_enterprise_read_like_missing_ones),
        cmocka_unit_test(test_create_with_an_id_taken_elsewhere),
        cmocka_unit_test(test_station_places),
        cmocka_unit_test(test_station_patch),
        cmocka_unit_test(test_station_delete),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
