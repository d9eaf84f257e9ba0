/* handset_server.c -- TCP listener and per-connection session handling for handsets and
 * vehicle units: framing (proto/frame.h), Envelope decoding (lpg.v1), Hello/Ping, errors,
 * idle timeout, connection cap, limits on connections without a session (Hello deadline, caps
 * in all and per source address) and graceful shutdown.
 *
 * Transport: a plain non-blocking socket and one libevent read event per connection, not a
 * bufferevent. Thousands of connections sit idle between frames, so what one holds is memory
 * per tracked vehicle (tests/bench/README.md, bench-ingest): a bufferevent with its two
 * evbuffers costs ~900 bytes per connection, always. Here input is read from the socket at
 * most up to the end of the current frame (lpg_frame_wanted), so the kernel's socket buffer is
 * the input buffer and a connection that waits for the store simply stops reading (the peer
 * is then flow-controlled by TCP). Replies are written at once; only what the socket does not
 * take is queued, in an evbuffer created for it and freed once it is flushed.
 *
 * Lifetime of a connection (struct handset_conn): the rule of conn_ref.h. Created on accept and
 * listed in the server; every callback of its own holds a reference while it runs
 * (hconn_enter / hconn_leave) and every job for it (a Hello being recorded, the hooks' batches,
 * deliveries, answers) holds one until it ends (handset_conn_hold / handset_conn_release).
 * Freed only by hconn_leave() dropping the last reference once it is closing and its output is
 * flushed (or the peer is gone). A job that ends inside the handling of a frame (a resend
 * acknowledged at once) therefore cannot free the connection under the frame loop, and a
 * release never handles frames inside a frame loop of the same connection (in_input).
 */
#define LOG_TAG "handset"
#include "handset/handset_server.h"

#include "app/events.h"

#include "common/conn_ref.h"
#include "frame.h"
#include "common/log.h"
#include "store/device_sessions.h"
#include "store/store.h"
#include "common/tls.h"

#include "lpg/v1/envelope.pb-c.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

/* The wire contract version this server speaks (proto/README.md). */
#define HANDSET_PROTOCOL_VERSION 1
/* Output queued for a peer that does not read is capped: beyond it the peer is dropped. */
#define HANDSET_MAX_OUTPUT (1024u * 1024u) /* bytes */
/* How long a closing connection may take to flush its last frames. */
#define HANDSET_FLUSH_TIMEOUT_S 5
/* Connections accepted beyond the cap only to be told so; past this many, close silently. */
#define HANDSET_REFUSAL_SLACK  64
#define HANDSET_DEVICE_ID_MAX  64  /* bytes */
#define HANDSET_CREDENTIAL_MAX 256 /* bytes */
/* A device may announce a smaller frame limit in Hello.max_frame, but not below this: every
 * message the server sends fits (the largest, OrderAssigned, is about 1.5 KB at most). */
#define HANDSET_DEVICE_MIN_FRAME 4096 /* bytes */
/* Frames handled in one read callback before yielding to other connections (pings do not
 * pause reading as batches do). */
#define HANDSET_FRAMES_PER_READ 16
/* Replies up to this size are framed on the stack (Acks, Errors, Alerts). */
#define HANDSET_STACK_FRAME 2048 /* bytes */
/* Buckets of the table of source addresses with connections awaiting Hello (power of two). */
#define HANDSET_ADDR_BUCKETS 4096u

/* Connections without an acknowledged Hello from one source address. */
struct addr_count {
    struct addr_count *next;
    uint8_t family;
    uint8_t addr[16];
    uint32_t n;
};

enum hconn_session { HC_AWAIT_HELLO, HC_OPEN };

/* A Hello whose session is being recorded: what its Ack needs, only until then (a connection
 * that sits logged in does not carry it). */
struct hello_wait {
    struct handset_conn *c;
    uint64_t request_id;
    char session_id[33];
};

struct handset_conn {
    struct handset_server *srv;
    struct handset_conn *prev, *next;
    evutil_socket_t fd; /* owned: closed with the connection */
    /* Persistent, with the idle timeout; added while reading. Lives in the same allocation,
     * right after this struct (event_assign): one malloc per connection, not two. */
    struct event *ev_read;
    struct event *ev_write; /* created when output is first queued; NULL before */
    struct evbuffer *out;   /* what the socket did not take yet; NULL when none */
    SSL *ssl;               /* TLS state when the listener has TLS; NULL for plain TCP */
    struct lpg_frame_decoder *dec;
    /* The peer's address, kept compact and formatted for logs only (hconn_peer). */
    uint8_t peer_addr[16]; /* in_addr or in6_addr */
    uint16_t peer_port;
    uint8_t peer_family; /* AF_INET, AF_INET6, or 0 when unknown */
    char device_id[HANDSET_DEVICE_ID_MAX + 1];
    char staff_id[HANDSET_DEVICE_ID_MAX + 1];
    enum hconn_session session;
    unsigned closing : 1;   /* no more input is processed; freed once flushed and idle */
    unsigned peer_gone : 1; /* EOF or error: nothing more can be written */
    unsigned in_input : 1;  /* hconn_process_input() is on the stack */
    struct conn_ref life;   /* running callbacks and jobs in flight (conn_ref.h) */
    /* Until the Hello is acknowledged: counted in its address's entry (NULL after), and the
     * monotonic time by which it must be. */
    struct addr_count *unauth;
    int64_t hello_deadline_ms;
    uint32_t peer_max_frame; /* the device's limit (Hello.max_frame), 0 until announced */
    void *data;              /* the hooks' per-connection state */
    void (*data_free)(void *);
};

struct handset_server {
    struct event_base *base;
    struct evconnlistener *listener;
    struct store *store;
    SSL_CTX *tls; /* NULL: plain TCP */
    struct handset_server_options opt;
    char *bind;
    struct handset_conn *conns;
    size_t nconns;
    size_t n_unauth;    /* connections without an acknowledged Hello */
    int max_unauth;     /* opt.max_unauthenticated, at most half of max_connections */
    uint32_t addr_seed; /* random: which addresses share a bucket is not predictable */
    struct addr_count *addrs[HANDSET_ADDR_BUCKETS];
    int shutting_down;
    int freeing;
    struct handset_stats stats;
};

