/* dispatcher.c -- automatic assignment and re-matching of waiting orders (dispatcher.h). */
#define LOG_TAG "dispatch"
#include "app/dispatcher.h"
#include "common/clock.h"

#include "app/events.h"
#include "app/usecase_job.h"
#include "store/audit_log.h"
#include "store/entity.h"
#include "common/log.h"
#include "core/match.h"
#include "core/model_json.h"
#include "core/registry.h"
#include "store/registry_store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

/* Orders one re-matching transaction may change (a pass continues in the next one). */
#define REMATCH_ORDERS_PER_TXN 8

/* Waiting orders examined per re-match job: bounds one job's time on the loop. */
#define REMATCH_SCAN_MAX 4096

void dispatcher_order_changed(struct service *d, const char *order_id)
{
    const struct lpg_order *o = registry_order(d->registry, order_id);
    if (o == NULL)
        return;
    struct service_event ev = {.kind = EV_ORDER_ASSIGNED,
                               .enterprise_id = o->enterprise_id,
                               .order_id = o->id,
                               .staff_id = o->staff_id,
                               .vehicle_id = o->vehicle_id,
                               .order = o};
    /* The assignee's handset hears of it first, then the dispatchers' feed (as before). */
    if (o->state == LPG_ORDER_ASSIGNED)
        event_bus_publish(d->bus, &ev);
    ev.kind = EV_ORDER_CHANGED;
    event_bus_publish(d->bus, &ev);
}

/* The audit kind of an order event: creation, a named transition, or the way back to created
 * (a person's rejection or a dispatcher's unassignment). */
static void order_event_kind(const struct order_event *ev, char *out, size_t cap)
{
    if (ev->from == ev->to && ev->to == LPG_ORDER_CREATED)
        snprintf(out, cap, "order_created");
    else if (ev->to == LPG_ORDER_CREATED)
        snprintf(out, cap, ev->actor == ORDER_ACTOR_DEVICE ? "order_rejected" : "order_unassigned");
    else
        snprintf(out, cap, "order_%s", lpg_order_state_name(ev->to));
}

int dispatcher_store_order_event(struct service *d, struct store_txn *txn,
                                 const struct lpg_order *o, const char *event_json)
{
    size_t len = strlen(event_json);
    json_t *data = json_loadb(event_json, len, 0, NULL);
    struct order_event ev;
    struct lpg_json_error jerr;
    if (data == NULL || lpg_json_to_order_event(data, &ev, &jerr) != 0) {
        json_decref(data);
        return -1;
    }
    /* Who holds the order after the event, for an auditor following a person or vehicle. */
    json_object_set_new(data, "staff_id", json_string(o->staff_id));
    json_object_set_new(data, "vehicle_id", json_string(o->vehicle_id));
    char kind[48];
    order_event_kind(&ev, kind, sizeof(kind));
    struct audit_entry e = {ev.at_ms,         kind, ev.actor_id[0] ? ev.actor_id : "system", o->id,
                            o->enterprise_id, data};
    int rc = registry_store_order_event(d->store, txn, o->id, event_json, len) == 0 &&
                     audit_log_append(d->audit, txn, &e) == 0
                 ? 0
                 : -1;
    json_decref(data);
    return rc;
}

/* What only the dispatcher reads and writes. */
struct dispatcher {
    int rematch_queued;     /* a re-matching job is queued or running */
    int rematch_again;      /* another pass was requested meanwhile */
    int late_queued;        /* a late-flagging job is queued or running */
    int started;            /* dispatcher_start: the timers run */
    struct event *tick;     /* every rematch_interval: a pass when some order waits */
    struct event *wake;     /* one-shot, at the next instant that changes eligibility */
    struct event *midnight; /* one-shot, at the next local midnight: expiring documents */
    struct event *rearm;    /* made active by dispatcher_rearm: one computation per loop turn */
    int64_t wake_ms;        /* when wake is armed (0: not armed) */
    int64_t retry_ms;       /* a failed pass or late flagging is tried again then (0: none) */
    struct dispatcher_stats stats;
};

static void on_tick(evutil_socket_t fd, short what, void *arg);
static void on_wake(evutil_socket_t fd, short what, void *arg);
static void on_midnight(evutil_socket_t fd, short what, void *arg);
static void on_rearm(evutil_socket_t fd, short what, void *arg);

