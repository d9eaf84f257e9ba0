/*
 * agent_link.c - the agent's session with dispatchd (see agent_link.h).
 *
 * States: DOWN (a retry timer is armed) -> CONNECTING (TCP) -> HELLO (Hello sent) -> OPEN.
 * In OPEN, `inflight` is the request_id of the batch or Ping awaiting its answer (0: none);
 * `hold` is set while a refused batch waits for its retry delay.
 */
#define LOG_TAG "link"
#include "agent/agent_link.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/backoff.h"
#include "frame.h"
#include "common/log.h"
#include "common/timeval_ms.h"
#include "common/tls.h"
#include "lpg/v1/envelope.pb-c.h"

#define AGENT_SOFTWARE "lpg-agent 0.1.0"

enum link_state { DOWN, CONNECTING, HELLO, OPEN };

struct agent_link {
    struct event_base *base;
    const struct agent_config *cfg;
    char *credential;
    struct agent_link_callbacks cb;
    void *arg;

    enum link_state state;
    struct bufferevent *bev;
    SSL_CTX *tls; /* NULL: plain TCP */
    struct lpg_frame_decoder *dec;
    struct event *retry_ev;       /* reconnect, or end of a hold */
    struct event *timeout_ev;     /* connect+Hello, or the answer to the request in flight */
    struct event *ping_ev;        /* idle keep-alive */
    struct backoff backoff;       /* reconnections */
    struct backoff retry_backoff; /* refused batches */
    uint64_t next_request_id;
    uint64_t inflight; /* request_id awaiting an answer; 0 none */
    bool inflight_is_batch;
    uint64_t inflight_last_seq; /* seq of the last fix of the batch in flight */
    bool hold;                  /* a refused batch waits for retry_ev */
    size_t batch_limit;
    uint32_t server_max_frame;
    struct agent_link_counters c;
};

static void arm(struct event *ev, int64_t ms)
{
    struct timeval tv = timeval_from_ms(ms);
    evtimer_add(ev, &tv);
}

static void go_down(struct agent_link *l, const char *why)
{
    if (l->state == DOWN)
        return;
    if (l->state == OPEN)
        log_warn("session with %s:%lld ended (%s); fixes are spooled, reconnecting with backoff",
                 l->cfg->server_host, (long long)l->cfg->server_port, why);
    else
        log_warn("cannot open a session with %s:%lld (%s); retrying with backoff",
                 l->cfg->server_host, (long long)l->cfg->server_port, why);
    if (l->bev)
        bufferevent_free(l->bev);
    l->bev = NULL;
    lpg_frame_decoder_free(l->dec);
    l->dec = NULL;
    l->state = DOWN;
    l->inflight = 0;
    l->hold = false;
    evtimer_del(l->timeout_ev);
    evtimer_del(l->ping_ev);
    arm(l->retry_ev, backoff_next(&l->backoff));
}

static int send_env(struct agent_link *l, Lpg__V1__Envelope *env)
{
    size_t len = lpg__v1__envelope__get_packed_size(env);
    if (len == 0 || len > l->server_max_frame)
        return 1;
    uint8_t *buf = malloc(LPG_FRAME_HEADER_SIZE + len);
    if (!buf)
        return -1;
    lpg_frame_put_header(buf, len);
    lpg__v1__envelope__pack(env, buf + LPG_FRAME_HEADER_SIZE);
    int rc = bufferevent_write(l->bev, buf, LPG_FRAME_HEADER_SIZE + len) == 0 ? 0 : -1;
    free(buf);
    if (rc == 0 && l->state == OPEN)
        arm(l->ping_ev, l->cfg->ping_interval * 1000);
    return rc;
}

static void send_hello(struct agent_link *l)
{
    Lpg__V1__Hello hello = LPG__V1__HELLO__INIT;
    hello.has_protocol_version = 1;
    hello.protocol_version = 1;
    hello.device_id = l->cfg->device_id;
    hello.has_credential = 1;
    hello.credential.data = (uint8_t *)l->credential;
    hello.credential.len = strlen(l->credential);
    hello.software = AGENT_SOFTWARE;
    hello.has_max_frame = 1;
    hello.max_frame = (uint32_t)l->cfg->max_frame;
    Lpg__V1__Envelope env = LPG__V1__ENVELOPE__INIT;
    env.has_request_id = 1;
    env.request_id = ++l->next_request_id;
    env.body_case = LPG__V1__ENVELOPE__BODY_HELLO;
    env.hello = &hello;
    l->server_max_frame = LPG_FRAME_MAX_PAYLOAD; /* until the Ack says */
    if (send_env(l, &env) != 0)
        go_down(l, "out of memory sending Hello");
    else
        l->state = HELLO;
}

