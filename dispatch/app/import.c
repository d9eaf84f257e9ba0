/* import.c -- bulk import for onboarding an enterprise (docs/import.md), the use case behind
 *
 *   POST /v1/import/{kind}?enterprise_id=E&skip_errors=true&dry_run=true (http_v1_import.c)
 *
 * kind is zones (body: a GeoJSON FeatureCollection) or staff, vehicles, customers, cylinders (body:
 * CSV, RFC 4180, a header row naming JSON fields of the entity).
 *
 * Every row becomes the JSON object a single create (POST /v1/{kind}) would take -- CSV cells
 * typed by the kind's column table below, a Feature's properties plus its geometry as "shape"
 * -- and is validated by exactly the rules of a single create: lpg_json_to_* (model_json.h),
 * no existing entity with its id (already_exists), and registry_rules_check() (registry_rules.h),
 * against the registry plus the rows of the same file accepted before it (so a second person
 * cannot take a vehicle an earlier row took). An id twice in one file is an error.
 *
 * Everything runs in ONE writer job: parse, validate every row, then commit every accepted row
 * and every companion change (the other side of a person-vehicle binding) in ONE Redis
 * transaction, applied to the registry only after EXEC succeeds, then one re-matching pass.
 * A file with errors imports nothing (422, every error listed) unless skip_errors=true; with
 * dry_run=true nothing is written either way. The changeset of entity.h is used
 * per row only; the accepted entities of the whole file are kept in a `struct pending` here.
 *
 * The job holds the event loop while it parses and validates: about 10 us a row, so 20,000
 * rows (IMPORT_MAX_ROWS) hold it for a fraction of a second, once, during onboarding.
 */
#define LOG_TAG "import"
#include "app/import.h"

#include "app/events.h"

#include "app/dispatcher.h"
#include "app/refuse_from.h"
#include "app/service.h"
#include "app/usecase_job.h"
#include "common/clock.h"
#include "common/csv.h"
#include "common/log.h"
#include "core/registry.h"
#include "core/registry_rules.h"
#include "store/accounts.h"
#include "store/entity.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#define IMPORT_MAX_ROWS    20000 /* data rows (CSV) or features (GeoJSON) in one request */
#define IMPORT_MAX_ERRORS  1000  /* errors listed in a reply; error_count counts them all */
#define IMPORT_MAX_CELL    4096  /* bytes of one CSV cell (the model's longest string is 255) */
#define IMPORT_MAX_COLUMNS 32    /* columns of a CSV file (more than any kind has) */
#define IMPORT_MAX_LIST    16    /* items of a ';'-separated list cell */

/* ---- what each kind accepts ---- */

/* How a CSV cell becomes JSON. An empty cell is always "absent". A cell that does not parse
 * as its type is passed on as a JSON string, so that the model reports the type error with its
 * usual message ("capacity must be an integer"). */
enum import_type {
    COL_STRING, /* as is: text, ids, enums, dates "YYYY-MM-DD" */
    COL_INT,    /* integer */
    COL_BOOL,   /* true / false (any case: spreadsheets write TRUE) */
    COL_LIST,   /* ';'-separated strings -> array (premises) */
    COL_LON,    /* number -> location.lon */
    COL_LAT,    /* number -> location.lat */
};

struct import_column {
    const char *name;
    enum import_type type;
    int required; /* the header must have it (a required field of a create, model_json.h) */
};

static const struct import_column staff_columns[] = {
    {"id", COL_STRING, 1},
    {"enterprise_id", COL_STRING, 0},
    {"name", COL_STRING, 1},
    {"role", COL_STRING, 1},
    {"qualification_no", COL_STRING, 0},
    {"qualification_expiry", COL_STRING, 0},
    {"training_no", COL_STRING, 0},
    {"training_expiry", COL_STRING, 0},
    {"zone_id", COL_STRING, 0},
    {"vehicle_id", COL_STRING, 0},
    {"device_id", COL_STRING, 0},
    {"on_duty", COL_BOOL, 0},
    {"qualification_from", COL_STRING, 0},
    {"training_from", COL_STRING, 0},
};

