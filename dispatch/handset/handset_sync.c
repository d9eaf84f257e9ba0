/* handset_sync.c -- a person's handset kept in step with their orders (handset_sync.h): the
 * pushes kept in Redis until acknowledged, OrderList, OrderWithdrawn.
 */
#define LOG_TAG "handset"
#include "handset/handset_sync.h"

#include "app/events.h"
#include "app/pushes.h"
#include "common/clock.h"
#include "common/log.h"
#include "core/order_fsm.h"
#include "core/registry.h"
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- an order as the handset sees it ---- */

static int32_t to_e7(double deg)
{
    return (int32_t)lround(deg * 1e7);
}

/* Fills msg (initialised here) from o; items/ptrs hold LPG_ORDER_ITEMS_MAX entries and must
 * outlive msg. Strings are borrowed from o and the registry. */
static void fill_order(struct service *d, const struct lpg_order *o, Lpg__V1__OrderAssigned *msg,
                       Lpg__V1__OrderAssigned__Item *items, Lpg__V1__OrderAssigned__Item **ptrs)
{
    lpg__v1__order_assigned__init(msg);
    const struct lpg_customer *cust = registry_customer(d->registry, o->customer_id);
    msg->order_id = (char *)o->id;
    msg->customer_id = (char *)o->customer_id;
    if (cust) {
        msg->customer_name = (char *)cust->name;
        /* Like the notes: an optional string with no value is left out, never sent empty
         * (proto/README.md, "Compatibility rules"). */
        if (cust->address[0])
            msg->address = (char *)cust->address;
        msg->has_lat_e7 = msg->has_lon_e7 = 1;
        msg->lat_e7 = to_e7(cust->location.lat);
        msg->lon_e7 = to_e7(cust->location.lon);
    }
    size_t n = 0;
    for (int32_t i = 0; i < o->n_items && i < LPG_ORDER_ITEMS_MAX; i++, n++) {
        lpg__v1__order_assigned__item__init(&items[i]);
        items[i].cylinder_spec = (char *)o->items[i].spec;
        items[i].has_count = 1;
        items[i].count = (uint32_t)o->items[i].count;
        ptrs[i] = &items[i];
    }
    msg->n_items = n;
    msg->items = ptrs;
    if (o->window_start_ms) {
        msg->has_window_start_ms = 1;
        msg->window_start_ms = (uint64_t)o->window_start_ms;
    }
    if (o->window_end_ms) {
        msg->has_window_end_ms = 1;
        msg->window_end_ms = (uint64_t)o->window_end_ms;
    }
    if (o->notes[0])
        msg->notes = (char *)o->notes;
    msg->state = (char *)lpg_order_state_name(o->state);
}

/* The person's current handset, when it is logged in as them (a replaced handset may still be
 * connected; and an order never reaches a session of somebody else). */
static struct handset_conn *person_conn(struct handset_ctx *h, const char *staff_id)
{
    const struct lpg_staff *s = registry_staff(h->s->registry, staff_id);
    struct handset_conn *c =
        h->srv && s && s->device_id[0] ? handset_server_find_device(h->srv, s->device_id) : NULL;
    return c && strcmp(handset_conn_staff(c), s->id) == 0 ? c : NULL;
}

/* ---- pushes kept until acknowledged (app/pushes.h) ---- */

/* Keeps env (its push_id) in the person's pending pushes, then sends it if they are logged in.
 * Kept first: Redis runs the commands of our one connection in order, so a PushAck that comes
 * back for it is always applied after it was added. */
static void push(struct handset_ctx *h, const char *staff_id, uint64_t push_id,
                 const Lpg__V1__Envelope *env)
{
    size_t len = lpg__v1__envelope__get_packed_size(env);
    uint8_t *buf = malloc(len ? len : 1);
    const char *why = "out of memory";
    if (buf) {
        lpg__v1__envelope__pack(env, buf);
        if (pushes_keep(h->s, staff_id, push_id, buf, len, &why) == 0)
            why = NULL;
    }
    free(buf);
    if (why)
        log_warn("push %" PRIu64 " to %s not kept for re-sending: %s", push_id, staff_id, why);
    struct handset_conn *c = person_conn(h, staff_id);
    if (c)
        handset_conn_send(c, env);
}

void handset_sync_push_assigned(struct handset_ctx *h, const struct lpg_order *o)
{
    if (o == NULL || o->state != LPG_ORDER_ASSIGNED || !o->staff_id[0])
        return;
    Lpg__V1__OrderAssigned msg;
    Lpg__V1__OrderAssigned__Item items[LPG_ORDER_ITEMS_MAX];
    Lpg__V1__OrderAssigned__Item *ptrs[LPG_ORDER_ITEMS_MAX];
    fill_order(h->s, o, &msg, items, ptrs);
    msg.has_push_id = 1;
    msg.push_id = pushes_next_id();
    Lpg__V1__Envelope env = LPG__V1__ENVELOPE__INIT;
    env.body_case = LPG__V1__ENVELOPE__BODY_ORDER_ASSIGNED;
    env.order_assigned = &msg;
    push(h, o->staff_id, msg.push_id, &env);
}

