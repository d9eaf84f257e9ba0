/*
 * rules.c - the rule table, the per-vehicle state block, evaluation of a fix through the
 * filters and every rule, and the versioned text form of the state (see rules.h).
 */
#include "core/rules.h"

#include "core/legal_defaults.h"
#include "core/model.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct rule_def *const rules_table[RULE_COUNT] = {
    [RULE_OVERSPEED] = &rule_overspeed,
    [RULE_FATIGUE] = &rule_fatigue,
    [RULE_ZONE_EXIT] = &rule_zone_exit,
    [RULE_SIGNAL_LOST] = &rule_signal_lost,
};

void rules_config_default(struct rules_config *cfg)
{
    cfg->road_limit_kmh = LEGAL_ROAD_LIMIT_KMH;
    cfg->expressway_limit_kmh = LEGAL_EXPRESSWAY_LIMIT_KMH;
    cfg->overspeed_duration_ms = LEGAL_OVERSPEED_DURATION_S * 1000LL;
    cfg->overspeed_warning_margin_kmh = LEGAL_OVERSPEED_WARNING_KMH;
    cfg->overspeed_min_fixes = 3;
    cfg->overspeed_max_gap_ms = 15 * 1000;
    cfg->continuous_driving_max_ms = LEGAL_CONTINUOUS_DRIVING_MAX_MIN * 60000LL;
    cfg->fatigue_warning_ms = LEGAL_FATIGUE_WARNING_MIN * 60000LL;
    cfg->daily_driving_max_ms = LEGAL_DAILY_DRIVING_MAX_MIN * 60000LL;
    cfg->min_rest_ms = LEGAL_MIN_REST_MIN * 60000LL;
    cfg->stop_speed_kmh = LEGAL_STOP_SPEED_KMH;
    cfg->min_displacement_m = 50.0;
    cfg->fix_gap_ms = 60 * 1000;
    cfg->gap_rest_max_distance_m = 200.0;
    cfg->gap_assumed_speed_kmh = 20.0;
    cfg->zone_exit_duration_ms = LEGAL_ZONE_EXIT_DURATION_S * 1000LL;
    cfg->signal_lost_ms = LEGAL_SIGNAL_LOST_MIN * 60000LL;
}

double rules_speed_limit_kmh(const struct rules_config *cfg, const struct rules_ctx *ctx)
{
    double lim = ctx->expressway ? cfg->expressway_limit_kmh : cfg->road_limit_kmh;
    if (ctx->zone_limit_kmh > 0.0 && ctx->zone_limit_kmh < lim)
        lim = ctx->zone_limit_kmh;
    if (ctx->vehicle_limit_kmh > 0.0 && ctx->vehicle_limit_kmh < lim)
        lim = ctx->vehicle_limit_kmh;
    return lim;
}

void rules_ctx_zones_at(struct rules_ctx *ctx, const struct lpg_zone *const *zones, size_t n)
{
    bool expressway = false;
    for (size_t i = 0; i < n; i++)
        expressway = expressway || zones[i]->expressway;
    double lim = 0.0;
    for (size_t i = 0; i < n; i++) {
        double z = zones[i]->speed_limit_kmh;
        if (zones[i]->expressway == expressway && z > 0.0 && (lim == 0.0 || z < lim))
            lim = z;
    }
    ctx->expressway = expressway;
    ctx->zone_limit_kmh = lim;
}

static const char *const kind_names[RULE_EVENT_KIND_COUNT] = {
    [RULE_EVENT_WARNING] = "warning",
    [RULE_EVENT_VIOLATION_START] = "violation_start",
    [RULE_EVENT_VIOLATION_END] = "violation_end",
};

const char *rule_event_kind_name(enum rule_event_kind k)
{
    if ((unsigned)k >= RULE_EVENT_KIND_COUNT)
        return "unknown";
    return kind_names[k];
}

struct rule_event *rule_events_push(struct rule_events *out, enum rule_id rule,
                                    enum rule_event_kind kind, bool late)
{
    if (out->n >= out->cap) {
        out->dropped++;
        return NULL;
    }
    struct rule_event *e = &out->ev[out->n++];
    memset(e, 0, sizeof *e);
    e->rule = rule;
    e->kind = kind;
    e->late = late;
    return e;
}

void *rules_state_rule(struct rules_state *st, enum rule_id id)
{
    assert((unsigned)id < RULE_COUNT);
    switch (id) {
    case RULE_OVERSPEED:
        return st->overspeed;
    case RULE_FATIGUE:
        return st->fatigue;
    case RULE_ZONE_EXIT:
        return st->zone_exit;
    case RULE_SIGNAL_LOST:
    case RULE_COUNT:
        break;
    }
    return st->signal_lost;
}

