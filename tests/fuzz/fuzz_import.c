/*
 * fuzz_import.c - libFuzzer target for the bulk import's parsing and validation
 * (dispatch/app/import.c): CSV rows of staff, vehicles, customers and cylinders (header
 * mapping, typed cells, lists, locations) and GeoJSON FeatureCollections of zones, each row
 * validated by the rules of a single create against a seeded registry (fuzz_box.c).
 *
 * The import's parser is static in import.c, behind import_submit() and the writer; the file is
 * included here so that the fuzzer calls import_csv() / import_geojson() on a job as
 * import_submit builds it, without the writer and without changing the file.
 *
 * Input: 1 byte choosing the kind (zones, staff, vehicles, customers, cylinders) and
 * skip_errors, then the body. After validation the transaction is built as for a commit and
 * the accepted rows are applied to the registry as after a successful EXEC.
 */
#include "../../dispatch/app/import.c"
#include "common/clock.h"

#include "fake_store.h"
#include "fuzz_box.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const struct import_kind *k = &import_kinds[(data[0] & 0x7f) % N(import_kinds)];
    int skip_errors = data[0] >> 7;
    data++;
    size--;

    struct fuzz_box d;
    fuzz_box_init(&d, 0);
    struct import_job *job = calloc(1, sizeof(*job));
    if (job == NULL || (job->body = malloc(size + 1)) == NULL ||
        (job->errors = json_array()) == NULL || (job->seen = json_object()) == NULL)
        abort();
    memcpy(job->body, data, size);
    job->body[size] = '\0'; /* as the HTTP handler copies it */
    job->body_len = size;
    job->base.s = &d.s; /* not queued: the lifecycle (usecase_job.h) is not used */
    job->kind = k;
    job->skip_errors = skip_errors;
    snprintf(job->enterprise_id, sizeof(job->enterprise_id), "E1");
    snprintf(job->user, sizeof(job->user), "fuzz");
    job->now_ms = lpg_now_ms();
    if (k->columns)
        import_csv(job);
    else
        import_geojson(job);

    if (job->fatal.kind != REFUSAL_NONE) {
        if (job->fatal.code[0] == '\0' || job->fatal.message[0] == '\0')
            abort();
    } else {
        json_t *r = report(job, 0);
        if (r == NULL)
            abort();
        json_decref(r);
        if (job->rows != job->valid + job->error_count)
            abort(); /* every row is either accepted or reported */
        if (job->valid > 0 && (job->error_count == 0 || job->skip_errors)) {
            struct store_txn *txn = build_txn(job);
            if (txn == NULL)
                abort();
            store_txn_free(txn);
            /* Applied as on_imported does once Redis confirmed the transaction. */
            for (size_t i = 0; i < job->pending.n; i++) {
                struct pending_item *it = &job->pending.items[i];
                if (entity_ops[it->kind].put(d.s.registry, it->entity) != 0)
                    abort();
                it->entity = NULL;
            }
        }
    }
    import_job_free(&job->base);
    fuzz_box_free(&d);
    return 0;
}
