/* handset_server.c -- the handset protocol (lpg.v1 wire contract, proto/README.md) over the
 * device connections of common/stream_server.h: framing (proto/frame.h), Envelope decoding,
 * Hello/Ping, errors, and the hooks of the service. The connection rules (caps, the Hello
 * deadline, the idle timeout, output queueing, TLS, shutdown, the lifetime rule of conn_ref.h)
 * are the stream server's.
 *
 * Input is read from the socket at most up to the end of the current frame (lpg_frame_wanted),
 * so a connection waiting for the store keeps its next frames in the kernel, and a connection
 * between frames holds no payload buffer.
 */
#define LOG_TAG "handset"
#include "handset/handset_server.h"

#include "app/events.h"

#include "common/log.h"
#include "common/stream_server.h"
#include "frame.h"
#include "store/device_sessions.h"
#include "store/store.h"

#include "lpg/v1/envelope.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <netinet/in.h>
#include <openssl/rand.h>

/* The wire contract version this server speaks (proto/README.md). */
#define HANDSET_PROTOCOL_VERSION 1
/* Output queued for a peer that does not read is capped: beyond it the peer is dropped. */
#define HANDSET_MAX_OUTPUT     (1024u * 1024u) /* bytes */
#define HANDSET_DEVICE_ID_MAX  64              /* bytes */
#define HANDSET_CREDENTIAL_MAX 256             /* bytes */
/* A device may announce a smaller frame limit in Hello.max_frame, but not below this: every
 * message the server sends fits (the largest, OrderAssigned, is about 1.5 KB at most). */
#define HANDSET_DEVICE_MIN_FRAME 4096 /* bytes */
/* Frames handled in one read callback before yielding to other connections (pings do not
 * pause reading as batches do). */
#define HANDSET_FRAMES_PER_READ 16
/* Replies up to this size are framed on the stack (Acks, Errors, Alerts). */
#define HANDSET_STACK_FRAME 2048 /* bytes */

enum hconn_session { HC_AWAIT_HELLO, HC_OPEN };

/* A Hello whose session is being recorded: what its Ack needs, only until then (a connection
 * that sits logged in does not carry it). */
struct hello_wait {
    struct handset_conn *c;
    uint64_t request_id;
    char session_id[33];
};

/* The protocol's state of one connection (stream_conn_state). */
struct handset_conn {
    struct stream_conn *sc;
    struct handset_server *srv;
    struct lpg_frame_decoder *dec;
    char device_id[HANDSET_DEVICE_ID_MAX + 1]; /* the key of the open session */
    char staff_id[HANDSET_DEVICE_ID_MAX + 1];
    enum hconn_session session;
    int64_t opened_ms;       /* when the Hello was accepted (UTC ms), the session's recorded time */
    uint32_t peer_max_frame; /* the device's limit (Hello.max_frame), 0 until announced */
    void *data;              /* the hooks' per-connection state */
    void (*data_free)(void *);
};

struct handset_server {
    struct stream_server *ss;
    struct store *store;
    struct handset_server_options opt;
    int freeing;
    struct handset_stats stats; /* the protocol's counters; the connections' are the stream's */
};

/* ---- sending ---- */