static void hconn_process_input(struct handset_conn *c);
static void hconn_resume(struct handset_conn *c);

/* "address:port" of the peer, for a log line or a stored session: valid until the next call
 * (one event loop, one buffer). */
static const char *hconn_peer(const struct handset_conn *c)
{
    static char buf[INET6_ADDRSTRLEN + 8];
    char addr[INET6_ADDRSTRLEN] = "?";
    if (c->peer_family == AF_INET || c->peer_family == AF_INET6)
        evutil_inet_ntop(c->peer_family, c->peer_addr, addr, sizeof(addr));
    snprintf(buf, sizeof(buf), "%s:%u", addr, (unsigned)c->peer_port);
    return buf;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- connections awaiting Hello, per source address ---- */

static struct addr_count **addr_slot(struct handset_server *srv, uint8_t family,
                                     const uint8_t addr[16])
{
    uint32_t h = srv->addr_seed ^ family;
    for (int i = 0; i < 16; i++)
        h = (h ^ addr[i]) * 16777619u; /* FNV-1a */
    struct addr_count **pp = &srv->addrs[h & (HANDSET_ADDR_BUCKETS - 1)];
    while (*pp && ((*pp)->family != family || memcmp((*pp)->addr, addr, 16) != 0))
        pp = &(*pp)->next;
    return pp; /* the entry, or the NULL link where it would go */
}

/* The connection got its session (or goes away): no longer counted as anonymous. */
static void hconn_unauth_end(struct handset_conn *c)
{
    struct addr_count *a = c->unauth;
    if (a == NULL)
        return;
    c->unauth = NULL;
    c->srv->n_unauth--;
    if (--a->n == 0) {
        struct addr_count **pp = addr_slot(c->srv, a->family, a->addr);
        *pp = a->next;
        free(a);
    }
}

/* ---- connection list and lifetime ---- */

static void hconn_unlink(struct handset_conn *c)
{
    struct handset_server *srv = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    srv->nconns--;
}

static void hconn_destroy(struct handset_conn *c)
{
    hconn_unlink(c);
    hconn_unauth_end(c);
    c->srv->stats.closed++;
    if (c->ev_read)
        event_del(c->ev_read); /* its memory goes with c */
    if (c->ev_write)
        event_free(c->ev_write);
    if (c->out)
        evbuffer_free(c->out);
    tls_conn_free(c->ssl);
    if (c->fd >= 0)
        evutil_closesocket(c->fd);
    lpg_frame_decoder_free(c->dec);
    if (c->data_free)
        c->data_free(c->data);
    free(c);
}

/* Frees the connection if nothing keeps it alive. Returns 1 when it was freed. Called only by
 * hconn_leave() once the last reference is gone. */
static int hconn_maybe_free(struct handset_conn *c)
{
    if (!c->closing || c->life.refs > 0)
        return 0;
    if (!c->peer_gone && c->out != NULL && evbuffer_get_length(c->out) > 0)
        return 0; /* the write callback comes back once the output is flushed */
    log_debug("connection %s closed", hconn_peer(c));
    hconn_destroy(c);
    return 1;
}

/* A callback of the connection begins: c stays valid until the matching hconn_leave(). */
static void hconn_enter(struct handset_conn *c)
{
    conn_ref_enter(&c->life);
}

/* Drops a reference; c may be freed here: do not use it afterwards. */
static void hconn_leave(struct handset_conn *c)
{
    if (conn_ref_leave(&c->life) && !c->srv->freeing)
        hconn_maybe_free(c);
}

/* Reading on (with the idle timeout, restarted) or off (waiting for the store, closing). */
static void hconn_reading(struct handset_conn *c, int on)
{
    if (on && !c->closing) {
        struct timeval idle = {c->srv->opt.idle_timeout_s, 0};
        if (c->session != HC_OPEN) {
            /* Whatever it sends, an anonymous connection is closed at its Hello deadline. */
            int64_t left = c->hello_deadline_ms - mono_ms();
            if (left < 0)
                left = 0;
            if (left < (int64_t)idle.tv_sec * 1000) {
                idle.tv_sec = (time_t)(left / 1000);
                idle.tv_usec = (suseconds_t)(left % 1000 * 1000);
            }
        }
        event_add(c->ev_read, &idle);
    } else {
        event_del(c->ev_read);
    }
}

/* Queued output waits for the socket; once closing, for at most the flush timeout. */
static void hconn_want_write(struct handset_conn *c)
{
    struct timeval flush = {HANDSET_FLUSH_TIMEOUT_S, 0};
    event_add(c->ev_write, c->closing ? &flush : NULL);
}

static void on_write(evutil_socket_t fd, short what, void *arg);

/* Stops reading; the connection is freed once its output is flushed. */
static void hconn_close(struct handset_conn *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    hconn_reading(c, 0);
    if (c->out != NULL && evbuffer_get_length(c->out) > 0) {
        hconn_want_write(c); /* now with the flush timeout */
        return;
    }
    /* Nothing queued, so no write callback would come: run it once from the loop, where
     * hconn_leave() may free the connection (closing may come from outside any of its
     * callbacks, e.g. an HTTP request that took the handset off its person). */
    if (c->ev_write == NULL)
        c->ev_write = event_new(c->srv->base, c->fd, EV_WRITE | EV_PERSIST, on_write, c);
    if (c->ev_write != NULL)
        event_active(c->ev_write, EV_WRITE, 1);
}

/* The peer's socket failed or was reset: nothing more can be written. */
static void hconn_peer_failed(struct handset_conn *c, int err)
{
    if (!c->peer_gone)
        log_debug("%s: %s", hconn_peer(c), evutil_socket_error_to_string(err));
    c->peer_gone = 1;
    if (c->out)
        evbuffer_drain(c->out, evbuffer_get_length(c->out));
    if (c->ev_write)
        event_del(c->ev_write);
    hconn_close(c);
}

/* ---- plain or TLS I/O on the socket: the only places that read or write it ---- */

/* While a TLS write waits for the peer's handshake, the write event waits for the socket to
 * be readable; otherwise for it to be writable. */
static void hconn_tls_wait(struct handset_conn *c, int want)
{
    short what = want == TLS_WANT_READ ? EV_READ : EV_WRITE;
    if (c->ev_write == NULL || (event_get_events(c->ev_write) & (EV_READ | EV_WRITE)) == what)
        return;
    int pending = event_pending(c->ev_write, EV_READ | EV_WRITE | EV_TIMEOUT, NULL);
    event_del(c->ev_write);
    event_assign(c->ev_write, c->srv->base, c->fd, what | EV_PERSIST, on_write, c);
    if (pending)
        hconn_want_write(c);
}

/* recv(): -1 with EAGAIN when nothing can be read now. With TLS the handshake runs here. A TLS
 * read that must first write (a handshake flight or key update the full socket does not take)
 * also gives EAGAIN: the peer is then not reading, and reading resumes when it sends again. */
static ssize_t hconn_recv(struct handset_conn *c, void *buf, size_t len)
{
    if (c->ssl == NULL)
        return recv(c->fd, buf, len, 0);
    int want;
    return tls_conn_read(c->ssl, buf, len, &want, hconn_peer(c));
}

/* send(): -1 with EAGAIN when the socket takes nothing now. */
static ssize_t hconn_send_bytes(struct handset_conn *c, const void *buf, size_t len)
{
    if (c->ssl == NULL)
        return send(c->fd, buf, len, MSG_NOSIGNAL);
    int want;
    ssize_t w = tls_conn_write(c->ssl, buf, len, &want, hconn_peer(c));
    hconn_tls_wait(c, want);
    return w;
}

/* evbuffer_write() of the queued output: bytes written, or -1 with errno. */
static int hconn_flush(struct handset_conn *c)
{
    if (c->ssl == NULL)
        return evbuffer_write(c->out, c->fd);
    int done = 0;
    size_t left;
    while ((left = evbuffer_get_length(c->out)) > 0) {
        /* One TLS record at most: a retry after WANT_WRITE resends at least what was tried. */
        size_t n = left < 16384 ? left : 16384;
        unsigned char *p = evbuffer_pullup(c->out, (ev_ssize_t)n);
        ssize_t w = p ? hconn_send_bytes(c, p, n) : -1;
        if (w <= 0)
            return done > 0 ? done : -1;
        evbuffer_drain(c->out, (size_t)w);
        done += (int)w;
    }
    return done;
}

/* Writes n bytes now if nothing is queued; queues what the socket does not take. */
static void hconn_write(struct handset_conn *c, const uint8_t *bytes, size_t n)
{
    size_t done = 0;
    if (c->out == NULL || evbuffer_get_length(c->out) == 0) {
        while (done < n) {
            ssize_t w = hconn_send_bytes(c, bytes + done, n - done);
            if (w > 0) {
                done += (size_t)w;
                continue;
            }
            int err = EVUTIL_SOCKET_ERROR();
            if (w < 0 && err == EINTR)
                continue;
            if (w < 0 && (err == EAGAIN || err == EWOULDBLOCK))
                break;
            hconn_peer_failed(c, err);
            return;
        }
        if (done == n)
            return;
    }
    if (c->out == NULL && (c->out = evbuffer_new()) == NULL) {
        log_error("%s: out of memory queueing %zu bytes; dropping the peer", hconn_peer(c),
                  n - done);
        hconn_peer_failed(c, ENOMEM);
        return;
    }
    if (c->ev_write == NULL && (c->ev_write = event_new(c->srv->base, c->fd, EV_WRITE | EV_PERSIST,
                                                        on_write, c)) == NULL) {
        log_error("%s: out of memory for a write event; dropping the peer", hconn_peer(c));
        hconn_peer_failed(c, ENOMEM);
        return;
    }
    c->srv->stats.output_queued++;
    if (evbuffer_add(c->out, bytes + done, n - done) != 0) {
        hconn_peer_failed(c, ENOMEM);
        return;
    }
    hconn_want_write(c);
}

/* ---- sending ---- */

static void hconn_send(struct handset_conn *c, const Lpg__V1__Envelope *env)
{
    if (c->peer_gone)
        return;
    size_t queued = c->out ? evbuffer_get_length(c->out) : 0;
    if (queued > HANDSET_MAX_OUTPUT) {
        log_warn("%s: peer is not reading (%zu bytes queued); dropping it", hconn_peer(c), queued);
        c->srv->stats.dropped_slow++;
        hconn_peer_failed(c, 0);
        return;
    }
    size_t len = lpg__v1__envelope__get_packed_size(env);
    if (c->peer_max_frame && len > c->peer_max_frame) {
        log_error("%s: a %zu-byte reply exceeds the device's frame limit of %zu; not sent",
                  hconn_peer(c), len, (size_t)c->peer_max_frame);
        return;
    }
    uint8_t header[LPG_FRAME_HEADER_SIZE];
    if (lpg_frame_put_header(header, len) != 0) {
        log_error("%s: reply of %zu bytes cannot be framed; not sent", hconn_peer(c), len);
        return;
    }
    uint8_t small[HANDSET_STACK_FRAME];
    size_t total = LPG_FRAME_HEADER_SIZE + len;
    uint8_t *buf = total <= sizeof(small) ? small : malloc(total);
    if (buf == NULL) {
        log_error("%s: out of memory packing a reply", hconn_peer(c));
        return;
    }
    memcpy(buf, header, sizeof(header));
    lpg__v1__envelope__pack(env, buf + LPG_FRAME_HEADER_SIZE);
    hconn_write(c, buf, total); /* one send for header and payload */
    if (buf != small)
        free(buf);
    c->srv->stats.frames_out++;
}

static void hconn_send_error_full(struct handset_conn *c, Lpg__V1__Error__Code code,
                                  const char *refusal, const char *message, int has_request,
                                  uint64_t request_id, int fatal)
{
    Lpg__V1__Error err = LPG__V1__ERROR__INIT;
    err.refusal = (char *)refusal;
    err.has_code = 1;
    err.code = code;
    err.message = (char *)message;
    err.has_ack_seq = has_request;
    err.ack_seq = request_id;
    err.has_fatal = 1;
    err.fatal = fatal != 0;
    Lpg__V1__Envelope env = LPG__V1__ENVELOPE__INIT;
    env.body_case = LPG__V1__ENVELOPE__BODY_ERROR;
    env.error = &err;
    hconn_send(c, &env);
    c->srv->stats.errors_sent++;
    /* Refusals at the caps come by the thousand in a flood: counted in /metrics, logged only
     * when debugging. Refused logins are logged by the authenticate hook within a rate limit:
     * a flood of bad Hellos must not write a line each here. */
    int quiet = code == LPG__V1__ERROR__CODE__TOO_MANY_CONNECTIONS ||
                code == LPG__V1__ERROR__CODE__UNAUTHORIZED;
    log_at_(quiet ? LL_DEBUG : LL_INFO, "%s%s%s: error %d%s: %s", hconn_peer(c),
            c->device_id[0] ? " device " : "", c->device_id, (int)code, fatal ? " (closing)" : "",
            message);
    if (fatal)
        hconn_close(c);
}

static void hconn_send_error(struct handset_conn *c, Lpg__V1__Error__Code code, const char *message,
                             int has_request, uint64_t request_id, int fatal)
{
    hconn_send_error_full(c, code, NULL, message, has_request, request_id, fatal);
}

static void hconn_send_ack(struct handset_conn *c, const Lpg__V1__Ack *ack_in)
{
    Lpg__V1__Ack ack = *ack_in;
    Lpg__V1__Envelope env = LPG__V1__ENVELOPE__INIT;
    env.body_case = LPG__V1__ENVELOPE__BODY_ACK;
    env.ack = &ack;
    hconn_send(c, &env);
}

/* ---- Hello ---- */

static int device_id_valid(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > HANDSET_DEVICE_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)id[i];
        if (ch <= 0x20 || ch >= 0x7f || ch == ':')
            return 0; /* printable ASCII; ':' separates key parts in the store */
    }
    return 1;
}

