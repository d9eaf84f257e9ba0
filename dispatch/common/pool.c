/* pool.c - fixed-size long-lived objects in blocks (pool.h). */
#include "common/pool.h"

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct pool_block {
    struct pool_block *next;
    _Alignas(16) unsigned char slots[];
};

void pool_init(struct pool *p, size_t size, size_t per_block)
{
    memset(p, 0, sizeof *p);
    size_t s = size < sizeof(void *) ? sizeof(void *) : size;
    p->size = (s + 15) & ~(size_t)15;
    p->per_block = per_block ? per_block : 1;
    p->used = p->per_block; /* no block yet: the first take allocates one */
}

#ifndef NDEBUG
/* Whether obj is a slot of one of p's blocks (what pool_give requires). */
static bool pool_owns(const struct pool *p, const void *obj)
{
    const unsigned char *o = obj;
    for (const struct pool_block *b = p->blocks; b; b = b->next) {
        if (o >= b->slots && o < b->slots + p->size * p->per_block)
            return (size_t)(o - b->slots) % p->size == 0;
    }
    return false;
}
#endif

void *pool_take(struct pool *p)
{
    assert(p->size > 0 && p->per_block > 0); /* pool_init'd */
    void *obj;
    if (p->free_list != NULL) {
        obj = p->free_list;
        memcpy(&p->free_list, obj, sizeof(void *));
    } else {
        if (p->used == p->per_block) {
            if (p->per_block > (SIZE_MAX - sizeof(struct pool_block)) / p->size)
                return NULL;
            struct pool_block *b = malloc(sizeof *b + p->size * p->per_block);
            if (b == NULL)
                return NULL;
            b->next = p->blocks;
            p->blocks = b;
            p->used = 0;
            p->n_blocks++;
        }
        assert(p->used < p->per_block);
        obj = p->blocks->slots + p->size * p->used++;
    }
    memset(obj, 0, p->size);
    p->live++;
    return obj;
}

void pool_give(struct pool *p, void *obj)
{
    if (obj == NULL)
        return;
    assert(p->live > 0 && pool_owns(p, obj));
    memcpy(obj, &p->free_list, sizeof(void *));
    p->free_list = obj;
    p->live--;
}

void pool_free_all(struct pool *p)
{
    for (struct pool_block *b = p->blocks, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    pool_init(p, p->size, p->per_block);
}
