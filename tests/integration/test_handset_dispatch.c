/* test_handset_dispatch.c -- the delivery person's side over TCP, end to end against real
 * Redis and dispatchd: a handset logs in with its device credential, receives the order the
 * dispatcher creates (pushed), accepts it; an order assigned while the handset is offline is
 * re-sent at the next login; a rejected order goes back to waiting and is never offered to the
 * same person again; going off duty is recorded; a handset cannot answer another person's
 * order. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"
#include "wire_client.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct harness_stack stack;
static char admin[64], secret1[64], secret2[64];

static int api(json_t **out, const char *method, const char *path, const char *body)
{
    char headers[256];
    snprintf(headers, sizeof(headers), "Authorization: Bearer %s\r\n", admin);
    static char resp[65536];
    int status = 0;
    if (harness_http_req(stack.d.http_port, method, path, headers, body, &status, resp,
                         sizeof(resp)) != 0)
        return -1;
    if (out)
        *out = json_loads(resp, 0, NULL);
    if (status >= 400)
        fprintf(stderr, "%s %s -> %d %s\n", method, path, status, resp);
    return status;
}

static const char *str(json_t *j, const char *key)
{
    return json_string_value(json_object_get(j, key));
}

static int setup(void **state)
{
    (void)state;
    if (harness_stack_start(&stack, "handset-dispatch", NULL) != 0 ||
        harness_stack_admin_token(&stack, admin) != 0)
        return -1;
    const char *setup_calls[][2] = {
        {"/v1/enterprises",
         "{\"id\":\"E1\",\"name\":\"Hailar Gas\",\"area\":{\"type\":\"Polygon\",\"coordinates\":"
         "[[[119.6,49.15],[119.9,49.15],[119.9,49.3],[119.6,49.3],[119.6,49.15]]]}}"},
        {"/v1/zones",
         "{\"id\":\"Z1\",\"enterprise_id\":\"E1\",\"name\":\"All\",\"shape\":{\"type\":\"Polygon\","
         "\"coordinates\":[[[119.6,49.15],[119.9,49.15],[119.9,49.3],[119.6,49.3],[119.6,49.15]]]}"
         "}"},
        {"/v1/vehicles",
         "{\"id\":\"V1\",\"enterprise_id\":\"E1\",\"plate\":\"蒙E00001\",\"kind\":\"van\","
         "\"permit_no\":\"P1\",\"permit_expiry\":\"2030-01-01\",\"capacity\":30}"},
        {"/v1/vehicles",
         "{\"id\":\"V2\",\"enterprise_id\":\"E1\",\"plate\":\"蒙E00002\",\"kind\":\"van\","
         "\"permit_no\":\"P2\",\"permit_expiry\":\"2030-01-01\",\"capacity\":30}"},
        {"/v1/staff",
         "{\"id\":\"S1\",\"enterprise_id\":\"E1\",\"name\":\"Wang\",\"role\":\"delivery\","
         "\"qualification_no\":\"Q1\",\"qualification_expiry\":\"2030-01-01\",\"training_no\":"
         "\"T1\",\"training_expiry\":\"2030-01-01\",\"zone_id\":\"Z1\",\"vehicle_id\":\"V1\","
         "\"on_duty\":true}"},
        {"/v1/staff",
         "{\"id\":\"S2\",\"enterprise_id\":\"E1\",\"name\":\"Li\",\"role\":\"delivery\","
         "\"qualification_no\":\"Q2\",\"qualification_expiry\":\"2030-01-01\",\"training_no\":"
         "\"T2\",\"training_expiry\":\"2030-01-01\",\"zone_id\":\"Z1\",\"vehicle_id\":\"V2\","
         "\"on_duty\":false}"},
        {"/v1/customers",
         "{\"id\":\"C1\",\"enterprise_id\":\"E1\",\"name\":\"Household\",\"kind\":\"household\","
         "\"location\":{\"lon\":119.7654321,\"lat\":49.2123456},\"address\":\"1 Road\","
         "\"contract_no\":\"SC1\",\"contract_from\":\"2025-01-01\",\"contract_to\":\"2030-12-"
         "31\"}"},
        {"/v1/devices", "{\"device_id\":\"H1\",\"staff_id\":\"S1\"}"},
        {"/v1/devices", "{\"device_id\":\"H2\",\"staff_id\":\"S2\"}"},
    };
    for (size_t i = 0; i < sizeof(setup_calls) / sizeof(setup_calls[0]); i++) {
        json_t *j;
        if (api(&j, "POST", setup_calls[i][0], setup_calls[i][1]) != 201)
            return -1;
        if (strcmp(setup_calls[i][0], "/v1/devices") == 0)
            snprintf(i == 7 ? secret1 : secret2, 64, "%s", str(j, "secret"));
        json_decref(j);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return harness_stack_stop(&stack) == 0 ? 0 : -1;
}

static int login(const char *device, const char *secret)
{
    int fd = harness_tcp_connect(stack.d.handset_port);
    assert_true(fd >= 0);
    assert_int_equal(wire_send_hello(fd, 1, 1, device, secret), 0);
    Lpg__V1__Envelope *env = wire_recv(fd, HARNESS_REPLY_TIMEOUT_MS);
    assert_non_null(env);
    assert_int_equal(env->body_case, LPG__V1__ENVELOPE__BODY_ACK);
    lpg__v1__envelope__free_unpacked(env, NULL);
    return fd;
}

/* The next message other than an OrderList (sent after every login, which the older tests
 * here do not look at). */
