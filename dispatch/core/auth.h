/* auth.h -- credentials, tokens and the access policy of lpg-dispatch.
 *
 * What lives here, all pure (no I/O except OpenSSL's random generator; no libevent, no hiredis,
 * no logging):
 *   - password hashing (scrypt, self-describing encoding) and the password policy;
 *   - bearer tokens of HTTP sessions and the per-device secrets of handsets, and the digests
 *     the server stores instead of them;
 *   - principals (who is calling, with which role, scoped to which enterprise) and the access
 *     policy: one table of role x action x scope -> allowed or which refusal;
 *   - JSON mapping of principals (stored sessions) and users (public and store variants).
 *
 * Who calls what
 *   login:    auth_user_from_json (from the store) -> auth_password_verify -> if it matches,
 *             auth_principal_for_user, auth_token_new; store auth_principal_to_json under
 *             auth_token_digest(token); return the token to the client once.
 *             When the user does not exist, verify against auth_password_dummy_hash() anyway,
 *             so that the response time does not tell which user names exist.
 *   request:  auth_token_well_formed -> auth_token_digest -> look the session up by digest ->
 *             auth_principal_from_json -> auth_check(principal, action, resource's enterprise).
 *   handset:  at registration auth_device_secret_new (shown once), store
 *             auth_device_secret_digest; at each login auth_device_secret_verify.
 *
 * Why scrypt for passwords but SHA-256 for tokens and device secrets
 *   A password has little entropy: an attacker holding a leaked user store tries likely
 *   passwords one by one, so each guess must cost real time and memory (scrypt: ~16 MiB and
 *   tens of milliseconds per guess, hostile to GPUs and ASICs), and a per-user salt stops one
 *   guess from testing every user at once. Tokens and device secrets are 256-bit uniform random
 *   values we generate ourselves: there is no dictionary to try and 2^256 candidates, so one
 *   SHA-256 is already beyond brute force; a slow KDF would add nothing but latency to every
 *   request, and a salt is unnecessary because no two secrets are equal. The digest is unsalted
 *   on purpose: the server finds a session by the digest of the presented token.
 *
 * Error convention: functions return 0 on success and -1 on failure unless stated otherwise;
 * predicates that may meet malformed stored data return 1 / 0 / -1 (yes / no / malformed).
 * Functions that can explain a refusal write a NUL-terminated reason into (why, cap) when why is
 * not NULL. Secrets derived here are wiped from the stack (OPENSSL_cleanse) before returning.
 *
 * Thread safety: every function is reentrant (no module state); OpenSSL's RNG is thread-safe.
 */
#ifndef LPG_AUTH_H
#define LPG_AUTH_H

#include "core/model.h"

#include <jansson.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- passwords ---- */

/* scrypt cost (RFC 7914) of new password hashes: N = 2^AUTH_SCRYPT_LN, r, p.
 *
 * Memory per hash is 128 * r * N bytes = 16 MiB. Measured on the development machine (AMD EPYC,
 * 2 cores, OpenSSL 3.0.19, best of several): one hash takes 50-70 ms at N = 2^14 (70-85 ms in
 * the ASan+UBSan test build), 140-155 ms at N = 2^15, 260-300 ms at N = 2^16; a verification
 * costs the same as a hash. tests/dispatch/test_auth.c prints the figure on every run. dispatchd
 * runs hashes and checks on worker threads (work_pool.h, setting login_workers), not on its event
 * loop; a login still waits that long, and each running hash holds 16 MiB. These are the
 * parameters the scrypt paper gives for interactive logins (Percival 2009: N = 2^14, r = 8,
 * p = 1); they are below OWASP's current recommendation (N = 2^17, r = 8, p = 1). To raise them,
 * change these constants (and weigh login_workers x memory): every hash records its own
 * parameters, so old hashes keep verifying and auth_password_needs_rehash() says which to
 * re-hash at the next successful login. */
#define AUTH_SCRYPT_LN       14 /* log2 of N, the CPU/memory cost */
#define AUTH_SCRYPT_R        8  /* block size: 8 makes one block 1 KiB, the usual choice */
#define AUTH_SCRYPT_P        1  /* parallelism: 1, dispatchd hashes on one thread */
#define AUTH_SCRYPT_SALT_LEN 16 /* bytes of random salt per hash (128 bits, NIST SP 800-132) */
#define AUTH_SCRYPT_KEY_LEN  32 /* bytes of derived key stored (256 bits) */

/* Limits on the parameters of an encoded hash that verification accepts. They bound the work
 * and memory one verification can cost even if a stored hash was tampered with. A hash with
 * 128 * r * 2^ln > AUTH_SCRYPT_MAXMEM, or with 2^ln >= 2^(16 r) (RFC 7914), is malformed; the
 * memory cap binds before AUTH_SCRYPT_LN_MAX does (at most ln = 19 with r = 2). */
