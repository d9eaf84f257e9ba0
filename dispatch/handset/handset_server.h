/* handset_server.h -- the TCP listener for handsets and vehicle units (lpg.v1 wire contract,
 * proto/README.md): length-prefixed protobuf Envelopes, one session per connection.
 *
 * Per connection: Hello opens the session (the device's session is recorded in the store
 * before the Ack, so an Ack means it is stored); Ping is answered with an Ack; anything else
 * before Hello is refused. A malformed or oversized frame gets an Error and the connection
 * is closed; so do idle connections (no frame within the idle timeout) and connections
 * beyond the connection cap. One request is processed at a time per connection, so replies
 * keep the order of requests; reading pauses while a store write is in flight.
 *
 * Error convention: constructors return NULL and fill `errbuf`.
 */
#ifndef LPG_HANDSET_SERVER_H
#define LPG_HANDSET_SERVER_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct store;
struct handset_server;
/* One device connection. Valid until the server frees it: a hook that keeps it beyond its call
 * (for an asynchronous reply) must hold it (handset_conn_hold) and release it exactly once. */
struct handset_conn;
struct Lpg__V1__Envelope;

/* What the service does with sessions and messages; the server only does transport. All
 * hooks are optional (NULL). */
struct handset_hooks {
    /* Checks a Hello's device id and credential, from source address peer_addr (text, no
     * port; for the limits on failures). Returns 0 and fills staff_id (the person the device
     * belongs to); -1 with why: refused (UNAUTHORIZED) and closed; -2 with why: cannot tell now
     * (e.g. the service is loading): UNAVAILABLE, the device retries. */
    int (*authenticate)(void *ctx, const char *device_id, const char *peer_addr,
                        const uint8_t *credential, size_t len, char *staff_id, size_t staff_cap,
                        char *why, size_t why_cap);
    /* The session is open and acknowledged (e.g. send what the device missed). */
    void (*session_opened)(void *ctx, struct handset_conn *c);
    /* The session ended (logout, connection closed or replaced; not at server shutdown). A newer
     * session of the same device may be open already (handset_server_find_device). */
    void (*session_closed)(void *ctx, struct handset_conn *c);
    /* A message after Hello, other than Hello and Ping. Returns 0 when handled (the hook
     * replies, now or later), or -1 when it does not handle this kind (the server answers
     * UNSUPPORTED_MESSAGE). */
    int (*message)(void *ctx, struct handset_conn *c, const struct Lpg__V1__Envelope *env);
};

struct handset_server_options {
    const char *bind; /* NULL: no listener (in-process tests: handset_server_adopt) */
    int port;
    int max_connections;
    int idle_timeout_s;
    /* Before an acknowledged Hello a connection is anonymous: it must send its Hello within
     * hello_timeout_s of connecting, at most max_unauthenticated of them are open at once (never
     * more than half of max_connections, so they cannot take the cap from devices), and at most
     * max_unauthenticated_per_address from one source address. */
    int hello_timeout_s;
    int max_unauthenticated;
    int max_unauthenticated_per_address;
    size_t max_frame; /* bytes of one frame's payload */
    /* PEM files of the TLS certificate (chain) and key; NULL or "" for plain TCP. */
    const char *tls_cert;
    const char *tls_key;
    const struct handset_hooks *hooks;
    void *hooks_ctx;
};

/* Counters for /metrics. */
struct handset_stats {
    uint64_t accepted;           /* connections accepted */
    uint64_t refused_cap;        /* connections refused at the cap */
    uint64_t refused_unauth;     /* refused: too many without Hello in all */
    uint64_t refused_address;    /* refused: too many without Hello from one address */
    uint64_t hello_timeouts;     /* closed: no acknowledged Hello within hello_timeout_s */
    uint64_t closed;             /* connections closed, for any reason */
    uint64_t frames_in;          /* frames decoded */
    uint64_t frames_out;         /* frames sent */
    uint64_t rejected_oversize;  /* frames refused: length above the limit */
    uint64_t rejected_malformed; /* frames refused: zero length or not an Envelope */
    uint64_t rejected_truncated; /* connections closed mid-frame */
    uint64_t idle_timeouts;
    uint64_t sessions_opened; /* Hello acknowledged */
    uint64_t errors_sent;     /* Error replies of any code */
    uint64_t output_queued;   /* replies (or their rest) the socket did not take at once */
    uint64_t dropped_slow;    /* peers dropped: more than 1 MiB of replies queued */
};

