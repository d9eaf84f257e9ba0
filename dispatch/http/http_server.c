/* http_server.c -- evhttp listener, routing, JSON replies, per-route accounting and
 * connection limits.
 *
 * Connection limits. libevent 2.1's evhttp has no connection cap and only a per-read timeout
 * (a client sending a byte every few seconds keeps a connection forever), so every connection
 * is tracked here (struct http_conn): evhttp asks us for each new connection's bufferevent
 * (evhttp_set_bevcb), we hold a reference on it (so that it stays valid memory whoever frees the
 * connection), learn its evhttp_connection on the next loop turn (the bufferevent's callback
 * argument) and register its close callback, which is where the connection leaves the count.
 * The input buffer's callback watches for the blank line that ends a request's headers; a
 * timer closes the connection when the headers, or then the body, are not in by their deadline.
 * A connection whose request is with a handler (or streaming) has no deadline.
 */
#define LOG_TAG "http"
#include "http/http_server.h"

#include "common/log.h"
#include "store/store.h"
#include "common/tls.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <sys/queue.h>
#include <jansson.h>
#include <openssl/ssl.h>

/* Distinct statuses counted per route; more than enough for the statuses we send. */
#define HTTP_STATUS_SLOTS 16

struct status_count {
    int status;
    uint64_t count;
};

struct route_stats {
    struct status_count slots[HTTP_STATUS_SLOTS];
};

struct http_conn;

struct http_server {
    struct evhttp *http;
    struct event_base *base;
    struct http_server_options opt;
    struct http_conn *conns; /* tracked connections */
    size_t nconns;
    struct http_conn_stats conn_stats;
    struct evhttp_bound_socket *bound;
    const struct http_route *routes;
    size_t nroutes;
    void *ctx;
    struct store *store;
    SSL_CTX *tls; /* NULL: plain HTTP */
    size_t inflight;
    /* stats[i] for routes[i]; stats[nroutes] for requests that matched no route;
     * stats[nroutes + 1] for the mount's. */
    struct route_stats *stats;
    /* The mount (http_server_mount): its prefix, handler and context; prefix NULL: none. */
    const char *mount_prefix;
    char mount_label[64];
    http_handler_fn *mount_handler;
    void *mount_ctx;
};

struct http_param {
    const char *name; /* points into the route's pattern */
    size_t name_len;
    char value[HTTP_PARAM_MAX + 1];
};

/* One client connection (see the top of the file). */
enum http_conn_phase { HCP_SETUP, HCP_HEADERS, HCP_BODY };
struct http_conn {
    struct http_conn *prev, *next;
    struct http_server *hs;
    struct bufferevent *bev;            /* our reference: valid until conn_drop() */
    struct evbuffer_cb_entry *input_cb; /* on bev's input: finds the end of the headers */
    struct evhttp_connection *evcon;    /* known once set up */
    struct event *timer;                /* set-up, then the current deadline */
    struct http_call *stream;           /* a stream on it, told when the connection goes */
    unsigned busy;                      /* requests with a handler, not yet answered */
    enum http_conn_phase phase;
    uint8_t scan;         /* end-of-headers scanner: 0, 1 after LF, 2 after LF CR */
    unsigned refused : 1; /* beyond max_connections: told so and closed at set-up */
};

struct http_call {
    struct http_server *hs;
    struct evhttp_request *req;
    size_t route; /* index into routes, or nroutes when unmatched */
    const char *method;
    struct http_param params[HTTP_MAX_PARAMS];
    size_t nparams;
    struct evkeyvalq query;
    int query_parsed;
    void *user;            /* handler's state across asynchronous steps */
    const char *bad_param; /* why a path parameter is unusable (static text); NULL: none */
    http_stream_closed_fn *stream_closed;
    void *stream_arg;
};

static void count_status(struct http_server *hs, size_t route, int status)
{
    struct route_stats *rs = &hs->stats[route];
    for (int i = 0; i < HTTP_STATUS_SLOTS; i++) {
        if (rs->slots[i].status == status || rs->slots[i].status == 0) {
            rs->slots[i].status = status;
            rs->slots[i].count++;
            return;
        }
    }
    /* All slots taken by other statuses: count under the last slot rather than lose it. */
    rs->slots[HTTP_STATUS_SLOTS - 1].count++;
}

