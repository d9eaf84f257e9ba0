/*
 * pool.h - fixed-size objects that live long, allocated in blocks; pure (libc only).
 *
 * Why: dispatchd keeps a small object per tracked vehicle (its track) and per handset
 * connection, created while batches are in flight. Taken one by one from malloc they land
 * between the batches' short-lived buffers, and once the burst is over each of them pins the
 * heap page it sits on: the freed buffers around it can never go back to the system
 * (malloc_trim returns whole free pages only). A pool takes its objects from blocks of
 * `per_block` objects (a block of 64 KiB or more is mmap'd by glibc, outside the heap), so
 * long-lived objects sit together and the heap's short-lived memory can be handed back.
 *
 * Objects are zeroed when taken. A freed object goes to a free list and is reused; blocks are
 * kept until pool_free_all() (the pool is meant for objects that live about as long as the
 * process or come back quickly, as connections do). Not thread-safe.
 */
#ifndef LPG_POOL_H
#define LPG_POOL_H

#include <stddef.h>

struct pool_block;

struct pool {
    size_t size;      /* bytes per object, rounded up to a multiple of 16 */
    size_t per_block; /* objects per block */
    struct pool_block *blocks;
    void *free_list;
    size_t used; /* next unused slot of blocks (the newest) */
    size_t live; /* objects taken and not given back */
    size_t n_blocks;
};

/* An empty pool of objects of `size` bytes, `per_block` per block (both > 0). */
void pool_init(struct pool *p, size_t size, size_t per_block);
/* A zeroed object, or NULL when out of memory. */
void *pool_take(struct pool *p);
/* Gives an object back (NULL is a no-op); it must come from p. */
void pool_give(struct pool *p, void *obj);
/* Releases every block: every object taken from p dies. p is left empty and usable. */
void pool_free_all(struct pool *p);

#endif