static void hconn_send(struct handset_conn *c, const Lpg__V1__Envelope *env)
{
    size_t len = lpg__v1__envelope__get_packed_size(env);
    if (c->peer_max_frame && len > c->peer_max_frame) {
        log_error("%s: a %zu-byte reply exceeds the device's frame limit of %zu; not sent",
                  stream_conn_peer(c->sc), len, (size_t)c->peer_max_frame);
        return;
    }
    uint8_t header[LPG_FRAME_HEADER_SIZE];
    if (lpg_frame_put_header(header, len) != 0) {
        log_error("%s: reply of %zu bytes cannot be framed; not sent", stream_conn_peer(c->sc),
                  len);
        return;
    }
    uint8_t small[HANDSET_STACK_FRAME];
    size_t total = LPG_FRAME_HEADER_SIZE + len;
    uint8_t *buf = total <= sizeof(small) ? small : malloc(total);
    if (buf == NULL) {
        log_error("%s: out of memory packing a reply", stream_conn_peer(c->sc));
        return;
    }
    memcpy(buf, header, sizeof(header));
    lpg__v1__envelope__pack(env, buf + LPG_FRAME_HEADER_SIZE);
    stream_conn_write(c->sc, buf, total); /* one send for header and payload */
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
    log_at_(quiet ? LL_DEBUG : LL_INFO, "%s%s%s: error %d%s: %s", stream_conn_peer(c->sc),
            c->device_id[0] ? " device " : "", c->device_id, (int)code, fatal ? " (closing)" : "",
            message);
    if (fatal)
        stream_conn_close(c->sc);
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
    if (err) {
        char msg[200];
        snprintf(msg, sizeof(msg),
                 "the store did not record the session (%s); nothing was opened, retry later", err);
        hconn_send_error(c, LPG__V1__ERROR__CODE__UNAVAILABLE, msg, 1, hw->request_id, 0);
        c->device_id[0] = '\0';
    } else if (!stream_conn_closing(c->sc)) {
        c->session = HC_OPEN;
        stream_conn_session_open(c->sc);
        Lpg__V1__Ack ack = LPG__V1__ACK__INIT;
        ack.has_ack_seq = 1;
        ack.ack_seq = hw->request_id;
        ack.session_id = hw->session_id;
        ack.has_protocol_version = 1;
        ack.protocol_version = HANDSET_PROTOCOL_VERSION;
        ack.has_max_frame = 1;
        ack.max_frame = (uint32_t)srv->opt.max_frame;
        hconn_send_ack(c, &ack);
        log_info("%s: session %s opened for device %s%s%s", stream_conn_peer(c->sc), hw->session_id,
                 c->device_id, c->staff_id[0] ? " of " : "", c->staff_id);
        /* One session per device: an older connection of the same device is closed. */
        struct stream_conn *older = stream_conn_set_key(c->sc, c->device_id);
        if (older != NULL)
            hconn_send_error(stream_conn_state(older), LPG__V1__ERROR__CODE__REFUSED,
                             "this device logged in on another connection", 0, 0, 1);
        if (srv->opt.hooks && srv->opt.hooks->session_opened)
            srv->opt.hooks->session_opened(srv->opt.hooks_ctx, c);
    }
    free(hw);
    stream_conn_release(c->sc); /* the Hello's job: frames that arrived meanwhile are handled */
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
        char addr[INET6_ADDRSTRLEN];
        stream_conn_peer_address(c->sc, addr, sizeof(addr));
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
        .peer = stream_conn_peer(c->sc),
        .opened_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
        .protocol = HANDSET_PROTOCOL_VERSION,
        .software = h->software,
    };
    c->opened_ms = ds.opened_ms;
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
                   env->body_case == LPG__V1__ENVELOPE__BODY_ORDER_LIST ||
                   env->body_case == LPG__V1__ENVELOPE__BODY_ORDER_WITHDRAWN ||
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

/* ---- the protocol of stream_server.h ---- */

static int proto_init(void *ctx, struct stream_conn *sc)
{
    struct handset_server *srv = ctx;
    struct handset_conn *c = stream_conn_state(sc);
    c->sc = sc;
    c->srv = srv;
    c->dec = lpg_frame_decoder_new(srv->opt.max_frame);
    return c->dec ? 0 : -1;
}

static void proto_destroy(void *ctx, struct stream_conn *sc)
{
    struct handset_server *srv = ctx;
    struct handset_conn *c = stream_conn_state(sc);
    const struct handset_hooks *hooks = srv->opt.hooks;
    if (c->session == HC_OPEN && hooks && hooks->session_closed && !srv->freeing &&
        !stream_server_shutting_down(srv->ss))
        hooks->session_closed(srv->opt.hooks_ctx, c);
    lpg_frame_decoder_free(c->dec);
    if (c->data_free)
        c->data_free(c->data);
}

/* The connection rules end a connection: an Error says why. */
static void proto_end(void *ctx, struct stream_conn *sc, enum stream_end why, const char *message)
{
    (void)ctx;
    struct handset_conn *c = stream_conn_state(sc);
    Lpg__V1__Error__Code code = LPG__V1__ERROR__CODE__TOO_MANY_CONNECTIONS;
    if (why == STREAM_END_SHUTDOWN)
        code = LPG__V1__ERROR__CODE__SHUTTING_DOWN;
    else if (why == STREAM_END_LOGIN_TIMEOUT || why == STREAM_END_IDLE_TIMEOUT)
        code = LPG__V1__ERROR__CODE__IDLE_TIMEOUT;
    if (why == STREAM_END_LOGIN_TIMEOUT) {
        char msg[96];
        snprintf(msg, sizeof(msg), "no Hello acknowledged within %d s of connecting; closing",
                 c->srv->opt.hello_timeout_s > 0 ? c->srv->opt.hello_timeout_s
                                                 : c->srv->opt.idle_timeout_s);
        hconn_send_error(c, code, msg, 0, 0, 1);
        return;
    }
    hconn_send_error(c, code, message, 0, 0, 1);
}

