/*
 * fuzz_model_json.c - libFuzzer target for every entity's JSON (dispatch/core/model_json.c): client
 * input (lpg_json_to_*), stored records (lpg_json_load_*), partial updates (lpg_json_patch_*),
 * order events and RFC 3339 instants.
 *
 * Input: 1 byte choosing the decoder, then the JSON text (or, for instants, the string).
 * Whatever a decoder accepts must come back out: the entity is written (lpg_json_from_*), read
 * back as a stored record (lpg_json_load_*), and written again; the two outputs must be equal
 * (what the store writes, it reads back identically). An instant that parses must format and
 * parse back to the same value. Any mismatch aborts with both texts on stderr.
 */
#include "core/model_json.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef int parse_fn(const json_t *in, void *out, struct lpg_json_error *err);
typedef json_t *write_fn(const void *e);

struct kind {
    const char *name;
    size_t size;
    parse_fn *to;    /* client input; NULL: none */
    parse_fn *load;  /* stored record */
    parse_fn *patch; /* NULL: none */
    write_fn *from;
    int has_geometry; /* 1: enterprise area, 2: zone shape */
    const char *base; /* the record a patch applies to */
};

#define AREA                                                                                       \
    "{\"type\":\"Polygon\",\"coordinates\":[[[119.0,49.0],[120.5,49.0],[120.5,49.5],[119.0,49.5]," \
    "[119.0,49.0]]]}"

