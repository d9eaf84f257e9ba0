/* registry.c -- the in-memory registry (registry.h): every entity by id, ordered listings by id
 * and by (enterprise, id), staff by zone, the zone index, the waiting orders and the derived
 * load counters. Pure: no I/O.
 *
 * Structures
 *   - Each entity lives in a `struct slot` (one per id, stable for the id's life in the registry;
 *     a put that replaces an entity only swaps slot->obj). Every index points at slots, so a
 *     replace never has to find and rewrite index entries.
 *   - struct idmap: open addressing, linear probing, FNV-1a 64 string hash kept per entry,
 *     backward-shift deletion (no tombstones), load factor <= 3/4.
 *   - struct slist: an array of slots sorted lazily. Inserts append to an unsorted tail (O(1));
 *     the first read (list, remove) after inserts sorts the tail (k log k) and merges it into the
 *     sorted head (O(n), one memmove-like pass). Why: loading 100,000 customers or orders from
 *     Redis arrives in hash order, where keeping the array sorted on every insert costs a
 *     ~400 KB memmove per insert (seconds in total); with the lazy tail it is one sort. In steady
 *     state (a few new orders between two listings) a listing pays one O(n) merge (~100 us for
 *     100,000 entries) and then O(log n + limit). A balanced tree would make every operation
 *     O(log n) but costs a node per entity and pointer chasing on every page; paging by id is
 *     a binary search plus a contiguous scan here. Removal (rare: no order is ever removed) is a
 *     binary search and a memmove.
 *   - Lists per kind: by id (listing of every enterprise) and by (enterprise_id, id) (one
 *     enterprise's listing is a contiguous range). Orders also in `waiting` by (created_ms, id).
 *   - Staff by zone: zone id -> bucket of staff slots sorted by id (a zone holds a handful; the
 *     zone need not exist yet, e.g. while loading).
 *   - Load counters: staff id -> active orders, vehicle id -> committed cylinders, counted from
 *     the orders alone (an order may arrive before its staff or vehicle while loading), and
 *     copied into lpg_staff.active_orders / lpg_vehicle.committed whenever either side changes.
 *   - Zone index: one geo_zone_index over every enterprise's zones, ids = lpg_zone.index_id,
 *     assigned densely (removed ids are reused), rebuilt on the first registry_zones_at() after
 *     a zone put/remove.
 *
 * Failure atomicity: a put reserves every allocation it may need before changing anything, so
 * on -1 the registry is exactly as before (and the entity given is freed, per registry.h).
 *
 * Threads: none. The lazy caches (list sorting, the zone index) are reorganised even by calls
 * that take a const registry; use one registry from one thread.
 */
#include "core/registry.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Zone ids asked of the index per query without allocating; more (a point in more than this
 * many zones of all enterprises together) costs one malloc in registry_zones_at. */
#define REGISTRY_ZONES_AT_STACK 64

/* ---- idmap: string-keyed open-addressing hash map ---- */

struct idmap_entry {
    uint64_t hash;
    const char *key; /* NULL: empty; points into the value (an id inside it) */
    void *val;
};

struct idmap {
    struct idmap_entry *e;
    size_t cap; /* 0 or a power of two */
    size_t n;
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 14695981039346656037u; /* FNV-1a 64 offset basis */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211u; /* FNV prime */
    }
    return h;
}

static size_t idmap_find(const struct idmap *m, const char *key, uint64_t h)
{
    /* A power-of-two table never full (load <= 3/4): the probe ends on a match or a hole. */
    assert(m->cap > 0 && (m->cap & (m->cap - 1)) == 0 && m->n < m->cap);
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        if (m->e[i].key == NULL || (m->e[i].hash == h && strcmp(m->e[i].key, key) == 0))
            return i;
    }
}

static void *idmap_get(const struct idmap *m, const char *key)
{
    if (m->cap == 0 || key == NULL)
        return NULL;
    size_t i = idmap_find(m, key, hash_str(key));
    return m->e[i].key ? m->e[i].val : NULL;
}

/* Make room for `extra` more keys without exceeding a load of 3/4. */
static int idmap_reserve(struct idmap *m, size_t extra)
{
    if ((m->n + extra) * 4 <= m->cap * 3)
        return 0;
    size_t cap = m->cap ? m->cap : 16;
    while ((m->n + extra) * 4 > cap * 3)
        cap *= 2;
    struct idmap_entry *e = calloc(cap, sizeof(*e));
    if (e == NULL)
        return -1;
    for (size_t i = 0; i < m->cap; i++) {
        if (m->e[i].key == NULL)
            continue;
        size_t j = m->e[i].hash & (cap - 1);
        while (e[j].key != NULL)
            j = (j + 1) & (cap - 1);
        e[j] = m->e[i];
    }
    free(m->e);
    m->e = e;
    m->cap = cap;
    return 0;
}

/* Insert or replace (key and value). Call idmap_reserve(m, 1) first: this never fails. */
static void idmap_set(struct idmap *m, const char *key, void *val)
{
    uint64_t h = hash_str(key);
    size_t i = idmap_find(m, key, h);
    if (m->e[i].key == NULL)
        m->n++;
    m->e[i] = (struct idmap_entry){h, key, val};
    assert(m->n * 4 <= m->cap * 3); /* idmap_reserve was called for a new key */
}

static void *idmap_del(struct idmap *m, const char *key)
{
    if (m->cap == 0)
        return NULL;
    size_t mask = m->cap - 1;
    size_t i = idmap_find(m, key, hash_str(key));
    if (m->e[i].key == NULL)
        return NULL;
    void *val = m->e[i].val;
    m->e[i].key = NULL;
    m->n--;
    /* Backward shift: pull later entries of the probe run into the hole unless their home slot
     * lies cyclically in (hole, j]. */
    for (size_t j = (i + 1) & mask; m->e[j].key != NULL; j = (j + 1) & mask) {
        size_t home = m->e[j].hash & mask;
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            m->e[i] = m->e[j];
            m->e[j].key = NULL;
            i = j;
        }
    }
    return val;
}

static void idmap_clear(struct idmap *m)
{
    free(m->e);
    memset(m, 0, sizeof(*m));
}

/* ---- slots and lazily sorted lists ---- */

struct slot {
    void *obj;       /* the entity (owned) */
    const char *id;  /* obj's id */
    const char *ent; /* obj's enterprise_id; "" for an enterprise */
    int64_t wait_ms; /* orders in the waiting list: created_ms when inserted (the sort key) */
    bool waiting;
};