static const char *method_name(enum evhttp_cmd_type t)
{
    switch (t) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    case EVHTTP_REQ_OPTIONS:
        return "OPTIONS";
    case EVHTTP_REQ_TRACE:
        return "TRACE";
    case EVHTTP_REQ_CONNECT:
        return "CONNECT";
    case EVHTTP_REQ_PATCH:
        return "PATCH";
    }
    return "OTHER";
}

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 301:
        return "Moved Permanently";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 413:
        return "Payload Too Large";
    case 422:
        return "Unprocessable Entity";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    }
    return NULL; /* evhttp picks a phrase */
}

static void conn_request_done(struct http_server *hs, struct evhttp_request *req);

static void finish(struct http_call *call, int status, const char *content_type,
                   struct evbuffer *body)
{
    struct http_server *hs = call->hs;
    conn_request_done(hs, call->req); /* before the reply, which may free the connection */
    struct evkeyvalq *out = evhttp_request_get_output_headers(call->req);
    if (content_type)
        evhttp_add_header(out, "Content-Type", content_type);
    if (evhttp_find_header(out, "Cache-Control") == NULL)
        evhttp_add_header(out, "Cache-Control", "no-store");
    if (evhttp_request_get_command(call->req) == EVHTTP_REQ_HEAD) {
        /* libevent 2.1 sends a reply's body even to HEAD: the headers only, with the length
         * the body would have (RFC 9110, 9.3.2). */
        char len[32];
        snprintf(len, sizeof(len), "%zu", body ? evbuffer_get_length(body) : (size_t)0);
        if (status != 304 && status != 204 && evhttp_find_header(out, "Content-Length") == NULL)
            evhttp_add_header(out, "Content-Length", len);
        body = NULL;
    }
    evhttp_send_reply(call->req, status, reason_phrase(status), body);
    count_status(hs, call->route, status);
    log_debug("%s %s -> %d", call->method, evhttp_request_get_uri(call->req), status);
    hs->inflight--;
    if (call->query_parsed)
        evhttp_clear_headers(&call->query);
    free(call);
}

void http_reply_buffer(struct http_call *call, int status, const char *content_type,
                       struct evbuffer *body)
{
    finish(call, status, content_type, body);
}

void http_reply_json(struct http_call *call, int status, json_t *body)
{
    struct evbuffer *buf = evbuffer_new();
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(body);
    if (buf == NULL || text == NULL) {
        log_error("out of memory rendering a JSON reply");
        if (buf)
            evbuffer_add_printf(buf, "{\"error\":{\"code\":\"internal\",\"message\":"
                                     "\"out of memory\"}}\n");
        finish(call, 500, "application/json; charset=utf-8", buf);
    } else {
        evbuffer_add(buf, text, strlen(text));
        evbuffer_add(buf, "\n", 1);
        finish(call, status, "application/json; charset=utf-8", buf);
    }
    free(text);
    if (buf)
        evbuffer_free(buf);
}

/* Length of the valid UTF-8 sequence at s (RFC 3629: no overlong forms, no surrogates,
 * nothing above U+10FFFF), or 0 when s does not start one. */
static size_t utf8_seq(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    size_t n = s[0] >= 0xC2 && s[0] <= 0xDF   ? 2
               : s[0] >= 0xE0 && s[0] <= 0xEF ? 3
               : s[0] >= 0xF0 && s[0] <= 0xF4 ? 4
                                              : 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] > 0x9F) ||
        (s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] > 0x8F))
        return 0;
    return n;
}

static bool utf8_valid(const char *text)
{
    const unsigned char *s = (const unsigned char *)text;
    for (size_t n; *s; s += n)
        if ((n = utf8_seq(s)) == 0)
            return false;
    return true;
}

/* Copies text into out (cap > 0) with every byte that does not start valid UTF-8 replaced by
 * '?', so that a message quoting hostile input (a path, a query parameter) can still be sent
 * as JSON instead of failing as "out of memory". */
