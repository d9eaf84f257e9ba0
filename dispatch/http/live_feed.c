/* live_feed.c -- server-sent events of order changes (live_feed.h). */
#define LOG_TAG "feed"
#include "http/live_feed.h"
#include "app/events.h"

#include "common/clock.h"
#include "common/log.h"
#include "core/model_json.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>

struct feed_event {
    uint64_t id;
    unsigned type; /* LIVE_FEED_* */
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
    unsigned types;                     /* LIVE_FEED_*: what it asked for */
};

/* The position throttle (live_feed.h): one entry per vehicle that reported since start (bounded
 * by LIVE_FEED_MAX_VEHICLES), found by hash. An entry holds the time its last event went out
 * and, while the interval runs, the newest position since (one SSE record, replaced by each
 * newer one), queued on the pending list that the timer sends when due. */
#define POS_BUCKETS 4096u
struct pos_entry {
    struct pos_entry *next;         /* hash chain */
    struct pos_entry *next_pending; /* the pending list */
    char vehicle_id[LPG_ID_MAX + 1];
    char enterprise_id[LPG_ID_MAX + 1];
    int64_t sent_ms; /* monotonic ms of its last event out; 0 never */
    /* The position waiting for the interval to end: kept as plain values and turned into the
     * event's text only when it goes out, so that the positions a newer one supersedes within
     * the interval (most of them, at one fix a second) cost a copy, not a JSON document. */
    int waiting;
    struct event_position pos; /* pos.source points to ingest_source_name's static names */
    char driver_id[LPG_ID_MAX + 1];
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
    /* Position events: the throttle per vehicle. */
    struct pos_entry *pos_buckets[POS_BUCKETS];
    size_t n_pos;
    struct pos_entry *pending, *pending_tail;
    struct event *pos_timer; /* one-shot: the first pending position is due */
    int64_t pos_interval_ms;
    int64_t pos_timer_due_ms; /* monotonic ms the timer is armed for, when pending */
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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

static void on_pos_timer(evutil_socket_t fd, short what, void *arg);

struct live_feed *live_feed_new(struct event_base *base)
{
    struct live_feed *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return NULL;
    f->next_id = 1;
    f->pos_interval_ms = 5000;
    f->pos_timer = evtimer_new(base, on_pos_timer, f);
    if (f->pos_timer == NULL) {
        free(f);
        return NULL;
    }
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
    if (f->pos_timer)
        event_free(f->pos_timer);
    for (size_t b = 0; b < POS_BUCKETS; b++)
        for (struct pos_entry *e = f->pos_buckets[b], *next; e; e = next) {
            next = e->next;
            free(e);
        }
    free(f);
}

static int sees(const struct subscriber *s, const char *enterprise_id)
{
    return s->enterprise_id[0] == '\0' || strcmp(s->enterprise_id, enterprise_id) == 0;
}

/* What kind of event an SSE event name is (a name of no kind, e.g. none yet: every stream). */
static unsigned event_type(const char *event)
{
    if (strcmp(event, "order") == 0)
        return LIVE_FEED_ORDERS;
    if (strcmp(event, "alert") == 0)
        return LIVE_FEED_ALERTS;
    if (strcmp(event, "position") == 0)
        return LIVE_FEED_POSITIONS;
    return LIVE_FEED_ALL;
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
    unsigned type = event_type(event);
    struct feed_event *slot = &f->ring[id % LIVE_FEED_RING];
    free(slot->text);
    slot->id = id;
    slot->type = type;
    snprintf(slot->enterprise_id, sizeof(slot->enterprise_id), "%s", enterprise_id);
    slot->text = text;
    slot->len = (size_t)len;
    for (struct subscriber *s = f->subs, *next; s; s = next) {
        next = s->next;
        if ((s->types & type) && sees(s, enterprise_id))
            sub_send(s, text, (size_t)len);
    }
}

/* Sends a position record to the streams of its enterprise that asked for positions. Not in
 * the replay ring, and without an id: a reconnecting client gets the vehicles' newest positions
 * from the next events (or GET /v1/fleet), and its Last-Event-ID stays that of the last order or
 * alert it saw. */
static void pos_send(struct live_feed *f, struct pos_entry *e)
{
    e->waiting = 0;
    json_t *data = live_feed_position_json(e->enterprise_id, e->vehicle_id,
                                           e->driver_id[0] ? e->driver_id : NULL, &e->pos);
    char *json = data ? json_dumps(data, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(data);
    size_t cap = json ? strlen(json) + 32 : 0;
    char *text = json ? malloc(cap) : NULL;
    if (text == NULL) {
        free(json);
        f->stats.positions_dropped++;
        return;
    }
    int len = snprintf(text, cap, "event: position\ndata: %s\n\n", json);
    free(json);
    f->stats.positions_sent++;
    for (struct subscriber *s = f->subs, *next; s; s = next) {
        next = s->next;
        if ((s->types & LIVE_FEED_POSITIONS) && sees(s, e->enterprise_id))
            sub_send(s, text, (size_t)len);
    }
    free(text);
}

static void pos_arm(struct live_feed *f, int64_t due_ms, int64_t now)
{
    int64_t wait = due_ms > now ? due_ms - now : 0;
    f->pos_timer_due_ms = due_ms;
    struct timeval tv = {(time_t)(wait / 1000), (suseconds_t)(wait % 1000 * 1000)};
    event_add(f->pos_timer, &tv);
}

/* The first pending positions are due: send every one that is, keep the others and wake up
 * again for the earliest of them. O(pending vehicles). */
static void on_pos_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct live_feed *f = arg;
    int64_t now = mono_ms(), next_due = INT64_MAX;
    struct pos_entry **pp = &f->pending;
    f->pending_tail = NULL;
    while (*pp) {
        struct pos_entry *e = *pp;
        int64_t due = e->sent_ms + f->pos_interval_ms;
        if (due <= now) {
            *pp = e->next_pending;
            e->next_pending = NULL;
            e->sent_ms = now;
            pos_send(f, e);
            continue;
        }
        if (due < next_due)
            next_due = due;
        f->pending_tail = e;
        pp = &e->next_pending;
    }
    if (f->pending)
        pos_arm(f, next_due, now);
}

static unsigned pos_bucket(const char *id)
{
    unsigned h = 2166136261u; /* FNV-1a */
    for (; *id; id++)
        h = (h ^ (unsigned char)*id) * 16777619u;
    return h & (POS_BUCKETS - 1);
}

static struct pos_entry *pos_entry_of(struct live_feed *f, const char *vehicle_id)
{
    unsigned b = pos_bucket(vehicle_id);
    for (struct pos_entry *e = f->pos_buckets[b]; e; e = e->next)
        if (strcmp(e->vehicle_id, vehicle_id) == 0)
            return e;
    if (f->n_pos >= LIVE_FEED_MAX_VEHICLES)
        return NULL;
    struct pos_entry *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return NULL;
    snprintf(e->vehicle_id, sizeof(e->vehicle_id), "%s", vehicle_id);
    e->next = f->pos_buckets[b];
    f->pos_buckets[b] = e;
    f->n_pos++;
    return e;
}

void live_feed_publish_position(struct live_feed *f, const char *enterprise_id,
                                const char *vehicle_id, const char *driver_id,
                                const struct event_position *p)
{
    struct pos_entry *e = f && vehicle_id && p ? pos_entry_of(f, vehicle_id) : NULL;
    if (e == NULL) {
        if (f)
            f->stats.positions_dropped++;
        return;
    }
    /* The vehicle's enterprise as it is now (a vehicle moved to another enterprise is seen by the
     * new one only). */
    snprintf(e->enterprise_id, sizeof(e->enterprise_id), "%s", enterprise_id);
    snprintf(e->driver_id, sizeof(e->driver_id), "%s", driver_id ? driver_id : "");
    if (e->waiting)
        f->stats.positions_superseded++; /* the newer one replaces it: still one per interval */
    e->pos = *p;
    e->waiting = 1;
    int64_t now = mono_ms();
    int queued = e->next_pending != NULL || f->pending_tail == e;
    if (queued)
        return; /* the timer sends it, the newest, when the interval ends */
    if (e->sent_ms == 0 || now - e->sent_ms >= f->pos_interval_ms) {
        e->sent_ms = now;
        pos_send(f, e);
        return;
    }
    if (f->pending_tail)
        f->pending_tail->next_pending = e;
    else
        f->pending = e;
    f->pending_tail = e;
    /* Entries are queued in arrival order, not in the order they fall due: wake up for this one
     * if it is due before the timer. */
    int64_t due = e->sent_ms + f->pos_interval_ms;
    if (!event_pending(f->pos_timer, EV_TIMEOUT, NULL) || due < f->pos_timer_due_ms)
        pos_arm(f, due, now);
}

void live_feed_set_position_interval(struct live_feed *f, int64_t seconds)
{
    f->pos_interval_ms = seconds > 0 ? seconds * 1000 : 0;
}

json_t *live_feed_position_json(const char *enterprise_id, const char *vehicle_id,
                                const char *driver_id, const struct event_position *p)
{
    json_t *o =
        json_pack("{s:s, s:s, s:s?, s:o, s:f, s:f, s:s}", "vehicle_id", vehicle_id, "enterprise_id",
                  enterprise_id, "driver_id", driver_id, "time", lpg_json_instant(p->time_ms),
                  "lat", p->lat, "lon", p->lon, "source", p->source ? p->source : "handset");
    if (o == NULL)
        return NULL;
    /* km/h and degrees, as the alerts and the route speak; null when the fix had none. */
    json_object_set_new(o, "speed_kmh",
                        p->speed_cm_s >= 0 ? json_real(p->speed_cm_s * 0.036) : json_null());
    json_object_set_new(o, "heading",
                        p->heading_cdeg >= 0 ? json_real(p->heading_cdeg / 100.0) : json_null());
    return o;
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

/* A vehicle's new position as event "position", throttled per vehicle. Nobody listening for
 * positions: nothing is built (the throttle's state only matters to a stream that sees it). */
static void on_position(void *arg, const struct service_event *ev)
{
    struct live_feed *f = arg;
    if (ev->position == NULL || ev->vehicle_id == NULL || f->n_subs == 0)
        return;
    const char *ent = ev->enterprise_id ? ev->enterprise_id : "";
    live_feed_publish_position(f, ent, ev->vehicle_id, ev->staff_id, ev->position);
}

/* An order flagged late as event "order" of type "order.late" (its state is unchanged). */
static void on_order_late(void *arg, const struct service_event *ev)
{
    json_t *order = ev->order ? lpg_json_from_order(ev->order) : NULL;
    json_t *data = order ? json_pack("{s:s, s:o}", "type", "order.late", "order", order) : NULL;
    if (data != NULL)
        live_feed_publish(arg, ev->order->enterprise_id, "order", data);
}

int live_feed_listen(struct live_feed *f, struct event_bus *bus)
{
    return event_bus_subscribe(bus, EV_ORDER_CHANGED, on_order_changed, f) != 0 ||
                   event_bus_subscribe(bus, EV_ALERT_RAISED, on_alert_raised, f) != 0 ||
                   event_bus_subscribe(bus, EV_POSITION, on_position, f) != 0 ||
                   event_bus_subscribe(bus, EV_ORDER_LATE, on_order_late, f) != 0
               ? -1
               : 0;
}

int live_feed_parse_types(const char *text, unsigned *types)
{
    *types = 0;
    if (text == NULL) {
        *types = LIVE_FEED_ALL;
        return 0;
    }
    /* At most three names (and the request line's cap bounds the text anyway). */
    const char *p = text;
    for (int n = 0; n < 8; n++) {
        size_t len = strcspn(p, ",");
        if (len == 6 && strncmp(p, "orders", 6) == 0)
            *types |= LIVE_FEED_ORDERS;
        else if (len == 6 && strncmp(p, "alerts", 6) == 0)
            *types |= LIVE_FEED_ALERTS;
        else if (len == 9 && strncmp(p, "positions", 9) == 0)
            *types |= LIVE_FEED_POSITIONS;
        else
            return -1;
        if (p[len] == '\0')
            return 0;
        p += len + 1;
    }
    return -1;
}

void live_feed_subscribe(struct live_feed *f, struct http_call *call,
                         const struct auth_principal *p, const char *last_event_id, unsigned types)
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
    const char *ent = auth_default_enterprise(p);
    /* An auditor limited to several enterprises has no one stream to see; it is refused like an
     * unscoped read (auth_check). */
    struct auth_denial denied;
    if (auth_check(p, AUTH_READ, ent, lpg_now_ms(), &denied) != 0) {
        http_reply_error(call, denied.http_status, denied.code, denied.message, NULL);
        return;
    }
    if (ent == NULL)
        ent = "";
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
    s->types = types ? types : LIVE_FEED_ALL;
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
        if (ev->id == id && (s->types & ev->type) && sees(s, ev->enterprise_id) &&
            sub_send(s, ev->text, ev->len) != 0)
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
