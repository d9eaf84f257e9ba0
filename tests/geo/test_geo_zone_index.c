/*
 * test_geo_zone_index.c - table-driven tests of the zone index API: build errors, empty index,
 * adjacent zones (shared edges and corners found in every zone, ids ascending), nested zones,
 * multipolygon zones reported once, truncation to the smallest ids, deep copy on build.
 * Expected ids are hand-read from the 3x3 grid below and the BOUNDARY RULE (geo_polygon.h).
 * The randomized comparison against brute force is in test_geo_zone_index_fuzz.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "geo_test_util.h"

/*
 * A 3x3 grid of 0.01-degree cells over Hailar with shared edges: cell (col c, row r) spans
 * lon 119.70 + 0.01 c .. + 0.01, lat 49.20 + 0.01 r .. + 0.01, and has id 100 + 10 r + c
 * (so ids are not positions). Plus zone 7: a city zone covering the whole grid (nested), and
 * zone 900: a two-part multipolygon far east whose parts share an edge.
 */
#define GRID  3
#define CELL  0.01   /* degrees */
#define LON0  119.70 /* degrees east */
#define LAT0  49.20  /* degrees north */
#define CITY  7
#define MULTI 900

struct fixture {
    struct geo_point cell_pts[GRID * GRID][4];
    struct geo_polygon cell_polys[GRID * GRID];
    struct geo_point city_pts[4];
    struct geo_polygon city_poly;
    struct geo_point multi_pts[2][4];
    struct geo_polygon multi_polys[2];
    struct geo_zone zones[GRID * GRID + 2];
    size_t n_zones;
};

static void square(struct geo_point *pts, double lon, double lat, double size)
{
    pts[0] = (struct geo_point){lon, lat};
    pts[1] = (struct geo_point){lon + size, lat};
    pts[2] = (struct geo_point){lon + size, lat + size};
    pts[3] = (struct geo_point){lon, lat + size};
}

static void fixture_init(struct fixture *f)
{
    memset(f, 0, sizeof *f);
    for (int r = 0; r < GRID; r++) {
        for (int c = 0; c < GRID; c++) {
            int k = r * GRID + c;
            square(f->cell_pts[k], LON0 + CELL * c, LAT0 + CELL * r, CELL);
            f->cell_polys[k] = (struct geo_polygon){{f->cell_pts[k], 4}, NULL, 0};
            f->zones[f->n_zones++] =
                (struct geo_zone){(uint32_t)(100 + 10 * r + c), {&f->cell_polys[k], 1}};
        }
    }
    square(f->city_pts, LON0 - 0.001, LAT0 - 0.001, GRID * CELL + 0.002);
    f->city_poly = (struct geo_polygon){{f->city_pts, 4}, NULL, 0};
    f->zones[f->n_zones++] = (struct geo_zone){CITY, {&f->city_poly, 1}};
    square(f->multi_pts[0], 120.0, 49.0, 0.01);
    square(f->multi_pts[1], 120.01, 49.0, 0.01);
    for (int i = 0; i < 2; i++)
        f->multi_polys[i] = (struct geo_polygon){{f->multi_pts[i], 4}, NULL, 0};
    f->zones[f->n_zones++] = (struct geo_zone){MULTI, {f->multi_polys, 2}};
}

/* Per-test state: the fixture and an index built from it, freed by teardown even on failure. */
struct zi_state {
    struct fixture f;
    struct geo_zone_index *idx;
};

static int zi_setup(void **state)
{
    struct zi_state *st = calloc(1, sizeof *st);
    if (st == NULL)
        return -1;
    fixture_init(&st->f);
    *state = st;
    return geo_zone_index_build(st->f.zones, st->f.n_zones, &st->idx, NULL) == GEO_OK ? 0 : -1;
}

static int zi_teardown(void **state)
{
    struct zi_state *st = *state;
    if (st != NULL)
        geo_zone_index_free(st->idx);
    free(st);
    return 0;
}

struct query_case {
    const char *name;
    struct geo_point p; /* lon, lat degrees */
    size_t n_want;
    uint32_t want[5]; /* ascending */
};

/* Exactly representable grid lines would be nicer, but 119.71 etc. are not; the tolerance of the
 * boundary rule makes the computed lines (LON0 + CELL * c) and the literal ones agree. */