static void on_hello_stored(void *arg, const char *err)
{
    struct hello_wait *hw = arg;
    struct handset_conn *c = hw->c;
    struct handset_server *srv = c->srv;
    if (srv->freeing) {
        free(hw);
        return; /* handset_server_free() releases the connection */
    }
    hconn_enter(c);
    conn_ref_release(&c->life); /* the Hello's job (handset_conn_hold in hconn_handle_hello) */
    if (err) {
        char msg[200];
        snprintf(msg, sizeof(msg),
                 "the store did not record the session (%s); nothing was opened, retry later", err);
        hconn_send_error(c, LPG__V1__ERROR__CODE__UNAVAILABLE, msg, 1, hw->request_id, 0);
        c->device_id[0] = '\0';
    } else if (!c->closing) {
        c->session = HC_OPEN;
        hconn_unauth_end(c);
        srv->stats.sessions_opened++;
        Lpg__V1__Ack ack = LPG__V1__ACK__INIT;
        ack.has_ack_seq = 1;
        ack.ack_seq = hw->request_id;
        ack.session_id = hw->session_id;
        ack.has_protocol_version = 1;
        ack.protocol_version = HANDSET_PROTOCOL_VERSION;
        ack.has_max_frame = 1;
        ack.max_frame = (uint32_t)srv->opt.max_frame;
        hconn_send_ack(c, &ack);
        log_info("%s: session %s opened for device %s%s%s", hconn_peer(c), hw->session_id,
                 c->device_id, c->staff_id[0] ? " of " : "", c->staff_id);
        /* One session per device: an older connection of the same device is closed. */
        for (struct handset_conn *o = srv->conns; o; o = o->next)
            if (o != c && o->session == HC_OPEN && !o->closing &&
                strcmp(o->device_id, c->device_id) == 0)
                hconn_send_error(o, LPG__V1__ERROR__CODE__REFUSED,
                                 "this device logged in on another connection", 0, 0, 1);
        if (srv->opt.hooks && srv->opt.hooks->session_opened)
            srv->opt.hooks->session_opened(srv->opt.hooks_ctx, c);
    }
    free(hw);
    hconn_resume(c); /* frames that arrived while we waited */
    hconn_leave(c);
}

