/* stream_server.c -- TCP connections of devices under the house rules (stream_server.h).
 *
 * Transport: a plain non-blocking socket and one libevent read event per connection, not a
 * bufferevent. Thousands of connections sit idle between frames, so what one holds is memory
 * per tracked vehicle (tests/bench/README.md): a bufferevent with its two evbuffers costs ~900
 * bytes per connection, always. Here the protocol reads from the socket only what it can
 * handle, so the kernel's socket buffer is the input buffer and a connection that waits for
 * the store simply stops reading (the peer is then flow-controlled by TCP). Writes go out at
 * once; only what the socket does not take is queued, in an evbuffer created for it and freed
 * once it is flushed.
 *
 * Lifetime of a connection: the rule of conn_ref.h. Created on accept and listed in the server;
 * every callback of its own holds a reference while it runs (conn_enter / conn_leave) and
 * every job for it holds one until it ends (stream_conn_hold / stream_conn_release). Freed only
 * by conn_leave() dropping the last reference once it is closing and its output is flushed (or
 * the peer is gone). A job that ends inside the handling of input therefore cannot free the
 * connection under the protocol, and a release never runs the protocol's input inside an input
 * of the same connection (in_input).
 */
#define LOG_TAG "stream"
#include "common/stream_server.h"

#include "common/conn_ref.h"
#include "common/log.h"
#include "common/tls.h"

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

/* How long a closing connection may take to flush its last bytes. */
#define STREAM_FLUSH_TIMEOUT_S 5
/* Connections accepted beyond the cap only to be told so; past this many, close silently. */
#define STREAM_REFUSAL_SLACK 64
/* Buckets of the table of source addresses with anonymous connections (power of two). */
#define STREAM_ADDR_BUCKETS       4096u
#define STREAM_DEFAULT_MAX_OUTPUT (1024u * 1024u)

/* Anonymous connections from one source address. */
struct addr_count {
    struct addr_count *next;
    uint8_t family;
    uint8_t addr[16];
    uint32_t n;
};

struct stream_conn {
    struct stream_server *srv;
    struct stream_conn *prev, *next;
    struct stream_conn *key_next; /* chain of the key index */
    const char *key;              /* in the protocol's state; NULL when not indexed */
    evutil_socket_t fd;           /* owned: closed with the connection */
    /* Persistent, with the idle timeout; added while reading. Lives in the same allocation. */
    struct event *ev_read;
    struct event *ev_write; /* created when output is first queued; NULL before */
    struct evbuffer *out;   /* what the socket did not take yet; NULL when none */
    SSL *ssl;               /* TLS state when the listener has TLS; NULL for plain TCP */
    /* Until the session opens: counted in its address's entry (NULL after), and the monotonic
     * time by which it must open. */
    struct addr_count *unauth;
    int64_t login_deadline_ms;
    void *state; /* the protocol's, in the same allocation */
    /* The peer's address, kept compact and formatted for logs only (stream_conn_peer). */
    uint8_t peer_addr[16]; /* in_addr or in6_addr */
    uint16_t peer_port;
    uint8_t peer_family;    /* AF_INET, AF_INET6, or 0 when unknown */
    unsigned session : 1;   /* stream_conn_session_open() was called */
    unsigned closing : 1;   /* no more input is handled; freed once flushed and idle */
    unsigned peer_gone : 1; /* EOF or error: nothing more can be written */
    unsigned in_input : 1;  /* the protocol's input() is on the stack */
    unsigned ended : 1;     /* the protocol's end() was called */
    struct conn_ref life;   /* running callbacks and jobs in flight (conn_ref.h) */
};