static const struct query_case QUERY_CASES[] = {
    /* Hand: centre cell (1,1) = id 111, plus the city zone 7. */
    {"centre of 111", {119.715, 49.215}, 2, {CITY, 111}},
    /* Hand: SW cell 100. */
    {"inside 100", {119.705, 49.205}, 2, {CITY, 100}},
    /* Rule: on the edge shared by 100 and 101 (lon 119.71) -> both. */
    {"edge 100|101", {119.71, 49.205}, 3, {CITY, 100, 101}},
    /* Rule: on the corner shared by 100, 101, 110, 111 -> all four. */
    {"corner of 4", {119.71, 49.21}, 5, {CITY, 100, 101, 110, 111}},
    /* Rule: on the grid's outer west edge: cell 110 and the city zone (which encloses it). */
    {"outer west edge", {119.70, 49.215}, 2, {CITY, 110}},
    /* Hand: in the city margin, outside every cell. */
    {"city margin", {119.6995, 49.215}, 1, {CITY}},
    /* Hand: outside everything. */
    {"nowhere", {118.0, 40.0}, 0, {0}},
    /* Rule: on the edge shared by the two parts of zone 900 -> reported once. */
    {"multi shared edge", {120.01, 49.005}, 1, {MULTI}},
    {"multi part 2", {120.015, 49.005}, 1, {MULTI}},
};

static void test_query_table(void **state)
{
    struct zi_state *st = *state;
    const struct geo_zone_index *idx = st->idx;
    assert_int_equal(geo_zone_index_count(idx), st->f.n_zones);
    for (size_t i = 0; i < GEO_ARRAY_LEN(QUERY_CASES); i++) {
        const struct query_case *c = &QUERY_CASES[i];
        uint32_t ids[16];
        size_t n = 99;
        GEO_ASSERT_STATUS(c->name, geo_zone_index_query(idx, c->p, ids, 16, &n), GEO_OK);
        if (n != c->n_want)
            fail_msg("%s: found %zu zones, want %zu", c->name, n, c->n_want);
        for (size_t k = 0; k < n; k++)
            if (ids[k] != c->want[k])
                fail_msg("%s: ids[%zu] = %u, want %u", c->name, k, ids[k], c->want[k]);
    }
}

static void test_query_truncation(void **state)
{
    struct zi_state *st = *state;
    const struct geo_zone_index *idx = st->idx;
    const struct geo_point corner = {119.71, 49.21}; /* in 7, 100, 101, 110, 111 */
    uint32_t ids[4] = {0, 0, 0, 0xdeadbeef};
    size_t n = 0;
    /* Documented: the cap SMALLEST ids, ascending; n_found is the total. */
    GEO_ASSERT_STATUS("cap 3", geo_zone_index_query(idx, corner, ids, 3, &n), GEO_ERR_TRUNCATED);
    assert_int_equal(n, 5);
    assert_int_equal(ids[0], CITY);
    assert_int_equal(ids[1], 100);
    assert_int_equal(ids[2], 101);
    assert_int_equal(ids[3], 0xdeadbeef); /* nothing written past cap */
    /* cap 0 with NULL buffer: a pure count. */
    GEO_ASSERT_STATUS("count only", geo_zone_index_query(idx, corner, NULL, 0, &n),
                      GEO_ERR_TRUNCATED);
    assert_int_equal(n, 5);
    /* Exactly enough room is not truncation. */
    uint32_t five[5];
    GEO_ASSERT_STATUS("cap 5", geo_zone_index_query(idx, corner, five, 5, &n), GEO_OK);
    assert_int_equal(n, 5);
    /* Nothing found with cap 0 is OK. */
    GEO_ASSERT_STATUS("none, cap 0",
                      geo_zone_index_query(idx, (struct geo_point){0.0, 0.0}, NULL, 0, &n), GEO_OK);
    assert_int_equal(n, 0);
}

static void test_query_errors(void **state)
{
    struct zi_state *st = *state;
    const struct geo_zone_index *idx = st->idx;
    uint32_t ids[4];
    size_t n = 99;
    const struct geo_point ok = {119.715, 49.215};
    GEO_ASSERT_STATUS("NULL idx", geo_zone_index_query(NULL, ok, ids, 4, &n), GEO_ERR_NULL);
    GEO_ASSERT_STATUS("NULL n_found", geo_zone_index_query(idx, ok, ids, 4, NULL), GEO_ERR_NULL);
    GEO_ASSERT_STATUS("NULL ids, cap 4", geo_zone_index_query(idx, ok, NULL, 4, &n), GEO_ERR_NULL);
    const struct {
        const char *name;
        struct geo_point p;
    } bad[] = {{"NaN lon", {NAN, 49.2}},
               {"lat 90.1", {119.7, 90.1}},
               {"lon -180.1", {-180.1, 0}},
               {"swapped lat/lon", {49.215, 119.715}}};
    for (size_t i = 0; i < GEO_ARRAY_LEN(bad); i++) {
        n = 99;
        GEO_ASSERT_STATUS(bad[i].name, geo_zone_index_query(idx, bad[i].p, ids, 4, &n),
                          GEO_ERR_RANGE);
        assert_int_equal(n, 0);
    }
    geo_zone_index_free(NULL); /* documented no-op */
    assert_int_equal(geo_zone_index_count(NULL), 0);
}

