/* handset_ctx.h -- the handset transport's context: the service whose use cases it calls and
 * its own listener. The binary's wiring (dispatchd.c) owns it and passes it as the listener's
 * hooks context and to the bus subscriptions of handset_dispatch_watch and
 * handset_positions_listen; the service context (app/service.h) holds no transport handle.
 */
#ifndef LPG_HANDSET_CTX_H
#define LPG_HANDSET_CTX_H

struct service;
struct handset_server;

struct handset_ctx {
    struct service *s;          /* the use cases' context */
    struct handset_server *srv; /* the listener; NULL until it is made (nothing to push to) */
};

#endif