/* ---- OrderWithdrawn ---- */

static void on_withdrawn(void *arg, const struct service_event *ev)
{
    struct handset_ctx *h = arg;
    const struct lpg_order *o = ev->order;
    if (o == NULL || ev->staff_id == NULL || !ev->staff_id[0])
        return;
    Lpg__V1__OrderWithdrawn msg = LPG__V1__ORDER_WITHDRAWN__INIT;
    const char *what;
    msg.has_reason = 1;
    switch (o->state) {
    case LPG_ORDER_CANCELLED:
        msg.reason = LPG__V1__ORDER_WITHDRAWN__REASON__CANCELLED;
        what = "was cancelled";
        break;
    case LPG_ORDER_FAILED:
        msg.reason = LPG__V1__ORDER_WITHDRAWN__REASON__FAILED;
        what = "was closed as failed";
        break;
    case LPG_ORDER_CREATED:
        msg.reason = LPG__V1__ORDER_WITHDRAWN__REASON__UNASSIGNED;
        what = "was taken back by the dispatcher";
        break;
    default: /* held by somebody else now (whom is not the handset's business) */
        msg.reason = LPG__V1__ORDER_WITHDRAWN__REASON__REASSIGNED;
        what = "was given to another person";
        break;
    }
    char text[LPG_TEXT_MAX + LPG_ID_MAX + 80];
    const char *why = ev->reason && ev->reason[0] ? ev->reason : "";
    snprintf(text, sizeof(text), "order %s %s%s%s", o->id, what, why[0] ? ": " : "", why);
    msg.order_id = (char *)o->id;
    msg.message = text;
    msg.has_push_id = 1;
    msg.push_id = pushes_next_id();
    msg.has_time_ms = 1;
    msg.time_ms = (uint64_t)o->updated_ms;
    Lpg__V1__Envelope env = LPG__V1__ENVELOPE__INIT;
    env.body_case = LPG__V1__ENVELOPE__BODY_ORDER_WITHDRAWN;
    env.order_withdrawn = &msg;
    log_info("order %s withdrawn from %s (%s)", o->id, ev->staff_id, what);
    push(h, ev->staff_id, msg.push_id, &env);
}

int handset_sync_watch(struct handset_ctx *h)
{
    return event_bus_subscribe(h->s->bus, EV_ORDER_WITHDRAWN, on_withdrawn, h);
}

/* ---- OrderList ---- */

struct person_filter {
    const char *staff_id;
};

static bool open_for(const void *entity, void *arg)
{
    const struct lpg_order *o = entity;
    const struct person_filter *f = arg;
    return order_fsm_is_active(o->state) && strcmp(o->staff_id, f->staff_id) == 0;
}

/* The list's working memory: one allocation, freed after sending. */
struct list_buf {
    const struct lpg_order *orders[HANDSET_LIST_MAX + 1];
    Lpg__V1__OrderAssigned msgs[HANDSET_LIST_MAX];
    Lpg__V1__OrderAssigned *msg_ptrs[HANDSET_LIST_MAX];
    Lpg__V1__OrderAssigned__Item items[HANDSET_LIST_MAX][LPG_ORDER_ITEMS_MAX];
    Lpg__V1__OrderAssigned__Item *item_ptrs[HANDSET_LIST_MAX][LPG_ORDER_ITEMS_MAX];
};

static void send_list(struct service *d, struct handset_conn *c, int has_req, uint64_t req)
{
    const struct lpg_staff *s = registry_staff(d->registry, handset_conn_staff(c));
    struct list_buf *b = calloc(1, sizeof(*b));
    if (b == NULL) {
        handset_conn_error(c, LPG__V1__ERROR__CODE__UNAVAILABLE,
                           "out of memory making the order list; ask again later", has_req, req, 0);
        return;
    }
    size_t n = 0;
    if (s) {
        struct person_filter f = {s->id};
        n = registry_list_orders(d->registry, s->enterprise_id, NULL, HANDSET_LIST_MAX + 1,
                                 open_for, &f, b->orders);
    }
    Lpg__V1__OrderList list = LPG__V1__ORDER_LIST__INIT;
    if (n > HANDSET_LIST_MAX) {
        n = HANDSET_LIST_MAX;
        list.has_truncated = list.truncated = 1;
    }
    for (size_t i = 0; i < n; i++) {
        fill_order(d, b->orders[i], &b->msgs[i], b->items[i], b->item_ptrs[i]);
        b->msg_ptrs[i] = &b->msgs[i];
    }
    list.orders = b->msg_ptrs;
    list.n_orders = n;
    list.has_ack_seq = has_req;
    list.ack_seq = req;
    list.has_time_ms = 1;
    list.time_ms = (uint64_t)lpg_now_ms();
    Lpg__V1__Envelope env = LPG__V1__ENVELOPE__INIT;
    env.has_request_id = 0;
    env.body_case = LPG__V1__ENVELOPE__BODY_ORDER_LIST;
    env.order_list = &list;
    /* A device may accept frames as small as 4096 bytes: send what fits, and say so. */
    size_t limit = handset_conn_max_frame(c);
    while (limit && list.n_orders > 0 && lpg__v1__envelope__get_packed_size(&env) > limit) {
        list.n_orders--;
        list.has_truncated = list.truncated = 1;
    }
    handset_conn_send(c, &env);
    free(b);
}