int dispatcher_init(struct service *s)
{
    s->dispatcher = calloc(1, sizeof(*s->dispatcher));
    if (s->dispatcher == NULL)
        return -1;
    if (s->base != NULL) {
        s->dispatcher->tick = event_new(s->base, -1, EV_PERSIST, on_tick, s);
        s->dispatcher->wake = event_new(s->base, -1, 0, on_wake, s);
        s->dispatcher->midnight = event_new(s->base, -1, 0, on_midnight, s);
        s->dispatcher->rearm = event_new(s->base, -1, 0, on_rearm, s);
        if (s->dispatcher->tick == NULL || s->dispatcher->wake == NULL ||
            s->dispatcher->midnight == NULL || s->dispatcher->rearm == NULL) {
            dispatcher_free(s);
            return -1;
        }
    }
    return 0;
}

void dispatcher_free(struct service *s)
{
    if (s->dispatcher == NULL)
        return;
    if (s->dispatcher->tick)
        event_free(s->dispatcher->tick);
    if (s->dispatcher->wake)
        event_free(s->dispatcher->wake);
    if (s->dispatcher->midnight)
        event_free(s->dispatcher->midnight);
    if (s->dispatcher->rearm)
        event_free(s->dispatcher->rearm);
    free(s->dispatcher);
    s->dispatcher = NULL;
}

const struct dispatcher_stats *dispatcher_stats(const struct service *d)
{
    static const struct dispatcher_stats none;
    return d->dispatcher ? &d->dispatcher->stats : &none;
}

int dispatcher_try_assign(struct service *d, struct lpg_order *o, int64_t now_ms,
                          struct order_event *ev)
{
    /* Not offered before its delivery window (less the lead time): nobody would be held by an
     * order they cannot deliver yet. */
    const struct lpg_enterprise *e = registry_enterprise(d->registry, o->enterprise_id);
    if (match_window_wait(o, now_ms, d->cfg.order_window_lead * 60000,
                          e ? e->utc_offset_min : LPG_DEFAULT_UTC_OFFSET_MIN, o->reason,
                          sizeof(o->reason)) != 0)
        return 0;
    struct match_result m;
    int rc = match_order(d->registry, o, now_ms, &m);
    if (rc != 0) {
        snprintf(o->reason, sizeof(o->reason), "%s", m.reason);
        return 0;
    }
    char why[160];
    if (order_fsm_apply(o, LPG_ORDER_ASSIGNED, ORDER_ACTOR_SYSTEM, NULL, NULL, now_ms, ev, why,
                        sizeof(why)) != 0) {
        snprintf(o->reason, sizeof(o->reason), "%s", why);
        return 0;
    }
    snprintf(o->staff_id, sizeof(o->staff_id), "%s", m.staff->id);
    snprintf(o->vehicle_id, sizeof(o->vehicle_id), "%s", m.vehicle->id);
    return 1;
}

struct rematch_job {
    struct usecase_job base; /* first: the lifecycle (usecase_job.h) */
    int64_t cursor_ms;       /* continue after this (created_ms, id) */
    char cursor_id[LPG_ID_MAX + 1];
    struct changeset cs;
    int assigned;
    char *events[REMATCH_ORDERS_PER_TXN]; /* JSON of each assignment's event, per changed order */
    const struct lpg_order *event_order[REMATCH_ORDERS_PER_TXN]; /* held by cs */
    size_t n_events;
};

static void rematch_submit(struct service *d, int64_t cursor_ms, const char *cursor_id);

static void rematch_job_free(struct usecase_job *base)
{
    struct rematch_job *job = (struct rematch_job *)base;
    changeset_discard(&job->cs);
    for (size_t i = 0; i < job->n_events; i++)
        free(job->events[i]);
    free(job);
}

static void rematch_done(struct service *d)
{
    d->dispatcher->rematch_queued = 0;
    if (d->dispatcher->rematch_again) {
        d->dispatcher->rematch_again = 0;
        dispatcher_rematch(d);
        return;
    }
    /* The pass saw the registry as it now is: the next instant time changes it. */
    dispatcher_rearm(d);
}

