/* test_pool.c - dispatch/common/pool.[ch]: objects come zeroed, aligned, from blocks, are reused
 * after being given back, and never overlap. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "common/pool.h"

#include <string.h>

struct item {
    uint64_t id;
    char name[40];
};

static void test_take_give_reuse(void **state)
{
    (void)state;
    struct pool p;
    pool_init(&p, sizeof(struct item), 4);
    assert_int_equal(p.size % 16, 0);
    assert_true(p.size >= sizeof(struct item));
    struct item *it[10];
    for (int i = 0; i < 10; i++) {
        it[i] = pool_take(&p);
        assert_non_null(it[i]);
        assert_int_equal((uintptr_t)it[i] % 16, 0);
        for (size_t b = 0; b < sizeof *it[i]; b++)
            assert_int_equal(((unsigned char *)it[i])[b], 0); /* zeroed */
        it[i]->id = (uint64_t)i;
        memset(it[i]->name, 'a' + i, sizeof it[i]->name);
    }
    assert_int_equal(p.n_blocks, 3); /* 4 + 4 + 2 */
    assert_int_equal(p.live, 10);
    for (int i = 0; i < 10; i++) { /* no object overwrote another */
        assert_int_equal(it[i]->id, (uint64_t)i);
        assert_int_equal(it[i]->name[39], 'a' + i);
    }
    pool_give(&p, it[3]);
    pool_give(&p, NULL);
    assert_int_equal(p.live, 9);
    struct item *again = pool_take(&p);
    assert_ptr_equal(again, it[3]); /* reused before a new slot */
    assert_int_equal(again->id, 0); /* and zeroed */
    assert_int_equal(p.n_blocks, 3);
    pool_free_all(&p);
    assert_int_equal(p.n_blocks, 0);
    assert_int_equal(p.live, 0);
    assert_non_null(pool_take(&p)); /* usable again */
    pool_free_all(&p);
}

static void test_tiny_objects(void **state)
{
    (void)state;
    struct pool p;
    pool_init(&p, 1, 8); /* room for the free-list link all the same */
    assert_true(p.size >= sizeof(void *));
    void *a = pool_take(&p), *b = pool_take(&p);
    assert_true((char *)b - (char *)a >= (ptrdiff_t)sizeof(void *));
    pool_give(&p, a);
    pool_give(&p, b);
    assert_ptr_equal(pool_take(&p), b);
    assert_ptr_equal(pool_take(&p), a);
    pool_free_all(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_take_give_reuse),
        cmocka_unit_test(test_tiny_objects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
