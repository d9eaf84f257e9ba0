/* jt808_server.h -- the JT/T 808 listener: in-vehicle terminals (editions 2011, 2013, 2019)
 * report to dispatchd as a JT/T 808 platform (docs/jt808.md: what we accept, refuse and
 * tolerate, message by message).
 *
 * Connections follow the device connection rules of common/stream_server.h, like handsets
 * (terminals do not speak TLS). A connection is anonymous until 0x0102 authenticates it with the
 * code 0x8100 issued (or one set by a dispatcher): before that, only 0x0100 (register) and
 * 0x0102 are taken; anything else is answered 0x8001 failure, and a connection that keeps at it
 * is closed. Authenticated, a terminal reports positions (0x0200, 0x0704) that become fixes of
 * its vehicle through app/ingest (acknowledged with 0x8001 only once stored), heartbeats
 * (0x0002), its driver's card (0x0702) and answers to our parameter settings (0x0001). One
 * message is handled at a time per connection, so replies keep the order of requests.
 */
#ifndef LPG_JT808_SERVER_H
#define LPG_JT808_SERVER_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct service;
struct jt808_server;

struct jt808_server_options {
    const char *bind; /* NULL: no listener (in-process tests: jt808_server_adopt) */
    int port;
    int max_connections;
    int idle_timeout_s; /* nothing received for this long (3 heartbeats, by default) */
    int auth_timeout_s; /* no successful 0x0102 within this long of connecting */
    int max_unauthenticated;
    int max_unauthenticated_per_address;
    int heartbeat_s;          /* pushed to the terminal (parameter 0x0001) */
    int reassembly_timeout_s; /* subpackages: 0x8003 after this, dropped after twice this */
};

/* Counters for /metrics (the connection counters are the stream server's). */
struct jt808_stats {
    uint64_t frames_in, frames_out;
    uint64_t frames_bad;          /* dropped by the deframer (checksum, escape, length) */
    uint64_t headers_bad;         /* no header layout fits the frame */
    uint64_t registered;          /* 0x8100 result 0 */
    uint64_t register_refused;    /* 0x8100 other results */
    uint64_t authenticated;       /* 0x0102 accepted */
    uint64_t auth_refused;        /* 0x0102 refused (connection closed) */
    uint64_t auth_throttled;      /* 0x0102 refused untried (login limits) */
    uint64_t before_auth_refused; /* messages refused before authentication */
    uint64_t positions;           /* location reports handed to ingest (0x0200 and 0x0704 items) */
    uint64_t retransmissions;     /* a message seen again with the same serial: answered only */
    uint64_t unsupported;         /* answered 0x8001 result 3 */
    uint64_t subpackages, reassembled, resend_requests, reassembly_dropped;
    uint64_t params_sent, params_answered;
    uint64_t limits_passes; /* passes over the sessions after EV_LIMITS_CHANGED */
    uint64_t driver_cards;
};

struct jt808_server *jt808_server_new(struct event_base *base,
                                      const struct jt808_server_options *opt, struct service *s,
                                      char *errbuf, size_t errlen);
/* Serves an already connected socket as if accepted (tests and fuzzing). Owns fd from now on. */
void jt808_server_adopt(struct jt808_server *srv, int fd);
/* Subscribes to the service events that end a terminal's session (EV_TERMINAL_REVOKED). */
int jt808_server_subscribe(struct jt808_server *srv);
void jt808_server_shutdown(struct jt808_server *srv);
size_t jt808_server_connections(const struct jt808_server *srv);
size_t jt808_server_unauthenticated(const struct jt808_server *srv);
const struct jt808_stats *jt808_server_stats(const struct jt808_server *srv);
/* The /healthz and /metrics probe of this transport (app/service.h). */
struct transport_probe jt808_server_probe(struct jt808_server *srv);
void jt808_server_free(struct jt808_server *srv);

#endif