/* qsort comparators over arrays of struct slot *. Ids are unique within a kind, so every order
 * is total. */
static int cmp_by_id(const void *a, const void *b)
{
    const struct slot *x = *(const struct slot *const *)a, *y = *(const struct slot *const *)b;
    return strcmp(x->id, y->id);
}

static int cmp_by_ent(const void *a, const void *b)
{
    const struct slot *x = *(const struct slot *const *)a, *y = *(const struct slot *const *)b;
    int c = strcmp(x->ent, y->ent);
    return c ? c : strcmp(x->id, y->id);
}

static int cmp_by_wait(const void *a, const void *b)
{
    const struct slot *x = *(const struct slot *const *)a, *y = *(const struct slot *const *)b;
    if (x->wait_ms != y->wait_ms)
        return x->wait_ms < y->wait_ms ? -1 : 1;
    return strcmp(x->id, y->id);
}

typedef int slot_cmp_fn(const void *, const void *);

struct slist {
    struct slot **v;
    size_t n;        /* entries */
    size_t n_sorted; /* v[0..n_sorted) sorted; v[n_sorted..n) appended since */
    size_t cap;
    slot_cmp_fn *cmp;
};

static int slist_reserve(struct slist *l, size_t extra)
{
    if (l->n + extra <= l->cap)
        return 0;
    size_t cap = l->cap ? l->cap : 16;
    while (cap < l->n + extra)
        cap *= 2;
    struct slot **v = realloc(l->v, cap * sizeof(*v));
    if (v == NULL)
        return -1;
    l->v = v;
    l->cap = cap;
    return 0;
}

/* Call slist_reserve(l, 1) first: this never fails. */
static void slist_add(struct slist *l, struct slot *s)
{
    assert(l->n < l->cap); /* slist_reserve was called */
    l->v[l->n++] = s;
}

/* Sort the appended tail and merge it into the sorted head. */
static void slist_normalize(struct slist *l)
{
    size_t k = l->n - l->n_sorted;
    if (k == 0)
        return;
    struct slot **tail = malloc(k * sizeof(*tail));
    if (tail == NULL || l->n_sorted == 0) {
        /* No scratch (or nothing to merge with): sort everything in place. */
        free(tail);
        qsort(l->v, l->n, sizeof(*l->v), l->cmp);
        l->n_sorted = l->n;
        return;
    }
    memcpy(tail, l->v + l->n_sorted, k * sizeof(*tail));
    qsort(tail, k, sizeof(*tail), l->cmp);
    /* Merge from the back: head v[0..i), tail[0..j) into v[0..n). */
    size_t i = l->n_sorted, j = k, w = l->n;
    while (j > 0) {
        if (i > 0 && l->cmp(&l->v[i - 1], &tail[j - 1]) > 0)
            l->v[--w] = l->v[--i];
        else
            l->v[--w] = tail[--j];
    }
    free(tail);
    l->n_sorted = l->n;
}

/* First position whose entry compares greater than key (after normalizing). */
static size_t slist_upper(struct slist *l, const struct slot *key)
{
    slist_normalize(l);
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->cmp(&l->v[mid], &key) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Remove s, found by its current sort key. No-op if absent. */
static void slist_remove(struct slist *l, const struct slot *s)
{
    slist_normalize(l);
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->cmp(&l->v[mid], &s) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < l->n && l->v[lo] == s) {
        memmove(&l->v[lo], &l->v[lo + 1], (l->n - lo - 1) * sizeof(*l->v));
        l->n--;
        l->n_sorted--;
    }
}

/* ---- kinds ---- */

enum kind_id {
    K_ENTERPRISE,
    K_ZONE,
    K_STAFF,
    K_VEHICLE,
    K_CUSTOMER,
    K_ORDER,
    K_CYLINDER,
    K_HAZARD,
    K_STATION,
    K_COUNT
};

struct kind {
    struct idmap map;    /* id -> struct slot */
    struct slist by_id;  /* every entity, by id */
    struct slist by_ent; /* by (enterprise_id, id); unused for enterprises */
};

/* A group of entities sharing a key (the staff of one zone, the cylinders aboard one vehicle or
 * travelling on one order), sorted by id; removed when it empties. */
struct group {
    char key[LPG_ID_MAX + 1]; /* the map key */
    struct slot **v;
    size_t n, cap;
};

/* A derived count keyed by a staff or vehicle id; removed when it drops to 0. */
struct counter {
    char id[LPG_ID_MAX + 1]; /* the map key */
    int32_t n;
};

struct registry {
    struct kind k[K_COUNT];
    struct idmap zone_staff;   /* zone id -> struct group of staff */
    struct idmap cyl_vehicle;  /* vehicle id -> struct group of the cylinders aboard */
    struct idmap cyl_order;    /* order id -> struct group of the cylinders on that order */
    struct idmap staff_load;   /* staff id -> active orders */
    struct idmap vehicle_load; /* vehicle id -> cylinders committed */
    struct slist waiting;      /* orders in state CREATED by (created_ms, id) */
    /* zone index */
    struct slot **zone_by_index; /* index_id -> zone slot; NULL for a free id */
    size_t n_index;              /* ids handed out: 0..n_index-1 */
    size_t index_cap;
    uint32_t *free_ids; /* removed ids, reused first */
    size_t n_free, free_cap;
    struct geo_zone_index *zindex;
    bool zindex_dirty;
    registry_put_failed_fn *put_failed; /* the owner's hook (registry_set_put_failed) */
    void *put_failed_arg;
};

struct registry *registry_new(void)
{
    struct registry *reg = calloc(1, sizeof(*reg));
    if (reg == NULL)
        return NULL;
    for (int k = 0; k < K_COUNT; k++) {
        reg->k[k].by_id.cmp = cmp_by_id;
        reg->k[k].by_ent.cmp = cmp_by_ent;
    }
    reg->waiting.cmp = cmp_by_wait;
    reg->zindex_dirty = true;
    return reg;
}

static void obj_free(enum kind_id k, void *obj)
{
    if (obj == NULL)
        return;
    if (k == K_ENTERPRISE)
        lpg_geometry_free(&((struct lpg_enterprise *)obj)->area);
    else if (k == K_ZONE)
        lpg_geometry_free(&((struct lpg_zone *)obj)->shape);
    else if (k == K_STATION)
        lpg_geometry_free(&((struct lpg_station *)obj)->shape);
    free(obj);
}

