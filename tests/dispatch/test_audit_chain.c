/* test_audit_chain.c -- the pure part of the tamper-evident record (dispatch/core/audit_chain.c):
 * the canonical text (exact bytes), SHA-256 against the FIPS 180-2 vector, and the verifier
 * over an intact chain, sub-ranges with an anchor, and every kind of tampering an attacker with
 * write access to Redis could do -- each detected at the entry that was touched. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/audit_chain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 10

/* A chain of N entries built with audit_chain_canonical, as audit_log.c appends them. */
static char *chain[N + 1]; /* chain[1..N] */
static char head_hash[AUDIT_HASH_HEX_LEN + 1];

static int build(void **state)
{
    (void)state;
    char prev[AUDIT_HASH_HEX_LEN + 1] = AUDIT_ZERO_HASH;
    for (int n = 1; n <= N; n++) {
        json_t *data = json_pack("{s:i, s:s}", "count", n, "note", "第n瓶");
        char subject[16];
        snprintf(subject, sizeof(subject), "O%d", n);
        struct audit_entry e = {1764000000000 + n,
                                n % 2 ? "order_created" : "order_assigned",
                                "disp1",
                                subject,
                                n % 3 ? "E1" : NULL,
                                data};
        chain[n] = audit_chain_canonical(&e, n, prev);
        json_decref(data);
        if (chain[n] == NULL || audit_chain_hash(chain[n], strlen(chain[n]), prev) != 0)
            return -1;
    }
    memcpy(head_hash, prev, sizeof(head_hash));
    return 0;
}

static int release(void **state)
{
    (void)state;
    for (int n = 1; n <= N; n++)
        free(chain[n]);
    return 0;
}

/* Verifies [from, to] over texts[1..count] with the head (head_seq, hh), feeding what the
 * verifier asks for, as audit_log.c does from Redis. */
static struct audit_verify_result run(char **texts, int count, int64_t from, int64_t to,
                                      int64_t head_seq, const char *hh)
{
    char anchor[AUDIT_HASH_HEX_LEN + 1] = AUDIT_ZERO_HASH;
    if (from > 1)
        assert_int_equal(audit_chain_hash(texts[from - 1], strlen(texts[from - 1]), anchor), 0);
    struct audit_verifier v;
    audit_verifier_begin(&v, from, to, anchor);
    bool more = true;
    for (int64_t n = from; more && n <= count && n <= to + 2; n++)
        more = audit_verifier_feed(&v, texts[n], strlen(texts[n]));
    if (more)
        audit_verifier_end(&v, head_seq, hh);
    return *audit_verifier_result(&v);
}

static struct audit_verify_result run_all(char **texts, int count)
{
    return run(texts, count, 1, N, N, head_hash);
}

/* A copy of the chain whose entry k is replaced by `text` (NULL: removed, later ones move up). */
static int with(char **out, int k, const char *text)
{
    int m = 0;
    for (int n = 1; n <= N; n++) {
        if (n == k && text == NULL)
            continue;
        out[++m] = n == k ? (char *)text : chain[n];
    }
    return m;
}

/* Entry k with the first `from` replaced by `to`, a valid entry otherwise (the attacker's
 * edit). */
static char *edited(int k, const char *from, const char *to)
{
    static char buf[4096];
    const char *p = strstr(chain[k], from);
    assert_non_null(p);
    snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(p - chain[k]), chain[k], to, p + strlen(from));
    return buf;
}

static void test_canonical_text_is_sorted_compact_utf8(void **state)
{
    (void)state;
    json_t *data = json_pack("{s:s, s:i}", "zeta", "蒙E12345", "alpha", 3);
    struct audit_entry e = {1764000000123, "order_assigned", "system", "O1", "E1", data};
    char *t = audit_chain_canonical(&e, 7, AUDIT_ZERO_HASH);
    assert_non_null(t);
    assert_string_equal(t, "{\"actor\":\"system\",\"at_ms\":1764000000123,\"data\":{\"alpha\":3,"
                           "\"zeta\":\"蒙E12345\"},\"enterprise\":\"E1\",\"kind\":"
                           "\"order_assigned\",\"prev\":\"" AUDIT_ZERO_HASH "\",\"seq\":7,"
                           "\"subject\":\"O1\"}");
    free(t);
    /* No enterprise, no data: the member is left out, data is {}. */
    struct audit_entry e2 = {5, "alert_raised", "rule:overspeed", "a-1", NULL, NULL};
    t = audit_chain_canonical(&e2, 1, AUDIT_ZERO_HASH);
    assert_non_null(t);
    assert_non_null(strstr(t, "\"data\":{}"));
    assert_null(strstr(t, "enterprise"));
    free(t);
    /* Refused: data not an object, empty or non-UTF-8 names, a bad prev, seq 0. */
    json_t *arr = json_array();
    struct audit_entry bad = e2;
    bad.data = arr;
    assert_null(audit_chain_canonical(&bad, 1, AUDIT_ZERO_HASH));
    bad = e2;
    bad.actor = "";
    assert_null(audit_chain_canonical(&bad, 1, AUDIT_ZERO_HASH));
    bad = e2;
    bad.subject = "\xff\xfe";
    assert_null(audit_chain_canonical(&bad, 1, AUDIT_ZERO_HASH));
    assert_null(audit_chain_canonical(&e2, 1, "abc"));
    assert_null(audit_chain_canonical(&e2, 0, AUDIT_ZERO_HASH));
    json_decref(arr);
    json_decref(data);
}

