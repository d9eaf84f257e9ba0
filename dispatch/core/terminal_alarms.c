/* terminal_alarms.c -- a terminal's own alarms as episodes (terminal_alarms.h). */
#include "core/terminal_alarms.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* JT/T 808-2013 table 24 (and 2019 table 25), the bits issue 12 names; the others (display,
 * TTS, camera faults, area/route events, ...) are kept with the fix only. */
const struct terminal_alarm_def terminal_alarms[TERMINAL_ALARM_COUNT] = {
    {0, "terminal_sos", "SOS (emergency alarm)"},
    {1, "terminal_overspeed", "overspeed"},
    {2, "terminal_fatigue", "fatigue driving"},
    {4, "terminal_gnss_fault", "GNSS module fault"},
    {5, "terminal_antenna_open", "GNSS antenna not connected"},
    {6, "terminal_antenna_short", "GNSS antenna short circuit"},
    {7, "terminal_power_low", "main power under-voltage"},
    {8, "terminal_power_off", "main power off"},
    {13, "terminal_overspeed_warning", "overspeed pre-warning"},
    {14, "terminal_fatigue_warning", "fatigue driving pre-warning"},
    {18, "terminal_daily_driving", "daily driving time exceeded"},
    {31, "terminal_door_illegal", "illegal door opening"},
};

uint32_t terminal_alarms_mask(void)
{
    uint32_t m = 0;
    for (size_t i = 0; i < TERMINAL_ALARM_COUNT; i++)
        m |= 1u << terminal_alarms[i].bit;
    return m;
}

const struct terminal_alarm_def *terminal_alarm_by_name(const char *name)
{
    for (size_t i = 0; i < TERMINAL_ALARM_COUNT; i++)
        if (strcmp(terminal_alarms[i].name, name) == 0)
            return &terminal_alarms[i];
    return NULL;
}

void terminal_alarm_state_init(struct terminal_alarm_state *st)
{
    memset(st, 0, sizeof(*st));
}

size_t terminal_alarms_apply(struct terminal_alarm_state *st, uint32_t alarm, int64_t time_ms,
                             struct terminal_alarm_edge out[TERMINAL_ALARM_COUNT])
{
    if (time_ms <= st->time_ms)
        return 0; /* not after the last applied fix: the episodes follow time forwards */
    uint32_t word = alarm & terminal_alarms_mask();
    size_t n = 0;
    for (size_t i = 0; i < TERMINAL_ALARM_COUNT; i++) {
        uint32_t b = 1u << terminal_alarms[i].bit;
        if ((word & b) == (st->word & b))
            continue;
        struct terminal_alarm_edge *e = &out[n++];
        e->def = &terminal_alarms[i];
        e->raised = (word & b) != 0;
        if (e->raised) {
            e->start_ms = e->end_ms = time_ms;
            st->since_ms[i] = time_ms;
        } else {
            e->start_ms = st->since_ms[i];
            e->end_ms = time_ms;
            st->since_ms[i] = 0;
        }
    }
    st->word = word;
    st->time_ms = time_ms;
    return n;
}

#define VERSION "lpgalarms/1 "

int terminal_alarm_state_encode(const struct terminal_alarm_state *st, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, VERSION "%" PRIu32 " %" PRId64, st->word, st->time_ms);
    for (size_t i = 0; n >= 0 && (size_t)n < cap && i < TERMINAL_ALARM_COUNT; i++)
        if (st->word & (1u << terminal_alarms[i].bit))
            n += snprintf(buf + n, cap - (size_t)n, " %u@%" PRId64, terminal_alarms[i].bit,
                          st->since_ms[i]);
    return n >= 0 && (size_t)n < cap ? n : -1;
}

/* A decimal integer of at most 19 digits and INT64_MAX at *p (before end), no sign; advances
 * *p. */
static int take_u63(const char **p, const char *end, int64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    int digits = 0;
    while (s < end && *s >= '0' && *s <= '9' && digits < 19) {
        v = v * 10 + (uint64_t)(*s - '0');
        s++;
        digits++;
    }
    if (digits == 0 || (s < end && *s >= '0' && *s <= '9') || v > (uint64_t)INT64_MAX)
        return -1;
    *p = s;
    *out = (int64_t)v;
    return 0;
}

static int take_char(const char **p, const char *end, char c)
{
    if (*p >= end || **p != c)
        return -1;
    (*p)++;
    return 0;
}

int terminal_alarm_state_decode(struct terminal_alarm_state *st, const char *text, size_t len)
{
    size_t vl = strlen(VERSION);
    if (len >= TERMINAL_ALARM_STATE_TEXT_MAX || len < vl || memcmp(text, VERSION, vl) != 0)
        return -1;
    const char *p = text + vl, *end = text + len;
    struct terminal_alarm_state s;
    terminal_alarm_state_init(&s);
    int64_t word;
    if (take_u63(&p, end, &word) != 0 || word > UINT32_MAX ||
        ((uint32_t)word & ~terminal_alarms_mask()) != 0 || take_char(&p, end, ' ') != 0 ||
        take_u63(&p, end, &s.time_ms) != 0)
        return -1;
    s.word = (uint32_t)word;
    /* Exactly one start per set bit, in table order, none in the future of the state. */
    for (size_t i = 0; i < TERMINAL_ALARM_COUNT; i++) {
        if (!(s.word & (1u << terminal_alarms[i].bit)))
            continue;
        int64_t bit;
        if (take_char(&p, end, ' ') != 0 || take_u63(&p, end, &bit) != 0 ||
            bit != terminal_alarms[i].bit || take_char(&p, end, '@') != 0 ||
            take_u63(&p, end, &s.since_ms[i]) != 0 || s.since_ms[i] <= 0 ||
            s.since_ms[i] > s.time_ms)
            return -1;
    }
    if (p != end)
        return -1;
    *st = s;
    return 0;
}