static void map_free_values(struct idmap *m, void (*fn)(void *))
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->e[i].key != NULL)
            fn(m->e[i].val);
    idmap_clear(m);
}

static void group_free(void *p)
{
    struct group *b = p;
    free(b->v);
    free(b);
}

void registry_free(struct registry *reg)
{
    if (reg == NULL)
        return;
    for (int k = 0; k < K_COUNT; k++) {
        struct kind *kd = &reg->k[k];
        for (size_t i = 0; i < kd->map.cap; i++) {
            if (kd->map.e[i].key == NULL)
                continue;
            struct slot *s = kd->map.e[i].val;
            obj_free((enum kind_id)k, s->obj);
            free(s);
        }
        idmap_clear(&kd->map);
        free(kd->by_id.v);
        free(kd->by_ent.v);
    }
    map_free_values(&reg->zone_staff, group_free);
    map_free_values(&reg->cyl_vehicle, group_free);
    map_free_values(&reg->cyl_order, group_free);
    map_free_values(&reg->staff_load, free);
    map_free_values(&reg->vehicle_load, free);
    free(reg->waiting.v);
    free(reg->zone_by_index);
    free(reg->free_ids);
    geo_zone_index_free(reg->zindex);
    free(reg);
}

static struct slot *slot_of(const struct registry *reg, enum kind_id k, const char *id)
{
    return idmap_get(&reg->k[k].map, id);
}

static bool id_ok(const char *id)
{
    return id[0] != '\0' && memchr(id, '\0', LPG_ID_MAX + 1) != NULL;
}

/*
 * The common part of every put: reserve room (a new slot, map and list capacity), then (never
 * failing) install obj under its id, replacing and freeing any previous entity. `ent` is the
 * entity's enterprise_id (NULL for an enterprise). Returns the slot, or NULL on out-of-memory
 * with nothing changed. `pre` (may be NULL) runs after the reservations, just before the
 * previous entity is replaced, with the slot still holding it (old == NULL for a new id): the
 * kind's own indexes update there.
 */
struct put_ctx {
    struct registry *reg;
    enum kind_id k;
    void *obj;
    const char *id;
    const char *ent;
};

static struct slot *put_begin(struct put_ctx *c, bool *is_new)
{
    struct kind *kd = &c->reg->k[c->k];
    struct slot *s = slot_of(c->reg, c->k, c->id);
    *is_new = s == NULL;
    if (s != NULL)
        return s;
    if (idmap_reserve(&kd->map, 1) != 0 || slist_reserve(&kd->by_id, 1) != 0 ||
        slist_reserve(&kd->by_ent, 1) != 0)
        return NULL;
    return calloc(1, sizeof(struct slot));
}

/* Install obj into s (after the kind-specific indexes have been prepared). */
static void put_commit(struct put_ctx *c, struct slot *s, bool is_new)
{
    struct kind *kd = &c->reg->k[c->k];
    const char *ent = c->ent ? c->ent : "";
    /* Ownership: a put hands over a new object. Putting back the one the registry holds would
     * free it below (callers put a copy: lpg_*_dup). */
    assert(c->obj != NULL && (is_new ? s->obj == NULL : s->obj != c->obj));
    if (is_new) {
        s->obj = c->obj;
        s->id = c->id;
        s->ent = ent;
        idmap_set(&kd->map, s->id, s);
        slist_add(&kd->by_id, s);
        if (c->k != K_ENTERPRISE)
            slist_add(&kd->by_ent, s);
        return;
    }
    bool moved = strcmp(s->ent, ent) != 0;
    if (moved && c->k != K_ENTERPRISE)
        slist_remove(&kd->by_ent, s); /* found by the old key; capacity stays for the add */
    void *old = s->obj;
    s->obj = c->obj;
    s->id = c->id;
    s->ent = ent;
    idmap_set(&kd->map, s->id, s); /* same id: replaces the entry's key pointer */
    if (moved && c->k != K_ENTERPRISE)
        slist_add(&kd->by_ent, s);
    obj_free(c->k, old);
}

/* Drop an entity's slot from its map and lists and free both. */
static void remove_slot(struct registry *reg, enum kind_id k, struct slot *s)
{
    struct kind *kd = &reg->k[k];
    slist_remove(&kd->by_id, s);
    if (k != K_ENTERPRISE)
        slist_remove(&kd->by_ent, s);
    idmap_del(&kd->map, s->id);
    obj_free(k, s->obj);
    free(s);
}

/* ---- counters ---- */

static int32_t counter_get(const struct idmap *m, const char *id)
{
    const struct counter *c = idmap_get(m, id);
    return c ? c->n : 0;
}

/* Make sure a counter for id exists (so a later counter_add cannot fail). */
static int counter_ensure(struct idmap *m, const char *id)
{
    if (id[0] == '\0' || idmap_get(m, id) != NULL)
        return 0;
    struct counter *c = calloc(1, sizeof(*c));
    if (c == NULL || idmap_reserve(m, 1) != 0) {
        free(c);
        return -1;
    }
    memcpy(c->id, id, strlen(id) + 1);
    idmap_set(m, c->id, c);
    return 0;
}

/* Adds delta to an existing counter (see counter_ensure). */
static void counter_add(struct idmap *m, const char *id, int32_t delta)
{
    struct counter *c = idmap_get(m, id);
    if (c != NULL)
        c->n += delta;
}

/* Drop the counter of id if it is zero. */
static void counter_trim(struct idmap *m, const char *id)
{
    struct counter *c = idmap_get(m, id);
    if (c != NULL && c->n == 0)
        free(idmap_del(m, id));
}

/* ---- enterprises ---- */

static int put_enterprise(struct registry *reg, struct lpg_enterprise *e)
{
    if (reg == NULL || e == NULL || !id_ok(e->id)) {
        obj_free(K_ENTERPRISE, e);
        return -1;
    }
    struct put_ctx c = {reg, K_ENTERPRISE, e, e->id, NULL};
    bool is_new;
    struct slot *s = put_begin(&c, &is_new);
    if (s == NULL) {
        obj_free(K_ENTERPRISE, e);
        return -1;
    }
    put_commit(&c, s, is_new);
    return 0;
}

/* ---- zones ---- */

