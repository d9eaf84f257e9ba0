/* test_events.c -- dispatch/app/events.c: subscribers hear the kinds they asked for, in order;
 * the table and the nesting are bounded. */
#include "app/events.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

struct heard {
    char log[64];
    int n;
};

static void note_a(void *arg, const struct service_event *ev)
{
    struct heard *h = arg;
    h->log[h->n++] = (char)('a' + ev->kind);
}

static void note_b(void *arg, const struct service_event *ev)
{
    struct heard *h = arg;
    (void)ev;
    h->log[h->n++] = 'B';
}

static void only_the_kind_subscribed_is_heard_in_order(void **state)
{
    (void)state;
    struct event_bus *bus = event_bus_new();
    struct heard h = {0};
    assert_int_equal(event_bus_subscribe(bus, EV_ORDER_CHANGED, note_a, &h), 0);
    assert_int_equal(event_bus_subscribe(bus, EV_ORDER_CHANGED, note_b, &h), 0);
    assert_int_equal(event_bus_subscribe(bus, EV_ALERT_RAISED, note_a, &h), 0);
    assert_int_equal(event_bus_publish(bus, &(struct service_event){.kind = EV_ORDER_CHANGED}), 2);
    assert_int_equal(event_bus_publish(bus, &(struct service_event){.kind = EV_SESSION_REVOKED}),
                     0);
    assert_int_equal(event_bus_publish(bus, &(struct service_event){.kind = EV_ALERT_RAISED}), 1);
    assert_string_equal(h.log, "aBc");
    event_bus_free(bus);
}

static void the_table_is_bounded(void **state)
{
    (void)state;
    struct event_bus *bus = event_bus_new();
    struct heard h = {0};
    for (int i = 0; i < EVENT_BUS_MAX_SUBSCRIBERS; i++)
        assert_int_equal(event_bus_subscribe(bus, EV_ALERT_RAISED, note_b, &h), 0);
    assert_int_equal(event_bus_subscribe(bus, EV_ALERT_RAISED, note_b, &h), -1);
    assert_int_equal(event_bus_subscribe(bus, EV_KIND_COUNT, note_b, &h), -1);
    event_bus_free(bus);
}

struct echo {
    struct event_bus *bus;
    int calls;
};

static void republish(void *arg, const struct service_event *ev)
{
    struct echo *e = arg;
    e->calls++;
    event_bus_publish(e->bus, ev); /* a subscriber that publishes what it hears: a loop */
}

static void nesting_stops_a_loop(void **state)
{
    (void)state;
    struct event_bus *bus = event_bus_new();
    struct echo e = {bus, 0};
    assert_int_equal(event_bus_subscribe(bus, EV_ORDER_ASSIGNED, republish, &e), 0);
    assert_int_equal(event_bus_publish(bus, &(struct service_event){.kind = EV_ORDER_ASSIGNED}), 1);
    assert_int_equal(e.calls, EVENT_BUS_MAX_DEPTH);
    event_bus_free(bus);
}

static void a_null_bus_delivers_nothing(void **state)
{
    (void)state;
    assert_int_equal(event_bus_publish(NULL, &(struct service_event){.kind = EV_ALERT_RAISED}), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(only_the_kind_subscribed_is_heard_in_order),
        cmocka_unit_test(the_table_is_bounded),
        cmocka_unit_test(nesting_stops_a_loop),
        cmocka_unit_test(a_null_bus_delivers_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
