/* test_usecases.c -- the use cases of dispatch/app/ called as a transport calls them, with no
 * transport and no bus (NULL) and no Redis (a store that never connects, an audit head never
 * loaded): what they decide against the registry comes back through the callback in the one
 * refusal shape, and nothing reaches the registry unrecorded. The dispatcher's order changes
 * go out on the bus only (EV_ORDER_ASSIGNED then EV_ORDER_CHANGED).
 */
#include "app/delivery.h"
#include "app/dispatcher.h"
#include "app/events.h"
#include "app/orders.h"
#include "app/stations.h"
#include "core/registry.h"
#include "store/audit_log.h"
#include "store/store.h"
#include "store/writer.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>

/* ---- a service without transports ---- */

static struct service *service_new(void)
{
    struct service *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    s->base = event_base_new();
    s->registry = registry_new();
    /* Nobody listens on port 1: the store keeps retrying, every commit is refused. */
    struct store_options so = {.host = "127.0.0.1",
                               .port = 1,
                               .connect_timeout_ms = 1000,
                               .ping_interval_ms = 1000,
                               .reconnect_min_ms = 1000,
                               .reconnect_max_ms = 1000,
                               .key_prefix = "test:"};
    s->store = store_new(s->base, &so);
    s->writer = writer_new(s->base, s->store);
    s->audit = audit_log_new(s->store); /* head unknown: appends are refused */
    assert_non_null(s->base);
    assert_non_null(s->registry);
    assert_non_null(s->store);
    assert_non_null(s->writer);
    assert_non_null(s->audit);
    struct lpg_enterprise *e = calloc(1, sizeof(*e));
    snprintf(e->id, sizeof(e->id), "ent-a");
    e->utc_offset_min = 480;
    e->licence_expiry_day = LPG_DAY_NONE;
    assert_int_equal(registry_put_enterprise(s->registry, e), 0);
    return s;
}

static void service_free(struct service *s)
{
    writer_free(s->writer);
    audit_log_free(s->audit);
    store_free(s->store);
    registry_free(s->registry);
    event_bus_free(s->bus);
    event_base_free(s->base);
    free(s);
}

static void put_order(struct service *s, const char *id, enum lpg_order_state state,
                      const char *staff)
{
    struct lpg_order *o = calloc(1, sizeof(*o));
    snprintf(o->id, sizeof(o->id), "%s", id);
    snprintf(o->enterprise_id, sizeof(o->enterprise_id), "ent-a");
    snprintf(o->customer_id, sizeof(o->customer_id), "cu-1");
    snprintf(o->staff_id, sizeof(o->staff_id), "%s", staff);
    o->state = state;
    o->created_ms = o->updated_ms = 1;
    assert_int_equal(registry_put_order(s->registry, o), 0);
}

/* ---- the dispatcher publishes, the transports are not called ---- */

struct heard {
    char kinds[8];
    int n;
    char order_id[LPG_ID_MAX + 1];
    char staff_id[LPG_ID_MAX + 1];
};

static void hear(void *arg, const struct service_event *ev)
{
    struct heard *h = arg;
    h->kinds[h->n++] = ev->kind == EV_ORDER_ASSIGNED ? 'A' : 'C';
    snprintf(h->order_id, sizeof(h->order_id), "%s", ev->order ? ev->order->id : "");
    snprintf(h->staff_id, sizeof(h->staff_id), "%s", ev->staff_id ? ev->staff_id : "");
}