static const struct import_column vehicle_columns[] = {
    {"id", COL_STRING, 1},         {"enterprise_id", COL_STRING, 0},
    {"plate", COL_STRING, 1},      {"kind", COL_STRING, 1},
    {"permit_no", COL_STRING, 0},  {"permit_expiry", COL_STRING, 0},
    {"capacity", COL_INT, 1},      {"staff_id", COL_STRING, 0},
    {"station_id", COL_STRING, 0}, {"speed_limit_kmh", COL_INT, 0},
    {"escort_id", COL_STRING, 0},
};

static const struct import_column customer_columns[] = {
    {"id", COL_STRING, 1},
    {"enterprise_id", COL_STRING, 0},
    {"name", COL_STRING, 1},
    {"kind", COL_STRING, 1},
    {"lon", COL_LON, 1},
    {"lat", COL_LAT, 1},
    {"address", COL_STRING, 0},
    {"premises", COL_LIST, 0},
    {"contract_no", COL_STRING, 0},
    {"contract_from", COL_STRING, 0},
    {"contract_to", COL_STRING, 0},
    {"licence_no", COL_STRING, 0},
    {"licence_expiry", COL_STRING, 0},
};

static const struct import_column cylinder_columns[] = {
    {"id", COL_STRING, 1},
    {"enterprise_id", COL_STRING, 0},
    {"spec", COL_STRING, 1},
    {"manufacturer", COL_STRING, 0},
    {"serial", COL_STRING, 0},
    {"manufactured", COL_STRING, 1},
    {"last_inspection", COL_STRING, 0},
    {"next_inspection", COL_STRING, 0},
    {"service_life_years", COL_INT, 0},
    {"blacklisted", COL_BOOL, 0},
    {"blacklist_reason", COL_STRING, 0},
};

#define N(a) (sizeof(a) / sizeof(a[0]))

struct import_kind {
    const char *path; /* the {kind} of the URL */
    enum rs_kind kind;
    const struct import_column *columns; /* NULL: the body is GeoJSON */
    size_t ncolumns;
};

static const struct import_kind import_kinds[] = {
    {"zones", RS_ZONE, NULL, 0},
    {"staff", RS_STAFF, staff_columns, N(staff_columns)},
    {"vehicles", RS_VEHICLE, vehicle_columns, N(vehicle_columns)},
    {"customers", RS_CUSTOMER, customer_columns, N(customer_columns)},
    {"cylinders", RS_CYLINDER, cylinder_columns, N(cylinder_columns)},
};

/* ---- pending: the entities this import will write (rows and companions) ---- */

struct pending_item {
    enum rs_kind kind;
    void *entity; /* owned until applied to the registry */
};

struct pending {
    struct pending_item *items;
    size_t n, cap;
    /* (kind, id) -> position in items. A jansson object is a string-keyed hash table that is
     * already at hand; positions are JSON integers. */
    json_t *index[RS_KIND_COUNT];
    /* escort_id -> id of the pending vehicle naming it (one vehicle per escort,
     * registry_rules.h): what pending_escorted answers without a pass over every row. */
    json_t *escorts;
};

static const void *pending_find(void *arg, enum rs_kind kind, const char *id)
{
    struct pending *p = arg;
    json_t *pos = p->index[kind] ? json_object_get(p->index[kind], id) : NULL;
    return pos ? p->items[json_integer_value(pos)].entity : NULL;
}

/* The pending vehicle escorted by escort_id other than `except` (registry_pending_escort_fn).
 * The index may name a vehicle whose newer version has no escort: the rules check. */
static const struct lpg_vehicle *pending_escorted(void *arg, const char *escort_id,
                                                  const char *except)
{
    struct pending *p = arg;
    const char *vid = json_string_value(p->escorts ? json_object_get(p->escorts, escort_id) : NULL);
    if (vid == NULL || strcmp(vid, except) == 0)
        return NULL;
    return pending_find(p, RS_VEHICLE, vid);
}