static int put_zone(struct registry *reg, struct lpg_zone *z)
{
    if (reg == NULL || z == NULL || !id_ok(z->id)) {
        obj_free(K_ZONE, z);
        return -1;
    }
    struct put_ctx c = {reg, K_ZONE, z, z->id, z->enterprise_id};
    bool is_new;
    struct slot *s = put_begin(&c, &is_new);
    if (s == NULL)
        goto oom;
    if (is_new) {
        /* Reserve an index id: a freed one, or the next one (growing the table). */
        if (reg->n_free == 0 && reg->n_index == reg->index_cap) {
            size_t cap = reg->index_cap ? reg->index_cap * 2 : 64;
            struct slot **t = realloc(reg->zone_by_index, cap * sizeof(*t));
            if (t == NULL) {
                free(s);
                goto oom;
            }
            reg->zone_by_index = t;
            reg->index_cap = cap;
        }
        z->index_id = reg->n_free ? reg->free_ids[--reg->n_free] : (uint32_t)reg->n_index++;
        assert(z->index_id < reg->index_cap);
        reg->zone_by_index[z->index_id] = s;
    } else {
        z->index_id = ((struct lpg_zone *)s->obj)->index_id;
    }
    put_commit(&c, s, is_new);
    reg->zindex_dirty = true;
    return 0;
oom:
    obj_free(K_ZONE, z);
    return -1;
}

int registry_remove_zone(struct registry *reg, const char *id)
{
    struct slot *s = reg && id ? slot_of(reg, K_ZONE, id) : NULL;
    if (s == NULL)
        return -1;
    /* free_ids never needs more room than the index table (every id in it was handed out). */
    if (reg->free_cap < reg->index_cap) {
        uint32_t *f = realloc(reg->free_ids, reg->index_cap * sizeof(*f));
        if (f == NULL)
            return -1;
        reg->free_ids = f;
        reg->free_cap = reg->index_cap;
    }
    uint32_t index_id = ((struct lpg_zone *)s->obj)->index_id;
    assert(index_id < reg->n_index && reg->zone_by_index[index_id] == s);
    assert(reg->n_free < reg->free_cap); /* a free id per handed-out id at most */
    reg->zone_by_index[index_id] = NULL;
    reg->free_ids[reg->n_free++] = index_id;
    remove_slot(reg, K_ZONE, s);
    reg->zindex_dirty = true;
    return 0;
}

/* ---- staff ---- */

static struct group *group_get(struct idmap *m, const char *key)
{
    return idmap_get(m, key);
}

static void group_remove(struct idmap *m, struct group *b, const struct slot *s)
{
    for (size_t i = 0; i < b->n; i++) {
        if (b->v[i] == s) {
            memmove(&b->v[i], &b->v[i + 1], (b->n - i - 1) * sizeof(*b->v));
            b->n--;
            break;
        }
    }
    if (b->n == 0) {
        idmap_del(m, b->key);
        group_free(b);
    }
}

/* The group of key with room for one more member, created if needed; NULL on out-of-memory
 * (nothing changed). */
static struct group *group_reserve(struct idmap *m, const char *key)
{
    struct group *b = idmap_get(m, key);
    bool created = b == NULL;
    if (created) {
        b = calloc(1, sizeof(*b));
        if (b == NULL || idmap_reserve(m, 1) != 0) {
            free(b);
            return NULL;
        }
        memcpy(b->key, key, strlen(key) + 1);
        idmap_set(m, b->key, b);
    }
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 8;
        struct slot **v = realloc(b->v, cap * sizeof(*v));
        if (v == NULL) {
            if (created)
                group_remove(m, b, NULL); /* drop the group just created */
            return NULL;
        }
        b->v = v;
        b->cap = cap;
    }
    return b;
}

/* Insert s sorted by id (room reserved by group_reserve). */
static void group_insert(struct group *b, struct slot *s, const char *id)
{
    size_t i = b->n;
    while (i > 0 && strcmp(b->v[i - 1]->id, id) > 0) {
        b->v[i] = b->v[i - 1];
        i--;
    }
    b->v[i] = s;
    b->n++;
}

static size_t group_list(const struct idmap *m, const char *key, const void **out, size_t cap)
{
    const struct group *b = key ? idmap_get(m, key) : NULL;
    if (b == NULL)
        return 0;
    for (size_t i = 0; i < b->n && i < cap; i++)
        out[i] = b->v[i]->obj;
    return b->n;
}

/* Moves slot s from the group of old_key to that of new_key ("" = none) in map m, reserving
 * first: on -1 (out of memory) nothing changed. Call before the slot's object is replaced. */
static int group_move_begin(struct idmap *m, const char *old_key, const char *new_key,
                            struct group **to)
{
    *to = NULL;
    if (strcmp(old_key, new_key) == 0 || new_key[0] == '\0')
        return 0;
    *to = group_reserve(m, new_key);
    return *to ? 0 : -1;
}

static void group_move_end(struct idmap *m, struct slot *s, const char *old_key,
                           const char *new_key, struct group *to, const char *id)
{
    if (strcmp(old_key, new_key) == 0)
        return;
    struct group *from = old_key[0] ? group_get(m, old_key) : NULL;
    if (from != NULL)
        group_remove(m, from, s);
    if (to != NULL)
        group_insert(to, s, id);
}

static int put_staff(struct registry *reg, struct lpg_staff *st)
{
    if (reg == NULL || st == NULL || !id_ok(st->id)) {
        free(st);
        return -1;
    }
    struct put_ctx c = {reg, K_STAFF, st, st->id, st->enterprise_id};
    bool is_new;
    struct slot *s = put_begin(&c, &is_new);
    if (s == NULL) {
        free(st);
        return -1;
    }
    const struct lpg_staff *old = is_new ? NULL : s->obj;
    const char *old_zone = old ? old->zone_id : "";
    struct group *to;
    if (group_move_begin(&reg->zone_staff, old_zone, st->zone_id, &to) != 0) {
        if (is_new)
            free(s);
        free(st);
        return -1;
    }
    group_move_end(&reg->zone_staff, s, old_zone, st->zone_id, to, st->id);
    st->active_orders = counter_get(&reg->staff_load, st->id);
    put_commit(&c, s, is_new);
    return 0;
}

