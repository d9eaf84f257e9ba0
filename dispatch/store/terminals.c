/* terminals.c -- the terminal table and its persistence (terminals.h). */
#include "store/terminals.h"

#include "store/keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define TT_MIN_BUCKETS 64u /* a power of two; the table doubles once it holds as many */

struct tnode {
    struct tnode *next_id;      /* chain of the id index (by significant digits) */
    struct tnode *next_vehicle; /* chain of the vehicle index */
    struct terminal_record rec;
};

/* An array of the nodes, sorted by its order once `sorted` equals n (appends leave it
 * unsorted; the next listing sorts). */
struct tarray {
    struct tnode **v;
    size_t n, cap;
    int sorted;
};

struct terminal_table {
    struct tnode **by_id, **by_vehicle;
    size_t nb; /* buckets of each index */
    size_t n;
    struct tarray by_enterprise; /* (enterprise_id, id) */
    struct tarray all;           /* id */
};

static size_t hash_of(const char *s)
{
    size_t h = 1469598103934665603ull; /* FNV-1a, 64 bits */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* The id's key in the index: its significant digits; "" for an id that has none (never found:
 * a valid stored id always has some). */
static const char *id_key(const char *id)
{
    const char *k = terminal_id_significant(id);
    return k ? k : "";
}

struct terminal_table *terminal_table_new(void)
{
    struct terminal_table *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->nb = TT_MIN_BUCKETS;
    t->by_id = calloc(t->nb, sizeof(*t->by_id));
    t->by_vehicle = calloc(t->nb, sizeof(*t->by_vehicle));
    if (t->by_id == NULL || t->by_vehicle == NULL) {
        terminal_table_free(t);
        return NULL;
    }
    return t;
}

void terminal_table_free(struct terminal_table *t)
{
    if (t == NULL)
        return;
    for (size_t b = 0; t->by_id && b < t->nb; b++)
        for (struct tnode *n = t->by_id[b], *next; n; n = next) {
            next = n->next_id;
            free(n);
        }
    free(t->by_id);
    free(t->by_vehicle);
    free(t->by_enterprise.v);
    free(t->all.v);
    free(t);
}

size_t terminal_table_count(const struct terminal_table *t)
{
    return t->n;
}

static struct tnode *find_id(const struct terminal_table *t, const char *key)
{
    for (struct tnode *n = t->by_id[hash_of(key) & (t->nb - 1)]; n; n = n->next_id)
        if (strcmp(id_key(n->rec.id), key) == 0)
            return n;
    return NULL;
}

const struct terminal_record *terminal_table_get(const struct terminal_table *t, const char *id)
{
    const char *key = terminal_id_significant(id);
    struct tnode *n = key ? find_id(t, key) : NULL;
    return n ? &n->rec : NULL;
}

const struct terminal_record *terminal_table_by_vehicle(const struct terminal_table *t,
                                                        const char *vehicle_id)
{
    if (vehicle_id == NULL)
        return NULL;
    for (struct tnode *n = t->by_vehicle[hash_of(vehicle_id) & (t->nb - 1)]; n; n = n->next_vehicle)
        if (strcmp(n->rec.vehicle_id, vehicle_id) == 0)
            return &n->rec;
    return NULL;
}

static void link_vehicle(struct terminal_table *t, struct tnode *n)
{
    size_t b = hash_of(n->rec.vehicle_id) & (t->nb - 1);
    n->next_vehicle = t->by_vehicle[b];
    t->by_vehicle[b] = n;
}

static void unlink_vehicle(struct terminal_table *t, struct tnode *n)
{
    for (struct tnode **pp = &t->by_vehicle[hash_of(n->rec.vehicle_id) & (t->nb - 1)]; *pp;
         pp = &(*pp)->next_vehicle)
        if (*pp == n) {
            *pp = n->next_vehicle;
            return;
        }
}

/* Doubles both indexes. On out of memory the table keeps its size (chains get longer; still
 * correct). */
static void grow(struct terminal_table *t)
{
    size_t nb = t->nb * 2;
    struct tnode **by_id = calloc(nb, sizeof(*by_id)), **by_vehicle = calloc(nb, sizeof(*by_id));
    if (by_id == NULL || by_vehicle == NULL) {
        free(by_id);
        free(by_vehicle);
        return;
    }
    for (size_t b = 0; b < t->nb; b++)
        for (struct tnode *n = t->by_id[b], *next; n; n = next) {
            next = n->next_id;
            size_t i = hash_of(id_key(n->rec.id)) & (nb - 1);
            n->next_id = by_id[i];
            by_id[i] = n;
            size_t v = hash_of(n->rec.vehicle_id) & (nb - 1);
            n->next_vehicle = by_vehicle[v];
            by_vehicle[v] = n;
        }
    free(t->by_id);
    free(t->by_vehicle);
    t->by_id = by_id;
    t->by_vehicle = by_vehicle;
    t->nb = nb;
}

static int tarray_reserve(struct tarray *a)
{
    if (a->n < a->cap)
        return 0;
    size_t cap = a->cap ? a->cap * 2 : 64;
    struct tnode **v = realloc(a->v, cap * sizeof(*v));
    if (v == NULL)
        return -1;
    a->v = v;
    a->cap = cap;
    return 0;
}