#define AUTH_SCRYPT_LN_MIN   1
#define AUTH_SCRYPT_LN_MAX   20
#define AUTH_SCRYPT_R_MAX    32
#define AUTH_SCRYPT_P_MAX    16
#define AUTH_SCRYPT_SALT_MIN 16                     /* bytes */
#define AUTH_SCRYPT_SALT_MAX 32                     /* bytes */
#define AUTH_SCRYPT_KEY_MIN  16                     /* bytes */
#define AUTH_SCRYPT_KEY_MAX  64                     /* bytes */
#define AUTH_SCRYPT_MAXMEM   (128u * 1024u * 1024u) /* bytes of scrypt working memory, at most */

/* Encoded hash: "scrypt$ln=<ln>,r=<r>,p=<p>$<salt>$<key>", salt and key in canonical standard
 * base64 (RFC 4648 section 4) without padding, numbers in decimal without sign or leading zeros
 * (the layout of the PHC string format, without its leading '$'), e.g.
 *   scrypt$ln=14,r=8,p=1$HRbNOQWmeOwAxXaGyVb1tg$93KdsdeMvOi6Q/Xc5HGBrUp0n+8cNZ7sYmZdRBCkUgY
 * (87 bytes at the current parameters). AUTH_HASH_MAX is the size of a buffer, NUL included,
 * that holds any encoding verification accepts; a longer string is malformed. */
#define AUTH_HASH_MAX 192

/* Password policy (auth_password_acceptable): AUTH_PASSWORD_MIN..AUTH_PASSWORD_MAX bytes (a
 * length in bytes, so a passphrase in Chinese counts 3 per character), not all one repeated
 * byte. Nothing else: no composition rules (NIST SP 800-63B advises against them); any byte
 * but NUL is allowed. Checked when a password is set, not when one is verified. */
#define AUTH_PASSWORD_MIN 10
#define AUTH_PASSWORD_MAX 256

/* scrypt parameters of one hash. */
struct auth_scrypt_params {
    unsigned ln; /* N = 2^ln */
    unsigned r;
    unsigned p;
};

/* Hashes `password` (at most AUTH_PASSWORD_MAX bytes) with the current parameters and a fresh
 * random salt into out (cap bytes; AUTH_HASH_MAX is always enough). Returns 0, or -1 on a NULL
 * or too long password, a too small buffer, or an RNG/KDF failure (out is then ""). Takes
 * about 60 ms of CPU and 16 MiB of memory (see AUTH_SCRYPT_LN). */
int auth_password_hash(const char *password, char *out, size_t cap);
/* The same with explicit parameters (within the limits above): for tests, benchmarks and a
 * future raise of the cost. */
int auth_password_hash_with(const char *password, const struct auth_scrypt_params *prm, char *out,
                            size_t cap);
/* Whether `password` matches `encoded`, whatever parameters it was hashed with: 1 match, 0 no
 * match (also for a NULL or longer than AUTH_PASSWORD_MAX password, and when the KDF fails for
 * lack of memory: refusing is the safe answer), -1 malformed encoding. The derived keys are
 * compared with CRYPTO_memcmp (constant time). */
int auth_password_verify(const char *password, const char *encoded);
/* Whether `encoded` was hashed with other parameters or lengths than the current ones (so the
 * caller should re-hash the password it has just verified): 1 yes, 0 no, -1 malformed. */
int auth_password_needs_rehash(const char *encoded);
/* A well-formed hash, with the current parameters, of no known password: verify a presented
 * password against it when the user does not exist, so that a login for an unknown user costs
 * the same time as one for a known user. Never matches in practice (finding a matching
 * password means inverting scrypt). */
const char *auth_password_dummy_hash(void);
/* Whether `password` may be set as a new password (policy above): true, or false with the
 * reason in why (e.g. "password is shorter than 10 bytes"). */
bool auth_password_acceptable(const char *password, char *why, size_t cap);

/* The scrypt primitive (RFC 7914) as used by the functions above, exposed for known-answer
 * tests: derives out_len bytes from (pw, pw_len) and (salt, salt_len) with N = 2^ln, r, p.
 * Refuses (-1) parameters whose working memory exceeds AUTH_SCRYPT_MAXMEM. */
int auth_scrypt(const uint8_t *pw, size_t pw_len, const uint8_t *salt, size_t salt_len, unsigned ln,
                unsigned r, unsigned p, uint8_t *out, size_t out_len);

/* ---- bearer tokens (HTTP sessions) and device secrets (handsets) ---- */

#define AUTH_SECRET_BYTES 32 /* random bytes in a token or device secret (256 bits) */
/* Characters of a token or device secret: base64url (RFC 4648 section 5) of 32 bytes, no
 * padding. The last character encodes 2 bits followed by 4 zero bits ([AEIMQUYcgkosw048]). */