void rules_state_init(struct rules_state *st)
{
    memset(st, 0, sizeof *st);
    fix_filter_state_init(&st->filter);
    for (size_t i = 0; i < RULE_COUNT; i++) {
        /* The table is indexed by rule id: every slot holds the rule of that id. */
        assert(rules_table[i] != NULL && rules_table[i]->id == (enum rule_id)i);
        rules_table[i]->init(rules_state_rule(st, (enum rule_id)i));
    }
}

int64_t rules_rest_until_ms(const struct rules_state *st)
{
    /* The latest rest any rule imposes: today only fatigue has one. */
    int64_t until = 0;
    for (size_t i = 0; i < RULE_COUNT; i++) {
        if (rules_table[i]->rest_until_ms == NULL)
            continue;
        int64_t r = rules_table[i]->rest_until_ms(
            rules_state_rule((struct rules_state *)st, (enum rule_id)i));
        if (r > until)
            until = r;
    }
    return until;
}

size_t rules_evaluate(const struct rules_config *cfg, struct rules_state *st,
                      const struct lpg_fix *fix, const struct rules_ctx *ctx,
                      struct rule_event *out, size_t cap)
{
    struct rule_events evs = {.ev = out, .n = 0, .cap = cap};
    for (size_t i = 0; i < RULE_COUNT; i++)
        rules_table[i]->evaluate(cfg, rules_state_rule(st, (enum rule_id)i), fix, ctx, &evs);
    return evs.n;
}

enum fix_filter_reason rules_process_fix(const struct fix_filter_config *fcfg,
                                         const struct rules_config *cfg, struct rules_state *st,
                                         const struct lpg_fix *fix, int64_t now_ms,
                                         const struct rules_ctx *ctx, struct rule_event *out,
                                         size_t cap, size_t *n_events)
{
    double implied;
    bool reanchored;
    *n_events = 0;
    enum fix_filter_reason r =
        fix_filter_apply(fcfg, &st->filter, fix, now_ms, &implied, &reanchored);
    if (r != FIX_FILTER_OK)
        return r;
    if (!fix->has_speed && isfinite(implied)) {
        struct lpg_fix f = *fix;
        f.speed_kmh = implied;
        f.has_speed = true;
        f.flags |= LPG_FIX_DERIVED_SPEED;
        *n_events = rules_evaluate(cfg, st, &f, ctx, out, cap);
    } else {
        *n_events = rules_evaluate(cfg, st, fix, ctx, out, cap);
    }
    return r;
}

void rules_track_init(struct rules_track *t)
{
    rules_state_init(&t->live);
    t->late = NULL;
}

void rules_track_free(struct rules_track *t)
{
    free(t->late);
    t->late = NULL;
}

int rules_track_copy(struct rules_track *dst, const struct rules_track *src)
{
    dst->live = src->live;
    dst->late = NULL;
    if (src->late == NULL)
        return 0;
    dst->late = malloc(sizeof *dst->late);
    if (dst->late == NULL)
        return -1;
    *dst->late = *src->late;
    return 0;
}

void rules_track_move(struct rules_track *dst, struct rules_track *src)
{
    free(dst->late);
    *dst = *src;
    src->late = NULL;
}

enum fix_filter_reason rules_track_process_fix(const struct fix_filter_config *fcfg,
                                               const struct rules_config *cfg,
                                               struct rules_track *t, const struct lpg_fix *fix,
                                               int64_t now_ms, const struct rules_ctx *ctx,
                                               struct rule_event *out, size_t cap, size_t *n_events,
                                               bool *late_evaluated)
{
    *late_evaluated = false;
    enum fix_filter_reason r =
        rules_process_fix(fcfg, cfg, &t->live, fix, now_ms, ctx, out, cap, n_events);
    if (r != FIX_FILTER_OUT_OF_ORDER)
        return r;
    if (t->late == NULL) {
        t->late = malloc(sizeof *t->late);
        if (t->late == NULL)
            return r;
        rules_state_init(t->late);
    }
    struct lpg_fix lf = *fix;
    lf.flags |= LPG_FIX_LATE;
    enum fix_filter_reason lr =
        rules_process_fix(fcfg, cfg, t->late, &lf, now_ms, ctx, out, cap, n_events);
    if (lr == FIX_FILTER_OUT_OF_ORDER || lr == FIX_FILTER_DUPLICATE) {
        /* An older stretch than the last late one: start its episodes afresh. */
        rules_state_init(t->late);
        rules_process_fix(fcfg, cfg, t->late, &lf, now_ms, ctx, out, cap, n_events);
    }
    *late_evaluated = true;
    return r;
}

