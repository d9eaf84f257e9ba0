/* audit_checkpoint.c -- signed checkpoints of the audit chain (audit_checkpoint.h). Pure:
 * OpenSSL's EVP (Ed25519, SHA-256, base64, PEM to memory) and jansson. */
#include "core/audit_checkpoint.h"

#include <openssl/bio.h>
#include <openssl/pem.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ED25519_RAW_LEN 32
#define ED25519_SIG_LEN 64

static bool hex64(const char *s)
{
    if (s == NULL || strnlen(s, AUDIT_HASH_HEX_LEN + 1) != AUDIT_HASH_HEX_LEN)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

/* The time as the service writes it: parses, and formats back to the same text. */
static bool time_canonical(const char *s)
{
    int64_t ms;
    char again[LPG_JSON_INSTANT_LEN + 1];
    if (s == NULL || lpg_json_instant_parse(s, &ms) != 0)
        return false;
    lpg_json_instant_format(ms, again);
    return strcmp(again, s) == 0;
}

static void say(char *why, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *why, size_t cap, const char *fmt, ...)
{
    if (why == NULL || cap == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
}

int audit_checkpoint_signed_text(const struct audit_checkpoint *cp, char *out, size_t cap)
{
    if (cp->seq < 0 || !hex64(cp->digest) || !hex64(cp->key_id) || !time_canonical(cp->time))
        return -1;
    int n =
        snprintf(out, cap, AUDIT_CHECKPOINT_TAG " seq=%" PRId64 " digest=%s time=%s key_id=%s\n",
                 cp->seq, cp->digest, cp->time, cp->key_id);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

static int raw_public(EVP_PKEY *key, unsigned char raw[ED25519_RAW_LEN])
{
    size_t len = ED25519_RAW_LEN;
    if (key == NULL || EVP_PKEY_get_id(key) != EVP_PKEY_ED25519 ||
        EVP_PKEY_get_raw_public_key(key, raw, &len) != 1 || len != ED25519_RAW_LEN)
        return -1;
    return 0;
}

int audit_key_id(EVP_PKEY *key, char out[AUDIT_HASH_HEX_LEN + 1])
{
    unsigned char raw[ED25519_RAW_LEN];
    if (raw_public(key, raw) != 0)
        return -1;
    return audit_chain_hash((const char *)raw, sizeof(raw), out);
}

int audit_key_public_b64(EVP_PKEY *key, char out[AUDIT_PUBLIC_B64_LEN + 1])
{
    unsigned char raw[ED25519_RAW_LEN];
    if (raw_public(key, raw) != 0)
        return -1;
    return EVP_EncodeBlock((unsigned char *)out, raw, sizeof(raw)) == AUDIT_PUBLIC_B64_LEN ? 0 : -1;
}

char *audit_key_public_pem(EVP_PKEY *key)
{
    unsigned char raw[ED25519_RAW_LEN];
    if (raw_public(key, raw) != 0)
        return NULL;
    BIO *b = BIO_new(BIO_s_mem());
    char *out = NULL;
    if (b && PEM_write_bio_PUBKEY(b, key) == 1) {
        char *p;
        long n = BIO_get_mem_data(b, &p);
        out = n > 0 ? malloc((size_t)n + 1) : NULL;
        if (out) {
            memcpy(out, p, (size_t)n);
            out[n] = '\0';
        }
    }
    BIO_free(b);
    return out;
}

int audit_checkpoint_sign(EVP_PKEY *priv, int64_t seq, const char *digest, int64_t time_ms,
                          struct audit_checkpoint *out)
{
    memset(out, 0, sizeof(*out));
    out->seq = seq;
    snprintf(out->digest, sizeof(out->digest), "%s", digest ? digest : "");
    lpg_json_instant_format(time_ms, out->time);
    if (audit_key_id(priv, out->key_id) != 0)
        return -1;
    char text[AUDIT_SIGNED_TEXT_MAX];
    int n = audit_checkpoint_signed_text(out, text, sizeof(text));
    if (n < 0)
        return -1;
    unsigned char sig[ED25519_SIG_LEN];
    size_t siglen = sizeof(sig);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    /* Ed25519 is "pure": no digest is named, the whole message is signed in one call. */
    int ok = ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, priv) == 1 &&
             EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)text, (size_t)n) == 1 &&
             siglen == ED25519_SIG_LEN;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return -1;
    return EVP_EncodeBlock((unsigned char *)out->signature, sig, sizeof(sig)) ==
                   AUDIT_SIGNATURE_B64_LEN
               ? 0
               : -1;
}