static const struct kind kinds[] = {
    {"enterprise", sizeof(struct lpg_enterprise), (parse_fn *)lpg_json_to_enterprise,
     (parse_fn *)lpg_json_load_enterprise, NULL, (write_fn *)lpg_json_from_enterprise, 1, NULL},
    {"zone", sizeof(struct lpg_zone), (parse_fn *)lpg_json_to_zone, (parse_fn *)lpg_json_load_zone,
     NULL, (write_fn *)lpg_json_from_zone, 2, NULL},
    {"staff", sizeof(struct lpg_staff), (parse_fn *)lpg_json_to_staff,
     (parse_fn *)lpg_json_load_staff, (parse_fn *)lpg_json_patch_staff,
     (write_fn *)lpg_json_from_staff, 0,
     "{\"id\":\"S1\",\"enterprise_id\":\"E1\",\"name\":\"Li Si\",\"role\":\"delivery\","
     "\"vehicle_id\":\"V1\",\"device_id\":\"D1\",\"zone_id\":\"Z1\",\"on_duty\":true}"},
    {"vehicle", sizeof(struct lpg_vehicle), (parse_fn *)lpg_json_to_vehicle,
     (parse_fn *)lpg_json_load_vehicle, (parse_fn *)lpg_json_patch_vehicle,
     (write_fn *)lpg_json_from_vehicle, 0,
     "{\"id\":\"V1\",\"enterprise_id\":\"E1\",\"plate\":\"MB12345\",\"kind\":\"truck\","
     "\"capacity\":40,\"staff_id\":\"S1\",\"permit_expiry\":\"2027-01-01\"}"},
    {"customer", sizeof(struct lpg_customer), (parse_fn *)lpg_json_to_customer,
     (parse_fn *)lpg_json_load_customer, (parse_fn *)lpg_json_patch_customer,
     (write_fn *)lpg_json_from_customer, 0,
     "{\"id\":\"C1\",\"enterprise_id\":\"E1\",\"name\":\"Wang Wu\",\"kind\":\"restaurant\","
     "\"location\":{\"lon\":119.7,\"lat\":49.2},\"premises\":[\"underground\"]}"},
    {"order", sizeof(struct lpg_order), (parse_fn *)lpg_json_to_order,
     (parse_fn *)lpg_json_load_order, NULL, (write_fn *)lpg_json_from_order, 0, NULL},
    {"cylinder", sizeof(struct lpg_cylinder), (parse_fn *)lpg_json_to_cylinder,
     (parse_fn *)lpg_json_load_cylinder, (parse_fn *)lpg_json_patch_cylinder,
     (write_fn *)lpg_json_from_cylinder, 0,
     "{\"id\":\"CY1\",\"enterprise_id\":\"E1\",\"spec\":\"YSP-12\",\"manufactured\":\"2024-01-01\","
     "\"serial\":\"SN1\"}"},
    {"hazard", sizeof(struct lpg_hazard), NULL, (parse_fn *)lpg_json_load_hazard, NULL,
     (write_fn *)lpg_json_from_hazard, 0, NULL},
    {"order_event", sizeof(struct order_event), NULL, (parse_fn *)lpg_json_to_order_event, NULL,
     (write_fn *)lpg_json_from_order_event, 0, NULL},
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

static void release(const struct kind *k, void *e)
{
    if (k->has_geometry == 1)
        lpg_geometry_free(&((struct lpg_enterprise *)e)->area);
    else if (k->has_geometry == 2)
        lpg_geometry_free(&((struct lpg_zone *)e)->shape);
}

static void check_err(const struct lpg_json_error *err)
{
    /* Every refusal has a code and a message people can read. */
    if (err->code == NULL || err->message[0] == '\0' ||
        strnlen(err->field, sizeof(err->field)) == sizeof(err->field) ||
        strnlen(err->message, sizeof(err->message)) == sizeof(err->message))
        abort();
}

/* e was accepted: it must be written, read back as a record and written identically. */
static void round_trip(const struct kind *k, void *e)
{
    json_t *a = k->from(e);
    if (a == NULL)
        abort();
    void *e2 = calloc(1, k->size);
    struct lpg_json_error err;
    memset(&err, 0, sizeof(err));
    if (e2 == NULL)
        abort();
    /* Through text, as the store does it. */
    char *text = json_dumps(a, JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_t *a2 = text ? json_loads(text, 0, NULL) : NULL;
    if (a2 == NULL || k->load(a2, e2, &err) != 0) {
        fprintf(stderr, "%s written as %s does not load back: %s %s %s\n", k->name,
                text ? text : "(null)", err.code, err.field, err.message);
        abort();
    }
    json_t *b = k->from(e2);
    if (b == NULL || !json_equal(a, b)) {
        char *tb = b ? json_dumps(b, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
        fprintf(stderr, "%s round trip differs:\n  %s\n  %s\n", k->name, text, tb ? tb : "");
        abort();
    }
    release(k, e2);
    free(e2);
    free(text);
    json_decref(a);
    json_decref(a2);
    json_decref(b);
}

static void fuzz_instant(const uint8_t *data, size_t size)
{
    char s[128];
    if (size >= sizeof(s))
        return;
    memcpy(s, data, size);
    s[size] = '\0';
    int64_t ms;
    if (lpg_json_instant_parse(s, &ms) != 0)
        return;
    char out[LPG_JSON_INSTANT_LEN + 1];
    int64_t back;
    lpg_json_instant_format(ms, out);
    if (strlen(out) != LPG_JSON_INSTANT_LEN || lpg_json_instant_parse(out, &back) != 0 ||
        back != ms) {
        fprintf(stderr, "instant %s -> %lld -> %s does not read back\n", s, (long long)ms, out);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t sel = data[0];
    data++;
    size--;
    if (sel == 0xff) {
        fuzz_instant(data, size);
        return 0;
    }
    const struct kind *k = &kinds[(sel >> 2) % NKINDS];
    int mode = sel & 3; /* 0 to, 1 load, 2 patch, 3 to */
    parse_fn *fn = mode == 1 ? k->load : mode == 2 ? k->patch : k->to;
    if (fn == NULL)
        fn = k->load;

    json_t *in = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (in == NULL)
        return 0;
    void *e = calloc(1, k->size);
    struct lpg_json_error err;
    memset(&err, 0, sizeof(err));
    if (e == NULL)
        abort();
    if (fn == k->patch) {
        json_t *base = json_loads(k->base, 0, NULL);
        if (base == NULL || k->load(base, e, &err) != 0) {
            fprintf(stderr, "base %s: %s %s %s\n", k->name, err.code, err.field, err.message);
            abort(); /* the harness's own record */
        }
        json_decref(base);
    }
    if (fn(in, e, &err) == 0) {
        round_trip(k, e);
        release(k, e);
    } else {
        check_err(&err);
        if (fn == k->patch)
            release(k, e); /* the base record is unchanged and still owned */
    }
    free(e);
    json_decref(in);
    return 0;
}
