/* jt808_reasm.h -- subpackage reassembly for ONE connection, pure: the time is passed in.
 *
 * A message longer than one frame arrives as packets 1..total (header bit 13), each with its own
 * serial, in any order. The connection allocates a jt808_reasm only when its first subpackaged
 * frame arrives (an idle connection costs nothing), and a slot allocates total * 1023 bytes only
 * while its message is in progress. Messages are told apart by (msg_id, total); at most
 * JT808_REASM_SLOTS are in progress at once and a total above JT808_REASM_MAX_PACKETS is refused
 * (we take no multimedia), so one connection holds at most 2 * 32 * 1023 bytes.
 *
 * first_serial, the serial that replies and 0x8003 name: the serial of packet 1 when it was
 * seen, otherwise the serial of the lowest index seen minus (index - 1), which is packet 1's
 * serial for the terminals that number a message's packets consecutively (most do). */
#ifndef LPG_JT808_REASM_H
#define LPG_JT808_REASM_H

#include "jt808/jt808_codec.h"

#include <stddef.h>
#include <stdint.h>

#define JT808_REASM_SLOTS       2  /* messages in progress at once per connection */
#define JT808_REASM_MAX_PACKETS 32 /* a larger total is refused */

struct jt808_reasm;

struct jt808_reasm *jt808_reasm_new(void); /* NULL when out of memory */
void jt808_reasm_free(struct jt808_reasm *r);

enum jt808_reasm_result {
    JT808_REASM_PENDING = 0,
    JT808_REASM_COMPLETE = 1,
    /* not a subpackage, total 0 or above the cap, index outside 1..total, no free slot, a
     * duplicate index with other bytes, out of memory: the packet is not taken */
    JT808_REASM_REFUSED = -1,
};

/* Adds one packet (h->subpackage set). COMPLETE: *out / *out_len hold the bodies concatenated in
 * index order (valid until the next call on r), *first_serial the serial replies go to; the
 * message id is h->msg_id. A duplicate packet with the same bytes changes nothing (PENDING). */
enum jt808_reasm_result jt808_reasm_add(struct jt808_reasm *r, const struct jt808_header *h,
                                        const uint8_t *body, size_t len, int64_t now_ms,
                                        const uint8_t **out, size_t *out_len,
                                        uint16_t *first_serial);

/* Called for a message with missing packets: send 0x8003 (jt808_build_resend_request) with
 * first_serial and the n missing indices (ascending). */
typedef void jt808_reasm_missing_fn(void *arg, uint16_t msg_id, uint16_t first_serial,
                                    const uint16_t *indices, size_t n);

/* For every slot whose last packet is timeout_ms old or older: the first time, fn is called with
 * its missing indices and the slot is re-armed; the second time (no new packet since) the slot
 * is dropped. A new packet re-arms a slot for another request. Returns the number of slots still
 * in progress (0: the connection may free r). fn may be NULL (slots just expire). */
size_t jt808_reasm_tick(struct jt808_reasm *r, int64_t now_ms, int64_t timeout_ms,
                        jt808_reasm_missing_fn *fn, void *arg);

/* Slots in progress. */
size_t jt808_reasm_pending(const struct jt808_reasm *r);

#endif