/* A pass or a late flagging that failed (a write conflict, Redis away) is tried again by the
 * wake-up in a second: the instant that asked for it (a rest's end, a window's end) is past,
 * so the next instant alone would leave the order waiting until the periodic pass. */
#define DISPATCHER_RETRY_MS 1000

static void retry_soon(struct service *d)
{
    int64_t at = lpg_now_ms() + DISPATCHER_RETRY_MS;
    if (d->dispatcher->retry_ms == 0 || at < d->dispatcher->retry_ms)
        d->dispatcher->retry_ms = at;
}

/* Nobody waits for a pass: a failure is logged and tried again soon (retry_soon). */
static void rematch_failed(struct usecase_job *base, const struct usecase_failure *f)
{
    struct service *d = base->s;
    if (f->cancelled) {
        d->dispatcher->rematch_queued = 0;
        return;
    }
    log_warn("re-matching stopped: %s; trying again in %d ms",
             f->store_err ? f->store_err : f->refusal->message, DISPATCHER_RETRY_MS);
    retry_soon(d);
    rematch_done(d);
}

static void on_rematch_committed(struct usecase_job *base)
{
    struct rematch_job *job = (struct rematch_job *)base;
    struct service *d = job->base.s;
    char ids[REMATCH_ORDERS_PER_TXN][LPG_ID_MAX + 1];
    size_t n = job->cs.n;
    /* A full changeset means the pass stopped early (reason updates): continue after it. */
    int more = job->assigned || n == REMATCH_ORDERS_PER_TXN;
    for (size_t i = 0; i < n; i++)
        snprintf(ids[i], sizeof(ids[i]), "%s", entity_ops[RS_ORDER].id(job->cs.items[i].entity));
    changeset_apply(&job->cs, d->registry);
    for (size_t i = 0; i < n; i++)
        dispatcher_order_changed(d, ids[i]);
    if (job->assigned)
        d->dispatcher->stats.assigned++;
    if (more) {
        rematch_submit(d, job->cursor_ms, job->cursor_id); /* more may fit */
    } else {
        rematch_done(d);
    }
}

static int before_or_at(int64_t ms, const char *id, int64_t cur_ms, const char *cur_id)
{
    return ms < cur_ms || (ms == cur_ms && strcmp(id, cur_id) <= 0);
}

static void run_rematch(struct usecase_job *base)
{
    struct rematch_job *job = (struct rematch_job *)base;
    struct service *d = job->base.s;
    d->dispatcher->stats.passes++;
    const struct lpg_order **waiting = calloc(REMATCH_SCAN_MAX, sizeof(*waiting));
    size_t n = waiting ? registry_waiting_orders(d->registry, waiting, REMATCH_SCAN_MAX) : 0;
    if (n > REMATCH_SCAN_MAX)
        n = REMATCH_SCAN_MAX; /* the rest on the next pass */
    int64_t now = lpg_now_ms();
    for (size_t i = 0; i < n && job->cs.n < REMATCH_ORDERS_PER_TXN; i++) {
        const struct lpg_order *cur = waiting[i];
        if (job->cursor_id[0] &&
            before_or_at(cur->created_ms, cur->id, job->cursor_ms, job->cursor_id))
            continue;
        struct lpg_order *o = lpg_order_dup(cur);
        if (o == NULL)
            break;
        struct order_event ev;
        int assigned = dispatcher_try_assign(d, o, now, &ev);
        if (!assigned && strcmp(o->reason, cur->reason) == 0) {
            free(o); /* still waiting for the same reason: nothing to store */
            continue;
        }
        if (assigned) {
            job->events[job->n_events] = lpg_order_event_text(&ev);
            job->event_order[job->n_events] = o;
            job->n_events++;
            log_info("order %s assigned to %s (vehicle %s)", o->id, o->staff_id, o->vehicle_id);
        }
        job->cursor_ms = o->created_ms;
        snprintf(job->cursor_id, sizeof(job->cursor_id), "%s", o->id);
        changeset_add(&job->cs, RS_ORDER, o);
        if (assigned) {
            job->assigned = 1;
            break; /* one assignment per transaction: the next sees its load */
        }
    }
    free(waiting);
    if (job->cs.n == 0) {
        usecase_job_end(&job->base);
        rematch_done(d);
        return;
    }
    struct store_txn *txn = store_txn_new();
    int rc = txn ? changeset_save(&job->cs, d->store, txn) : -1;
    for (size_t i = 0; rc == 0 && i < job->n_events; i++)
        rc = job->events[i]
                 ? dispatcher_store_order_event(d, txn, job->event_order[i], job->events[i])
                 : -1;
    if (rc != 0) {
        store_txn_free(txn);
        log_error("re-matching: %s", "out of memory, or the audit record is unavailable");
        usecase_job_end(&job->base);
        rematch_done(d);
        return;
    }
    usecase_job_commit(&job->base, txn);
}

