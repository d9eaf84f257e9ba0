/* events.c -- see events.h. */
#define LOG_TAG "events"
#include "app/events.h"
#include "common/log.h"

#include <assert.h>
#include <stdlib.h>

struct subscriber {
    service_event_fn *fn;
    void *arg;
};

struct event_bus {
    struct subscriber subs[EV_KIND_COUNT][EVENT_BUS_MAX_SUBSCRIBERS];
    int count[EV_KIND_COUNT];
    int depth; /* deliveries in progress (a subscriber that publishes nests) */
};

struct event_bus *event_bus_new(void)
{
    return calloc(1, sizeof(struct event_bus));
}

void event_bus_free(struct event_bus *bus)
{
    if (bus != NULL)
        assert(bus->depth == 0); /* not freed from inside a delivery */
    free(bus);
}

int event_bus_subscribe(struct event_bus *bus, enum service_event_kind kind, service_event_fn *fn,
                        void *arg)
{
    assert(bus != NULL && fn != NULL);
    if ((unsigned)kind >= EV_KIND_COUNT || bus->count[kind] >= EVENT_BUS_MAX_SUBSCRIBERS)
        return -1;
    bus->subs[kind][bus->count[kind]++] = (struct subscriber){fn, arg};
    return 0;
}

int event_bus_publish(struct event_bus *bus, const struct service_event *ev)
{
    if (bus == NULL)
        return 0;
    assert(ev != NULL && (unsigned)ev->kind < EV_KIND_COUNT);
    if (bus->depth >= EVENT_BUS_MAX_DEPTH) {
        log_error("events: publish nested %d deep (kind %d); dropped", bus->depth, (int)ev->kind);
        return -1;
    }
    bus->depth++;
    int n = bus->count[ev->kind];
    for (int i = 0; i < n; i++)
        bus->subs[ev->kind][i].fn(bus->subs[ev->kind][i].arg, ev);
    bus->depth--;
    return n;
}
