/*
 * test_order_fsm.c - the order state machine (order_fsm.c): every (from, to, actor) triple, with
 * and without a reason, against an expectation written independently of the module's table
 * (as rules in code below, from the brief: the delivery path, rejection and un-assignment,
 * failure, cancellation, final states); then the helpers, the messages and order_fsm_apply.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/order_fsm.h"

enum { SYS = ORDER_ACTOR_SYSTEM, DISP = ORDER_ACTOR_DISPATCHER, DEV = ORDER_ACTOR_DEVICE };

/* The expectation: is (from, to, actor) allowed, and does it need a reason? */
static bool expect_allowed(int from, int to, int actor, bool *need_reason)
{
    *need_reason = false;
    if (from >= LPG_ORDER_DELIVERED || from == to)
        return false; /* final states have no exits; no self loops */
    if (to == LPG_ORDER_CANCELLED) {
        *need_reason = true;
        return actor == DISP;
    }
    if (to == LPG_ORDER_FAILED) {
        *need_reason = true;
        /* a device holds an order only once it is assigned to it */
        return actor == DISP || (actor == DEV && from != LPG_ORDER_CREATED);
    }
    if (to == LPG_ORDER_CREATED) {
        *need_reason = true;
        if (from == LPG_ORDER_ASSIGNED)
            return actor == DEV || actor == DISP; /* rejected, or un-assigned */
        if (from == LPG_ORDER_ACCEPTED)
            return actor == DISP; /* un-assigned */
        return false;
    }
    /* arrival proven by the first hand-over (from loaded), or a re-inspection visit (from
     * accepted), by the device */
    if (to == LPG_ORDER_ARRIVED && (from == LPG_ORDER_LOADED || from == LPG_ORDER_ACCEPTED))
        return actor == DEV;
    if (to == from + 1 && to <= LPG_ORDER_DELIVERED) {
        if (from == LPG_ORDER_CREATED)
            return actor == SYS || actor == DISP; /* matching or manual assignment */
        /* leaving the station and stopping at the customer, read from the track too */
        if (to == LPG_ORDER_EN_ROUTE || to == LPG_ORDER_ARRIVED)
            return actor == DEV || actor == SYS;
        return actor == DEV;
    }
    return false;
}

static bool blank(const char *r)
{
    return r == NULL || strspn(r, " \t\r\n") == strlen(r);
}

static void test_every_triple(void **state)
{
    (void)state;
    const char *reasons[] = {NULL, "", "  \t", "customer not at home"};
    size_t allowed = 0;
    for (int from = 0; from < LPG_ORDER_STATE_COUNT; from++)
        for (int to = 0; to < LPG_ORDER_STATE_COUNT; to++)
            for (int actor = 0; actor < ORDER_ACTOR_COUNT; actor++)
                for (size_t r = 0; r < sizeof(reasons) / sizeof(reasons[0]); r++) {
                    bool need;
                    bool ok =
                        expect_allowed(from, to, actor, &need) && !(need && blank(reasons[r]));
                    char why[256] = "untouched";
                    int rc = order_fsm_check(from, to, actor, reasons[r], why, sizeof(why));
                    if (rc != (ok ? 0 : -1))
                        fail_msg("%s -> %s by %s, reason \"%s\": got %d, expected %d (%s)",
                                 lpg_order_state_name(from), lpg_order_state_name(to),
                                 order_fsm_actor_name(actor), reasons[r] ? reasons[r] : "NULL", rc,
                                 ok ? 0 : -1, why);
                    if (rc != 0)
                        assert_true(strlen(why) > 0 && strcmp(why, "untouched") != 0);
                    if (r == 3 && ok)
                        allowed++;
                    bool exp_need;
                    if (r == 0 && actor == 0)
                        assert_int_equal(order_fsm_reason_required(from, to),
                                         expect_allowed(from, to, DISP, &exp_need) ||
                                                 expect_allowed(from, to, DEV, &exp_need) ||
                                                 expect_allowed(from, to, SYS, &exp_need)
                                             ? exp_need
                                             : false);
                }
    /* path: created->assigned by system or dispatcher, 5 device steps (7), en route and arrived
     * by the system too (2); the two shortcuts to arrived (2); back to created (3); failed:
     * dispatcher from 6 states, device from 5 (11); cancelled (6). */
    assert_int_equal(allowed, 7 + 2 + 2 + 3 + 11 + 6);
}

static void test_final_and_active(void **state)
{
    (void)state;
    const bool final[] = {false, false, false, false, false, false, true, true, true};
    const bool active[] = {false, true, true, true, true, true, false, false, false};
    for (int s = 0; s < LPG_ORDER_STATE_COUNT; s++) {
        assert_int_equal(order_fsm_is_final(s), final[s]);
        assert_int_equal(order_fsm_is_active(s), active[s]);
        if (final[s])
            assert_int_equal(order_fsm_targets(s, ORDER_ACTOR_ANY, NULL, 0), 0);
    }
}

