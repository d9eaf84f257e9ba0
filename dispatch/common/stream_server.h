/* stream_server.h -- TCP connections of devices under the house rules, one implementation for
 * every device transport (the handset protocol, JT/T 808): the listener, the connection cap,
 * the limits on connections without a session (a deadline to log in, caps in all and per
 * source address, so a flood of idle sockets cannot take the slots real devices need), the idle
 * timeout, output queued only when the socket does not take it (with a cap: a peer that does
 * not read is dropped), optional TLS, graceful shutdown, and the lifetime rule of conn_ref.h.
 * The protocol (framing, messages, sessions) is a table of callbacks (struct stream_protocol).
 *
 * Memory: a connection is one allocation: the server's record, its read event and the
 * protocol's state (stream_protocol.conn_size) side by side. Nothing else is held while it is
 * idle: input stays in the kernel until the protocol reads it, and the output queue (an
 * evbuffer) exists only while the socket does not take what is written.
 *
 * Sessions are indexed by a key (a device id, a terminal number): stream_conn_set_key() and
 * stream_server_find() are O(1), so a login or a push to one device never walks the list of
 * connections.
 *
 * Error convention: stream_server_new() returns NULL and fills errbuf.
 */
#ifndef LPG_STREAM_SERVER_H
#define LPG_STREAM_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct event_base;
struct stream_server;
struct stream_conn;

/* Why the server ends a connection: the protocol may have words for the peer
 * (stream_protocol.end) before it is closed. */
enum stream_end {
    STREAM_END_CAP,           /* refused at accept: the connection cap */
    STREAM_END_UNAUTH_CAP,    /* refused: too many connections without a session in all */
    STREAM_END_ADDRESS_CAP,   /* refused: too many without a session from this address */
    STREAM_END_SHUTDOWN,      /* refused at accept, or open at shutdown */
    STREAM_END_LOGIN_TIMEOUT, /* no session within login_timeout_s of connecting */
    STREAM_END_IDLE_TIMEOUT,  /* nothing received for idle_timeout_s */
    STREAM_END_NO_MEMORY,     /* refused at accept: out of memory */
};

struct stream_protocol {
    /* Bytes of the protocol's state per connection, allocated (zeroed) with the connection:
     * stream_conn_state(). */
    size_t conn_size;
    /* A connection was accepted (before any cap is checked): set up the state. 0, or -1 (out of
     * memory: the connection is closed at once, without last words). Optional. */
    int (*init)(void *ctx, struct stream_conn *c);
    /* Input may be waiting (the socket is readable, or the connection resumed after its jobs
     * ended): read it with stream_conn_recv() and handle it, until stream_conn_recv() says there
     * is no more for now, the connection holds a job (stream_conn_jobs() > 0) or it closes.
     * Called only when no job is in flight and the connection is not closing. */
    void (*input)(void *ctx, struct stream_conn *c);
    /* The server ends the connection (why, with a message for logs or the peer): send any last
     * words with stream_conn_write(); the server closes the connection after. Optional. */
    void (*end)(void *ctx, struct stream_conn *c, enum stream_end why, const char *message);
    /* The peer closed its side (or the socket failed) while reading: e.g. count a frame cut
     * short. The connection is closing. Optional. */
    void (*peer_closed)(void *ctx, struct stream_conn *c);
    /* The connection is being freed: release what the state owns. Optional. */
    void (*destroy)(void *ctx, struct stream_conn *c);
};

struct stream_server_options {
    const char *name; /* for logs: "handset", "jt808" */
    const char *bind; /* NULL: no listener (in-process tests: stream_server_adopt) */
    int port;
    int max_connections;
    int idle_timeout_s;
    /* Before stream_conn_session_open() a connection is anonymous: it must open its session
     * within login_timeout_s of connecting (0: the idle timeout), at most max_unauthenticated
     * of them are open at once (never more than half of max_connections; 0: that half), and at
     * most max_unauthenticated_per_address from one source address (0: no own limit). */
    int login_timeout_s;
    int max_unauthenticated;
    int max_unauthenticated_per_address;
    size_t max_output; /* bytes queued for a peer that does not read before it is dropped */
    /* PEM files of the TLS certificate (chain) and key; NULL or "" for plain TCP. */
    const char *tls_cert;
    const char *tls_key;
};

