/* test_driver_card.c -- the pure parts of the driver's card (core/driver_card.h) and of fatigue
 * following the person (core/rules.h, rules_fatigue_*): certificate comparison, the verdict
 * with its expiry days, a person's fatigue carried from one vehicle's state into another's, a
 * vehicle change that is a rest or not, and the person's text form.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/driver_card.h"
#include "core/rules.h"

#include <stdio.h>
#include <string.h>

#define SEC 1000LL
#define MIN (60 * SEC)
#define T0  1700000000000LL

static void certificates_compare_without_spaces_and_case(void **state)
{
    (void)state;
    assert_true(driver_cert_equal("4401ab 123", "4401AB123"));
    assert_true(driver_cert_equal(" 4401 AB 123 ", "4401ab123"));
    assert_true(driver_cert_equal("4401\xE3\x80\x80"
                                  "ab123",
                                  "4401AB123")); /* U+3000 */
    assert_false(driver_cert_equal("4401AB124", "4401AB123"));
    assert_false(driver_cert_equal("4401AB12", "4401AB123"));
    assert_false(driver_cert_equal("", ""));
    assert_false(driver_cert_equal("  ", " "));
    assert_false(driver_cert_equal(NULL, "x"));
    /* Only ASCII folds: other bytes compare exactly. */
    assert_false(driver_cert_equal("粤A123", "粤a124"));
    assert_true(driver_cert_equal("粤A123", "粤a123"));
}

static struct lpg_staff person(const char *qual, int32_t expiry)
{
    struct lpg_staff s;
    memset(&s, 0, sizeof(s));
    strcpy(s.id, "S1");
    snprintf(s.qualification_no, sizeof(s.qualification_no), "%s", qual);
    s.qualification_expiry_day = expiry;
    return s;
}

static void verdicts(void **state)
{
    (void)state;
    const int32_t today = 20000;
    struct lpg_staff s = person("4401AB123", today);
    /* Valid on the expiry day itself, of the card and of the person's certificate. */
    assert_int_equal(driver_card_judge(true, "4401 ab123", today, &s, today), DRIVER_CARD_OK);
    assert_int_equal(driver_card_judge(true, "4401AB123", -1, &s, today), DRIVER_CARD_OK);
    assert_int_equal(driver_card_judge(true, "4401AB123", LPG_DAY_NONE, &s, today), DRIVER_CARD_OK);
    assert_int_equal(driver_card_judge(false, "4401AB123", today, &s, today), DRIVER_CARD_NOT_READ);
    assert_int_equal(driver_card_judge(true, " ", today, &s, today), DRIVER_CARD_NO_CERTIFICATE);
    assert_int_equal(driver_card_judge(true, "4401AB123", today, NULL, today),
                     DRIVER_CARD_NO_PERSON);
    assert_int_equal(driver_card_judge(true, "4401AB999", today, &s, today), DRIVER_CARD_MISMATCH);
    assert_int_equal(driver_card_judge(true, "4401AB123", today - 1, &s, today),
                     DRIVER_CARD_CARD_EXPIRED);
    struct lpg_staff old = person("4401AB123", today - 1);
    assert_int_equal(driver_card_judge(true, "4401AB123", today + 100, &old, today),
                     DRIVER_CARD_QUALIFICATION_EXPIRED);
    struct lpg_staff undated = person("4401AB123", LPG_DAY_NONE);
    assert_int_equal(driver_card_judge(true, "4401AB123", today, &undated, today),
                     DRIVER_CARD_QUALIFICATION_EXPIRED);
    struct lpg_staff none = person("", today);
    assert_int_equal(driver_card_judge(true, "4401AB123", today, &none, today),
                     DRIVER_CARD_QUALIFICATION_MISSING);
    assert_string_equal(driver_card_verdict_code(DRIVER_CARD_MISMATCH), "certificate_mismatch");
    assert_string_equal(driver_card_verdict_code(DRIVER_CARD_VERDICT_COUNT), "unknown");
}