int registry_remove_staff(struct registry *reg, const char *id)
{
    struct slot *s = reg && id ? slot_of(reg, K_STAFF, id) : NULL;
    if (s == NULL)
        return -1;
    const struct lpg_staff *st = s->obj;
    group_move_end(&reg->zone_staff, s, st->zone_id, "", NULL, st->id);
    remove_slot(reg, K_STAFF, s);
    return 0;
}

/* ---- vehicles ---- */

static int put_vehicle(struct registry *reg, struct lpg_vehicle *v)
{
    if (reg == NULL || v == NULL || !id_ok(v->id)) {
        free(v);
        return -1;
    }
    struct put_ctx c = {reg, K_VEHICLE, v, v->id, v->enterprise_id};
    bool is_new;
    struct slot *s = put_begin(&c, &is_new);
    if (s == NULL) {
        free(v);
        return -1;
    }
    v->committed = counter_get(&reg->vehicle_load, v->id);
    put_commit(&c, s, is_new);
    return 0;
}

int registry_remove_vehicle(struct registry *reg, const char *id)
{
    struct slot *s = reg && id ? slot_of(reg, K_VEHICLE, id) : NULL;
    if (s == NULL)
        return -1;
    remove_slot(reg, K_VEHICLE, s);
    return 0;
}

/* ---- stations ---- */

static int put_station(struct registry *reg, struct lpg_station *st)
{
    if (reg == NULL || st == NULL || !id_ok(st->id)) {
        obj_free(K_STATION, st);
        return -1;
    }
    struct put_ctx c = {reg, K_STATION, st, st->id, st->enterprise_id};
    bool is_new;
    struct slot *s = put_begin(&c, &is_new);
    if (s == NULL) {
        obj_free(K_STATION, st);
        return -1;
    }
    put_commit(&c, s, is_new);
    return 0;
}

int registry_remove_station(struct registry *reg, const char *id)
{
    struct slot *s = reg && id ? slot_of(reg, K_STATION, id) : NULL;
    if (s == NULL)
        return -1;
    remove_slot(reg, K_STATION, s);
    return 0;
}

/* ---- customers ---- */

static int put_customer(struct registry *reg, struct lpg_customer *cu)
{
    if (reg == NULL || cu == NULL || !id_ok(cu->id)) {
        free(cu);
        return -1;
    }
    struct put_ctx c = {reg, K_CUSTOMER, cu, cu->id, cu->enterprise_id};
    bool is_new;
    struct slot *s = put_begin(&c, &is_new);
    if (s == NULL) {
        free(cu);
        return -1;
    }
    put_commit(&c, s, is_new);
    return 0;
}

int registry_remove_customer(struct registry *reg, const char *id)
{
    struct slot *s = reg && id ? slot_of(reg, K_CUSTOMER, id) : NULL;
    if (s == NULL)
        return -1;
    remove_slot(reg, K_CUSTOMER, s);
    return 0;
}

/* ---- cylinders and hazards: plain entities scoped by enterprise ---- */

#define PLAIN_PUT_REMOVE(kind, type, K)                                                            \
    static int put_##kind(struct registry *reg, struct type *e)                                    \
    {                                                                                              \
        if (reg == NULL || e == NULL || !id_ok(e->id)) {                                           \
            free(e);                                                                               \
            return -1;                                                                             \
        }                                                                                          \
        struct put_ctx c = {reg, K, e, e->id, e->enterprise_id};                                   \
        bool is_new;                                                                               \
        struct slot *s = put_begin(&c, &is_new);                                                   \
        if (s == NULL) {                                                                           \
            free(e);                                                                               \
            return -1;                                                                             \
        }                                                                                          \
        put_commit(&c, s, is_new);                                                                 \
        return 0;                                                                                  \
    }                                                                                              \
    int registry_remove_##kind(struct registry *reg, const char *id)                               \
    {                                                                                              \
        struct slot *s = reg && id ? slot_of(reg, K, id) : NULL;                                   \
        if (s == NULL)                                                                             \
            return -1;                                                                             \
        remove_slot(reg, K, s);                                                                    \
        return 0;                                                                                  \
    }

PLAIN_PUT_REMOVE(hazard, lpg_hazard, K_HAZARD)

/* Cylinders are also grouped by the vehicle they are aboard and the order they travel on. */
static int put_cylinder(struct registry *reg, struct lpg_cylinder *cy)
{
    if (reg == NULL || cy == NULL || !id_ok(cy->id)) {
        free(cy);
        return -1;
    }
    struct put_ctx c = {reg, K_CYLINDER, cy, cy->id, cy->enterprise_id};
    bool is_new;
    struct slot *s = put_begin(&c, &is_new);
    if (s == NULL) {
        free(cy);
        return -1;
    }
    const struct lpg_cylinder *old = is_new ? NULL : s->obj;
    const char *old_v = old ? old->vehicle_id : "", *old_o = old ? old->order_id : "";
    struct group *to_v, *to_o;
    if (group_move_begin(&reg->cyl_vehicle, old_v, cy->vehicle_id, &to_v) != 0 ||
        group_move_begin(&reg->cyl_order, old_o, cy->order_id, &to_o) != 0) {
        if (to_v != NULL && to_v->n == 0)
            group_remove(&reg->cyl_vehicle, to_v, NULL); /* created just now: drop it */
        if (is_new)
            free(s);
        free(cy);
        return -1;
    }
    group_move_end(&reg->cyl_vehicle, s, old_v, cy->vehicle_id, to_v, cy->id);
    group_move_end(&reg->cyl_order, s, old_o, cy->order_id, to_o, cy->id);
    put_commit(&c, s, is_new);
    return 0;
}

int registry_remove_cylinder(struct registry *reg, const char *id)
{
    struct slot *s = reg && id ? slot_of(reg, K_CYLINDER, id) : NULL;
    if (s == NULL)
        return -1;
    const struct lpg_cylinder *cy = s->obj;
    group_move_end(&reg->cyl_vehicle, s, cy->vehicle_id, "", NULL, cy->id);
    group_move_end(&reg->cyl_order, s, cy->order_id, "", NULL, cy->id);
    remove_slot(reg, K_CYLINDER, s);
    return 0;
}

/* ---- orders ---- */

/* Orders that hold a person and cylinders on a vehicle: assigned through arrived. */
static bool order_active(const struct lpg_order *o)
{
    return o->state >= LPG_ORDER_ASSIGNED && o->state <= LPG_ORDER_ARRIVED;
}

