/*
 * terminal_alarms.h - the alarms an in-vehicle terminal raises itself (JT/T 808 alarm word,
 * lpg_vehicle_data.alarm, fix.h), as episodes: a watched bit's rising edge starts one, its
 * falling edge ends it. Pure: no I/O, no allocation.
 *
 * Only the bits of the table are watched (SOS, the terminal's own overspeed and fatigue and
 * their pre-warnings, daily driving, GNSS module and antenna faults, main power, illegal door
 * opening); the others are stored with the fix and nothing more. The alerts they become are
 * named after the table ("terminal_sos", ...), apart from the server's own rules (rules.h),
 * which judge the same vehicle by its positions.
 *
 * Per vehicle the caller keeps one struct terminal_alarm_state (no pointers: copied, or
 * persisted with the encode / decode pair) and applies the alarm word of every live fix in time
 * order; a restart that decodes the state continues the open episodes, so a bit still set
 * raises nothing new.
 */
#ifndef LPG_TERMINAL_ALARMS_H
#define LPG_TERMINAL_ALARMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TERMINAL_ALARM_COUNT 12

struct terminal_alarm_def {
    uint8_t bit;      /* in the alarm word */
    const char *name; /* the alert's rule: "terminal_sos", ... (at most 31 bytes) */
    const char *what; /* for the alert's message: "SOS (emergency alarm)" */
};

/* The watched bits, in bit order. */
extern const struct terminal_alarm_def terminal_alarms[TERMINAL_ALARM_COUNT];
/* Their bits as one mask. */
uint32_t terminal_alarms_mask(void);
/* The entry named name, or NULL. */
const struct terminal_alarm_def *terminal_alarm_by_name(const char *name);

struct terminal_alarm_state {
    uint32_t word;   /* the watched bits of the last live alarm word applied */
    int64_t time_ms; /* the time of the fix that carried it; 0: none yet */
    int64_t since_ms[TERMINAL_ALARM_COUNT]; /* start of each open episode (by table index); 0
                                               when its bit is clear */
};
void terminal_alarm_state_init(struct terminal_alarm_state *st);

struct terminal_alarm_edge {
    const struct terminal_alarm_def *def;
    bool raised;      /* rising edge: the episode starts; else it ends */
    int64_t start_ms; /* the episode's start */
    int64_t end_ms;   /* its end (the falling edge's fix); = start_ms when raised */
};

/*
 * Applies the alarm word of a live fix at time_ms: writes the edges (table order, at most
 * TERMINAL_ALARM_COUNT) and returns their number. A fix not newer than the last applied one
 * changes nothing and returns 0: only a forward-moving stream of fixes drives edges.
 */
size_t terminal_alarms_apply(struct terminal_alarm_state *st, uint32_t alarm, int64_t time_ms,
                             struct terminal_alarm_edge out[TERMINAL_ALARM_COUNT]);

#define TERMINAL_ALARM_STATE_TEXT_MAX 400 /* bytes of an encoded state, with the NUL */

/* "lpgalarms/1 <word> <time_ms>" then " <bit>@<since_ms>" for each open episode. Returns the
 * length (without the NUL), or -1 when cap is too small. */
int terminal_alarm_state_encode(const struct terminal_alarm_state *st, char *buf, size_t cap);
/* Parses the encoder's text (len bytes); anything else returns -1 and leaves *st untouched. */
int terminal_alarm_state_decode(struct terminal_alarm_state *st, const char *text, size_t len);

#endif /* LPG_TERMINAL_ALARMS_H */