static void terminal_text_is_cleaned(void **state)
{
    (void)state;
    char ok[] = "张三 Li";
    driver_text_clean(ok);
    assert_string_equal(ok, "张三 Li");
    char cut[] = "\xE5\xBC\xA0\xE4\xB8"; /* 张 then half of 三 */
    driver_text_clean(cut);
    assert_string_equal(cut, "张??");
    char bad[] = "a\xC0\xAF\x01\xED\xA0\x80z"; /* overlong, control, surrogate */
    driver_text_clean(bad);
    assert_string_equal(bad, "a??????z");
}

/* ---- fatigue follows the person ---- */

static struct rules_config cfg;
static struct rules_ctx ctx;

static struct lpg_fix at(int64_t t, double lon, double lat, double kmh)
{
    struct lpg_fix f = {.time_ms = t, .pos = {lon, lat}, .mode = LPG_FIX_MODE_3D};
    f.speed_kmh = kmh;
    f.has_speed = true;
    return f;
}

/* Drives st from t0 for `drive` (fixes every 30 s at 40 km/h eastwards from lon0); counts the
 * continuous-driving violations it raises. */
static size_t drive(struct rules_state *st, int64_t t0, int64_t drive, double lon0)
{
    size_t starts = 0;
    for (int64_t t = 0; t <= drive; t += 30 * SEC) {
        struct lpg_fix f = at(t0 + t, lon0 + (double)t / 3600e3 * 40.0 / 70.0, 30.0, 40.0);
        struct rule_event ev[RULES_EVENTS_MAX];
        size_t n = rules_evaluate(&cfg, st, &f, &ctx, ev, RULES_EVENTS_MAX);
        for (size_t i = 0; i < n; i++)
            if (ev[i].rule == RULE_FATIGUE && ev[i].kind == RULE_EVENT_VIOLATION_START &&
                ev[i].code == RULE_FATIGUE_CONTINUOUS)
                starts++;
    }
    return starts;
}

static void fatigue_carries_over_to_another_vehicle(void **state)
{
    (void)state;
    rules_config_default(&cfg);
    memset(&ctx, 0, sizeof(ctx));
    ctx.utc_offset_min = 480;
    struct rules_state a, b;
    rules_state_init(&a);
    rules_state_init(&b);
    struct rules_fatigue person;
    rules_fatigue_init(&person);

    /* 3 h in vehicle A. */
    rules_fatigue_put(&a, &person);
    assert_int_equal(drive(&a, T0, 180 * MIN, 110.0), 0);
    rules_fatigue_get(&a, &person);

    /* 5 min later, 30 km away, in vehicle B: the change is not driving (no 5 min at 360
     * km/h credited), and 1 more hour reaches 4 h. */
    rules_fatigue_change_vehicle(&person);
    assert_true(rules_fatigue_change_pending(&person));
    rules_fatigue_put(&b, &person);
    assert_int_equal(drive(&b, T0 + 185 * MIN, 55 * MIN, 110.3), 0);
    rules_fatigue_get(&b, &person);
    assert_false(rules_fatigue_change_pending(&person));
    rules_fatigue_put(&b, &person);
    assert_int_equal(drive(&b, T0 + 240 * MIN + 30 * SEC, 6 * MIN, 110.31), 1);
    assert_true(rules_rest_until_ms(&b) > 0);

    /* Without the person's state (a fresh one in B), the same hour raises nothing. */
    struct rules_state fresh;
    rules_state_init(&fresh);
    assert_int_equal(drive(&fresh, T0 + 185 * MIN, 65 * MIN, 110.3), 0);
}

