/* fuzz_box.h -- a dispatchd in a box for the in-process fuzz targets: the real modules
 * (registry, accounts, writer, audit log, live feed, ingest, handset hooks) on one event loop,
 * with the fake store (fake_store.c) instead of Redis and a small seeded registry. */
#ifndef LPG_FUZZ_BOX_H
#define LPG_FUZZ_BOX_H

#include "app/service.h"
#include "handset/handset_ctx.h"

#include <stddef.h>
#include <stdint.h>

struct live_feed;
struct jt808_server;

/* The service and, as dispatchd wires them, the transports' own handles. */
struct fuzz_box {
    struct service s;
    struct handset_ctx handset; /* srv: the handset server (with_handset), else NULL */
    struct live_feed *feed;     /* the live feed hears the bus as in dispatchd */
    struct jt808_server *jt808; /* FUZZ_BOX_JT808, else NULL */
};

/* The seeded handset: device FUZZ_DEVICE of staff S1 (vehicle V1, order O1 of 2 x YSP-12
 * assigned to S1, cylinders CY1 and CY2 in stock), whose Hello credential is FUZZ_SECRET. */
#define FUZZ_DEVICE "D1"
#define FUZZ_SECRET "fuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzzfuA"

/* The seeded JT/T 808 terminal (FUZZ_BOX_JT808): bound to vehicle V1 (plate FUZZ_PLATE), its
 * 0x0102 code preset to FUZZ_AUTH_CODE, as an operator's POST /v1/terminals would leave it. */
#define FUZZ_TERMINAL  "13912345678"
#define FUZZ_AUTH_CODE "FUZZ808CODE"
#define FUZZ_PLATE     "MB12345"

/* What fuzz_box_init builds besides the seeded registry and the store. */
#define FUZZ_BOX_HANDSET 1 /* the service and a handset server (handset_server_adopt) */
#define FUZZ_BOX_JT808                                                                             \
    2 /* the service, the seeded terminal and a JT/T 808 server                                    \
         (jt808_server_adopt; reassembly timeout 1 s, the smallest) */

/* Builds the box (aborts on failure: that is a harness bug, not a finding). what: 0 for only
 * the seeded registry and the store, else FUZZ_BOX_* bits: the whole service (writer, live
 * feed, audit log, ingest) and the servers asked for, without listeners, with the service's
 * hooks, as dispatchd_start wires them. */
void fuzz_box_init(struct fuzz_box *box, int what);
/* Runs the loop once without blocking. */
void fuzz_box_turn(struct fuzz_box *box);
/* Tears the box down in dispatchd's order (store first, so pending callbacks run). */
void fuzz_box_free(struct fuzz_box *box);

/* The socketpair plumbing a target shares with its peer (the device's or terminal's end, fd):
 * progress sums every counter that moves when anything happens (the target's own choice: server
 * stats, store stats, the bytes the peer read); drain reads what the server wrote to the peer,
 * where the target's oracle checks it. */
struct fuzz_peer_io {
    int fd;
    uint64_t (*progress)(const struct fuzz_box *box, const void *peer);
    void (*drain)(void *peer);
    void *peer;
};
/* Turns the loop (draining the peer each turn) until three turns in a row change nothing and
 * no store reply is pending; at most 20,000 turns. */
void fuzz_box_settle(struct fuzz_box *box, const struct fuzz_peer_io *io);
/* Writes the whole of bytes to io->fd, settling the loop whenever the socket is full; gives up
 * when settling moves nothing (the server stopped reading for good) or the server closed. */
void fuzz_box_peer_write(struct fuzz_box *box, const struct fuzz_peer_io *io, const uint8_t *bytes,
                         size_t n);

#endif
