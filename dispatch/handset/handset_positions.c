/* handset_positions.c -- PositionBatch to fixes and back, Alert pushes (handset_positions.h). */
#include "handset/handset_positions.h"

#include "app/alerts.h"
#include "app/events.h"
#include "app/ingest.h"
#include "store/accounts.h"

#include "lpg/v1/envelope.pb-c.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Fixes converted on the stack up to this many (lpg-agent sends about 5 a batch); a larger batch
 * is converted into a heap array for the call. */
#define FIXES_ON_STACK 32

/* What the reply to one batch needs once ingest answers (the connection is held till then). */
struct batch_reply {
    struct handset_conn *c;
    int has_req;
    uint64_t req;
};

/* The wire fix in fix.h's units. A field the device left out: seq 0, time 0 or a NaN position
 * (ingest counts such a fix invalid and skips it), or the optional measure absent. The
 * conversions are exact both ways for the wire's integers (ingest stores them back unchanged);
 * a mode outside 0..255 (no such Fix.Mode) is kept modulo 256, as the rules always saw it. */
static void fix_of(const Lpg__V1__Fix *f, int late, struct ingest_fix *out)
{
    memset(out, 0, sizeof(*out));
    struct lpg_fix *x = &out->fix;
    out->seq = f->has_seq ? f->seq : 0;
    x->time_ms = f->has_time_ms && f->time_ms <= (uint64_t)INT64_MAX ? (int64_t)f->time_ms : 0;
    x->pos.lat = f->has_lat_e7 ? (double)f->lat_e7 / 1e7 : NAN;
    x->pos.lon = f->has_lon_e7 ? (double)f->lon_e7 / 1e7 : NAN;
    x->has_speed = f->has_speed_cm_s;
    x->speed_kmh = (double)f->speed_cm_s * 0.036; /* cm/s -> km/h */
    x->has_heading = f->has_heading_cdeg;
    x->heading_deg = (double)f->heading_cdeg / 100.0;
    x->has_accuracy = f->has_accuracy_cm;
    x->accuracy_m = (double)f->accuracy_cm / 100.0;
    x->mode = f->has_mode ? (uint8_t)f->mode : 0;
    x->flags = (f->has_speed_derived && f->speed_derived ? LPG_FIX_DERIVED_SPEED : 0) |
               (late ? LPG_FIX_LATE : 0);
}

/* Ingest's answer on the wire, exactly as the protocol documents it; then c is released. */
static void on_ingested(void *arg, const struct ingest_result *r)
{
    struct batch_reply br = *(struct batch_reply *)arg;
    free(arg);
    const struct refusal *no = &r->refusal;
    switch (no->kind) {
    case REFUSAL_NONE: {
        Lpg__V1__Ack ack = LPG__V1__ACK__INIT;
        ack.has_ack_seq = br.has_req;
        ack.ack_seq = br.req;
        ack.has_position_seq = 1;
        ack.position_seq = r->position_seq;
        Lpg__V1__Envelope env = LPG__V1__ENVELOPE__INIT;
        env.body_case = LPG__V1__ENVELOPE__BODY_ACK;
        env.ack = &ack;
        handset_conn_send(br.c, &env);
        break;
    }
    case REFUSAL_INVALID:
        handset_conn_error(br.c, LPG__V1__ERROR__CODE__INVALID_ARGUMENT, no->message, br.has_req,
                           br.req, 0);
        break;
    case REFUSAL_RATE_LIMITED:
    case REFUSAL_RULE:
    case REFUSAL_CONFLICT:
        /* REFUSED names the rule: rate_limited, seq_out_of_window. */
        handset_conn_refuse(br.c, no->code, no->message, br.has_req, br.req);
        break;
    default:
        /* The store, memory, loading: nothing was stored, the device resends (safe). */
        handset_conn_error(br.c, LPG__V1__ERROR__CODE__UNAVAILABLE, no->message, br.has_req, br.req,
                           0);
        break;
    }
    handset_conn_release(br.c);
}

/* The connection is freed: its device's next session reads its mark from the store again. */
static void on_conn_freed(void *dev)
{
    ingest_device_session_ended(dev);
}

