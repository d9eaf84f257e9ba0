/* handset_dispatch.c -- handset sessions of delivery staff: login, assignments, answers, duty
 * (handset_dispatch.h). A handset can never create an order or change its contents: it can
 * only answer an assignment made to its own person.
 */
#define LOG_TAG "handset"
#include "handset/handset_dispatch.h"
#include "handset/handset_delivery.h"
#include "app/driver_sign_on.h"
#include "app/events.h"
#include "app/orders.h"
#include "common/clock.h"

#include "store/accounts.h"
#include "core/auth.h"
#include "handset/handset_positions.h"
#include "handset/handset_sync.h"
#include "common/log.h"
#include "core/login_guard.h"
#include "core/model_json.h"
#include "core/registry.h"

#include "lpg/v1/envelope.pb-c.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* ---- login ---- */

/* A refused Hello: counted against the device id and the address, logged within the rate
 * limit (a flood of bad Hellos must not become a flood of log lines). */
static void hello_failed(struct service *d, const char *device_id, const char *peer_addr)
{
    int64_t now = lpg_now_ms();
    login_guard_failed(d->guard, LOGIN_HELLO, device_id, peer_addr, now);
    login_guard_stats(d->guard)->hello_failed++;
    uint64_t left_out = 0;
    if (login_guard_should_log(d->guard, LOGIN_HELLO, now, &left_out)) {
        if (left_out)
            log_info("refused login of device %s from %s (and %llu refusals not logged)", device_id,
                     peer_addr, (unsigned long long)left_out);
        else
            log_info("refused login of device %s from %s", device_id, peer_addr);
    }
}

static int authenticate(void *ctx, const char *device_id, const char *peer_addr,
                        const uint8_t *credential, size_t len, char *staff_id, size_t staff_cap,
                        char *why, size_t why_cap)
{
    struct service *d = ((struct handset_ctx *)ctx)->s;
    if (!d->loaded) {
        snprintf(why, why_cap, "the service is loading; retry shortly");
        return -2;
    }
    /* Refused untried while the device or the address is blocked (not counted again). */
    int64_t retry_ms = 0;
    if (login_guard_check(d->guard, LOGIN_HELLO, device_id, peer_addr, lpg_now_ms(), &retry_ms) !=
        THROTTLE_ALLOW) {
        login_guard_stats(d->guard)->hello_throttled++;
        snprintf(why, why_cap,
                 "too many failed logins of this device or from this address; retry in %lld s",
                 (long long)login_guard_retry_s(retry_ms));
        return -1;
    }
    const struct device_record *dev = accounts_device(d->accounts, device_id);
    char presented[AUTH_DEVICE_SECRET_LEN + 1];
    if (credential == NULL || len == 0 || len > AUTH_DEVICE_SECRET_LEN) {
        snprintf(why, why_cap, "unknown device or wrong credential");
        hello_failed(d, device_id, peer_addr);
        return -1;
    }
    memcpy(presented, credential, len);
    presented[len] = '\0';
    /* Same answer for an unknown device and a wrong secret. Only the person's current device
     * (the last one registered for them) may log in: a replaced handset is locked out. The
     * check is one SHA-256 (auth.h: device secrets are random, no slow hash needed), so it
     * stays on the loop. A vehicle's unit logs in while its vehicle exists in its enterprise;
     * its session has no person (staff_id ""). */
    const struct lpg_staff *s =
        dev && !dev->vehicle_id[0] ? registry_staff(d->registry, dev->staff_id) : NULL;
    const struct lpg_vehicle *v =
        dev && dev->vehicle_id[0] ? registry_vehicle(d->registry, dev->vehicle_id) : NULL;
    int owner_ok = s ? strcmp(s->device_id, dev->device_id) == 0
                     : v && strcmp(v->enterprise_id, dev->enterprise_id) == 0;
    if (dev == NULL || auth_device_secret_verify(presented, dev->secret_digest) != 1 || !owner_ok) {
        snprintf(why, why_cap, "unknown device or wrong credential");
        hello_failed(d, device_id, peer_addr);
        return -1;
    }
    login_guard_succeeded(d->guard, LOGIN_HELLO, device_id, peer_addr);
    snprintf(staff_id, staff_cap, "%s", dev->staff_id);
    return 0;
}

