/* test_service_reload.c -- a registry update that fails after Redis committed asks for the
 * reload (issue 11): the registry tells its owner of every failed put (registry.h), and the
 * service turns that into reload_needed plus one call of the binary's reload_start
 * (app/service.c). The put is made to fail with an entity whose id is not valid, the one
 * failure of a put that needs no allocation failure. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/service.h"
#include "common/log.h"
#include "core/entity.h"
#include "core/registry.h"

static struct lpg_staff *staff(const char *id)
{
    struct lpg_staff *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    snprintf(s->id, sizeof(s->id), "%s", id);
    snprintf(s->enterprise_id, sizeof(s->enterprise_id), "E1");
    return s;
}

static void count_call(void *arg)
{
    (*(int *)arg)++;
}

static void test_failed_put_tells_owner(void **state)
{
    (void)state;
    struct registry *reg = registry_new();
    assert_non_null(reg);
    int told = 0;
    /* Without an owner's hook a failed put is only its -1. */
    assert_int_equal(registry_put_staff(reg, staff("")), -1);
    registry_set_put_failed(reg, count_call, &told);
    assert_int_equal(registry_put_staff(reg, staff("S1")), 0);
    assert_int_equal(told, 0);
    assert_int_equal(registry_put_staff(reg, staff("")), -1);
    assert_int_equal(told, 1);

    /* Through a changeset: the good entity is applied, the bad one is reported. */
    struct changeset cs;
    memset(&cs, 0, sizeof(cs));
    assert_int_equal(changeset_add(&cs, RS_STAFF, staff("S2")), 0);
    assert_int_equal(changeset_add(&cs, RS_STAFF, staff("")), 0);
    assert_int_equal(changeset_apply(&cs, reg), -1);
    assert_int_equal(told, 2);
    assert_non_null(registry_staff(reg, "S2"));
    assert_int_equal(cs.n, 0);
    registry_free(reg);
}

static void test_apply_failure_requests_reload(void **state)
{
    (void)state;
    struct service s;
    memset(&s, 0, sizeof(s));
    int starts = 0;
    s.reload_start = count_call;
    s.reload_arg = &starts;
    s.registry = registry_new();
    assert_non_null(s.registry);
    registry_set_put_failed(s.registry, service_registry_put_failed, &s);

    /* While the first load runs, it reports its own failure: no reload on top. */
    assert_int_equal(registry_put_staff(s.registry, staff("")), -1);
    assert_int_equal(s.reload_needed, 0);
    assert_int_equal(starts, 0);

    s.loaded = 1;
    struct changeset cs;
    memset(&cs, 0, sizeof(cs));
    assert_int_equal(changeset_add(&cs, RS_STAFF, staff("")), 0);
    assert_int_equal(changeset_apply(&cs, s.registry), -1);
    assert_int_equal(s.reload_needed, 1);
    assert_int_equal(starts, 1);
    /* A second failure before the reload ran asks for nothing more. */
    assert_int_equal(registry_put_staff(s.registry, staff("")), -1);
    assert_int_equal(starts, 1);

    /* During shutdown nothing is reloaded. */
    s.reload_needed = 0;
    s.shutting_down = 1;
    service_request_reload(&s);
    assert_int_equal(s.reload_needed, 0);
    assert_int_equal(starts, 1);

    /* Without a binary's hook the need is kept for the next reconnection. */
    s.shutting_down = 0;
    s.reload_start = NULL;
    service_request_reload(&s);
    assert_int_equal(s.reload_needed, 1);
    registry_free(s.registry);
}

static void discard_log(void *arg, enum log_level level, const char *line, size_t len)
{
    (void)arg;
    (void)level;
    (void)line;
    (void)len;
}

int main(void)
{
    log_set_sink(discard_log, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failed_put_tells_owner),
        cmocka_unit_test(test_apply_failure_requests_reload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