static void hconn_handle_hello(struct handset_conn *c, const Lpg__V1__Envelope *env)
{
    const Lpg__V1__Hello *h = env->hello;
    int has_req = env->has_request_id;
    uint64_t req = env->request_id;
    if (c->session == HC_OPEN) {
        hconn_send_error(c, LPG__V1__ERROR__CODE__INVALID_ARGUMENT,
                         "session already open on this connection", has_req, req, 0);
        return;
    }
    if (!h->has_protocol_version || h->protocol_version != HANDSET_PROTOCOL_VERSION) {
        char msg[96];
        snprintf(msg, sizeof(msg), "protocol version %u is not supported; this server speaks %d",
                 h->has_protocol_version ? h->protocol_version : 0u, HANDSET_PROTOCOL_VERSION);
        hconn_send_error(c, LPG__V1__ERROR__CODE__UNSUPPORTED_VERSION, msg, has_req, req, 1);
        return;
    }
    if (h->device_id == NULL || !device_id_valid(h->device_id)) {
        hconn_send_error(c, LPG__V1__ERROR__CODE__INVALID_ARGUMENT,
                         "device_id must be 1..64 printable ASCII characters without ':' or "
                         "spaces",
                         has_req, req, 1);
        return;
    }
    if (h->has_max_frame && h->max_frame < HANDSET_DEVICE_MIN_FRAME) {
        char msg[96];
        snprintf(msg, sizeof(msg), "max_frame must be at least %d bytes", HANDSET_DEVICE_MIN_FRAME);
        hconn_send_error(c, LPG__V1__ERROR__CODE__INVALID_ARGUMENT, msg, has_req, req, 1);
        return;
    }
    c->peer_max_frame = h->has_max_frame ? h->max_frame : 0;
    if (h->has_credential && h->credential.len > HANDSET_CREDENTIAL_MAX) {
        hconn_send_error(c, LPG__V1__ERROR__CODE__INVALID_ARGUMENT,
                         "credential longer than 256 bytes", has_req, req, 1);
        return;
    }

    const struct handset_hooks *hooks = c->srv->opt.hooks;
    c->staff_id[0] = '\0';
    if (hooks && hooks->authenticate) {
        char why[160] = "unknown device or wrong credential";
        char addr[INET6_ADDRSTRLEN] = "?";
        if (c->peer_family == AF_INET || c->peer_family == AF_INET6)
            evutil_inet_ntop(c->peer_family, c->peer_addr, addr, sizeof(addr));
        int verdict = hooks->authenticate(c->srv->opt.hooks_ctx, h->device_id, addr,
                                          h->has_credential ? h->credential.data : NULL,
                                          h->has_credential ? h->credential.len : 0, c->staff_id,
                                          sizeof(c->staff_id), why, sizeof(why));
        if (verdict == -2) {
            hconn_send_error(c, LPG__V1__ERROR__CODE__UNAVAILABLE, why, has_req, req, 0);
            c->staff_id[0] = '\0';
            return;
        }
        if (verdict != 0) {
            hconn_send_error(c, LPG__V1__ERROR__CODE__UNAUTHORIZED, why, has_req, req, 1);
            return;
        }
    }

    unsigned char rnd[16];
    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        hconn_send_error(c, LPG__V1__ERROR__CODE__UNAVAILABLE,
                         "could not create a session id; retry later", has_req, req, 0);
        return;
    }
    struct hello_wait *hw = calloc(1, sizeof(*hw));
    if (hw == NULL) {
        hconn_send_error(c, LPG__V1__ERROR__CODE__UNAVAILABLE, "out of memory; retry later",
                         has_req, req, 0);
        return;
    }
    hw->c = c;
    hw->request_id = req;
    for (size_t i = 0; i < sizeof(rnd); i++)
        snprintf(hw->session_id + 2 * i, 3, "%02x", rnd[i]);
    snprintf(c->device_id, sizeof(c->device_id), "%s", h->device_id);

    /* Record the session before acknowledging: an Ack means it is stored. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct device_session ds = {
        .device_id = c->device_id,
        .session_id = hw->session_id,
        .peer = hconn_peer(c),
        .opened_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
        .protocol = HANDSET_PROTOCOL_VERSION,
        .software = h->software,
    };
    const char *why;
    if (device_session_record(c->srv->store, &ds, on_hello_stored, hw, &why) != 0) {
        char msg[160];
        snprintf(msg, sizeof(msg), "%s; the session was not opened, retry later", why);
        hconn_send_error(c, LPG__V1__ERROR__CODE__UNAVAILABLE, msg, has_req, req, 0);
        c->device_id[0] = '\0';
        free(hw);
        return;
    }
    handset_conn_hold(c); /* one request at a time: replies stay in order */
}