/* ---- OrderAssigned (kept and re-sent by handset_sync.c) ---- */

void handset_dispatch_notify_assigned(struct handset_ctx *h, const struct lpg_order *o)
{
    handset_sync_push_assigned(h, o);
}

static void on_order_assigned(void *arg, const struct service_event *ev)
{
    handset_dispatch_notify_assigned(arg, ev->order);
}

int handset_dispatch_watch(struct handset_ctx *h)
{
    return event_bus_subscribe(h->s->bus, EV_ORDER_ASSIGNED, on_order_assigned, h) != 0 ||
                   handset_sync_watch(h) != 0
               ? -1
               : 0;
}

/* At every login: the pushes not yet acknowledged, then every open order (OrderList), so an
 * offline device misses nothing. */
static void session_opened(void *ctx, struct handset_conn *c)
{
    struct service *d = ((struct handset_ctx *)ctx)->s;
    const struct lpg_staff *s = registry_staff(d->registry, handset_conn_staff(c));
    if (s == NULL)
        return;
    /* A person logged in on their handset drives their bound vehicle (lifts a card's hold),
     * from the moment the login was accepted (the driver's day starts then, not when the
     * writer gets to the sign-on). */
    driver_sign_on_person(d, s->id, handset_conn_opened_ms(c), NULL, NULL);
    handset_sync_login(d, c);
}

/* The person's handset session ended: no longer signed on by it -- unless the device is already
 * logged in again on a newer connection (which signed on). */
static void session_closed(void *ctx, struct handset_conn *c)
{
    struct handset_ctx *h = ctx;
    const char *staff = handset_conn_staff(c);
    struct handset_conn *now = handset_server_find_device(h->srv, handset_conn_device(c));
    if (staff[0] != '\0' && (now == NULL || now == c))
        driver_sign_off_person(h->s, staff, lpg_now_ms(), NULL, NULL); /* the session's end */
}

/* ---- answers: accept, reject, duty (app/orders.h) ---- */

/* A request waiting for its use case: the connection is held until the answer. */
struct answer {
    struct handset_conn *c;
    int has_req;
    uint64_t req;
};

/* The use case's result in the protocol's form: Ack, or Error UNAVAILABLE (nothing recorded,
 * or the store's outcome) or REFUSED with the reason. */
static void on_answered(void *arg, const struct orders_result *res)
{
    struct answer *a = arg;
    if (res->cancelled) {
        /* shutting down: nothing to answer */
    } else if (res->store_err) {
        handset_conn_store_failed(a->c, res->store_err, a->has_req, a->req);
    } else if (res->refusal && res->refusal->kind == REFUSAL_UNAVAILABLE) {
        handset_conn_error(a->c, LPG__V1__ERROR__CODE__UNAVAILABLE,
                           "the change could not be recorded (audit record unavailable or out "
                           "of memory); nothing was recorded, retry later",
                           a->has_req, a->req, 0);
    } else if (res->refusal && res->refusal->kind == REFUSAL_INTERNAL) {
        /* out of memory: a fault of ours, nothing recorded; the device may retry */
        handset_conn_error(a->c, LPG__V1__ERROR__CODE__UNAVAILABLE, res->refusal->message,
                           a->has_req, a->req, 0);
    } else if (res->refusal) {
        handset_conn_error(a->c, LPG__V1__ERROR__CODE__REFUSED, res->refusal->message, a->has_req,
                           a->req, 0);
    } else {
        handset_conn_ack(a->c, a->has_req, a->req);
    }
    handset_conn_release(a->c);
    free(a);
}