static void test_targets(void **state)
{
    (void)state;
    enum lpg_order_state out[LPG_ORDER_STATE_COUNT];
    size_t n = order_fsm_targets(LPG_ORDER_CREATED, ORDER_ACTOR_ANY, out, LPG_ORDER_STATE_COUNT);
    assert_int_equal(n, 3);
    assert_int_equal(out[0], LPG_ORDER_ASSIGNED);
    assert_int_equal(out[1], LPG_ORDER_FAILED);
    assert_int_equal(out[2], LPG_ORDER_CANCELLED);

    n = order_fsm_targets(LPG_ORDER_ASSIGNED, ORDER_ACTOR_BIT(ORDER_ACTOR_DEVICE), out, 2);
    assert_int_equal(n, 3); /* total, though only 2 fit */
    assert_int_equal(out[0], LPG_ORDER_CREATED);
    assert_int_equal(out[1], LPG_ORDER_ACCEPTED);

    char buf[128];
    order_fsm_targets_str(LPG_ORDER_ARRIVED, ORDER_ACTOR_ANY, buf, sizeof(buf));
    assert_string_equal(buf, "delivered, failed, cancelled");
    order_fsm_targets_str(LPG_ORDER_DELIVERED, ORDER_ACTOR_ANY, buf, sizeof(buf));
    assert_string_equal(buf, "none");
    order_fsm_targets_str(LPG_ORDER_CREATED, ORDER_ACTOR_BIT(ORDER_ACTOR_SYSTEM), buf, sizeof(buf));
    assert_string_equal(buf, "assigned");
    order_fsm_targets_str(LPG_ORDER_CREATED, ORDER_ACTOR_ANY, buf, 6); /* truncated */
    assert_string_equal(buf, "assig");
}

static void test_messages(void **state)
{
    (void)state;
    char why[256];
    assert_int_equal(order_fsm_check(LPG_ORDER_DELIVERED, LPG_ORDER_ASSIGNED,
                                     ORDER_ACTOR_DISPATCHER, NULL, why, sizeof(why)),
                     -1);
    assert_string_equal(why, "cannot go from delivered to assigned: delivered is final");

    order_fsm_check(LPG_ORDER_CREATED, LPG_ORDER_DELIVERED, ORDER_ACTOR_DEVICE, NULL, why,
                    sizeof(why));
    assert_string_equal(why, "cannot go from created to delivered; from created an order can go "
                             "to: assigned, failed, cancelled");

    order_fsm_check(LPG_ORDER_CREATED, LPG_ORDER_ASSIGNED, ORDER_ACTOR_DEVICE, NULL, why,
                    sizeof(why));
    assert_string_equal(why, "a device cannot move an order from created to assigned (only the "
                             "system or dispatcher can)");

    order_fsm_check(LPG_ORDER_ASSIGNED, LPG_ORDER_CREATED, ORDER_ACTOR_DEVICE, " ", why,
                    sizeof(why));
    assert_string_equal(why, "a reason is required to go from assigned to created");

    order_fsm_check(LPG_ORDER_LOADED, LPG_ORDER_LOADED, ORDER_ACTOR_DEVICE, NULL, why, sizeof(why));
    assert_string_equal(why, "the order is already loaded");

    assert_int_equal(order_fsm_check(LPG_ORDER_STATE_COUNT, LPG_ORDER_CREATED, ORDER_ACTOR_SYSTEM,
                                     NULL, why, sizeof(why)),
                     -1);
    assert_string_equal(why, "unknown order state 9");
    assert_int_equal(order_fsm_check(LPG_ORDER_CREATED, LPG_ORDER_ASSIGNED, ORDER_ACTOR_COUNT, NULL,
                                     why, sizeof(why)),
                     -1);
    assert_string_equal(why, "unknown actor 3");

    /* why may be NULL with cap 0; a short buffer is truncated, never overrun */
    assert_int_equal(
        order_fsm_check(LPG_ORDER_DELIVERED, LPG_ORDER_FAILED, ORDER_ACTOR_DEVICE, "x", NULL, 0),
        -1);
    char small[8];
    order_fsm_check(LPG_ORDER_DELIVERED, LPG_ORDER_FAILED, ORDER_ACTOR_DEVICE, "x", small,
                    sizeof(small));
    assert_string_equal(small, "cannot ");
}