static const struct usecase_job_ops rematch_job_ops = {
    .run = run_rematch,
    .applied = on_rematch_committed,
    .failed = rematch_failed,
    .free = rematch_job_free,
};

static void rematch_submit(struct service *d, int64_t cursor_ms, const char *cursor_id)
{
    struct rematch_job *job = calloc(1, sizeof(*job));
    if (job == NULL) {
        d->dispatcher->rematch_queued = 0;
        return;
    }
    usecase_job_init(&job->base, &rematch_job_ops, d);
    job->cursor_ms = cursor_ms;
    snprintf(job->cursor_id, sizeof(job->cursor_id), "%s", cursor_id ? cursor_id : "");
    d->dispatcher->rematch_queued = 1;
    if (usecase_job_submit(&job->base) != 0) {
        usecase_job_discard(&job->base);
        d->dispatcher->rematch_queued = 0;
    }
}

void dispatcher_rematch(struct service *d)
{
    if (!d->loaded || d->dispatcher == NULL)
        return;
    if (d->dispatcher->rematch_queued) {
        d->dispatcher->rematch_again = 1;
        return;
    }
    rematch_submit(d, 0, NULL);
}

/* ---- time: the periodic pass, the one-shot wake-up, late orders ---- */

/* Orders one late-flagging transaction changes (more in the next one). */
#define LATE_ORDERS_PER_TXN 8

static void late_submit(struct service *d);

/* Cheap when nothing waits: the count of the waiting index, no pass. */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct service *d = arg;
    if (registry_waiting_orders(d->registry, NULL, 0) > 0)
        dispatcher_rematch(d);
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct service *d = arg;
    d->dispatcher->wake_ms = 0;
    d->dispatcher->retry_ms = 0; /* this wake-up is the retry */
    late_submit(d);
    if (registry_waiting_orders(d->registry, NULL, 0) > 0)
        dispatcher_rematch(d); /* its end arms the next wake-up */
    else
        dispatcher_rearm(d);
}

/* Arms the midnight timer at the first local midnight to come among the enterprises' time
 * zones (UTC+8 when there is none). */
static void arm_midnight(struct service *d)
{
    int64_t now = lpg_now_ms(), next = INT64_MAX;
    const struct lpg_enterprise *page[64];
    char after[LPG_ID_MAX + 1] = "";
    size_t n;
    int32_t offsets = 0;
    while ((n = registry_list_enterprises(d->registry, after, 64, page)) > 0) {
        for (size_t i = 0; i < n; i++, offsets++) {
            int32_t day = lpg_local_day(now, page[i]->utc_offset_min);
            int64_t m = ((int64_t)day + 1) * 86400000 - (int64_t)page[i]->utc_offset_min * 60000;
            if (m < next)
                next = m;
        }
        snprintf(after, sizeof(after), "%s", page[n - 1]->id);
        if (n < 64)
            break;
    }
    if (offsets == 0) {
        int32_t day = lpg_local_day(now, LPG_DEFAULT_UTC_OFFSET_MIN);
        next = ((int64_t)day + 1) * 86400000 - (int64_t)LPG_DEFAULT_UTC_OFFSET_MIN * 60000;
    }
    int64_t wait = next > now ? next - now : 0;
    struct timeval tv = {(time_t)(wait / 1000), (suseconds_t)(wait % 1000 * 1000)};
    event_add(d->dispatcher->midnight, &tv);
}

/* A new local day: documents one day closer to running out. */
static void on_midnight(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct service *d = arg;
    expiring_check(d, &d->dispatcher->stats.expiring);
    arm_midnight(d);
}

