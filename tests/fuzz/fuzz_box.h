/* fuzz_box.h -- a dispatchd in a box for the in-process fuzz targets: the real modules
 * (registry, accounts, writer, audit log, live feed, ingest, handset hooks) on one event loop,
 * with the fake store (fake_store.c) instead of Redis and a small seeded registry. */
#ifndef LPG_FUZZ_BOX_H
#define LPG_FUZZ_BOX_H

#include "app/service.h"
#include "handset/handset_ctx.h"

struct live_feed;

/* The service and, as dispatchd wires them, the transports' own handles. */
struct fuzz_box {
    struct service s;
    struct handset_ctx handset; /* srv: the handset server (with_handset), else NULL */
    struct live_feed *feed;     /* the live feed hears the bus as in dispatchd */
};

/* The seeded handset: device FUZZ_DEVICE of staff S1 (vehicle V1, order O1 of 2 x YSP-12
 * assigned to S1, cylinders CY1 and CY2 in stock), whose Hello credential is FUZZ_SECRET. */
#define FUZZ_DEVICE "D1"
#define FUZZ_SECRET "fuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzzfuA"

/* Builds the box (aborts on failure: that is a harness bug, not a finding). with_handset: the
 * whole service (writer, live feed, audit log, ingest) and a handset server without a listener
 * (handset_server_adopt) with the service's hooks; else only the seeded registry and the store. */
void fuzz_box_init(struct fuzz_box *box, int with_handset);
/* Runs the loop once without blocking. */
void fuzz_box_turn(struct fuzz_box *box);
/* Tears the box down in dispatchd's order (store first, so pending callbacks run). */
void fuzz_box_free(struct fuzz_box *box);

#endif