static void on_open(struct agent_link *l, const Lpg__V1__Ack *ack)
{
    l->state = OPEN;
    l->server_max_frame = ack->has_max_frame && ack->max_frame >= 16 ? ack->max_frame : 65536;
    backoff_reset(&l->backoff);
    evtimer_del(l->timeout_ev);
    arm(l->ping_ev, l->cfg->ping_interval * 1000);
    l->c.connects++;
    log_info("session open with %s:%lld as %s (session %s, server frame limit %u bytes)",
             l->cfg->server_host, (long long)l->cfg->server_port, l->cfg->device_id,
             ack->session_id ? ack->session_id : "?", l->server_max_frame);
    l->cb.on_ready(l->arg);
}

static void end_hold(struct agent_link *l)
{
    l->hold = false;
    if (l->state == OPEN)
        l->cb.on_ready(l->arg);
}

static void on_error_reply(struct agent_link *l, const Lpg__V1__Error *e)
{
    l->c.errors++;
    const char *msg = e->message ? e->message : "";
    const char *code = "?";
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&lpg__v1__error__code__descriptor, e->code);
    if (v)
        code = v->name;
    bool answers = e->has_ack_seq && e->ack_seq == l->inflight && l->inflight != 0;
    if (e->fatal) {
        if (e->code == LPG__V1__ERROR__CODE__UNAUTHORIZED)
            log_error("the server refused device %s: %s (%s). Check device_id and "
                      "credential_file, or register the device again (POST /v1/devices)",
                      l->cfg->device_id, msg, code);
        else
            log_warn("the server closes the session: %s (%s)", msg, code);
        go_down(l, code);
        return;
    }
    if (l->state == HELLO) {
        log_warn("the server cannot open the session yet: %s (%s)", msg, code);
        go_down(l, code);
        return;
    }
    if (!answers) {
        log_warn("server error: %s (%s)", msg, code);
        return;
    }
    bool batch = l->inflight_is_batch;
    l->inflight = 0;
    evtimer_del(l->timeout_ev);
    if (!batch)
        return;
    if (e->code == LPG__V1__ERROR__CODE__INVALID_ARGUMENT) {
        if (l->batch_limit > 1)
            l->batch_limit /= 2;
        log_error("the server refused a batch: %s; retrying with at most %zu fixes", msg,
                  l->batch_limit);
    } else {
        log_warn("the server could not store a batch: %s (%s); resending it later", msg, code);
    }
    l->hold = true;
    arm(l->retry_ev, backoff_next(&l->retry_backoff));
}

static void handle(struct agent_link *l, const uint8_t *p, size_t n)
{
    Lpg__V1__Envelope *env = lpg__v1__envelope__unpack(NULL, n, p);
    if (!env) {
        go_down(l, "undecodable frame from the server");
        return;
    }
    switch (env->body_case) {
    case LPG__V1__ENVELOPE__BODY_ACK: {
        const Lpg__V1__Ack *ack = env->ack;
        if (l->state == HELLO) {
            on_open(l, ack);
        } else if (l->inflight && ack->has_ack_seq && ack->ack_seq == l->inflight) {
            bool batch = l->inflight_is_batch;
            l->inflight = 0;
            evtimer_del(l->timeout_ev);
            if (batch) {
                l->c.batches_acked++;
                backoff_reset(&l->retry_backoff);
                l->batch_limit = (size_t)l->cfg->batch_max_fixes;
                l->cb.on_ack(l->arg, ack->has_position_seq ? ack->position_seq : 0,
                             l->inflight_last_seq);
            }
            if (l->state == OPEN && !l->hold)
                l->cb.on_ready(l->arg);
        }
        break;
    }
    case LPG__V1__ENVELOPE__BODY_ERROR:
        on_error_reply(l, env->error);
        break;
    case LPG__V1__ENVELOPE__BODY_ALERT:
        log_warn("alert for the driver: %s (%s)", env->alert->message ? env->alert->message : "",
                 env->alert->kind ? env->alert->kind : "?");
        break;
    default:
        log_debug("ignoring a message of type %d from the server", (int)env->body_case);
        break;
    }
    lpg__v1__envelope__free_unpacked(env, NULL);
}