static void utf8_scrub(const char *text, char *out, size_t cap)
{
    size_t n = 0;
    const unsigned char *s = (const unsigned char *)text;
    while (*s && n + 1 < cap) {
        size_t len = utf8_seq(s);
        if (len == 0 || n + len >= cap) {
            out[n++] = '?';
            s++;
            continue;
        }
        memcpy(out + n, s, len);
        n += len;
        s += len;
    }
    out[n] = '\0';
}

void http_reply_error(struct http_call *call, int status, const char *code, const char *message,
                      const char *field)
{
    char scrubbed[512];
    if (message && !utf8_valid(message)) {
        utf8_scrub(message, scrubbed, sizeof(scrubbed));
        message = scrubbed;
    }
    json_t *err = json_pack("{s:s, s:s}", "code", code, "message", message);
    if (err && field)
        json_object_set_new(err, "field", json_string(field));
    json_t *body = err ? json_pack("{s:o}", "error", err) : NULL;
    http_reply_json(call, status, body);
}

struct evhttp_request *http_call_request(struct http_call *call)
{
    return call->req;
}

/* ---- connections ---- */

static void on_stream_conn_closed(struct evhttp_connection *conn, void *arg);

static struct http_conn *conn_find(struct http_server *hs, struct evhttp_connection *evcon)
{
    /* At most max_connections to walk, twice per request. */
    for (struct http_conn *hc = hs->conns; hc; hc = hc->next)
        if (hc->evcon == evcon)
            return hc;
    return NULL;
}

static void conn_arm(struct http_conn *hc, int seconds)
{
    struct timeval tv = {seconds, 0};
    event_add(hc->timer, &tv);
}

/* The connection is gone (or never was): forget it and drop our reference. */
static void conn_drop(struct http_conn *hc)
{
    struct http_server *hs = hc->hs;
    if (hc->prev)
        hc->prev->next = hc->next;
    else
        hs->conns = hc->next;
    if (hc->next)
        hc->next->prev = hc->prev;
    hs->nconns--;
    if (hc->input_cb)
        evbuffer_remove_cb_entry(bufferevent_get_input(hc->bev), hc->input_cb);
    event_free(hc->timer);
    bufferevent_decref(hc->bev);
    free(hc);
}

/* evhttp frees the connection (client gone, reply with close, error, our deadline). */
static void on_conn_closed(struct evhttp_connection *evcon, void *arg)
{
    struct http_conn *hc = arg;
    struct http_call *stream = hc->stream;
    conn_drop(hc);
    if (stream)
        on_stream_conn_closed(evcon, stream);
}

/* 1 while evhttp still uses the bufferevent (bufferevent_free clears its callbacks). */
static int conn_alive(struct http_conn *hc, struct evhttp_connection **evcon)
{
    bufferevent_event_cb eventcb = NULL;
    void *cbarg = NULL;
    bufferevent_getcb(hc->bev, NULL, NULL, &eventcb, &cbarg);
    if (eventcb == NULL || cbarg == NULL)
        return 0;
    *evcon = cbarg; /* evhttp's callback argument is its connection */
    return evhttp_connection_get_bufferevent(*evcon) == hc->bev;
}

