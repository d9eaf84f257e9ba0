/*
 * agent_spool.c - record codec and ring bookkeeping of the agent's spool (see agent_spool.h).
 * Pure: no I/O, no allocation.
 */
#include "agent/agent_spool.h"

#include <string.h>

#define FIX_MAGIC   0x4c504746u /* "LPGF" */
#define STATE_MAGIC 0x4c504753u /* "LPGS" */
/* Bytes covered by the CRC: everything after the magic and the CRC itself. */
#define CRC_FROM 8

enum {
    FL_SPEED = 1,
    FL_HEADING = 2,
    FL_ACCURACY = 4,
    FL_ALTITUDE = 8,
    FL_DERIVED = 16,
    FL_SATELLITES = 32
};

uint32_t agent_spool_crc32(const uint8_t *p, size_t len)
{
    /* Bitwise, no table: 64-byte records make speed irrelevant next to the disk. */
    uint32_t crc = 0xffffffffu;
    for (size_t i = 0; i < len; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static void seal(uint8_t out[AGENT_SPOOL_REC_SIZE], uint32_t magic)
{
    put32(out, magic);
    put32(out + 4, agent_spool_crc32(out + CRC_FROM, AGENT_SPOOL_REC_SIZE - CRC_FROM));
}

static int sealed(const uint8_t in[AGENT_SPOOL_REC_SIZE], uint32_t magic)
{
    return get32(in) == magic &&
           get32(in + 4) == agent_spool_crc32(in + CRC_FROM, AGENT_SPOOL_REC_SIZE - CRC_FROM);
}

void agent_spool_fix_encode(const struct agent_fix *f, uint8_t out[AGENT_SPOOL_REC_SIZE])
{
    memset(out, 0, AGENT_SPOOL_REC_SIZE);
    put64(out + 8, f->seq);
    put64(out + 16, f->time_ms);
    put64(out + 24, f->rx_ms);
    put32(out + 32, (uint32_t)f->lat_e7);
    put32(out + 36, (uint32_t)f->lon_e7);
    put32(out + 40, f->speed_cm_s);
    put32(out + 44, f->heading_cdeg);
    put32(out + 48, f->accuracy_cm);
    put32(out + 52, (uint32_t)f->altitude_cm);
    out[56] = f->mode;
    out[57] = f->source;
    out[58] =
        (uint8_t)((f->has_speed ? FL_SPEED : 0) | (f->has_heading ? FL_HEADING : 0) |
                  (f->has_accuracy ? FL_ACCURACY : 0) | (f->has_altitude ? FL_ALTITUDE : 0) |
                  (f->speed_derived ? FL_DERIVED : 0) | (f->has_satellites ? FL_SATELLITES : 0));
    out[59] = f->satellites;
    seal(out, FIX_MAGIC);
}

int agent_spool_fix_decode(const uint8_t in[AGENT_SPOOL_REC_SIZE], struct agent_fix *f)
{
    if (!sealed(in, FIX_MAGIC) || get64(in + 8) == 0)
        return -1;
    memset(f, 0, sizeof(*f));
    f->seq = get64(in + 8);
    f->time_ms = get64(in + 16);
    f->rx_ms = get64(in + 24);
    f->lat_e7 = (int32_t)get32(in + 32);
    f->lon_e7 = (int32_t)get32(in + 36);
    f->speed_cm_s = get32(in + 40);
    f->heading_cdeg = get32(in + 44);
    f->accuracy_cm = get32(in + 48);
    f->altitude_cm = (int32_t)get32(in + 52);
    f->mode = in[56];
    f->source = in[57];
    uint8_t fl = in[58];
    f->has_speed = fl & FL_SPEED;
    f->has_heading = fl & FL_HEADING;
    f->has_accuracy = fl & FL_ACCURACY;
    f->has_altitude = fl & FL_ALTITUDE;
    f->speed_derived = fl & FL_DERIVED;
    f->has_satellites = fl & FL_SATELLITES;
    f->satellites = in[59];
    return 0;
}

void agent_spool_state_encode(const struct agent_spool_state *s, uint8_t out[AGENT_SPOOL_REC_SIZE])
{
    memset(out, 0, AGENT_SPOOL_REC_SIZE);
    put64(out + 8, s->gen);
    put64(out + 16, s->acked);
    put64(out + 24, s->dropped);
    put64(out + 32, s->capacity);
    seal(out, STATE_MAGIC);
}

int agent_spool_state_decode(const uint8_t in[AGENT_SPOOL_REC_SIZE], struct agent_spool_state *s)
{
    if (!sealed(in, STATE_MAGIC))
        return -1;
    s->gen = get64(in + 8);
    s->acked = get64(in + 16);
    s->dropped = get64(in + 24);
    s->capacity = get64(in + 32);
    return 0;
}

void agent_spool_index_init(struct agent_spool_index *ix, uint64_t capacity)
{
    ix->capacity = capacity;
    ix->acked = 0;
    ix->next_seq = 1;
    ix->dropped = 0;
}

void agent_spool_index_recover(struct agent_spool_index *ix, uint64_t capacity,
                               const struct agent_spool_state *st, uint64_t max_seq_found)
{
    agent_spool_index_init(ix, capacity);
    if (st) {
        ix->acked = st->acked;
        ix->dropped = st->dropped;
    }
    uint64_t last = max_seq_found > ix->acked ? max_seq_found : ix->acked;
    ix->next_seq = last + 1;
}

uint64_t agent_spool_index_first_pending(const struct agent_spool_index *ix)
{
    uint64_t first = ix->acked + 1;
    /* Only the newest `capacity` seqs can still be in the ring. */
    if (ix->next_seq > ix->capacity && ix->next_seq - ix->capacity > first)
        first = ix->next_seq - ix->capacity;
    return first < ix->next_seq ? first : ix->next_seq;
}

uint64_t agent_spool_index_pending(const struct agent_spool_index *ix)
{
    return ix->next_seq - agent_spool_index_first_pending(ix);
}

uint64_t agent_spool_index_append(struct agent_spool_index *ix, uint64_t *slot, bool *overwrote)
{
    bool full = agent_spool_index_pending(ix) >= ix->capacity;
    if (full)
        ix->dropped++;
    *overwrote = full;
    uint64_t seq = ix->next_seq++;
    *slot = agent_spool_slot(ix, seq);
    return seq;
}

int agent_spool_index_ack(struct agent_spool_index *ix, uint64_t position_seq)
{
    if (position_seq <= ix->acked)
        return 0;
    ix->acked = position_seq;
    if (position_seq >= ix->next_seq) {
        ix->next_seq = position_seq + 1;
        return 1;
    }
    return 0;
}
