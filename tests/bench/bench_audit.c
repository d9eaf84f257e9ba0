/* bench_audit.c -- the in-process cost of the tamper-evident record (dispatch/core/audit_chain.c):
 * building an entry's canonical text and hashing it (what audit_log_append adds to a change on
 * the event loop, before any Redis round trip), and verifying stored entries (what
 * GET /v1/audit/verify spends per entry besides reading Redis). Entries look like the order and
 * alert entries dispatchd writes (~450 bytes). Median of 7 rounds of 100,000 entries; last line
 * "bench-audit append_us=<median> verify_entries_per_s=<median> entry_bytes=<n>".
 * Not a test: timings would make CTest flaky. */
#include "core/audit_chain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ROUNDS  7
#define ENTRIES 100000

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(void)
{
    json_t *data =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:n, s:s, s:s}", "actor", "dispatcher", "actor_id",
                  "disp-hailar-01", "at", "2026-12-03T06:41:44.161Z", "from", "created", "to",
                  "assigned", "reason", "staff_id", "S-000123", "vehicle_id", "V-000045");
    char **texts = calloc(ENTRIES + 1, sizeof(char *));
    if (data == NULL || texts == NULL)
        return 1;
    double append_us[ROUNDS], verify_rate[ROUNDS];
    size_t bytes = 0;
    for (int r = 0; r < ROUNDS; r++) {
        char prev[AUDIT_HASH_HEX_LEN + 1] = AUDIT_ZERO_HASH;
        char subject[32];
        double t0 = now_s();
        for (int n = 1; n <= ENTRIES; n++) {
            snprintf(subject, sizeof(subject), "o-20261203064144-%06d", n);
            struct audit_entry e = {1796280104161 + n, "order_assigned", "system",
                                    subject,           "E-hailar-gas",   data};
            free(texts[n]);
            texts[n] = audit_chain_canonical(&e, n, prev);
            if (texts[n] == NULL || audit_chain_hash(texts[n], strlen(texts[n]), prev) != 0)
                return 1;
        }
        append_us[r] = (now_s() - t0) / ENTRIES * 1e6;
        bytes = strlen(texts[ENTRIES / 2]);
        struct audit_verifier v;
        t0 = now_s();
        audit_verifier_begin(&v, 1, ENTRIES, AUDIT_ZERO_HASH);
        for (int n = 1; n <= ENTRIES; n++)
            audit_verifier_feed(&v, texts[n], strlen(texts[n]));
        audit_verifier_end(&v, ENTRIES, prev);
        verify_rate[r] = ENTRIES / (now_s() - t0);
        if (audit_verifier_result(&v)->reason != AUDIT_OK) {
            fprintf(stderr, "bench-audit: the chain did not verify\n");
            return 1;
        }
        printf("round %d: append %.2f us/entry, verify %.0f entries/s\n", r + 1, append_us[r],
               verify_rate[r]);
    }
    qsort(append_us, ROUNDS, sizeof(double), cmp);
    qsort(verify_rate, ROUNDS, sizeof(double), cmp);
    printf("bench-audit append_us=%.2f verify_entries_per_s=%.0f entry_bytes=%zu\n",
           append_us[ROUNDS / 2], verify_rate[ROUNDS / 2], bytes);
    for (int n = 1; n <= ENTRIES; n++)
        free(texts[n]);
    free(texts);
    json_decref(data);
    return 0;
}
