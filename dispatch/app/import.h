/* import.h -- bulk import for onboarding an enterprise (docs/import.md): a file of zones
 * (a GeoJSON FeatureCollection) or of staff, vehicles, customers or cylinders (CSV with a
 * header row), every row validated by the rules of a single create, all accepted rows written
 * in one transaction (import.c says how).
 */
#ifndef LPG_IMPORT_H
#define LPG_IMPORT_H

#include "app/refusal.h"

#include <jansson.h>
#include <stddef.h>

struct service;
struct auth_principal;
struct import_kind;

/* The kind of import named `path` ("zones", "staff", "vehicles", "customers", "cylinders"),
 * or NULL. */
const struct import_kind *import_kind_find(const char *path);
/* Whether its body is CSV (else a GeoJSON FeatureCollection). */
int import_kind_is_csv(const struct import_kind *k);

/* The end of an import: report is {kind, rows, valid, imported, skipped, dry_run, error_count,
 * errors} (the callee's: a new reference) and refused says that rows had errors and nothing was
 * imported (without skip_errors); or report is NULL and r says why the whole file was refused
 * (malformed, too large, the enterprise unknown, the store). */
typedef void import_done_fn(void *arg, json_t *report, int refused, const struct refusal *r);

/* Imports body (body_len bytes, NUL-terminated; taken in every case) of kind k into enterprise
 * enterprise_id for principal p (who may write there). skip_errors: import the valid rows of a
 * file with errors; dry_run: validate only. Returns 0: done will be called once, later (not
 * when the service stops with the import still queued: it is dropped silently, with its
 * caller's connection). Or -1 with *r, and done is not called. */
int import_submit(struct service *s, const struct auth_principal *p, const struct import_kind *k,
                  const char *enterprise_id, int skip_errors, int dry_run, char *body,
                  size_t body_len, import_done_fn *done, void *arg, struct refusal *r);

#endif