/* EOF (or a failed read): a frame cut short is reported; the stream closes the connection. */
static void proto_peer_closed(void *ctx, struct stream_conn *sc)
{
    (void)ctx;
    struct handset_conn *c = stream_conn_state(sc);
    if (lpg_frame_in_progress(c->dec) > 0 && lpg_frame_finish(c->dec) < 0) {
        c->srv->stats.rejected_truncated++;
        log_info("%s: %s", stream_conn_peer(sc), lpg_frame_errstr(c->dec));
    }
}

/* Handles the frames that are complete, reading as needed. */
static void proto_input(void *ctx, struct stream_conn *sc)
{
    (void)ctx;
    struct handset_conn *c = stream_conn_state(sc);
    int frames = 0;
    while (!stream_conn_closing(sc) && stream_conn_jobs(sc) == 0) {
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
                stream_conn_yield(sc);
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
        ssize_t r = stream_conn_recv(sc, buf, want < sizeof(buf) ? want : sizeof(buf));
        if (r <= 0)
            break;                              /* nothing more now, or the peer is gone */
        lpg_frame_feed(c->dec, buf, (size_t)r); /* takes all: r <= wanted */
    }
}

static const struct stream_protocol handset_protocol = {
    .conn_size = sizeof(struct handset_conn),
    .init = proto_init,
    .input = proto_input,
    .end = proto_end,
    .peer_closed = proto_peer_closed,
    .destroy = proto_destroy,
};

struct handset_server *handset_server_new(struct event_base *base,
                                          const struct handset_server_options *opt,
                                          struct store *store, char *errbuf, size_t errlen)
{
    struct handset_server *srv = calloc(1, sizeof(*srv));
    if (srv == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    srv->store = store;
    srv->opt = *opt;
    srv->opt.bind = NULL; /* the stream server keeps its copy */
    struct stream_server_options so = {
        .name = "handset",
        .bind = opt->bind,
        .port = opt->port,
        .max_connections = opt->max_connections,
        .idle_timeout_s = opt->idle_timeout_s,
        .login_timeout_s = opt->hello_timeout_s,
        .max_unauthenticated = opt->max_unauthenticated,
        .max_unauthenticated_per_address = opt->max_unauthenticated_per_address,
        .max_output = HANDSET_MAX_OUTPUT,
        .tls_cert = opt->tls_cert,
        .tls_key = opt->tls_key,
    };
    srv->opt.tls_cert = srv->opt.tls_key = NULL;
    srv->ss = stream_server_new(base, &so, &handset_protocol, srv, errbuf, errlen);
    if (srv->ss == NULL) {
        free(srv);
        return NULL;
    }
    if (opt->bind != NULL)
        log_info("handset protocol: max frame %zu bytes", opt->max_frame);
    return srv;
}

void handset_server_adopt(struct handset_server *srv, int fd)
{
    stream_server_adopt(srv->ss, fd);
}

void handset_server_shutdown(struct handset_server *srv)
{
    stream_server_shutdown(srv->ss);
}

/* ---- the connection API of the hooks ---- */

const char *handset_conn_device(const struct handset_conn *c)
{
    return c->device_id;
}

int64_t handset_conn_opened_ms(const struct handset_conn *c)
{
    return c->opened_ms;
}

size_t handset_conn_max_frame(const struct handset_conn *c)
{
    return c->peer_max_frame;
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
    stream_conn_hold(c->sc);
}

void handset_conn_release(struct handset_conn *c)
{
    stream_conn_release(c->sc);
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
    struct stream_conn *sc = stream_server_find(srv->ss, device_id);
    return sc ? stream_conn_state(sc) : NULL;
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

size_t handset_server_connections(const struct handset_server *srv)
{
    return stream_server_connections(srv->ss);
}

size_t handset_server_unauthenticated(const struct handset_server *srv)
{
    return stream_server_unauthenticated(srv->ss);
}

const struct handset_stats *handset_server_stats(struct handset_server *srv)
{
    /* The connection counters are the stream server's: copied into the one view /metrics
     * reads. */
    struct handset_stats *st = &srv->stats;
    const struct stream_stats *ss = stream_server_stats(srv->ss);
    st->accepted = ss->accepted;
    st->refused_cap = ss->refused_cap;
    st->refused_unauth = ss->refused_unauth;
    st->refused_address = ss->refused_address;
    st->hello_timeouts = ss->login_timeouts;
    st->idle_timeouts = ss->idle_timeouts;
    st->closed = ss->closed;
    st->output_queued = ss->output_queued;
    st->dropped_slow = ss->dropped_slow;
    st->sessions_opened = ss->sessions_opened;
    return st;
}

void handset_server_free(struct handset_server *srv)
{
    if (srv == NULL)
        return;
    srv->freeing = 1;
    stream_server_free(srv->ss);
    free(srv);
}
