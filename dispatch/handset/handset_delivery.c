/* handset_delivery.c -- delivery messages of a handset (handset_delivery.h): read, checked for
 * form, handed to the use case (app/delivery.h) as plain commands; its result answered.
 */
#define LOG_TAG "delivery"
#include "handset/handset_delivery.h"

#include "app/delivery.h"

#include "lpg/v1/envelope.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A request waiting for its use case: the connection is held until the answer. */
struct pending {
    struct handset_conn *c;
    int has_req;
    uint64_t req;
};

static void send_reconciliation(struct pending *p, const struct delivery_reconciliation *rec)
{
    Lpg__V1__LoadReconciliation msg = LPG__V1__LOAD_RECONCILIATION__INIT;
    msg.has_ack_seq = p->has_req;
    msg.ack_seq = p->req;
    msg.has_loaded = msg.has_handed_over = msg.has_returned_full = msg.has_empties = 1;
    msg.loaded = rec->loaded;
    msg.handed_over = rec->handed_over;
    msg.returned_full = rec->returned_full;
    msg.empties = rec->empties;
    msg.n_missing = rec->n_missing;
    msg.missing = (char **)rec->missing; /* read only by the packer */
    msg.has_balanced = 1;
    msg.balanced = rec->balanced;
    Lpg__V1__Envelope env = LPG__V1__ENVELOPE__INIT;
    env.body_case = LPG__V1__ENVELOPE__BODY_LOAD_RECONCILIATION;
    env.load_reconciliation = &msg;
    handset_conn_send(p->c, &env);
}

static void on_done(void *arg, const struct delivery_result *res)
{
    struct pending *p = arg;
    if (res->cancelled) {
        /* shutting down: nothing to answer */
    } else if (res->store_err) {
        handset_conn_store_failed(p->c, res->store_err, p->has_req, p->req);
    } else if (res->refusal && res->refusal->kind == REFUSAL_RULE) {
        handset_conn_refuse(p->c, res->refusal->code, res->refusal->message, p->has_req, p->req);
    } else if (res->refusal) {
        handset_conn_error(p->c, LPG__V1__ERROR__CODE__UNAVAILABLE, res->refusal->message,
                           p->has_req, p->req, 0);
    } else if (res->reconciliation) {
        send_reconciliation(p, res->reconciliation);
    } else {
        handset_conn_ack(p->c, p->has_req, p->req);
    }
    handset_conn_release(p->c);
    free(p);
}

/* ---- reading the request ---- */

static int invalid(struct handset_conn *c, const Lpg__V1__Envelope *env, const char *msg)
{
    handset_conn_error(c, LPG__V1__ERROR__CODE__INVALID_ARGUMENT, msg, env->has_request_id,
                       env->request_id, 0);
    return 0;
}

/* Copies a proto2 string into a fixed field: absent is "", too long or not UTF-8 is refused. */
static int take_text(char *out, size_t cap, const char *in)
{
    size_t n = in ? strlen(in) : 0;
    if (n >= cap || (n && !lpg_utf8_valid(in, n)))
        return -1;
    memcpy(out, in ? in : "", n);
    out[n] = '\0';
    return 0;
}

static int take_position(struct delivery_command *cmd, bool has_lat, int32_t lat, bool has_lon,
                         int32_t lon)
{
    if (!has_lat && !has_lon)
        return 0;
    if (!has_lat || !has_lon || lat < -900000000 || lat > 900000000 || lon < -1800000000 ||
        lon > 1800000000)
        return -1;
    cmd->has_pos = true;
    cmd->pos.lat = lat / 1e7;
    cmd->pos.lon = lon / 1e7;
    return 0;
}

static int read_check(struct delivery_command *cmd, const Lpg__V1__SafetyCheck *m, const char **err)
{
    if (m->n_items > SAFETY_CHECK_ITEMS_MAX) {
        *err = "a safety check has at most 32 items";
        return -1;
    }
    for (size_t i = 0; i < m->n_items; i++) {
        const Lpg__V1__SafetyCheck__Item *it = m->items[i];
        if (take_text(cmd->items[i].key, sizeof(cmd->items[i].key), it->item) != 0 ||
            take_text(cmd->items[i].note, sizeof(cmd->items[i].note), it->note) != 0) {
            *err = "an item key (at most 40 bytes) or note (at most 255 bytes, UTF-8) is invalid";
            return -1;
        }
        cmd->items[i].result = it->has_result ? (enum check_result)it->result : CHECK_UNKNOWN;
    }
    cmd->n_items = m->n_items;
    if (take_text(cmd->customer_name, sizeof(cmd->customer_name), m->customer_name) != 0 ||
        take_text(cmd->signature_ref, sizeof(cmd->signature_ref), m->signature_ref) != 0 ||
        take_text(cmd->customer_pin, sizeof(cmd->customer_pin), m->customer_pin) != 0) {
        *err = "customer_name, signature_ref or customer_pin is too long or not UTF-8";
        return -1;
    }
    if (take_position(cmd, m->has_lat_e7, m->lat_e7, m->has_lon_e7, m->lon_e7) != 0) {
        *err = "lat_e7 and lon_e7 go together, within range";
        return -1;
    }
    cmd->device_time_ms = m->has_time_ms ? (int64_t)m->time_ms : 0;
    return 0;
}