/* Copy the counters of a staff member and a vehicle into the live entities, if present. */
static void refresh_loads(struct registry *reg, const char *staff_id, const char *vehicle_id)
{
    struct slot *s = staff_id[0] ? slot_of(reg, K_STAFF, staff_id) : NULL;
    if (s != NULL)
        ((struct lpg_staff *)s->obj)->active_orders = counter_get(&reg->staff_load, staff_id);
    struct slot *v = vehicle_id[0] ? slot_of(reg, K_VEHICLE, vehicle_id) : NULL;
    if (v != NULL)
        ((struct lpg_vehicle *)v->obj)->committed = counter_get(&reg->vehicle_load, vehicle_id);
}

static int put_order(struct registry *reg, struct lpg_order *o)
{
    if (reg == NULL || o == NULL || !id_ok(o->id)) {
        free(o);
        return -1;
    }
    struct put_ctx c = {reg, K_ORDER, o, o->id, o->enterprise_id};
    bool is_new;
    struct slot *s = put_begin(&c, &is_new);
    if (s == NULL)
        goto oom;
    bool active = order_active(o);
    if ((o->state == LPG_ORDER_CREATED && slist_reserve(&reg->waiting, 1) != 0) ||
        (active && (counter_ensure(&reg->staff_load, o->staff_id) != 0 ||
                    counter_ensure(&reg->vehicle_load, o->vehicle_id) != 0))) {
        if (is_new)
            free(s);
        goto oom;
    }
    /* From here on nothing fails. The old order stays alive until put_commit frees it. */
    const struct lpg_order *old = is_new ? NULL : s->obj;
    if (old != NULL && order_active(old)) {
        counter_add(&reg->staff_load, old->staff_id, -1);
        counter_add(&reg->vehicle_load, old->vehicle_id, -lpg_order_cylinders(old));
    }
    if (active) {
        counter_add(&reg->staff_load, o->staff_id, 1);
        counter_add(&reg->vehicle_load, o->vehicle_id, lpg_order_cylinders(o));
    }
    if (s->waiting && (o->state != LPG_ORDER_CREATED || o->created_ms != s->wait_ms)) {
        slist_remove(&reg->waiting, s); /* by the old key: wait_ms and the old order's id */
        s->waiting = false;
    }
    if (old != NULL) {
        /* Copy the old ids before put_commit frees the old order. */
        char old_staff[LPG_ID_MAX + 1], old_vehicle[LPG_ID_MAX + 1];
        memcpy(old_staff, old->staff_id, sizeof(old_staff));
        memcpy(old_vehicle, old->vehicle_id, sizeof(old_vehicle));
        put_commit(&c, s, is_new);
        refresh_loads(reg, old_staff, old_vehicle);
        counter_trim(&reg->staff_load, old_staff);
        counter_trim(&reg->vehicle_load, old_vehicle);
    } else {
        put_commit(&c, s, is_new);
    }
    if (o->state == LPG_ORDER_CREATED && !s->waiting) {
        s->wait_ms = o->created_ms;
        s->waiting = true;
        slist_add(&reg->waiting, s);
    }
    refresh_loads(reg, o->staff_id, o->vehicle_id);
    counter_trim(&reg->staff_load, o->staff_id);
    counter_trim(&reg->vehicle_load, o->vehicle_id);
    return 0;
oom:
    free(o);
    return -1;
}

/* ---- getters ---- */

static const void *get_obj(const struct registry *reg, enum kind_id k, const char *id)
{
    const struct slot *s = reg && id ? slot_of(reg, k, id) : NULL;
    return s ? s->obj : NULL;
}

const struct lpg_enterprise *registry_enterprise(const struct registry *reg, const char *id)
{
    return get_obj(reg, K_ENTERPRISE, id);
}
const struct lpg_zone *registry_zone(const struct registry *reg, const char *id)
{
    return get_obj(reg, K_ZONE, id);
}
const struct lpg_staff *registry_staff(const struct registry *reg, const char *id)
{
    return get_obj(reg, K_STAFF, id);
}
const struct lpg_vehicle *registry_vehicle(const struct registry *reg, const char *id)
{
    return get_obj(reg, K_VEHICLE, id);
}

int registry_set_vehicle_position(struct registry *reg, const char *id, struct geo_point pos,
                                  int64_t ms, int32_t speed_cm_s)
{
    /* The registry owns the entity; the getter's const only protects callers. */
    struct lpg_vehicle *v = (struct lpg_vehicle *)get_obj(reg, K_VEHICLE, id);
    if (v == NULL)
        return -1;
    v->has_position = true;
    v->position = pos;
    v->position_ms = ms;
    v->position_speed_cm_s = speed_cm_s;
    return 0;
}
const struct lpg_customer *registry_customer(const struct registry *reg, const char *id)
{
    return get_obj(reg, K_CUSTOMER, id);
}
const struct lpg_order *registry_order(const struct registry *reg, const char *id)
{
    return get_obj(reg, K_ORDER, id);
}
const struct lpg_cylinder *registry_cylinder(const struct registry *reg, const char *id)
{
    return get_obj(reg, K_CYLINDER, id);
}
const struct lpg_hazard *registry_hazard(const struct registry *reg, const char *id)
{
    return get_obj(reg, K_HAZARD, id);
}
const struct lpg_station *registry_station(const struct registry *reg, const char *id)
{
    return get_obj(reg, K_STATION, id);
}

/* ---- deep copies ---- */

static void *dup_bytes(const void *p, size_t n)
{
    void *d = p ? malloc(n) : NULL;
    if (d != NULL)
        memcpy(d, p, n);
    return d;
}