/* Takes ownership of entity (destroyed on failure), replacing a previous version. 0 / -1. */
static int pending_put(struct pending *p, enum rs_kind kind, void *entity)
{
    const char *id = entity_ops[kind].id(entity);
    if (kind == RS_VEHICLE && ((const struct lpg_vehicle *)entity)->escort_id[0]) {
        const char *esc = ((const struct lpg_vehicle *)entity)->escort_id;
        if ((p->escorts == NULL && (p->escorts = json_object()) == NULL) ||
            json_object_set_new(p->escorts, esc, json_string(id)) != 0)
            goto fail;
    }
    if (p->index[kind] == NULL && (p->index[kind] = json_object()) == NULL)
        goto fail;
    json_t *pos = json_object_get(p->index[kind], id);
    if (pos) {
        struct pending_item *it = &p->items[json_integer_value(pos)];
        entity_ops[kind].destroy(it->entity);
        it->entity = entity;
        return 0;
    }
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 256;
        struct pending_item *bigger = realloc(p->items, cap * sizeof(*bigger));
        if (bigger == NULL)
            goto fail;
        p->items = bigger;
        p->cap = cap;
    }
    if (json_object_set_new(p->index[kind], id, json_integer((json_int_t)p->n)) != 0)
        goto fail;
    p->items[p->n].kind = kind;
    p->items[p->n].entity = entity;
    p->n++;
    return 0;
fail:
    entity_ops[kind].destroy(entity);
    return -1;
}

static void pending_free(struct pending *p)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->items[i].entity)
            entity_ops[p->items[i].kind].destroy(p->items[i].entity);
    free(p->items);
    for (int k = 0; k < RS_KIND_COUNT; k++)
        json_decref(p->index[k]);
    json_decref(p->escorts);
    memset(p, 0, sizeof(*p));
}

/* ---- the job ---- */

struct import_job {
    struct usecase_job base; /* first: the lifecycle (usecase_job.h) */
    import_done_fn *done;
    void *arg;
    const struct import_kind *kind;
    char enterprise_id[LPG_ID_MAX + 1];
    char user[LPG_ID_MAX + 1];
    int skip_errors, dry_run;
    char *body; /* the request body, copied out of the request (NUL-terminated) */
    size_t body_len;
    int64_t now_ms;                  /* created_at of every imported entity */
    double started_ms, validated_ms; /* monotonic, for the log */

    size_t rows;        /* rows (features) seen */
    size_t valid;       /* rows accepted */
    size_t error_count; /* rows refused */
    json_t *errors;     /* the first IMPORT_MAX_ERRORS of them */
    json_t *seen;       /* id -> first row with it (duplicates within the file) */
    struct pending pending;

    /* CSV: header column i -> index in kind->columns */
    size_t col_of[IMPORT_MAX_COLUMNS];
    size_t ncols;
    int header_done;

    /* A problem with the whole file, answered instead of the per-row report. */
    struct refusal fatal; /* kind REFUSAL_NONE: none */
};

static void import_job_free(struct usecase_job *base)
{
    struct import_job *job = (struct import_job *)base;
    pending_free(&job->pending);
    json_decref(job->errors);
    json_decref(job->seen);
    free(job->body);
    free(job);
}