/* The scan actions of the protocol, in the use case's terms. */
static int scan_action(Lpg__V1__CylinderScan__Action a, enum delivery_action *out)
{
    switch (a) {
    case LPG__V1__CYLINDER_SCAN__ACTION__LOAD:
        *out = DELIVERY_LOAD;
        return 0;
    case LPG__V1__CYLINDER_SCAN__ACTION__HAND_OVER:
        *out = DELIVERY_HAND_OVER;
        return 0;
    case LPG__V1__CYLINDER_SCAN__ACTION__COLLECT_EMPTY:
        *out = DELIVERY_COLLECT_EMPTY;
        return 0;
    case LPG__V1__CYLINDER_SCAN__ACTION__RETURN_FULL:
        *out = DELIVERY_RETURN_FULL;
        return 0;
    default:
        return -1;
    }
}

int handset_delivery_handle(struct service *d, struct handset_conn *c, const Lpg__V1__Envelope *env)
{
    /* Large (the check's answers): on the heap, not the stack of the frame handler. */
    struct delivery_command *cmd = calloc(1, sizeof(*cmd));
    if (cmd == NULL) {
        handset_conn_error(c, LPG__V1__ERROR__CODE__UNAVAILABLE, "out of memory; retry later",
                           env->has_request_id, env->request_id, 0);
        return 0;
    }
    const char *order = NULL, *code = NULL, *err = NULL;
    switch (env->body_case) {
    case LPG__V1__ENVELOPE__BODY_CYLINDER_SCAN: {
        const Lpg__V1__CylinderScan *m = env->cylinder_scan;
        cmd->kind = DELIVERY_SCAN;
        order = m->order_id;
        code = m->cylinder_code;
        if (!m->has_action || scan_action(m->action, &cmd->action) != 0)
            err = "action must be LOAD, HAND_OVER, COLLECT_EMPTY or RETURN_FULL";
        else if (code == NULL || !lpg_id_valid(code))
            err = "cylinder_code is required: 1..64 characters of [A-Za-z0-9_.-]";
        else if (cmd->action != DELIVERY_RETURN_FULL && (order == NULL || !lpg_id_valid(order)))
            err = "order_id is required";
        else if (take_position(cmd, m->has_lat_e7, m->lat_e7, m->has_lon_e7, m->lon_e7) != 0)
            err = "lat_e7 and lon_e7 go together, within range";
        cmd->device_time_ms = m->has_time_ms ? (int64_t)m->time_ms : 0;
        break;
    }
    case LPG__V1__ENVELOPE__BODY_SAFETY_CHECK:
        cmd->kind = DELIVERY_CHECK;
        order = env->safety_check->order_id;
        code = env->safety_check->cylinder_code;
        if (order == NULL || !lpg_id_valid(order))
            err = "order_id is required";
        else if (code && code[0] && !lpg_id_valid(code))
            err = "cylinder_code must be 1..64 characters of [A-Za-z0-9_.-]";
        else
            read_check(cmd, env->safety_check, &err);
        break;
    case LPG__V1__ENVELOPE__BODY_DELIVERY_CONFIRM:
        cmd->kind = DELIVERY_CONFIRM;
        order = env->delivery_confirm->order_id;
        if (order == NULL || !lpg_id_valid(order))
            err = "order_id is required";
        break;
    case LPG__V1__ENVELOPE__BODY_STATION_RETURN:
        cmd->kind = DELIVERY_RETURN;
        break;
    default:
        free(cmd);
        return -1;
    }
    if (err) {
        free(cmd);
        return invalid(c, env, err);
    }
    snprintf(cmd->staff_id, sizeof(cmd->staff_id), "%s", handset_conn_staff(c));
    snprintf(cmd->device_id, sizeof(cmd->device_id), "%s", handset_conn_device(c));
    snprintf(cmd->order_id, sizeof(cmd->order_id), "%s", order ? order : "");
    snprintf(cmd->cylinder_id, sizeof(cmd->cylinder_id), "%s", code ? code : "");
    struct pending *p = calloc(1, sizeof(*p));
    struct refusal r;
    if (p == NULL) {
        free(cmd);
        handset_conn_error(c, LPG__V1__ERROR__CODE__UNAVAILABLE, "out of memory; retry later",
                           env->has_request_id, env->request_id, 0);
        return 0;
    }
    p->c = c;
    p->has_req = env->has_request_id;
    p->req = env->request_id;
    handset_conn_hold(c); /* released with the answer */
    if (delivery_submit(d, cmd, on_done, p, &r) != 0) {
        handset_conn_error(c, LPG__V1__ERROR__CODE__UNAVAILABLE, "out of memory; retry later",
                           p->has_req, p->req, 0);
        handset_conn_release(c);
        free(p);
    }
    free(cmd);
    return 0;
}