struct handset_server *handset_server_new(struct event_base *base,
                                          const struct handset_server_options *opt,
                                          struct store *store, char *errbuf, size_t errlen);

/* Serves an already connected socket as if the listener had accepted it (in-process tests and
 * fuzzing: one end of a socketpair). The server owns fd from now on, whatever happens. */
void handset_server_adopt(struct handset_server *hs, int fd);

/* Graceful stop: closes the listener, sends SHUTTING_DOWN to every open connection and closes
 * each once its output is flushed and its store writes have been answered. */
void handset_server_shutdown(struct handset_server *hs);

/* Open connections (including ones draining after shutdown). */
size_t handset_server_connections(const struct handset_server *hs);
/* Of those, connections without an acknowledged Hello. */
size_t handset_server_unauthenticated(const struct handset_server *hs);

/* The stream server's connection counters with the protocol's own. */
const struct handset_stats *handset_server_stats(struct handset_server *hs);

/* ---- connections, for the hooks ---- */

const char *handset_conn_device(const struct handset_conn *c);
const char *handset_conn_staff(const struct handset_conn *c);
/* When c's session was accepted (UTC ms: the Hello authenticated, before it was stored and
 * acknowledged; device_sessions.h opened_ms); 0 before. */
int64_t handset_conn_opened_ms(const struct handset_conn *c);
/* The largest frame payload c may be sent: the device's Hello.max_frame, or 0 when it announced
 * none (then the frame ceiling LPG_FRAME_MAX_PAYLOAD applies). */
size_t handset_conn_max_frame(const struct handset_conn *c);
/* Frames and queues an envelope (dropped if the peer is gone). */
void handset_conn_send(struct handset_conn *c, const struct Lpg__V1__Envelope *env);
void handset_conn_ack(struct handset_conn *c, int has_request, uint64_t request_id);
/* code is an Lpg__V1__Error__Code. */
void handset_conn_error(struct handset_conn *c, int code, const char *message, int has_request,
                        uint64_t request_id, int fatal);
/* Error UNAVAILABLE for a request whose transaction failed: err is the store's reason (NULL:
 * Redis refused the transaction); the message says whether the outcome is unknown. */
void handset_conn_store_failed(struct handset_conn *c, const char *err, int has_request,
                               uint64_t request_id);
/* Error REFUSED naming the rule that refused (Error.refusal, a stable code). */
void handset_conn_refuse(struct handset_conn *c, const char *refusal, const char *message,
                         int has_request, uint64_t request_id);
/* A job for c begins: pauses reading and keeps c alive until the matching release (the
 * lifetime rule of conn_ref.h); replies keep request order. */
void handset_conn_hold(struct handset_conn *c);
/* Resumes reading (processing frames that arrived meanwhile) unless the server is shutting
 * down; c may be freed during the call: do not use it afterwards. */
void handset_conn_release(struct handset_conn *c);
/* Per-connection data of the hooks: one pointer, freed with free_fn when the connection is
 * freed (free_fn may be NULL). */
void handset_conn_set_data(struct handset_conn *c, void *data, void (*free_fn)(void *));
void *handset_conn_data(const struct handset_conn *c);
/* The open session of a device, or NULL. O(1). */
struct handset_conn *handset_server_find_device(struct handset_server *hs, const char *device_id);

struct event_bus;
/* Subscribes hs to the service events that end a handset's session: EV_SESSION_REVOKED closes
 * the open session of ev->device_id (only if it is ev->staff_id's, when that is set) with Error
 * UNAUTHORIZED and ev->reason. Returns 0, or -1 when the bus is full (a wiring error). */
int handset_server_subscribe(struct handset_server *hs, struct event_bus *bus);

/* Closes every connection at once and frees the server. Call after store_free() has run
 * pending callbacks, or when no store command is in flight. */
void handset_server_free(struct handset_server *hs);

#endif
