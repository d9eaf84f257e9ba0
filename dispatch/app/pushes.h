/* pushes.h -- a person's handset pushes (OrderAssigned, OrderWithdrawn) kept in Redis until the
 * handset acknowledges them, so that neither a restart nor a handset offline loses one
 * (proto/README.md, "Order sync"). The transport packs and unpacks them; this module only keeps
 * bytes under their push id. Key staff:{id}:pushes (docs/redis-keys.md).
 */
#ifndef LPG_PUSHES_H
#define LPG_PUSHES_H

#include "app/service.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Pending pushes kept per person; beyond it the oldest is dropped. */
#define PUSHES_MAX 64
/* A person's pending pushes expire this long after the newest one (a handset never seen again
 * must not keep them for ever). */
#define PUSHES_TTL_S (30 * 86400)

/* A new push id: increasing in the order of the calls, across restarts too (the clock in µs,
 * or one more than the last when pushes come faster or the clock steps back). Below 2^53, so a
 * sorted set's score holds it exactly. */
uint64_t pushes_next_id(void);

/* Keeps bytes[0..len) as push_id of staff_id (and drops the oldest beyond PUSHES_MAX). Returns
 * 0 when the commands were sent (a failure of Redis later is logged), or -1 with *why. */
int pushes_keep(struct service *s, const char *staff_id, uint64_t push_id, const void *bytes,
                size_t len, const char **why);

/* One kept push, borrowed for the callback. */
struct pushes_item {
    const void *bytes;
    size_t len;
};
/* items[0..n) oldest first; err non-NULL (and n 0) when they could not be read. */
typedef void pushes_read_fn(void *arg, const struct pushes_item *items, size_t n, const char *err);

/* Reads staff_id's pending pushes (at most PUSHES_MAX). Returns 0: fn is called exactly once,
 * later; or -1 with *why, and fn is not called. */
int pushes_read(struct service *s, const char *staff_id, pushes_read_fn *fn, void *arg,
                const char **why);

/* Drops one kept push given as read (moot: nothing to re-send). Failures are logged. */
void pushes_forget(struct service *s, const char *staff_id, const void *bytes, size_t len);

/* ok: dropped (or was not there); else err is the store's reason, NULL when Redis refused. */
typedef void pushes_done_fn(void *arg, bool ok, const char *err);

/* Drops staff_id's push push_id (acknowledged). Returns 0: fn is called exactly once, later;
 * or -1 with *why, and fn is not called. */
int pushes_ack(struct service *s, const char *staff_id, uint64_t push_id, pushes_done_fn *fn,
               void *arg, const char **why);

#endif
