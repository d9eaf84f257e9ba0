/* refusal.h -- the one shape in which the use cases say no. A refusal has a kind (what sort of
 * no: the transports map it, HTTP to a status in http/http_refusal.c, the handset protocol to an
 * Error code), a stable machine code ("illegal_transition", "not_eligible", ...: documented
 * per route and message, never reworded), the input field it concerns if any, and a message
 * for a person. Fixed-size: a refusal is filled on any path, out of memory included.
 */
#ifndef LPG_REFUSAL_H
#define LPG_REFUSAL_H

enum refusal_kind {
    REFUSAL_NONE = 0,        /* not refused */
    REFUSAL_INVALID,         /* the input is malformed or out of range */
    REFUSAL_UNAUTHENTICATED, /* no valid credential */
    REFUSAL_FORBIDDEN,       /* the caller may not do this */
    REFUSAL_NOT_FOUND,       /* no such thing (or not the caller's to see) */
    REFUSAL_CONFLICT,        /* the thing's state forbids it: exists, illegal transition */
    REFUSAL_RULE,            /* well-formed, but a rule or a reference refuses it now */
    REFUSAL_TOO_LARGE,       /* over a size limit */
    REFUSAL_RATE_LIMITED,    /* too many, too fast: retry later */
    REFUSAL_UNAVAILABLE,     /* the store is down or loading: nothing was written, retry */
    REFUSAL_OUTCOME_UNKNOWN, /* the store may or may not have committed: re-read, then retry */
    REFUSAL_INTERNAL,        /* a fault of ours (out of memory, a bug): logged */
    REFUSAL_KIND_COUNT
};

#define REFUSAL_CODE_MAX 48
/* Field and message hold the longest passed through whole: core/model_json.h's validation
 * errors (127 and 383 bytes) and core/order_rules.h's messages (767). */
#define REFUSAL_FIELD_MAX   128
#define REFUSAL_MESSAGE_MAX 768

struct refusal {
    enum refusal_kind kind;
    char code[REFUSAL_CODE_MAX];       /* stable machine code */
    char field[REFUSAL_FIELD_MAX];     /* "" when no single field is at fault */
    char message[REFUSAL_MESSAGE_MAX]; /* for a person; may quote the input, truncated */
};

/* Fills r (field may be NULL). Returns -1, so that `return refuse(...)` reads as a refusal. */
int refuse(struct refusal *r, enum refusal_kind kind, const char *code, const char *field,
           const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* The kind's name ("conflict"), for logs. */
const char *refusal_kind_name(enum refusal_kind kind);

#endif