static void a_long_vehicle_change_is_a_rest(void **state)
{
    (void)state;
    rules_config_default(&cfg);
    memset(&ctx, 0, sizeof(ctx));
    ctx.utc_offset_min = 480;
    struct rules_state a, b;
    rules_state_init(&a);
    rules_state_init(&b);
    struct rules_fatigue person;
    rules_fatigue_init(&person);
    rules_fatigue_put(&a, &person);
    drive(&a, T0, 180 * MIN, 110.0);
    rules_fatigue_get(&a, &person);
    /* 25 min between the last fix in A and the first in B: a rest, whatever the distance. */
    rules_fatigue_change_vehicle(&person);
    rules_fatigue_put(&b, &person);
    assert_int_equal(drive(&b, T0 + 205 * MIN, 70 * MIN, 110.3), 0);
}

/* Daily driving time carries over too: 3 h in A and 40 min in B pass a 3.5 h daily ceiling. */
static void daily_time_carries_over(void **state)
{
    (void)state;
    rules_config_default(&cfg);
    cfg.continuous_driving_max_ms = 10 * 60 * MIN; /* out of the way */
    cfg.daily_driving_max_ms = 210 * MIN;
    memset(&ctx, 0, sizeof(ctx));
    ctx.utc_offset_min = 480;
    /* T0 is 06:13 local: the whole run is in one local day. */
    struct rules_state a, b, fresh;
    rules_state_init(&a);
    rules_state_init(&b);
    rules_state_init(&fresh);
    struct rules_fatigue person;
    rules_fatigue_init(&person);
    rules_fatigue_put(&a, &person);
    drive(&a, T0, 180 * MIN, 110.0);
    assert_int_equal(rules_rest_until_ms(&a), 0);
    rules_fatigue_get(&a, &person);
    rules_fatigue_change_vehicle(&person);
    rules_fatigue_put(&b, &person);
    drive(&b, T0 + 185 * MIN, 40 * MIN, 110.3);
    assert_true(rules_rest_until_ms(&b) > T0 + 225 * MIN); /* rest until local midnight */
    drive(&fresh, T0 + 185 * MIN, 40 * MIN, 110.3);
    assert_int_equal(rules_rest_until_ms(&fresh), 0);
}

static void person_text_round_trip(void **state)
{
    (void)state;
    rules_config_default(&cfg);
    memset(&ctx, 0, sizeof(ctx));
    ctx.utc_offset_min = 480;
    struct rules_state a;
    rules_state_init(&a);
    drive(&a, T0, 250 * MIN, 110.0);
    struct rules_fatigue f, g;
    rules_fatigue_get(&a, &f);
    char text[RULES_FATIGUE_TEXT_MAX];
    int n = rules_fatigue_encode(&f, text, sizeof(text));
    assert_true(n > 0);
    assert_memory_equal(text, "lpgfatigue/1 fatigue=", 21);
    rules_fatigue_init(&g);
    assert_int_equal(rules_fatigue_decode(&g, text, (size_t)n), 0);
    assert_true(rules_fatigue_rest_until_ms(&g) > 0);
    assert_int_equal(rules_fatigue_rest_until_ms(&g), rules_fatigue_rest_until_ms(&f));
    char again[RULES_FATIGUE_TEXT_MAX];
    assert_int_equal(rules_fatigue_encode(&g, again, sizeof(again)), n);
    assert_string_equal(again, text);
    /* Anything else is refused, g untouched. */
    assert_int_equal(rules_fatigue_decode(&g, text, (size_t)n - 1 - (text[n - 2] == ',')), -1);
    assert_int_equal(rules_fatigue_decode(&g, "lpgrules/1 fatigue=0", 20), -1);
    assert_int_equal(rules_fatigue_decode(&g, text + 1, (size_t)n - 1), -1);
    assert_int_equal(rules_fatigue_rest_until_ms(&g), rules_fatigue_rest_until_ms(&f));
    assert_int_equal(rules_fatigue_encode(&f, text, 10), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(certificates_compare_without_spaces_and_case),
        cmocka_unit_test(verdicts),
        cmocka_unit_test(terminal_text_is_cleaned),
        cmocka_unit_test(fatigue_carries_over_to_another_vehicle),
        cmocka_unit_test(a_long_vehicle_change_is_a_rest),
        cmocka_unit_test(daily_time_carries_over),
        cmocka_unit_test(person_text_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
