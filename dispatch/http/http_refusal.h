/* http_refusal.h -- the HTTP form of a refusal (app/refusal.h): the one table of status codes
 * and the error body {error:{code, message, field}} (docs/http-api.md, "Errors"). */
#ifndef LPG_HTTP_REFUSAL_H
#define LPG_HTTP_REFUSAL_H

#include "app/refusal.h"

struct http_call;

/* The HTTP status of a kind of refusal. */
int http_status_of(enum refusal_kind kind);

/* Replies with the refusal's status and error body. */
void http_reply_refusal(struct http_call *call, const struct refusal *r);

/* Refuses a request the handler itself finds wrong (a query parameter, a missing resource):
 * refuse() and http_reply_refusal() in one. field may be NULL. */
void http_refuse(struct http_call *call, enum refusal_kind kind, const char *code,
                 const char *field, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