static void on_read(struct bufferevent *bev, void *arg)
{
    struct agent_link *l = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    uint8_t chunk[4096];
    while (l->state != DOWN && evbuffer_get_length(in) > 0) {
        ev_ssize_t got = evbuffer_copyout(in, chunk, sizeof(chunk));
        if (got <= 0)
            break;
        size_t used = lpg_frame_feed(l->dec, chunk, (size_t)got);
        evbuffer_drain(in, used);
        const uint8_t *payload;
        size_t plen;
        int rc;
        /* handle() may end the session, which frees the decoder. */
        while (l->state != DOWN &&
               (rc = lpg_frame_next(l->dec, &payload, &plen)) == LPG_FRAME_READY)
            handle(l, payload, plen);
        if (l->state == DOWN)
            return;
        if (rc < 0) {
            log_error("bad frame from the server: %s", lpg_frame_errstr(l->dec));
            go_down(l, "bad frame");
            return;
        }
        if (used == 0)
            break;
    }
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    struct agent_link *l = arg;
    if (what & BEV_EVENT_CONNECTED) {
        send_hello(l);
        return;
    }
    SSL *ssl = l->tls ? bufferevent_openssl_get_ssl(bev) : NULL;
    unsigned long tls_err = ssl ? bufferevent_get_openssl_error(bev) : 0;
    if (ssl != NULL && (what & BEV_EVENT_ERROR) && tls_err != 0) {
        /* Say why: an unknown CA or a certificate for another name is a configuration error
         * the operator must see, not a network hiccup. */
        char why[300], lib[160];
        ERR_error_string_n(tls_err, lib, sizeof(lib));
        long vr = SSL_get_verify_result(ssl);
        if (vr != X509_V_OK)
            snprintf(why, sizeof(why), "TLS: the server's certificate is not trusted: %s (%s)",
                     X509_verify_cert_error_string(vr), lib);
        else
            snprintf(why, sizeof(why), "TLS: %s", lib);
        while (bufferevent_get_openssl_error(bev) != 0)
            ; /* the rest of this connection's queue: nothing more to say */
        go_down(l, why);
    } else if (what & BEV_EVENT_EOF)
        go_down(l, "the server closed the connection");
    else if (what & BEV_EVENT_ERROR)
        go_down(l, evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

static void try_connect(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct agent_link *l = arg;
    if (l->state == OPEN && l->hold) {
        end_hold(l);
        return;
    }
    if (l->state != DOWN)
        return;
    l->dec = lpg_frame_decoder_new((size_t)l->cfg->max_frame);
    if (l->tls == NULL) {
        l->bev = bufferevent_socket_new(l->base, -1, BEV_OPT_CLOSE_ON_FREE);
    } else {
        /* Connected (BEV_EVENT_CONNECTED) only once the handshake verified the server's
         * certificate and name. */
        SSL *ssl = tls_client_new_ssl(l->tls, l->cfg->server_host);
        l->bev = ssl ? bufferevent_openssl_socket_new(l->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
                                                      BEV_OPT_CLOSE_ON_FREE)
                     : NULL;
        if (ssl && !l->bev)
            SSL_free(ssl);
        if (l->bev)
            bufferevent_openssl_set_allow_dirty_shutdown(l->bev, 1);
    }
    if (!l->dec || !l->bev) {
        l->state = CONNECTING;
        go_down(l, "out of memory");
        return;
    }
    bufferevent_setcb(l->bev, on_read, NULL, on_event, l);
    bufferevent_enable(l->bev, EV_READ | EV_WRITE);
    l->state = CONNECTING;
    l->next_request_id = 0;
    arm(l->timeout_ev, l->cfg->connect_timeout);
    if (bufferevent_socket_connect_hostname(l->bev, NULL, AF_UNSPEC, l->cfg->server_host,
                                            (int)l->cfg->server_port) != 0)
        go_down(l, "cannot resolve or connect");
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct agent_link *l = arg;
    go_down(l, l->state == OPEN ? "no answer within ack_timeout"
                                : "no session within connect_timeout");
}

static void on_ping(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct agent_link *l = arg;
    if (l->state != OPEN || l->inflight) {
        if (l->state == OPEN)
            arm(l->ping_ev, l->cfg->ping_interval * 1000);
        return;
    }
    Lpg__V1__Ping ping = LPG__V1__PING__INIT;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ping.has_client_time_ms = 1;
    ping.client_time_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    Lpg__V1__Envelope env = LPG__V1__ENVELOPE__INIT;
    env.has_request_id = 1;
    env.request_id = ++l->next_request_id;
    env.body_case = LPG__V1__ENVELOPE__BODY_PING;
    env.ping = &ping;
    if (send_env(l, &env) != 0) {
        go_down(l, "cannot send Ping");
        return;
    }
    l->inflight = env.request_id;
    l->inflight_is_batch = false;
    arm(l->timeout_ev, l->cfg->ack_timeout);
}

struct agent_link *agent_link_new(struct event_base *base, const struct agent_config *cfg,
                                  const char *credential, const struct agent_link_callbacks *cb,
                                  void *arg)
{
    struct agent_link *l = calloc(1, sizeof(*l));
    if (!l)
        return NULL;
    l->base = base;
    l->cfg = cfg;
    l->cb = *cb;
    l->arg = arg;
    l->state = DOWN;
    l->batch_limit = (size_t)cfg->batch_max_fixes;
    backoff_init(&l->backoff, (int)cfg->reconnect_min, (int)cfg->reconnect_max);
    backoff_init(&l->retry_backoff, (int)cfg->reconnect_min, (int)cfg->reconnect_max);
    l->credential = strdup(credential);
    if (cfg->tls_ca[0] != '\0') {
        char err[300];
        l->tls = tls_client_ctx_new(cfg->tls_ca, cfg->tls_cert, cfg->tls_key, err, sizeof(err));
        if (l->tls == NULL) {
            log_error("%s", err);
            agent_link_free(l);
            return NULL;
        }
    }
    l->retry_ev = evtimer_new(base, try_connect, l);
    l->timeout_ev = evtimer_new(base, on_timeout, l);
    l->ping_ev = evtimer_new(base, on_ping, l);
    if (!l->credential || !l->retry_ev || !l->timeout_ev || !l->ping_ev) {
        agent_link_free(l);
        return NULL;
    }
    arm(l->retry_ev, 0);
    return l;
}

void agent_link_free(struct agent_link *l)
{
    if (!l)
        return;
    if (l->bev)
        bufferevent_free(l->bev);
    lpg_frame_decoder_free(l->dec);
    tls_ctx_free(l->tls);
    if (l->retry_ev)
        event_free(l->retry_ev);
    if (l->timeout_ev)
        event_free(l->timeout_ev);
    if (l->ping_ev)
        event_free(l->ping_ev);
    if (l->credential)
        memset(l->credential, 0, strlen(l->credential));
    free(l->credential);
    free(l);
}

bool agent_link_ready(const struct agent_link *l)
{
    return l->state == OPEN && l->inflight == 0 && !l->hold;
}

bool agent_link_connected(const struct agent_link *l)
{
    return l->state == OPEN;
}

size_t agent_link_batch_limit(const struct agent_link *l)
{
    return l->batch_limit;
}

int agent_link_send(struct agent_link *l, const struct agent_fix *fixes, size_t n, bool late)
{
    if (!agent_link_ready(l) || n == 0)
        return -1;
    Lpg__V1__Fix *fx = calloc(n, sizeof(*fx));
    Lpg__V1__Fix **ptrs = calloc(n, sizeof(*ptrs));
    if (!fx || !ptrs) {
        free(fx);
        free(ptrs);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const struct agent_fix *a = &fixes[i];
        Lpg__V1__Fix *f = &fx[i];
        lpg__v1__fix__init(f);
        ptrs[i] = f;
        f->has_seq = f->has_time_ms = f->has_lat_e7 = f->has_lon_e7 = 1;
        f->seq = a->seq;
        f->time_ms = a->time_ms;
        f->lat_e7 = a->lat_e7;
        f->lon_e7 = a->lon_e7;
        f->has_speed_cm_s = a->has_speed;
        f->speed_cm_s = a->speed_cm_s;
        f->has_heading_cdeg = a->has_heading;
        f->heading_cdeg = a->heading_cdeg;
        f->has_accuracy_cm = a->has_accuracy;
        f->accuracy_cm = a->accuracy_cm;
        f->has_altitude_cm = a->has_altitude;
        f->altitude_cm = a->altitude_cm;
        f->has_mode = 1;
        f->mode = (Lpg__V1__Fix__Mode)a->mode;
        f->has_source = 1;
        f->source = (Lpg__V1__Fix__Source)a->source;
        f->has_speed_derived = a->speed_derived;
        f->speed_derived = a->speed_derived;
        f->has_satellites = a->has_satellites;
        f->satellites = a->satellites;
    }
    Lpg__V1__PositionBatch pb = LPG__V1__POSITION_BATCH__INIT;
    pb.n_fixes = n;
    pb.fixes = ptrs;
    pb.has_late = late;
    pb.late = late;
    Lpg__V1__Envelope env = LPG__V1__ENVELOPE__INIT;
    env.has_request_id = 1;
    env.request_id = l->next_request_id + 1;
    env.body_case = LPG__V1__ENVELOPE__BODY_POSITION_BATCH;
    env.position_batch = &pb;
    int rc = send_env(l, &env);
    free(fx);
    free(ptrs);
    if (rc != 0)
        return rc;
    l->next_request_id++;
    l->inflight = env.request_id;
    l->inflight_is_batch = true;
    l->inflight_last_seq = fixes[n - 1].seq;
    l->c.batches_sent++;
    l->c.fixes_sent += n;
    arm(l->timeout_ev, l->cfg->ack_timeout);
    return 0;
}

const struct agent_link_counters *agent_link_get_counters(const struct agent_link *l)
{
    return &l->c;
}