static int fatal(struct import_job *job, enum refusal_kind kind, const char *code,
                 const char *field, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int fatal(struct import_job *job, enum refusal_kind kind, const char *code,
                 const char *field, const char *fmt, ...)
{
    if (job->fatal.kind != REFUSAL_NONE)
        return -1;
    /* A field here is a column name of the file: cut to 63 bytes, as it always was. */
    refuse(&job->fatal, kind, code, NULL, "%s", "");
    snprintf(job->fatal.field, 64, "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(job->fatal.message, sizeof(job->fatal.message), fmt, ap);
    va_end(ap);
    return -1;
}

static int oom(struct import_job *job)
{
    return fatal(job, REFUSAL_INTERNAL, "internal", NULL, "out of memory");
}

/* Records a refused row. line: the CSV line where the row starts (0: not CSV). */
static void add_error(struct import_job *job, size_t row, size_t line, const char *id,
                      const char *code, const char *field, const char *message)
{
    job->error_count++;
    if (json_array_size(job->errors) >= IMPORT_MAX_ERRORS)
        return;
    json_t *e = json_pack("{s:I, s:s?, s:s, s:s?, s:s}", "row", (json_int_t)row, "id",
                          id && id[0] ? id : NULL, "code", code, "field",
                          field && field[0] ? field : NULL, "message", message);
    if (e && line)
        json_object_set_new(e, "line", json_integer((json_int_t)line));
    if (e == NULL || json_array_append_new(job->errors, e) != 0)
        oom(job);
}

/* The model's field path as the file's author knows it: a CSV column ("location.lat" is the
 * column lat, "premises[1]" the column premises), or a path in the Feature ("properties.name",
 * "geometry.coordinates[0][3]"). */
static void map_field(const struct import_job *job, const char *field, char *out, size_t cap)
{
    if (field[0] == '\0') {
        out[0] = '\0';
    } else if (job->kind->columns == NULL) {
        if (strncmp(field, "shape", 5) == 0 && (field[5] == '\0' || field[5] == '.'))
            snprintf(out, cap, "geometry%.*s", LPG_JSON_FIELD_MAX, field + 5);
        else
            snprintf(out, cap, "properties.%.*s", LPG_JSON_FIELD_MAX, field);
    } else if (strcmp(field, "location") == 0) {
        snprintf(out, cap, "lon"); /* both columns missing: named by the first */
    } else {
        const char *f = strncmp(field, "location.", 9) == 0 ? field + 9 : field;
        snprintf(out, cap, "%.*s", (int)strcspn(f, "[."), f);
    }
}

/* Validates one row (obj: the create body) and, when it is accepted, adds its entity and
 * companions to the pending set. Returns 0, or -1 with err. */
static int validate_row(struct import_job *job, size_t row, json_t *obj, struct lpg_json_error *err)
{
    const struct entity_ops *ops = &entity_ops[job->kind->kind];
    struct registry *reg = job->base.s->registry;

    /* Remember the id even if the row fails below: a later row with it is still a duplicate. */
    const char *raw_id = json_string_value(json_object_get(obj, "id"));
    json_t *first = raw_id ? json_object_get(job->seen, raw_id) : NULL;
    if (raw_id && first == NULL && lpg_id_valid(raw_id) &&
        json_object_set_new(job->seen, raw_id, json_integer((json_int_t)row)) != 0)
        goto nomem;

    /* The import is for one enterprise: fill it in, or check the row names the same one. */
    json_t *ent = json_object_get(obj, "enterprise_id");
    if (ent == NULL || json_is_null(ent) ||
        (json_is_string(ent) && json_string_value(ent)[0] == '\0')) {
        if (json_object_set_new(obj, "enterprise_id", json_string(job->enterprise_id)) != 0)
            goto nomem;
    } else if (json_is_string(ent) && strcmp(json_string_value(ent), job->enterprise_id) != 0) {
        err->code = "wrong_enterprise";
        snprintf(err->field, sizeof(err->field), "enterprise_id");
        snprintf(err->message, sizeof(err->message),
                 "this import is for enterprise %s; the row names %.64s", job->enterprise_id,
                 json_string_value(ent));
        return -1;
    }

    void *e = calloc(1, ops->size);
    if (e == NULL)
        goto nomem;
    if (ops->from_json(obj, e, err) != 0) {
        free(e); /* on failure from_json holds no allocation (model_json.h) */
        return -1;
    }
    const char *id = ops->id(e);
    if (first != NULL || ops->get(reg, id) != NULL) {
        err->code = first ? "duplicate_id" : "already_exists";
        snprintf(err->field, sizeof(err->field), "id");
        if (first)
            snprintf(err->message, sizeof(err->message), "id %s is also on row %lld", id,
                     (long long)json_integer_value(first));
        else
            snprintf(err->message, sizeof(err->message),
                     "a %s with id %s exists (an import never overwrites)", ops->name, id);
        ops->destroy(e);
        return -1;
    }
    ops->stamp(e, job->now_ms);

    struct changeset cs;
    memset(&cs, 0, sizeof(cs));
    struct registry_rules_view view = {.reg = reg,
                                       .pending = pending_find,
                                       .arg = &job->pending,
                                       .device = accounts_device_lookup,
                                       .device_arg = job->base.s->accounts,
                                       .escorted_by = pending_escorted};
    if (changeset_add(&cs, ops->kind, e) != 0)
        goto nomem;
    if (registry_rules_check(&view, ops->kind, e, NULL, &cs, err) != 0) {
        changeset_discard(&cs);
        if (err->code == NULL)
            err->code = "internal";
        return -1;
    }
    /* Accepted: the row and its companions join the pending set. */
    int rc = 0;
    for (size_t i = 0; i < cs.n; i++)
        rc |= pending_put(&job->pending, cs.items[i].kind, cs.items[i].entity);
    free(cs.items); /* the entities moved to the pending set */
    if (rc != 0)
        goto nomem;
    return 0;
nomem:
    err->code = "internal";
    err->field[0] = '\0';
    snprintf(err->message, sizeof(err->message), "out of memory");
    return -1;
}

/* One row: validated and counted, its error recorded. obj is consumed. */
static void import_row(struct import_job *job, size_t row, size_t line, json_t *obj)
{
    struct lpg_json_error err;
    memset(&err, 0, sizeof(err));
    job->rows++;
    if (validate_row(job, row, obj, &err) == 0) {
        job->valid++;
    } else if (strcmp(err.code, "internal") == 0) {
        oom(job);
    } else {
        char field[LPG_JSON_FIELD_MAX + 16];
        map_field(job, err.field, field, sizeof(field));
        add_error(job, row, line, json_string_value(json_object_get(obj, "id")), err.code, field,
                  err.message);
    }
    json_decref(obj);
}

/* ---- CSV ---- */

static int csv_header(struct import_job *job, const struct csv_record *rec)
{
    const struct import_kind *k = job->kind;
    if (rec->nfields > IMPORT_MAX_COLUMNS)
        return fatal(job, REFUSAL_INVALID, "invalid_header", NULL,
                     "the header has %zu columns; at most %d", rec->nfields, IMPORT_MAX_COLUMNS);
    for (size_t i = 0; i < rec->nfields; i++) {
        const char *name = rec->fields[i];
        size_t c = 0;
        while (c < k->ncolumns && strcmp(k->columns[c].name, name) != 0)
            c++;
        if (c == k->ncolumns)
            return fatal(job, REFUSAL_INVALID, "unknown_column", name,
                         "column %.64s is not a field of %s that an import sets (see "
                         "docs/import.md)",
                         name, k->path);
        for (size_t j = 0; j < i; j++)
            if (job->col_of[j] == c)
                return fatal(job, REFUSAL_INVALID, "duplicate_column", name,
                             "column %.64s appears twice", name);
        job->col_of[i] = c;
    }
    job->ncols = rec->nfields;
    for (size_t c = 0; c < k->ncolumns; c++) {
        size_t i = 0;
        while (i < job->ncols && job->col_of[i] != c)
            i++;
        if (k->columns[c].required && i == job->ncols)
            return fatal(job, REFUSAL_INVALID, "missing_column", k->columns[c].name,
                         "the header has no column %s, which every %s needs", k->columns[c].name,
                         entity_ops[k->kind].name);
    }
    job->header_done = 1;
    return 0;
}

/* An integer cell: optional sign, digits. */
static int parse_int(const char *s, long long *out)
{
    const char *p = s + (*s == '-' || *s == '+');
    if (!isdigit((unsigned char)*p))
        return -1;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

/* A decimal number cell (degrees): no hex, no inf/nan, no surrounding spaces. */
static int parse_number(const char *s, double *out)
{
    if (strpbrk(s, "xXnNiI") != NULL || isspace((unsigned char)*s))
        return -1;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (errno != 0 || *end != '\0' || end == s || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

/* "a; b;;c" -> ["a","b","c"]; spaces around items are dropped, empty items skipped. */
static json_t *parse_list(const char *s)
{
    const char *all = s;
    json_t *arr = json_array();
    while (arr && *s) {
        size_t n = strcspn(s, ";");
        const char *a = s, *b = s + n;
        while (a < b && isspace((unsigned char)*a))
            a++;
        while (b > a && isspace((unsigned char)b[-1]))
            b--;
        if (b > a && (json_array_size(arr) == IMPORT_MAX_LIST ||
                      json_array_append_new(arr, json_stringn(a, (size_t)(b - a))) != 0)) {
            /* over the cap: hand the model the text, which it refuses as not a list */
            json_decref(arr);
            return json_string(all);
        }
        s += n + (s[n] == ';');
    }
    return arr;
}

/* The create body of one CSV row, or NULL on out-of-memory. */
static json_t *csv_row_object(struct import_job *job, const struct csv_record *rec)
{
    json_t *obj = json_object();
    json_t *loc = NULL;
    for (size_t i = 0; obj && i < rec->nfields; i++) {
        const char *cell = rec->fields[i];
        if (rec->lens[i] == 0)
            continue; /* empty: absent */
        const struct import_column *col = &job->kind->columns[job->col_of[i]];
        json_t *v = NULL;
        long long iv;
        double dv;
        switch (col->type) {
        case COL_STRING:
            v = json_stringn(cell, rec->lens[i]);
            break;
        case COL_INT:
            v = parse_int(cell, &iv) == 0 ? json_integer(iv) : json_string(cell);
            break;
        case COL_BOOL:
            v = strcasecmp(cell, "true") == 0    ? json_true()
                : strcasecmp(cell, "false") == 0 ? json_false()
                                                 : json_string(cell);
            break;
        case COL_LIST:
            v = parse_list(cell);
            break;
        case COL_LON:
        case COL_LAT:
            /* The two columns make one location object {"lon":..,"lat":..}. */
            if (loc == NULL) {
                loc = json_object();
                if (loc == NULL || json_object_set_new(obj, "location", loc) != 0) {
                    loc = NULL;
                    break; /* v stays NULL: out of memory */
                }
            }
            v = parse_number(cell, &dv) == 0 ? json_real(dv) : json_string(cell);
            if (v && json_object_set_new(loc, col->type == COL_LON ? "lon" : "lat", v) == 0)
                continue;
            v = NULL; /* set_new released it */
            break;
        }
        if (v == NULL || json_object_set_new(obj, col->name, v) != 0) {
            json_decref(obj);
            obj = NULL;
        }
    }
    return obj;
}

static int on_csv_record(void *arg, const struct csv_record *rec)
{
    struct import_job *job = arg;
    if (!job->header_done)
        return csv_header(job, rec) != 0;
    size_t row = rec->index - 1;
    if (rec->nfields != job->ncols) {
        char msg[128];
        snprintf(msg, sizeof(msg), "the row has %zu cells; the header has %zu columns",
                 rec->nfields, job->ncols);
        job->rows++;
        size_t id_col = 0;
        while (id_col < job->ncols && job->col_of[id_col] != 0)
            id_col++; /* the column of "id" (required, so present) */
        add_error(job, row, rec->line, id_col < rec->nfields ? rec->fields[id_col] : NULL,
                  "wrong_cell_count", NULL, msg);
        return job->fatal.kind != REFUSAL_NONE;
    }
    json_t *obj = csv_row_object(job, rec);
    if (obj == NULL)
        return oom(job) != 0;
    import_row(job, row, rec->line, obj);
    return job->fatal.kind != REFUSAL_NONE;
}

static void import_csv(struct import_job *job)
{
    struct csv_limits lim = {IMPORT_MAX_CELL, IMPORT_MAX_COLUMNS + 1, IMPORT_MAX_ROWS + 1};
    char err[CSV_ERRSTR_SIZE];
    int rc = csv_parse(job->body, job->body_len, &lim, on_csv_record, job, err, sizeof(err));
    if (job->fatal.kind != REFUSAL_NONE)
        return;
    if (rc == CSV_ERR_TOO_MANY_RECORDS)
        fatal(job, REFUSAL_TOO_LARGE, "too_many_rows", NULL,
              "more than %d rows in one import; split the file (docs/import.md)", IMPORT_MAX_ROWS);
    else if (rc == CSV_ERR_TOO_MANY_COLUMNS)
        fatal(job, REFUSAL_INVALID, "invalid_csv", NULL, "%s", err);
    else if (rc == CSV_ERR_NOMEM)
        oom(job);
    else if (rc < 0)
        fatal(job, REFUSAL_INVALID, "invalid_csv", NULL, "%s", err);
    else if (!job->header_done)
        fatal(job, REFUSAL_INVALID, "invalid_csv", NULL,
              "the body is empty: expected a header row");
}

/* ---- GeoJSON ---- */

static void import_geojson(struct import_job *job)
{
    json_error_t jerr;
    json_t *fc = json_loadb(job->body, job->body_len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *features = json_object_get(fc, "features");
    const char *type = json_string_value(json_object_get(fc, "type"));
    if (fc == NULL) {
        fatal(job, REFUSAL_INVALID, "invalid_json", NULL,
              "the body is not valid JSON: %s (line %d, column %d)", jerr.text, jerr.line,
              jerr.column);
        return;
    }
    if (type == NULL || strcmp(type, "FeatureCollection") != 0 || !json_is_array(features)) {
        fatal(job, REFUSAL_INVALID, "invalid_geojson", NULL,
              "the body must be a GeoJSON FeatureCollection (RFC 7946) with a features array");
        json_decref(fc);
        return;
    }
    if (json_array_size(features) > IMPORT_MAX_ROWS) {
        fatal(job, REFUSAL_TOO_LARGE, "too_many_rows", NULL,
              "%zu features in one import; at most %d: split the collection",
              json_array_size(features), IMPORT_MAX_ROWS);
        json_decref(fc);
        return;
    }
    size_t i;
    json_t *f;
    json_array_foreach(features, i, f)
    {
        size_t row = i + 1;
        json_t *props = json_object_get(f, "properties");
        json_t *fid = json_object_get(f, "id"); /* RFC 7946 §3.2: the Feature's own id */
        const char *id = json_string_value(json_object_get(props, "id"));
        if (id == NULL)
            id = json_string_value(fid);
        const char *ftype = json_string_value(json_object_get(f, "type"));
        if (ftype == NULL || strcmp(ftype, "Feature") != 0 ||
            !(props == NULL || json_is_null(props) || json_is_object(props))) {
            job->rows++;
            add_error(job, row, 0, id, "invalid_feature", NULL,
                      "not a GeoJSON Feature with an object of properties");
            continue;
        }
        if (json_object_get(props, "shape") != NULL) {
            job->rows++;
            add_error(job, row, 0, id, "invalid_field", "properties.shape",
                      "a zone's shape is the Feature's geometry, not a property");
            continue;
        }
        json_t *obj = json_is_object(props) ? json_copy(props) : json_object();
        if (obj && json_object_get(obj, "id") == NULL && json_is_string(fid))
            json_object_set(obj, "id", fid);
        json_t *geom = json_object_get(f, "geometry");
        if (obj && geom && !json_is_null(geom))
            json_object_set(obj, "shape", geom);
        if (obj == NULL) {
            oom(job);
            break;
        }
        import_row(job, row, 0, obj);
        if (job->fatal.kind != REFUSAL_NONE)
            break;
    }
    json_decref(fc);
}

/* ---- commit ---- */

static double monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static json_t *report(const struct import_job *job, int imported)
{
    json_t *body =
        json_pack("{s:s, s:I, s:I, s:I, s:I, s:b, s:I, s:O}", "kind", job->kind->path, "rows",
                  (json_int_t)job->rows, "valid", (json_int_t)job->valid, "imported",
                  (json_int_t)(imported ? job->valid : 0), "skipped",
                  (json_int_t)(job->skip_errors ? job->error_count : 0), "dry_run", job->dry_run,
                  "error_count", (json_int_t)job->error_count, "errors", job->errors);
    return body;
}

static void import_failed(struct usecase_job *base, const struct usecase_failure *f)
{
    struct import_job *job = (struct import_job *)base;
    if (!f->cancelled) /* shutdown: dropped with its caller's connection */
        job->done(job->arg, NULL, 0, f->refusal);
}

static void on_imported(struct usecase_job *base)
{
    struct import_job *job = (struct import_job *)base;
    int rc = 0;
    for (size_t i = 0; i < job->pending.n; i++) {
        struct pending_item *it = &job->pending.items[i];
        rc |= entity_ops[it->kind].put(job->base.s->registry, it->entity); /* ownership moves */
        it->entity = NULL;
    }
    if (rc != 0)
        log_error("out of memory applying an import to the registry");
    double now = monotonic_ms();
    log_info("import of %s into %s by %s: %zu rows, %zu imported, %zu skipped (validated in "
             "%.0f ms, stored in %.0f ms)",
             job->kind->path, job->enterprise_id, job->user, job->rows, job->valid,
             job->error_count, job->validated_ms - job->started_ms, now - job->validated_ms);
    job->done(job->arg, report(job, 1), 0, NULL);
    /* Zones and vehicles decide the limits a terminal enforces (app/vehicle_thresholds.h;
     * jt808/ pushes them again where they changed: one coalesced pass, however many rows). */
    if (job->valid > 0 && (job->kind->kind == RS_ZONE || job->kind->kind == RS_VEHICLE)) {
        struct service_event ev = {.kind = EV_LIMITS_CHANGED, .enterprise_id = job->enterprise_id};
        event_bus_publish(job->base.s->bus, &ev);
    }
    /* New staff, vehicles and customers may let waiting orders go. */
    dispatcher_rematch(job->base.s);
}

/* Every pending entity as SET + SADD in one transaction. */
static struct store_txn *build_txn(struct import_job *job)
{
    struct store_txn *txn = store_txn_new();
    for (size_t i = 0; txn && i < job->pending.n; i++) {
        const struct entity_ops *ops = &entity_ops[job->pending.items[i].kind];
        const void *e = job->pending.items[i].entity;
        json_t *j = ops->to_json(e);
        char *text = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(12)) : NULL;
        json_decref(j);
        int rc = text ? registry_store_save(job->base.s->store, txn, ops->kind, ops->id(e), text,
                                            strlen(text))
                      : -1;
        free(text);
        if (rc != 0) {
            store_txn_free(txn);
            txn = NULL;
        }
    }
    return txn;
}

static void run_import(struct usecase_job *base)
{
    struct import_job *job = (struct import_job *)base;
    if (registry_enterprise(job->base.s->registry, job->enterprise_id) == NULL) {
        usecase_job_refuse(&job->base, REFUSAL_RULE, "unknown_reference", "enterprise_id",
                           "no enterprise with id %s", job->enterprise_id);
        return;
    }
    job->now_ms = lpg_now_ms();
    job->started_ms = monotonic_ms();
    if (job->kind->columns)
        import_csv(job);
    else
        import_geojson(job);

    if (job->fatal.kind != REFUSAL_NONE) {
        usecase_job_refused(&job->base, &job->fatal);
        return;
    }
    int refused = job->error_count > 0 && !job->skip_errors;
    if (refused || job->dry_run || job->valid == 0) {
        log_info("import of %s into %s by %s: %zu rows, %zu valid, %zu errors, %s", job->kind->path,
                 job->enterprise_id, job->user, job->rows, job->valid, job->error_count,
                 refused        ? "nothing imported"
                 : job->dry_run ? "dry run"
                                : "nothing to import");
        job->done(job->arg, report(job, 0), refused, NULL);
        usecase_job_end(&job->base);
        return;
    }
    job->validated_ms = monotonic_ms();
    struct store_txn *txn = build_txn(job);
    if (txn == NULL) {
        usecase_job_out_of_memory(&job->base);
        return;
    }
    usecase_job_commit(&job->base, txn);
}

static const struct usecase_job_ops import_job_ops = {
    .store_refused = "the store refused the import",
    .run = run_import,
    .applied = on_imported,
    .failed = import_failed,
    .free = import_job_free,
};

/* ---- the use case ---- */

const struct import_kind *import_kind_find(const char *path)
{
    for (size_t i = 0; path && i < N(import_kinds); i++)
        if (strcmp(import_kinds[i].path, path) == 0)
            return &import_kinds[i];
    return NULL;
}

int import_kind_is_csv(const struct import_kind *k)
{
    return k->columns != NULL;
}

int import_submit(struct service *s, const struct auth_principal *p, const struct import_kind *k,
                  const char *enterprise_id, int skip_errors, int dry_run, char *body,
                  size_t body_len, import_done_fn *done, void *arg, struct refusal *r)
{
    if (refuse_unless_allowed(r, p, AUTH_WRITE, enterprise_id) != 0) {
        free(body);
        return -1;
    }
    struct import_job *job = calloc(1, sizeof(*job));
    if (job) {
        job->errors = json_array();
        job->seen = json_object();
    }
    if (job == NULL || body == NULL || job->errors == NULL || job->seen == NULL) {
        if (job)
            import_job_free(&job->base); /* frees nothing of body yet */
        free(body);
        return refuse(r, REFUSAL_INTERNAL, "internal", NULL, "out of memory");
    }
    job->body = body;
    job->body_len = body_len;
    usecase_job_init(&job->base, &import_job_ops, s);
    job->done = done;
    job->arg = arg;
    job->kind = k;
    job->skip_errors = skip_errors;
    job->dry_run = dry_run;
    snprintf(job->enterprise_id, sizeof(job->enterprise_id), "%s", enterprise_id);
    snprintf(job->user, sizeof(job->user), "%s", p->user);
    if (usecase_job_submit(&job->base) != 0) {
        usecase_job_discard(&job->base);
        return refuse(r, REFUSAL_INTERNAL, "internal", NULL, "out of memory");
    }
    return 0;
}
