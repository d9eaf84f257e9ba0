/*
 * agent_spool_file.h - the agent's spool on disk (prefix agent_spool_): one file,
 * <dir>/spool.dat, holding two state slots and a ring of fix records (layout and rules in
 * agent_spool.h). Opening it recovers the ring after a restart, a kill -9 or a power cut; an
 * exclusive lock (flock) keeps a second agent off the same spool.
 *
 * File layout: [state slot 0][state slot 1][record slot 0]...[record slot capacity-1], each
 * AGENT_SPOOL_REC_SIZE bytes. When spool_max_fixes changes between runs, the pending fixes are
 * copied into a new ring of the new size (the oldest dropped and counted if they do not fit).
 *
 * Durability: appends and state writes are pwrite(2)s, in the page cache at once (so a kill -9
 * loses nothing); agent_spool_sync() forces them to disk (fdatasync), and the caller decides
 * when, after the spool_fsync setting.
 *
 * Errors: -1 with a message in errbuf (open) or logged (others). Not thread-safe.
 */
#ifndef LPG_AGENT_SPOOL_FILE_H
#define LPG_AGENT_SPOOL_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "agent/agent_spool.h"

struct agent_spool;

/* Opens (creating dir and file as needed) and recovers the spool. NULL on failure, with why in
 * errbuf (e.g. "spool /var/lib/lpg-agent/spool.dat is in use by another lpg-agent"). */
struct agent_spool *agent_spool_open(const char *dir, uint64_t capacity, char *errbuf,
                                     size_t errlen);
/* Writes the state, syncs and closes. NULL is a no-op. */
void agent_spool_close(struct agent_spool *sp);

/* Appends f, setting f->seq. Returns 0, or -1 on a write error (the fix is lost; logged). */
int agent_spool_append(struct agent_spool *sp, struct agent_fix *f);

/* Reads up to max pending fixes with seq >= from, in seq order, into out; records that are
 * missing (torn by a power cut) are skipped and counted in the spool's `unreadable` counter.
 * Returns the number read; *next is the seq after the last one examined. */
size_t agent_spool_read(struct agent_spool *sp, uint64_t from, struct agent_fix *out, size_t max,
                        uint64_t *next);

/* Applies Ack.position_seq (agent_spool_index_ack) and writes the state. Returns 1 when
 * next_seq jumped past a server mark the spool did not know, 0 otherwise, -1 on write error. */
int agent_spool_ack(struct agent_spool *sp, uint64_t position_seq);

/* fdatasync of the file. 0 or -1. */
int agent_spool_sync(struct agent_spool *sp);

const struct agent_spool_index *agent_spool_get_index(const struct agent_spool *sp);
/* Records found unreadable since open. */
uint64_t agent_spool_unreadable(const struct agent_spool *sp);
/* Path of the spool file (for logs). */
const char *agent_spool_path(const struct agent_spool *sp);

#endif /* LPG_AGENT_SPOOL_FILE_H */
