/* test_audit_checkpoint.c -- signed checkpoints of the audit chain
 * (dispatch/core/audit_checkpoint.c) and the key files (dispatch/common/key_file.c): the exact
 * signed line, a signature equal to what the openssl command line makes over the line the docs
 * define (so an auditor can verify with openssl alone), sign/verify and every way a checkpoint
 * is refused, a later export checked against a checkpoint (intact, extended, cut, rewritten and
 * re-hashed, reordered), and the key file's creation and permission checks.
 *
 * The key of the known-answer test is RFC 8032 section 7.1, TEST 1 (public key d75a9801...);
 * its expected signature was made with:
 *   printf 'lpg-dispatch-audit-checkpoint-v1 seq=12 digest=<sha256("abc")> time=... key_id=...\n'
 *     > signed.txt && openssl pkeyutl -sign -inkey k.pem -rawin -in signed.txt | base64 -w0
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "common/key_file.h"
#include "core/audit_checkpoint.h"

#include <openssl/pem.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RFC8032_T1_PEM                                                                             \
    "-----BEGIN PRIVATE KEY-----\n"                                                                \
    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"                           \
    "-----END PRIVATE KEY-----\n"
#define T1_KEY_ID     "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9"
#define T1_PUBLIC_B64 "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
#define ABC_SHA256    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define T1_TIME_MS    1796619120123LL /* 2026-12-07T04:52:00.123Z */
#define T1_SIGNATURE                                                                               \
    "Dan6CpolegIgjuPtti1XGOXbyspP69/VWRz3LjeV5jPHZt5F7vt12uOAryqRzP0tJDocOM5xsG5kgLsVLsfSAQ=="

static EVP_PKEY *t1_key(void)
{
    BIO *b = BIO_new_mem_buf(RFC8032_T1_PEM, -1);
    EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    BIO_free(b);
    assert_non_null(k);
    return k;
}

static void test_signed_text_exact(void **state)
{
    (void)state;
    struct audit_checkpoint cp = {12, ABC_SHA256, "2026-12-07T04:52:00.123Z", T1_KEY_ID, ""};
    char text[AUDIT_SIGNED_TEXT_MAX];
    int n = audit_checkpoint_signed_text(&cp, text, sizeof(text));
    assert_string_equal(text, "lpg-dispatch-audit-checkpoint-v1 seq=12 digest=" ABC_SHA256
                              " time=2026-12-07T04:52:00.123Z key_id=" T1_KEY_ID "\n");
    assert_int_equal(n, (int)strlen(text));
    /* Malformed members are never signed: upper-case hex, a short digest, a time that is not
     * the service's own spelling, a negative seq. */
    struct audit_checkpoint bad = cp;
    bad.digest[0] = 'B';
    assert_int_equal(audit_checkpoint_signed_text(&bad, text, sizeof(text)), -1);
    bad = cp;
    bad.digest[63] = '\0';
    assert_int_equal(audit_checkpoint_signed_text(&bad, text, sizeof(text)), -1);
    bad = cp;
    snprintf(bad.time, sizeof(bad.time), "2026-12-07T04:52:00Z");
    assert_int_equal(audit_checkpoint_signed_text(&bad, text, sizeof(text)), -1);
    bad = cp;
    bad.seq = -1;
    assert_int_equal(audit_checkpoint_signed_text(&bad, text, sizeof(text)), -1);
    assert_int_equal(audit_checkpoint_signed_text(&cp, text, 40), -1);
}

static void test_known_answer(void **state)
{
    (void)state;
    EVP_PKEY *k = t1_key();
    char id[AUDIT_HASH_HEX_LEN + 1], raw[AUDIT_PUBLIC_B64_LEN + 1];
    assert_int_equal(audit_key_id(k, id), 0);
    assert_string_equal(id, T1_KEY_ID);
    assert_int_equal(audit_key_public_b64(k, raw), 0);
    assert_string_equal(raw, T1_PUBLIC_B64);
    struct audit_checkpoint cp;
    assert_int_equal(audit_checkpoint_sign(k, 12, ABC_SHA256, T1_TIME_MS, &cp), 0);
    assert_int_equal(cp.seq, 12);
    assert_string_equal(cp.digest, ABC_SHA256);
    assert_string_equal(cp.time, "2026-12-07T04:52:00.123Z");
    assert_string_equal(cp.key_id, T1_KEY_ID);
    assert_string_equal(cp.signature, T1_SIGNATURE);
    EVP_PKEY_free(k);
}

