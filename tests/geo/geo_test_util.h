/*
 * geo_test_util.h - assertion helpers for the geo tests: every failure names the table case and
 * prints got / want / tolerance, so a red test says what broke without a debugger.
 * Include after <cmocka.h>.
 */
#ifndef GEO_TEST_UTIL_H
#define GEO_TEST_UTIL_H

#include <math.h>

#include "geo.h"

/* Fail unless |got - want| <= tol (NaN fails). */
#define GEO_ASSERT_NEAR(name, got, want, tol)                                                      \
    do {                                                                                           \
        double got_ = (got), want_ = (want), tol_ = (tol);                                         \
        if (!(fabs(got_ - want_) <= tol_))                                                         \
            fail_msg("%s: got %.12g, want %.12g (diff %.3g > tol %.3g)", (name), got_, want_,      \
                     fabs(got_ - want_), tol_);                                                    \
    } while (0)

/* Fail unless the status is the expected one; prints both as text. */
#define GEO_ASSERT_STATUS(name, got, want)                                                         \
    do {                                                                                           \
        enum geo_status got_ = (got), want_ = (want);                                              \
        if (got_ != want_)                                                                         \
            fail_msg("%s: status %d (%s), want %d (%s)", (name), (int)got_, geo_status_str(got_),  \
                     (int)want_, geo_status_str(want_));                                           \
    } while (0)

/* Fail unless a boolean result is the expected one. */
#define GEO_ASSERT_BOOL(name, got, want)                                                           \
    do {                                                                                           \
        bool got_ = (got), want_ = (want);                                                         \
        if (got_ != want_)                                                                         \
            fail_msg("%s: got %s, want %s", (name), got_ ? "true" : "false",                       \
                     want_ ? "true" : "false");                                                    \
    } while (0)

#define GEO_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif /* GEO_TEST_UTIL_H */