static void test_build_errors(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    struct geo_zone_index *idx = NULL, *sentinel = (struct geo_zone_index *)&f;
    size_t bad = 99;

    GEO_ASSERT_STATUS("NULL out", geo_zone_index_build(f.zones, f.n_zones, NULL, &bad),
                      GEO_ERR_NULL);
    idx = sentinel;
    GEO_ASSERT_STATUS("NULL zones", geo_zone_index_build(NULL, 3, &idx, &bad), GEO_ERR_NULL);
    assert_ptr_equal(idx, sentinel); /* untouched on failure */

    /* Zone 4 gets the id of zone 1: the later position is reported. */
    f.zones[4].id = f.zones[1].id;
    GEO_ASSERT_STATUS("duplicate id", geo_zone_index_build(f.zones, f.n_zones, &idx, &bad),
                      GEO_ERR_DUPLICATE_ID);
    assert_int_equal(bad, 4);
    assert_ptr_equal(idx, sentinel);
    fixture_init(&f);

    /* Invalid shapes at position 5: the status of geo_multipolygon_check and the position. */
    const struct geo_point two[] = {{119.7, 49.2}, {119.8, 49.2}};
    const struct geo_point nan3[] = {{119.7, 49.2}, {119.8, NAN}, {119.8, 49.3}};
    const struct geo_polygon p_two = {{two, 2}, NULL, 0}, p_nan = {{nan3, 3}, NULL, 0},
                             p_empty = {{two, 0}, NULL, 0};
    const struct {
        const char *name;
        struct geo_multipolygon shape;
        enum geo_status want;
    } cases[] = {
        {"2-point ring", {&p_two, 1}, GEO_ERR_TOO_FEW_POINTS},
        {"NaN vertex", {&p_nan, 1}, GEO_ERR_RANGE},
        {"empty ring", {&p_empty, 1}, GEO_ERR_EMPTY},
        {"no parts", {&p_two, 0}, GEO_ERR_EMPTY},
        {"NULL parts", {NULL, 1}, GEO_ERR_NULL},
    };
    for (size_t i = 0; i < GEO_ARRAY_LEN(cases); i++) {
        struct geo_zone zones[GRID * GRID + 2];
        memcpy(zones, f.zones, sizeof zones);
        zones[5].shape = cases[i].shape;
        bad = 99;
        GEO_ASSERT_STATUS(cases[i].name, geo_zone_index_build(zones, f.n_zones, &idx, &bad),
                          cases[i].want);
        if (bad != 5)
            fail_msg("%s: bad_zone %zu, want 5", cases[i].name, bad);
        assert_ptr_equal(idx, sentinel);
    }
    /* bad_zone is optional. */
    f.zones[2].shape = cases[0].shape;
    GEO_ASSERT_STATUS("no bad_zone", geo_zone_index_build(f.zones, f.n_zones, &idx, NULL),
                      GEO_ERR_TOO_FEW_POINTS);
}

static void test_empty_index(void **state)
{
    struct zi_state *st = *state;
    geo_zone_index_free(st->idx);
    st->idx = NULL;
    GEO_ASSERT_STATUS("build empty", geo_zone_index_build(NULL, 0, &st->idx, NULL), GEO_OK);
    const struct geo_zone_index *idx = st->idx;
    assert_non_null(idx);
    assert_int_equal(geo_zone_index_count(idx), 0);
    uint32_t ids[2];
    size_t n = 99;
    GEO_ASSERT_STATUS(
        "query", geo_zone_index_query(idx, (struct geo_point){119.7, 49.2}, ids, 2, &n), GEO_OK);
    assert_int_equal(n, 0);
}

/* Ownership: the index deep-copies, so scribbling over the caller's arrays changes nothing. */
static void test_build_copies_input(void **state)
{
    struct zi_state *st = *state;
    const struct geo_zone_index *idx = st->idx; /* built by zi_setup from st->f */
    memset(&st->f, 0xff, sizeof st->f);         /* NaN vertices, garbage pointers and counts */
    uint32_t ids[8];
    size_t n = 0;
    GEO_ASSERT_STATUS("query",
                      geo_zone_index_query(idx, (struct geo_point){119.715, 49.215}, ids, 8, &n),
                      GEO_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ids[0], CITY);
    assert_int_equal(ids[1], 111);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_query_table, zi_setup, zi_teardown),
        cmocka_unit_test_setup_teardown(test_query_truncation, zi_setup, zi_teardown),
        cmocka_unit_test_setup_teardown(test_query_errors, zi_setup, zi_teardown),
        cmocka_unit_test(test_build_errors),
        cmocka_unit_test_setup_teardown(test_empty_index, zi_setup, zi_teardown),
        cmocka_unit_test_setup_teardown(test_build_copies_input, zi_setup, zi_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