static void test_reason_too_long(void **state)
{
    (void)state;
    char reason[LPG_TEXT_MAX + 2];
    memset(reason, 'r', sizeof(reason) - 1);
    reason[sizeof(reason) - 1] = '\0';
    char why[256];
    assert_int_equal(order_fsm_check(LPG_ORDER_EN_ROUTE, LPG_ORDER_FAILED, ORDER_ACTOR_DEVICE,
                                     reason, why, sizeof(why)),
                     -1);
    assert_string_equal(why, "the reason is 256 bytes; at most 255 (LPG_TEXT_MAX) are allowed");
    reason[LPG_TEXT_MAX] = '\0';
    assert_int_equal(order_fsm_check(LPG_ORDER_EN_ROUTE, LPG_ORDER_FAILED, ORDER_ACTOR_DEVICE,
                                     reason, why, sizeof(why)),
                     0);
}

static void test_actor_names(void **state)
{
    (void)state;
    const char *names[] = {"system", "dispatcher", "device"};
    for (int a = 0; a < ORDER_ACTOR_COUNT; a++) {
        assert_string_equal(order_fsm_actor_name(a), names[a]);
        assert_int_equal(order_fsm_actor_parse(names[a]), a);
    }
    assert_string_equal(order_fsm_actor_name(ORDER_ACTOR_COUNT), "?");
    assert_int_equal(order_fsm_actor_parse("Device"), -1);
    assert_int_equal(order_fsm_actor_parse(NULL), -1);
}

static void test_apply(void **state)
{
    (void)state;
    struct lpg_order o;
    memset(&o, 0, sizeof(o));
    strcpy(o.id, "O1");
    strcpy(o.reason, "no staff in zone Z1");
    o.state = LPG_ORDER_CREATED;
    struct order_event ev;
    char why[256];

    assert_int_equal(order_fsm_apply(&o, LPG_ORDER_ASSIGNED, ORDER_ACTOR_SYSTEM, NULL, NULL, 1000,
                                     &ev, why, sizeof(why)),
                     0);
    strcpy(o.staff_id, "S1"); /* the caller's part of an assignment */
    strcpy(o.vehicle_id, "V1");
    assert_int_equal(o.state, LPG_ORDER_ASSIGNED);
    assert_int_equal(o.updated_ms, 1000);
    assert_string_equal(o.reason, "");
    assert_int_equal(ev.at_ms, 1000);
    assert_int_equal(ev.from, LPG_ORDER_CREATED);
    assert_int_equal(ev.to, LPG_ORDER_ASSIGNED);
    assert_int_equal(ev.actor, ORDER_ACTOR_SYSTEM);
    assert_string_equal(ev.actor_id, "");
    assert_string_equal(ev.reason, "");

    /* refused: nothing changes */
    struct lpg_order before = o;
    assert_int_equal(order_fsm_apply(&o, LPG_ORDER_CREATED, ORDER_ACTOR_DEVICE, "S1", "", 2000, &ev,
                                     why, sizeof(why)),
                     -1);
    assert_memory_equal(&o, &before, sizeof(o));

    /* rejected by the device: waits again, unassigned, with the reason */
    assert_int_equal(order_fsm_apply(&o, LPG_ORDER_CREATED, ORDER_ACTOR_DEVICE, "S1",
                                     "vehicle broke down", 2000, &ev, why, sizeof(why)),
                     0);
    assert_int_equal(o.state, LPG_ORDER_CREATED);
    assert_string_equal(o.reason, "vehicle broke down");
    assert_string_equal(o.staff_id, "");
    assert_string_equal(o.vehicle_id, "");
    assert_string_equal(ev.actor_id, "S1");
    assert_string_equal(ev.reason, "vehicle broke down");
    assert_int_equal(ev.actor, ORDER_ACTOR_DEVICE);

    /* cancelled by a dispatcher; ev may be NULL */
    assert_int_equal(order_fsm_apply(&o, LPG_ORDER_CANCELLED, ORDER_ACTOR_DISPATCHER, "d.wang",
                                     "customer cancelled by phone", 3000, NULL, why, sizeof(why)),
                     0);
    assert_int_equal(o.state, LPG_ORDER_CANCELLED);
    assert_string_equal(o.reason, "customer cancelled by phone");
    assert_int_equal(order_fsm_apply(&o, LPG_ORDER_CREATED, ORDER_ACTOR_DISPATCHER, "d.wang",
                                     "again", 4000, NULL, why, sizeof(why)),
                     -1);
    assert_string_equal(why, "cannot go from cancelled to created: cancelled is final");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_triple),    cmocka_unit_test(test_final_and_active),
        cmocka_unit_test(test_targets),         cmocka_unit_test(test_messages),
        cmocka_unit_test(test_reason_too_long), cmocka_unit_test(test_actor_names),
        cmocka_unit_test(test_apply),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