void dispatcher_start(struct service *d)
{
    struct dispatcher *ds = d->dispatcher;
    if (ds == NULL || ds->tick == NULL || ds->started)
        return;
    ds->started = 1;
    int64_t every = d->cfg.rematch_interval > 0 ? d->cfg.rematch_interval : 30;
    struct timeval tv = {(time_t)every, 0};
    event_add(ds->tick, &tv);
    dispatcher_rearm(d);
    expiring_check(d, &ds->stats.expiring);
    arm_midnight(d);
}

void dispatcher_rearm(struct service *d)
{
    struct dispatcher *ds = d->dispatcher;
    if (ds == NULL || !ds->started || !d->loaded)
        return;
    /* Many changes in one turn of the loop (an import, a burst of orders): one scan after them. */
    if (!event_pending(ds->rearm, EV_TIMEOUT | EV_READ | EV_WRITE | EV_SIGNAL, NULL))
        event_active(ds->rearm, EV_TIMEOUT, 0);
}

/* The scan dispatcher_rearm asked for. */
static void on_rearm(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct service *d = arg;
    struct dispatcher *ds = d->dispatcher;
    if (!d->loaded)
        return;
    int64_t now = lpg_now_ms();
    int64_t at = match_next_instant(d->registry, now, d->cfg.order_window_lead * 60000);
    if (ds->retry_ms != 0 && ds->retry_ms < at)
        at = ds->retry_ms;
    /* An order late now while the late job is queued: its end arms the wake-up again (arming it
     * at once would spin until the job commits). */
    if (at == INT64_MAX || (at <= now && ds->late_queued)) {
        event_del(ds->wake);
        ds->wake_ms = 0;
        return;
    }
    if (ds->wake_ms == at && event_pending(ds->wake, EV_TIMEOUT, NULL))
        return;
    /* The wall clock may be stepped meanwhile: no wake-up further than a day away (the periodic
     * pass and the next change re-arm it anyway). */
    int64_t wait = at > now ? at - now : 0;
    if (wait > 86400000)
        wait = 86400000;
    struct timeval tv = {(time_t)(wait / 1000), (suseconds_t)(wait % 1000 * 1000)};
    ds->wake_ms = at;
    event_add(ds->wake, &tv);
}

struct late_job {
    struct usecase_job base; /* first: the lifecycle (usecase_job.h) */
    struct changeset cs;
};

static void late_job_free(struct usecase_job *base)
{
    struct late_job *job = (struct late_job *)base;
    changeset_discard(&job->cs);
    free(job);
}

static void late_failed(struct usecase_job *base, const struct usecase_failure *f)
{
    struct service *d = base->s;
    d->dispatcher->late_queued = 0;
    if (f->cancelled)
        return;
    log_warn("flagging late orders stopped: %s; trying again in %d ms",
             f->store_err ? f->store_err : f->refusal->message, DISPATCHER_RETRY_MS);
    retry_soon(d);
    dispatcher_rearm(d);
}

static void on_late_committed(struct usecase_job *base)
{
    struct late_job *job = (struct late_job *)base;
    struct service *d = job->base.s;
    char ids[LATE_ORDERS_PER_TXN][LPG_ID_MAX + 1];
    size_t n = job->cs.n;
    for (size_t i = 0; i < n; i++)
        snprintf(ids[i], sizeof(ids[i]), "%s", entity_ops[RS_ORDER].id(job->cs.items[i].entity));
    changeset_apply(&job->cs, d->registry);
    d->dispatcher->late_queued = 0;
    for (size_t i = 0; i < n; i++) {
        const struct lpg_order *o = registry_order(d->registry, ids[i]);
        if (o == NULL)
            continue;
        d->dispatcher->stats.late++;
        log_info("order %s is late: its delivery window ended undelivered", o->id);
        struct service_event ev = {.kind = EV_ORDER_CHANGED,
                                   .enterprise_id = o->enterprise_id,
                                   .order_id = o->id,
                                   .staff_id = o->staff_id,
                                   .vehicle_id = o->vehicle_id,
                                   .order = o};
        event_bus_publish(d->bus, &ev);
        ev.kind = EV_ORDER_LATE;
        event_bus_publish(d->bus, &ev);
    }
    if (n == LATE_ORDERS_PER_TXN)
        late_submit(d); /* more may be late */
    else
        dispatcher_rearm(d);
}

