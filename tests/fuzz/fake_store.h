/* fake_store.h -- the fuzz targets' in-memory stand-in for store.c (fake_store.c). */
#ifndef LPG_FUZZ_FAKE_STORE_H
#define LPG_FUZZ_FAKE_STORE_H

#include <stddef.h>
#include <stdint.h>

struct store;

/* The outcomes of the next commands, one byte each (low nibble: 1 refused, 2 lost, 3 error
 * reply, else success); after the last byte every command succeeds. The bytes are only read
 * during the iteration: the caller keeps them alive until then. */
void fake_store_script(const uint8_t *bytes, size_t len);
/* Commands sent whose reply has not been delivered yet. */
size_t fake_store_pending(const struct store *st);

#endif
