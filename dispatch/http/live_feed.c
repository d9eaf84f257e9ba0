/* live_feed.c -- server-sent events of order changes (live_feed.h). */
#define LOG_TAG "feed"
#include "http/live_feed.h"
#include "app/events.h"

#include "app/events.h"
#include "common/log.h"
#include "core/model_json.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

struct feed_event {
    uint64_t id;
    char enterprise_id[LPG_ID_MAX + 1];
    char *text; /* the whole SSE record, owned */
    size_t len;
};

struct subscriber {
    struct subscriber *prev, *next;
    struct live_feed *feed;
    struct http_call *call;
    char enterprise_id[LPG_ID_MAX + 1]; /* "" = every enterprise */
    char user[LPG_ID_MAX + 1];          /* who opened it */
};

struct live_feed {
    struct feed_event ring[LIVE_FEED_RING];
    uint64_t next_id; /* id of the next event; ring slot = id % LIVE_FEED_RING */
    uint64_t boot;    /* this instance's start time (ms): the first part of every event id */
    struct subscriber *subs;
    size_t n_subs;
    size_t max_per_enterprise, max_per_user; /* 0: no limit of its own */
    struct live_feed_stats stats;
    struct event *heartbeat;
};

static void sub_unlink(struct subscriber *s)
{
    struct live_feed *f = s->feed;
    if (s->prev)
        s->prev->next = s->next;
    else
        f->subs = s->next;
    if (s->next)
        s->next->prev = s->prev;
    f->n_subs--;
}

/* The client went away: the server has freed the call. */
static void on_closed(void *arg)
{
    struct subscriber *s = arg;
    sub_unlink(s);
    log_debug("live feed subscriber left (%zu open)", s->feed->n_subs);
    free(s);
}

static void sub_end(struct subscriber *s)
{
    sub_unlink(s);
    http_stream_end(s->call);
    free(s);
}

static int sub_send(struct subscriber *s, const char *text, size_t len)
{
    if (http_stream_write(s->call, text, len, LIVE_FEED_MAX_BACKLOG) != 0) {
        log_warn("live feed subscriber is not reading; dropping it");
        sub_end(s);
        return -1;
    }
    return 0;
}

static void on_heartbeat(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct live_feed *f = arg;
    for (struct subscriber *s = f->subs, *next; s; s = next) {
        next = s->next;
        sub_send(s, ": keepalive\n\n", 13);
    }
}