#define AUTH_TOKEN_LEN         43
#define AUTH_DEVICE_SECRET_LEN 43
#define AUTH_DIGEST_HEX_LEN    64 /* lowercase hex of a SHA-256 digest */

/* A new session token: 32 bytes from RAND_bytes, base64url. Returns 0, or -1 when the RNG
 * fails (out is then ""). */
int auth_token_new(char out[AUTH_TOKEN_LEN + 1]);
/* Whether `token` has the exact form auth_token_new produces (cheap check before a lookup, so
 * that junk is refused with 401 without touching the store). */
bool auth_token_well_formed(const char *token);
/* SHA-256 of the token's bytes, lowercase hex: the key under which the session is stored.
 * Returns 0, or -1 on a NULL token or a digest failure (out is then ""). */
int auth_token_digest(const char *token, char out_hex[AUTH_DIGEST_HEX_LEN + 1]);

/* Device secrets: same generation and digest as tokens; the secret is shown once at device
 * registration and only the digest is stored. */
int auth_device_secret_new(char out[AUTH_DEVICE_SECRET_LEN + 1]);
int auth_device_secret_digest(const char *secret, char out_hex[AUTH_DIGEST_HEX_LEN + 1]);
/* Whether the presented secret's digest equals stored_hex (64 hex digits, either case),
 * compared with CRYPTO_memcmp: 1 match, 0 no match (also for a NULL or ill-formed presented
 * secret), -1 malformed stored digest. */
int auth_device_secret_verify(const char *presented, const char *stored_hex);

/* A handset's registration: a device id belongs to one staff member (of one enterprise), or
 * to one vehicle (an in-vehicle unit is not a person), and logs in with its secret, of which
 * only the digest is kept. The table of them is the accounts' (store/accounts.h); the registry
 * rules read it through a lookup function. */
struct device_record {
    char device_id[LPG_ID_MAX + 1];
    char staff_id[LPG_ID_MAX + 1];   /* the person; "" for a device bound to a vehicle */
    char vehicle_id[LPG_ID_MAX + 1]; /* the vehicle; "" for a person's device */
    char enterprise_id[LPG_ID_MAX + 1];
    char secret_digest[AUTH_DIGEST_HEX_LEN + 1];
    int64_t created_ms;
};

/* ---- principals and the access policy ---- */

enum auth_role { AUTH_ROLE_ADMIN, AUTH_ROLE_DISPATCHER, AUTH_ROLE_AUDITOR, AUTH_ROLE_COUNT };

/* An auditor's jurisdiction: the enterprises it may read (a transport bureau's auditor sees the
 * enterprises of its area only). n == 0: every enterprise, as before jurisdictions existed.
 * Only an auditor has one (n == 0 for the other roles). At most AUTH_JURISDICTION_MAX distinct
 * valid ids: the bound keeps a principal (copied into every job) small. */
#define AUTH_JURISDICTION_MAX 32
struct auth_jurisdiction {
    unsigned n;
    char ids[AUTH_JURISDICTION_MAX][LPG_ID_MAX + 1];
};

/* "admin", "dispatcher", "auditor"; "?" for an out-of-range value. */
const char *auth_role_name(enum auth_role r);
/* The role named s, or -1. */
int auth_role_parse(const char *s);

/* Who is calling. user is an id (lpg_id_valid); enterprise_id is set for a dispatcher only
 * ("" otherwise). The principal is valid while now_ms < expires_ms (UTC ms); there is no
 * "never expires". */
struct auth_principal {
    char user[LPG_ID_MAX + 1];
    enum auth_role role;
    char enterprise_id[LPG_ID_MAX + 1];
    int64_t expires_ms;
    struct auth_jurisdiction jurisdiction; /* an auditor's; n == 0 otherwise */
};

/* Whether p may see data of enterprise `enterprise_id` at all: a dispatcher its own only, an
 * auditor limited to a jurisdiction the enterprises in it, others every one. An entity p may
 * not see is answered like one that does not exist (hidden_from, v1_hidden). */
bool auth_sees_enterprise(const struct auth_principal *p, const char *enterprise_id);
/* The enterprise a list or report is scoped to when the request names none: the dispatcher's,
 * or the only enterprise of a limited auditor's jurisdiction; NULL (unscoped) otherwise, which
 * auth_check refuses to a limited auditor with several (it must name one). */
const char *auth_default_enterprise(const struct auth_principal *p);

enum auth_action {
    AUTH_READ,  /* look at a resource */
    AUTH_WRITE, /* create, change or delete a resource of the domain */
    AUTH_ADMIN, /* manage users, enterprises, devices and the system itself */
    AUTH_ACTION_COUNT
};