size_t rules_tick(const struct rules_config *cfg, struct rules_state *st, int64_t now_ms,
                  const struct rules_ctx *ctx, struct rule_event *out, size_t cap)
{
    struct rule_events evs = {.ev = out, .n = 0, .cap = cap};
    for (size_t i = 0; i < RULE_COUNT; i++)
        if (rules_table[i]->tick != NULL)
            rules_table[i]->tick(cfg, rules_state_rule(st, (enum rule_id)i), now_ms, ctx, &evs);
    return evs.n;
}

/* ---- persistence ---- */

#define RULES_STATE_VERSION "lpgrules/1 "

static const struct rule_field filter_fields[] = {
    {'i', offsetof(struct fix_filter_state, last_ms)},
    {'d', offsetof(struct fix_filter_state, last_pos.lon)},
    {'d', offsetof(struct fix_filter_state, last_pos.lat)},
    {'i', offsetof(struct fix_filter_state, cand_ms)},
    {'d', offsetof(struct fix_filter_state, cand_pos.lon)},
    {'d', offsetof(struct fix_filter_state, cand_pos.lat)},
    {'n', offsetof(struct fix_filter_state, cand_count)},
};

struct section {
    const char *name;
    const struct rule_field *fields;
    size_t n_fields;
};

static struct section section_at(size_t i)
{
    if (i == 0)
        return (struct section){"filter", filter_fields,
                                sizeof filter_fields / sizeof filter_fields[0]};
    const struct rule_def *d = rules_table[i - 1];
    return (struct section){d->name, d->fields, d->n_fields};
}

static void *section_state(struct rules_state *st, size_t i)
{
    return i == 0 ? (void *)&st->filter : rules_state_rule(st, (enum rule_id)(i - 1));
}

/* Appends to buf at *len; false when it does not fit. */
static bool put(char *buf, size_t cap, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bool put(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap - *len)
        return false;
    *len += (size_t)n;
    return true;
}

/* Appends the values of a section's fields, comma-separated. */
static bool put_fields(char *buf, size_t cap, size_t *len, const unsigned char *base,
                       const struct rule_field *fields, size_t n_fields)
{
    for (size_t f = 0; f < n_fields; f++) {
        const void *p = base + fields[f].offset;
        const char *sep = f ? "," : "";
        bool ok = false;
        switch (fields[f].type) {
        case 'i': {
            int64_t v;
            memcpy(&v, p, sizeof v);
            ok = put(buf, cap, len, "%s%lld", sep, (long long)v);
            break;
        }
        case 'n': {
            int32_t v;
            memcpy(&v, p, sizeof v);
            ok = put(buf, cap, len, "%s%ld", sep, (long)v);
            break;
        }
        case 'd': {
            double v;
            memcpy(&v, p, sizeof v);
            ok = put(buf, cap, len, "%s%.17g", sep, v);
            break;
        }
        case 'b': {
            bool v;
            memcpy(&v, p, sizeof v);
            ok = put(buf, cap, len, "%s%d", sep, v ? 1 : 0);
            break;
        }
        }
        if (!ok)
            return false;
    }
    return true;
}

int rules_state_encode(const struct rules_state *st, char *buf, size_t cap)
{
    size_t len = 0;
    if (cap == 0)
        return -1;
    buf[0] = '\0';
    if (!put(buf, cap, &len, "%s", RULES_STATE_VERSION))
        return -1;
    for (size_t s = 0; s <= RULE_COUNT; s++) {
        struct section sec = section_at(s);
        const unsigned char *base = section_state((struct rules_state *)st, s);
        if (!put(buf, cap, &len, "%s%s=", s ? ";" : "", sec.name) ||
            !put_fields(buf, cap, &len, base, sec.fields, sec.n_fields))
            return -1;
    }
    return (int)len;
}

/* Parses one value of type t from s[*i..end) into p; false on anything malformed. */
static bool get_value(char t, const char *s, size_t *i, size_t end, void *p)
{
    char tmp[40];
    size_t n = 0;
    while (*i + n < end && s[*i + n] != ',' && s[*i + n] != ';') {
        if (n + 1 >= sizeof tmp)
            return false;
        tmp[n] = s[*i + n];
        n++;
    }
    if (n == 0)
        return false;
    tmp[n] = '\0';
    /* Only plain numbers: digits, sign, '.', exponent (no spaces, hex, "inf", "nan"). */
    for (size_t k = 0; k < n; k++)
        if (!strchr("0123456789+-.eE", tmp[k]))
            return false;
    char *e;
    errno = 0;
    if (t == 'd') {
        double v = strtod(tmp, &e);
        if (*e != '\0' || errno != 0 || !isfinite(v))
            return false;
        memcpy(p, &v, sizeof v);
    } else {
        if (strchr(".eE", tmp[0]) || strpbrk(tmp, ".eE"))
            return false;
        long long v = strtoll(tmp, &e, 10);
        if (*e != '\0' || errno != 0)
            return false;
        if (t == 'i') {
            int64_t x = (int64_t)v;
            memcpy(p, &x, sizeof x);
        } else if (t == 'n') {
            if (v < INT32_MIN || v > INT32_MAX)
                return false;
            int32_t x = (int32_t)v;
            memcpy(p, &x, sizeof x);
        } else if (t == 'b') {
            if (v != 0 && v != 1)
                return false;
            bool x = v == 1;
            memcpy(p, &x, sizeof x);
        } else {
            return false;
        }
    }
    *i += n;
    return true;
}

