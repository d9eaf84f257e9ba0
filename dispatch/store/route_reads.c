/* route_reads.c -- reading positions (route_reads.h). */
#include "store/route_reads.h"

#include "core/model.h"
#include "store/keys.h"
#include "store/store.h"

#include <hiredis/hiredis.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char store_read_nomem_[] = "out of memory";

/* What a command's reply goes back to. */
struct read_job {
    union {
        route_chunk_fn *chunk;
        route_last_fn *last;
        route_nearby_fn *nearby;
    } fn;
    void *arg;
};

/* Sends argv with a copy of *proto; the reply goes to cb. */
static int send_read(struct store *st, store_reply_fn *cb, const struct read_job *proto, int argc,
                     const char **argv, const char **why)
{
    struct read_job *job = malloc(sizeof(*job));
    if (job == NULL) {
        *why = STORE_READ_NOMEM;
        return -1;
    }
    *job = *proto;
    if (store_command_argv(st, cb, job, argc, argv, NULL, why) != 0) {
        free(job);
        return -1;
    }
    return 0;
}

/* err, else Redis' error message, else STORE_READ_UNEXPECTED. */
static const char *reply_failure(const struct redisReply *reply, const char *err)
{
    const char *e = err ? err : store_reply_error(reply);
    return e ? e : STORE_READ_UNEXPECTED;
}

/* ---- chunks of a route day ---- */

/* The chunk is the array reply itself. */
size_t route_chunk_size(const struct route_chunk *c)
{
    return ((const struct redisReply *)c)->elements;
}

void route_chunk_member(const struct route_chunk *c, size_t i, struct route_member_read *m)
{
    const struct redisReply *e = ((const struct redisReply *)c)->element[i];
    memset(m, 0, sizeof(*m));
    if (e->type != REDIS_REPLY_STRING)
        return;
    m->text = e->str;
    m->len = e->len;
    m->ok = route_member_parse(e->str, e->len, &m->fix) == 0;
}

static void on_chunk(void *arg, const struct redisReply *reply, const char *err)
{
    struct read_job job = *(struct read_job *)arg;
    free(arg);
    route_chunk_fn *fn = job.fn.chunk;
    if (err || reply->type != REDIS_REPLY_ARRAY)
        fn(job.arg, NULL, reply_failure(reply, err));
    else
        fn(job.arg, (const struct route_chunk *)reply, NULL);
}

int route_read_chunk(struct store *st, const char *vehicle, int32_t utc_day, int64_t min_ms,
                     int64_t max_ms, long offset, int count, route_chunk_fn *fn, void *arg,
                     const char **why)
{
    char rel[KEYS_REL_MAX], key[256], min[24], max[24], off[24], cnt[24];
    if (keys_route_day(rel, sizeof(rel), vehicle, utc_day) < 0 ||
        store_key(st, key, sizeof(key), rel) < 0) {
        *why = "vehicle id too long for a key";
        return -1;
    }
    snprintf(min, sizeof(min), "%" PRId64, min_ms);
    snprintf(max, sizeof(max), "(%" PRId64, max_ms);
    snprintf(off, sizeof(off), "%ld", offset);
    snprintf(cnt, sizeof(cnt), "%d", count);
    const char *argv[] = {"ZRANGEBYSCORE", key, min, max, "LIMIT", off, cnt};
    struct read_job job = {.fn.chunk = fn, .arg = arg};
    return send_read(st, on_chunk, &job, 7, argv, why);
}

/* ---- the newest fix ---- */

static const char *hash_field(const struct redisReply *r, const char *name)
{
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const struct redisReply *k = r->element[i], *v = r->element[i + 1];
        if (k->type == REDIS_REPLY_STRING && v->type == REDIS_REPLY_STRING &&
            strcmp(k->str, name) == 0)
            return v->str;
    }
    return NULL;
}

static void on_last(void *arg, const struct redisReply *reply, const char *err)
{
    struct read_job job = *(struct read_job *)arg;
    free(arg);
    route_last_fn *fn = job.fn.last;
    /* Not reply_failure(): a Redis error is reported as an unexpected reply here, as always. */
    if (err || reply->type != REDIS_REPLY_ARRAY) {
        fn(job.arg, NULL, err ? err : STORE_READ_UNEXPECTED);
        return;
    }
    struct route_last last;
    memset(&last, 0, sizeof(last));
    const char *t = hash_field(reply, "time_ms"), *lat = hash_field(reply, "lat_e7"),
               *lon = hash_field(reply, "lon_e7"), *sp = hash_field(reply, "speed_cm_s"),
               *seq = hash_field(reply, "seq"), *vd = hash_field(reply, "vehicle_data");
    if (t && lat && lon && seq && route_parse_i64(t, strlen(t), &last.time_ms) == 0 &&
        route_parse_i64(lat, strlen(lat), &last.lat_e7) == 0 &&
        route_parse_i64(lon, strlen(lon), &last.lon_e7) == 0 &&
        route_parse_i64(seq, strlen(seq), &last.seq) == 0) {
        last.has_fix = 1;
        if (sp)
            route_parse_opt(sp, strlen(sp), &last.has_speed, &last.speed_cm_s);
        /* "-" (or missing, before terminals reported) when the newest fix had none. */
        last.has_vd = vd && route_vd_parse(vd, strlen(vd), &last.vd) == 0;
    }
    fn(job.arg, &last, NULL);
}