static void order_changes_go_out_on_the_bus(void **state)
{
    (void)state;
    struct service *s = service_new();
    put_order(s, "o-assigned", LPG_ORDER_ASSIGNED, "st-1");
    put_order(s, "o-waiting", LPG_ORDER_CREATED, "");
    dispatcher_order_changed(s, "o-assigned"); /* no bus: nobody to tell, no transport called */
    s->bus = event_bus_new();
    struct heard h = {0};
    assert_int_equal(event_bus_subscribe(s->bus, EV_ORDER_ASSIGNED, hear, &h), 0);
    assert_int_equal(event_bus_subscribe(s->bus, EV_ORDER_CHANGED, hear, &h), 0);
    dispatcher_order_changed(s, "o-assigned");
    assert_int_equal(h.n, 2);
    assert_memory_equal(h.kinds, "AC", 2); /* the assignee's handset first, then the feed */
    assert_string_equal(h.order_id, "o-assigned");
    assert_string_equal(h.staff_id, "st-1");
    h.n = 0;
    dispatcher_order_changed(s, "o-waiting");
    assert_int_equal(h.n, 1);
    assert_int_equal(h.kinds[0], 'C');
    h.n = 0;
    dispatcher_order_changed(s, "no-such-order");
    assert_int_equal(h.n, 0);
    service_free(s);
}

/* ---- module state: owned by the module, read through its accessor ---- */

static void run_until_written(struct service *s)
{
    while (writer_pending(s->writer) > 0)
        event_base_loop(s->base, EVLOOP_ONCE);
}

/* The re-matching queue and its counters are the dispatcher's (dispatcher_init): without it a
 * loaded service queues no pass and reports zeros; with it a request during a pass is coalesced
 * into one more pass, counted where /metrics reads it. */
static void the_dispatcher_owns_its_rematch_state(void **state)
{
    (void)state;
    struct service *s = service_new();
    s->loaded = 1;
    dispatcher_rematch(s);
    assert_int_equal(writer_pending(s->writer), 0);
    assert_int_equal(dispatcher_stats(s)->passes, 0);
    assert_int_equal(delivery_stats(s)->scans_accepted, 0);

    assert_int_equal(dispatcher_init(s), 0);
    dispatcher_rematch(s);
    dispatcher_rematch(s); /* queued already: one more pass after this one */
    assert_int_equal(writer_pending(s->writer), 1);
    run_until_written(s);
    assert_int_equal(dispatcher_stats(s)->passes, 2);
    assert_int_equal(dispatcher_stats(s)->assigned, 0); /* nothing waits */
    dispatcher_free(s);
    assert_null(s->dispatcher);
    service_free(s);
}

/* ---- orders: one implementation for users and devices ---- */

struct answer {
    int calls;
    struct refusal refusal;
    int refused, stored;
    char store_err[128];
};

static void on_order(void *arg, const struct orders_result *res)
{
    struct answer *a = arg;
    a->calls++;
    if (res->refusal) {
        a->refused = 1;
        a->refusal = *res->refusal;
    }
    if (res->store_err)
        snprintf(a->store_err, sizeof(a->store_err), "%s", res->store_err);
    a->stored = res->order != NULL || res->staff != NULL;
}

static void run_until_answered(struct service *s, const int *calls)
{
    while (*calls == 0)
        event_base_loop(s->base, EVLOOP_ONCE);
}

static struct answer submit_order(struct service *s, const struct orders_request *req)
{
    struct answer a = {0};
    struct refusal r;
    assert_int_equal(orders_submit(s, req, on_order, &a, &r), 0);
    run_until_answered(s, &a.calls);
    assert_int_equal(a.calls, 1);
    return a;
}

static void a_device_answers_only_its_own_orders(void **state)
{
    (void)state;
    struct service *s = service_new();
    put_order(s, "o-1", LPG_ORDER_ASSIGNED, "st-1");
    struct answer a = submit_order(
        s, &(struct orders_request){.op = ORDERS_ACCEPT, .staff_id = "st-2", .order_id = "o-1"});
    assert_true(a.refused);
    assert_int_equal(a.refusal.kind, REFUSAL_NOT_FOUND);
    assert_string_equal(a.refusal.code, "not_your_order");
    assert_string_equal(a.refusal.message, "order o-1 is not assigned to you");
    /* A missing order is answered the same. */
    a = submit_order(
        s, &(struct orders_request){
               .op = ORDERS_REJECT, .staff_id = "st-1", .order_id = "o-none", .reason = "too far"});
    assert_string_equal(a.refusal.code, "not_your_order");
    assert_int_equal(registry_order(s->registry, "o-1")->state, LPG_ORDER_ASSIGNED);
    service_free(s);
}