static void conn_refuse(struct http_conn *hc)
{
    /* Straight to the socket: evhttp has no request to answer yet. A short JSON 503 fits the
     * socket buffer of a fresh connection. */
    static const char body[] =
        "{\"error\":{\"code\":\"too_many_connections\",\"message\":\"the server has its "
        "maximum of open connections; retry later\"}}\n";
    char msg[512];
    int n = snprintf(msg, sizeof(msg),
                     "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json; "
                     "charset=utf-8\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
                     sizeof(body) - 1, body);
    evutil_socket_t fd = bufferevent_getfd(hc->bev);
    if (fd >= 0 && n > 0 && send(fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
        log_debug("could not tell a connection beyond the cap: %s", strerror(errno));
}

static void on_conn_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct http_conn *hc = arg;
    struct http_server *hs = hc->hs;
    struct evhttp_connection *evcon;
    if (!conn_alive(hc, &evcon) || (hc->evcon && hc->evcon != evcon)) {
        conn_drop(hc); /* freed without its close callback: forget it all the same */
        return;
    }
    if (hc->phase == HCP_SETUP) {
        hc->evcon = evcon;
        evhttp_connection_set_closecb(evcon, on_conn_closed, hc);
        if (hc->refused) {
            hs->conn_stats.refused++;
            conn_refuse(hc);
            evhttp_connection_free(evcon); /* calls on_conn_closed: hc is gone */
            return;
        }
        hc->phase = HCP_HEADERS;
        conn_arm(hc, hs->opt.header_timeout_s);
        return;
    }
    if (hc->busy > 0) {
        /* A handler has the request: no deadline, only a look now and then whether evhttp
         * still has the connection. */
        conn_arm(hc, hs->opt.header_timeout_s);
        return;
    }
    if (hc->phase == HCP_BODY) {
        hs->conn_stats.body_timeouts++;
        log_info("closing an HTTP connection: request body not received within %d s",
                 hs->opt.body_timeout_s);
    } else {
        hs->conn_stats.header_timeouts++;
        log_debug("closing an HTTP connection: no complete request headers within %d s",
                  hs->opt.header_timeout_s);
    }
    evhttp_connection_free(evcon); /* calls on_conn_closed: hc is gone */
}

/* Bytes arrived: while reading headers, look for the blank line that ends them. */
static void on_conn_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    struct http_conn *hc = arg;
    if (info->n_added == 0 || hc->phase != HCP_HEADERS)
        return;
    size_t len = evbuffer_get_length(buf);
    size_t from = len >= info->n_added ? len - info->n_added : 0;
    struct evbuffer_ptr pos;
    if (evbuffer_ptr_set(buf, &pos, from, EVBUFFER_PTR_SET) != 0)
        return;
    struct evbuffer_iovec v[8];
    int nv = evbuffer_peek(buf, (ev_ssize_t)(len - from), &pos, v, 8);
    for (int i = 0; i < nv && i < 8; i++) {
        const unsigned char *p = v[i].iov_base;
        for (size_t k = 0; k < v[i].iov_len; k++) {
            unsigned char ch = p[k];
            if (ch == '\n' && hc->scan != 0) {
                /* LF LF or LF CR LF: the headers are complete; now the body's deadline. */
                hc->phase = HCP_BODY;
                hc->scan = 0;
                conn_arm(hc, hc->hs->opt.body_timeout_s);
                return;
            }
            hc->scan = ch == '\n' ? 1 : (ch == '\r' && hc->scan == 1) ? 2 : 0;
        }
    }
}

/* The bufferevent of a new connection: with TLS a server-side OpenSSL one (the handshake runs
 * before evhttp sees a byte), else a plain socket one. NULL when out of memory. */
static struct bufferevent *conn_bev_new(struct http_server *hs, struct event_base *base)
{
    if (hs->tls == NULL)
        return bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    SSL *ssl = SSL_new(hs->tls);
    struct bufferevent *bev =
        ssl ? bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                             BEV_OPT_CLOSE_ON_FREE)
            : NULL;
    if (bev == NULL) {
        log_error("out of memory for a TLS connection");
        SSL_free(ssl);
        return NULL;
    }
    /* A client that closes without close_notify ends its connection, nothing more: HTTP
     * frames its messages itself. */
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