struct live_feed *live_feed_new(struct event_base *base)
{
    struct live_feed *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return NULL;
    f->next_id = 1;
    struct timeval now;
    evutil_gettimeofday(&now, NULL);
    f->boot = (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_usec / 1000;
    f->heartbeat = event_new(base, -1, EV_PERSIST, on_heartbeat, f);
    struct timeval tv = {LIVE_FEED_HEARTBEAT_S, 0};
    if (f->heartbeat == NULL || event_add(f->heartbeat, &tv) != 0) {
        live_feed_free(f);
        return NULL;
    }
    return f;
}

void live_feed_close_all(struct live_feed *f)
{
    while (f && f->subs)
        sub_end(f->subs);
}

void live_feed_free(struct live_feed *f)
{
    if (f == NULL)
        return;
    live_feed_close_all(f);
    for (size_t i = 0; i < LIVE_FEED_RING; i++)
        free(f->ring[i].text);
    if (f->heartbeat)
        event_free(f->heartbeat);
    free(f);
}

static int sees(const struct subscriber *s, const char *enterprise_id)
{
    return s->enterprise_id[0] == '\0' || strcmp(s->enterprise_id, enterprise_id) == 0;
}

void live_feed_publish(struct live_feed *f, const char *enterprise_id, const char *event,
                       json_t *data)
{
    char *json = data ? json_dumps(data, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(data);
    if (f == NULL || json == NULL) {
        free(json);
        return;
    }
    uint64_t id = f->next_id++;
    size_t cap = strlen(json) + 96;
    char *text = malloc(cap);
    if (text == NULL) {
        free(json);
        return;
    }
    int len = snprintf(text, cap, "id: %" PRIu64 ".%" PRIu64 "\nevent: %s\ndata: %s\n\n", f->boot,
                       id, event, json);
    free(json);
    struct feed_event *slot = &f->ring[id % LIVE_FEED_RING];
    free(slot->text);
    slot->id = id;
    snprintf(slot->enterprise_id, sizeof(slot->enterprise_id), "%s", enterprise_id);
    slot->text = text;
    slot->len = (size_t)len;
    for (struct subscriber *s = f->subs, *next; s; s = next) {
        next = s->next;
        if (sees(s, enterprise_id))
            sub_send(s, text, (size_t)len);
    }
}

void live_feed_publish_order(struct live_feed *f, const struct lpg_order *o)
{
    if (f == NULL || o == NULL)
        return;
    json_t *order = lpg_json_from_order(o);
    char type[48];
    snprintf(type, sizeof(type), "order.%s", lpg_order_state_name(o->state));
    json_t *data = order ? json_pack("{s:s, s:o}", "type", type, "order", order) : NULL;
    if (data == NULL) {
        log_error("out of memory publishing order %s", o->id);
        return;
    }
    live_feed_publish(f, o->enterprise_id, "order", data);
}

static void on_order_changed(void *arg, const struct service_event *ev)
{
    live_feed_publish_order(arg, ev->order);
}

/* An alert (a rule's, a compliance check's, a system alert with enterprise "") as event
 * "alert"; the bus lends the JSON, the feed keeps its own reference. */
static void on_alert_raised(void *arg, const struct service_event *ev)
{
    struct live_feed *f = arg;
    if (ev->json)
        live_feed_publish(f, ev->enterprise_id ? ev->enterprise_id : "", "alert",
                          json_incref(ev->json));
}

int live_feed_listen(struct live_feed *f, struct event_bus *bus)
{
    return event_bus_subscribe(bus, EV_ORDER_CHANGED, on_order_changed, f) != 0 ||
                   event_bus_subscribe(bus, EV_ALERT_RAISED, on_alert_raised, f) != 0
               ? -1
               : 0;
}

void live_feed_subscribe(struct live_feed *f, struct http_call *call,
                         const struct auth_principal *p, const char *last_event_id)
{
    if (f->n_subs >= LIVE_FEED_MAX_SUBSCRIBERS) {
        f->stats.refused_capacity++;
        http_reply_error(call, 503, "too_many_subscribers",
                         "the live feed has too many open streams; retry later", NULL);
        return;
    }
    /* Per user and per enterprise (a dispatcher's streams count for both; admins' and
     * auditors' see every enterprise and count for their user only). At most
     * LIVE_FEED_MAX_SUBSCRIBERS streams to walk. */
    const char *ent = p->role == AUTH_ROLE_DISPATCHER ? p->enterprise_id : "";
    size_t of_user = 0, of_ent = 0;
    for (const struct subscriber *o = f->subs; o; o = o->next) {
        of_user += strcmp(o->user, p->user) == 0;
        of_ent += ent[0] && strcmp(o->enterprise_id, ent) == 0;
    }
    if (f->max_per_user && of_user >= f->max_per_user) {
        f->stats.refused_user++;
        char msg[160];
        snprintf(msg, sizeof(msg),
                 "you already have %zu live-feed streams open (events_max_per_user); close one",
                 of_user);
        http_reply_error(call, 429, "too_many_streams", msg, NULL);
        return;
    }
    if (f->max_per_enterprise && ent[0] && of_ent >= f->max_per_enterprise) {
        f->stats.refused_enterprise++;
        char msg[160];
        snprintf(msg, sizeof(msg),
                 "your enterprise already has %zu live-feed streams open "
                 "(events_max_per_enterprise); close one",
                 of_ent);
        http_reply_error(call, 429, "too_many_streams", msg, NULL);
        return;
    }
    struct subscriber *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        http_reply_error(call, 500, "internal", "out of memory", NULL);
        return;
    }
    s->feed = f;
    s->call = call;
    snprintf(s->enterprise_id, sizeof(s->enterprise_id), "%s", ent);
    snprintf(s->user, sizeof(s->user), "%s", p->user);
    s->next = f->subs;
    if (f->subs)
        f->subs->prev = s;
    f->subs = s;
    f->n_subs++;
    http_stream_start(call, "text/event-stream; charset=utf-8", on_closed, s);
    /* Tell the client to retry after 2 s, and open the stream with a comment so that the
     * headers and first chunk go out at once. */
    static const char hello[] = "retry: 2000\n: lpg-dispatch live feed\n\n";
    if (sub_send(s, hello, sizeof(hello) - 1) != 0)
        return;
    if (last_event_id == NULL)
        return;
    /* Ids are "<boot>.<n>": an id of another boot (before a restart of this instance, or of
     * another instance), a malformed one, or one older than the ring: the client must reload. */
    char *end;
    unsigned long long boot = strtoull(last_event_id, &end, 10);
    unsigned long long last = 0;
    int ours = *end == '.';
    if (ours) {
        const char *n = end + 1;
        last = strtoull(n, &end, 10);
        ours = *n != '\0' && *end == '\0' && boot == f->boot;
    }
    uint64_t first = last + 1;
    if (!ours || last >= f->next_id || f->next_id - first > LIVE_FEED_RING) {
        char reset[96];
        int n =
            snprintf(reset, sizeof(reset), "event: reset\ndata: {\"reload\":\"/v1/orders\"}\n\n");
        sub_send(s, reset, (size_t)n);
        return;
    }
    for (uint64_t id = first; id < f->next_id; id++) {
        const struct feed_event *ev = &f->ring[id % LIVE_FEED_RING];
        if (ev->id == id && sees(s, ev->enterprise_id) && sub_send(s, ev->text, ev->len) != 0)
            return;
    }
}

size_t live_feed_subscribers(const struct live_feed *f)
{
    return f ? f->n_subs : 0;
}

void live_feed_set_limits(struct live_feed *f, size_t per_enterprise, size_t per_user)
{
    f->max_per_enterprise = per_enterprise;
    f->max_per_user = per_user;
}

const struct live_feed_stats *live_feed_stats(const struct live_feed *f)
{
    return &f->stats;
}
