/* auth.c -- password hashing (scrypt), session tokens and device secrets, the access policy
 * table, and the JSON mapping of principals and users. See auth.h for the why of each choice.
 *
 * Pure: the only outside calls are OpenSSL (RAND_bytes, EVP_PBE_scrypt, SHA-256,
 * CRYPTO_memcmp, OPENSSL_cleanse) and jansson. Every comparison of a secret-derived value goes
 * through CRYPTO_memcmp, so its time does not depend on where the first difference is. */
#include "core/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- small helpers: bounded strings, reasons, base64, hex ---- */

static void set_why(char *why, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_why(char *why, size_t cap, const char *fmt, ...)
{
    if (why == NULL || cap == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
}

/* Whether the fixed array holds a NUL-terminated string (structs may come from anywhere). */
static bool terminated(const char *s, size_t size)
{
    return memchr(s, '\0', size) != NULL;
}

/* An id field of a struct: terminated inside its array and lpg_id_valid. */
static bool id_field_valid(const char *s, size_t size)
{
    return terminated(s, size) && lpg_id_valid(s);
}

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Characters of the unpadded base64 of n bytes. */
#define B64_LEN(n) (((n)*4 + 2) / 3)

_Static_assert(AUTH_TOKEN_LEN == B64_LEN(AUTH_SECRET_BYTES), "token length");
_Static_assert(AUTH_DEVICE_SECRET_LEN == AUTH_TOKEN_LEN, "device secrets are made like tokens");
/* "scrypt$ln=NN,r=NN,p=NN$" + salt + "$" + key + NUL, at the largest lengths accepted */
_Static_assert(23 + B64_LEN(AUTH_SCRYPT_SALT_MAX) + 1 + B64_LEN(AUTH_SCRYPT_KEY_MAX) + 1 <=
                   AUTH_HASH_MAX,
               "AUTH_HASH_MAX holds every accepted encoding");

/* Unpadded base64 of in[0..n) into out, which holds B64_LEN(n) + 1 bytes. */
static void b64_encode(const uint8_t *in, size_t n, const char *alphabet, char *out)
{
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[o++] = alphabet[(acc >> bits) & 63u];
        }
    }
    if (bits > 0)
        out[o++] = alphabet[(acc << (6 - bits)) & 63u];
    out[o] = '\0';
}

/* Strict decoding of unpadded base64 in[0..len): only alphabet characters, no padding, and the
 * unused low bits of the last character zero (so every byte string has exactly one encoding).
 * Returns the number of bytes written to out, or -1 (malformed, or more than cap bytes). */
static long b64_decode(const char *in, size_t len, const char *alphabet, uint8_t *out, size_t cap)
{
    if (len % 4 == 1 || len * 3 / 4 > cap)
        return -1;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        const char *hit = in[i] != '\0' ? strchr(alphabet, in[i]) : NULL;
        if (hit == NULL)
            return -1;
        acc = (acc << 6) | (uint32_t)(hit - alphabet);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    if ((acc & ((1u << bits) - 1u)) != 0)
        return -1; /* non-canonical: leftover bits set */
    return (long)o;
}

