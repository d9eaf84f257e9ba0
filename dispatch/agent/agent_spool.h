/*
 * agent_spool.h - the pure part of lpg-agent's store-and-forward spool (prefix agent_spool_):
 * the on-disk form of a fix and of the spool state, and the ring's bookkeeping. No I/O here;
 * agent_spool_file.[ch] puts it on disk.
 *
 * The spool is a ring of `capacity` fixed-size records: the fix with sequence number seq lives
 * in slot seq % capacity. Every fix the agent takes from gpsd is appended with the next seq (so
 * seq is persistent across restarts: it is recovered from the records themselves), and stays
 * until the server's Ack.position_seq covers it. "Pending" is the range
 * [first_pending, next_seq): everything appended and not yet acknowledged.
 *
 * Bounded: appending when `capacity` fixes are pending overwrites the oldest pending one, which
 * is counted in `dropped` (the newest positions matter most to a dispatcher and a late route
 * has a hole at its start rather than its end). Acknowledging only moves `acked`: an
 * acknowledged record is garbage that the ring overwrites in time.
 *
 * Crash safety: each record carries a CRC-32 of its contents, so a torn write (power loss
 * mid-write) reads back as a missing record, never as a wrong fix. The state (acked, dropped)
 * has two slots written alternately with a generation number; the valid one with the highest
 * generation wins. Losing the newest state only means resending fixes the server already has,
 * which its de-duplication by (device, seq) makes harmless.
 */
#ifndef LPG_AGENT_SPOOL_H
#define LPG_AGENT_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AGENT_SPOOL_REC_SIZE 64 /* bytes per record on disk (fix or state) */

/* One fix as the agent sends it (lpg.v1.Fix fields, plus when the agent read it). */
struct agent_fix {
    uint64_t seq;     /* assigned by the spool on append */
    uint64_t time_ms; /* receiver UTC time (plus time_offset), ms since the epoch */
    uint64_t rx_ms;   /* agent clock when it was read from gpsd, ms since the epoch */
    int32_t lat_e7, lon_e7;
    uint32_t speed_cm_s, heading_cdeg, accuracy_cm;
    int32_t altitude_cm;
    uint8_t mode;   /* lpg.v1.Fix.Mode: 2 = 2D, 3 = 3D */
    uint8_t source; /* lpg.v1.Fix.Source: 1 = GNSS */
    uint8_t satellites;
    bool has_speed, has_heading, has_accuracy, has_altitude, has_satellites;
    bool speed_derived; /* speed and heading computed from successive fixes */
};

/* The persistent state besides the records. */
struct agent_spool_state {
    uint64_t gen;      /* increases with every write; picks the newer of the two slots */
    uint64_t acked;    /* highest seq the server acknowledged */
    uint64_t dropped;  /* fixes overwritten before they were acknowledged, ever */
    uint64_t capacity; /* records in the ring when this state was written */
};

/* The ring's bookkeeping. */
struct agent_spool_index {
    uint64_t capacity; /* records */
    uint64_t acked;    /* highest acknowledged seq (0: none) */
    uint64_t next_seq; /* seq the next append gets (>= 1) */
    uint64_t dropped;  /* count of unacknowledged fixes overwritten */
};

/* Encodes into exactly AGENT_SPOOL_REC_SIZE bytes (little-endian, with magic and CRC). */
void agent_spool_fix_encode(const struct agent_fix *f, uint8_t out[AGENT_SPOOL_REC_SIZE]);
/* 0 and *f filled when the bytes hold a valid fix record; -1 for anything else (zeros, a torn
 * or foreign record). */
int agent_spool_fix_decode(const uint8_t in[AGENT_SPOOL_REC_SIZE], struct agent_fix *f);
void agent_spool_state_encode(const struct agent_spool_state *s, uint8_t out[AGENT_SPOOL_REC_SIZE]);
int agent_spool_state_decode(const uint8_t in[AGENT_SPOOL_REC_SIZE], struct agent_spool_state *s);

/* CRC-32 (IEEE 802.3, as zlib's crc32) of len bytes. */
uint32_t agent_spool_crc32(const uint8_t *p, size_t len);

/* A fresh index: nothing appended, nothing acknowledged. */
void agent_spool_index_init(struct agent_spool_index *ix, uint64_t capacity);

/* The index after a restart, from the newest valid state (NULL if none) and the highest seq
 * found in a valid record (0 if none). next_seq continues after both, so a seq is never
 * reused, even when every record was acknowledged. */
void agent_spool_index_recover(struct agent_spool_index *ix, uint64_t capacity,
                               const struct agent_spool_state *st, uint64_t max_seq_found);

/* Oldest pending seq (== next_seq when nothing is pending). */
uint64_t agent_spool_index_first_pending(const struct agent_spool_index *ix);
/* Number of pending fixes, at most capacity. */
uint64_t agent_spool_index_pending(const struct agent_spool_index *ix);

/* Takes the next seq for an append and returns it; *slot receives its ring slot. When the ring
 * is full, the oldest pending fix is overwritten: dropped is incremented and *overwrote set. */
uint64_t agent_spool_index_append(struct agent_spool_index *ix, uint64_t *slot, bool *overwrote);

/* Applies the server's Ack.position_seq. A mark below acked changes nothing (an old Ack).
 * A mark at or beyond next_seq means the server has stored seqs this spool never wrote (the
 * spool was deleted or replaced): next_seq jumps past it, or new fixes would all be skipped
 * as duplicates. Returns 1 when it jumped, else 0. */
int agent_spool_index_ack(struct agent_spool_index *ix, uint64_t position_seq);

/* Ring slot of a seq. */
static inline uint64_t agent_spool_slot(const struct agent_spool_index *ix, uint64_t seq)
{
    return seq % ix->capacity;
}

#endif /* LPG_AGENT_SPOOL_H */