static bool is_late(const void *entity, void *arg)
{
    return match_order_late(entity, *(const int64_t *)arg);
}

/* The history entry of the flag: the order's state stays, "event": "late" says what happened. */
static char *late_event_text(const struct lpg_order *o, int64_t now, int32_t utc_offset_min)
{
    char end[24];
    int32_t day = lpg_local_day(o->window_end_ms, utc_offset_min);
    int64_t in_day = o->window_end_ms + (int64_t)utc_offset_min * 60000 - (int64_t)day * 86400000;
    lpg_day_format(day, end);
    snprintf(end + 10, sizeof(end) - 10, " %02d:%02d", (int)(in_day / 3600000),
             (int)(in_day / 60000 % 60));
    char reason[96];
    snprintf(reason, sizeof(reason), "the delivery window ended at %s before delivery", end);
    const char *state = lpg_order_state_name(o->state);
    json_t *j =
        json_pack("{s:o, s:s, s:s, s:s, s:n, s:s, s:s}", "at", lpg_json_instant(now), "from", state,
                  "to", state, "actor", "system", "actor_id", "reason", reason, "event", "late");
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return text;
}

static void run_late(struct usecase_job *base)
{
    struct late_job *job = (struct late_job *)base;
    struct service *d = job->base.s;
    int64_t now = lpg_now_ms();
    const struct lpg_order *late[LATE_ORDERS_PER_TXN];
    size_t n =
        registry_list_orders(d->registry, NULL, NULL, LATE_ORDERS_PER_TXN, is_late, &now, late);
    if (n == 0) {
        usecase_job_end(&job->base);
        d->dispatcher->late_queued = 0;
        dispatcher_rearm(d);
        return;
    }
    struct store_txn *txn = store_txn_new();
    int rc = txn ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct lpg_order *o = lpg_order_dup(late[i]);
        const struct lpg_enterprise *e = registry_enterprise(d->registry, late[i]->enterprise_id);
        char *text =
            o ? late_event_text(o, now, e ? e->utc_offset_min : LPG_DEFAULT_UTC_OFFSET_MIN) : NULL;
        json_t *data = text ? json_loads(text, 0, NULL) : NULL;
        struct audit_entry a = {now,         "order_late",           "system",
                                late[i]->id, late[i]->enterprise_id, data};
        rc = o && data &&
                     registry_store_order_event(d->store, txn, late[i]->id, text, strlen(text)) ==
                         0 &&
                     audit_log_append(d->audit, txn, &a) == 0
                 ? 0
                 : -1;
        json_decref(data);
        free(text);
        if (rc != 0) {
            free(o);
            break;
        }
        o->late = true; /* the state and updated_at stay: lateness is not a transition */
        rc = changeset_add(&job->cs, RS_ORDER, o); /* owns o, even when it fails */
    }
    if (rc == 0)
        rc = changeset_save(&job->cs, d->store, txn);
    if (rc != 0) {
        store_txn_free(txn);
        log_error("flagging late orders: %s; trying again in %d ms",
                  "out of memory, or the audit record is unavailable", DISPATCHER_RETRY_MS);
        usecase_job_end(&job->base);
        d->dispatcher->late_queued = 0;
        retry_soon(d);
        dispatcher_rearm(d);
        return;
    }
    usecase_job_commit(&job->base, txn);
}

static const struct usecase_job_ops late_job_ops = {
    .run = run_late,
    .applied = on_late_committed,
    .failed = late_failed,
    .free = late_job_free,
};

static void late_submit(struct service *d)
{
    if (!d->loaded || d->dispatcher == NULL || d->dispatcher->late_queued)
        return;
    struct late_job *job = calloc(1, sizeof(*job));
    if (job == NULL)
        return;
    usecase_job_init(&job->base, &late_job_ops, d);
    d->dispatcher->late_queued = 1;
    if (usecase_job_submit(&job->base) != 0) {
        usecase_job_discard(&job->base);
        d->dispatcher->late_queued = 0;
    }
}