/* The public half alone, through its PEM (as an auditor gets it from GET /v1/audit/key). */
static EVP_PKEY *public_of(EVP_PKEY *k)
{
    char *pem = audit_key_public_pem(k);
    assert_non_null(pem);
    assert_non_null(strstr(pem, "-----BEGIN PUBLIC KEY-----"));
    BIO *b = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *pub = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
    BIO_free(b);
    free(pem);
    assert_non_null(pub);
    return pub;
}

static void test_sign_verify(void **state)
{
    (void)state;
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    assert_non_null(k);
    assert_non_null(other);
    EVP_PKEY *pub = public_of(k), *other_pub = public_of(other);
    struct audit_checkpoint cp;
    assert_int_equal(audit_checkpoint_sign(k, 7, ABC_SHA256, T1_TIME_MS, &cp), 0);
    char why[256];
    assert_int_equal(audit_checkpoint_verify(pub, &cp, why, sizeof(why)), 1);

    /* Through JSON and back, as saved by an auditor. */
    json_t *j = audit_checkpoint_to_json(&cp);
    struct audit_checkpoint back;
    assert_int_equal(audit_checkpoint_from_json(j, &back, why, sizeof(why)), 0);
    json_decref(j);
    assert_int_equal(audit_checkpoint_verify(pub, &back, why, sizeof(why)), 1);

    /* Every signed member matters. */
    struct audit_checkpoint t = cp;
    t.seq = 8;
    assert_int_equal(audit_checkpoint_verify(pub, &t, why, sizeof(why)), 0);
    assert_non_null(strstr(why, "does not verify"));
    t = cp;
    t.digest[10] = t.digest[10] == '0' ? '1' : '0';
    assert_int_equal(audit_checkpoint_verify(pub, &t, why, sizeof(why)), 0);
    t = cp;
    t.time[22] = t.time[22] == '0' ? '1' : '0';
    assert_int_equal(audit_checkpoint_verify(pub, &t, why, sizeof(why)), 0);
    /* The signature itself: one character changed, cut, not base64. */
    t = cp;
    t.signature[5] = t.signature[5] == 'A' ? 'B' : 'A';
    assert_int_equal(audit_checkpoint_verify(pub, &t, why, sizeof(why)), 0);
    assert_non_null(strstr(why, "does not verify"));
    t = cp;
    t.signature[80] = '\0';
    assert_int_equal(audit_checkpoint_verify(pub, &t, why, sizeof(why)), 0);
    assert_non_null(strstr(why, "base64"));
    t = cp;
    t.signature[3] = '*';
    assert_int_equal(audit_checkpoint_verify(pub, &t, why, sizeof(why)), 0);
    /* Another key: named as such, and a key_id rewritten to it does not help. */
    assert_int_equal(audit_checkpoint_verify(other_pub, &cp, why, sizeof(why)), 0);
    assert_non_null(strstr(why, "names key"));
    t = cp;
    assert_int_equal(audit_key_id(other, t.key_id), 0);
    assert_int_equal(audit_checkpoint_verify(other_pub, &t, why, sizeof(why)), 0);
    assert_non_null(strstr(why, "does not verify"));

    /* Malformed JSON checkpoints. */
    json_t *bad = json_pack("{s:s, s:s}", "seq", "7", "digest", ABC_SHA256);
    assert_int_equal(audit_checkpoint_from_json(bad, &back, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "seq"));
    json_decref(bad);
    bad = json_pack("{s:i, s:s, s:s, s:s}", "seq", 7, "digest", ABC_SHA256, "time", cp.time,
                    "key_id", cp.key_id);
    assert_int_equal(audit_checkpoint_from_json(bad, &back, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "signature"));
    json_decref(bad);

    EVP_PKEY_free(pub);
    EVP_PKEY_free(other_pub);
    EVP_PKEY_free(k);
    EVP_PKEY_free(other);
}

/* ---- an export against a checkpoint ---- */

#define N 6
static char *chain[N + 1]; /* chain[1..N] */
static char hashes[N + 1][AUDIT_HASH_HEX_LEN + 1];

/* Entries from..N built after prev (hashes[from-1]); the subject of entry `changed` differs. */
static void build_from(int from, int changed)
{
    for (int n = from; n <= N; n++) {
        free(chain[n]);
        json_t *data = json_pack("{s:i}", "count", n);
        char subject[16];
        snprintf(subject, sizeof(subject), n == changed ? "O%d-forged" : "O%d", n);
        struct audit_entry e = {1764000000000 + n, "order_created", "disp1", subject, "E1", data};
        chain[n] = audit_chain_canonical(&e, n, n == 1 ? AUDIT_ZERO_HASH : hashes[n - 1]);
        json_decref(data);
        assert_non_null(chain[n]);
        assert_int_equal(audit_chain_hash(chain[n], strlen(chain[n]), hashes[n]), 0);
    }
}

