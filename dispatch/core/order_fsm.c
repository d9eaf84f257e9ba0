/* order_fsm.c -- the order state machine: one table of allowed transitions and the functions
 * that read it (see order_fsm.h for the rules in words). Pure. */
#include "core/order_fsm.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define SYS  ORDER_ACTOR_BIT(ORDER_ACTOR_SYSTEM)
#define DISP ORDER_ACTOR_BIT(ORDER_ACTOR_DISPATCHER)
#define DEV  ORDER_ACTOR_BIT(ORDER_ACTOR_DEVICE)

struct transition {
    enum lpg_order_state from, to;
    unsigned actors; /* ORDER_ACTOR_BIT mask */
    bool reason_required;
};

/* Every allowed transition; anything else is refused. Keep in step with order_fsm.h. */
static const struct transition transitions[] = {
    /* the delivery path */
    {LPG_ORDER_CREATED, LPG_ORDER_ASSIGNED, SYS | DISP, false},
    {LPG_ORDER_ASSIGNED, LPG_ORDER_ACCEPTED, DEV, false},
    {LPG_ORDER_ACCEPTED, LPG_ORDER_LOADED, DEV, false},
    /* en route and arrived are also read from the vehicle's track (depot_watch.h): leaving the
     * station, stopping at the customer */
    {LPG_ORDER_LOADED, LPG_ORDER_EN_ROUTE, DEV | SYS, false},
    {LPG_ORDER_EN_ROUTE, LPG_ORDER_ARRIVED, DEV | SYS, false},
    /* the first accepted hand-over at the customer proves arrival; a re-inspection visit
     * carries no cylinders, so it arrives from accepted (delivery.c) */
    {LPG_ORDER_LOADED, LPG_ORDER_ARRIVED, DEV, false},
    {LPG_ORDER_ACCEPTED, LPG_ORDER_ARRIVED, DEV, false},
    {LPG_ORDER_ARRIVED, LPG_ORDER_DELIVERED, DEV, false},
    /* back to waiting: rejected by the person, or un-assigned by a dispatcher */
    {LPG_ORDER_ASSIGNED, LPG_ORDER_CREATED, DEV | DISP, true},
    {LPG_ORDER_ACCEPTED, LPG_ORDER_CREATED, DISP, true},
    /* failure: by a dispatcher, or by the device holding the order */
    {LPG_ORDER_CREATED, LPG_ORDER_FAILED, DISP, true},
    {LPG_ORDER_ASSIGNED, LPG_ORDER_FAILED, DEV | DISP, true},
    {LPG_ORDER_ACCEPTED, LPG_ORDER_FAILED, DEV | DISP, true},
    {LPG_ORDER_LOADED, LPG_ORDER_FAILED, DEV | DISP, true},
    {LPG_ORDER_EN_ROUTE, LPG_ORDER_FAILED, DEV | DISP, true},
    {LPG_ORDER_ARRIVED, LPG_ORDER_FAILED, DEV | DISP, true},
    /* cancellation: dispatchers only */
    {LPG_ORDER_CREATED, LPG_ORDER_CANCELLED, DISP, true},
    {LPG_ORDER_ASSIGNED, LPG_ORDER_CANCELLED, DISP, true},
    {LPG_ORDER_ACCEPTED, LPG_ORDER_CANCELLED, DISP, true},
    {LPG_ORDER_LOADED, LPG_ORDER_CANCELLED, DISP, true},
    {LPG_ORDER_EN_ROUTE, LPG_ORDER_CANCELLED, DISP, true},
    {LPG_ORDER_ARRIVED, LPG_ORDER_CANCELLED, DISP, true},
};

#define N_TRANSITIONS (sizeof(transitions) / sizeof(transitions[0]))

static const char *const actor_names[ORDER_ACTOR_COUNT] = {"system", "dispatcher", "device"};

const char *order_fsm_actor_name(enum order_actor a)
{
    return (unsigned)a < ORDER_ACTOR_COUNT ? actor_names[a] : "?";
}

