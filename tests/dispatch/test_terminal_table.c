/* test_terminal_table.c -- the terminal table (dispatch/store/terminals.c): lookups by id
 * through any edition's leading zeros and by vehicle, re-binding, removal, pages per
 * enterprise and over all in id order, and growth to many terminals with every lookup still
 * answered; the JSON store form round-trips (core/terminal.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "store/terminals.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct terminal_record rec(const char *id, const char *vehicle, const char *ent)
{
    struct terminal_record t;
    memset(&t, 0, sizeof(t));
    snprintf(t.id, sizeof(t.id), "%s", id);
    snprintf(t.vehicle_id, sizeof(t.vehicle_id), "%s", vehicle);
    snprintf(t.enterprise_id, sizeof(t.enterprise_id), "%s", ent);
    snprintf(t.protocol, sizeof(t.protocol), "jt808");
    t.created_ms = t.updated_ms = 1767225600000;
    return t;
}

static void test_lookups(void **state)
{
    (void)state;
    struct terminal_table *t = terminal_table_new();
    assert_non_null(t);
    struct terminal_record a = rec("13912345678", "V1", "EA");
    struct terminal_record b = rec("013800000001", "V2", "EB");
    assert_int_equal(terminal_table_put(t, &a), 0);
    assert_int_equal(terminal_table_put(t, &b), 0);
    assert_int_equal(terminal_table_count(t), 2);
    assert_string_equal(terminal_table_get(t, "013912345678")->id, "13912345678");
    assert_string_equal(terminal_table_get(t, "00000000013912345678")->id, "13912345678");
    assert_string_equal(terminal_table_get(t, "13800000001")->id, "013800000001");
    assert_null(terminal_table_get(t, "13912345679"));
    assert_null(terminal_table_get(t, "4eb6fb4afd9e"));
    assert_null(terminal_table_get(t, NULL));
    assert_string_equal(terminal_table_by_vehicle(t, "V1")->id, "13912345678");
    assert_null(terminal_table_by_vehicle(t, "V3"));
    /* Re-bound: found by its new vehicle only. */
    a = rec("13912345678", "V3", "EA");
    assert_int_equal(terminal_table_put(t, &a), 0);
    assert_int_equal(terminal_table_count(t), 1 + 1);
    assert_null(terminal_table_by_vehicle(t, "V1"));
    assert_string_equal(terminal_table_by_vehicle(t, "V3")->id, "13912345678");
    /* Removed by another spelling of its id. */
    terminal_table_remove(t, "0013912345678");
    assert_null(terminal_table_get(t, "13912345678"));
    assert_null(terminal_table_by_vehicle(t, "V3"));
    assert_int_equal(terminal_table_count(t), 1);
    terminal_table_free(t);
}

static void test_pages(void **state)
{
    (void)state;
    struct terminal_table *t = terminal_table_new();
    enum { N = 20000 };
    char id[32], veh[32];
    for (int i = N - 1; i >= 0; i--) { /* out of order on purpose */
        snprintf(id, sizeof(id), "139%08d", i);
        snprintf(veh, sizeof(veh), "V%d", i);
        struct terminal_record r = rec(id, veh, i % 2 ? "EB" : "EA");
        assert_int_equal(terminal_table_put(t, &r), 0);
    }
    assert_int_equal(terminal_table_count(t), N);
    for (int i = 0; i < N; i += 997) {
        snprintf(id, sizeof(id), "0139%08d", i);
        snprintf(veh, sizeof(veh), "V%d", i);
        assert_non_null(terminal_table_get(t, id));
        assert_string_equal(terminal_table_by_vehicle(t, veh)->id, id + 1);
    }
    /* Every terminal of EA once, in id order, by pages of 300. */
    const struct terminal_record *page[300];
    char after[32] = "";
    size_t seen = 0, n;
    char last[32] = "";
    while ((n = terminal_table_list(t, "EA", after, 300, page)) > 0) {
        for (size_t i = 0; i < n; i++) {
            assert_string_equal(page[i]->enterprise_id, "EA");
            assert_true(strcmp(page[i]->id, last) > 0);
            snprintf(last, sizeof(last), "%s", page[i]->id);
        }
        seen += n;
        snprintf(after, sizeof(after), "%s", page[n - 1]->id);
    }
    assert_int_equal(seen, N / 2);
    /* All enterprises: the first page starts at the smallest id. */
    n = terminal_table_list(t, NULL, NULL, 3, page);
    assert_int_equal(n, 3);
    assert_string_equal(page[0]->id, "13900000000");
    assert_string_equal(page[1]->id, "13900000001");
    assert_string_equal(page[2]->enterprise_id, "EA");
    /* A removal keeps the order. */
    terminal_table_remove(t, "13900000001");
    n = terminal_table_list(t, NULL, "13900000000", 1, page);
    assert_string_equal(page[0]->id, "13900000002");
    assert_int_equal(terminal_table_list(t, "EC", NULL, 10, page), 0);
    terminal_table_free(t);
}

static void test_json(void **state)
{
    (void)state;
    struct terminal_record a = rec("013912345678", "V1", "EA"), back;
    assert_int_equal(terminal_code_digest((const uint8_t *)"abc", 3, a.code_digest), 0);
    json_t *j = terminal_to_store_json(&a);
    char why[256];
    assert_int_equal(terminal_from_json(j, &back, why, sizeof(why)), 0);
    assert_memory_equal(&a, &back, sizeof(a));
    json_decref(j);
    j = terminal_to_public_json(&a);
    assert_null(json_object_get(j, "code_digest"));
    assert_true(json_is_true(json_object_get(j, "has_code")));
    json_decref(j);
    j = json_loads("{\"id\":\"1391234567\",\"vehicle_id\":\"V1\",\"enterprise_id\":\"EA\","
                   "\"protocol\":\"jt808\",\"code_digest\":\"\",\"created_ms\":1,"
                   "\"updated_ms\":1}",
                   0, NULL);
    assert_int_equal(terminal_from_json(j, &back, why, sizeof(why)), -1);
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookups),
        cmocka_unit_test(test_pages),
        cmocka_unit_test(test_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