void handset_positions_batch(struct service *s, struct handset_conn *c,
                             const Lpg__V1__Envelope *env)
{
    const Lpg__V1__PositionBatch *b = env->position_batch;
    struct batch_reply *br = malloc(sizeof(*br));
    struct ingest_fix local[FIXES_ON_STACK];
    /* A batch beyond position_batch_max is refused by ingest without reading its fixes: it is
     * not converted (a 64 KiB frame of empty fixes would otherwise cost MBs of copies). */
    int convert = b->n_fixes > 0 && b->n_fixes <= (size_t)s->cfg.position_batch_max;
    struct ingest_fix *fixes = !convert                       ? NULL
                               : b->n_fixes <= FIXES_ON_STACK ? local
                                                              : malloc(b->n_fixes * sizeof(*fixes));
    if (br == NULL || (convert && fixes == NULL)) {
        free(br);
        handset_conn_error(c, LPG__V1__ERROR__CODE__UNAVAILABLE, "out of memory",
                           env->has_request_id, env->request_id, 0);
        return;
    }
    for (size_t i = 0; convert && i < b->n_fixes; i++)
        fix_of(b->fixes[i], b->has_late && b->late, &fixes[i]);
    /* The device's state in ingest is dropped with the connection: a new session re-reads it. */
    if (handset_conn_data(c) == NULL) {
        struct ingest_device *dev = ingest_device_of(s, handset_conn_device(c));
        if (dev)
            handset_conn_set_data(c, dev, on_conn_freed);
    }
    br->c = c;
    br->has_req = env->has_request_id;
    br->req = env->request_id;
    struct ingest_source src = {
        .kind = INGEST_SOURCE_HANDSET,
        .device_id = handset_conn_device(c),
        .staff_id = handset_conn_staff(c),
        .vehicle_id = NULL, /* the person's vehicle */
    };
    if (src.staff_id[0] == '\0') {
        /* A session without a person: a vehicle's unit (account_register_vehicle_device), whose
         * vehicle is read from its registration at each batch (O(1)), so a batch after the
         * device was bound elsewhere goes to the vehicle it is bound to now. */
        const struct device_record *rec = accounts_device(s->accounts, src.device_id);
        src.kind = INGEST_SOURCE_VEHICLE_UNIT;
        src.staff_id = NULL;
        src.vehicle_id = rec && rec->vehicle_id[0] ? rec->vehicle_id : NULL;
    }
    handset_conn_hold(c); /* released by on_ingested, now or once stored */
    ingest_positions(s, &src, fixes, b->n_fixes, on_ingested, br);
    if (fixes != local)
        free(fixes); /* NULL when not converted */
}

/* ---- alerts to the device ---- */

static void on_alert_raised(void *arg, const struct service_event *ev)
{
    struct handset_ctx *h = arg;
    const struct lpg_alert *a = ev->alert;
    if (a == NULL || ev->device_id == NULL || h->srv == NULL)
        return; /* a system alert, or no device to tell */
    struct handset_conn *c = handset_server_find_device(h->srv, ev->device_id);
    if (c == NULL)
        return; /* not connected here: it sees its alerts in the app's lists */
    Lpg__V1__Alert msg = LPG__V1__ALERT__INIT;
    msg.alert_id = (char *)a->id;
    msg.kind = (char *)alerts_rule_name(a);
    msg.message = (char *)a->ev.message;
    msg.has_time_ms = 1;
    msg.time_ms = (uint64_t)a->ev.end_ms;
    msg.has_severity = 1;
    /* 1 warning, 2 a violation begins, 0 an episode ended (information). */
    msg.severity = a->ev.kind == RULE_EVENT_WARNING         ? 1
                   : a->ev.kind == RULE_EVENT_VIOLATION_END ? 0
                                                            : 2;
    Lpg__V1__Envelope env = LPG__V1__ENVELOPE__INIT;
    env.body_case = LPG__V1__ENVELOPE__BODY_ALERT;
    env.alert = &msg;
    handset_conn_send(c, &env);
}

int handset_positions_listen(struct handset_ctx *h)
{
    return event_bus_subscribe(h->s->bus, EV_ALERT_RAISED, on_alert_raised, h);
}
