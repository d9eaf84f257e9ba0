/* test_safety_check.c -- the checklist and the verdict of a safety check
 * (dispatch/core/safety_check.h): required sets by customer kind, not_applicable only where
 * allowed, malformed checks refused, the customer's confirmation, findings for the ledger. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/safety_check.h"

#include <stdio.h>
#include <string.h>

static struct check_answer answers[SAFETY_CHECK_ITEMS_MAX + 2];
static char why[320];

/* Every item of the checklist that a customer of `kind` must answer, passing. */
static size_t all_required(enum lpg_customer_kind kind)
{
    size_t n = 0;
    for (size_t i = 0; i < safety_checklist_count; i++)
        if (safety_check_required(&safety_checklist[i], kind))
            answers[n++] = (struct check_answer){safety_checklist[i].key, CHECK_PASS, NULL};
    return n;
}

static int eval(enum lpg_customer_kind kind, size_t n, struct check_verdict *v)
{
    return safety_check_evaluate(kind, answers, n, "Zhang San", NULL, "4321", v, why, sizeof(why));
}

static struct check_answer *answer(size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(answers[i].key, key) == 0)
            return &answers[i];
    fail_msg("no answer %s", key);
    return NULL;
}

static void test_required_sets_by_kind(void **state)
{
    (void)state;
    struct check_verdict v;
    size_t household = all_required(LPG_CUSTOMER_HOUSEHOLD);
    size_t restaurant = all_required(LPG_CUSTOMER_RESTAURANT);
    assert_int_equal(household, 13);
    assert_int_equal(restaurant, safety_checklist_count);
    /* The household's set is not enough for a restaurant: the gas detector is missing. */
    all_required(LPG_CUSTOMER_HOUSEHOLD);
    assert_int_equal(eval(LPG_CUSTOMER_RESTAURANT, household, &v), -1);
    assert_non_null(strstr(why, "gas_detector"));
    assert_int_equal(eval(LPG_CUSTOMER_HOUSEHOLD, household, &v), 0);
    assert_true(v.passed);
    assert_string_equal(v.findings, "");
    for (int k = LPG_CUSTOMER_SCHOOL; k < LPG_CUSTOMER_KIND_COUNT; k++)
        assert_int_equal(all_required((enum lpg_customer_kind)k), safety_checklist_count);
}

static void test_failures_and_findings(void **state)
{
    (void)state;
    struct check_verdict v;
    size_t n = all_required(LPG_CUSTOMER_RESTAURANT);
    *answer(n, "hose_length") = (struct check_answer){"hose_length", CHECK_FAIL, "3.5 m"};
    *answer(n, "gas_detector") = (struct check_answer){"gas_detector", CHECK_FAIL, NULL};
    assert_int_equal(eval(LPG_CUSTOMER_RESTAURANT, n, &v), 0);
    assert_false(v.passed);
    assert_int_equal(v.n_failed_required, 2);
    assert_string_equal(v.findings, "hose_length: 3.5 m; gas_detector");
    /* A business item failed at a household is recorded but is not a hazard there. */
    n = all_required(LPG_CUSTOMER_HOUSEHOLD);
    answers[n++] = (struct check_answer){"gas_detector", CHECK_FAIL, "none fitted"};
    assert_int_equal(eval(LPG_CUSTOMER_HOUSEHOLD, n, &v), 0);
    assert_true(v.passed);
    assert_string_equal(v.findings, "gas_detector: none fitted");
}

static void test_not_applicable(void **state)
{
    (void)state;
    struct check_verdict v;
    size_t n = all_required(LPG_CUSTOMER_RESTAURANT);
    answer(n, "cylinder_room")->result = CHECK_NOT_APPLICABLE; /* under 100 kg stored */
    answer(n, "emergency_shutoff")->result = CHECK_NOT_APPLICABLE;
    assert_int_equal(eval(LPG_CUSTOMER_RESTAURANT, n, &v), 0);
    assert_true(v.passed);
    answer(n, "leak_test")->result = CHECK_NOT_APPLICABLE; /* the leak test always applies */
    assert_int_equal(eval(LPG_CUSTOMER_RESTAURANT, n, &v), -1);
    assert_non_null(strstr(why, "leak_test always applies"));
}

static void test_malformed_checks(void **state)
{
    (void)state;
    struct check_verdict v;
    size_t n = all_required(LPG_CUSTOMER_HOUSEHOLD);
    answers[n] = (struct check_answer){"hose_colour", CHECK_PASS, NULL};
    assert_int_equal(eval(LPG_CUSTOMER_HOUSEHOLD, n + 1, &v), -1);
    assert_non_null(strstr(why, "unknown checklist item"));
    answers[n] = answers[0];
    assert_int_equal(eval(LPG_CUSTOMER_HOUSEHOLD, n + 1, &v), -1);
    assert_non_null(strstr(why, "twice"));
    answers[0].result = CHECK_UNKNOWN;
    assert_int_equal(eval(LPG_CUSTOMER_HOUSEHOLD, n, &v), -1);
    answers[0].result = CHECK_PASS;
    assert_int_equal(eval(LPG_CUSTOMER_HOUSEHOLD, n - 1, &v), -1); /* the last one missing */
    assert_non_null(strstr(why, "missing"));
    char note[300];
    memset(note, 'x', sizeof(note) - 1);
    note[sizeof(note) - 1] = '\0';
    answers[0].note = note;
    assert_int_equal(eval(LPG_CUSTOMER_HOUSEHOLD, n, &v), -1);
}

static void test_confirmation(void **state)
{
    (void)state;
    struct check_verdict v;
    size_t n = all_required(LPG_CUSTOMER_HOUSEHOLD);
    assert_int_equal(safety_check_evaluate(LPG_CUSTOMER_HOUSEHOLD, answers, n, "", "sig-1", NULL,
                                           &v, why, sizeof(why)),
                     -1);
    assert_int_equal(safety_check_evaluate(LPG_CUSTOMER_HOUSEHOLD, answers, n, "Zhang", NULL, NULL,
                                           &v, why, sizeof(why)),
                     -1);
    assert_int_equal(safety_check_evaluate(LPG_CUSTOMER_HOUSEHOLD, answers, n, "Zhang", NULL,
                                           "12a4", &v, why, sizeof(why)),
                     -1);
    assert_int_equal(safety_check_evaluate(LPG_CUSTOMER_HOUSEHOLD, answers, n, "Zhang", NULL, "123",
                                           &v, why, sizeof(why)),
                     -1);
    assert_int_equal(safety_check_evaluate(LPG_CUSTOMER_HOUSEHOLD, answers, n, "Zhang",
                                           "sig-2026-12-03-1", NULL, &v, why, sizeof(why)),
                     0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_required_sets_by_kind), cmocka_unit_test(test_failures_and_findings),
        cmocka_unit_test(test_not_applicable),        cmocka_unit_test(test_malformed_checks),
        cmocka_unit_test(test_confirmation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