/* evhttp wants a bufferevent for a new connection: counted and tracked from here. */
static struct bufferevent *on_new_conn(struct event_base *base, void *arg)
{
    struct http_server *hs = arg;
    /* Closes the socket when the last reference goes (evhttp's or ours). A TLS listener makes
     * its OpenSSL bufferevent here: the tracking below works on any bufferevent. Should this
     * return NULL, evhttp makes a plain bufferevent itself: on_request refuses what arrives on
     * one on a TLS listener. */
    struct bufferevent *bev = conn_bev_new(hs, base);
    struct http_conn *hc = bev ? calloc(1, sizeof(*hc)) : NULL;
    if (hc == NULL || (hc->timer = evtimer_new(base, on_conn_timer, hc)) == NULL) {
        free(hc);
        log_error("out of memory tracking an HTTP connection");
        return bev; /* served, but without the limits */
    }
    hc->hs = hs;
    hc->bev = bev;
    bufferevent_incref(bev);
    hc->input_cb = evbuffer_add_cb(bufferevent_get_input(bev), on_conn_input, hc);
    hc->next = hs->conns;
    if (hs->conns)
        hs->conns->prev = hc;
    hs->conns = hc;
    hs->nconns++;
    hc->refused = hs->opt.max_connections > 0 && hs->nconns > (size_t)hs->opt.max_connections;
    /* evhttp makes the connection once this returns: set it up on the next loop turn. */
    event_active(hc->timer, EV_TIMEOUT, 1);
    return bev;
}

/* A request of the connection reaches a handler. */
static void conn_request_start(struct http_server *hs, struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct http_conn *hc = evcon ? conn_find(hs, evcon) : NULL;
    if (hc == NULL)
        return;
    hc->busy++;
    event_del(hc->timer);
    conn_arm(hc, hs->opt.header_timeout_s); /* only a liveness look while busy */
}

/* Its reply goes out: the next request's headers have their deadline from now. */
static void conn_request_done(struct http_server *hs, struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct http_conn *hc = evcon ? conn_find(hs, evcon) : NULL;
    if (hc == NULL || hc->phase == HCP_SETUP)
        return;
    if (hc->busy > 0)
        hc->busy--;
    hc->phase = HCP_HEADERS;
    hc->scan = 0;
    conn_arm(hc, hs->opt.header_timeout_s);
}

/* ---- streams ---- */

static void on_stream_conn_closed(struct evhttp_connection *conn, void *arg)
{
    (void)conn;
    struct http_call *call = arg;
    /* Two ways here. The client went away mid-stream: libevent has already detached the
     * request from the connection (it is ours now, and would leak). Or the connection is
     * being freed with the request still on it: libevent frees it after this returns. */
    if (evhttp_request_get_connection(call->req) == NULL)
        evhttp_request_free(call->req);
    http_stream_closed_fn *closed = call->stream_closed;
    void *closed_arg = call->stream_arg;
    call->hs->inflight--;
    if (call->query_parsed)
        evhttp_clear_headers(&call->query);
    free(call);
    if (closed)
        closed(closed_arg);
}

void http_stream_start(struct http_call *call, const char *content_type,
                       http_stream_closed_fn *closed, void *arg)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(call->req);
    evhttp_add_header(out, "Content-Type", content_type);
    evhttp_add_header(out, "Cache-Control", "no-store");
    call->stream_closed = closed;
    call->stream_arg = arg;
    evhttp_send_reply_start(call->req, 200, "OK");
    count_status(call->hs, call->route, 200);
    /* The connection's close callback is the tracker's: it tells the stream. */
    struct evhttp_connection *evcon = evhttp_request_get_connection(call->req);
    struct http_conn *hc = conn_find(call->hs, evcon);
    if (hc)
        hc->stream = call;
    else
        evhttp_connection_set_closecb(evcon, on_stream_conn_closed, call);
}

int http_stream_write(struct http_call *call, const char *data, size_t len, size_t max_backlog)
{
    struct evhttp_connection *conn = evhttp_request_get_connection(call->req);
    struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
    if (bev && evbuffer_get_length(bufferevent_get_output(bev)) > max_backlog)
        return -1;
    struct evbuffer *buf = evbuffer_new();
    if (buf == NULL)
        return -1;
    evbuffer_add(buf, data, len);
    evhttp_send_reply_chunk(call->req, buf);
    evbuffer_free(buf);
    return 0;
}

void http_stream_end(struct http_call *call)
{
    struct evhttp_connection *conn = evhttp_request_get_connection(call->req);
    struct http_conn *hc = conn ? conn_find(call->hs, conn) : NULL;
    if (hc)
        hc->stream = NULL;
    else if (conn)
        evhttp_connection_set_closecb(conn, NULL, NULL);
    conn_request_done(call->hs, call->req);
    evhttp_send_reply_end(call->req);
    call->hs->inflight--;
    if (call->query_parsed)
        evhttp_clear_headers(&call->query);
    free(call);
}