int route_read_last(struct store *st, const char *vehicle, route_last_fn *fn, void *arg,
                    const char **why)
{
    char rel[KEYS_REL_MAX], key[256];
    if (keys_vehicle_last(rel, sizeof(rel), vehicle) < 0 ||
        store_key(st, key, sizeof(key), rel) < 0) {
        *why = "vehicle id too long for a key";
        return -1;
    }
    const char *argv[] = {"HGETALL", key};
    struct read_job job = {.fn.last = fn, .arg = arg};
    return send_read(st, on_last, &job, 2, argv, why);
}

/* ---- vehicles near a point ---- */

size_t route_nearby_size(const struct route_nearby_list *l)
{
    return ((const struct redisReply *)l)->elements;
}

int route_nearby_get(const struct route_nearby_list *l, size_t i, struct route_nearby *out)
{
    /* [name, dist, [lon, lat]] (WITHDIST WITHCOORD) */
    const struct redisReply *e = ((const struct redisReply *)l)->element[i];
    if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
        e->element[0]->type != REDIS_REPLY_STRING || e->element[2]->type != REDIS_REPLY_ARRAY ||
        e->element[2]->elements < 2)
        return -1;
    const struct redisReply *dist = e->element[1], *lon = e->element[2]->element[0],
                            *lat = e->element[2]->element[1];
    out->vehicle_id = e->element[0]->str;
    out->distance_m = dist->type == REDIS_REPLY_STRING ? strtod(dist->str, NULL) : 0;
    out->lon = lon->type == REDIS_REPLY_STRING ? strtod(lon->str, NULL) : 0;
    out->lat = lat->type == REDIS_REPLY_STRING ? strtod(lat->str, NULL) : 0;
    return 0;
}

static void on_nearest(void *arg, const struct redisReply *reply, const char *err)
{
    struct read_job job = *(struct read_job *)arg;
    free(arg);
    route_nearby_fn *fn = job.fn.nearby;
    if (err || reply->type != REDIS_REPLY_ARRAY)
        fn(job.arg, NULL, reply_failure(reply, err));
    else
        fn(job.arg, (const struct route_nearby_list *)reply, NULL);
}

int route_read_nearest(struct store *st, double lon, double lat, double radius_m, int count,
                       route_nearby_fn *fn, void *arg, const char **why)
{
    char key[256], slon[32], slat[32], srad[32], scount[16];
    store_key(st, key, sizeof(key), KEYS_GEO_VEHICLES);
    snprintf(slon, sizeof(slon), "%.7f", lon);
    snprintf(slat, sizeof(slat), "%.7f", lat);
    snprintf(srad, sizeof(srad), "%.3f", radius_m);
    snprintf(scount, sizeof(scount), "%d", count);
    const char *argv[] = {"GEOSEARCH", key,   "FROMLONLAT", slon,        slat,    "BYRADIUS", srad,
                          "m",         "ASC", "WITHDIST",   "WITHCOORD", "COUNT", scount};
    struct read_job job = {.fn.nearby = fn, .arg = arg};
    return send_read(st, on_nearest, &job, count > 0 ? 13 : 11, argv, why);
}

/* ---- depot departures and arrivals ---- */

struct depot_read {
    route_depot_fn *fn;
    void *arg;
};

static void on_depot(void *arg, const struct redisReply *reply, const char *err)
{
    struct depot_read *rd = arg;
    json_t *out = NULL;
    if (err == NULL && reply->type != REDIS_REPLY_ARRAY)
        err = "unexpected reply";
    if (err == NULL && (out = json_array()) == NULL)
        err = "out of memory";
    for (size_t i = 0; err == NULL && i < reply->elements; i++) {
        const struct redisReply *e = reply->element[i];
        json_t *j = e->type == REDIS_REPLY_STRING ? json_loadb(e->str, e->len, 0, NULL) : NULL;
        if (j)
            json_array_append_new(out, j); /* a damaged record is left out */
    }
    if (err) {
        json_decref(out);
        out = NULL;
    }
    rd->fn(rd->arg, out, err);
    free(rd);
}

int route_read_depot(struct store *st, const char *vehicle, int64_t from_ms, int64_t to_ms,
                     route_depot_fn *fn, void *arg, const char **why)
{
    char rel[LPG_ID_MAX + 32], key[256], lo[24], hi[32], max[16];
    if (keys_vehicle_depot(rel, sizeof(rel), vehicle) < 0 ||
        store_key(st, key, sizeof(key), rel) < 0) {
        *why = "key too long";
        return -1;
    }
    snprintf(lo, sizeof(lo), "%" PRId64, from_ms);
    snprintf(hi, sizeof(hi), "(%" PRId64, to_ms);
    snprintf(max, sizeof(max), "%d", ROUTE_DEPOT_MAX);
    struct depot_read *rd = malloc(sizeof(*rd));
    if (rd == NULL) {
        *why = "out of memory";
        return -1;
    }
    rd->fn = fn;
    rd->arg = arg;
    const char *argv[] = {"ZRANGEBYSCORE", key, lo, hi, "LIMIT", "0", max};
    if (store_command_argv(st, on_depot, rd, 7, argv, NULL, why) != 0) {
        free(rd);
        return -1;
    }
    return 0;
}
