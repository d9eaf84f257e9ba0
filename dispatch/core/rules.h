/*
 * rules.h - the vehicle-supervision rules engine (tracking issue item 4): overspeed, fatigue,
 * zone exit, signal lost. Pure: a rule takes a fix, the caller's context and its own state and
 * returns events; no I/O, no logging, no allocation.
 *
 * Layout (one file per rule, each exporting one table entry, as tmux's cmd-*.c):
 *   rules.c             the table, the per-vehicle state block, evaluation, state encode/decode
 *   rule_overspeed.c    rule_overspeed     rule_fatigue.c     rule_fatigue
 *   rule_zone_exit.c    rule_zone_exit     rule_signal_lost.c rule_signal_lost
 * The exact definition of each rule is in its file's header comment.
 *
 * Per vehicle the caller keeps one struct rules_state (fixed size, no pointers: it can be
 * copied, or persisted with rules_state_encode / rules_state_decode) and, for every fix in time
 * order, calls rules_process_fix (filters, then every rule), plus rules_tick now and then for
 * the time-based rules (signal lost). A restart that decodes the persisted state continues an
 * open episode exactly as if there had been no restart.
 *
 * Late fixes (LPG_FIX_LATE) are evaluated like any other, but every event they cause has
 * late = true: the caller records it and raises no live alert.
 */
#ifndef LPG_RULES_H
#define LPG_RULES_H

#include "core/fix.h"
#include "core/fix_filter.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum rule_id { RULE_OVERSPEED, RULE_FATIGUE, RULE_ZONE_EXIT, RULE_SIGNAL_LOST, RULE_COUNT };

enum rule_event_kind {
    RULE_EVENT_WARNING,         /* approaching a limit (overspeed margin, fatigue 3 h 45) */
    RULE_EVENT_VIOLATION_START, /* a violation began: the live alert */
    RULE_EVENT_VIOLATION_END,   /* the episode closed: the record to keep, with its totals */
    RULE_EVENT_KIND_COUNT
};

/* What a fatigue event is about (rule_event.code); 0 for the other rules. */
enum rule_fatigue_code { RULE_FATIGUE_CONTINUOUS = 0, RULE_FATIGUE_DAILY = 1 };

#define RULE_EVENT_MESSAGE_MAX 160 /* bytes of rule_event.message, with the NUL */

struct rule_event {
    enum rule_id rule;
    enum rule_event_kind kind;
    int32_t code;          /* rule-specific sub-kind (enum rule_fatigue_code); else 0 */
    int64_t start_ms;      /* episode start (UTC ms) */
    int64_t end_ms;        /* episode end; for a start or warning: the instant it was decided */
    int64_t duration_ms;   /* the measured quantity: time over the limit / driving time /
                              time outside / time without a fix */
    struct geo_point pos;  /* position of the deciding fix (last known for signal lost) */
    double max_speed_kmh;  /* overspeed: episode maximum; else the deciding fix's speed or 0 */
    double limit;          /* the limit applied: km/h for overspeed, ms for the others */
    int64_t rest_until_ms; /* fatigue: mandatory rest until (0 when none) */
    bool late;             /* caused by a late fix: record, no live alert */
    char message[RULE_EVENT_MESSAGE_MAX];
};

/* All thresholds, with the JT/T 808 terminal parameter of the same meaning where there is one.
 * Times are ms, speeds km/h, distances m. */
