/* audit_checkpoint.h -- signed checkpoints of the tamper-evident record (docs/audit.md,
 * "Checkpoints"): the chain head (seq, digest) at a time, signed with the service's Ed25519 key,
 * so that whoever keeps one can later prove that a re-exported chain still contains that head
 * and extends it; a tail rewritten with fresh hashes (by someone with Redis access, e.g. while
 * the service was stopped) no longer does.
 *
 * The signed bytes are one ASCII line (AUDIT_CHECKPOINT_TAG, then the members, one space apart,
 * ending with a single LF):
 *   lpg-dispatch-audit-checkpoint-v1 seq=<seq> digest=<64 hex> time=<RFC 3339 ms Z> key_id=<64
 * hex>\n seq in decimal without leading zeros, digest the lower-case hex SHA-256 of entry seq's
 * stored text (64 zeros for seq 0, the empty log), time as "2026-12-07T04:52:00.123Z", key_id the
 * lower-case hex SHA-256 of the 32 raw bytes of the public key. The signature is Ed25519 (pure,
 * RFC 8032) over those bytes, in standard base64 with padding (88 characters).
 *
 * Pure: OpenSSL's EVP and jansson only; keys are loaded by common/key_file.h.
 */
#ifndef LPG_AUDIT_CHECKPOINT_H
#define LPG_AUDIT_CHECKPOINT_H

#include "core/audit_chain.h" /* AUDIT_HASH_HEX_LEN */
#include "core/model_json.h"  /* LPG_JSON_INSTANT_LEN */

#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUDIT_CHECKPOINT_TAG    "lpg-dispatch-audit-checkpoint-v1"
#define AUDIT_SIGNATURE_B64_LEN 88  /* 64 bytes in base64 */
#define AUDIT_PUBLIC_B64_LEN    44  /* 32 bytes in base64 */
#define AUDIT_SIGNED_TEXT_MAX   256 /* the signed line is at most this long */

struct audit_checkpoint {
    int64_t seq;                                 /* the head's seq (0: the empty log) */
    char digest[AUDIT_HASH_HEX_LEN + 1];         /* hash of entry seq */
    char time[LPG_JSON_INSTANT_LEN + 1];         /* when it was signed */
    char key_id[AUDIT_HASH_HEX_LEN + 1];         /* SHA-256 of the raw public key */
    char signature[AUDIT_SIGNATURE_B64_LEN + 1]; /* base64 Ed25519 signature */
};

/* The signed line of cp (its signature is not part of it) into out; its length, or -1 when a
 * member is malformed (seq < 0, digest or key_id not 64 lower-case hex, time not canonical) or
 * cap is too small. */
int audit_checkpoint_signed_text(const struct audit_checkpoint *cp, char *out, size_t cap);

/* key_id of an Ed25519 key (private or public): 0, or -1 when it is not an Ed25519 key. */
int audit_key_id(EVP_PKEY *key, char out[AUDIT_HASH_HEX_LEN + 1]);
/* The 32 raw bytes of the public key in base64: 0 or -1. */
int audit_key_public_b64(EVP_PKEY *key, char out[AUDIT_PUBLIC_B64_LEN + 1]);
/* The public key as PEM (SubjectPublicKeyInfo, "-----BEGIN PUBLIC KEY-----"), malloc'd; NULL
 * when out of memory or not an Ed25519 key. */
char *audit_key_public_pem(EVP_PKEY *key);

/* Fills and signs *out for head (seq, digest) at time_ms with the private key: 0, or -1 when
 * the arguments are malformed or OpenSSL fails. */
int audit_checkpoint_sign(EVP_PKEY *priv, int64_t seq, const char *digest, int64_t time_ms,
                          struct audit_checkpoint *out);
/* Whether cp is signed by pub: 1 valid; 0 not (why says which check failed: the key_id is not
 * pub's, the signature is not base64 of 64 bytes, or it does not verify); -1 OpenSSL failed. */
int audit_checkpoint_verify(EVP_PKEY *pub, const struct audit_checkpoint *cp, char *why,
                            size_t cap);

/* {"seq","digest","time","key_id","signature"} (new reference; NULL when out of memory). */
json_t *audit_checkpoint_to_json(const struct audit_checkpoint *cp);
/* The members of a checkpoint object (others are ignored): 0, or -1 with why. */
int audit_checkpoint_from_json(const json_t *j, struct audit_checkpoint *cp, char *why, size_t cap);

/* Checks a later export of the chain against a checkpoint. Feed the stored texts of the export
 * in order; it must contain entry cp->seq (or, when it starts just after it, entry cp->seq + 1),
 * and:
 *   - entry cp->seq hashes to cp->digest (else "digest_mismatch" at cp->seq: an entry at or
 *     before it was changed and the chain re-hashed),
 *   - each entry carries the seq after its predecessor's ("seq_gap") and links to it: its prev
 *     is the hash of the entry before it ("prev_mismatch" at it; for the first entry after
 *     cp->seq with no entry before it in the export, cp->digest),
 *   - each parses as an entry ("unparsable"),
 *   - the export reaches cp->seq ("missing": it ends before, or starts after cp->seq + 1).
 * Entries before cp->seq are checked for their links too when present. */
struct audit_checkpoint_check {
    int64_t cp_seq;
    char cp_digest[AUDIT_HASH_HEX_LEN + 1];
    int64_t fed;                            /* entries fed */
    int64_t last_seq;                       /* seq of the last entry fed (0: none) */
    char last_hash[AUDIT_HASH_HEX_LEN + 1]; /* its hash */
    bool found;                             /* the checkpoint's head was met */
    bool failed;
    int64_t bad_seq;    /* where it failed */
    const char *reason; /* why (static string), NULL while ok */
    char detail[240];   /* for people */
};
void audit_checkpoint_check_begin(struct audit_checkpoint_check *c,
                                  const struct audit_checkpoint *cp);
/* false once a failure is found (feed no more). */
bool audit_checkpoint_check_feed(struct audit_checkpoint_check *c, const char *text, size_t len);
/* 0 when the export holds the checkpoint's head and links up to its end; -1 (reason, bad_seq,
 * detail set) otherwise. */
int audit_checkpoint_check_end(struct audit_checkpoint_check *c);

#endif
