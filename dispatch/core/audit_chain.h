/* audit_chain.h -- the pure part of the tamper-evident record (audit_log.h): the canonical
 * text of an entry, its SHA-256, and a streaming verifier of a sequence of stored entry texts.
 * No I/O: audit_log.c feeds it what it reads from Redis; tests feed it tampered sequences.
 *
 * Canonical text: jansson's JSON_SORT_KEYS | JSON_COMPACT (UTF-8 as is), members seq, at_ms,
 * kind, actor, subject, enterprise (only when set), data (an object, {} when none), prev. Reals
 * print with 17 digits and are best avoided in data: integers and strings only keep the text stable
 * across libraries.
 *
 * How the verifier attributes a broken link. Entry k's hash is recorded by its successor (entry
 * k+1's "prev", or the head for the last entry). When entry k+1's prev differs from hash(k),
 * either entry k was changed or entry k+1 was; the next link decides: if hash(k+1) matches what
 * entry k+2 (or the head) recorded, entry k+1 is as it was written, so entry k changed
 * (hash_mismatch at k); otherwise entry k+1 changed (prev_mismatch at k+1). When that evidence
 * is missing, the earlier entry, k, is reported. The first entry of the range links to the
 * anchor (64 zeros for seq 1, else the hash of entry from-1's stored text, trusted as is): a
 * mismatch there is prev_mismatch at from.
 */
#ifndef LPG_AUDIT_CHAIN_H
#define LPG_AUDIT_CHAIN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One entry of the record, as the use cases describe it (audit_log_append numbers and chains
 * it). Defined here, with the canonical text, so that the pure chain needs nothing of the
 * Redis log above it. */
struct audit_entry {
    int64_t at_ms;          /* when it happened (UTC ms) */
    const char *kind;       /* e.g. "order_assigned", "cylinder_handed_over", "scan_refused" */
    const char *actor;      /* who did it: user id, staff id, "system", "rule:overspeed" */
    const char *subject;    /* what it is about: order id, cylinder code, alert id... */
    const char *enterprise; /* the enterprise concerned, or NULL when none */
    json_t *data;           /* borrowed; may be NULL (stored as {}) */
};

#define AUDIT_HASH_HEX_LEN 64 /* SHA-256 in lower-case hex */
#define AUDIT_ZERO_HASH    "0000000000000000000000000000000000000000000000000000000000000000"
/* Longest kind, actor, subject or enterprise accepted in an entry (bytes). */
#define AUDIT_NAME_MAX 256

/* The canonical text of *e as entry seq after prev_hex (malloc'd, NUL-terminated; the caller
 * frees it), or NULL when out of memory, e->data is not an object, or a name is missing, too
 * long or not UTF-8. */
char *audit_chain_canonical(const struct audit_entry *e, int64_t seq, const char *prev_hex);
/* SHA-256 of len bytes in lower-case hex. 0, or -1 when OpenSSL fails. */
int audit_chain_hash(const char *text, size_t len, char out[AUDIT_HASH_HEX_LEN + 1]);
/* The seq and prev of a stored entry text: 0, or -1 when it is not a JSON object with an
 * integer seq >= 1 and a 64-hex-digit prev. */
int audit_chain_parse(const char *text, size_t len, int64_t *seq,
                      char prev[AUDIT_HASH_HEX_LEN + 1]);

enum audit_break {
    AUDIT_OK,
    AUDIT_HASH_MISMATCH, /* the entry does not hash to what its successor (or the head) recorded */
    AUDIT_PREV_MISMATCH, /* the entry's prev is not its predecessor's hash, and it was changed */
    AUDIT_MISSING,       /* the entry is absent (deleted, or the list was cut short) */
    AUDIT_SEQ_MISMATCH,  /* the entry at this place carries another (lower or equal) seq */
    AUDIT_UNPARSABLE,    /* the stored text is not an entry */
    AUDIT_HEAD_MISMATCH, /* the head key disagrees with the entries or the service's own head */
};
const char *audit_break_name(enum audit_break b);

struct audit_verify_result {
    enum audit_break reason;
    int64_t first_broken_seq;               /* 0 when ok */
    int64_t checked;                        /* entries of the range found intact before the break */
    int64_t from_seq, to_seq;               /* the range verified (after clamping to the head) */
    int64_t head_seq;                       /* the head the entries were checked against */
    char head_hash[AUDIT_HASH_HEX_LEN + 1]; /* its hash (set by audit_log_verify) */
    char detail[200];                       /* for people */
};

/* Streaming verifier of entries [from_seq, to_seq]. Feed the stored texts of entries from_seq,
 * from_seq + 1, ... in order -- including up to two entries after to_seq, which only serve as
 * evidence for the links of the range -- while audit_verifier_feed returns true; then call
 * audit_verifier_end with the head (the recorded hash of the last entry). */
struct audit_verifier {
    int64_t from, to, next;
    char prev[AUDIT_HASH_HEX_LEN + 1];         /* hash of the last entry fed (or the anchor) */
    bool pending;                              /* a broken link awaits the next one's evidence */
    int64_t pending_k;                         /* the link k -> k+1 that broke */
    char pending_hash[AUDIT_HASH_HEX_LEN + 1]; /* hash(k+1) */
    bool done;
    struct audit_verify_result r;
};
void audit_verifier_begin(struct audit_verifier *v, int64_t from_seq, int64_t to_seq,
                          const char *anchor_hex);
bool audit_verifier_feed(struct audit_verifier *v, const char *text, size_t len);
/* No more entries were found (or none are needed). head_seq/head_hash: the head of the log. */
void audit_verifier_end(struct audit_verifier *v, int64_t head_seq, const char *head_hash);
/* The outcome (valid after audit_verifier_end, or once feed returned false). */
const struct audit_verify_result *audit_verifier_result(struct audit_verifier *v);

#endif