struct rules_config {
    /* overspeed */
    double road_limit_kmh;               /* 0x0055 max speed, for ordinary roads: 60 (reg.) */
    double expressway_limit_kmh;         /* 0x0055 on expressways: 80 (reg.) */
    int64_t overspeed_duration_ms;       /* 0x0056 overspeed duration: 10 s */
    double overspeed_warning_margin_kmh; /* 0x005B overspeed warning difference: 5 km/h */
    int32_t overspeed_min_fixes;         /* fixes over the limit needed besides the duration: 3 */
    int64_t overspeed_max_gap_ms;        /* a longer gap between fixes breaks continuity: 15 s */
    /* fatigue */
    int64_t continuous_driving_max_ms; /* 0x0057 continuous driving time threshold: 4 h */
    int64_t fatigue_warning_ms;        /* 0x005C fatigue warning difference: 15 min before */
    int64_t daily_driving_max_ms;      /* 0x0058 cumulative driving time per day: 8 h */
    int64_t min_rest_ms;               /* 0x0059 minimum rest time: 20 min */
    double stop_speed_kmh;             /* below this reported speed the vehicle is stopped: 5 */
    double min_displacement_m;      /* without a measured speed: moving when this far from where the
                                       stop began: 50 m (GPS jitter while parked stays below) */
    int64_t fix_gap_ms;             /* a longer interval between fixes is a data gap: 60 s */
    double gap_rest_max_distance_m; /* a data gap ending within this of its start is stopped
                                       time (the logger records nothing while parked): 200 m */
    double gap_assumed_speed_kmh;   /* a gap that moved farther counts as driving for at most
                                       distance / this speed: 20 km/h */
    /* zone exit */
    int64_t zone_exit_duration_ms; /* outside the person's zone this long: 60 s */
    /* signal lost */
    int64_t signal_lost_ms; /* no fix this long while on an active delivery: 5 min */
    /* 0x005A (max parking time) has no rule yet. */
};
void rules_config_default(struct rules_config *cfg);

/* What the caller knows about the vehicle at this fix. */
struct rules_ctx {
    double vehicle_limit_kmh; /* the vehicle's own limit; 0 when none */
    double zone_limit_kmh;    /* the zone's limit (lpg_zone.speed_limit_kmh); 0 when none */
    bool expressway;          /* the fix is on an expressway (zone marked so) */
    bool has_zone;            /* the person has a fixed zone */
    bool inside_zone;         /* the fix lies inside it (the caller asks geo/) */
    bool on_active_delivery;  /* for signal lost */
    int32_t utc_offset_min;   /* enterprise's time zone, for the daily driving day */
};
/* The overspeed limit at this fix: min(vehicle, zone, road-class default), limits of 0 ignored. */
double rules_speed_limit_kmh(const struct rules_config *cfg, const struct rules_ctx *ctx);

/* Sets ctx->expressway and ctx->zone_limit_kmh from the zones containing the fix (the zones of
 * the vehicle's enterprise that the zone index finds at its position), not from the person's
 * assigned zone: the limit is where the vehicle is. Any expressway zone among them makes the fix
 * an expressway fix, and then only the expressway zones' own limits apply (a district's lower
 * limit is for its ordinary roads, not the expressway crossing it); otherwise the lowest limit of
 * the ordinary zones. No zone: the road-class default alone (ordinary road). */
struct lpg_zone;
void rules_ctx_zones_at(struct rules_ctx *ctx, const struct lpg_zone *const *zones, size_t n);

/* ---- the rule table ---- */

/* Room for each rule's state, checked by a static assert in the rule's file. Sized to the
 * states (not one common size) because every tracked vehicle keeps one rules_state in memory
 * and every batch in flight another: bytes here are bytes per vehicle. */
#define RULES_STATE_BYTES_OVERSPEED   80
#define RULES_STATE_BYTES_FATIGUE     104
#define RULES_STATE_BYTES_ZONE_EXIT   16
#define RULES_STATE_BYTES_SIGNAL_LOST 32

/* Where events go: evaluate appends with rule_events_push, which drops (and counts) beyond
 * cap. */
struct rule_events {
    struct rule_event *ev;
    size_t n, cap;
    size_t dropped;
};
/* A zeroed event of rule/kind with late set from the fix flags, or NULL when full. */
struct rule_event *rule_events_push(struct rule_events *out, enum rule_id rule,
                                    enum rule_event_kind kind, bool late);

/* A field of a rule's state, for the generic encoder: 'i' int64_t, 'd' double (finite),
 * 'b' bool, 'n' int32_t. */
struct rule_field {
    char type;
    size_t offset;
};