static void tarray_remove(struct tarray *a, const struct tnode *n)
{
    for (size_t i = 0; i < a->n; i++)
        if (a->v[i] == n) {
            /* memmove keeps a sorted array sorted. */
            memmove(&a->v[i], &a->v[i + 1], (a->n - i - 1) * sizeof(*a->v));
            a->n--;
            return;
        }
}

int terminal_table_put(struct terminal_table *t, const struct terminal_record *rec)
{
    const char *key = terminal_id_significant(rec->id);
    if (key == NULL)
        return -1;
    struct tnode *n = find_id(t, key);
    if (n) {
        if (strcmp(n->rec.vehicle_id, rec->vehicle_id) != 0) {
            unlink_vehicle(t, n);
            n->rec = *rec;
            link_vehicle(t, n);
        } else {
            n->rec = *rec;
        }
        /* The sort keys (enterprise, id as written) may have changed. */
        t->by_enterprise.sorted = t->all.sorted = 0;
        return 0;
    }
    if (tarray_reserve(&t->by_enterprise) != 0 || tarray_reserve(&t->all) != 0)
        return -1;
    n = calloc(1, sizeof(*n));
    if (n == NULL)
        return -1;
    n->rec = *rec;
    if (t->n >= t->nb)
        grow(t);
    size_t b = hash_of(key) & (t->nb - 1);
    n->next_id = t->by_id[b];
    t->by_id[b] = n;
    link_vehicle(t, n);
    t->by_enterprise.v[t->by_enterprise.n++] = n;
    t->all.v[t->all.n++] = n;
    t->by_enterprise.sorted = t->all.sorted = 0;
    t->n++;
    return 0;
}

void terminal_table_remove(struct terminal_table *t, const char *id)
{
    const char *key = terminal_id_significant(id);
    if (key == NULL)
        return;
    for (struct tnode **pp = &t->by_id[hash_of(key) & (t->nb - 1)]; *pp; pp = &(*pp)->next_id) {
        struct tnode *n = *pp;
        if (strcmp(id_key(n->rec.id), key) != 0)
            continue;
        *pp = n->next_id;
        unlink_vehicle(t, n);
        tarray_remove(&t->by_enterprise, n);
        tarray_remove(&t->all, n);
        free(n);
        t->n--;
        return;
    }
}

static int cmp_by_enterprise(const void *a, const void *b)
{
    const struct terminal_record *x = &(*(struct tnode *const *)a)->rec;
    const struct terminal_record *y = &(*(struct tnode *const *)b)->rec;
    int c = strcmp(x->enterprise_id, y->enterprise_id);
    return c ? c : strcmp(x->id, y->id);
}

static int cmp_by_id(const void *a, const void *b)
{
    return strcmp((*(struct tnode *const *)a)->rec.id, (*(struct tnode *const *)b)->rec.id);
}

size_t terminal_table_list(struct terminal_table *t, const char *enterprise_id, const char *after,
                           size_t limit, const struct terminal_record **out)
{
    struct tarray *a = enterprise_id ? &t->by_enterprise : &t->all;
    if (!a->sorted) {
        qsort(a->v, a->n, sizeof(*a->v), enterprise_id ? cmp_by_enterprise : cmp_by_id);
        a->sorted = 1;
    }
    const char *floor = after ? after : "";
    /* The first entry after (enterprise_id, floor) in the array's order. */
    size_t lo = 0, hi = a->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct terminal_record *r = &a->v[mid]->rec;
        int c = enterprise_id ? strcmp(r->enterprise_id, enterprise_id) : 0;
        if (c == 0)
            c = strcmp(r->id, floor);
        if (c <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t n = 0;
    for (size_t i = lo; i < a->n && n < limit; i++) {
        if (enterprise_id && strcmp(a->v[i]->rec.enterprise_id, enterprise_id) != 0)
            break;
        out[n++] = &a->v[i]->rec;
    }
    return n;
}

/* ---- persistence ---- */

static int terminal_keys(const struct store *st, const char *id, char *key, size_t kcap, char *idx,
                         size_t icap)
{
    char rel[KEYS_REL_MAX];
    if (keys_record(rel, sizeof(rel), "terminal", id) < 0 || store_key(st, key, kcap, rel) < 0 ||
        store_key(st, idx, icap, KEYS_INDEX("terminal")) < 0)
        return -1;
    return 0;
}

int terminals_store_save(const struct store *st, struct store_txn *txn,
                         const struct terminal_record *rec)
{
    char key[256], idx[128];
    json_t *j = terminal_to_store_json(rec);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    int rc = text == NULL || terminal_keys(st, rec->id, key, sizeof(key), idx, sizeof(idx)) != 0 ||
             store_txn_addv(txn, "SET", key, text, NULL) != 0 ||
             store_txn_addv(txn, "SADD", idx, rec->id, NULL) != 0;
    free(text);
    return rc ? -1 : 0;
}

int terminals_store_delete(const struct store *st, struct store_txn *txn, const char *id)
{
    char key[256], idx[128];
    if (terminal_keys(st, id, key, sizeof(key), idx, sizeof(idx)) != 0)
        return -1;
    return store_txn_addv(txn, "DEL", key, NULL) || store_txn_addv(txn, "SREM", idx, id, NULL) ? -1
                                                                                               : 0;
}