/* ---- frames ---- */

static void hconn_handle_frame(struct handset_conn *c, const uint8_t *payload, size_t len)
{
    Lpg__V1__Envelope *env = lpg__v1__envelope__unpack(NULL, len, payload);
    if (env == NULL) {
        c->srv->stats.rejected_malformed++;
        hconn_send_error(c, LPG__V1__ERROR__CODE__MALFORMED,
                         "frame payload is not a valid lpg.v1.Envelope", 0, 0, 1);
        return;
    }
    int has_req = env->has_request_id;
    uint64_t req = env->request_id;
    switch (env->body_case) {
    case LPG__V1__ENVELOPE__BODY_HELLO:
        hconn_handle_hello(c, env);
        break;
    case LPG__V1__ENVELOPE__BODY__NOT_SET:
        hconn_send_error(c, LPG__V1__ERROR__CODE__INVALID_ARGUMENT, "envelope has no body", has_req,
                         req, 0);
        break;
    default:
        if (c->session != HC_OPEN) {
            hconn_send_error(c, LPG__V1__ERROR__CODE__NOT_LOGGED_IN,
                             "the first message on a connection must be Hello", has_req, req, 1);
        } else if (env->body_case == LPG__V1__ENVELOPE__BODY_PING) {
            Lpg__V1__Ack ack = LPG__V1__ACK__INIT;
            ack.has_ack_seq = has_req;
            ack.ack_seq = req;
            hconn_send_ack(c, &ack);
        } else if (env->body_case == LPG__V1__ENVELOPE__BODY_ACK ||
                   env->body_case == LPG__V1__ENVELOPE__BODY_ERROR ||
                   env->body_case == LPG__V1__ENVELOPE__BODY_ORDER_ASSIGNED ||
                   env->body_case == LPG__V1__ENVELOPE__BODY_ALERT ||
                   env->body_case == LPG__V1__ENVELOPE__BODY_LOAD_RECONCILIATION) {
            hconn_send_error(c, LPG__V1__ERROR__CODE__UNEXPECTED_MESSAGE,
                             "this message is sent by the server, never to it", has_req, req, 0);
        } else if (c->srv->opt.hooks == NULL || c->srv->opt.hooks->message == NULL ||
                   c->srv->opt.hooks->message(c->srv->opt.hooks_ctx, c, env) != 0) {
            char msg[96];
            snprintf(msg, sizeof(msg), "message %d is not handled by this server version yet",
                     (int)env->body_case);
            hconn_send_error(c, LPG__V1__ERROR__CODE__UNSUPPORTED_MESSAGE, msg, has_req, req, 0);
        }
        break;
    }
    lpg__v1__envelope__free_unpacked(env, NULL);
}

/* EOF (or a failed read): a frame cut short is reported, then the connection closes. */
static void hconn_peer_closed(struct handset_conn *c)
{
    if (!c->closing && lpg_frame_in_progress(c->dec) > 0 && lpg_frame_finish(c->dec) < 0) {
        c->srv->stats.rejected_truncated++;
        log_info("%s: %s", hconn_peer(c), lpg_frame_errstr(c->dec));
    }
    c->peer_gone = 1;
    hconn_close(c);
}