/* Why a path segment cannot be a parameter value (static text), or NULL when it can: every
 * '%' starts a %XX escape, and the decoded text is UTF-8 without control characters or '/'.
 * Such a segment is answered 400 rather than matched against nothing (and never echoed: a
 * JSON reply cannot carry invalid UTF-8). */
static const char *param_problem(const char *raw, const char *decoded, size_t len)
{
    for (const char *r = raw; (r = strchr(r, '%')) != NULL; r++)
        if (!isxdigit((unsigned char)r[1]) || !isxdigit((unsigned char)r[2]))
            return "invalid percent-encoding (a '%' must start %XX)";
    for (size_t i = 0; i < len;) {
        const unsigned char *c = (const unsigned char *)decoded + i;
        if (*c < 0x20 || *c == 0x7F || *c == '/')
            return "a control character or '/' after percent-decoding";
        size_t n = utf8_seq(c);
        if (n == 0)
            return "not valid UTF-8 after percent-decoding";
        i += n;
    }
    return NULL;
}

/* Matches `path` against a route pattern whose segments are literal or "{name}" (one
 * non-empty segment, percent-decoded). Fills call->params. Returns 1 on a match. A segment
 * that is not valid text (param_problem) still matches, with call->bad_param set. */
static int route_match(const char *pattern, const char *path, struct http_call *call)
{
    call->nparams = 0;
    call->bad_param = NULL;
    const char *p = pattern, *s = path;
    while (*p && *s) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            const char *end = strchr(s, '/');
            size_t len = end ? (size_t)(end - s) : strlen(s);
            if (close == NULL || len == 0 || call->nparams == HTTP_MAX_PARAMS)
                return 0;
            char raw[3 * HTTP_PARAM_MAX + 1];
            if (len >= sizeof(raw))
                return 0;
            memcpy(raw, s, len);
            raw[len] = '\0';
            size_t out_len = 0;
            char *decoded = evhttp_uridecode(raw, 0, &out_len);
            if (decoded == NULL)
                return 0;
            const char *problem = param_problem(raw, decoded, out_len);
            if (problem && call->bad_param == NULL)
                call->bad_param = problem;
            int ok = out_len <= HTTP_PARAM_MAX && (problem || strlen(decoded) == out_len);
            if (ok && problem) {
                struct http_param *prm = &call->params[call->nparams++];
                prm->name = p + 1;
                prm->name_len = (size_t)(close - p - 1);
                prm->value[0] = '\0'; /* never used: the call is answered 400 */
            } else if (ok) {
                struct http_param *prm = &call->params[call->nparams++];
                prm->name = p + 1;
                prm->name_len = (size_t)(close - p - 1);
                memcpy(prm->value, decoded, out_len + 1);
            }
            free(decoded);
            if (!ok)
                return 0;
            p = close + 1;
            s += len;
            continue;
        }
        if (*p != *s)
            return 0;
        p++;
        s++;
    }
    return *p == '\0' && *s == '\0';
}

const char *http_call_param(const struct http_call *call, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < call->nparams; i++)
        if (call->params[i].name_len == n && memcmp(call->params[i].name, name, n) == 0)
            return call->params[i].value;
    return NULL;
}

const char *http_call_query(struct http_call *call, const char *name)
{
    if (!call->query_parsed) {
        TAILQ_INIT(&call->query);
        call->query_parsed = 1;
        const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(call->req);
        const char *q = uri ? evhttp_uri_get_query(uri) : NULL;
        if (q && evhttp_parse_query_str(q, &call->query) != 0)
            evhttp_clear_headers(&call->query);
    }
    return evhttp_find_header(&call->query, name);
}