static Lpg__V1__Envelope *recv_no_list(int fd)
{
    Lpg__V1__Envelope *env = wire_recv(fd, HARNESS_REPLY_TIMEOUT_MS);
    while (env && env->body_case == LPG__V1__ENVELOPE__BODY_ORDER_LIST) {
        lpg__v1__envelope__free_unpacked(env, NULL);
        env = wire_recv(fd, HARNESS_REPLY_TIMEOUT_MS);
    }
    return env;
}

/* Waits for a pushed OrderAssigned and returns its order id in id. */
static void expect_assigned(int fd, char id[80])
{
    Lpg__V1__Envelope *env = recv_no_list(fd);
    assert_non_null(env);
    assert_int_equal(env->body_case, LPG__V1__ENVELOPE__BODY_ORDER_ASSIGNED);
    const Lpg__V1__OrderAssigned *a = env->order_assigned;
    snprintf(id, 80, "%s", a->order_id);
    assert_string_equal(a->customer_id, "C1");
    assert_string_equal(a->customer_name, "Household");
    assert_int_equal(a->lat_e7, 492123456);
    assert_int_equal(a->lon_e7, 1197654321);
    assert_int_equal(a->n_items, 1);
    assert_string_equal(a->items[0]->cylinder_spec, "YSP-35.5");
    assert_int_equal(a->items[0]->count, 2);
    lpg__v1__envelope__free_unpacked(env, NULL);
}

static void send_answer(int fd, uint64_t req, int accept, const char *order_id, const char *why)
{
    Lpg__V1__OrderAccept acc = LPG__V1__ORDER_ACCEPT__INIT;
    Lpg__V1__OrderReject rej = LPG__V1__ORDER_REJECT__INIT;
    Lpg__V1__Envelope env = LPG__V1__ENVELOPE__INIT;
    env.has_request_id = 1;
    env.request_id = req;
    if (accept) {
        acc.order_id = (char *)order_id;
        env.body_case = LPG__V1__ENVELOPE__BODY_ORDER_ACCEPT;
        env.order_accept = &acc;
    } else {
        rej.order_id = (char *)order_id;
        rej.reason = (char *)why;
        env.body_case = LPG__V1__ENVELOPE__BODY_ORDER_REJECT;
        env.order_reject = &rej;
    }
    assert_int_equal(wire_send(fd, &env), 0);
}

/* Receives the reply to request req: 1 for Ack, or the Error code negated. */
static int reply_to(int fd, uint64_t req)
{
    Lpg__V1__Envelope *env = recv_no_list(fd);
    assert_non_null(env);
    int r;
    if (env->body_case == LPG__V1__ENVELOPE__BODY_ACK) {
        assert_int_equal(env->ack->ack_seq, req);
        r = 1;
    } else {
        assert_int_equal(env->body_case, LPG__V1__ENVELOPE__BODY_ERROR);
        assert_int_equal(env->error->ack_seq, req);
        r = -(int)env->error->code;
    }
    lpg__v1__envelope__free_unpacked(env, NULL);
    return r;
}

static void create_order(const char *id)
{
    char body[256];
    snprintf(body, sizeof(body),
             "{\"id\":\"%s\",\"enterprise_id\":\"E1\",\"customer_id\":\"C1\",\"items\":"
             "[{\"spec\":\"YSP-35.5\",\"count\":2}]}",
             id);
    json_t *j;
    assert_int_equal(api(&j, "POST", "/v1/orders", body), 201);
    json_decref(j);
}

static void expect_state(const char *order, const char *state)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/orders/%s", order);
    json_t *j;
    assert_int_equal(api(&j, "GET", path, NULL), 200);
    assert_string_equal(str(j, "state"), state);
    json_decref(j);
}

static void test_pushed_assignment_is_accepted(void **state)
{
    (void)state;
    int fd = login("H1", secret1);
    create_order("O1");
    char id[80];
    expect_assigned(fd, id);
    assert_string_equal(id, "O1");
    send_answer(fd, 42, 1, "O1", NULL);
    assert_int_equal(reply_to(fd, 42), 1);
    expect_state("O1", "accepted");
    /* Accepting again is refused: it is no longer waiting for an answer. */
    send_answer(fd, 43, 1, "O1", NULL);
    assert_int_equal(reply_to(fd, 43), -LPG__V1__ERROR__CODE__REFUSED);
    close(fd);
}

static void test_offline_assignment_is_resent_at_login(void **state)
{
    (void)state;
    create_order("O2"); /* H1 is offline */
    expect_state("O2", "assigned");
    int fd = login("H1", secret1);
    char id[80];
    expect_assigned(fd, id);
    assert_string_equal(id, "O2");
    close(fd);
}