/* ---- login: re-send what is pending, then the list ---- */

struct login_read {
    struct service *d;
    struct handset_conn *c;
    char staff_id[LPG_ID_MAX + 1];
};

/* An OrderAssigned is moot once the order is no longer waiting for this person's answer
 * (answered, or withdrawn: the withdrawal follows it). */
static bool still_pending(struct service *d, const char *staff_id, const Lpg__V1__Envelope *env)
{
    if (env->body_case != LPG__V1__ENVELOPE__BODY_ORDER_ASSIGNED)
        return true;
    const char *id = env->order_assigned->order_id;
    const struct lpg_order *o = id ? registry_order(d->registry, id) : NULL;
    return o && o->state == LPG_ORDER_ASSIGNED && strcmp(o->staff_id, staff_id) == 0;
}

static void on_pending(void *arg, const struct pushes_item *items, size_t n, const char *err)
{
    struct login_read *r = arg;
    size_t sent = 0;
    if (err)
        log_warn("pending pushes of %s not read (%s); sending the order list only", r->staff_id,
                 err);
    for (size_t i = 0; i < n; i++) {
        Lpg__V1__Envelope *env = lpg__v1__envelope__unpack(NULL, items[i].len, items[i].bytes);
        if (env && still_pending(r->d, r->staff_id, env)) {
            handset_conn_send(r->c, env);
            sent++;
        } else { /* moot or unreadable: dropped so that it is not read again */
            pushes_forget(r->d, r->staff_id, items[i].bytes, items[i].len);
        }
        if (env)
            lpg__v1__envelope__free_unpacked(env, NULL);
    }
    if (sent)
        log_info("re-sent %zu unacknowledged pushes to %s", sent, r->staff_id);
    send_list(r->d, r->c, 0, 0);
    handset_conn_release(r->c);
    free(r);
}

void handset_sync_login(struct service *d, struct handset_conn *c)
{
    const char *staff = handset_conn_staff(c);
    struct login_read *r = staff[0] ? calloc(1, sizeof(*r)) : NULL;
    if (r == NULL) {
        if (staff[0])
            send_list(d, c, 0, 0);
        return;
    }
    r->d = d;
    r->c = c;
    snprintf(r->staff_id, sizeof(r->staff_id), "%s", staff);
    const char *why;
    /* Held until the pushes are re-sent: the device's requests wait, so its answers come after
     * it has seen what was pending. */
    handset_conn_hold(c);
    if (pushes_read(d, staff, on_pending, r, &why) != 0) {
        log_warn("pending pushes of %s not read (%s); sending the order list only", staff, why);
        send_list(d, c, 0, 0);
        handset_conn_release(c);
        free(r);
    }
}

/* ---- PushAck, OrderListRequest ---- */

struct ack_wait {
    struct handset_conn *c;
    int has_req;
    uint64_t req;
};

static void on_acked(void *arg, bool ok, const char *err)
{
    struct ack_wait *a = arg;
    if (ok)
        handset_conn_ack(a->c, a->has_req, a->req);
    else
        handset_conn_store_failed(a->c, err, a->has_req, a->req);
    handset_conn_release(a->c);
    free(a);
}

int handset_sync_handle(struct service *d, struct handset_conn *c, const Lpg__V1__Envelope *env)
{
    int has_req = env->has_request_id;
    uint64_t req = env->request_id;
    if (env->body_case == LPG__V1__ENVELOPE__BODY_ORDER_LIST_REQUEST) {
        send_list(d, c, has_req, req);
        return 1;
    }
    if (env->body_case != LPG__V1__ENVELOPE__BODY_PUSH_ACK)
        return 0;
    if (!env->push_ack->has_push_id) {
        handset_conn_error(c, LPG__V1__ERROR__CODE__INVALID_ARGUMENT, "PushAck.push_id is required",
                           has_req, req, 0);
        return 1;
    }
    struct ack_wait *a = calloc(1, sizeof(*a));
    if (a == NULL) {
        handset_conn_error(c, LPG__V1__ERROR__CODE__UNAVAILABLE, "out of memory; retry later",
                           has_req, req, 0);
        return 1;
    }
    a->c = c;
    a->has_req = has_req;
    a->req = req;
    const char *why;
    handset_conn_hold(c); /* released with the answer */
    if (pushes_ack(d, handset_conn_staff(c), env->push_ack->push_id, on_acked, a, &why) != 0) {
        char msg[160];
        snprintf(msg, sizeof(msg), "%s; nothing was recorded, retry later", why);
        handset_conn_error(c, LPG__V1__ERROR__CODE__UNAVAILABLE, msg, has_req, req, 0);
        handset_conn_release(c);
        free(a);
    }
    return 1;
}