static void a_user_is_scoped_and_checked(void **state)
{
    (void)state;
    struct service *s = service_new();
    put_order(s, "o-1", LPG_ORDER_ASSIGNED, "st-1");
    struct auth_principal other = {.user = "disp-b",
                                   .role = AUTH_ROLE_DISPATCHER,
                                   .enterprise_id = "ent-b",
                                   .expires_ms = INT64_MAX};
    struct answer a = submit_order(s, &(struct orders_request){.op = ORDERS_CANCEL,
                                                               .user = &other,
                                                               .order_id = "o-1",
                                                               .reason = "customer called"});
    assert_int_equal(a.refusal.kind, REFUSAL_NOT_FOUND); /* another enterprise's: missing */
    assert_string_equal(a.refusal.code, "not_found");
    assert_string_equal(a.refusal.message, "no order with id o-1");
    struct auth_principal own = other;
    snprintf(own.enterprise_id, sizeof(own.enterprise_id), "ent-a");
    a = submit_order(
        s, &(struct orders_request){.op = ORDERS_ASSIGN, .user = &own, .order_id = "o-1"});
    assert_int_equal(a.refusal.kind, REFUSAL_INVALID);
    assert_string_equal(a.refusal.code, "missing_field");
    assert_string_equal(a.refusal.field, "staff_id");
    service_free(s);
}

/* The state machine says no the same way whoever asks. */
static void an_illegal_transition_is_a_conflict_for_both(void **state)
{
    (void)state;
    struct service *s = service_new();
    put_order(s, "o-done", LPG_ORDER_DELIVERED, "st-1");
    struct auth_principal admin = {
        .user = "root", .role = AUTH_ROLE_ADMIN, .expires_ms = INT64_MAX};
    struct answer by_user = submit_order(
        s, &(struct orders_request){
               .op = ORDERS_FAIL, .user = &admin, .order_id = "o-done", .reason = "x"});
    assert_int_equal(by_user.refusal.kind, REFUSAL_CONFLICT);
    assert_string_equal(by_user.refusal.code, "illegal_transition");
    struct answer by_device = submit_order(
        s, &(struct orders_request){.op = ORDERS_ACCEPT, .staff_id = "st-1", .order_id = "o-done"});
    assert_int_equal(by_device.refusal.kind, REFUSAL_CONFLICT);
    assert_string_equal(by_device.refusal.code, "illegal_transition");
    service_free(s);
}

/* Nothing changes unrecorded: with the audit record unavailable, an allowed transition is
 * refused as a store outage, and the registry keeps the order as it was. */
static void an_unrecordable_change_is_not_applied(void **state)
{
    (void)state;
    struct service *s = service_new();
    put_order(s, "o-1", LPG_ORDER_ASSIGNED, "st-1");
    struct answer a = submit_order(
        s, &(struct orders_request){.op = ORDERS_ACCEPT, .staff_id = "st-1", .order_id = "o-1"});
    assert_int_equal(a.refusal.kind, REFUSAL_UNAVAILABLE);
    assert_string_equal(a.refusal.code, "store_unavailable");
    assert_false(a.stored);
    assert_int_equal(registry_order(s->registry, "o-1")->state, LPG_ORDER_ASSIGNED);
    service_free(s);
}

/* ---- station events and delivery: plain requests, plain answers ---- */

struct station_answer {
    int calls;
    struct refusal refusal;
};

static void on_station(void *arg, const struct station_result *res)
{
    struct station_answer *a = arg;
    a->calls++;
    if (res->refusal)
        a->refusal = *res->refusal;
}

