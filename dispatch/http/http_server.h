/* http_server.h -- dispatchd's HTTP front: evhttp listener, a route table, JSON replies and
 * JSON errors, request limits, and per-route accounting for /metrics.
 *
 * Handlers receive a `struct http_call`, which they own until they reply: every call ends
 * with exactly one http_reply_*() (which frees it), possibly later from an asynchronous
 * callback. Handlers translate HTTP to core calls and back; they hold no business rules.
 *
 * Error replies always have the shape {"error":{"code":..,"message":..,"field":..}} (field
 * omitted when not about one field), also for unknown paths (404), methods (405), and writes
 * refused while the store is down (503). docs/http-api.md is the reference.
 *
 * Error convention: constructors return NULL and fill `errbuf`; other functions return 0/-1.
 */
#ifndef LPG_HTTP_SERVER_H
#define LPG_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct evhttp_request;
struct evbuffer;
struct store;
typedef struct json_t json_t;

struct http_server;
struct http_call;

typedef void http_handler_fn(struct http_call *call, void *ctx);

enum http_route_flags {
    HTTP_ROUTE_READ = 0,
    /* The handler changes stored data: refused with 503 store_unavailable while the store is
     * down, so that nothing is half-written or silently dropped. */
    HTTP_ROUTE_WRITE = 1,
};

/* Path parameters: at most this many per route, each at most this many bytes decoded. */
#define HTTP_MAX_PARAMS 4
#define HTTP_PARAM_MAX  128

struct http_route {
    const char *method; /* "GET", "POST", ... */
    /* Path pattern: literal segments, and "{name}" for one non-empty segment, e.g.
     * "/v1/zones/{id}". The first route whose pattern and method match is used. */
    const char *path;
    http_handler_fn *handler;
    int flags; /* enum http_route_flags */
};

struct http_server_options {
    const char *bind;
    int port;
    int64_t max_body;    /* bytes */
    int64_t max_headers; /* bytes */
    int timeout_s;       /* per connection read/write */
    /* Connection limits (0: none). Beyond max_connections a new connection gets 503
     * too_many_connections and is closed. A request's line and headers must arrive within
     * header_timeout_s of the connection's start (or of the previous reply), its body within
     * body_timeout_s of its headers, however slowly they trickle (timeout_s only bounds the
     * silence between two reads). */
    int max_connections;
    int header_timeout_s;
    int body_timeout_s;
    /* PEM files of the TLS certificate (chain) and key; NULL or "" for plain HTTP. */
    const char *tls_cert;
    const char *tls_key;
};

/* Counters of the connection limits, for /metrics. */
struct http_conn_stats {
    uint64_t refused;         /* at max_connections */
    uint64_t header_timeouts; /* closed: headers not in within header_timeout_s */
    uint64_t body_timeouts;   /* closed: body not in within body_timeout_s */
};

/* Binds and starts serving `routes` (the table must outlive the server). `ctx` is passed to
 * every handler. `store` (may be NULL) gates HTTP_ROUTE_WRITE routes. */
struct http_server *http_server_new(struct event_base *base, const struct http_server_options *opt,
                                    const struct http_route *routes, size_t nroutes, void *ctx,
                                    struct store *store, char *errbuf, size_t errlen);

/* Requests that no route matches and whose path is `prefix` or starts with `prefix` + "/" go
 * to handler(call, ctx), whatever their method: a tree of static files (the console,
 * http_console.h) rather than an API resource. One mount per server; `prefix` (e.g. "/console")
 * must outlive the server. Counted in /metrics under the route `prefix` + "/" + "*". */
void http_server_mount(struct http_server *hs, const char *prefix, http_handler_fn *handler,
                       void *ctx);

/* Closes the listening socket: new connections are refused, open ones finish. */
void http_server_stop_accepting(struct http_server *hs);
void http_server_free(struct http_server *hs);

/* Requests accepted and not yet replied to. */
size_t http_server_inflight(const struct http_server *hs);
/* Open connections (counted against max_connections). */
size_t http_server_connections(const struct http_server *hs);
const struct http_conn_stats *http_server_conn_stats(const struct http_server *hs);

/* The request, for reading headers, URI and body; valid until the reply. */
struct evhttp_request *http_call_request(struct http_call *call);
/* A path parameter of the matched route ("id" for "{id}"), decoded; NULL when absent. */
const char *http_call_param(const struct http_call *call, const char *name);
/* A query-string parameter, decoded; NULL when absent. Valid until the reply. */
const char *http_call_query(struct http_call *call, const char *name);
/* A request header; NULL when absent. */
const char *http_call_header(struct http_call *call, const char *name);
/* The body parsed as a JSON object (new reference), or NULL after replying 400 invalid_json. */
json_t *http_call_json_body(struct http_call *call);
/* Handler state carried across asynchronous steps (not owned by the call). */
void http_call_set_user(struct http_call *call, void *user);
void *http_call_user(const struct http_call *call);

/* Replies with `body` (stolen: the reference is released), status and JSON content type. */
void http_reply_json(struct http_call *call, int status, json_t *body);
/* Replies with the error shape; `field` may be NULL. */
void http_reply_error(struct http_call *call, int status, const char *code, const char *message,
                      const char *field);
/* Replies with `body` (its contents are moved out) and the given content type. Every reply has
 * "Cache-Control: no-store" unless the handler set its own Cache-Control header first. */
void http_reply_buffer(struct http_call *call, int status, const char *content_type,
                       struct evbuffer *body);

/* ---- streaming responses (server-sent events) ----
 * http_stream_start() answers 200 with chunked transfer and keeps the call open; the handler
 * then writes chunks whenever it likes and ends the stream with http_stream_end() (which frees
 * the call). If the client goes away first, closed(arg) runs and the call is freed by the
 * server: after that callback the call must not be used. */
typedef void http_stream_closed_fn(void *arg);
void http_stream_start(struct http_call *call, const char *content_type,
                       http_stream_closed_fn *closed, void *arg);
/* Queues a chunk. Returns 0, or -1 when the client is not reading and more than `max_backlog`
 * bytes are queued (the caller should end the stream). */
int http_stream_write(struct http_call *call, const char *data, size_t len, size_t max_backlog);
void http_stream_end(struct http_call *call);

/* Per-route request counters, for /metrics: calls fn once per (route, status) seen.
 * route is the route's path, or "unmatched" for requests that matched no route. */
typedef void http_stat_fn(void *arg, const char *route, const char *method, int status,
                          uint64_t count);
void http_server_foreach_stat(const struct http_server *hs, http_stat_fn *fn, void *arg);

#endif
