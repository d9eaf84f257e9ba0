/* audit_chain.c -- canonical entries, their hash and the chain verifier (audit_chain.h). Pure:
 * jansson and OpenSSL's EVP digest only. */
#include "core/audit_chain.h"

#include "core/model.h"

#include <openssl/evp.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool name_ok(const char *s)
{
    if (s == NULL || s[0] == '\0')
        return false;
    size_t n = strnlen(s, AUDIT_NAME_MAX + 1);
    return n <= AUDIT_NAME_MAX && lpg_utf8_valid(s, n);
}

static bool hex64(const char *s)
{
    if (s == NULL || strlen(s) != AUDIT_HASH_HEX_LEN)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

char *audit_chain_canonical(const struct audit_entry *e, int64_t seq, const char *prev_hex)
{
    if (!name_ok(e->kind) || !name_ok(e->actor) || !name_ok(e->subject) ||
        (e->enterprise != NULL && !name_ok(e->enterprise)) || !hex64(prev_hex) || seq < 1 ||
        (e->data != NULL && !json_is_object(e->data)))
        return NULL;
    json_t *data = e->data ? json_incref(e->data) : json_object();
    json_t *j = json_pack("{s:I, s:I, s:s, s:s, s:s, s:o, s:s}", "seq", (json_int_t)seq, "at_ms",
                          (json_int_t)e->at_ms, "kind", e->kind, "actor", e->actor, "subject",
                          e->subject, "data", data, "prev", prev_hex);
    int ok = j != NULL && (e->enterprise == NULL ||
                           json_object_set_new(j, "enterprise", json_string(e->enterprise)) == 0);
    char *text = ok ? json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
    json_decref(j);
    return text;
}

int audit_chain_hash(const char *text, size_t len, char out[AUDIT_HASH_HEX_LEN + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    out[0] = '\0';
    if (EVP_Digest(text, len, md, &md_len, EVP_sha256(), NULL) != 1 || md_len != 32)
        return -1;
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < md_len; i++) {
        out[2 * i] = digits[md[i] >> 4];
        out[2 * i + 1] = digits[md[i] & 15];
    }
    out[2 * md_len] = '\0';
    return 0;
}

int audit_chain_parse(const char *text, size_t len, int64_t *seq, char prev[AUDIT_HASH_HEX_LEN + 1])
{
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *s = json_object_get(j, "seq");
    const char *p = json_string_value(json_object_get(j, "prev"));
    int rc = -1;
    if (json_is_integer(s) && json_integer_value(s) >= 1 && hex64(p)) {
        *seq = (int64_t)json_integer_value(s);
        memcpy(prev, p, AUDIT_HASH_HEX_LEN + 1);
        rc = 0;
    }
    json_decref(j);
    return rc;
}

const char *audit_break_name(enum audit_break b)
{
    switch (b) {
    case AUDIT_OK:
        return "ok";
    case AUDIT_HASH_MISMATCH:
        return "hash_mismatch";
    case AUDIT_PREV_MISMATCH:
        return "prev_mismatch";
    case AUDIT_MISSING:
        return "missing";
    case AUDIT_SEQ_MISMATCH:
        return "seq_mismatch";
    case AUDIT_UNPARSABLE:
        return "unparsable";
    case AUDIT_HEAD_MISMATCH:
        return "head_mismatch";
    }
    return "unknown";
}

void audit_verifier_begin(struct audit_verifier *v, int64_t from_seq, int64_t to_seq,
                          const char *anchor_hex)
{
    memset(v, 0, sizeof(*v));
    v->from = from_seq < 1 ? 1 : from_seq;
    v->to = to_seq;
    v->next = v->from;
    snprintf(v->prev, sizeof(v->prev), "%s", anchor_hex);
    v->r.from_seq = v->from;
    v->r.to_seq = to_seq;
    if (v->to < v->from)
        v->done = true; /* an empty range is intact */
}

static void broken(struct audit_verifier *v, enum audit_break why, int64_t seq, const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));

static void broken(struct audit_verifier *v, enum audit_break why, int64_t seq, const char *fmt,
                   ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->r.detail, sizeof(v->r.detail), fmt, ap);
    va_end(ap);
    v->r.reason = why;
    v->r.first_broken_seq = seq;
    /* Entries before the break that were checked, within the range. */
    int64_t last_good = seq - 1 < v->to ? seq - 1 : v->to;
    v->r.checked = last_good >= v->from ? last_good - v->from + 1 : 0;
    v->done = true;
}