int order_fsm_actor_parse(const char *s)
{
    for (int i = 0; s != NULL && i < ORDER_ACTOR_COUNT; i++)
        if (strcmp(actor_names[i], s) == 0)
            return i;
    return -1;
}

static bool state_valid(enum lpg_order_state s)
{
    return (unsigned)s < LPG_ORDER_STATE_COUNT;
}

bool order_fsm_is_final(enum lpg_order_state s)
{
    return s == LPG_ORDER_DELIVERED || s == LPG_ORDER_FAILED || s == LPG_ORDER_CANCELLED;
}

bool order_fsm_is_active(enum lpg_order_state s)
{
    return s >= LPG_ORDER_ASSIGNED && s <= LPG_ORDER_ARRIVED;
}

#ifndef NDEBUG
/* The table's invariants: known states and actors, no transition out of a final state or to
 * the same state, no pair listed twice (find takes the first), and a way out of every state
 * that is not final. */
static bool table_sound(void)
{
    for (size_t i = 0; i < N_TRANSITIONS; i++) {
        const struct transition *t = &transitions[i];
        if (!state_valid(t->from) || !state_valid(t->to) || t->from == t->to ||
            order_fsm_is_final(t->from) || t->actors == 0 || (t->actors & ~ORDER_ACTOR_ANY) != 0)
            return false;
        for (size_t j = i + 1; j < N_TRANSITIONS; j++)
            if (transitions[j].from == t->from && transitions[j].to == t->to)
                return false;
    }
    for (int s = 0; s < LPG_ORDER_STATE_COUNT; s++) {
        bool way_out = order_fsm_is_final((enum lpg_order_state)s);
        for (size_t i = 0; i < N_TRANSITIONS && !way_out; i++)
            way_out = transitions[i].from == (enum lpg_order_state)s;
        if (!way_out)
            return false;
    }
    return true;
}
#endif

static const struct transition *find(enum lpg_order_state from, enum lpg_order_state to)
{
#ifndef NDEBUG
    static bool checked; /* once: the table is constant */
    if (!checked) {
        assert(table_sound());
        checked = true;
    }
#endif
    for (size_t i = 0; i < N_TRANSITIONS; i++)
        if (transitions[i].from == from && transitions[i].to == to)
            return &transitions[i];
    return NULL;
}

bool order_fsm_reason_required(enum lpg_order_state from, enum lpg_order_state to)
{
    const struct transition *t = find(from, to);
    return t != NULL && t->reason_required;
}

size_t order_fsm_targets(enum lpg_order_state from, unsigned actor_mask, enum lpg_order_state *out,
                         size_t cap)
{
    size_t n = 0;
    /* In state order rather than table order, so lists read the same everywhere. */
    for (int to = 0; to < LPG_ORDER_STATE_COUNT; to++) {
        const struct transition *t = find(from, (enum lpg_order_state)to);
        if (t == NULL || (t->actors & actor_mask) == 0)
            continue;
        if (out != NULL && n < cap)
            out[n] = (enum lpg_order_state)to;
        n++;
    }
    return n;
}

/* Appends to a bounded string; silently truncates. */
static void append(char *out, size_t cap, size_t *len, const char *s)
{
    while (*s != '\0' && *len + 1 < cap)
        out[(*len)++] = *s++;
    if (cap > 0)
        out[*len] = '\0';
}

void order_fsm_targets_str(enum lpg_order_state from, unsigned actor_mask, char *out, size_t cap)
{
    enum lpg_order_state to[LPG_ORDER_STATE_COUNT];
    size_t n = order_fsm_targets(from, actor_mask, to, LPG_ORDER_STATE_COUNT);
    size_t len = 0;
    if (cap > 0)
        out[0] = '\0';
    if (n == 0)
        append(out, cap, &len, "none");
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            append(out, cap, &len, ", ");
        append(out, cap, &len, lpg_order_state_name(to[i]));
    }
}