struct stream_server {
    struct event_base *base;
    struct evconnlistener *listener;
    SSL_CTX *tls; /* NULL: plain TCP */
    struct stream_server_options opt;
    struct stream_protocol proto;
    void *proto_ctx;
    char *bind, *name;
    struct stream_conn *conns;
    size_t nconns;
    size_t n_unauth;    /* connections without a session */
    int max_unauth;     /* opt.max_unauthenticated, at most half of max_connections */
    uint32_t addr_seed; /* random: which addresses share a bucket is not predictable */
    struct addr_count *addrs[STREAM_ADDR_BUCKETS];
    struct stream_conn **keys; /* the key index: chained, keys_mask + 1 buckets */
    size_t keys_mask;
    size_t state_offset; /* of the protocol's state in a connection's allocation */
    int shutting_down;
    int freeing;
    struct stream_stats stats;
};

static void conn_resume(struct stream_conn *c);
static void on_write(evutil_socket_t fd, short what, void *arg);

const char *stream_conn_peer(const struct stream_conn *c)
{
    static char buf[INET6_ADDRSTRLEN + 8];
    char addr[INET6_ADDRSTRLEN];
    stream_conn_peer_address(c, addr, sizeof(addr));
    snprintf(buf, sizeof(buf), "%s:%u", addr, (unsigned)c->peer_port);
    return buf;
}

