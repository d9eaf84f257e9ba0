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

struct handset_server_options {
    const char *bind;
    int port;
    int max_connections;
    int idle_timeout_s;
    size_t max_frame; /* bytes of one frame's payload */
};

/* Counters for /metrics. */
struct handset_stats {
    uint64_t accepted;          /* connections accepted */
    uint64_t refused_cap;       /* connections refused at the cap */
    uint64_t closed;            /* connections closed, for any reason */
    uint64_t frames_in;         /* frames decoded */
    uint64_t frames_out;        /* frames sent */
    uint64_t rejected_oversize; /* frames refused: length above the limit */
    uint64_t rejected_malformed;/* frames refused: zero length or not an Envelope */
    uint64_t rejected_truncated;/* connections closed mid-frame */
    uint64_t idle_timeouts;
    uint64_t sessions_opened;   /* Hello acknowledged */
    uint64_t errors_sent;       /* Error replies of any code */
};

struct handset_server *handset_server_new(struct event_base *base,
                                          const struct handset_server_options *opt,
                                          struct store *store, char *errbuf, size_t errlen);

/* Graceful stop: closes the listener, sends SHUTTING_DOWN to every open connection and closes
 * each once its output is flushed and its store writes have been answered. */
void handset_server_shutdown(struct handset_server *hs);

/* Open connections (including ones draining after shutdown). */
size_t handset_server_connections(const struct handset_server *hs);

const struct handset_stats *handset_server_stats(const struct handset_server *hs);

/* Closes every connection at once and frees the server. Call after store_free() has run
 * pending callbacks, or when no store command is in flight. */
void handset_server_free(struct handset_server *hs);

#endif