/* Counters for /metrics. */
struct stream_stats {
    uint64_t accepted;        /* connections accepted (and not refused) */
    uint64_t refused_cap;     /* refused at the connection cap */
    uint64_t refused_unauth;  /* refused: too many without a session in all */
    uint64_t refused_address; /* refused: too many without a session from one address */
    uint64_t login_timeouts;  /* closed: no session within login_timeout_s */
    uint64_t idle_timeouts;   /* closed: silent for idle_timeout_s */
    uint64_t closed;          /* connections freed, for any reason */
    uint64_t output_queued;   /* writes (or their rest) the socket did not take at once */
    uint64_t dropped_slow;    /* peers dropped: more than max_output queued */
    uint64_t sessions_opened; /* stream_conn_session_open() */
};

struct stream_server *stream_server_new(struct event_base *base,
                                        const struct stream_server_options *opt,
                                        const struct stream_protocol *proto, void *proto_ctx,
                                        char *errbuf, size_t errlen);

/* Serves an already connected socket as if the listener had accepted it (in-process tests and
 * fuzzing: one end of a socketpair). The server owns fd from now on, whatever happens. */
void stream_server_adopt(struct stream_server *srv, int fd);

/* Graceful stop: closes the listener, ends every open connection (STREAM_END_SHUTDOWN) and
 * frees each once its output is flushed and its jobs have ended. */
void stream_server_shutdown(struct stream_server *srv);
int stream_server_shutting_down(const struct stream_server *srv);

/* Open connections (including ones draining after shutdown); of those, without a session. */
size_t stream_server_connections(const struct stream_server *srv);
size_t stream_server_unauthenticated(const struct stream_server *srv);
const struct stream_stats *stream_server_stats(const struct stream_server *srv);
const struct stream_server_options *stream_server_options(const struct stream_server *srv);

/* The open, not closing connection whose key is `key`, or NULL. O(1). */
struct stream_conn *stream_server_find(const struct stream_server *srv, const char *key);

/* Calls fn(arg, c) for every connection in session and not closing, in no particular order.
 * Linear in the connections: for rare, operator-driven passes, never per message or login. fn
 * may write to or close c (not free it: the server holds it during the call). */
void stream_server_each_session(struct stream_server *srv,
                                void (*fn)(void *arg, struct stream_conn *c), void *arg);

/* Closes every connection at once and frees the server. Call when no job of a connection is in
 * flight any more (after the store ran its pending callbacks). */
void stream_server_free(struct stream_server *srv);

/* ---- one connection, for its protocol ---- */

void *stream_conn_state(struct stream_conn *c);
struct stream_server *stream_conn_server(const struct stream_conn *c);

/* Reads up to len bytes: > 0 bytes read; 0 when nothing more can be read now; -1 when the peer
 * closed or the socket failed: the connection is now closing (peer_closed was called). */
ssize_t stream_conn_recv(struct stream_conn *c, void *buf, size_t len);
/* Handled enough input for one turn while more may wait: the read event comes again (and with
 * TLS, for what is already decrypted, the connection is scheduled at once). */
void stream_conn_yield(struct stream_conn *c);

/* Writes n bytes now if nothing is queued; queues what the socket does not take. A peer with
 * more than max_output queued is dropped. Nothing happens once the peer is gone. */
void stream_conn_write(struct stream_conn *c, const void *bytes, size_t n);
/* Stops reading; the connection is freed once its output is flushed and nothing holds it. */
void stream_conn_close(struct stream_conn *c);
int stream_conn_closing(const struct stream_conn *c);

/* The connection logged in: no longer anonymous (not counted against the anonymous caps), and
 * from now on only the idle timeout applies. */
void stream_conn_session_open(struct stream_conn *c);
int stream_conn_in_session(const struct stream_conn *c);

/* Indexes the connection under key (NULL: takes it out). key points into the connection's
 * state and must stay unchanged while indexed. Keys are unique: returns the connection that
 * held the key before (now out of the index, for the protocol to close), or NULL. */
struct stream_conn *stream_conn_set_key(struct stream_conn *c, const char *key);

/* The lifetime rule (common/conn_ref.h). A job for c begins: pauses reading and keeps c alive
 * until the matching release. */
void stream_conn_hold(struct stream_conn *c);
/* The job ended: resumes reading (handling input that waited) unless closing or shutting
 * down; c may be freed during the call: do not use it afterwards. */
void stream_conn_release(struct stream_conn *c);
size_t stream_conn_jobs(const struct stream_conn *c);
/* A callback of the protocol's own that is not a job (e.g. a timer): c stays valid from enter
 * to the matching leave, which may free it. */
void stream_conn_enter(struct stream_conn *c);
void stream_conn_leave(struct stream_conn *c);

/* "address:port" of the peer, for a log line: valid until the next call (one event loop). */
const char *stream_conn_peer(const struct stream_conn *c);
/* The peer's address without the port into buf ("?" when unknown). */
void stream_conn_peer_address(const struct stream_conn *c, char *buf, size_t cap);

#endif