int audit_checkpoint_verify(EVP_PKEY *pub, const struct audit_checkpoint *cp, char *why, size_t cap)
{
    char id[AUDIT_HASH_HEX_LEN + 1];
    if (audit_key_id(pub, id) != 0) {
        say(why, cap, "the public key is not an Ed25519 key");
        return 0;
    }
    if (strcmp(id, cp->key_id) != 0) {
        say(why, cap, "the checkpoint names key %s, the public key given is %s", cp->key_id, id);
        return 0;
    }
    char text[AUDIT_SIGNED_TEXT_MAX];
    int n = audit_checkpoint_signed_text(cp, text, sizeof(text));
    if (n < 0) {
        say(why, cap, "the checkpoint's seq, digest, time or key_id is malformed");
        return 0;
    }
    /* 88 base64 characters ending in "==" are 66 decoded bytes, the last two padding. */
    unsigned char sig[ED25519_SIG_LEN + 3];
    size_t slen = strnlen(cp->signature, AUDIT_SIGNATURE_B64_LEN + 1);
    if (slen != AUDIT_SIGNATURE_B64_LEN || strcmp(cp->signature + slen - 2, "==") != 0 ||
        cp->signature[slen - 3] == '=' ||
        EVP_DecodeBlock(sig, (const unsigned char *)cp->signature, (int)slen) !=
            ED25519_SIG_LEN + 2) {
        say(why, cap, "the signature is not base64 of 64 bytes");
        return 0;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL || EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pub) != 1) {
        EVP_MD_CTX_free(ctx);
        say(why, cap, "OpenSSL could not verify");
        return -1;
    }
    int v = EVP_DigestVerify(ctx, sig, ED25519_SIG_LEN, (const unsigned char *)text, (size_t)n);
    EVP_MD_CTX_free(ctx);
    if (v != 1) {
        say(why, cap, "the signature does not verify with key %s", id);
        return 0;
    }
    return 1;
}

json_t *audit_checkpoint_to_json(const struct audit_checkpoint *cp)
{
    return json_pack("{s:I, s:s, s:s, s:s, s:s}", "seq", (json_int_t)cp->seq, "digest", cp->digest,
                     "time", cp->time, "key_id", cp->key_id, "signature", cp->signature);
}

static int copy_member(const json_t *j, const char *name, char *out, size_t cap, char *why,
                       size_t wcap)
{
    const char *s = json_string_value(json_object_get(j, name));
    if (s == NULL || strlen(s) >= cap) {
        say(why, wcap, "%s: missing, not a string, or too long", name);
        return -1;
    }
    memcpy(out, s, strlen(s) + 1);
    return 0;
}

int audit_checkpoint_from_json(const json_t *j, struct audit_checkpoint *cp, char *why, size_t cap)
{
    memset(cp, 0, sizeof(*cp));
    json_t *seq = json_object_get(j, "seq");
    if (!json_is_object(j)) {
        say(why, cap, "a checkpoint is a JSON object");
        return -1;
    }
    if (!json_is_integer(seq) || json_integer_value(seq) < 0) {
        say(why, cap, "seq: missing or not an integer >= 0");
        return -1;
    }
    cp->seq = (int64_t)json_integer_value(seq);
    if (copy_member(j, "digest", cp->digest, sizeof(cp->digest), why, cap) ||
        copy_member(j, "time", cp->time, sizeof(cp->time), why, cap) ||
        copy_member(j, "key_id", cp->key_id, sizeof(cp->key_id), why, cap) ||
        copy_member(j, "signature", cp->signature, sizeof(cp->signature), why, cap))
        return -1;
    return 0;
}

