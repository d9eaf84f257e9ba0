/* test_terminal_alarms.c -- the edge table of a terminal's own alarms: a rising edge starts an
 * episode, a bit still set starts nothing, a falling edge ends it with its start, unwatched bits
 * and fixes not newer than the last are ignored, and the state survives encode/decode (a
 * restart) with its open episodes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/terminal_alarms.h"

#include <string.h>

#define T0 1795824000000LL

static void test_table(void **state)
{
    (void)state;
    /* The bits issue 12 names, each once, each with its name. */
    static const uint8_t want[] = {0, 1, 2, 4, 5, 6, 7, 8, 13, 14, 18, 31};
    uint32_t mask = 0;
    for (size_t i = 0; i < sizeof(want); i++) {
        assert_int_equal(terminal_alarms[i].bit, want[i]);
        assert_true(strncmp(terminal_alarms[i].name, "terminal_", 9) == 0);
        assert_true(strlen(terminal_alarms[i].name) <= 31);
        assert_ptr_equal(terminal_alarm_by_name(terminal_alarms[i].name), &terminal_alarms[i]);
        mask |= 1u << want[i];
    }
    assert_int_equal(terminal_alarms_mask(), mask);
    assert_string_equal(terminal_alarms[0].name, "terminal_sos");
    assert_null(terminal_alarm_by_name("overspeed"));
}

static void test_edges(void **state)
{
    (void)state;
    struct terminal_alarm_state st;
    struct terminal_alarm_edge e[TERMINAL_ALARM_COUNT];
    terminal_alarm_state_init(&st);
    assert_int_equal(terminal_alarms_apply(&st, 0, T0, e), 0);
    /* SOS and main power off rise together; bit 3 (danger warning) is not watched. */
    assert_int_equal(terminal_alarms_apply(&st, 1u | 1u << 8 | 1u << 3, T0 + 1000, e), 2);
    assert_string_equal(e[0].def->name, "terminal_sos");
    assert_true(e[0].raised);
    assert_int_equal(e[0].start_ms, T0 + 1000);
    assert_string_equal(e[1].def->name, "terminal_power_off");
    /* Repeated: nothing. */
    assert_int_equal(terminal_alarms_apply(&st, 1u | 1u << 8, T0 + 2000, e), 0);
    /* A fix not newer than the last applied: ignored, even when the bit differs. */
    assert_int_equal(terminal_alarms_apply(&st, 0, T0 + 2000, e), 0);
    assert_int_equal(terminal_alarms_apply(&st, 0, T0 + 1500, e), 0);
    /* SOS falls: the episode ends with its start. */
    assert_int_equal(terminal_alarms_apply(&st, 1u << 8, T0 + 5000, e), 1);
    assert_string_equal(e[0].def->name, "terminal_sos");
    assert_false(e[0].raised);
    assert_int_equal(e[0].start_ms, T0 + 1000);
    assert_int_equal(e[0].end_ms, T0 + 5000);
    /* Illegal door opening (bit 31) rises, then everything falls. */
    assert_int_equal(terminal_alarms_apply(&st, 1u << 8 | 1u << 31, T0 + 6000, e), 1);
    assert_string_equal(e[0].def->name, "terminal_door_illegal");
    assert_int_equal(terminal_alarms_apply(&st, 0, T0 + 7000, e), 2);
    assert_false(e[0].raised);
    assert_false(e[1].raised);
    assert_int_equal(st.word, 0);
}

static void test_persisted_state_keeps_episodes_open(void **state)
{
    (void)state;
    struct terminal_alarm_state st, back;
    struct terminal_alarm_edge e[TERMINAL_ALARM_COUNT];
    terminal_alarm_state_init(&st);
    terminal_alarms_apply(&st, 1u << 2 | 1u << 14, T0, e);
    char text[TERMINAL_ALARM_STATE_TEXT_MAX];
    int n = terminal_alarm_state_encode(&st, text, sizeof(text));
    assert_true(n > 0);
    assert_string_equal(text, "lpgalarms/1 16388 1795824000000 2@1795824000000 14@1795824000000");
    terminal_alarm_state_init(&back);
    assert_int_equal(terminal_alarm_state_decode(&back, text, (size_t)n), 0);
    /* After the "restart": the bits still set raise nothing, the fall closes with the start. */
    assert_int_equal(terminal_alarms_apply(&back, 1u << 2 | 1u << 14, T0 + 1000, e), 0);
    assert_int_equal(terminal_alarms_apply(&back, 1u << 14, T0 + 2000, e), 1);
    assert_false(e[0].raised);
    assert_int_equal(e[0].start_ms, T0);

    /* Every bit open: fits. */
    terminal_alarm_state_init(&st);
    terminal_alarms_apply(&st, UINT32_MAX, INT64_MAX / 2, e);
    assert_true(terminal_alarm_state_encode(&st, text, sizeof(text)) > 0);
    assert_int_equal(terminal_alarm_state_decode(&back, text, strlen(text)), 0);
    assert_int_equal(back.word, terminal_alarms_mask());
    assert_int_equal(terminal_alarm_state_encode(&st, text, 20), -1);
}

static void test_decode_refuses_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "lpgalarms/2 0 0",
        "lpgalarms/1 0",
        "lpgalarms/1 8 5",                    /* bit 3 is not watched */
        "lpgalarms/1 1 5",                    /* SOS set, no start */
        "lpgalarms/1 1 5 0@6",                /* start after the state's time */
        "lpgalarms/1 1 5 1@4",                /* the wrong bit */
        "lpgalarms/1 0 5 0@4",                /* a start for a clear bit */
        "lpgalarms/1 0 5 ",                   /* trailing */
        "lpgalarms/1 4294967296 5",           /* beyond 32 bits */
        "lpgalarms/1 0 99999999999999999999", /* overflow */
        "lpgalarms/1 -1 5",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct terminal_alarm_state st;
        terminal_alarm_state_init(&st);
        st.word = 7;
        if (terminal_alarm_state_decode(&st, bad[i], strlen(bad[i])) == 0)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_int_equal(st.word, 7); /* untouched */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_persisted_state_keeps_episodes_open),
        cmocka_unit_test(test_decode_refuses_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