/* Handles the frames that are complete, reading as needed. The caller holds c (a callback's
 * reference). */
static void hconn_process_input(struct handset_conn *c)
{
    int frames = 0;
    unsigned was_in_input = c->in_input;
    c->in_input = 1;
    while (!c->closing && c->life.jobs == 0) {
        const uint8_t *payload;
        size_t len;
        int rc = lpg_frame_next(c->dec, &payload, &len);
        if (rc == LPG_FRAME_READY) {
            c->srv->stats.frames_in++;
            hconn_handle_frame(c, payload, len);
            /* The envelope was decoded and handled (ingest turns a batch into commands before
             * returning): a connection waiting between frames keeps no payload buffer. */
            lpg_frame_release(c->dec);
            if (++frames == HANDSET_FRAMES_PER_READ) {
                /* more waits in the socket: the read event fires again (not for what TLS
                 * has already decrypted: run it again for that) */
                if (c->ssl != NULL && SSL_pending(c->ssl) > 0)
                    event_active(c->ev_read, EV_READ, 1);
                break;
            }
            continue;
        }
        if (rc < 0) {
            /* Framing errors are fatal: after a bad length we cannot find the next frame. */
            if (rc == LPG_FRAME_ERR_OVERSIZE) {
                c->srv->stats.rejected_oversize++;
                hconn_send_error(c, LPG__V1__ERROR__CODE__FRAME_TOO_LARGE, lpg_frame_errstr(c->dec),
                                 0, 0, 1);
            } else {
                c->srv->stats.rejected_malformed++;
                hconn_send_error(c, LPG__V1__ERROR__CODE__MALFORMED, lpg_frame_errstr(c->dec), 0, 0,
                                 1);
            }
            break;
        }
        /* Read what completes the current part of the frame and nothing of the next one. */
        uint8_t buf[16384];
        size_t want = lpg_frame_wanted(c->dec);
        ssize_t r = hconn_recv(c, buf, want < sizeof(buf) ? want : sizeof(buf));
        if (r > 0) {
            lpg_frame_feed(c->dec, buf, (size_t)r); /* takes all: r <= wanted */
            continue;
        }
        int err = r < 0 ? EVUTIL_SOCKET_ERROR() : 0;
        if (r < 0 && err == EINTR)
            continue;
        if (r < 0 && (err == EAGAIN || err == EWOULDBLOCK))
            break;
        if (r < 0)
            log_debug("%s: %s", hconn_peer(c), evutil_socket_error_to_string(err));
        hconn_peer_closed(c);
        break;
    }
    c->in_input = was_in_input;
}

/* No job in flight any more: read again and handle the frames that waited -- unless a frame
 * loop of this connection is on the stack (a job ended inside the handling of its frame): that
 * loop goes on by itself, and handling frames here would pull the decoder from under it. The
 * caller holds c. */
static void hconn_resume(struct handset_conn *c)
{
    if (c->life.jobs > 0 || c->closing || c->srv->shutting_down || c->srv->freeing)
        return;
    hconn_reading(c, 1);
    if (!c->in_input)
        hconn_process_input(c);
}

/* ---- socket callbacks ---- */

static void on_read(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    struct handset_conn *c = arg;
    hconn_enter(c);
    /* Before the session, the timeout was set to the nearer of the idle timeout and the Hello
     * deadline (it may fire a little early, by the loop's clock). */
    if (what & EV_TIMEOUT && c->session != HC_OPEN &&
        c->hello_deadline_ms - mono_ms() < (int64_t)c->srv->opt.idle_timeout_s * 1000) {
        c->srv->stats.hello_timeouts++;
        char msg[80];
        snprintf(msg, sizeof(msg), "no Hello acknowledged within %d s of connecting; closing",
                 c->srv->opt.hello_timeout_s);
        hconn_send_error(c, LPG__V1__ERROR__CODE__IDLE_TIMEOUT, msg, 0, 0, 1);
    } else if (what & EV_TIMEOUT) {
        /* The read event is only added while reading, so this is a silent peer. */
        c->srv->stats.idle_timeouts++;
        char msg[80];
        snprintf(msg, sizeof(msg), "no data for %d s; closing idle connection",
                 c->srv->opt.idle_timeout_s);
        hconn_send_error(c, LPG__V1__ERROR__CODE__IDLE_TIMEOUT, msg, 0, 0, 1);
    } else {
        hconn_process_input(c);
        /* A persistent event restarts its timeout on every read: keep the Hello deadline. */
        if (c->session != HC_OPEN && !c->closing && c->life.jobs == 0)
            hconn_reading(c, 1);
    }
    hconn_leave(c);
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    struct handset_conn *c = arg;
    hconn_enter(c);
    if (what & EV_TIMEOUT) {
        log_info("%s: peer did not take its last frames within %d s; dropping it", hconn_peer(c),
                 HANDSET_FLUSH_TIMEOUT_S);
        hconn_peer_failed(c, 0);
    } else if (c->out != NULL && hconn_flush(c) < 0) {
        int err = EVUTIL_SOCKET_ERROR();
        if (err != EINTR && err != EAGAIN && err != EWOULDBLOCK)
            hconn_peer_failed(c, err);
    }
    if (c->out != NULL && evbuffer_get_length(c->out) == 0) {
        /* Flushed: back to holding nothing for output. */
        evbuffer_free(c->out);
        c->out = NULL;
    }
    if (c->out == NULL)
        event_del(c->ev_write);
    hconn_leave(c); /* output drained: a closing connection may go now */
}

