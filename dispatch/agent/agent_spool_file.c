/*
 * agent_spool_file.c - the spool file: open and recover, append, read, acknowledge, sync
 * (see agent_spool_file.h).
 */
#define LOG_TAG "spool"
#include "agent/agent_spool_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"

#define REC        AGENT_SPOOL_REC_SIZE
#define RING_OFF   (2 * REC) /* the two state slots come first */
#define SCAN_CHUNK 4096      /* records read at a time while recovering */

struct agent_spool {
    int fd;
    char path[1100];
    struct agent_spool_index ix;
    uint64_t gen; /* generation of the last state written */
    uint64_t unreadable;
};

static off_t slot_off(uint64_t slot)
{
    return (off_t)(RING_OFF + slot * REC);
}

static int pwrite_all(int fd, const uint8_t *p, size_t len, off_t off)
{
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
        off += n;
    }
    return 0;
}

/* Reads len bytes at off; bytes past the end of the file read as zeros (an empty slot). */
static int pread_all(int fd, uint8_t *p, size_t len, off_t off)
{
    while (len > 0) {
        ssize_t n = pread(fd, p, len, off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0) {
            memset(p, 0, len);
            return 0;
        }
        p += n;
        len -= (size_t)n;
        off += n;
    }
    return 0;
}

static int write_state(struct agent_spool *sp)
{
    struct agent_spool_state st = {.gen = sp->gen + 1,
                                   .acked = sp->ix.acked,
                                   .dropped = sp->ix.dropped,
                                   .capacity = sp->ix.capacity};
    uint8_t buf[REC];
    agent_spool_state_encode(&st, buf);
    /* Alternate slots, so a torn write leaves the previous state intact. */
    if (pwrite_all(sp->fd, buf, REC, (off_t)((st.gen % 2) * REC)) != 0) {
        log_error("writing the state of %s failed: %s", sp->path, strerror(errno));
        return -1;
    }
    sp->gen = st.gen;
    return 0;
}

/* The newer valid state slot, or -1 when neither is valid (a new or foreign file). */
static int read_state(int fd, struct agent_spool_state *out)
{
    uint8_t buf[2 * REC];
    if (pread_all(fd, buf, sizeof(buf), 0) != 0)
        return -1;
    struct agent_spool_state a, b;
    int va = agent_spool_state_decode(buf, &a) == 0;
    int vb = agent_spool_state_decode(buf + REC, &b) == 0;
    if (!va && !vb)
        return -1;
    *out = (va && (!vb || a.gen > b.gen)) ? a : b;
    return 0;
}

/* Calls fn for every valid record of a ring of `capacity` slots that sits in its own slot. */
static int scan_ring(int fd, uint64_t capacity, void (*fn)(void *, const struct agent_fix *),
                     void *arg)
{
    uint8_t *buf = malloc((size_t)SCAN_CHUNK * REC);
    if (!buf)
        return -1;
    for (uint64_t s = 0; s < capacity; s += SCAN_CHUNK) {
        uint64_t n = capacity - s < SCAN_CHUNK ? capacity - s : SCAN_CHUNK;
        if (pread_all(fd, buf, (size_t)n * REC, slot_off(s)) != 0) {
            free(buf);
            return -1;
        }
        for (uint64_t i = 0; i < n; i++) {
            struct agent_fix f;
            if (agent_spool_fix_decode(buf + i * REC, &f) == 0 && f.seq % capacity == s + i)
                fn(arg, &f);
        }
    }
    free(buf);
    return 0;
}

static void note_max(void *arg, const struct agent_fix *f)
{
    uint64_t *m = arg;
    if (f->seq > *m)
        *m = f->seq;
}

/* Pending fixes of the old ring, collected when the capacity changes. */
struct carry {
    uint64_t acked;
    struct agent_fix *v;
    size_t n, cap;
    int oom;
};

static void note_pending(void *arg, const struct agent_fix *f)
{
    struct carry *c = arg;
    if (f->seq <= c->acked || c->oom)
        return;
    if (c->n == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 1024;
        struct agent_fix *nv = realloc(c->v, ncap * sizeof(*nv));
        if (!nv) {
            c->oom = 1;
            return;
        }
        c->v = nv;
        c->cap = ncap;
    }
    c->v[c->n++] = *f;
}

static int by_seq(const void *a, const void *b)
{
    uint64_t x = ((const struct agent_fix *)a)->seq, y = ((const struct agent_fix *)b)->seq;
    return x < y ? -1 : x > y;
}

/* Moves the pending fixes of a ring of st->capacity slots into one of sp->ix.capacity slots,
 * in place: they are read into memory first, the file is truncated and rewritten. */
static int resize_ring(struct agent_spool *sp, const struct agent_spool_state *st)
{
    struct carry c = {.acked = st->acked};
    if (scan_ring(sp->fd, st->capacity, note_pending, &c) != 0 || c.oom) {
        free(c.v);
        return -1;
    }
    qsort(c.v, c.n, sizeof(*c.v), by_seq);
    size_t skip = c.n > sp->ix.capacity ? c.n - (size_t)sp->ix.capacity : 0;
    sp->ix.dropped += skip;
    int rc = ftruncate(sp->fd, RING_OFF);
    for (size_t i = skip; rc == 0 && i < c.n; i++) {
        uint8_t buf[REC];
        agent_spool_fix_encode(&c.v[i], buf);
        rc = pwrite_all(sp->fd, buf, REC, slot_off(agent_spool_slot(&sp->ix, c.v[i].seq)));
    }
    log_warn("spool %s resized from %llu to %llu fixes: %zu pending kept, %zu dropped", sp->path,
             (unsigned long long)st->capacity, (unsigned long long)sp->ix.capacity, c.n - skip,
             skip);
    free(c.v);
    return rc == 0 ? write_state(sp) : -1;
}