/* Parses "name=v,v,..." at text[*i..len) into base; false on anything malformed. */
static bool get_section(const char *text, size_t *i, size_t len, struct section sec,
                        unsigned char *base)
{
    size_t nl = strlen(sec.name);
    if (len - *i < nl + 1 || memcmp(text + *i, sec.name, nl) != 0 || text[*i + nl] != '=')
        return false;
    *i += nl + 1;
    for (size_t f = 0; f < sec.n_fields; f++) {
        if (f > 0) {
            if (*i >= len || text[*i] != ',')
                return false;
            (*i)++;
        }
        if (!get_value(sec.fields[f].type, text, i, len, base + sec.fields[f].offset))
            return false;
    }
    return true;
}

int rules_state_decode(struct rules_state *st, const char *text, size_t len)
{
    static const size_t vlen = sizeof RULES_STATE_VERSION - 1;
    struct rules_state tmp;
    size_t i;

    if (text == NULL || len >= RULES_STATE_TEXT_MAX || len < vlen ||
        memcmp(text, RULES_STATE_VERSION, vlen) != 0)
        return -1;
    rules_state_init(&tmp);
    i = vlen;
    for (size_t s = 0; s <= RULE_COUNT; s++) {
        if (s > 0) {
            if (i >= len || text[i] != ';')
                return -1;
            i++;
        }
        unsigned char *base = section_state(&tmp, s);
        if (!get_section(text, &i, len, section_at(s), base))
            return -1;
        if (s > 0 && rules_table[s - 1]->state_valid != NULL &&
            !rules_table[s - 1]->state_valid(base))
            return -1;
    }
    if (i != len)
        return -1;
    /* The filter's positions must be valid coordinates. */
    if (fabs(tmp.filter.last_pos.lon) > 180.0 || fabs(tmp.filter.last_pos.lat) > 90.0 ||
        fabs(tmp.filter.cand_pos.lon) > 180.0 || fabs(tmp.filter.cand_pos.lat) > 90.0 ||
        tmp.filter.last_ms < 0 || tmp.filter.cand_ms < 0 || tmp.filter.cand_count < 0)
        return -1;
    *st = tmp;
    return 0;
}

/* ---- fatigue follows the person ---- */

void rules_fatigue_init(struct rules_fatigue *f)
{
    memset(f, 0, sizeof *f);
    rule_fatigue.init(f->b);
}

void rules_fatigue_get(const struct rules_state *st, struct rules_fatigue *out)
{
    memcpy(out->b, st->fatigue, sizeof out->b);
}

void rules_fatigue_put(struct rules_state *st, const struct rules_fatigue *f)
{
    memcpy(st->fatigue, f->b, sizeof st->fatigue);
}

int64_t rules_fatigue_rest_until_ms(const struct rules_fatigue *f)
{
    return rule_fatigue.rest_until_ms(f->b);
}

#define RULES_FATIGUE_VERSION "lpgfatigue/1 "

int rules_fatigue_encode(const struct rules_fatigue *f, char *buf, size_t cap)
{
    size_t len = 0;
    if (cap == 0)
        return -1;
    buf[0] = '\0';
    if (!put(buf, cap, &len, "%s%s=", RULES_FATIGUE_VERSION, rule_fatigue.name) ||
        !put_fields(buf, cap, &len, f->b, rule_fatigue.fields, rule_fatigue.n_fields))
        return -1;
    return (int)len;
}

int rules_fatigue_decode(struct rules_fatigue *f, const char *text, size_t len)
{
    static const size_t vlen = sizeof RULES_FATIGUE_VERSION - 1;
    struct rules_fatigue tmp;
    size_t i = vlen;
    if (text == NULL || len >= RULES_FATIGUE_TEXT_MAX || len < vlen ||
        memcmp(text, RULES_FATIGUE_VERSION, vlen) != 0)
        return -1;
    rules_fatigue_init(&tmp);
    struct section sec = {rule_fatigue.name, rule_fatigue.fields, rule_fatigue.n_fields};
    if (!get_section(text, &i, len, sec, tmp.b) || i != len ||
        (rule_fatigue.state_valid != NULL && !rule_fatigue.state_valid(tmp.b)))
        return -1;
    *f = tmp;
    return 0;
}