/* ---- listener ---- */

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
                      void *arg)
{
    (void)l;
    (void)salen;
    struct handset_server *srv = arg;
    if (srv->nconns >= (size_t)srv->opt.max_connections + HANDSET_REFUSAL_SLACK) {
        srv->stats.refused_cap++;
        evutil_closesocket(fd);
        return;
    }
    struct handset_conn *c = calloc(1, sizeof(*c) + event_get_struct_event_size());
    if (c == NULL) {
        evutil_closesocket(fd);
        return;
    }
    c->srv = srv;
    c->fd = fd;
    /* Every read and write here must return at once (EAGAIN), never block the loop. */
    evutil_make_socket_nonblocking(fd);
    c->dec = lpg_frame_decoder_new(srv->opt.max_frame);
    /* sizeof(*c) is a multiple of the struct's (pointer) alignment, as is struct event's. */
    struct event *ev = (struct event *)(void *)(c + 1);
    if (c->dec != NULL && event_assign(ev, srv->base, fd, EV_READ | EV_PERSIST, on_read, c) == 0)
        c->ev_read = ev;
    if (c->dec != NULL && c->ev_read != NULL && srv->tls != NULL &&
        (c->ssl = tls_conn_new(srv->tls, fd)) == NULL)
        c->ev_read = NULL;
    if (c->dec == NULL || c->ev_read == NULL) {
        evutil_closesocket(fd);
        lpg_frame_decoder_free(c->dec);
        free(c);
        log_error("out of memory accepting a handset connection");
        return;
    }
    if (sa->sa_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)sa;
        memcpy(c->peer_addr, &in->sin_addr, sizeof(in->sin_addr));
        c->peer_port = ntohs(in->sin_port);
        c->peer_family = AF_INET;
    } else if (sa->sa_family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;
        memcpy(c->peer_addr, &in6->sin6_addr, sizeof(in6->sin6_addr));
        c->peer_port = ntohs(in6->sin6_port);
        c->peer_family = AF_INET6;
    }

    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->nconns++;

    /* What one peer can make us buffer: one frame (the decoder's limit); the rest stays in
     * the kernel. Anonymous connections are capped in all and per address, so that a flood
     * of idle connections cannot take the slots real devices need to log in. */
    struct addr_count **slot = addr_slot(srv, c->peer_family, c->peer_addr);
    const char *refusal = NULL;
    if (srv->shutting_down) {
        refusal = "server is shutting down; reconnect later";
    } else if (srv->nconns > (size_t)srv->opt.max_connections) {
        srv->stats.refused_cap++;
        refusal = "connection limit reached; retry later";
    } else if (srv->n_unauth >= (size_t)srv->max_unauth) {
        srv->stats.refused_unauth++;
        refusal = "too many connections without a session; retry later";
    } else if (*slot && (*slot)->n >= (uint32_t)srv->opt.max_unauthenticated_per_address) {
        srv->stats.refused_address++;
        refusal = "too many connections without a session from this address; retry later";
    }
    if (refusal == NULL && *slot == NULL) {
        if ((*slot = calloc(1, sizeof(**slot))) == NULL) {
            refusal = "out of memory; retry later";
        } else {
            (*slot)->family = c->peer_family;
            memcpy((*slot)->addr, c->peer_addr, sizeof(c->peer_addr));
        }
    }
    if (refusal) {
        hconn_enter(c);
        hconn_send_error(c,
                         srv->shutting_down ? LPG__V1__ERROR__CODE__SHUTTING_DOWN
                                            : LPG__V1__ERROR__CODE__TOO_MANY_CONNECTIONS,
                         refusal, 0, 0, 1);
        hconn_leave(c);
        return;
    }
    c->unauth = *slot;
    c->unauth->n++;
    srv->n_unauth++;
    c->hello_deadline_ms = mono_ms() + (int64_t)srv->opt.hello_timeout_s * 1000;
    srv->stats.accepted++;
    hconn_reading(c, 1);
    log_debug("connection from %s (%zu open)", hconn_peer(c), srv->nconns);
}

static void on_accept_error(struct evconnlistener *l, void *arg)
{
    (void)l;
    (void)arg;
    int err = EVUTIL_SOCKET_ERROR();
    /* EMFILE/ENFILE: out of descriptors. libevent retries on the next readiness; say it. */
    log_error("accepting a handset connection failed: %s", evutil_socket_error_to_string(err));
}