struct rule_def {
    const char *name; /* "overspeed", ...: also the key in the encoded state */
    enum rule_id id;
    size_t state_size; /* <= its RULES_STATE_BYTES_* */
    void (*init)(void *state);
    void (*evaluate)(const struct rules_config *cfg, void *state, const struct lpg_fix *fix,
                     const struct rules_ctx *ctx, struct rule_events *out);
    /* NULL when the rule has nothing to do as time passes without fixes. */
    void (*tick)(const struct rules_config *cfg, void *state, int64_t now_ms,
                 const struct rules_ctx *ctx, struct rule_events *out);
    const struct rule_field *fields; /* the state, for rules_state_encode / decode */
    size_t n_fields;
    /* Semantic check of a decoded state; NULL when any field values are acceptable. */
    bool (*state_valid)(const void *state);
    /* The end of a mandatory rest the rule imposes (0 when none); NULL for rules that impose
     * none. Read through the table by rules_rest_until_ms. */
    int64_t (*rest_until_ms)(const void *state);
};

extern const struct rule_def rule_overspeed;
extern const struct rule_def rule_fatigue;
extern const struct rule_def rule_zone_exit;
extern const struct rule_def rule_signal_lost;

/* The table, indexed by enum rule_id. */
extern const struct rule_def *const rules_table[RULE_COUNT];

const char *rule_event_kind_name(enum rule_event_kind k); /* "warning", "violation_start", ... */

/* ---- per-vehicle state ---- */

struct rules_state {
    struct fix_filter_state filter;
    _Alignas(8) unsigned char overspeed[RULES_STATE_BYTES_OVERSPEED];
    _Alignas(8) unsigned char fatigue[RULES_STATE_BYTES_FATIGUE];
    _Alignas(8) unsigned char zone_exit[RULES_STATE_BYTES_ZONE_EXIT];
    _Alignas(8) unsigned char signal_lost[RULES_STATE_BYTES_SIGNAL_LOST];
};
void rules_state_init(struct rules_state *st);
/* The state of one rule inside st (for the rule table's functions). */
void *rules_state_rule(struct rules_state *st, enum rule_id id);

/* Fatigue: the end of the mandatory rest (copy into lpg_staff.rest_until_ms), 0 when none. */
int64_t rules_rest_until_ms(const struct rules_state *st);

#define RULES_EVENTS_MAX 8 /* events one fix or tick can cause, at most */

/*
 * Evaluates a fix that passed the filters through every rule, appending its events to out
 * (up to cap; returns how many were written).
 */
size_t rules_evaluate(const struct rules_config *cfg, struct rules_state *st,
                      const struct lpg_fix *fix, const struct rules_ctx *ctx,
                      struct rule_event *out, size_t cap);

/*
 * Filters then, when accepted, evaluates: returns the filter's reason (FIX_FILTER_OK when the
 * rules ran) and writes the event count to *n_events. A fix without a speed gets the speed
 * implied by the move from the previous accepted fix, flagged LPG_FIX_DERIVED_SPEED.
 */
enum fix_filter_reason rules_process_fix(const struct fix_filter_config *fcfg,
                                         const struct rules_config *cfg, struct rules_state *st,
                                         const struct lpg_fix *fix, int64_t now_ms,
                                         const struct rules_ctx *ctx, struct rule_event *out,
                                         size_t cap, size_t *n_events);

/*
 * A vehicle's two rule states. `live` sees the fixes in time order. A fix older than what
 * `live` has seen (a unit uploading what it buffered offline) runs on `late` instead, flagged
 * LPG_FIX_LATE, so its violations are found and marked late without disturbing the live
 * episodes. Almost no vehicle ever sends a late fix, so `late` is allocated by the first one
 * (NULL until then): a tracked vehicle costs one rules_state, not two.
 */
struct rules_track {
    struct rules_state live;
    struct rules_state *late; /* owned; NULL until the first late fix */
};
void rules_track_init(struct rules_track *t); /* live initialised, no late state */
void rules_track_free(struct rules_track *t); /* releases late; t stays initialised */
/* dst = a deep copy of src (dst is overwritten, not freed); -1 when out of memory (dst then
 * holds no late state and needs no free). */
int rules_track_copy(struct rules_track *dst, const struct rules_track *src);
/* Moves src into dst, releasing dst's late state; src is left without one. */
void rules_track_move(struct rules_track *dst, struct rules_track *src);