struct agent_spool *agent_spool_open(const char *dir, uint64_t capacity, char *errbuf,
                                     size_t errlen)
{
    struct agent_spool *sp = calloc(1, sizeof(*sp));
    if (!sp) {
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    sp->fd = -1;
    snprintf(sp->path, sizeof(sp->path), "%s/spool.dat", dir);
    if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
        snprintf(errbuf, errlen, "cannot create spool directory %s: %s", dir, strerror(errno));
        goto fail;
    }
    sp->fd = open(sp->path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (sp->fd < 0) {
        snprintf(errbuf, errlen, "cannot open spool %s: %s", sp->path, strerror(errno));
        goto fail;
    }
    struct flock lk = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fcntl(sp->fd, F_SETLK, &lk) != 0) {
        snprintf(errbuf, errlen, "spool %s is in use by another lpg-agent (%s)", sp->path,
                 strerror(errno));
        goto fail;
    }
    struct agent_spool_state st;
    int have_state = read_state(sp->fd, &st) == 0;
    uint64_t old_cap = have_state && st.capacity > 0 ? st.capacity : capacity;
    uint64_t max_seq = 0;
    if (scan_ring(sp->fd, old_cap, note_max, &max_seq) != 0) {
        snprintf(errbuf, errlen, "cannot read spool %s: %s", sp->path, strerror(errno));
        goto fail;
    }
    agent_spool_index_recover(&sp->ix, capacity, have_state ? &st : NULL, max_seq);
    sp->gen = have_state ? st.gen : 0;
    if (have_state && old_cap != capacity) {
        if (resize_ring(sp, &st) != 0) {
            snprintf(errbuf, errlen, "cannot resize spool %s", sp->path);
            goto fail;
        }
    } else if (write_state(sp) != 0 || agent_spool_sync(sp) != 0) {
        snprintf(errbuf, errlen, "cannot write spool %s: %s", sp->path, strerror(errno));
        goto fail;
    }
    return sp;
fail:
    if (sp->fd >= 0)
        close(sp->fd);
    free(sp);
    return NULL;
}

void agent_spool_close(struct agent_spool *sp)
{
    if (!sp)
        return;
    write_state(sp);
    agent_spool_sync(sp);
    close(sp->fd);
    free(sp);
}

int agent_spool_append(struct agent_spool *sp, struct agent_fix *f)
{
    uint64_t slot;
    bool overwrote;
    f->seq = agent_spool_index_append(&sp->ix, &slot, &overwrote);
    if (overwrote && (sp->ix.dropped & (sp->ix.dropped - 1)) == 0)
        /* Logged at 1, 2, 4, 8... drops: an operator learns of it without a flood. */
        log_warn("spool full (%llu fixes): oldest unacknowledged fix dropped (%llu so far)",
                 (unsigned long long)sp->ix.capacity, (unsigned long long)sp->ix.dropped);
    uint8_t buf[REC];
    agent_spool_fix_encode(f, buf);
    if (pwrite_all(sp->fd, buf, REC, slot_off(slot)) != 0) {
        log_error("writing fix %llu to %s failed: %s", (unsigned long long)f->seq, sp->path,
                  strerror(errno));
        return -1;
    }
    return 0;
}

size_t agent_spool_read(struct agent_spool *sp, uint64_t from, struct agent_fix *out, size_t max,
                        uint64_t *next)
{
    uint64_t seq = from, first = agent_spool_index_first_pending(&sp->ix);
    if (seq < first)
        seq = first;
    size_t n = 0;
    while (n < max && seq < sp->ix.next_seq) {
        uint8_t buf[REC];
        if (pread_all(sp->fd, buf, REC, slot_off(agent_spool_slot(&sp->ix, seq))) == 0 &&
            agent_spool_fix_decode(buf, &out[n]) == 0 && out[n].seq == seq)
            n++;
        else
            sp->unreadable++;
        seq++;
    }
    *next = seq;
    return n;
}

int agent_spool_ack(struct agent_spool *sp, uint64_t position_seq)
{
    uint64_t before = sp->ix.acked;
    int jumped = agent_spool_index_ack(&sp->ix, position_seq);
    if (sp->ix.acked == before)
        return 0;
    return write_state(sp) == 0 ? jumped : -1;
}

int agent_spool_sync(struct agent_spool *sp)
{
    if (fdatasync(sp->fd) != 0) {
        log_error("fdatasync of %s failed: %s", sp->path, strerror(errno));
        return -1;
    }
    return 0;
}

const struct agent_spool_index *agent_spool_get_index(const struct agent_spool *sp)
{
    return &sp->ix;
}

uint64_t agent_spool_unreadable(const struct agent_spool *sp)
{
    return sp->unreadable;
}

const char *agent_spool_path(const struct agent_spool *sp)
{
    return sp->path;
}