static void test_hash_is_sha256_hex(void **state)
{
    (void)state;
    char h[AUDIT_HASH_HEX_LEN + 1];
    assert_int_equal(audit_chain_hash("abc", 3, h), 0);
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_intact_chain_and_subranges(void **state)
{
    (void)state;
    struct audit_verify_result r = run_all(chain, N);
    assert_int_equal(r.reason, AUDIT_OK);
    assert_int_equal(r.checked, N);
    /* A sub-range anchored on entry from-1 as stored, ending inside the log or at the head. */
    r = run(chain, N, 4, 6, N, head_hash);
    assert_int_equal(r.reason, AUDIT_OK);
    assert_int_equal(r.checked, 3);
    r = run(chain, N, 8, N, N, head_hash);
    assert_int_equal(r.reason, AUDIT_OK);
    assert_int_equal(r.checked, 3);
    /* An empty range. */
    r = run(chain, N, 5, 4, N, head_hash);
    assert_int_equal(r.reason, AUDIT_OK);
    assert_int_equal(r.checked, 0);
}

static void expect(struct audit_verify_result r, enum audit_break why, int64_t seq)
{
    if (r.reason != why || r.first_broken_seq != seq)
        fprintf(stderr, "got %s at %lld (%s), want %s at %lld\n", audit_break_name(r.reason),
                (long long)r.first_broken_seq, r.detail, audit_break_name(why), (long long)seq);
    assert_int_equal(r.reason, why);
    assert_int_equal(r.first_broken_seq, seq);
    assert_true(strlen(r.detail) > 10);
}

static void test_edited_content_is_found_at_that_entry(void **state)
{
    (void)state;
    char *t[N + 1];
    for (int k = 1; k <= N; k++) {
        /* The data, the actor, the time: any byte of the content. */
        int m = with(t, k, edited(k, "\"actor\":\"disp1\"", "\"actor\":\"disp2\""));
        expect(run_all(t, m), AUDIT_HASH_MISMATCH, k);
        m = with(t, k, edited(k, "\"count\":", "\"count\":1"));
        expect(run_all(t, m), AUDIT_HASH_MISMATCH, k);
    }
    /* Re-formatting (whitespace) is an edit too: the hash is of the exact bytes. */
    int m = with(t, 3, edited(3, "\"kind\":", "\"kind\": "));
    expect(run_all(t, m), AUDIT_HASH_MISMATCH, 3);
    /* The checked count is what precedes the break. */
    m = with(t, 6, edited(6, "disp1", "mallory"));
    assert_int_equal(run_all(t, m).checked, 5);
}

static void test_edited_prev_is_found_at_that_entry(void **state)
{
    (void)state;
    char *t[N + 1];
    for (int k = 1; k <= N; k++) {
        const char *p = strstr(chain[k], "\"prev\":\"") + 8;
        char fake[80];
        snprintf(fake, sizeof(fake), "\"prev\":\"%c", p[0] == 'a' ? 'b' : 'a');
        char orig[16];
        snprintf(orig, sizeof(orig), "\"prev\":\"%c", p[0]);
        int m = with(t, k, edited(k, orig, fake));
        expect(run_all(t, m), AUDIT_PREV_MISMATCH, k);
    }
}

static void test_removed_reordered_copied_unparsable(void **state)
{
    (void)state;
    char *t[N + 2];
    /* Removed from the middle: the next one is found in its place. */
    int m = with(t, 4, NULL);
    expect(run_all(t, m), AUDIT_MISSING, 4);
    /* The tail cut off while the head still says N. */
    expect(run_all(chain, 7), AUDIT_MISSING, 8);
    expect(run_all(chain, N - 1), AUDIT_MISSING, N);
    /* Two entries swapped. */
    m = with(t, 0, NULL);
    t[5] = chain[6];
    t[6] = chain[5];
    expect(run_all(t, m), AUDIT_MISSING, 5);
    /* An entry copied over the next one. */
    m = with(t, 0, NULL);
    t[7] = chain[6];
    expect(run_all(t, m), AUDIT_SEQ_MISMATCH, 7);
    /* Garbage, and JSON that is not an entry. */
    m = with(t, 2, "not json");
    expect(run_all(t, m), AUDIT_UNPARSABLE, 2);
    m = with(t, 9, "{\"seq\":9}");
    expect(run_all(t, m), AUDIT_UNPARSABLE, 9);
    /* The head's hash rewritten: the last entry no longer matches what the head records. */
    expect(run(chain, N, 1, N, N, AUDIT_ZERO_HASH), AUDIT_HASH_MISMATCH, N);
}

static void test_ranges_report_breaks_in_or_next_to_the_range(void **state)
{
    (void)state;
    char *t[N + 1];
    /* An edit after the range does not concern it... */
    int m = with(t, 8, edited(8, "disp1", "mallory"));
    assert_int_equal(run(t, m, 2, 5, N, head_hash).reason, AUDIT_OK);
    /* ... nor a changed prev just after it (entry `to` is intact). */
    const char *p = strstr(chain[6], "\"prev\":\"") + 8;
    char orig[16], fake[16];
    snprintf(orig, sizeof(orig), "\"prev\":\"%c", p[0]);
    snprintf(fake, sizeof(fake), "\"prev\":\"%c", p[0] == 'a' ? 'b' : 'a');
    m = with(t, 6, edited(6, orig, fake));
    assert_int_equal(run(t, m, 2, 5, N, head_hash).reason, AUDIT_OK);
    /* An edit of the last entry of the range is seen through its successor. */
    m = with(t, 5, edited(5, "disp1", "mallory"));
    expect(run(t, m, 2, 5, N, head_hash), AUDIT_HASH_MISMATCH, 5);
    /* The anchor is trusted as stored: an entry whose prev does not match it is reported. */
    m = with(t, 3, edited(3, "disp1", "mallory"));
    expect(run(t, m, 4, 6, N, head_hash), AUDIT_PREV_MISMATCH, 4);
}

/* What the chain alone cannot see, documented here and in docs/audit.md: cutting the tail AND
 * rewriting the head to match. audit_log.c compares the stored head with the service's own
 * head to catch it while the service runs. */
static void test_limit_truncation_with_a_consistent_head(void **state)
{
    (void)state;
    char h7[AUDIT_HASH_HEX_LEN + 1];
    assert_int_equal(audit_chain_hash(chain[7], strlen(chain[7]), h7), 0);
    assert_int_equal(run(chain, 7, 1, 7, 7, h7).reason, AUDIT_OK);
}

static void test_parse(void **state)
{
    (void)state;
    int64_t seq;
    char prev[AUDIT_HASH_HEX_LEN + 1];
    assert_int_equal(audit_chain_parse(chain[3], strlen(chain[3]), &seq, prev), 0);
    assert_int_equal(seq, 3);
    assert_int_equal(
        audit_chain_parse("{\"seq\":0,\"prev\":\"" AUDIT_ZERO_HASH "\"}", 83, &seq, prev), -1);
    assert_int_equal(audit_chain_parse("{\"seq\":1,\"prev\":\"ABC\"}", 23, &seq, prev), -1);
    assert_int_equal(audit_chain_parse("[]", 2, &seq, prev), -1);
    for (int b = AUDIT_OK; b <= AUDIT_HEAD_MISMATCH; b++)
        assert_string_not_equal(audit_break_name((enum audit_break)b), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_canonical_text_is_sorted_compact_utf8),
        cmocka_unit_test(test_hash_is_sha256_hex),
        cmocka_unit_test(test_intact_chain_and_subranges),
        cmocka_unit_test(test_edited_content_is_found_at_that_entry),
        cmocka_unit_test(test_edited_prev_is_found_at_that_entry),
        cmocka_unit_test(test_removed_reordered_copied_unparsable),
        cmocka_unit_test(test_ranges_report_breaks_in_or_next_to_the_range),
        cmocka_unit_test(test_limit_truncation_with_a_consistent_head),
        cmocka_unit_test(test_parse),
    };
    return cmocka_run_group_tests(tests, build, release);
}
