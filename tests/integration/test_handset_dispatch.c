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
#include <signal.h>
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
    Lpg__V1__Envelope *env = wire_recv_all(fd, HARNESS_REPLY_TIMEOUT_MS);
    assert_non_null(env);
    assert_int_equal(env->body_case, LPG__V1__ENVELOPE__BODY_ACK);
    lpg__v1__envelope__free_unpacked(env, NULL);
    return fd;
}

/* The next message other than an OrderList (sent after every login, which the older tests
 * here do not look at). */
static Lpg__V1__Envelope *recv_no_list(int fd)
{
    Lpg__V1__Envelope *env = wire_recv_all(fd, HARNESS_REPLY_TIMEOUT_MS);
    while (env && env->body_case == LPG__V1__ENVELOPE__BODY_ORDER_LIST) {
        lpg__v1__envelope__free_unpacked(env, NULL);
        env = wire_recv_all(fd, HARNESS_REPLY_TIMEOUT_MS);
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
    Lpg__V1__Envelope *env = wire_recv_all(fd, HARNESS_REPLY_TIMEOUT_MS);
    while (env && env->body_case != LPG__V1__ENVELOPE__BODY_ERROR) {
        lpg__v1__envelope__free_unpacked(env, NULL);
        env = wire_recv_all(fd, HARNESS_REPLY_TIMEOUT_MS);
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

/* ---- order sync: OrderList, OrderWithdrawn, pushes kept until PushAck ---- */

static char secret4[64];

/* POST path body; expects want. */
static void post(const char *path, const char *body, int want)
{
    json_t *j = NULL;
    assert_int_equal(api(&j, "POST", path, body), want);
    json_decref(j);
}

static Lpg__V1__Envelope *expect_body(int fd, int body_case)
{
    Lpg__V1__Envelope *env = wire_recv_all(fd, HARNESS_REPLY_TIMEOUT_MS);
    if (env == NULL)
        harness_proc_dump_log(&stack.d.proc, 40);
    assert_non_null(env);
    if ((int)env->body_case != body_case)
        fprintf(stderr, "got body %d, expected %d\n", (int)env->body_case, body_case);
    assert_int_equal(env->body_case, body_case);
    return env;
}

/* The next message is an OrderList; returns it (the caller frees). */
static Lpg__V1__Envelope *expect_list(int fd)
{
    return expect_body(fd, LPG__V1__ENVELOPE__BODY_ORDER_LIST);
}

/* State of order id in list, or NULL when it is not listed. */
static const char *listed(const Lpg__V1__OrderList *l, const char *id)
{
    for (size_t i = 0; i < l->n_orders; i++)
        if (strcmp(l->orders[i]->order_id, id) == 0)
            return l->orders[i]->state;
    return NULL;
}

/* The next message is OrderWithdrawn of order id with reason; returns its push id. */
static uint64_t expect_withdrawn(int fd, const char *id, int reason, const char *says)
{
    Lpg__V1__Envelope *env = expect_body(fd, LPG__V1__ENVELOPE__BODY_ORDER_WITHDRAWN);
    const Lpg__V1__OrderWithdrawn *w = env->order_withdrawn;
    assert_string_equal(w->order_id, id);
    assert_int_equal(w->reason, reason);
    assert_non_null(strstr(w->message, says));
    assert_true(w->has_push_id);
    uint64_t push_id = w->push_id;
    lpg__v1__envelope__free_unpacked(env, NULL);
    return push_id;
}

static void push_ack(int fd, uint64_t req, uint64_t push_id)
{
    Lpg__V1__PushAck ack = LPG__V1__PUSH_ACK__INIT;
    ack.has_push_id = 1;
    ack.push_id = push_id;
    Lpg__V1__Envelope env = LPG__V1__ENVELOPE__INIT;
    env.has_request_id = 1;
    env.request_id = req;
    env.body_case = LPG__V1__ENVELOPE__BODY_PUSH_ACK;
    env.push_ack = &ack;
    assert_int_equal(wire_send(fd, &env), 0);
    Lpg__V1__Envelope *r = expect_body(fd, LPG__V1__ENVELOPE__BODY_ACK);
    assert_int_equal(r->ack->ack_seq, req);
    lpg__v1__envelope__free_unpacked(r, NULL);
}

/* Sets an order's state straight in Redis (loaded, en_route and arrived come from the cylinder
 * scans and the track, which this test does not drive); dispatchd reads it at its next start. */
static void set_state_in_redis(const char *id, const char *from, const char *to)
{
    char key[64], reply[8192], want[64];
    snprintf(key, sizeof(key), "lpg:order:%s", id);
    const char *get[] = {"GET", key};
    assert_int_equal(harness_redis_cmd(stack.redis.port, reply, sizeof(reply), 2, get), 0);
    snprintf(want, sizeof(want), "\"state\":\"%s\"", from);
    char *at = strstr(reply, want);
    assert_non_null(at);
    char edited[8192];
    snprintf(edited, sizeof(edited), "%.*s\"state\":\"%s\"%s", (int)(at - reply), reply, to,
             at + strlen(want));
    const char *set[] = {"SET", key, edited};
    char ok[64];
    assert_int_equal(harness_redis_cmd(stack.redis.port, ok, sizeof(ok), 3, set), 0);
}

/* Orders P1..P5 of S3 in every open state: at login, the one still unanswered push (P1's
 * OrderAssigned, never acknowledged) is re-sent, then ONE OrderList with all five, each with
 * its state -- also across a restart of dispatchd (the pushes are in Redis). */
static void test_login_lists_every_open_order(void **state)
{
    (void)state;
    /* Only S3 takes new orders; S4 (same zone) stays off duty until the reassignment. */
    post("/v1/vehicles",
         "{\"id\":\"V3\",\"enterprise_id\":\"E1\",\"plate\":\"蒙E00003\",\"kind\":\"van\","
         "\"permit_no\":\"P3\",\"permit_expiry\":\"2030-01-01\",\"capacity\":30}",
         201);
    post("/v1/vehicles",
         "{\"id\":\"V4\",\"enterprise_id\":\"E1\",\"plate\":\"蒙E00004\",\"kind\":\"van\","
         "\"permit_no\":\"P4\",\"permit_expiry\":\"2030-01-01\",\"capacity\":30}",
         201);
    post("/v1/staff",
         "{\"id\":\"S3\",\"enterprise_id\":\"E1\",\"name\":\"Zhao\",\"role\":\"delivery\","
         "\"qualification_no\":\"Q3\",\"qualification_expiry\":\"2030-01-01\",\"training_no\":"
         "\"T3\",\"training_expiry\":\"2030-01-01\",\"zone_id\":\"Z1\",\"vehicle_id\":\"V3\","
         "\"on_duty\":true}",
         201);
    post("/v1/staff",
         "{\"id\":\"S4\",\"enterprise_id\":\"E1\",\"name\":\"Sun\",\"role\":\"delivery\","
         "\"qualification_no\":\"Q4\",\"qualification_expiry\":\"2030-01-01\",\"training_no\":"
         "\"T4\",\"training_expiry\":\"2030-01-01\",\"zone_id\":\"Z1\",\"vehicle_id\":\"V4\","
         "\"on_duty\":false}",
         201);
    json_t *j;
    assert_int_equal(api(&j, "POST", "/v1/devices", "{\"device_id\":\"H4\",\"staff_id\":\"S3\"}"),
                     201);
    snprintf(secret4, sizeof(secret4), "%s", str(j, "secret"));
    json_decref(j);
    assert_int_equal(api(&j, "PATCH", "/v1/staff/S1", "{\"on_duty\":false}"), 200);
    json_decref(j);
    assert_int_equal(api(&j, "PATCH", "/v1/staff/S2", "{\"on_duty\":false}"), 200);
    json_decref(j);
    const char *ids[] = {"P1", "P2", "P3", "P4", "P5"};
    for (int i = 0; i < 5; i++) { /* H4 is offline */
        create_order(ids[i]);
        assert_int_equal(api(&j, "GET", "/v1/orders/P1", NULL), 200);
        json_decref(j);
    }
    for (int i = 0; i < 5; i++)
        expect_state(ids[i], "assigned");
    int fd = login("H4", secret4);
    for (int i = 0; i < 5; i++) { /* the five pushes made while offline, in order */
        Lpg__V1__Envelope *env = expect_body(fd, LPG__V1__ENVELOPE__BODY_ORDER_ASSIGNED);
        assert_string_equal(env->order_assigned->order_id, ids[i]);
        assert_true(env->order_assigned->has_push_id);
        lpg__v1__envelope__free_unpacked(env, NULL);
    }
    Lpg__V1__Envelope *env = expect_list(fd);
    assert_int_equal(env->order_list->n_orders, 5);
    lpg__v1__envelope__free_unpacked(env, NULL);
    for (int i = 1; i < 5; i++) {
        send_answer(fd, 100 + (uint64_t)i, 1, ids[i], NULL);
        assert_int_equal(reply_to(fd, 100 + (uint64_t)i), 1);
    }
    close(fd);
    set_state_in_redis("P3", "accepted", "loaded");
    set_state_in_redis("P4", "accepted", "en_route");
    set_state_in_redis("P5", "accepted", "arrived");
    assert_int_equal(harness_proc_stop(&stack.d.proc, SIGTERM, 10000), 0);
    assert_int_equal(harness_dispatchd_start(&stack.d, stack.dir, stack.redis.port, NULL), 0);
    assert_int_equal(
        harness_http_wait_status(stack.d.http_port, "/healthz", 200, HARNESS_REPLY_TIMEOUT_MS),
        0); /* loaded */
    assert_int_equal(harness_stack_admin_token(&stack, admin), 0);

    fd = login("H4", secret4);
    /* P1 is still waiting for an answer: re-sent; P2..P5 were answered: not re-sent. */
    env = expect_body(fd, LPG__V1__ENVELOPE__BODY_ORDER_ASSIGNED);
    assert_string_equal(env->order_assigned->order_id, "P1");
    lpg__v1__envelope__free_unpacked(env, NULL);
    env = expect_list(fd);
    const Lpg__V1__OrderList *l = env->order_list;
    assert_int_equal(l->n_orders, 5);
    assert_false(l->has_ack_seq);
    assert_string_equal(listed(l, "P1"), "assigned");
    assert_string_equal(listed(l, "P2"), "accepted");
    assert_string_equal(listed(l, "P3"), "loaded");
    assert_string_equal(listed(l, "P4"), "en_route");
    assert_string_equal(listed(l, "P5"), "arrived");
    assert_string_equal(l->orders[0]->customer_name, "Household");
    lpg__v1__envelope__free_unpacked(env, NULL);
    close(fd);
}

/* A push acknowledged is dropped: not re-sent at the next login; an unacknowledged one is.
 * OrderListRequest is answered with the list, echoing its request id. */
static void test_acked_push_is_not_resent(void **state)
{
    (void)state;
    int fd = login("H4", secret4);
    Lpg__V1__Envelope *env = expect_body(fd, LPG__V1__ENVELOPE__BODY_ORDER_ASSIGNED);
    assert_string_equal(env->order_assigned->order_id, "P1"); /* unacknowledged: again */
    uint64_t p1_push = env->order_assigned->push_id;
    lpg__v1__envelope__free_unpacked(env, NULL);
    lpg__v1__envelope__free_unpacked(expect_list(fd), NULL);
    push_ack(fd, 200, p1_push);
    close(fd);

    fd = login("H4", secret4);
    env = expect_list(fd); /* nothing pending before it */
    assert_int_equal(env->order_list->n_orders, 5);
    lpg__v1__envelope__free_unpacked(env, NULL);
    Lpg__V1__OrderListRequest ask = LPG__V1__ORDER_LIST_REQUEST__INIT;
    Lpg__V1__Envelope req = LPG__V1__ENVELOPE__INIT;
    req.has_request_id = 1;
    req.request_id = 201;
    req.body_case = LPG__V1__ENVELOPE__BODY_ORDER_LIST_REQUEST;
    req.order_list_request = &ask;
    assert_int_equal(wire_send(fd, &req), 0);
    env = expect_list(fd);
    assert_true(env->order_list->has_ack_seq);
    assert_int_equal(env->order_list->ack_seq, 201);
    assert_int_equal(env->order_list->n_orders, 5);
    lpg__v1__envelope__free_unpacked(env, NULL);
    /* A PushAck without its push_id is refused, not fatal. */
    Lpg__V1__PushAck bad = LPG__V1__PUSH_ACK__INIT;
    req.request_id = 202;
    req.body_case = LPG__V1__ENVELOPE__BODY_PUSH_ACK;
    req.push_ack = &bad;
    assert_int_equal(wire_send(fd, &req), 0);
    assert_int_equal(reply_to(fd, 202), -LPG__V1__ERROR__CODE__INVALID_ARGUMENT);
    close(fd);
}

/* Cancelled, unassigned, given to someone else: the handset holding it is told at once. */
static void test_withdrawn_on_cancel_unassign_reassign(void **state)
{
    (void)state;
    int fd = login("H4", secret4);
    lpg__v1__envelope__free_unpacked(expect_list(fd), NULL);
    post("/v1/orders/P2/cancel", "{\"reason\":\"customer moved away\"}", 200);
    uint64_t id = expect_withdrawn(fd, "P2", LPG__V1__ORDER_WITHDRAWN__REASON__CANCELLED,
                                   "order P2 was cancelled: customer moved away");
    push_ack(fd, 300, id);
    post("/v1/orders/P1/unassign", "{\"reason\":\"too far today\"}", 200);
    id = expect_withdrawn(fd, "P1", LPG__V1__ORDER_WITHDRAWN__REASON__UNASSIGNED, "too far today");
    push_ack(fd, 301, id);
    /* A new order for S3, then given to S4 (on duty now; the waiting P1 goes to them too). */
    create_order("P6");
    Lpg__V1__Envelope *env = expect_body(fd, LPG__V1__ENVELOPE__BODY_ORDER_ASSIGNED);
    assert_string_equal(env->order_assigned->order_id, "P6");
    uint64_t p6_push = env->order_assigned->push_id;
    lpg__v1__envelope__free_unpacked(env, NULL);
    push_ack(fd, 302, p6_push);
    json_t *j;
    assert_int_equal(api(&j, "PATCH", "/v1/staff/S4", "{\"on_duty\":true}"), 200);
    json_decref(j);
    post("/v1/orders/P6/assign", "{\"staff_id\":\"S4\"}", 200);
    id = expect_withdrawn(fd, "P6", LPG__V1__ORDER_WITHDRAWN__REASON__REASSIGNED,
                          "was given to another person");
    push_ack(fd, 303, id);
    assert_int_equal(api(&j, "GET", "/v1/orders/P6", NULL), 200);
    assert_string_equal(str(j, "state"), "assigned");
    assert_string_equal(str(j, "staff_id"), "S4");
    json_decref(j);
    /* In the history: taken back (with the reason), given to S4. */
    assert_int_equal(api(&j, "GET", "/v1/orders/P6/history", NULL), 200);
    json_t *items = json_object_get(j, "items");
    size_t n = json_array_size(items);
    assert_true(n >= 2);
    json_t *back = json_array_get(items, n - 2), *given = json_array_get(items, n - 1);
    assert_string_equal(str(back, "from"), "assigned");
    assert_string_equal(str(back, "to"), "created");
    assert_string_equal(str(back, "reason"), "reassigned to S4");
    assert_string_equal(str(given, "from"), "created");
    assert_string_equal(str(given, "to"), "assigned");
    assert_string_equal(str(given, "actor"), "dispatcher");
    json_decref(j);
    /* Loaded: the cylinders are on S3's vehicle; it cannot be given to someone else. */
    post("/v1/orders/P3/assign", "{\"staff_id\":\"S4\"}", 409);
    close(fd);
}

/* Withdrawn while the handset is offline: told at the next login, before the list (which no
 * longer has it). */
static void test_offline_handset_gets_withdrawal_at_login(void **state)
{
    (void)state;
    post("/v1/orders/P4/cancel", "{\"reason\":\"duplicate order\"}", 200);
    int fd = login("H4", secret4);
    uint64_t id = expect_withdrawn(fd, "P4", LPG__V1__ORDER_WITHDRAWN__REASON__CANCELLED,
                                   "order P4 was cancelled: duplicate order");
    Lpg__V1__Envelope *env = expect_list(fd);
    const Lpg__V1__OrderList *l = env->order_list;
    assert_int_equal(l->n_orders, 2);
    assert_string_equal(listed(l, "P3"), "loaded");
    assert_string_equal(listed(l, "P5"), "arrived");
    lpg__v1__envelope__free_unpacked(env, NULL);
    push_ack(fd, 400, id);
    close(fd);
    fd = login("H4", secret4); /* acknowledged: not again */
    env = expect_list(fd);
    assert_int_equal(env->order_list->n_orders, 2);
    lpg__v1__envelope__free_unpacked(env, NULL);
    /* Closed as failed by a dispatcher: withdrawn too. */
    post("/v1/orders/P5/fail", "{\"reason\":\"nobody home\"}", 200);
    id = expect_withdrawn(fd, "P5", LPG__V1__ORDER_WITHDRAWN__REASON__FAILED,
                          "order P5 was closed as failed: nobody home");
    push_ack(fd, 401, id);
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
        cmocka_unit_test(test_login_lists_every_open_order),
        cmocka_unit_test(test_acked_push_is_not_resent),
        cmocka_unit_test(test_withdrawn_on_cancel_unassign_reassign),
        cmocka_unit_test(test_offline_handset_gets_withdrawal_at_login),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