static int build(void **state)
{
    (void)state;
    build_from(1, 0);
    return 0;
}

static int release(void **state)
{
    (void)state;
    for (int n = 1; n <= N; n++) {
        free(chain[n]);
        chain[n] = NULL;
    }
    return 0;
}

/* Feeds entries from..to (in order) against a checkpoint at seq with digest. */
static int check(int64_t seq, const char *digest, int from, int to,
                 struct audit_checkpoint_check *c)
{
    struct audit_checkpoint cp = {.seq = seq};
    snprintf(cp.digest, sizeof(cp.digest), "%s", digest);
    audit_checkpoint_check_begin(c, &cp);
    for (int n = from; n <= to; n++)
        if (!audit_checkpoint_check_feed(c, chain[n], strlen(chain[n])))
            break;
    return audit_checkpoint_check_end(c);
}

static void test_export_intact(void **state)
{
    (void)state;
    struct audit_checkpoint_check c;
    char saved[AUDIT_HASH_HEX_LEN + 1];
    memcpy(saved, hashes[3], sizeof(saved));
    assert_int_equal(check(3, saved, 1, N, &c), 0);
    assert_int_equal(c.last_seq, N);
    assert_string_equal(c.last_hash, hashes[N]);
    /* Starting at the checkpoint's entry, or just after it (its prev is the digest). */
    assert_int_equal(check(3, saved, 3, N, &c), 0);
    assert_int_equal(check(3, saved, 4, N, &c), 0);
    /* The head itself, nothing later. */
    assert_int_equal(check(N, hashes[N], 1, N, &c), 0);
    /* The empty log's checkpoint: any chain from entry 1. */
    assert_int_equal(check(0, AUDIT_ZERO_HASH, 1, N, &c), 0);
    assert_int_equal(check(0, AUDIT_ZERO_HASH, 1, 0, &c), 0);
}

static void test_export_short(void **state)
{
    (void)state;
    struct audit_checkpoint_check c;
    /* Ends before the checkpoint (a cut tail), starts too late, or is empty. */
    assert_int_equal(check(4, hashes[4], 1, 3, &c), -1);
    assert_string_equal(c.reason, "missing");
    assert_int_equal(c.bad_seq, 4);
    assert_int_equal(check(3, hashes[3], 5, N, &c), -1);
    assert_string_equal(c.reason, "missing");
    assert_int_equal(check(3, hashes[3], 1, 0, &c), -1);
    assert_string_equal(c.reason, "missing");
}

static void test_export_rewritten(void **state)
{
    (void)state;
    struct audit_checkpoint_check c;
    char saved[AUDIT_HASH_HEX_LEN + 1];
    memcpy(saved, hashes[4], sizeof(saved));
    /* Entry 2 forged and every later one re-hashed: the chain is consistent, but entry 4 no
     * longer hashes to the checkpoint's digest. */
    build_from(2, 2);
    assert_int_equal(check(4, saved, 1, N, &c), -1);
    assert_string_equal(c.reason, "digest_mismatch");
    assert_int_equal(c.bad_seq, 4);
    /* The same export starting after the checkpoint: entry 5 does not link to it. */
    assert_int_equal(check(4, saved, 5, N, &c), -1);
    assert_string_equal(c.reason, "digest_mismatch");
    assert_int_equal(c.bad_seq, 4);
    /* The checkpoint's own entry forged. */
    build_from(1, 0);
    build_from(4, 4);
    assert_int_equal(check(4, saved, 1, N, &c), -1);
    assert_string_equal(c.reason, "digest_mismatch");
    assert_int_equal(c.bad_seq, 4);
    /* A later entry forged without re-hashing its successors: the next link breaks. */
    build_from(1, 0);
    char h5[AUDIT_HASH_HEX_LEN + 1];
    memcpy(h5, hashes[5], sizeof(h5));
    build_from(5, 5);
    memcpy(hashes[5], h5, sizeof(h5));
    free(chain[6]);
    json_t *data = json_pack("{s:i}", "count", 6);
    struct audit_entry e = {1764000000006, "order_created", "disp1", "O6", "E1", data};
    chain[6] = audit_chain_canonical(&e, 6, h5);
    json_decref(data);
    assert_int_equal(check(4, saved, 1, N, &c), -1);
    assert_string_equal(c.reason, "prev_mismatch");
    assert_int_equal(c.bad_seq, 6);
    build_from(1, 0);
}