json_t *http_call_json_body(struct http_call *call)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(call->req);
    size_t len = evbuffer_get_length(in);
    const char *text = len ? (const char *)evbuffer_pullup(in, (ev_ssize_t)len) : "";
    json_error_t jerr;
    json_t *body = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (body == NULL) {
        char msg[300];
        snprintf(msg, sizeof(msg), "request body is not valid JSON: %s (line %d, column %d)",
                 len ? jerr.text : "empty body", jerr.line, jerr.column);
        http_reply_error(call, 400, "invalid_json", msg, NULL);
        return NULL;
    }
    if (!json_is_object(body)) {
        json_decref(body);
        http_reply_error(call, 400, "invalid_json", "request body must be a JSON object", NULL);
        return NULL;
    }
    return body;
}

void http_call_set_user(struct http_call *call, void *user)
{
    call->user = user;
}

void *http_call_user(const struct http_call *call)
{
    return call->user;
}

const char *http_call_header(struct http_call *call, const char *name)
{
    return evhttp_find_header(evhttp_request_get_input_headers(call->req), name);
}

/* Every request lands here: we route ourselves so that unknown paths and methods get the
 * same JSON error shape as everything else (evhttp's own 404/501 pages are HTML). */
static void on_request(struct evhttp_request *req, void *arg)
{
    struct http_server *hs = arg;
    if (hs->tls != NULL) {
        struct evhttp_connection *conn = evhttp_request_get_connection(req);
        struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
        if (bev == NULL || bufferevent_openssl_get_ssl(bev) == NULL) {
            evhttp_send_error(req, 503, "TLS connection could not be set up");
            return; /* never serve in clear on a TLS listener */
        }
    }
    struct http_call *call = calloc(1, sizeof(*call));
    if (call == NULL) {
        evhttp_send_error(req, 500, "out of memory");
        return;
    }
    conn_request_start(hs, req);
    hs->inflight++;
    call->hs = hs;
    call->req = req;
    call->route = hs->nroutes;
    call->method = method_name(evhttp_request_get_command(req));

    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    if (path == NULL || path[0] == '\0')
        path = "/";

    int path_known = 0;
    char allow[128] = "";
    for (size_t i = 0; i < hs->nroutes; i++) {
        const struct http_route *r = &hs->routes[i];
        if (!route_match(r->path, path, call))
            continue;
        path_known = 1;
        int head_on_get = strcmp(call->method, "HEAD") == 0 && strcmp(r->method, "GET") == 0;
        if (strcmp(r->method, call->method) == 0 || head_on_get) {
            call->route = i;
            if (call->bad_param) {
                char msg[160];
                snprintf(msg, sizeof(msg), "a path parameter is not a valid id: %s",
                         call->bad_param);
                http_reply_error(call, 400, "invalid_parameter", msg, NULL);
                return;
            }
            if ((r->flags & HTTP_ROUTE_WRITE) && hs->store && store_state(hs->store) != STORE_UP) {
                http_reply_error(call, 503, "store_unavailable",
                                 "the store (Redis) is unavailable; nothing was written, retry "
                                 "later",
                                 NULL);
                return;
            }
            r->handler(call, hs->ctx);
            return;
        }
        size_t used = strlen(allow);
        snprintf(allow + used, sizeof(allow) - used, "%s%s", used ? ", " : "", r->method);
    }
    if (!path_known && hs->mount_prefix != NULL) {
        size_t n = strlen(hs->mount_prefix);
        if (strncmp(path, hs->mount_prefix, n) == 0 && (path[n] == '\0' || path[n] == '/')) {
            call->route = hs->nroutes + 1;
            hs->mount_handler(call, hs->mount_ctx);
            return;
        }
    }
    if (path_known) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
        char msg[192];
        snprintf(msg, sizeof(msg), "method %s is not allowed on %s; allowed: %s", call->method,
                 path, allow);
        http_reply_error(call, 405, "method_not_allowed", msg, NULL);
        return;
    }
    char msg[160];
    snprintf(msg, sizeof(msg), "no such resource: %.120s", path);
    http_reply_error(call, 404, "not_found", msg, NULL);
}