/*
 * rules_process_fix on the live state; a fix it finds out of order goes to the late state
 * (allocated on first use; started afresh when the fix is older than the late state's last),
 * and *late_evaluated is set. Returns the live state's filter reason (FIX_FILTER_OUT_OF_ORDER
 * for a late fix, whatever the late state made of it). When the late state cannot be
 * allocated the fix is not evaluated and *late_evaluated stays false.
 */
enum fix_filter_reason rules_track_process_fix(const struct fix_filter_config *fcfg,
                                               const struct rules_config *cfg,
                                               struct rules_track *t, const struct lpg_fix *fix,
                                               int64_t now_ms, const struct rules_ctx *ctx,
                                               struct rule_event *out, size_t cap, size_t *n_events,
                                               bool *late_evaluated);

/* Time passes without a fix: runs every rule's tick. Returns the event count. */
size_t rules_tick(const struct rules_config *cfg, struct rules_state *st, int64_t now_ms,
                  const struct rules_ctx *ctx, struct rule_event *out, size_t cap);

/* ---- persistence ---- */

#define RULES_STATE_TEXT_MAX 1024 /* bytes of an encoded state, with the NUL */

/*
 * The state as one line of text:
 *   "lpgrules/1 filter=v,v,...;overspeed=v,...;fatigue=...;zone_exit=...;signal_lost=..."
 * each value an integer or a double printed with %.17g (exact round trip). Returns the length
 * (without the NUL), or -1 if cap is too small.
 */
int rules_state_encode(const struct rules_state *st, char *buf, size_t cap);

/*
 * Parses rules_state_encode's text (len bytes, no NUL needed) into *st. Anything else -- a
 * different version, a missing, extra or out-of-order section, a malformed or out-of-range
 * value, a state a rule finds inconsistent, more than RULES_STATE_TEXT_MAX bytes -- returns -1
 * and leaves *st untouched. 0 on success.
 */
int rules_state_decode(struct rules_state *st, const char *text, size_t len);

/* ---- fatigue follows the person (issue 12 item 5) ---- */

/*
 * Fatigue (continuous and daily driving, rest) belongs to the person who drives, not to the
 * vehicle: the caller keeps one struct rules_fatigue per person, puts it into the vehicle's
 * rules_state before evaluating that vehicle's fixes (rules_fatigue_put) and takes it back
 * after (rules_fatigue_get). Every other rule stays per vehicle.
 */
struct rules_fatigue {
    _Alignas(8) unsigned char b[RULES_STATE_BYTES_FATIGUE];
};
void rules_fatigue_init(struct rules_fatigue *f);
void rules_fatigue_get(const struct rules_state *st, struct rules_fatigue *out);
void rules_fatigue_put(struct rules_state *st, const struct rules_fatigue *f);
int64_t rules_fatigue_rest_until_ms(const struct rules_fatigue *f);

/*
 * The person now drives another vehicle: the next fix the fatigue rule evaluates is the first
 * in it. The time from the person's last fix (in the previous vehicle) to that fix is stopped
 * time at that fix's position -- changing vehicle is not driving, and 20 min of it is a rest --
 * instead of an interval driven between two far-apart positions. Driving time carries over.
 * Pending until a fix reaches the rule (rules_fatigue_change_pending); not persisted: the
 * caller keeps the previous vehicle as the person's until then, and asks again.
 */
void rules_fatigue_change_vehicle(struct rules_fatigue *f);
bool rules_fatigue_change_pending(const struct rules_fatigue *f);

#define RULES_FATIGUE_TEXT_MAX 512 /* bytes of an encoded person's fatigue, with the NUL */
/* "lpgfatigue/1 fatigue=v,v,..." (the same fields as rules_state_encode's fatigue section).
 * Returns the length, or -1 if cap is too small. */
int rules_fatigue_encode(const struct rules_fatigue *f, char *buf, size_t cap);
/* Parses rules_fatigue_encode's text; -1 (and *f untouched) on anything else. */
int rules_fatigue_decode(struct rules_fatigue *f, const char *text, size_t len);

#endif /* LPG_RULES_H */