static void test_export_disorder(void **state)
{
    (void)state;
    struct audit_checkpoint cp = {.seq = 2};
    memcpy(cp.digest, hashes[2], sizeof(cp.digest));
    struct audit_checkpoint_check c;
    audit_checkpoint_check_begin(&c, &cp);
    assert_true(audit_checkpoint_check_feed(&c, chain[1], strlen(chain[1])));
    assert_true(audit_checkpoint_check_feed(&c, chain[2], strlen(chain[2])));
    assert_false(audit_checkpoint_check_feed(&c, chain[4], strlen(chain[4])));
    assert_int_equal(audit_checkpoint_check_end(&c), -1);
    assert_string_equal(c.reason, "seq_gap");
    assert_int_equal(c.bad_seq, 3);
    audit_checkpoint_check_begin(&c, &cp);
    assert_true(audit_checkpoint_check_feed(&c, chain[1], strlen(chain[1])));
    assert_false(audit_checkpoint_check_feed(&c, "not json", 8));
    assert_int_equal(audit_checkpoint_check_end(&c), -1);
    assert_string_equal(c.reason, "unparsable");
    assert_int_equal(c.bad_seq, 2);
}

/* ---- key files ---- */

static void test_key_files(void **state)
{
    (void)state;
    char dir[] = "/tmp/lpg-keyfile-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128], pub_path[128], why[512];
    snprintf(path, sizeof(path), "%s/signing.key", dir);
    snprintf(pub_path, sizeof(pub_path), "%s/public.pem", dir);

    EVP_PKEY *k = key_file_create(path, why, sizeof(why));
    assert_non_null(k);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* Never overwritten. */
    assert_null(key_file_create(path, why, sizeof(why)));
    assert_non_null(strstr(why, "cannot create"));

    EVP_PKEY *loaded = key_file_load_private(path, why, sizeof(why));
    assert_non_null(loaded);
    char a[AUDIT_HASH_HEX_LEN + 1], b[AUDIT_HASH_HEX_LEN + 1];
    assert_int_equal(audit_key_id(k, a), 0);
    assert_int_equal(audit_key_id(loaded, b), 0);
    assert_string_equal(a, b);
    EVP_PKEY_free(loaded);

    /* Readable by the group, or by others: refused, naming the fix. */
    assert_int_equal(chmod(path, 0640), 0);
    assert_null(key_file_load_private(path, why, sizeof(why)));
    assert_non_null(strstr(why, "0600"));
    assert_int_equal(chmod(path, 0604), 0);
    assert_null(key_file_load_private(path, why, sizeof(why)));
    assert_int_equal(chmod(path, 0400), 0);
    loaded = key_file_load_private(path, why, sizeof(why));
    assert_non_null(loaded);
    EVP_PKEY_free(loaded);

    /* Missing, or not a key. */
    char missing[160];
    snprintf(missing, sizeof(missing), "%s/none.key", dir);
    assert_null(key_file_load_private(missing, why, sizeof(why)));
    assert_non_null(strstr(why, "cannot read"));
    FILE *f = fopen(pub_path, "w");
    char *pem = audit_key_public_pem(k);
    fputs(pem, f);
    fclose(f);
    free(pem);
    assert_int_equal(chmod(pub_path, 0600), 0);
    assert_null(key_file_load_private(pub_path, why, sizeof(why)));
    assert_non_null(strstr(why, "Ed25519 private key"));

    /* The public key file (world-readable is fine). */
    assert_int_equal(chmod(pub_path, 0644), 0);
    EVP_PKEY *pub = key_file_load_public(pub_path, why, sizeof(why));
    assert_non_null(pub);
    assert_int_equal(audit_key_id(pub, b), 0);
    assert_string_equal(a, b);
    EVP_PKEY_free(pub);
    assert_null(key_file_load_public(path, why, sizeof(why)));

    EVP_PKEY_free(k);
    unlink(path);
    unlink(pub_path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signed_text_exact),
        cmocka_unit_test(test_known_answer),
        cmocka_unit_test(test_sign_verify),
        cmocka_unit_test_setup_teardown(test_export_intact, build, release),
        cmocka_unit_test_setup_teardown(test_export_short, build, release),
        cmocka_unit_test_setup_teardown(test_export_rewritten, build, release),
        cmocka_unit_test_setup_teardown(test_export_disorder, build, release),
        cmocka_unit_test(test_key_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