static int on_message(void *ctx, struct handset_conn *c, const Lpg__V1__Envelope *env)
{
    struct service *d = ((struct handset_ctx *)ctx)->s;
    enum orders_op op;
    const char *order_id = NULL, *reason = NULL;
    bool on_duty = false;
    if (env->body_case == LPG__V1__ENVELOPE__BODY_POSITION_BATCH) {
        handset_positions_batch(d, c, env);
        return 0;
    }
    /* A vehicle's unit (a session without a person) only reports positions: answering orders,
     * going on duty, scanning and checking are a person's acts. */
    if (handset_conn_staff(c)[0] == '\0') {
        handset_conn_refuse(c, "not_a_person",
                            "this device is bound to a vehicle, not to a person: it reports "
                            "positions only",
                            env->has_request_id, env->request_id);
        return 0;
    }
    switch (env->body_case) {
    case LPG__V1__ENVELOPE__BODY_ORDER_ACCEPT:
        op = ORDERS_ACCEPT;
        order_id = env->order_accept->order_id;
        break;
    case LPG__V1__ENVELOPE__BODY_ORDER_REJECT:
        op = ORDERS_REJECT;
        order_id = env->order_reject->order_id;
        reason = env->order_reject->reason;
        break;
    case LPG__V1__ENVELOPE__BODY_DUTY_CHANGE:
        op = ORDERS_DUTY;
        if (!env->duty_change->has_on_duty) {
            handset_conn_error(c, LPG__V1__ERROR__CODE__INVALID_ARGUMENT,
                               "DutyChange.on_duty is required", env->has_request_id,
                               env->request_id, 0);
            return 0;
        }
        on_duty = env->duty_change->on_duty;
        break;
    default:
        if (handset_sync_handle(d, c, env)) /* OrderListRequest, PushAck */
            return 0;
        return handset_delivery_handle(d, c, env); /* scans, checks, confirmation, return */
    }
    if (op != ORDERS_DUTY && (order_id == NULL || !lpg_id_valid(order_id))) {
        handset_conn_error(c, LPG__V1__ERROR__CODE__INVALID_ARGUMENT, "order_id is required",
                           env->has_request_id, env->request_id, 0);
        return 0;
    }
    if (op == ORDERS_REJECT && (reason == NULL || reason[0] == '\0')) {
        handset_conn_error(c, LPG__V1__ERROR__CODE__INVALID_ARGUMENT, "a rejection needs a reason",
                           env->has_request_id, env->request_id, 0);
        return 0;
    }
    /* protobuf-c does not check proto2 strings: the reason goes into JSON and the history, so
     * it must be whole, valid UTF-8 -- refused, never cut. */
    if (reason && (strlen(reason) > LPG_TEXT_MAX || !lpg_utf8_valid(reason, strlen(reason)))) {
        char msg[96];
        snprintf(msg, sizeof(msg), "reason must be valid UTF-8 of at most %d bytes", LPG_TEXT_MAX);
        handset_conn_error(c, LPG__V1__ERROR__CODE__INVALID_ARGUMENT, msg, env->has_request_id,
                           env->request_id, 0);
        return 0;
    }
    struct answer *a = calloc(1, sizeof(*a));
    if (a == NULL) {
        handset_conn_error(c, LPG__V1__ERROR__CODE__UNAVAILABLE, "out of memory; retry later",
                           env->has_request_id, env->request_id, 0);
        return 0;
    }
    a->c = c;
    a->has_req = env->has_request_id;
    a->req = env->request_id;
    struct orders_request req = {
        .op = op,
        .staff_id = handset_conn_staff(c),
        .order_id = order_id,
        .reason = reason,
        .on_duty = on_duty,
    };
    struct refusal r;
    handset_conn_hold(c); /* released with the answer */
    if (orders_submit(d, &req, on_answered, a, &r) != 0) {
        handset_conn_error(c, LPG__V1__ERROR__CODE__UNAVAILABLE, "out of memory; retry later",
                           a->has_req, a->req, 0);
        handset_conn_release(c);
        free(a);
    }
    return 0;
}

const struct handset_hooks handset_dispatch_hooks = {
    .authenticate = authenticate,
    .session_opened = session_opened,
    .session_closed = session_closed,
    .message = on_message,
};