static void a_station_event_follows_the_cylinder_state_machine(void **state)
{
    (void)state;
    struct service *s = service_new();
    struct lpg_cylinder *c = calloc(1, sizeof(*c));
    snprintf(c->id, sizeof(c->id), "cy-1");
    snprintf(c->enterprise_id, sizeof(c->enterprise_id), "ent-a");
    c->status = LPG_CYL_IN_STOCK;
    assert_int_equal(registry_put_cylinder(s->registry, c), 0);
    assert_null(station_event_find("polished"));
    const struct station_event *filled = station_event_find("filled");
    assert_non_null(filled);
    assert_false(station_event_is_inspection(filled));
    assert_true(station_event_is_inspection(station_event_find("inspected")));
    struct auth_principal admin = {
        .user = "root", .role = AUTH_ROLE_ADMIN, .expires_ms = INT64_MAX};
    struct station_answer a = {0};
    struct refusal r;
    struct station_request req = {.user = &admin,
                                  .cylinder_id = "cy-1",
                                  .event = filled,
                                  .next_inspection_day = LPG_DAY_NONE};
    assert_int_equal(stations_submit(s, &req, on_station, &a, &r), 0);
    run_until_answered(s, &a.calls);
    assert_int_equal(a.refusal.kind, REFUSAL_CONFLICT);
    assert_string_equal(a.refusal.code, "illegal_transition");
    assert_string_equal(a.refusal.field, "event");
    assert_string_equal(a.refusal.message, "cylinder cy-1 is in_stock: it cannot be filled");
    service_free(s);
}

struct delivery_answer {
    int calls;
    int refused;
    struct refusal refusal;
};

static void on_delivery(void *arg, const struct delivery_result *res)
{
    struct delivery_answer *a = arg;
    a->calls++;
    if (res->refusal) {
        a->refused = 1;
        a->refusal = *res->refusal;
    }
}

/* A scan as plain fields: its refusal is recorded with the audit log, so without one the
 * answer is "nothing was recorded", through the callback, exactly once. */
static void a_delivery_command_is_answered_through_the_callback(void **state)
{
    (void)state;
    struct service *s = service_new();
    struct lpg_staff *st = calloc(1, sizeof(*st));
    snprintf(st->id, sizeof(st->id), "st-1");
    snprintf(st->enterprise_id, sizeof(st->enterprise_id), "ent-a");
    assert_int_equal(registry_put_staff(s->registry, st), 0);
    struct delivery_command cmd = {.kind = DELIVERY_SCAN, .action = DELIVERY_LOAD};
    snprintf(cmd.staff_id, sizeof(cmd.staff_id), "st-1");
    snprintf(cmd.device_id, sizeof(cmd.device_id), "dev-1");
    snprintf(cmd.order_id, sizeof(cmd.order_id), "o-1");
    snprintf(cmd.cylinder_id, sizeof(cmd.cylinder_id), "cy-unknown");
    struct delivery_answer a = {0};
    struct refusal r;
    assert_int_equal(delivery_submit(s, &cmd, on_delivery, &a, &r), 0);
    run_until_answered(s, &a.calls);
    assert_int_equal(a.calls, 1);
    assert_true(a.refused);
    assert_int_equal(a.refusal.kind, REFUSAL_UNAVAILABLE);
    assert_string_equal(a.refusal.code, "store_unavailable");
    service_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(order_changes_go_out_on_the_bus),
        cmocka_unit_test(the_dispatcher_owns_its_rematch_state),
        cmocka_unit_test(a_device_answers_only_its_own_orders),
        cmocka_unit_test(a_user_is_scoped_and_checked),
        cmocka_unit_test(an_illegal_transition_is_a_conflict_for_both),
        cmocka_unit_test(an_unrecordable_change_is_not_applied),
        cmocka_unit_test(a_station_event_follows_the_cylinder_state_machine),
        cmocka_unit_test(a_delivery_command_is_answered_through_the_callback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