struct handset_server *handset_server_new(struct event_base *base,
                                          const struct handset_server_options *opt,
                                          struct store *store, char *errbuf, size_t errlen)
{
    struct handset_server *srv = calloc(1, sizeof(*srv));
    if (srv == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    srv->base = base;
    srv->store = store;
    srv->opt = *opt;
    if (opt->bind == NULL)
        return srv; /* no listener: connections come from handset_server_adopt() */
    srv->bind = strdup(opt->bind);
    srv->opt.bind = srv->bind;
    /* 0 (unset) means: no deadline beyond the idle timeout, no cap beyond the connection cap's
     * half. */
    if (srv->opt.hello_timeout_s <= 0)
        srv->opt.hello_timeout_s = opt->idle_timeout_s;
    int half = opt->max_connections / 2 > 0 ? opt->max_connections / 2 : 1;
    srv->max_unauth = opt->max_unauthenticated > 0 && opt->max_unauthenticated < half
                          ? opt->max_unauthenticated
                          : half;
    if (srv->opt.max_unauthenticated_per_address <= 0)
        srv->opt.max_unauthenticated_per_address = srv->max_unauth;
    if (RAND_bytes((unsigned char *)&srv->addr_seed, sizeof(srv->addr_seed)) != 1)
        srv->addr_seed = (uint32_t)time(NULL);

    struct sockaddr_storage ss;
    int sslen = (int)sizeof(ss);
    char spec[300];
    snprintf(spec, sizeof(spec), strchr(opt->bind, ':') ? "[%s]:%d" : "%s:%d", opt->bind,
             opt->port);
    if (srv->bind == NULL ||
        evutil_parse_sockaddr_port(spec, (struct sockaddr *)&ss, &sslen) != 0) {
        snprintf(errbuf, errlen, "handset_bind: '%s' is not an IP address", opt->bind);
        handset_server_free(srv);
        return NULL;
    }
    if (opt->tls_cert != NULL && opt->tls_cert[0] != '\0' &&
        (srv->tls = tls_server_ctx_new(opt->tls_cert, opt->tls_key, errbuf, errlen)) == NULL) {
        handset_server_free(srv);
        return NULL;
    }
    srv->listener = evconnlistener_new_bind(
        base, on_accept, srv, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
        512, (struct sockaddr *)&ss, sslen);
    if (srv->listener == NULL) {
        snprintf(errbuf, errlen, "cannot listen for handsets on %s: %s", spec,
                 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        handset_server_free(srv);
        return NULL;
    }
    evconnlistener_set_error_cb(srv->listener, on_accept_error);
    log_info("handset protocol listening on %s%s (max %d connections, idle timeout %d s, max "
             "frame %zu bytes)",
             spec, srv->tls ? " with TLS" : "", opt->max_connections, opt->idle_timeout_s,
             opt->max_frame);
    return srv;
}

void handset_server_adopt(struct handset_server *srv, int fd)
{
    /* The same path as a real accept, so that what the fuzzer reaches is what a peer reaches. */
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    memset(&ss, 0, sizeof(ss));
    if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
        ss.ss_family = AF_UNSPEC;
    on_accept(srv->listener, fd, (struct sockaddr *)&ss, (int)sizeof(ss), srv);
}

void handset_server_shutdown(struct handset_server *srv)
{
    if (srv->shutting_down)
        return;
    srv->shutting_down = 1;
    if (srv->listener) {
        evconnlistener_free(srv->listener);
        srv->listener = NULL;
    }
    struct handset_conn *c = srv->conns;
    while (c) {
        struct handset_conn *next = c->next;
        hconn_enter(c);
        if (!c->closing)
            hconn_send_error(c, LPG__V1__ERROR__CODE__SHUTTING_DOWN,
                             "server is shutting down; reconnect later", 0, 0, 1);
        hconn_leave(c);
        c = next;
    }
}

/* ---- the connection API of the hooks ---- */

const char *handset_conn_device(const struct handset_conn *c)
{
    return c->device_id;
}

const char *handset_conn_staff(const struct handset_conn *c)
{
    return c->staff_id;
}

void handset_conn_send(struct handset_conn *c, const struct Lpg__V1__Envelope *env)
{
    hconn_send(c, env);
}

void handset_conn_ack(struct handset_conn *c, int has_request, uint64_t request_id)
{
    Lpg__V1__Ack ack = LPG__V1__ACK__INIT;
    ack.has_ack_seq = has_request;
    ack.ack_seq = request_id;
    hconn_send_ack(c, &ack);
}

void handset_conn_error(struct handset_conn *c, int code, const char *message, int has_request,
                        uint64_t request_id, int fatal)
{
    hconn_send_error(c, (Lpg__V1__Error__Code)code, message, has_request, request_id, fatal);
}

void handset_conn_store_failed(struct handset_conn *c, const char *err, int has_request,
                               uint64_t request_id)
{
    char msg[200];
    snprintf(msg, sizeof(msg), "%s; %s", err ? err : "the store refused the change",
             store_err_outcome_unknown(err) ? "it may or may not have been recorded"
                                            : "nothing was recorded, retry later");
    hconn_send_error(c, LPG__V1__ERROR__CODE__UNAVAILABLE, msg, has_request, request_id, 0);
}

void handset_conn_refuse(struct handset_conn *c, const char *refusal, const char *message,
                         int has_request, uint64_t request_id)
{
    hconn_send_error_full(c, LPG__V1__ERROR__CODE__REFUSED, refusal, message, has_request,
                          request_id, 0);
}

void handset_conn_hold(struct handset_conn *c)
{
    conn_ref_hold(&c->life);
    hconn_reading(c, 0);
}

void handset_conn_release(struct handset_conn *c)
{
    hconn_enter(c); /* c outlives what follows, whoever called */
    conn_ref_release(&c->life);
    hconn_resume(c);
    hconn_leave(c);
}

void handset_conn_set_data(struct handset_conn *c, void *data, void (*free_fn)(void *))
{
    if (c->data_free && c->data != data)
        c->data_free(c->data);
    c->data = data;
    c->data_free = free_fn;
}

void *handset_conn_data(const struct handset_conn *c)
{
    return c->data;
}

struct handset_conn *handset_server_find_device(struct handset_server *srv, const char *device_id)
{
    for (struct handset_conn *c = srv->conns; c; c = c->next)
        if (c->session == HC_OPEN && !c->closing && strcmp(c->device_id, device_id) == 0)
            return c;
    return NULL;
}

/* EV_SESSION_REVOKED: the device's session ends, as the use case says why. */
static void on_session_revoked(void *arg, const struct service_event *ev)
{
    struct handset_conn *c = handset_server_find_device(arg, ev->device_id);
    /* Only a session of this very person: a handset never answers for someone else. */
    if (c && (ev->staff_id == NULL || strcmp(handset_conn_staff(c), ev->staff_id) == 0))
        handset_conn_error(c, LPG__V1__ERROR__CODE__UNAUTHORIZED, ev->reason, 0, 0, 1);
}

int handset_server_subscribe(struct handset_server *hs, struct event_bus *bus)
{
    return event_bus_subscribe(bus, EV_SESSION_REVOKED, on_session_revoked, hs);
}

struct handset_conn *handset_server_find_staff(struct handset_server *srv, const char *staff_id)
{
    for (struct handset_conn *c = srv->conns; c; c = c->next)
        if (c->session == HC_OPEN && !c->closing && c->staff_id[0] &&
            strcmp(c->staff_id, staff_id) == 0)
            return c;
    return NULL;
}

size_t handset_server_connections(const struct handset_server *srv)
{
    return srv->nconns;
}

size_t handset_server_unauthenticated(const struct handset_server *srv)
{
    return srv->n_unauth;
}

const struct handset_stats *handset_server_stats(const struct handset_server *srv)
{
    return &srv->stats;
}

void handset_server_free(struct handset_server *srv)
{
    if (srv == NULL)
        return;
    srv->freeing = 1;
    if (srv->listener)
        evconnlistener_free(srv->listener);
    while (srv->conns)
        hconn_destroy(srv->conns);
    tls_ctx_free(srv->tls);
    free(srv->bind);
    free(srv);
}
