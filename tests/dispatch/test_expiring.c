/* test_expiring.c -- dispatch/core/expiring.c: which documents are expiring (last valid day
 * within today..today + days, in the enterprise's local calendar), of each kind (licence,
 * qualification, training, permit, a cylinder's inspection: given, or computed from the last
 * inspection), what is not (missing, run out already, too far, a scrapped cylinder), and the
 * messages.
 *
 * "Now" is 2026-06-15T17:00Z: 2026-06-16 01:00 in UTC+8 (enterprise E1), still 06-15 in UTC.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/expiring.h"

static int32_t day_of(const char *ymd)
{
    int32_t d;
    assert_int_equal(lpg_day_parse(ymd, &d), 0);
    return d;
}

#define NOW (((int64_t)day_of("2026-06-15") * 86400 + 17 * 3600) * 1000)

static void set(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src);
}
#define SET(dst, src) set(dst, sizeof(dst), src)

struct seen {
    char lines[16][LPG_TEXT_MAX + 64];
    size_t n;
};

static void collect(const struct expiring_item *it, void *arg)
{
    struct seen *s = arg;
    assert_true(s->n < 16);
    char msg[LPG_TEXT_MAX + 1];
    expiring_message(it, msg, sizeof(msg));
    snprintf(s->lines[s->n++], sizeof(s->lines[0]), "%s/%s/%s/%d: %s", it->kind, it->document,
             it->id, (int)it->days_left, msg);
}

static void put_enterprise(struct registry *reg, const char *id, int32_t offset,
                           const char *licence, const char *expiry)
{
    struct lpg_enterprise *e = calloc(1, sizeof(*e));
    assert_non_null(e);
    set(e->id, sizeof(e->id), id);
    set(e->name, sizeof(e->name), "Gas Co");
    set(e->licence_no, sizeof(e->licence_no), licence);
    e->licence_expiry_day = expiry ? day_of(expiry) : LPG_DAY_NONE;
    e->utc_offset_min = offset;
    assert_int_equal(registry_put_enterprise(reg, e), 0);
}

static void put_staff(struct registry *reg, const char *id, const char *qual, const char *training)
{
    struct lpg_staff *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    SET(s->id, id);
    SET(s->enterprise_id, "E1");
    SET(s->name, "Wang");
    SET(s->vehicle_id, "V1");
    SET(s->qualification_no, "QC-1");
    s->qualification_expiry_day = qual ? day_of(qual) : LPG_DAY_NONE;
    SET(s->training_no, training ? "ST-1" : "");
    s->training_expiry_day = training ? day_of(training) : LPG_DAY_NONE;
    assert_int_equal(registry_put_staff(reg, s), 0);
}

static void put_vehicle(struct registry *reg, const char *id, const char *permit)
{
    struct lpg_vehicle *v = calloc(1, sizeof(*v));
    assert_non_null(v);
    SET(v->id, id);
    SET(v->enterprise_id, "E1");
    SET(v->plate, "P-1");
    SET(v->permit_no, "DG-1");
    v->permit_expiry_day = day_of(permit);
    assert_int_equal(registry_put_vehicle(reg, v), 0);
}

static void put_cylinder(struct registry *reg, const char *id, const char *next, const char *last,
                         enum lpg_cylinder_status status)
{
    struct lpg_cylinder *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    SET(c->id, id);
    SET(c->enterprise_id, "E1");
    SET(c->spec, "YSP-35.5");
    c->manufactured_day = day_of("2020-01-01");
    c->next_inspection_day = next ? day_of(next) : LPG_DAY_NONE;
    c->last_inspection_day = last ? day_of(last) : LPG_DAY_NONE;
    c->status = status;
    assert_int_equal(registry_put_cylinder(reg, c), 0);
}

static void test_each_kind_in_the_window(void **state)
{
    (void)state;
    struct registry *reg = registry_new();
    assert_non_null(reg);
    /* E1 (UTC+8): today is 06-16. E2 (UTC): today is 06-15, so its licence of 06-15 is still
     * valid today, while in UTC+8 it would have run out. */
    put_enterprise(reg, "E1", 480, "GL-1", "2026-07-16"); /* 30 days: in */
    put_enterprise(reg, "E2", 0, "GL-2", "2026-06-15");   /* today: in */
    put_enterprise(reg, "E3", 480, "GL-3", "2026-06-15"); /* run out yesterday: out */
    put_enterprise(reg, "E4", 480, "", NULL);             /* none */
    put_staff(reg, "S1", "2026-06-16", "2026-07-17");     /* today; 31 days: out */
    put_staff(reg, "S2", NULL, "2026-06-20");             /* qualification without a day */
    put_vehicle(reg, "V1", "2026-07-01");
    put_vehicle(reg, "V2", "2027-01-01");
    put_cylinder(reg, "CY1", "2026-06-30", NULL, LPG_CYL_IN_STOCK);
    put_cylinder(reg, "CY2", "2026-06-30", NULL, LPG_CYL_SCRAPPED);
    put_cylinder(reg, "CY3", NULL, "2022-06-20", LPG_CYL_LOADED); /* + 4 years */
    struct delivery_policy pol;
    delivery_policy_default(&pol);

    struct seen s = {0};
    assert_int_equal(expiring_scan(reg, NOW, 30, &pol, collect, &s), 7);
    const char *want[] = {
        "enterprise/licence/E1/30: gas business licence GL-1 of enterprise E1 (Gas Co): last valid "
        "day 2026-07-16, in 30 days",
        "enterprise/licence/E2/0: gas business licence GL-2 of enterprise E2 (Gas Co): last valid "
        "day 2026-06-15, today",
        "staff/qualification/S1/0: qualification certificate QC-1 of staff S1 (Wang): last valid "
        "day 2026-06-16, today",
        "staff/training/S2/4: safety-training certificate ST-1 of staff S2 (Wang): last valid day "
        "2026-06-20, in 4 days",
        "vehicle/permit/V1/15: vehicle permit DG-1 of vehicle V1 (P-1): last valid day 2026-07-01, "
        "in 15 days",
        "cylinder/inspection/CY1/14: periodic inspection of cylinder CY1 (YSP-35.5) falls due "
        "2026-06-30, in 14 days",
        "cylinder/inspection/CY3/4: periodic inspection of cylinder CY3 (YSP-35.5) falls due "
        "2026-06-20, in 4 days",
    };
    for (size_t i = 0; i < s.n; i++)
        assert_string_equal(s.lines[i], want[i]);

    /* days 0: only what runs out today. */
    memset(&s, 0, sizeof(s));
    assert_int_equal(expiring_scan(reg, NOW, 0, &pol, collect, &s), 2);
    registry_free(reg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_kind_in_the_window),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