struct http_server *http_server_new(struct event_base *base, const struct http_server_options *opt,
                                    const struct http_route *routes, size_t nroutes, void *ctx,
                                    struct store *store, char *errbuf, size_t errlen)
{
    struct http_server *hs = calloc(1, sizeof(*hs));
    if (hs == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    hs->base = base;
    hs->opt = *opt;
    hs->opt.bind = NULL; /* not kept */
    if (hs->opt.header_timeout_s <= 0)
        hs->opt.header_timeout_s = opt->timeout_s;
    if (hs->opt.body_timeout_s <= 0)
        hs->opt.body_timeout_s = opt->timeout_s;
    hs->routes = routes;
    hs->nroutes = nroutes;
    hs->ctx = ctx;
    hs->store = store;
    hs->stats = calloc(nroutes + 2, sizeof(*hs->stats));
    hs->http = evhttp_new(base);
    if (hs->stats == NULL || hs->http == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        http_server_free(hs);
        return NULL;
    }
    evhttp_set_max_body_size(hs->http, (ev_ssize_t)opt->max_body);
    evhttp_set_max_headers_size(hs->http, (ev_ssize_t)opt->max_headers);
    evhttp_set_timeout(hs->http, opt->timeout_s);
    /* Allow every method we can answer in JSON; TRACE and CONNECT stay refused by evhttp. */
    evhttp_set_allowed_methods(hs->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                             EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                             EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
    evhttp_set_gencb(hs->http, on_request, hs);
    if (opt->tls_cert != NULL && opt->tls_cert[0] != '\0') {
        hs->tls = tls_server_ctx_new(opt->tls_cert, opt->tls_key, errbuf, errlen);
        if (hs->tls == NULL) {
            http_server_free(hs);
            return NULL;
        }
    }
    evhttp_set_bevcb(hs->http, on_new_conn, hs);
    hs->bound = evhttp_bind_socket_with_handle(hs->http, opt->bind, (ev_uint16_t)opt->port);
    if (hs->bound == NULL) {
        snprintf(errbuf, errlen, "cannot listen for HTTP on %s:%d (address in use or not local?)",
                 opt->bind, opt->port);
        http_server_free(hs);
        return NULL;
    }
    log_info("HTTP%s listening on %s:%d", hs->tls ? "S" : "", opt->bind, opt->port);
    return hs;
}

void http_server_mount(struct http_server *hs, const char *prefix, http_handler_fn *handler,
                       void *ctx)
{
    hs->mount_prefix = prefix;
    snprintf(hs->mount_label, sizeof(hs->mount_label), "%s/*", prefix);
    hs->mount_handler = handler;
    hs->mount_ctx = ctx;
}

void http_server_stop_accepting(struct http_server *hs)
{
    if (hs && hs->bound) {
        evhttp_del_accept_socket(hs->http, hs->bound);
        hs->bound = NULL;
        log_info("HTTP listener closed");
    }
}

void http_server_free(struct http_server *hs)
{
    if (hs == NULL)
        return;
    if (hs->http)
        evhttp_free(hs->http); /* closes every connection: their trackers go */
    while (hs->conns)
        conn_drop(hs->conns); /* not yet set up */
    tls_ctx_free(hs->tls);    /* after the connections: each SSL holds a reference anyway */
    free(hs->stats);
    free(hs);
}

size_t http_server_inflight(const struct http_server *hs)
{
    return hs->inflight;
}

size_t http_server_connections(const struct http_server *hs)
{
    return hs->nconns;
}

const struct http_conn_stats *http_server_conn_stats(const struct http_server *hs)
{
    return &hs->conn_stats;
}

void http_server_foreach_stat(const struct http_server *hs, http_stat_fn *fn, void *arg)
{
    for (size_t i = 0; i <= hs->nroutes + 1; i++) {
        const char *route = i < hs->nroutes    ? hs->routes[i].path
                            : i == hs->nroutes ? "unmatched"
                                               : hs->mount_label;
        const char *method = i < hs->nroutes ? hs->routes[i].method : "any";
        for (int s = 0; s < HTTP_STATUS_SLOTS; s++) {
            const struct status_count *sc = &hs->stats[i].slots[s];
            if (sc->status == 0)
                break;
            fn(arg, route, method, sc->status, sc->count);
        }
    }
}