/* The link k -> k+1 broke; `successor_prev` is what the successor of k+1 recorded as hash(k+1),
 * or NULL when there is no such evidence. */
static void decide(struct audit_verifier *v, const char *successor_prev)
{
    int64_t k = v->pending_k;
    if (successor_prev != NULL && strcmp(successor_prev, v->pending_hash) != 0 && k + 1 > v->to) {
        /* Entry k is intact (as far as its successor tells) and the change is beyond the range. */
        v->r.checked = v->to - v->from + 1;
        v->done = true;
        return;
    }
    if (successor_prev != NULL && strcmp(successor_prev, v->pending_hash) != 0)
        broken(v, AUDIT_PREV_MISMATCH, k + 1,
               "entry %" PRId64 " was changed: its prev is not entry %" PRId64 "'s hash, and its "
               "own hash is not what its successor recorded",
               k + 1, k);
    else
        broken(v, AUDIT_HASH_MISMATCH, k,
               "entry %" PRId64 " was changed: its hash is not what entry %" PRId64 " recorded", k,
               k + 1);
}

bool audit_verifier_feed(struct audit_verifier *v, const char *text, size_t len)
{
    if (v->done)
        return false;
    int64_t m = v->next, seq = 0;
    char prev[AUDIT_HASH_HEX_LEN + 1], h[AUDIT_HASH_HEX_LEN + 1];
    if (audit_chain_parse(text, len, &seq, prev) != 0) {
        if (v->pending)
            decide(v, NULL);
        else
            broken(v, AUDIT_UNPARSABLE, m, "entry %" PRId64 " is not a valid entry", m);
        return false;
    }
    if (seq != m) {
        if (v->pending)
            decide(v, NULL);
        else if (seq > m)
            broken(v, AUDIT_MISSING, m,
                   "entry %" PRId64 " is missing from its place (deleted or moved): entry %" PRId64
                   " is there",
                   m, seq);
        else
            broken(v, AUDIT_SEQ_MISMATCH, m,
                   "the entry in place %" PRId64 " carries seq %" PRId64 " (reordered or copied)",
                   m, seq);
        return false;
    }
    if (audit_chain_hash(text, len, h) != 0) {
        broken(v, AUDIT_UNPARSABLE, m, "entry %" PRId64 " could not be hashed", m);
        return false;
    }
    if (v->pending) {
        decide(v, prev);
        return false;
    }
    if (strcmp(prev, v->prev) != 0) {
        if (m == v->from) {
            broken(v, AUDIT_PREV_MISMATCH, m,
                   "entry %" PRId64 "'s prev is not the anchor's hash (%s)", m,
                   m == 1 ? "64 zeros for the first entry" : "entry from_seq-1 as stored");
            return false;
        }
        v->pending = true;
        v->pending_k = m - 1;
        memcpy(v->pending_hash, h, sizeof(h));
        v->next++;
        return true;
    }
    memcpy(v->prev, h, sizeof(h));
    v->next++;
    if (m > v->to) {
        /* Entry to+1's prev confirmed hash(to): the range is intact. */
        v->r.checked = v->to - v->from + 1;
        v->done = true;
        return false;
    }
    return true;
}

void audit_verifier_end(struct audit_verifier *v, int64_t head_seq, const char *head_hash)
{
    v->r.head_seq = head_seq;
    if (v->done)
        return;
    if (v->pending) {
        /* The last entry fed was k+1; its successor's record is the head, if it is the last. */
        decide(v, head_seq == v->pending_k + 1 ? head_hash : NULL);
        return;
    }
    if (v->next <= v->to) {
        broken(v, AUDIT_MISSING, v->next,
               "entry %" PRId64 " is missing (the log ends before the head, seq %" PRId64 ")",
               v->next, head_seq);
        return;
    }
    /* Every entry up to `to` was fed and linked; the last one's hash is recorded by the head. */
    if (v->to != head_seq) {
        broken(v, AUDIT_MISSING, v->to + 1, "entry %" PRId64 " is missing", v->to + 1);
        return;
    }
    if (strcmp(head_hash, v->prev) != 0) {
        broken(v, AUDIT_HASH_MISMATCH, v->to,
               "entry %" PRId64 " was changed: its hash is not what the head recorded", v->to);
        return;
    }
    v->r.checked = v->to - v->from + 1;
    v->done = true;
}

const struct audit_verify_result *audit_verifier_result(struct audit_verifier *v)
{
    return &v->r;
}