static void actors_str(unsigned mask, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    for (int a = 0; a < ORDER_ACTOR_COUNT; a++) {
        if ((mask & ORDER_ACTOR_BIT(a)) == 0)
            continue;
        if (len > 0)
            append(out, cap, &len, " or ");
        append(out, cap, &len, actor_names[a]);
    }
}

__attribute__((format(printf, 3, 4))) static int refuse(char *why, size_t cap, const char *fmt, ...)
{
    if (why != NULL && cap > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, cap, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int order_fsm_check(enum lpg_order_state from, enum lpg_order_state to, enum order_actor actor,
                    const char *reason, char *why, size_t cap)
{
    if (!state_valid(from) || !state_valid(to))
        return refuse(why, cap, "unknown order state %d", state_valid(from) ? (int)to : (int)from);
    if ((unsigned)actor >= ORDER_ACTOR_COUNT)
        return refuse(why, cap, "unknown actor %d", (int)actor);
    const char *f = lpg_order_state_name(from), *t = lpg_order_state_name(to);
    if (order_fsm_is_final(from))
        return refuse(why, cap, "cannot go from %s to %s: %s is final", f, t, f);
    if (from == to)
        return refuse(why, cap, "the order is already %s", f);

    const struct transition *tr = find(from, to);
    if (tr == NULL) {
        char targets[128];
        order_fsm_targets_str(from, ORDER_ACTOR_ANY, targets, sizeof(targets));
        return refuse(why, cap, "cannot go from %s to %s; from %s an order can go to: %s", f, t, f,
                      targets);
    }
    if ((tr->actors & ORDER_ACTOR_BIT(actor)) == 0) {
        char who[64];
        actors_str(tr->actors, who, sizeof(who));
        return refuse(why, cap, "a %s cannot move an order from %s to %s (only the %s can)",
                      actor_names[actor], f, t, who);
    }
    size_t rlen = reason != NULL ? strlen(reason) : 0;
    if (tr->reason_required) {
        bool blank = true;
        for (size_t i = 0; i < rlen && blank; i++)
            blank = reason[i] == ' ' || reason[i] == '\t' || reason[i] == '\n' || reason[i] == '\r';
        if (blank)
            return refuse(why, cap, "a reason is required to go from %s to %s", f, t);
    }
    if (rlen > LPG_TEXT_MAX)
        return refuse(why, cap, "the reason is %zu bytes; at most %d (LPG_TEXT_MAX) are allowed",
                      rlen, LPG_TEXT_MAX);
    return 0;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = src != NULL ? strlen(src) : 0;
    if (n >= cap)
        n = cap - 1;
    if (n > 0)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

int order_fsm_apply(struct lpg_order *o, enum lpg_order_state to, enum order_actor actor,
                    const char *actor_id, const char *reason, int64_t at_ms, struct order_event *ev,
                    char *why, size_t cap)
{
    enum lpg_order_state from = o->state;
    if (order_fsm_check(from, to, actor, reason, why, cap) != 0)
        return -1;
    if (actor_id != NULL && strlen(actor_id) > LPG_ID_MAX)
        return refuse(why, cap, "actor id longer than %d bytes (LPG_ID_MAX)", LPG_ID_MAX);
    if (ev != NULL) {
        memset(ev, 0, sizeof(*ev));
        ev->at_ms = at_ms;
        ev->from = from;
        ev->to = to;
        ev->actor = actor;
        copy_str(ev->actor_id, sizeof(ev->actor_id), actor_id);
        copy_str(ev->reason, sizeof(ev->reason), reason);
    }
    o->state = to;
    o->updated_ms = at_ms;
    if (to == LPG_ORDER_CREATED || to == LPG_ORDER_FAILED || to == LPG_ORDER_CANCELLED)
        copy_str(o->reason, sizeof(o->reason), reason);
    else
        o->reason[0] = '\0';
    if (to == LPG_ORDER_CREATED) {
        o->staff_id[0] = '\0';
        o->vehicle_id[0] = '\0';
    }
    return 0;
}
