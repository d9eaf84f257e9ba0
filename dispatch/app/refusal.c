/* refusal.c -- see refusal.h. */
#include "app/refusal.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>

int refuse(struct refusal *r, enum refusal_kind kind, const char *code, const char *field,
           const char *fmt, ...)
{
    assert(r != NULL && kind > REFUSAL_NONE && kind < REFUSAL_KIND_COUNT && code != NULL);
    r->kind = kind;
    snprintf(r->code, sizeof(r->code), "%s", code);
    snprintf(r->field, sizeof(r->field), "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof(r->message), fmt, ap);
    va_end(ap);
    return -1;
}

const char *refusal_kind_name(enum refusal_kind kind)
{
    static const char *const names[REFUSAL_KIND_COUNT] = {
        "none", "invalid",   "unauthenticated", "forbidden",   "not_found",       "conflict",
        "rule", "too_large", "rate_limited",    "unavailable", "outcome_unknown", "internal"};
    return (unsigned)kind < REFUSAL_KIND_COUNT ? names[kind] : "?";
}
