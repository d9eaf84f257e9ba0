/* http_ctx.h -- the HTTP front's context: the service whose use cases the handlers call, and
 * the front's own objects (its server, the live feed it streams). Owned by the binary's wiring
 * (dispatchd.c) and given to http_server_new as the handlers' `ctx`; the service context
 * (app/service.h) holds no transport handle.
 */
#ifndef LPG_HTTP_CTX_H
#define LPG_HTTP_CTX_H

struct service;
struct http_server;
struct live_feed;

struct http_ctx {
    struct service *s;       /* the use cases' context */
    struct http_server *srv; /* this front (/metrics' lpg_http_*, the shutdown drain) */
    struct live_feed *feed;  /* GET /v1/events streams */
};

/* The service of a handler's ctx (a struct http_ctx *). */
static inline struct service *http_service(void *ctx)
{
    return ((struct http_ctx *)ctx)->s;
}

#endif
