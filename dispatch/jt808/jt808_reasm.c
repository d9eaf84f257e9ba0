/* jt808_reasm.c -- see jt808_reasm.h. */
#include "jt808/jt808_reasm.h"

#include <stdlib.h>
#include <string.h>

struct reasm_slot {
    uint8_t *data; /* total * JT808_BODY_MAX: packet i at (i - 1) * JT808_BODY_MAX; NULL: free */
    uint16_t msg_id, total, received;
    uint32_t have; /* bit i - 1: packet i received */
    uint16_t len[JT808_REASM_MAX_PACKETS];
    uint16_t serial[JT808_REASM_MAX_PACKETS];
    int64_t last_ms;
    int requested; /* 0x8003 sent since the last new packet */
};

struct jt808_reasm {
    struct reasm_slot slot[JT808_REASM_SLOTS];
    /* The last completed message: its slot's buffer, compacted, handed out until the next call. */
    uint8_t *done;
};

struct jt808_reasm *jt808_reasm_new(void)
{
    return calloc(1, sizeof(struct jt808_reasm));
}

static void slot_free(struct reasm_slot *s)
{
    free(s->data);
    memset(s, 0, sizeof(*s));
}

void jt808_reasm_free(struct jt808_reasm *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < JT808_REASM_SLOTS; i++)
        slot_free(&r->slot[i]);
    free(r->done);
    free(r);
}

static uint16_t slot_first_serial(const struct reasm_slot *s)
{
    for (uint16_t i = 0; i < s->total; i++)
        if (s->have & (1u << i))
            return (uint16_t)(s->serial[i] - i); /* packet 1's when i == 0 */
    return 0;
}

enum jt808_reasm_result jt808_reasm_add(struct jt808_reasm *r, const struct jt808_header *h,
                                        const uint8_t *body, size_t len, int64_t now_ms,
                                        const uint8_t **out, size_t *out_len,
                                        uint16_t *first_serial)
{
    free(r->done); /* what the last COMPLETE handed out lives until this call */
    r->done = NULL;
    if (!h->subpackage || h->pkg_total == 0 || h->pkg_total > JT808_REASM_MAX_PACKETS ||
        h->pkg_index == 0 || h->pkg_index > h->pkg_total || len > JT808_BODY_MAX)
        return JT808_REASM_REFUSED;
    struct reasm_slot *s = NULL, *free_slot = NULL;
    for (size_t i = 0; i < JT808_REASM_SLOTS; i++) {
        struct reasm_slot *c = &r->slot[i];
        if (c->data && c->msg_id == h->msg_id && c->total == h->pkg_total)
            s = c;
        else if (!c->data && !free_slot)
            free_slot = c;
    }
    if (!s) {
        if (!free_slot)
            return JT808_REASM_REFUSED; /* two messages in progress already: no eviction */
        s = free_slot;
        s->data = malloc((size_t)h->pkg_total * JT808_BODY_MAX);
        if (!s->data)
            return JT808_REASM_REFUSED;
        s->msg_id = h->msg_id;
        s->total = h->pkg_total;
    }
    unsigned i = h->pkg_index - 1u;
    uint8_t *at = s->data + (size_t)i * JT808_BODY_MAX;
    if (s->have & (1u << i)) {
        /* A retransmission is harmless; other bytes under the same index are a conflict. */
        if (s->len[i] == len && (len == 0 || memcmp(at, body, len) == 0))
            return JT808_REASM_PENDING;
        return JT808_REASM_REFUSED;
    }
    if (len)
        memcpy(at, body, len);
    s->len[i] = (uint16_t)len;
    s->serial[i] = h->serial;
    s->have |= 1u << i;
    s->received++;
    s->last_ms = now_ms;
    s->requested = 0;
    if (s->received < s->total)
        return JT808_REASM_PENDING;

    /* Compact in index order: packet k moves to an offset at most its own, so forward is safe. */
    size_t n = 0;
    for (uint16_t k = 0; k < s->total; k++) {
        memmove(s->data + n, s->data + (size_t)k * JT808_BODY_MAX, s->len[k]);
        n += s->len[k];
    }
    *first_serial = s->serial[0];
    *out = s->data;
    *out_len = n;
    r->done = s->data; /* ownership moves: freed at the next call */
    s->data = NULL;
    slot_free(s);
    return JT808_REASM_COMPLETE;
}

size_t jt808_reasm_tick(struct jt808_reasm *r, int64_t now_ms, int64_t timeout_ms,
                        jt808_reasm_missing_fn *fn, void *arg)
{
    size_t left = 0;
    for (size_t i = 0; i < JT808_REASM_SLOTS; i++) {
        struct reasm_slot *s = &r->slot[i];
        if (!s->data)
            continue;
        if (now_ms - s->last_ms < timeout_ms) {
            left++;
            continue;
        }
        if (s->requested) {
            slot_free(s); /* asked once, nothing came: give up */
            continue;
        }
        uint16_t missing[JT808_REASM_MAX_PACKETS];
        size_t n = 0;
        for (uint16_t k = 0; k < s->total; k++)
            if (!(s->have & (1u << k)))
                missing[n++] = (uint16_t)(k + 1);
        if (fn)
            fn(arg, s->msg_id, slot_first_serial(s), missing, n);
        s->requested = 1;
        s->last_ms = now_ms;
        left++;
    }
    return left;
}

size_t jt808_reasm_pending(const struct jt808_reasm *r)
{
    size_t n = 0;
    for (size_t i = 0; i < JT808_REASM_SLOTS; i++)
        n += r->slot[i].data != NULL;
    return n;
}