static void hex_encode(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15u];
    }
    out[2 * n] = '\0';
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Exactly 2 * n hex digits into out[0..n); 0 or -1. */
static int hex_decode(const char *in, uint8_t *out, size_t n)
{
    if (in == NULL || strnlen(in, 2 * n + 1) != 2 * n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int hi = hex_digit(in[2 * i]), lo = hex_digit(in[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

/* ---- scrypt ---- */

/* Slack over 128 * r * N given to OpenSSL's own memory check, which also counts the p blocks
 * of 128 * r bytes and two extra V entries (at most 72 KiB within our limits on r and p). */
#define SCRYPT_MAXMEM_SLACK (1024u * 1024u)

static bool scrypt_params_ok(unsigned ln, unsigned r, unsigned p)
{
    if (ln < AUTH_SCRYPT_LN_MIN || ln > AUTH_SCRYPT_LN_MAX || r < 1 || r > AUTH_SCRYPT_R_MAX ||
        p < 1 || p > AUTH_SCRYPT_P_MAX)
        return false;
    if (ln >= 16u * r) /* RFC 7914: N < 2^(128 * r / 8) */
        return false;
    return ((uint64_t)128 * r << ln) <= AUTH_SCRYPT_MAXMEM;
}

int auth_scrypt(const uint8_t *pw, size_t pw_len, const uint8_t *salt, size_t salt_len, unsigned ln,
                unsigned r, unsigned p, uint8_t *out, size_t out_len)
{
    static const uint8_t empty[1] = {0};
    if (!scrypt_params_ok(ln, r, p) || out == NULL || out_len == 0)
        return -1;
    /* OpenSSL reads pass/salt through pointers even for zero lengths; never hand it NULL. */
    int ok = EVP_PBE_scrypt((const char *)(pw ? pw : empty), pw ? pw_len : 0, salt ? salt : empty,
                            salt ? salt_len : 0, (uint64_t)1 << ln, r, p,
                            (uint64_t)AUTH_SCRYPT_MAXMEM + SCRYPT_MAXMEM_SLACK, out, out_len);
    return ok == 1 ? 0 : -1;
}

/* ---- encoded password hashes ---- */

struct encoded_hash {
    struct auth_scrypt_params prm;
    uint8_t salt[AUTH_SCRYPT_SALT_MAX];
    size_t salt_len;
    uint8_t key[AUTH_SCRYPT_KEY_MAX];
    size_t key_len;
};

/* A decimal number without sign or leading zero, at most 4 digits, then the literal `next`. */
static int parse_field(const char **s, const char *name, unsigned *v, char next)
{
    size_t n = strlen(name);
    if (strncmp(*s, name, n) != 0)
        return -1;
    const char *d = *s + n;
    unsigned val = 0;
    int digits = 0;
    while (*d >= '0' && *d <= '9') {
        if (digits == 4 || (digits == 1 && val == 0))
            return -1; /* too long, or a leading zero */
        val = val * 10 + (unsigned)(*d - '0');
        digits++;
        d++;
    }
    if (digits == 0 || *d != next)
        return -1;
    *v = val;
    *s = d + 1;
    return 0;
}

static int parse_encoded(const char *enc, struct encoded_hash *h)
{
    static const char scheme[] = "scrypt$";
    memset(h, 0, sizeof(*h));
    if (enc == NULL || strnlen(enc, AUTH_HASH_MAX) >= AUTH_HASH_MAX)
        return -1;
    if (strncmp(enc, scheme, sizeof(scheme) - 1) != 0)
        return -1;
    const char *s = enc + sizeof(scheme) - 1;
    if (parse_field(&s, "ln=", &h->prm.ln, ',') < 0 || parse_field(&s, "r=", &h->prm.r, ',') < 0 ||
        parse_field(&s, "p=", &h->prm.p, '$') < 0)
        return -1;
    if (!scrypt_params_ok(h->prm.ln, h->prm.r, h->prm.p))
        return -1;
    const char *dollar = strchr(s, '$');
    if (dollar == NULL)
        return -1;
    long n = b64_decode(s, (size_t)(dollar - s), b64_std, h->salt, sizeof(h->salt));
    if (n < AUTH_SCRYPT_SALT_MIN)
        return -1;
    h->salt_len = (size_t)n;
    s = dollar + 1;
    n = b64_decode(s, strlen(s), b64_std, h->key, sizeof(h->key));
    if (n < AUTH_SCRYPT_KEY_MIN)
        return -1;
    h->key_len = (size_t)n;
    return 0;
}

/* Password length if acceptable to hash/verify (not NULL, at most AUTH_PASSWORD_MAX), else -1. */
static long password_len(const char *password)
{
    if (password == NULL)
        return -1;
    size_t n = strnlen(password, AUTH_PASSWORD_MAX + 1);
    return n > AUTH_PASSWORD_MAX ? -1 : (long)n;
}

int auth_password_hash_with(const char *password, const struct auth_scrypt_params *prm, char *out,
                            size_t cap)
{
    uint8_t salt[AUTH_SCRYPT_SALT_LEN], key[AUTH_SCRYPT_KEY_LEN];
    char salt64[B64_LEN(AUTH_SCRYPT_SALT_LEN) + 1], key64[B64_LEN(AUTH_SCRYPT_KEY_LEN) + 1];
    char buf[AUTH_HASH_MAX];
    int rc = -1;
    long pw_len = password_len(password);

    if (out != NULL && cap > 0)
        out[0] = '\0';
    if (out == NULL || pw_len < 0 || prm == NULL || !scrypt_params_ok(prm->ln, prm->r, prm->p))
        goto out;
    if (RAND_bytes(salt, sizeof(salt)) != 1)
        goto out;
    if (auth_scrypt((const uint8_t *)password, (size_t)pw_len, salt, sizeof(salt), prm->ln, prm->r,
                    prm->p, key, sizeof(key)) < 0)
        goto out;
    b64_encode(salt, sizeof(salt), b64_std, salt64);
    b64_encode(key, sizeof(key), b64_std, key64);
    int n = snprintf(buf, sizeof(buf), "scrypt$ln=%u,r=%u,p=%u$%s$%s", prm->ln, prm->r, prm->p,
                     salt64, key64);
    if (n < 0 || (size_t)n >= sizeof(buf) || (size_t)n >= cap)
        goto out;
    memcpy(out, buf, (size_t)n + 1);
    rc = 0;
out:
    OPENSSL_cleanse(key, sizeof(key));
    OPENSSL_cleanse(key64, sizeof(key64));
    OPENSSL_cleanse(buf, sizeof(buf));
    return rc;
}

int auth_password_hash(const char *password, char *out, size_t cap)
{
    static const struct auth_scrypt_params current = {AUTH_SCRYPT_LN, AUTH_SCRYPT_R, AUTH_SCRYPT_P};
    return auth_password_hash_with(password, &current, out, cap);
}

int auth_password_verify(const char *password, const char *encoded)
{
    struct encoded_hash h;
    uint8_t key[AUTH_SCRYPT_KEY_MAX];
    if (parse_encoded(encoded, &h) < 0)
        return -1;
    long pw_len = password_len(password);
    int rc = 0;
    if (pw_len >= 0 && auth_scrypt((const uint8_t *)password, (size_t)pw_len, h.salt, h.salt_len,
                                   h.prm.ln, h.prm.r, h.prm.p, key, h.key_len) == 0)
        rc = CRYPTO_memcmp(key, h.key, h.key_len) == 0 ? 1 : 0;
    OPENSSL_cleanse(key, sizeof(key));
    OPENSSL_cleanse(&h, sizeof(h));
    return rc;
}

int auth_password_needs_rehash(const char *encoded)
{
    struct encoded_hash h;
    if (parse_encoded(encoded, &h) < 0)
        return -1;
    return h.prm.ln != AUTH_SCRYPT_LN || h.prm.r != AUTH_SCRYPT_R || h.prm.p != AUTH_SCRYPT_P ||
           h.salt_len != AUTH_SCRYPT_SALT_LEN || h.key_len != AUTH_SCRYPT_KEY_LEN;
}

const char *auth_password_dummy_hash(void)
{
    /* Random salt and random key, not derived from any password. Keep its parameters equal to
     * the current ones (the tests check it) so that it costs what a real verification costs. */
    return "scrypt$ln=14,r=8,p=1$HRbNOQWmeOwAxXaGyVb1tg$93KdsdeMvOi6Q/"
           "Xc5HGBrUp0n+8cNZ7sYmZdRBCkUgY";
}

bool auth_password_acceptable(const char *password, char *why, size_t cap)
{
    if (password == NULL) {
        set_why(why, cap, "no password");
        return false;
    }
    size_t n = strnlen(password, AUTH_PASSWORD_MAX + 1);
    if (n < AUTH_PASSWORD_MIN) {
        set_why(why, cap, "password is shorter than %d bytes", AUTH_PASSWORD_MIN);
        return false;
    }
    if (n > AUTH_PASSWORD_MAX) {
        set_why(why, cap, "password is longer than %d bytes", AUTH_PASSWORD_MAX);
        return false;
    }
    size_t same = 1;
    while (same < n && password[same] == password[0])
        same++;
    if (same == n) {
        set_why(why, cap, "password is one character repeated");
        return false;
    }
    set_why(why, cap, "%s", "");
    return true;
}

/* ---- tokens and device secrets ---- */

static int secret_new(char out[AUTH_TOKEN_LEN + 1])
{
    uint8_t raw[AUTH_SECRET_BYTES];
    out[0] = '\0';
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return -1;
    b64_encode(raw, sizeof(raw), b64_url, out);
    OPENSSL_cleanse(raw, sizeof(raw));
    return 0;
}

static bool secret_well_formed(const char *s)
{
    uint8_t raw[AUTH_SECRET_BYTES];
    if (s == NULL || strnlen(s, AUTH_TOKEN_LEN + 1) != AUTH_TOKEN_LEN)
        return false;
    bool ok = b64_decode(s, AUTH_TOKEN_LEN, b64_url, raw, sizeof(raw)) == AUTH_SECRET_BYTES;
    OPENSSL_cleanse(raw, sizeof(raw));
    return ok;
}

static int sha256(const char *s, uint8_t md[32])
{
    unsigned int md_len = 0;
    if (EVP_Digest(s, strlen(s), md, &md_len, EVP_sha256(), NULL) != 1 || md_len != 32)
        return -1;
    return 0;
}

static int secret_digest(const char *s, char out_hex[AUTH_DIGEST_HEX_LEN + 1])
{
    uint8_t md[32];
    out_hex[0] = '\0';
    if (s == NULL || sha256(s, md) < 0)
        return -1;
    hex_encode(md, sizeof(md), out_hex);
    return 0;
}

int auth_token_new(char out[AUTH_TOKEN_LEN + 1])
{
    return secret_new(out);
}

bool auth_token_well_formed(const char *token)
{
    return secret_well_formed(token);
}

int auth_token_digest(const char *token, char out_hex[AUTH_DIGEST_HEX_LEN + 1])
{
    return secret_digest(token, out_hex);
}

int auth_device_secret_new(char out[AUTH_DEVICE_SECRET_LEN + 1])
{
    return secret_new(out);
}

int auth_device_secret_digest(const char *secret, char out_hex[AUTH_DIGEST_HEX_LEN + 1])
{
    return secret_digest(secret, out_hex);
}

int auth_device_secret_verify(const char *presented, const char *stored_hex)
{
    uint8_t stored[32], md[32];
    if (hex_decode(stored_hex, stored, sizeof(stored)) < 0)
        return -1;
    int rc = 0;
    if (secret_well_formed(presented) && sha256(presented, md) == 0)
        rc = CRYPTO_memcmp(md, stored, sizeof(md)) == 0 ? 1 : 0;
    OPENSSL_cleanse(md, sizeof(md));
    return rc;
}

/* ---- roles ---- */

static const char *const role_names[AUTH_ROLE_COUNT] = {
    [AUTH_ROLE_ADMIN] = "admin",
    [AUTH_ROLE_DISPATCHER] = "dispatcher",
    [AUTH_ROLE_AUDITOR] = "auditor",
};

const char *auth_role_name(enum auth_role r)
{
    return (int)r >= 0 && r < AUTH_ROLE_COUNT ? role_names[r] : "?";
}

int auth_role_parse(const char *s)
{
    for (int i = 0; s != NULL && i < AUTH_ROLE_COUNT; i++)
        if (strcmp(role_names[i], s) == 0)
            return i;
    return -1;
}

/* ---- the access policy ---- */

/* Where the resource is, seen from the principal. */
enum scope {
    SCOPE_NONE,  /* not scoped to an enterprise (enterprise_id NULL) */
    SCOPE_OWN,   /* the principal's own enterprise (dispatchers only have one) */
    SCOPE_OTHER, /* any other enterprise */
    SCOPE_COUNT
};

/* DENY_FORBIDDEN is 0 so that an entry missing from the table refuses. */
enum verdict { DENY_FORBIDDEN = 0, ALLOW, DENY_WRONG_ENTERPRISE, DENY_READ_ONLY };

#define ALL_SCOPES(v)                                                                              \
    {                                                                                              \
        [SCOPE_NONE] = (v), [SCOPE_OWN] = (v), [SCOPE_OTHER] = (v)                                 \
    }

/* The whole policy: role x action x scope -> verdict (auth.h shows it as a grid). */
static const enum verdict policy[AUTH_ROLE_COUNT][AUTH_ACTION_COUNT][SCOPE_COUNT] = {
    [AUTH_ROLE_ADMIN] =
        {
            [AUTH_READ] = ALL_SCOPES(ALLOW),
            [AUTH_WRITE] = ALL_SCOPES(ALLOW),
            [AUTH_ADMIN] = ALL_SCOPES(ALLOW),
        },
    [AUTH_ROLE_DISPATCHER] =
        {
            [AUTH_READ] = {[SCOPE_NONE] = DENY_FORBIDDEN,
                           [SCOPE_OWN] = ALLOW,
                           [SCOPE_OTHER] = DENY_WRONG_ENTERPRISE},
            [AUTH_WRITE] = {[SCOPE_NONE] = DENY_FORBIDDEN,
                            [SCOPE_OWN] = ALLOW,
                            [SCOPE_OTHER] = DENY_WRONG_ENTERPRISE},
            [AUTH_ADMIN] = ALL_SCOPES(DENY_FORBIDDEN),
        },
    [AUTH_ROLE_AUDITOR] =
        {
            [AUTH_READ] = ALL_SCOPES(ALLOW),
            [AUTH_WRITE] = ALL_SCOPES(DENY_READ_ONLY),
            [AUTH_ADMIN] = ALL_SCOPES(DENY_READ_ONLY),
        },
};

static const char *const action_verbs[AUTH_ACTION_COUNT] = {
    [AUTH_READ] = "read",
    [AUTH_WRITE] = "write",
    [AUTH_ADMIN] = "administer",
};

static int deny(struct auth_denial *why, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int deny(struct auth_denial *why, int status, const char *code, const char *fmt, ...)
{
    if (why != NULL) {
        why->http_status = status;
        why->code = code;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why->message, sizeof(why->message), fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* At most AUTH_JURISDICTION_MAX distinct valid ids. */
static bool jurisdiction_valid(const struct auth_jurisdiction *j)
{
    if (j->n > AUTH_JURISDICTION_MAX)
        return false;
    for (unsigned i = 0; i < j->n; i++) {
        if (!id_field_valid(j->ids[i], sizeof(j->ids[i])))
            return false;
        for (unsigned k = 0; k < i; k++)
            if (strcmp(j->ids[k], j->ids[i]) == 0)
                return false;
    }
    return true;
}

/* A principal auth_check can reason about: known role, valid user, and an enterprise exactly
 * for a dispatcher. */
static bool principal_valid(const struct auth_principal *p)
{
    if ((int)p->role < 0 || p->role >= AUTH_ROLE_COUNT || !id_field_valid(p->user, sizeof(p->user)))
        return false;
    if (!terminated(p->enterprise_id, sizeof(p->enterprise_id)))
        return false;
    if (!jurisdiction_valid(&p->jurisdiction) ||
        (p->role != AUTH_ROLE_AUDITOR && p->jurisdiction.n != 0))
        return false;
    if (p->role == AUTH_ROLE_DISPATCHER)
        return lpg_id_valid(p->enterprise_id);
    return p->enterprise_id[0] == '\0';
}

static bool in_jurisdiction(const struct auth_jurisdiction *j, const char *enterprise_id)
{
    for (unsigned i = 0; i < j->n && i < AUTH_JURISDICTION_MAX; i++)
        if (strcmp(j->ids[i], enterprise_id) == 0)
            return true;
    return false;
}

bool auth_sees_enterprise(const struct auth_principal *p, const char *enterprise_id)
{
    if (enterprise_id == NULL)
        return true;
    if (p->role == AUTH_ROLE_DISPATCHER)
        return strcmp(p->enterprise_id, enterprise_id) == 0;
    if (p->role == AUTH_ROLE_AUDITOR && p->jurisdiction.n > 0)
        return in_jurisdiction(&p->jurisdiction, enterprise_id);
    return true;
}

const char *auth_default_enterprise(const struct auth_principal *p)
{
    if (p->role == AUTH_ROLE_DISPATCHER)
        return p->enterprise_id;
    if (p->role == AUTH_ROLE_AUDITOR && p->jurisdiction.n == 1)
        return p->jurisdiction.ids[0];
    return NULL;
}

int auth_check(const struct auth_principal *p, enum auth_action a, const char *enterprise_id,
               int64_t now_ms, struct auth_denial *why)
{
    if (why != NULL)
        memset(why, 0, sizeof(*why));
    if (p == NULL)
        return deny(why, 401, "unauthenticated", "authentication required");
    if (!principal_valid(p))
        return deny(why, 401, "unauthenticated", "invalid session; log in again");
    if (now_ms >= p->expires_ms)
        return deny(why, 401, "token_expired", "session expired; log in again");
    if ((int)a < 0 || a >= AUTH_ACTION_COUNT)
        return deny(why, 403, "forbidden", "unknown action");
    if (enterprise_id != NULL && !lpg_id_valid(enterprise_id))
        return deny(why, 403, "forbidden", "invalid enterprise id");

    enum scope sc = SCOPE_OTHER;
    if (enterprise_id == NULL)
        sc = SCOPE_NONE;
    else if (p->enterprise_id[0] != '\0' && strcmp(p->enterprise_id, enterprise_id) == 0)
        sc = SCOPE_OWN;

    const char *role = role_names[p->role], *verb = action_verbs[a];
    /* An auditor limited to a jurisdiction reads like a dispatcher of several enterprises: the
     * ones in it are its own, the others are another enterprise's, and the unscoped reads (which
     * span every enterprise) are closed to it. Writes stay read_only below. */
    if (p->role == AUTH_ROLE_AUDITOR && p->jurisdiction.n > 0 && a == AUTH_READ) {
        if (enterprise_id == NULL)
            return deny(why, 403, "forbidden",
                        "an auditor limited to a jurisdiction may not read resources outside an "
                        "enterprise; name one (enterprise_id)");
        if (!in_jurisdiction(&p->jurisdiction, enterprise_id))
            return deny(why, 403, "wrong_enterprise",
                        "enterprise %s is outside the jurisdiction of auditor %s", enterprise_id,
                        p->user);
        return 0;
    }
    switch (policy[p->role][a][sc]) {
    case ALLOW:
        return 0;
    case DENY_WRONG_ENTERPRISE:
        return deny(why, 403, "wrong_enterprise", "%s of enterprise %s may not %s enterprise %s",
                    role, p->enterprise_id, verb, enterprise_id);
    case DENY_READ_ONLY:
        return deny(why, 403, "read_only", "%s access is read-only", role);
    case DENY_FORBIDDEN:
        break;
    }
    if (sc == SCOPE_NONE)
        return deny(why, 403, "forbidden", "a %s may not %s resources outside an enterprise", role,
                    verb);
    return deny(why, 403, "forbidden", "a %s may not %s", role, verb);
}

/* ---- users ---- */

/* A user from_json would accept. */
static bool user_valid(const struct auth_user *u, char *why, size_t cap)
{
    if (!id_field_valid(u->name, sizeof(u->name))) {
        set_why(why, cap, "invalid user name");
        return false;
    }
    if ((int)u->role < 0 || u->role >= AUTH_ROLE_COUNT) {
        set_why(why, cap, "unknown role");
        return false;
    }
    if (!terminated(u->enterprise_id, sizeof(u->enterprise_id)) ||
        (u->role == AUTH_ROLE_DISPATCHER ? !lpg_id_valid(u->enterprise_id)
                                         : u->enterprise_id[0] != '\0')) {
        set_why(why, cap, "enterprise_id must be a valid id for a dispatcher, empty otherwise");
        return false;
    }
    if (!jurisdiction_valid(&u->jurisdiction) ||
        (u->role != AUTH_ROLE_AUDITOR && u->jurisdiction.n != 0)) {
        set_why(why, cap, "enterprises: only an auditor has them, at most %d distinct ids",
                AUTH_JURISDICTION_MAX);
        return false;
    }
    struct encoded_hash h;
    bool hash_ok = terminated(u->password_hash, sizeof(u->password_hash)) &&
                   parse_encoded(u->password_hash, &h) == 0;
    OPENSSL_cleanse(&h, sizeof(h));
    if (!hash_ok) {
        set_why(why, cap, "malformed password_hash");
        return false;
    }
    return true;
}

int auth_principal_for_user(const struct auth_user *u, int64_t now_ms, int64_t ttl_ms,
                            struct auth_principal *out, char *why, size_t cap)
{
    memset(out, 0, sizeof(*out));
    if (u == NULL) {
        set_why(why, cap, "no user");
        return -1;
    }
    if (!user_valid(u, why, cap))
        return -1;
    if (u->disabled) {
        set_why(why, cap, "user %s is disabled", u->name);
        return -1;
    }
    if (ttl_ms <= 0 || now_ms > INT64_MAX - ttl_ms) {
        set_why(why, cap, "invalid session lifetime");
        return -1;
    }
    memcpy(out->user, u->name, sizeof(out->user));
    out->role = u->role;
    memcpy(out->enterprise_id, u->enterprise_id, sizeof(out->enterprise_id));
    out->expires_ms = now_ms + ttl_ms;
    out->jurisdiction = u->jurisdiction;
    set_why(why, cap, "%s", "");
    return 0;
}

/* ---- JSON ---- */

/* Copies the string member `key` (an id when is_id) into out[size]; 0 or -1 with why. */
static int get_string(const json_t *j, const char *key, bool is_id, char *out, size_t size,
                      char *why, size_t cap)
{
    const json_t *v = json_object_get(j, key);
    if (!json_is_string(v)) {
        set_why(why, cap, "%s: missing or not a string", key);
        return -1;
    }
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n >= size || strlen(s) != n || (is_id && !lpg_id_valid(s))) {
        set_why(why, cap, "%s: %s", key, is_id ? "not a valid id" : "too long or contains NUL");
        return -1;
    }
    memcpy(out, s, n + 1);
    return 0;
}

static int get_int64(const json_t *j, const char *key, int64_t *out, char *why, size_t cap)
{
    const json_t *v = json_object_get(j, key);
    if (!json_is_integer(v)) {
        set_why(why, cap, "%s: missing or not an integer", key);
        return -1;
    }
    *out = (int64_t)json_integer_value(v);
    return 0;
}

/* role, then enterprise_id present exactly for a dispatcher. */
static int get_role_scope(const json_t *j, enum auth_role *role, char *ent, size_t ent_size,
                          char *why, size_t cap)
{
    const json_t *v = json_object_get(j, "role");
    int r = json_is_string(v) ? auth_role_parse(json_string_value(v)) : -1;
    if (r < 0) {
        set_why(why, cap, "role: missing or not one of admin, dispatcher, auditor");
        return -1;
    }
    *role = (enum auth_role)r;
    if (*role == AUTH_ROLE_DISPATCHER)
        return get_string(j, "enterprise_id", true, ent, ent_size, why, cap);
    if (json_object_get(j, "enterprise_id") != NULL) {
        set_why(why, cap, "enterprise_id: only a dispatcher belongs to an enterprise");
        return -1;
    }
    ent[0] = '\0';
    return 0;
}

int auth_jurisdiction_from_json(const json_t *v, struct auth_jurisdiction *out, char *why,
                                size_t cap)
{
    memset(out, 0, sizeof(*out));
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_array(v) || json_array_size(v) > AUTH_JURISDICTION_MAX) {
        set_why(why, cap, "enterprises: must be an array of at most %d enterprise ids",
                AUTH_JURISDICTION_MAX);
        return -1;
    }
    size_t i;
    const json_t *e;
    json_array_foreach(v, i, e)
    {
        const char *s = json_string_value(e);
        if (s == NULL || !lpg_id_valid(s) || strlen(s) != json_string_length(e)) {
            set_why(why, cap, "enterprises[%zu]: not a valid id", i);
            memset(out, 0, sizeof(*out));
            return -1;
        }
        if (in_jurisdiction(out, s)) {
            set_why(why, cap, "enterprises[%zu]: %s is listed twice", i, s);
            memset(out, 0, sizeof(*out));
            return -1;
        }
        snprintf(out->ids[out->n], sizeof(out->ids[out->n]), "%s", s);
        out->n++;
    }
    return 0;
}

/* Adds "enterprises" to j when jd has any; 0, or -1 on out of memory. */
static int set_jurisdiction(json_t *j, const struct auth_jurisdiction *jd)
{
    if (jd->n == 0)
        return 0;
    json_t *a = json_array();
    for (unsigned i = 0; a && i < jd->n; i++)
        if (json_array_append_new(a, json_string(jd->ids[i])) < 0) {
            json_decref(a);
            a = NULL;
        }
    return a ? json_object_set_new(j, "enterprises", a) : -1;
}

/* Reads "enterprises" of j into *jd for role (only an auditor may have one). */
static int get_jurisdiction(const json_t *j, enum auth_role role, struct auth_jurisdiction *jd,
                            char *why, size_t cap)
{
    if (auth_jurisdiction_from_json(json_object_get(j, "enterprises"), jd, why, cap) < 0)
        return -1;
    if (jd->n > 0 && role != AUTH_ROLE_AUDITOR) {
        set_why(why, cap, "enterprises: only an auditor has a jurisdiction");
        return -1;
    }
    return 0;
}

json_t *auth_principal_to_json(const struct auth_principal *p)
{
    if (p == NULL || !principal_valid(p))
        return NULL;
    json_t *j = json_pack("{s:s, s:s, s:I}", "user", p->user, "role", role_names[p->role],
                          "expires_ms", (json_int_t)p->expires_ms);
    if (j != NULL &&
        ((p->role == AUTH_ROLE_DISPATCHER &&
          json_object_set_new(j, "enterprise_id", json_string(p->enterprise_id)) < 0) ||
         set_jurisdiction(j, &p->jurisdiction) < 0)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

int auth_principal_from_json(const json_t *j, struct auth_principal *out, char *why, size_t cap)
{
    memset(out, 0, sizeof(*out));
    if (!json_is_object(j)) {
        set_why(why, cap, "principal: not an object");
        return -1;
    }
    if (get_string(j, "user", true, out->user, sizeof(out->user), why, cap) < 0 ||
        get_role_scope(j, &out->role, out->enterprise_id, sizeof(out->enterprise_id), why, cap) <
            0 ||
        get_int64(j, "expires_ms", &out->expires_ms, why, cap) < 0 ||
        get_jurisdiction(j, out->role, &out->jurisdiction, why, cap) < 0) {
        memset(out, 0, sizeof(*out));
        return -1;
    }
    set_why(why, cap, "%s", "");
    return 0;
}

json_t *auth_user_to_public_json(const struct auth_user *u)
{
    if (u == NULL || !user_valid(u, NULL, 0))
        return NULL;
    json_t *j = json_pack("{s:s, s:s, s:b, s:I}", "name", u->name, "role", role_names[u->role],
                          "disabled", (int)u->disabled, "created_ms", (json_int_t)u->created_ms);
    if (j != NULL &&
        ((u->role == AUTH_ROLE_DISPATCHER &&
          json_object_set_new(j, "enterprise_id", json_string(u->enterprise_id)) < 0) ||
         set_jurisdiction(j, &u->jurisdiction) < 0)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

json_t *auth_user_to_store_json(const struct auth_user *u)
{
    json_t *j = auth_user_to_public_json(u);
    if (j != NULL && json_object_set_new(j, "password_hash", json_string(u->password_hash)) < 0) {
        json_decref(j);
        return NULL;
    }
    return j;
}

int auth_user_from_json(const json_t *j, struct auth_user *out, char *why, size_t cap)
{
    memset(out, 0, sizeof(*out));
    if (!json_is_object(j)) {
        set_why(why, cap, "user: not an object");
        return -1;
    }
    const json_t *disabled = json_object_get(j, "disabled");
    struct encoded_hash h;
    int rc = -1;
    memset(&h, 0, sizeof(h));
    if (get_string(j, "name", true, out->name, sizeof(out->name), why, cap) < 0 ||
        get_role_scope(j, &out->role, out->enterprise_id, sizeof(out->enterprise_id), why, cap) <
            0 ||
        get_string(j, "password_hash", false, out->password_hash, sizeof(out->password_hash), why,
                   cap) < 0 ||
        get_int64(j, "created_ms", &out->created_ms, why, cap) < 0 ||
        get_jurisdiction(j, out->role, &out->jurisdiction, why, cap) < 0)
        goto out;
    if (parse_encoded(out->password_hash, &h) < 0) {
        set_why(why, cap, "password_hash: malformed");
        goto out;
    }
    if (!json_is_boolean(disabled)) {
        set_why(why, cap, "disabled: missing or not a boolean");
        goto out;
    }
    out->disabled = json_is_true(disabled);
    set_why(why, cap, "%s", "");
    rc = 0;
out:
    OPENSSL_cleanse(&h, sizeof(h));
    if (rc < 0)
        memset(out, 0, sizeof(*out));
    return rc;
}