struct lpg_enterprise *lpg_enterprise_dup(const struct lpg_enterprise *e)
{
    struct lpg_enterprise *d = dup_bytes(e, sizeof(*e));
    if (d != NULL && lpg_geometry_copy(&d->area, &e->area) != 0) {
        free(d);
        return NULL;
    }
    return d;
}
struct lpg_zone *lpg_zone_dup(const struct lpg_zone *z)
{
    struct lpg_zone *d = dup_bytes(z, sizeof(*z));
    if (d != NULL && lpg_geometry_copy(&d->shape, &z->shape) != 0) {
        free(d);
        return NULL;
    }
    return d;
}
struct lpg_staff *lpg_staff_dup(const struct lpg_staff *s)
{
    return dup_bytes(s, sizeof(*s));
}
struct lpg_vehicle *lpg_vehicle_dup(const struct lpg_vehicle *v)
{
    return dup_bytes(v, sizeof(*v));
}
struct lpg_customer *lpg_customer_dup(const struct lpg_customer *c)
{
    return dup_bytes(c, sizeof(*c));
}
struct lpg_order *lpg_order_dup(const struct lpg_order *o)
{
    return dup_bytes(o, sizeof(*o));
}
struct lpg_cylinder *lpg_cylinder_dup(const struct lpg_cylinder *c)
{
    return dup_bytes(c, sizeof(*c));
}
struct lpg_station *lpg_station_dup(const struct lpg_station *st)
{
    struct lpg_station *d = dup_bytes(st, sizeof(*st));
    if (d != NULL && lpg_geometry_copy(&d->shape, &st->shape) != 0) {
        free(d);
        return NULL;
    }
    return d;
}
struct lpg_hazard *lpg_hazard_dup(const struct lpg_hazard *h)
{
    return dup_bytes(h, sizeof(*h));
}

/* ---- listings ---- */

/* Iterates one kind's entities with id > after_id, of one enterprise or of all, in id order. */
struct cursor {
    const struct slist *l;
    size_t i;
    const char *ent; /* NULL: all */
};

static struct cursor cursor_start(const struct registry *reg, enum kind_id k,
                                  const char *enterprise_id, const char *after_id)
{
    /* The lists are a lazily sorted cache: sorting them is not an observable change. */
    struct kind *kd = &((struct registry *)reg)->k[k];
    struct slot key = {NULL, after_id ? after_id : "", enterprise_id ? enterprise_id : "", 0,
                       false};
    struct slist *l = enterprise_id ? &kd->by_ent : &kd->by_id;
    struct cursor c = {l, slist_upper(l, &key), enterprise_id};
    return c;
}

static void *cursor_next(struct cursor *c)
{
    if (c->i >= c->l->n)
        return NULL;
    const struct slot *s = c->l->v[c->i];
    if (c->ent != NULL && strcmp(s->ent, c->ent) != 0)
        return NULL;
    c->i++;
    return s->obj;
}

#define LIST_BODY(kind, ent)                                                                       \
    do {                                                                                           \
        if (reg == NULL || out == NULL)                                                            \
            return 0;                                                                              \
        struct cursor c = cursor_start(reg, kind, ent, after_id);                                  \
        size_t n = 0;                                                                              \
        void *obj;                                                                                 \
        while (n < limit && (obj = cursor_next(&c)) != NULL)                                       \
            if (filter == NULL || filter(obj, arg))                                                \
                out[n++] = obj;                                                                    \
        return n;                                                                                  \
    } while (0)

size_t registry_list_enterprises(const struct registry *reg, const char *after_id, size_t limit,
                                 const struct lpg_enterprise **out)
{
    registry_filter_fn *filter = NULL;
    void *arg = NULL;
    LIST_BODY(K_ENTERPRISE, NULL);
}
size_t registry_list_zones(const struct registry *reg, const char *enterprise_id,
                           const char *after_id, size_t limit, registry_filter_fn *filter,
                           void *arg, const struct lpg_zone **out)
{
    LIST_BODY(K_ZONE, enterprise_id);
}
size_t registry_list_staff(const struct registry *reg, const char *enterprise_id,
                           const char *after_id, size_t limit, registry_filter_fn *filter,
                           void *arg, const struct lpg_staff **out)
{
    LIST_BODY(K_STAFF, enterprise_id);
}
size_t registry_list_vehicles(const struct registry *reg, const char *enterprise_id,
                              const char *after_id, size_t limit, registry_filter_fn *filter,
                              void *arg, const struct lpg_vehicle **out)
{
    LIST_BODY(K_VEHICLE, enterprise_id);
}
size_t registry_list_customers(const struct registry *reg, const char *enterprise_id,
                               const char *after_id, size_t limit, registry_filter_fn *filter,
                               void *arg, const struct lpg_customer **out)
{
    LIST_BODY(K_CUSTOMER, enterprise_id);
}
size_t registry_list_orders(const struct registry *reg, const char *enterprise_id,
                            const char *after_id, size_t limit, registry_filter_fn *filter,
                            void *arg, const struct lpg_order **out)
{
    LIST_BODY(K_ORDER, enterprise_id);
}
size_t registry_list_cylinders(const struct registry *reg, const char *enterprise_id,
                               const char *after_id, size_t limit, registry_filter_fn *filter,
                               void *arg, const struct lpg_cylinder **out)
{
    LIST_BODY(K_CYLINDER, enterprise_id);
}
size_t registry_list_hazards(const struct registry *reg, const char *enterprise_id,
                             const char *after_id, size_t limit, registry_filter_fn *filter,
                             void *arg, const struct lpg_hazard **out)
{
    LIST_BODY(K_HAZARD, enterprise_id);
}
size_t registry_list_stations(const struct registry *reg, const char *enterprise_id,
                              const char *after_id, size_t limit, registry_filter_fn *filter,
                              void *arg, const struct lpg_station **out)
{
    LIST_BODY(K_STATION, enterprise_id);
}

/* ---- zones at a point ---- */

/* Rebuild the zone index over every zone whose shape is valid (an invalid shape, which
 * lpg_geometry_finish would have refused, is left out rather than failing the whole index). */
static int zindex_rebuild(struct registry *reg)
{
    size_t n = 0;
    struct geo_zone *zs = malloc((reg->n_index ? reg->n_index : 1) * sizeof(*zs));
    if (zs == NULL)
        return -1;
    for (size_t i = 0; i < reg->n_index; i++) {
        const struct slot *s = reg->zone_by_index[i];
        if (s == NULL)
            continue;
        const struct lpg_zone *z = s->obj;
        if (geo_multipolygon_check(&z->shape.mp) != GEO_OK)
            continue;
        zs[n++] = (struct geo_zone){z->index_id, z->shape.mp};
    }
    struct geo_zone_index *idx = NULL;
    enum geo_status st = geo_zone_index_build(zs, n, &idx, NULL);
    free(zs);
    if (st != GEO_OK)
        return -1;
    geo_zone_index_free(reg->zindex);
    reg->zindex = idx;
    reg->zindex_dirty = false;
    return 0;
}