#define AUTH_DENIAL_MESSAGE_MAX 160

/* Why a request is refused. code is a static string, stable for programs (docs/http-api.md
 * error codes); message is for people. */
struct auth_denial {
    int http_status;  /* 401 or 403 */
    const char *code; /* "unauthenticated", "token_expired", "forbidden", "wrong_enterprise",
                         "read_only" */
    char message[AUTH_DENIAL_MESSAGE_MAX];
};

/* May principal p perform action a on a resource of enterprise `enterprise_id` (NULL: a
 * resource not scoped to one enterprise, e.g. the list of enterprises or users) at now_ms?
 * Returns 0 (allowed) or -1 with the refusal in *why (why may be NULL).
 *
 * In order:
 *   p NULL, or not a valid principal (unknown role, invalid user id, dispatcher
 *     without a valid enterprise id)                                -> 401 unauthenticated
 *   now_ms >= p->expires_ms                                          -> 401 token_expired
 *   unknown action, or enterprise_id not NULL and not a valid id     -> 403 forbidden
 *   then the policy table, by role, action and scope (own: the dispatcher's enterprise,
 *   other: any other enterprise, none: NULL):
 *
 *                  read              write             admin
 *     admin        allowed           allowed           allowed
 *     dispatcher   own: allowed      own: allowed      forbidden
 *                  other: wrong_enterprise (403)
 *                  none: forbidden   none: forbidden
 *     auditor      allowed           read_only (403)   read_only (403)
 *     auditor with a jurisdiction (auth_jurisdiction.n > 0), reading:
 *                  in the jurisdiction: allowed
 *                  other: wrong_enterprise (403)
 *                  none: forbidden (403: the unscoped reads span every enterprise)
 *
 * A dispatcher reads its own enterprise's record as a resource scoped to that enterprise;
 * the unscoped lists are for admins and auditors. */
int auth_check(const struct auth_principal *p, enum auth_action a, const char *enterprise_id,
               int64_t now_ms, struct auth_denial *why);

/* ---- users ---- */

/* A user of the HTTP API. enterprise_id is set for a dispatcher only ("" otherwise). */
struct auth_user {
    char name[LPG_ID_MAX + 1];
    enum auth_role role;
    char enterprise_id[LPG_ID_MAX + 1];
    char password_hash[AUTH_HASH_MAX]; /* auth_password_hash() encoding */
    bool disabled;                     /* a disabled user cannot log in */
    int64_t created_ms;
    struct auth_jurisdiction jurisdiction; /* an auditor's (n == 0: every enterprise) */
};

/* The principal of a session opened now for user u, valid for ttl_ms (> 0). Returns 0, or -1
 * with the reason in why when u is disabled or not a valid user (see auth_user_from_json). */
int auth_principal_for_user(const struct auth_user *u, int64_t now_ms, int64_t ttl_ms,
                            struct auth_principal *out, char *why, size_t cap);

/* ---- JSON (jansson) ----
 *
 * Principal: {"user":"u1","role":"dispatcher","enterprise_id":"e1","expires_ms":1767225600000}
 *   (enterprise_id only for a dispatcher; "enterprises":["e1",...] only for an auditor with a
 *   jurisdiction, likewise on users; an empty or absent list reads as every enterprise).
 * User, public: {"name":"u1","role":"dispatcher","enterprise_id":"e1","disabled":false,
 *   "created_ms":...} -- never the password hash; for API responses and logs.
 * User, store: the public object plus "password_hash"; for the store only.
 *
 * to_json returns a new reference, or NULL on out of memory or for a value from_json would not
 * read back (invalid id, unknown role, enterprise_id set or missing against the role, and for
 * users a malformed password_hash, checked by the public variant too). from_json fills *out and
 * returns 0, or returns -1 with the reason in why and *out zeroed. It requires every field above
 * with its type (ids valid per lpg_id_valid, role known, enterprise_id present exactly for a
 * dispatcher, password_hash a well-formed encoding) and ignores unknown keys, so that a newer
 * dispatchd can add fields without an older one refusing its sessions. */
json_t *auth_principal_to_json(const struct auth_principal *p);
/* Reads an "enterprises" member (absent, null or [] -> n = 0) into *out: an array of at most
 * AUTH_JURISDICTION_MAX distinct valid ids; 0, or -1 with the reason in why. */
int auth_jurisdiction_from_json(const json_t *v, struct auth_jurisdiction *out, char *why,
                                size_t cap);
int auth_principal_from_json(const json_t *j, struct auth_principal *out, char *why, size_t cap);
json_t *auth_user_to_public_json(const struct auth_user *u);
json_t *auth_user_to_store_json(const struct auth_user *u);
int auth_user_from_json(const json_t *j, struct auth_user *out, char *why, size_t cap);

#endif