static void test_rejected_order_is_never_offered_again_to_the_same_person(void **state)
{
    (void)state;
    int fd = login("H1", secret1);
    char id[80];
    expect_assigned(fd, id);           /* O2 again: still unanswered */
    send_answer(fd, 7, 0, "O2", NULL); /* a rejection needs a reason */
    assert_int_equal(reply_to(fd, 7), -LPG__V1__ERROR__CODE__INVALID_ARGUMENT);
    send_answer(fd, 8, 0, "O2", "vehicle breakdown");
    assert_int_equal(reply_to(fd, 8), 1);
    /* Back to waiting; the only other person (S2) is off duty. The waiting reason is
     * rewritten by the re-matching that follows the rejection, so wait for it. */
    json_t *j = NULL;
    int found = 0;
    for (int i = 0; i < 100 && !found; i++) {
        assert_int_equal(api(&j, "GET", "/v1/orders/O2", NULL), 200);
        assert_string_equal(str(j, "state"), "created");
        assert_string_equal(json_string_value(json_array_get(json_object_get(j, "rejected_by"), 0)),
                            "S1");
        found = strstr(str(j, "reason"), "rejected this order") != NULL;
        json_decref(j);
        if (!found)
            harness_sleep_ms(20);
    }
    assert_true(found);
    close(fd);
}

static void test_duty_change_makes_waiting_orders_move(void **state)
{
    (void)state;
    int fd = login("H2", secret2);
    Lpg__V1__DutyChange duty = LPG__V1__DUTY_CHANGE__INIT;
    duty.has_on_duty = 1;
    duty.on_duty = 1;
    Lpg__V1__Envelope env = LPG__V1__ENVELOPE__INIT;
    env.has_request_id = 1;
    env.request_id = 9;
    env.body_case = LPG__V1__ENVELOPE__BODY_DUTY_CHANGE;
    env.duty_change = &duty;
    assert_int_equal(wire_send(fd, &env), 0);
    assert_int_equal(reply_to(fd, 9), 1);
    /* S2 came on duty: the waiting O2 is assigned to them and pushed. */
    char id[80];
    expect_assigned(fd, id);
    assert_string_equal(id, "O2");
    json_t *j;
    assert_int_equal(api(&j, "GET", "/v1/staff/S2", NULL), 200);
    assert_true(json_is_true(json_object_get(j, "on_duty")));
    json_decref(j);
    /* S2 cannot answer S1's order O1. */
    send_answer(fd, 10, 1, "O1", NULL);
    assert_int_equal(reply_to(fd, 10), -LPG__V1__ERROR__CODE__REFUSED);
    close(fd);
}

/* The session on fd ends with Error UNAUTHORIZED and the use case's reason (EV_SESSION_REVOKED),
 * word for word, whatever was pushed before it; then the connection closes. */
static void expect_replaced(int fd)
{
    Lpg__V1__Envelope *env = wire_recv(fd, HARNESS_REPLY_TIMEOUT_MS);
    while (env && env->body_case != LPG__V1__ENVELOPE__BODY_ERROR) {
        lpg__v1__envelope__free_unpacked(env, NULL);
        env = wire_recv(fd, HARNESS_REPLY_TIMEOUT_MS);
    }
    assert_non_null(env);
    assert_int_equal(env->error->code, LPG__V1__ERROR__CODE__UNAUTHORIZED);
    assert_string_equal(env->error->message,
                        "this handset was replaced; log in with the new device");
    lpg__v1__envelope__free_unpacked(env, NULL);
    assert_true(harness_wait_closed(fd, HARNESS_REPLY_TIMEOUT_MS));
}

/* Taking the handset off a person (PATCH device_id) ends its open session at once. */
static void test_removed_handset_is_disconnected(void **state)
{
    (void)state;
    int fd = login("H2", secret2);
    json_t *j;
    assert_int_equal(api(&j, "PATCH", "/v1/staff/S2", "{\"device_id\":null}"), 200);
    json_decref(j);
    expect_replaced(fd);
    close(fd);
}

/* Registering another handset for a person (POST /v1/devices) ends the old one's session. */
static void test_replaced_handset_is_disconnected(void **state)
{
    (void)state;
    int fd = login("H1", secret1);
    json_t *j;
    assert_int_equal(api(&j, "POST", "/v1/devices", "{\"device_id\":\"H3\",\"staff_id\":\"S1\"}"),
                     201);
    json_decref(j);
    expect_replaced(fd);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pushed_assignment_is_accepted),
        cmocka_unit_test(test_offline_assignment_is_resent_at_login),
        cmocka_unit_test(test_rejected_order_is_never_offered_again_to_the_same_person),
        cmocka_unit_test(test_duty_change_makes_waiting_orders_move),
        cmocka_unit_test(test_removed_handset_is_disconnected),
        cmocka_unit_test(test_replaced_handset_is_disconnected),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