/*
 * The index answers for every enterprise at once; zones of other enterprises are filtered out
 * here and the rest kept sorted by id in out[] (insertion, at most cap). Allocates only to
 * rebuild the index and when the point is in more than REGISTRY_ZONES_AT_STACK zones of all
 * enterprises together (if that allocation fails, only the zones with the smallest index ids
 * are considered). Returns 0 if the index cannot be built (out of memory).
 */
size_t registry_zones_at(struct registry *reg, const char *enterprise_id, struct geo_point p,
                         const struct lpg_zone **out, size_t cap)
{
    if (reg == NULL || (cap > 0 && out == NULL))
        return 0;
    if ((reg->zindex_dirty || reg->zindex == NULL) && zindex_rebuild(reg) != 0)
        return 0;
    uint32_t stack_ids[REGISTRY_ZONES_AT_STACK];
    uint32_t *ids = stack_ids;
    size_t total = 0;
    enum geo_status st = geo_zone_index_query(reg->zindex, p, ids, REGISTRY_ZONES_AT_STACK, &total);
    size_t n_ids = total < REGISTRY_ZONES_AT_STACK ? total : REGISTRY_ZONES_AT_STACK;
    if (st == GEO_ERR_TRUNCATED) {
        uint32_t *heap = malloc(total * sizeof(*heap));
        if (heap != NULL && geo_zone_index_query(reg->zindex, p, heap, total, &total) == GEO_OK) {
            ids = heap;
            n_ids = total;
        } else {
            free(heap);
        }
    } else if (st != GEO_OK) {
        return 0;
    }
    size_t found = 0, n_out = 0;
    for (size_t i = 0; i < n_ids; i++) {
        const struct slot *s = ids[i] < reg->n_index ? reg->zone_by_index[ids[i]] : NULL;
        if (s == NULL)
            continue;
        const struct lpg_zone *z = s->obj;
        if (enterprise_id != NULL && strcmp(z->enterprise_id, enterprise_id) != 0)
            continue;
        found++;
        size_t j;
        if (n_out < cap)
            j = n_out++;
        else if (cap > 0 && strcmp(z->id, out[cap - 1]->id) < 0)
            j = cap - 1; /* drops the largest */
        else
            continue; /* out is full of smaller ids */
        while (j > 0 && strcmp(out[j - 1]->id, z->id) > 0) {
            out[j] = out[j - 1];
            j--;
        }
        out[j] = z;
    }
    if (ids != stack_ids)
        free(ids);
    return found;
}

size_t registry_staff_in_zone(const struct registry *reg, const char *zone_id,
                              const struct lpg_staff **out, size_t cap)
{
    return reg ? group_list(&reg->zone_staff, zone_id, (const void **)out, cap) : 0;
}

size_t registry_cylinders_on_vehicle(const struct registry *reg, const char *vehicle_id,
                                     const struct lpg_cylinder **out, size_t cap)
{
    return reg ? group_list(&reg->cyl_vehicle, vehicle_id, (const void **)out, cap) : 0;
}

size_t registry_cylinders_of_order(const struct registry *reg, const char *order_id,
                                   const struct lpg_cylinder **out, size_t cap)
{
    return reg ? group_list(&reg->cyl_order, order_id, (const void **)out, cap) : 0;
}

size_t registry_waiting_orders(const struct registry *reg, const struct lpg_order **out, size_t cap)
{
    if (reg == NULL)
        return 0;
    struct slist *l = &((struct registry *)reg)->waiting; /* lazily sorted cache */
    slist_normalize(l);
    for (size_t i = 0; i < l->n && i < cap; i++)
        out[i] = l->v[i]->obj;
    return l->n;
}

void registry_counts(const struct registry *reg, struct registry_counts *out)
{
    memset(out, 0, sizeof(*out));
    if (reg == NULL)
        return;
    out->enterprises = reg->k[K_ENTERPRISE].map.n;
    out->zones = reg->k[K_ZONE].map.n;
    out->staff = reg->k[K_STAFF].map.n;
    out->vehicles = reg->k[K_VEHICLE].map.n;
    out->customers = reg->k[K_CUSTOMER].map.n;
    out->orders = reg->k[K_ORDER].map.n;
    out->cylinders = reg->k[K_CYLINDER].map.n;
    out->hazards = reg->k[K_HAZARD].map.n;
    out->stations = reg->k[K_STATION].map.n;
}

/* ---- the public puts: every failure is reported to the owner ---- */

void registry_set_put_failed(struct registry *reg, registry_put_failed_fn *fn, void *arg)
{
    reg->put_failed = fn;
    reg->put_failed_arg = arg;
}

#ifndef NDEBUG
/* Test hook, in Debug builds only (Release and RelWithDebInfo define NDEBUG): the first put of
 * the entity whose id the environment variable LPG_TEST_FAIL_PUT names fails as if out of
 * memory, once per process, so that an integration test can make a change Redis committed
 * fail to apply (tests/integration/test_registry_reload.c). */
static bool test_put_fails(const char *id)
{
    static bool fired;
    const char *want = fired ? NULL : getenv("LPG_TEST_FAIL_PUT");
    if (want == NULL || strcmp(want, id) != 0)
        return false;
    fired = true;
    return true;
}
#define TEST_PUT_TARGET(reg, e) (e != NULL && test_put_fails(e->id) ? NULL : reg)
#else
#define TEST_PUT_TARGET(reg, e) (reg)
#endif

static int put_reported(struct registry *reg, int rc)
{
    if (rc != 0 && reg != NULL && reg->put_failed != NULL)
        reg->put_failed(reg->put_failed_arg);
    return rc;
}

#define REPORTED_PUT(kind, type)                                                                   \
    int registry_put_##kind(struct registry *reg, struct type *e)                                  \
    {                                                                                              \
        /* a put into no registry fails and frees e, as one out of memory does */                  \
        return put_reported(reg, put_##kind(TEST_PUT_TARGET(reg, e), e));                          \
    }

REPORTED_PUT(enterprise, lpg_enterprise)
REPORTED_PUT(zone, lpg_zone)
REPORTED_PUT(staff, lpg_staff)
REPORTED_PUT(vehicle, lpg_vehicle)
REPORTED_PUT(customer, lpg_customer)
REPORTED_PUT(order, lpg_order)
REPORTED_PUT(cylinder, lpg_cylinder)
REPORTED_PUT(hazard, lpg_hazard)
REPORTED_PUT(station, lpg_station)
