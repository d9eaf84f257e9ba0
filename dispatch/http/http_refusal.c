/* http_refusal.c -- see http_refusal.h. */
#include "http/http_refusal.h"
#include "http/http_server.h"

#include <stdarg.h>
#include <stdio.h>

int http_status_of(enum refusal_kind kind)
{
    /* The whole mapping, in one place: docs/http-api.md's table of statuses follows it. */
    static const int status[REFUSAL_KIND_COUNT] = {
        [REFUSAL_NONE] = 200,
        [REFUSAL_INVALID] = 400,
        [REFUSAL_UNAUTHENTICATED] = 401,
        [REFUSAL_FORBIDDEN] = 403,
        [REFUSAL_NOT_FOUND] = 404,
        [REFUSAL_CONFLICT] = 409,
        [REFUSAL_RULE] = 422,
        [REFUSAL_TOO_LARGE] = 413,
        [REFUSAL_RATE_LIMITED] = 429,
        [REFUSAL_UNAVAILABLE] = 503,
        [REFUSAL_OUTCOME_UNKNOWN] = 503,
        [REFUSAL_INTERNAL] = 500,
    };
    return (unsigned)kind < REFUSAL_KIND_COUNT ? status[kind] : 500;
}

void http_reply_refusal(struct http_call *call, const struct refusal *r)
{
    http_reply_error(call, http_status_of(r->kind), r->code, r->message,
                     r->field[0] ? r->field : NULL);
}

void http_refuse(struct http_call *call, enum refusal_kind kind, const char *code,
                 const char *field, const char *fmt, ...)
{
    struct refusal r;
    refuse(&r, kind, code, field, "%s", "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r.message, sizeof(r.message), fmt, ap);
    va_end(ap);
    http_reply_refusal(call, &r);
}