void stream_conn_peer_address(const struct stream_conn *c, char *buf, size_t cap)
{
    snprintf(buf, cap, "?");
    if (c->peer_family == AF_INET || c->peer_family == AF_INET6)
        evutil_inet_ntop(c->peer_family, c->peer_addr, buf, cap);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- anonymous connections, per source address ---- */

static struct addr_count **addr_slot(struct stream_server *srv, uint8_t family,
                                     const uint8_t addr[16])
{
    uint32_t h = srv->addr_seed ^ family;
    for (int i = 0; i < 16; i++)
        h = (h ^ addr[i]) * 16777619u; /* FNV-1a */
    struct addr_count **pp = &srv->addrs[h & (STREAM_ADDR_BUCKETS - 1)];
    while (*pp && ((*pp)->family != family || memcmp((*pp)->addr, addr, 16) != 0))
        pp = &(*pp)->next;
    return pp; /* the entry, or the NULL link where it would go */
}

/* The connection got its session (or goes away): no longer counted as anonymous. */
static void conn_unauth_end(struct stream_conn *c)
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

/* ---- the key index ---- */

static size_t key_bucket(const struct stream_server *srv, const char *key)
{
    uint32_t h = srv->addr_seed;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 16777619u; /* FNV-1a, seeded: bucket sharing is not predictable */
    return h & srv->keys_mask;
}

static void key_unlink(struct stream_conn *c)
{
    if (c->key == NULL)
        return;
    struct stream_conn **pp = &c->srv->keys[key_bucket(c->srv, c->key)];
    while (*pp && *pp != c)
        pp = &(*pp)->key_next;
    if (*pp)
        *pp = c->key_next;
    c->key = NULL;
    c->key_next = NULL;
}

static struct stream_conn **key_slot(const struct stream_server *srv, const char *key)
{
    struct stream_conn **pp = &srv->keys[key_bucket(srv, key)];
    while (*pp && strcmp((*pp)->key, key) != 0)
        pp = &(*pp)->key_next;
    return pp;
}

struct stream_conn *stream_conn_set_key(struct stream_conn *c, const char *key)
{
    key_unlink(c);
    if (key == NULL || c->srv->keys == NULL)
        return NULL;
    struct stream_conn **pp = key_slot(c->srv, key);
    struct stream_conn *old = *pp;
    if (old) {
        *pp = old->key_next; /* the older connection leaves the index: one per key */
        old->key = NULL;
        old->key_next = NULL;
    }
    c->key = key;
    c->key_next = c->srv->keys[key_bucket(c->srv, key)];
    c->srv->keys[key_bucket(c->srv, key)] = c;
    return old;
}

struct stream_conn *stream_server_find(const struct stream_server *srv, const char *key)
{
    if (srv->keys == NULL || key == NULL)
        return NULL;
    struct stream_conn *c = *key_slot(srv, key);
    return c && !c->closing ? c : NULL;
}

/* ---- connection list and lifetime ---- */

static void conn_unlink(struct stream_conn *c)
{
    struct stream_server *srv = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    srv->nconns--;
}

static void conn_destroy(struct stream_conn *c)
{
    struct stream_server *srv = c->srv;
    if (srv->proto.destroy)
        srv->proto.destroy(srv->proto_ctx, c);
    key_unlink(c);
    conn_unlink(c);
    conn_unauth_end(c);
    srv->stats.closed++;
    if (c->ev_read)
        event_del(c->ev_read); /* its memory goes with c */
    if (c->ev_write)
        event_free(c->ev_write);
    if (c->out)
        evbuffer_free(c->out);
    tls_conn_free(c->ssl);
    if (c->fd >= 0)
        evutil_closesocket(c->fd);
    free(c);
}

/* Frees the connection if nothing keeps it alive. Called only by conn_leave() once the last
 * reference is gone. */
static void conn_maybe_free(struct stream_conn *c)
{
    if (!c->closing || c->life.refs > 0)
        return;
    if (!c->peer_gone && c->out != NULL && evbuffer_get_length(c->out) > 0)
        return; /* the write callback comes back once the output is flushed */
    log_debug("%s connection %s closed", c->srv->name, stream_conn_peer(c));
    conn_destroy(c);
}

static void conn_enter(struct stream_conn *c)
{
    conn_ref_enter(&c->life);
}

/* Drops a reference; c may be freed here: do not use it afterwards. */
static void conn_leave(struct stream_conn *c)
{
    if (conn_ref_leave(&c->life) && !c->srv->freeing)
        conn_maybe_free(c);
}

/* Reading on (with the idle timeout, restarted) or off (waiting for a job, closing). */
static void conn_reading(struct stream_conn *c, int on)
{
    if (on && !c->closing) {
        struct timeval idle = {c->srv->opt.idle_timeout_s, 0};
        if (!c->session) {
            /* Whatever it sends, an anonymous connection is closed at its login deadline. */
            int64_t left = c->login_deadline_ms - mono_ms();
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
static void conn_want_write(struct stream_conn *c)
{
    struct timeval flush = {STREAM_FLUSH_TIMEOUT_S, 0};
    event_add(c->ev_write, c->closing ? &flush : NULL);
}

void stream_conn_close(struct stream_conn *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    conn_reading(c, 0);
    if (c->out != NULL && evbuffer_get_length(c->out) > 0) {
        conn_want_write(c); /* now with the flush timeout */
        return;
    }
    /* Nothing queued, so no write callback would come: run it once from the loop, where
     * conn_leave() may free the connection (closing may come from outside any of its
     * callbacks, e.g. an HTTP request that took a device off its vehicle). */
    if (c->ev_write == NULL)
        c->ev_write = event_new(c->srv->base, c->fd, EV_WRITE | EV_PERSIST, on_write, c);
    if (c->ev_write != NULL)
        event_active(c->ev_write, EV_WRITE, 1);
}

/* The peer's socket failed or was reset: nothing more can be written. */
static void conn_peer_failed(struct stream_conn *c, int err)
{
    if (!c->peer_gone && err != 0)
        log_debug("%s: %s", stream_conn_peer(c), evutil_socket_error_to_string(err));
    c->peer_gone = 1;
    if (c->out)
        evbuffer_drain(c->out, evbuffer_get_length(c->out));
    if (c->ev_write)
        event_del(c->ev_write);
    stream_conn_close(c);
}

/* The server ends the connection: the protocol's last words, then close. */
static void conn_end(struct stream_conn *c, enum stream_end why, const char *message)
{
    if (!c->ended && c->srv->proto.end) {
        c->ended = 1;
        c->srv->proto.end(c->srv->proto_ctx, c, why, message);
    }
    stream_conn_close(c);
}

/* ---- plain or TLS I/O on the socket: the only places that read or write it ---- */

/* While a TLS write waits for the peer's handshake, the write event waits for the socket to
 * be readable; otherwise for it to be writable. */
static void conn_tls_wait(struct stream_conn *c, int want)
{
    short what = want == TLS_WANT_READ ? EV_READ : EV_WRITE;
    if (c->ev_write == NULL || (event_get_events(c->ev_write) & (EV_READ | EV_WRITE)) == what)
        return;
    int pending = event_pending(c->ev_write, EV_READ | EV_WRITE | EV_TIMEOUT, NULL);
    event_del(c->ev_write);
    event_assign(c->ev_write, c->srv->base, c->fd, what | EV_PERSIST, on_write, c);
    if (pending)
        conn_want_write(c);
}

/* recv(): -1 with EAGAIN when nothing can be read now. With TLS the handshake runs here. A TLS
 * read that must first write (a handshake flight or key update the full socket does not take)
 * also gives EAGAIN: the peer is then not reading, and reading resumes when it sends again. */
static ssize_t conn_recv_raw(struct stream_conn *c, void *buf, size_t len)
{
    if (c->ssl == NULL)
        return recv(c->fd, buf, len, 0);
    int want;
    return tls_conn_read(c->ssl, buf, len, &want, stream_conn_peer(c));
}

/* send(): -1 with EAGAIN when the socket takes nothing now. */
static ssize_t conn_send_raw(struct stream_conn *c, const void *buf, size_t len)
{
    if (c->ssl == NULL)
        return send(c->fd, buf, len, MSG_NOSIGNAL);
    int want;
    ssize_t w = tls_conn_write(c->ssl, buf, len, &want, stream_conn_peer(c));
    conn_tls_wait(c, want);
    return w;
}

/* evbuffer_write() of the queued output: bytes written, or -1 with errno. */
static int conn_flush(struct stream_conn *c)
{
    if (c->ssl == NULL)
        return evbuffer_write(c->out, c->fd);
    int done = 0;
    size_t left;
    while ((left = evbuffer_get_length(c->out)) > 0) {
        /* One TLS record at most: a retry after WANT_WRITE resends at least what was tried. */
        size_t n = left < 16384 ? left : 16384;
        unsigned char *p = evbuffer_pullup(c->out, (ev_ssize_t)n);
        ssize_t w = p ? conn_send_raw(c, p, n) : -1;
        if (w <= 0)
            return done > 0 ? done : -1;
        evbuffer_drain(c->out, (size_t)w);
        done += (int)w;
    }
    return done;
}

ssize_t stream_conn_recv(struct stream_conn *c, void *buf, size_t len)
{
    for (;;) {
        ssize_t r = conn_recv_raw(c, buf, len);
        if (r > 0)
            return r;
        int err = r < 0 ? EVUTIL_SOCKET_ERROR() : 0;
        if (r < 0 && err == EINTR)
            continue;
        if (r < 0 && (err == EAGAIN || err == EWOULDBLOCK))
            return 0;
        if (r < 0)
            log_debug("%s: %s", stream_conn_peer(c), evutil_socket_error_to_string(err));
        c->peer_gone = 1;
        if (c->srv->proto.peer_closed && !c->closing)
            c->srv->proto.peer_closed(c->srv->proto_ctx, c);
        stream_conn_close(c);
        return -1;
    }
}

void stream_conn_yield(struct stream_conn *c)
{
    /* More waits in the socket: the read event fires again -- but not for what TLS has already
     * decrypted: run it again for that. */
    if (c->ssl != NULL && SSL_pending(c->ssl) > 0)
        event_active(c->ev_read, EV_READ, 1);
}

void stream_conn_write(struct stream_conn *c, const void *data, size_t n)
{
    const uint8_t *bytes = data;
    if (c->peer_gone)
        return;
    size_t queued = c->out ? evbuffer_get_length(c->out) : 0;
    if (queued > c->srv->opt.max_output) {
        log_warn("%s: peer is not reading (%zu bytes queued); dropping it", stream_conn_peer(c),
                 queued);
        c->srv->stats.dropped_slow++;
        conn_peer_failed(c, 0);
        return;
    }
    size_t done = 0;
    if (queued == 0) {
        while (done < n) {
            ssize_t w = conn_send_raw(c, bytes + done, n - done);
            if (w > 0) {
                done += (size_t)w;
                continue;
            }
            int err = EVUTIL_SOCKET_ERROR();
            if (w < 0 && err == EINTR)
                continue;
            if (w < 0 && (err == EAGAIN || err == EWOULDBLOCK))
                break;
            conn_peer_failed(c, err);
            return;
        }
        if (done == n)
            return;
    }
    if (c->out == NULL && (c->out = evbuffer_new()) == NULL) {
        log_error("%s: out of memory queueing %zu bytes; dropping the peer", stream_conn_peer(c),
                  n - done);
        conn_peer_failed(c, ENOMEM);
        return;
    }
    if (c->ev_write == NULL && (c->ev_write = event_new(c->srv->base, c->fd, EV_WRITE | EV_PERSIST,
                                                        on_write, c)) == NULL) {
        log_error("%s: out of memory for a write event; dropping the peer", stream_conn_peer(c));
        conn_peer_failed(c, ENOMEM);
        return;
    }
    c->srv->stats.output_queued++;
    if (evbuffer_add(c->out, bytes + done, n - done) != 0) {
        conn_peer_failed(c, ENOMEM);
        return;
    }
    conn_want_write(c);
}

/* Runs the protocol's input unless a job or a close stops it. The caller holds c. */
static void conn_input(struct stream_conn *c)
{
    if (c->closing || c->life.jobs > 0 || c->in_input)
        return;
    c->in_input = 1;
    c->srv->proto.input(c->srv->proto_ctx, c);
    c->in_input = 0;
}

/* No job in flight any more: read again and handle the input that waited -- unless an input of
 * this connection is on the stack (a job ended inside it): that one goes on by itself. The
 * caller holds c. */
static void conn_resume(struct stream_conn *c)
{
    if (c->life.jobs > 0 || c->closing || c->srv->shutting_down || c->srv->freeing)
        return;
    conn_reading(c, 1);
    conn_input(c);
}

/* ---- socket callbacks ---- */

static void on_read(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    struct stream_conn *c = arg;
    struct stream_server *srv = c->srv;
    conn_enter(c);
    /* Before the session, the timeout was set to the nearer of the idle timeout and the login
     * deadline (it may fire a little early, by the loop's clock). */
    if (what & EV_TIMEOUT && !c->session &&
        c->login_deadline_ms - mono_ms() < (int64_t)srv->opt.idle_timeout_s * 1000) {
        srv->stats.login_timeouts++;
        char msg[96];
        snprintf(msg, sizeof(msg), "no session within %d s of connecting; closing",
                 srv->opt.login_timeout_s);
        conn_end(c, STREAM_END_LOGIN_TIMEOUT, msg);
    } else if (what & EV_TIMEOUT) {
        /* The read event is only added while reading, so this is a silent peer. */
        srv->stats.idle_timeouts++;
        char msg[80];
        snprintf(msg, sizeof(msg), "no data for %d s; closing idle connection",
                 srv->opt.idle_timeout_s);
        conn_end(c, STREAM_END_IDLE_TIMEOUT, msg);
    } else {
        conn_input(c);
        /* A persistent event restarts its timeout on every read: keep the login deadline. */
        if (!c->session && !c->closing && c->life.jobs == 0)
            conn_reading(c, 1);
    }
    conn_leave(c);
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    struct stream_conn *c = arg;
    conn_enter(c);
    if (what & EV_TIMEOUT) {
        log_info("%s: peer did not take its last bytes within %d s; dropping it",
                 stream_conn_peer(c), STREAM_FLUSH_TIMEOUT_S);
        conn_peer_failed(c, 0);
    } else if (c->out != NULL && conn_flush(c) < 0) {
        int err = EVUTIL_SOCKET_ERROR();
        if (err != EINTR && err != EAGAIN && err != EWOULDBLOCK)
            conn_peer_failed(c, err);
    }
    if (c->out != NULL && evbuffer_get_length(c->out) == 0) {
        /* Flushed: back to holding nothing for output. */
        evbuffer_free(c->out);
        c->out = NULL;
    }
    if (c->out == NULL)
        event_del(c->ev_write);
    conn_leave(c); /* output drained: a closing connection may go now */
}

/* ---- listener ---- */

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
                      void *arg)
{
    (void)l;
    (void)salen;
    struct stream_server *srv = arg;
    if (srv->nconns >= (size_t)srv->opt.max_connections + STREAM_REFUSAL_SLACK) {
        srv->stats.refused_cap++;
        evutil_closesocket(fd);
        return;
    }
    struct stream_conn *c = calloc(1, srv->state_offset + srv->proto.conn_size);
    if (c == NULL) {
        evutil_closesocket(fd);
        log_error("out of memory accepting a %s connection", srv->name);
        return;
    }
    c->srv = srv;
    c->fd = fd;
    c->state = (char *)c + srv->state_offset;
    /* Every read and write here must return at once (EAGAIN), never block the loop. */
    evutil_make_socket_nonblocking(fd);
    struct event *ev = (struct event *)(void *)(c + 1);
    if (event_assign(ev, srv->base, fd, EV_READ | EV_PERSIST, on_read, c) == 0)
        c->ev_read = ev;
    if (c->ev_read != NULL && srv->tls != NULL && (c->ssl = tls_conn_new(srv->tls, fd)) == NULL)
        c->ev_read = NULL;
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
    if (c->ev_read == NULL || (srv->proto.init && srv->proto.init(srv->proto_ctx, c) != 0)) {
        tls_conn_free(c->ssl);
        evutil_closesocket(fd);
        free(c);
        log_error("out of memory accepting a %s connection", srv->name);
        return;
    }

    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->nconns++;

    /* Anonymous connections are capped in all and per address, so that a flood of idle
     * connections cannot take the slots real devices need to log in. */
    struct addr_count **slot = addr_slot(srv, c->peer_family, c->peer_addr);
    const char *refusal = NULL;
    enum stream_end why = STREAM_END_CAP;
    if (srv->shutting_down) {
        refusal = "server is shutting down; reconnect later";
        why = STREAM_END_SHUTDOWN;
    } else if (srv->nconns > (size_t)srv->opt.max_connections) {
        srv->stats.refused_cap++;
        refusal = "connection limit reached; retry later";
    } else if (srv->n_unauth >= (size_t)srv->max_unauth) {
        srv->stats.refused_unauth++;
        refusal = "too many connections without a session; retry later";
        why = STREAM_END_UNAUTH_CAP;
    } else if (*slot && (*slot)->n >= (uint32_t)srv->opt.max_unauthenticated_per_address) {
        srv->stats.refused_address++;
        refusal = "too many connections without a session from this address; retry later";
        why = STREAM_END_ADDRESS_CAP;
    }
    if (refusal == NULL && *slot == NULL) {
        if ((*slot = calloc(1, sizeof(**slot))) == NULL) {
            refusal = "out of memory; retry later";
            why = STREAM_END_NO_MEMORY;
        } else {
            (*slot)->family = c->peer_family;
            memcpy((*slot)->addr, c->peer_addr, sizeof(c->peer_addr));
        }
    }
    if (refusal) {
        conn_enter(c);
        conn_end(c, why, refusal);
        conn_leave(c);
        return;
    }
    c->unauth = *slot;
    c->unauth->n++;
    srv->n_unauth++;
    c->login_deadline_ms = mono_ms() + (int64_t)srv->opt.login_timeout_s * 1000;
    srv->stats.accepted++;
    conn_reading(c, 1);
    log_debug("%s connection from %s (%zu open)", srv->name, stream_conn_peer(c), srv->nconns);
}

static void on_accept_error(struct evconnlistener *l, void *arg)
{
    (void)l;
    struct stream_server *srv = arg;
    int err = EVUTIL_SOCKET_ERROR();
    /* EMFILE/ENFILE: out of descriptors. libevent retries on the next readiness; say it. */
    log_error("accepting a %s connection failed: %s", srv->name,
              evutil_socket_error_to_string(err));
}

static size_t round_up(size_t n, size_t to)
{
    return (n + to - 1) / to * to;
}

struct stream_server *stream_server_new(struct event_base *base,
                                        const struct stream_server_options *opt,
                                        const struct stream_protocol *proto, void *proto_ctx,
                                        char *errbuf, size_t errlen)
{
    struct stream_server *srv = calloc(1, sizeof(*srv));
    if (srv == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    srv->base = base;
    srv->opt = *opt;
    srv->proto = *proto;
    srv->proto_ctx = proto_ctx;
    srv->name = strdup(opt->name ? opt->name : "stream");
    srv->opt.name = srv->name;
    srv->opt.bind = NULL;
    /* The connection, its read event, then the protocol's state, each aligned for anything. */
    srv->state_offset =
        round_up(sizeof(struct stream_conn) + event_get_struct_event_size(), sizeof(max_align_t));
    if (srv->opt.max_output == 0)
        srv->opt.max_output = STREAM_DEFAULT_MAX_OUTPUT;
    /* 0 (unset) means: no deadline beyond the idle timeout, no cap beyond the connection cap's
     * half. */
    if (srv->opt.login_timeout_s <= 0)
        srv->opt.login_timeout_s = opt->idle_timeout_s;
    int half = opt->max_connections / 2 > 0 ? opt->max_connections / 2 : 1;
    srv->max_unauth = opt->max_unauthenticated > 0 && opt->max_unauthenticated < half
                          ? opt->max_unauthenticated
                          : half;
    if (srv->opt.max_unauthenticated_per_address <= 0)
        srv->opt.max_unauthenticated_per_address = srv->max_unauth;
    if (RAND_bytes((unsigned char *)&srv->addr_seed, sizeof(srv->addr_seed)) != 1)
        srv->addr_seed = (uint32_t)time(NULL);
    /* The key index: about one bucket per connection at the cap (a power of two). */
    size_t buckets = 64;
    while (buckets < (size_t)opt->max_connections && buckets < ((size_t)1 << 22))
        buckets <<= 1;
    srv->keys = calloc(buckets, sizeof(*srv->keys));
    srv->keys_mask = buckets - 1;
    if (srv->name == NULL || srv->keys == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        stream_server_free(srv);
        return NULL;
    }
    if (opt->bind == NULL)
        return srv; /* no listener: connections come from stream_server_adopt() */
    srv->bind = strdup(opt->bind);
    srv->opt.bind = srv->bind;

    struct sockaddr_storage ss;
    int sslen = (int)sizeof(ss);
    char spec[300];
    snprintf(spec, sizeof(spec), strchr(opt->bind, ':') ? "[%s]:%d" : "%s:%d", opt->bind,
             opt->port);
    if (srv->bind == NULL ||
        evutil_parse_sockaddr_port(spec, (struct sockaddr *)&ss, &sslen) != 0) {
        snprintf(errbuf, errlen, "%s_bind: '%s' is not an IP address", srv->name, opt->bind);
        stream_server_free(srv);
        return NULL;
    }
    if (opt->tls_cert != NULL && opt->tls_cert[0] != '\0' &&
        (srv->tls = tls_server_ctx_new(opt->tls_cert, opt->tls_key, errbuf, errlen)) == NULL) {
        stream_server_free(srv);
        return NULL;
    }
    srv->listener = evconnlistener_new_bind(
        base, on_accept, srv, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
        4096, (struct sockaddr *)&ss, sslen);
    if (srv->listener == NULL) {
        snprintf(errbuf, errlen, "cannot listen for %s connections on %s: %s", srv->name, spec,
                 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        stream_server_free(srv);
        return NULL;
    }
    evconnlistener_set_error_cb(srv->listener, on_accept_error);
    log_info("%s protocol listening on %s%s (max %d connections, idle timeout %d s)", srv->name,
             spec, srv->tls ? " with TLS" : "", opt->max_connections, opt->idle_timeout_s);
    return srv;
}

void stream_server_adopt(struct stream_server *srv, int fd)
{
    /* The same path as a real accept, so that what the fuzzer reaches is what a peer reaches. */
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    memset(&ss, 0, sizeof(ss));
    if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
        ss.ss_family = AF_UNSPEC;
    on_accept(srv->listener, fd, (struct sockaddr *)&ss, (int)sizeof(ss), srv);
}

void stream_server_shutdown(struct stream_server *srv)
{
    if (srv->shutting_down)
        return;
    srv->shutting_down = 1;
    if (srv->listener) {
        evconnlistener_free(srv->listener);
        srv->listener = NULL;
    }
    struct stream_conn *c = srv->conns;
    while (c) {
        struct stream_conn *next = c->next;
        conn_enter(c);
        if (!c->closing)
            conn_end(c, STREAM_END_SHUTDOWN, "server is shutting down; reconnect later");
        conn_leave(c);
        c = next;
    }
}

int stream_server_shutting_down(const struct stream_server *srv)
{
    return srv->shutting_down;
}

/* ---- the connection API ---- */

void *stream_conn_state(struct stream_conn *c)
{
    return c->state;
}

struct stream_server *stream_conn_server(const struct stream_conn *c)
{
    return c->srv;
}

int stream_conn_closing(const struct stream_conn *c)
{
    return c->closing;
}

void stream_conn_session_open(struct stream_conn *c)
{
    if (c->session)
        return;
    c->session = 1;
    conn_unauth_end(c);
    c->srv->stats.sessions_opened++;
}

int stream_conn_in_session(const struct stream_conn *c)
{
    return c->session;
}

void stream_conn_hold(struct stream_conn *c)
{
    conn_ref_hold(&c->life);
    conn_reading(c, 0);
}

void stream_conn_release(struct stream_conn *c)
{
    conn_enter(c); /* c outlives what follows, whoever called */
    conn_ref_release(&c->life);
    conn_resume(c);
    conn_leave(c);
}

size_t stream_conn_jobs(const struct stream_conn *c)
{
    return c->life.jobs;
}

void stream_conn_enter(struct stream_conn *c)
{
    conn_enter(c);
}

void stream_conn_leave(struct stream_conn *c)
{
    conn_leave(c);
}

size_t stream_server_connections(const struct stream_server *srv)
{
    return srv->nconns;
}

size_t stream_server_unauthenticated(const struct stream_server *srv)
{
    return srv->n_unauth;
}

const struct stream_stats *stream_server_stats(const struct stream_server *srv)
{
    return &srv->stats;
}

const struct stream_server_options *stream_server_options(const struct stream_server *srv)
{
    return &srv->opt;
}

void stream_server_each_session(struct stream_server *srv,
                                void (*fn)(void *arg, struct stream_conn *c), void *arg)
{
    struct stream_conn *c = srv->conns;
    while (c) {
        conn_enter(c); /* c and its successor's link stay valid while fn runs */
        if (c->session && !c->closing)
            fn(arg, c);
        struct stream_conn *next = c->next;
        conn_leave(c);
        c = next;
    }
}

void stream_server_free(struct stream_server *srv)
{
    if (srv == NULL)
        return;
    srv->freeing = 1;
    if (srv->listener)
        evconnlistener_free(srv->listener);
    while (srv->conns)
        conn_destroy(srv->conns);
    tls_ctx_free(srv->tls);
    free(srv->keys);
    free(srv->bind);
    free(srv->name);
    free(srv);
}
