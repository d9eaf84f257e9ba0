/* dispatchd.h -- the binary's own wiring around the service context (app/service.h): the
 * combined HTTP route table, the signal events and the shutdown drain. Only dispatchd.c uses it.
 */
#ifndef LPG_DISPATCHD_H
#define LPG_DISPATCHD_H

#include "app/service.h"
#include "handset/handset_ctx.h"
#include "http/http_ctx.h"

#include <time.h>

struct event;
struct http_route;
struct http_console;

struct dispatchd {
    struct service s;             /* the use cases' context */
    struct http_ctx http;         /* the HTTP front: its server, the live feed, the service */
    struct handset_ctx handset;   /* the handset listener and its service */
    struct jt808_server *jt808;   /* the JT/T 808 listener */
    struct http_route *routes;    /* the combined route table (owned) */
    struct http_console *console; /* /console/'s files (owned; NULL before the start) */
    struct event *sigterm, *sigint;
    struct event *drain_timer;      /* polls for a drained state during shutdown */
    struct event *reload_ev;        /* runs a reload asked for by service_request_reload */
    struct timespec shutdown_began; /* CLOCK_MONOTONIC when shutdown began */
};

#endif