/* ---- a later export against the checkpoint ---- */

void audit_checkpoint_check_begin(struct audit_checkpoint_check *c,
                                  const struct audit_checkpoint *cp)
{
    memset(c, 0, sizeof(*c));
    c->cp_seq = cp->seq;
    memcpy(c->cp_digest, cp->digest, sizeof(c->cp_digest));
    /* The empty log: every chain extends it. */
    c->found = cp->seq == 0;
}

static bool fail(struct audit_checkpoint_check *c, int64_t seq, const char *reason, const char *fmt,
                 ...) __attribute__((format(printf, 4, 5)));
static bool fail(struct audit_checkpoint_check *c, int64_t seq, const char *reason, const char *fmt,
                 ...)
{
    c->failed = true;
    c->bad_seq = seq;
    c->reason = reason;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
    va_end(ap);
    return false;
}

bool audit_checkpoint_check_feed(struct audit_checkpoint_check *c, const char *text, size_t len)
{
    if (c->failed)
        return false;
    int64_t seq;
    char prev[AUDIT_HASH_HEX_LEN + 1], h[AUDIT_HASH_HEX_LEN + 1];
    int64_t expect = c->fed ? c->last_seq + 1 : 0;
    if (audit_chain_parse(text, len, &seq, prev) != 0)
        return fail(c, expect, "unparsable", "line %" PRId64 " of the export is not an audit entry",
                    c->fed + 1);
    if (audit_chain_hash(text, len, h) != 0)
        return fail(c, seq, "unparsable", "could not hash entry %" PRId64, seq);
    if (c->fed == 0) {
        /* The export may start anywhere up to just after the checkpoint's head. */
        if (seq > c->cp_seq + 1)
            return fail(c, c->cp_seq, "missing",
                        "the export starts at entry %" PRId64
                        ", after the checkpoint's entry %" PRId64,
                        seq, c->cp_seq);
        if (seq == 1 && strcmp(prev, AUDIT_ZERO_HASH) != 0)
            return fail(c, 1, "prev_mismatch", "entry 1's prev is not 64 zeros");
        if (seq == c->cp_seq + 1 && strcmp(prev, c->cp_digest) != 0)
            return fail(c, c->cp_seq, "digest_mismatch",
                        "entry %" PRId64
                        " does not link to the checkpoint's digest of entry %" PRId64
                        ": the chain was rewritten at or before entry %" PRId64,
                        seq, c->cp_seq, c->cp_seq);
        if (seq == c->cp_seq + 1)
            c->found = true;
    } else {
        if (seq != expect)
            return fail(c, expect, "seq_gap",
                        "entry %" PRId64 " is followed by entry %" PRId64 " instead of %" PRId64,
                        c->last_seq, seq, expect);
        if (strcmp(prev, c->last_hash) != 0)
            return fail(c, seq, "prev_mismatch",
                        "entry %" PRId64 "'s prev is not the hash of entry %" PRId64, seq,
                        c->last_seq);
    }
    if (seq == c->cp_seq) {
        if (strcmp(h, c->cp_digest) != 0)
            return fail(c, seq, "digest_mismatch",
                        "entry %" PRId64 " hashes to %.16s..., the checkpoint signed %.16s...: "
                        "the chain was rewritten at or before entry %" PRId64,
                        seq, h, c->cp_digest, seq);
        c->found = true;
    }
    c->fed++;
    c->last_seq = seq;
    memcpy(c->last_hash, h, sizeof(c->last_hash));
    return true;
}

int audit_checkpoint_check_end(struct audit_checkpoint_check *c)
{
    if (c->failed)
        return -1;
    if (!c->found) {
        if (c->fed)
            fail(c, c->cp_seq, "missing",
                 "the export ends at entry %" PRId64 ", before the checkpoint's entry %" PRId64,
                 c->last_seq, c->cp_seq);
        else
            fail(c, c->cp_seq, "missing",
                 "the export holds no entry (the checkpoint is at entry %" PRId64 ")", c->cp_seq);
        return -1;
    }
    return 0;
}
