/* test_keys.c -- store/keys.c: every key name as docs/redis-keys.md spells it, and the refusal of
 * a key that does not fit. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "store/keys.h"

#include <string.h>

static void expect_key(int n, const char *got, const char *want)
{
    assert_string_equal(got, want);
    assert_int_equal(n, (int)strlen(want));
}

static void test_every_key(void **state)
{
    (void)state;
    char k[KEYS_REL_MAX];
    expect_key(keys_record(k, sizeof(k), "vehicle", "v-1"), k, "vehicle:v-1");
    expect_key(keys_record(k, sizeof(k), "session", "ab12"), k, "session:ab12");
    expect_key(keys_index(k, sizeof(k), "order"), k, "index:order");
    assert_string_equal(KEYS_INDEX("user"), "index:user");
    expect_key(keys_order_history(k, sizeof(k), "O1"), k, "order:O1:history");
    expect_key(keys_cylinder_history(k, sizeof(k), "CY1"), k, "cylinder:CY1:history");
    expect_key(keys_check(k, sizeof(k), "chk-1"), k, "check:chk-1");
    expect_key(keys_order_checks(k, sizeof(k), "O1"), k, "order:O1:checks");
    expect_key(keys_customer_checks(k, sizeof(k), "C1"), k, "customer:C1:checks");
    expect_key(keys_refusals_month(k, sizeof(k), "E1", "2026-12"), k, "refusals:E1:2026-12");
    expect_key(keys_device_session(k, sizeof(k), "hs-1"), k, "device:hs-1:session");
    expect_key(keys_device_seq(k, sizeof(k), "hs-1"), k, "device:hs-1:seq");
    expect_key(keys_vehicle_last(k, sizeof(k), "v-1"), k, "vehicle:v-1:last");
    expect_key(keys_vehicle_rules(k, sizeof(k), "v-1"), k, "vehicle:v-1:rules");
    expect_key(keys_vehicle_alarms(k, sizeof(k), "v-1"), k, "vehicle:v-1:alarms");
    expect_key(keys_staff_fatigue(k, sizeof(k), "s-1"), k, "staff:s-1:fatigue");
    assert_string_equal(KEYS_GEO_VEHICLES, "geo:vehicles");
    expect_key(keys_alert(k, sizeof(k), "a-1"), k, "alert:a-1");
    expect_key(keys_alerts_enterprise(k, sizeof(k), "E1"), k, "alerts:E1");
    expect_key(keys_alerts_vehicle(k, sizeof(k), "v-1"), k, "alerts:vehicle:v-1");
    expect_key(keys_alerts_by_rule(k, sizeof(k), "overspeed", 0, "E1"), k,
               "alerts-by-rule:overspeed:E1");
    expect_key(keys_alerts_by_rule(k, sizeof(k), "fatigue", 1, "v-1"), k,
               "alerts-by-rule:fatigue:vehicle:v-1");
    assert_string_equal(KEYS_ALERTS_SYSTEM, "alerts:system");
    expect_key(keys_expiring(k, sizeof(k), "staff", "S1", "qualification", "2026-12-01"), k,
               "expiring:staff:S1:qualification:2026-12-01");
    assert_string_equal(KEYS_AUDIT_ENTRIES, "audit:entries");
    assert_string_equal(KEYS_AUDIT_HEAD, "audit:head");
}

static void test_route_day(void **state)
{
    (void)state;
    char k[64];
    /* 2026-11-28 is day 20785 since 1970-01-01 (20785 * 86400 = 1795824000): a UTC day. */
    expect_key(keys_route_day(k, sizeof(k), "V1", 20785), k, "route:V1:20261128");
    expect_key(keys_route_day(k, sizeof(k), "V1", 0), k, "route:V1:19700101");
}

static void test_a_key_that_does_not_fit_is_refused(void **state)
{
    (void)state;
    char k[10];
    assert_int_equal(keys_route_day(k, sizeof(k), "V1", 20785), -1);
    assert_int_equal(strlen(k), sizeof(k) - 1); /* truncated, terminated */
    assert_int_equal(keys_vehicle_last(k, sizeof(k), "v-1"), -1);
    assert_int_equal(keys_alerts_by_rule(k, sizeof(k), "overspeed", 0, "E"), -1);
    /* Exactly fitting (9 bytes and the NUL) is accepted. */
    assert_int_equal(keys_alert(k, sizeof(k), "123"), 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_key),
        cmocka_unit_test(test_route_day),
        cmocka_unit_test(test_a_key_that_does_not_fit_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
