/*
 * fuzz_jt808_server.c - libFuzzer target for the JT/T 808 listener as the service runs it: the
 * real dispatch/jt808/jt808_server.c (on common/stream_server.c: deframing, headers, the
 * session, registration, authentication, positions, batches, subpackages, driver cards) with
 * the real use cases (app/terminals.c, app/ingest.c and the alerts behind it), in process, on
 * one event loop, with the fake store (fake_store.c) instead of Redis and a seeded registry
 * with terminal FUZZ_TERMINAL of vehicle V1 whose code is FUZZ_AUTH_CODE (fuzz_box.c).
 *
 * Input (as fuzz_handset's):
 *   byte 0     flags: bit 0 the terminal closes its side after the stream (EOF);
 *              bit 1 the server shuts down gracefully once the exchange has settled;
 *              bit 2 the store's script applies from the start (else after the first write);
 *              bit 3 time passes: 1.5 s of the monotonic clock after each write, and three
 *              times 1.5 s at the end, each time with the server's reassembly tick run
 *   byte 1     chunk: 0 the stream is written at once; n the stream is written n*8 bytes at a
 *              time, the loop settling between writes (a terminal that waits for replies)
 *   byte 2     L, then L bytes: the store's script (fake_store.h: refused, lost, error replies)
 *   the rest   the byte stream the terminal sends (0x7E-delimited frames, as on the wire)
 * The terminal's end of a socketpair is served with jt808_server_adopt(), the server's path for
 * an accepted socket. The loop runs until nothing moves.
 *
 * Oracle: every frame the server sends must deframe with a checksum that holds, parse with
 * jt808_header_parse, be one of the messages the platform sends (0x8001, 0x8100, 0x8103,
 * 0x8003), unencrypted and whole; a 0x8001 has a 5-byte body with a result of 0..4; when every
 * frame of the terminal's stream has the 2019 header, or every one the 2011/2013 header, every
 * frame the server sends has that header too (replies keep the terminal's layout) (else abort).
 * ASan/UBSan/LeakSanitizer catch the rest.
 *
 * Time. The reassembly deadlines read CLOCK_MONOTONIC (jt808_server.c now_ms) and the tick is a
 * libevent timer of one real second. This target is linked with -Wl,--wrap=clock_gettime: the
 * project's calls see CLOCK_MONOTONIC plus an offset that only this file moves (never back), and
 * when time "passes" the tick is made active by hand (the server's only event whose argument is
 * the server). The box's reassembly timeout is 1 s (the smallest setting). Not reached: the
 * stream server's idle and authentication timeouts (libevent's own clock, not wrapped), and
 * ingest's periodic timers.
 *
 * Seeds: tests/fuzz/corpus/fuzz_jt808_server (gen_corpus.py), starting with a valid 0x0102 of
 * the seeded terminal so that the fuzzer starts authenticated.
 */
#include "fake_store.h"
#include "fuzz_box.h"
#include "jt808/jt808_codec.h"
#include "jt808/jt808_msg.h"
#include "jt808/jt808_server.h"
#include "store/store.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- the clock (-Wl,--wrap=clock_gettime) ---- */

int __real_clock_gettime(clockid_t id, struct timespec *ts);
int __wrap_clock_gettime(clockid_t id, struct timespec *ts);

static int64_t mono_offset_ms; /* only grows: the monotonic clock never goes back */

int __wrap_clock_gettime(clockid_t id, struct timespec *ts)
{
    int rc = __real_clock_gettime(id, ts);
    if (rc == 0 && id == CLOCK_MONOTONIC && mono_offset_ms > 0) {
        int64_t ns = (int64_t)ts->tv_nsec + (mono_offset_ms % 1000) * 1000000;
        ts->tv_sec += (time_t)(mono_offset_ms / 1000 + ns / 1000000000);
        ts->tv_nsec = (long)(ns % 1000000000);
    }
    return rc;
}

/* FUZZ_TRACE=1 in the environment: print what the server sends (to read a reproducer). */
static int trace;
/* The header layouts of the frames in the terminal's stream: bit 0 2011/2013, bit 1 2019. */
static unsigned sent_editions;

/* Which header layouts the terminal's stream uses (read as the server would read it). */
static unsigned editions_of(const uint8_t *data, size_t size)
{
    struct jt808_deframer dec;
    unsigned seen = 0;
    jt808_deframer_init(&dec);
    while (size > 0) {
        size_t used = 0;
        if (jt808_deframer_feed(&dec, data, size, &used) == JT808_FRAME) {
            size_t len;
            const uint8_t *frame = jt808_deframer_frame(&dec, &len);
            struct jt808_header h;
            const uint8_t *body;
            size_t body_len;
            const char *why;
            if (jt808_header_parse(frame, len, &h, &body, &body_len, &why) == 0)
                seen |= h.edition == JT808_2019 ? 2u : 1u;
        }
        data += used;
        size -= used;
    }
    return seen;
}

struct peer {
    int fd;
    struct jt808_deframer dec;
    uint64_t bytes_in;
};

static void check_frame(const uint8_t *frame, size_t len)
{
    struct jt808_header h;
    const uint8_t *body;
    size_t body_len;
    const char *why = "";
    if (jt808_header_parse(frame, len, &h, &body, &body_len, &why) != 0) {
        fprintf(stderr, "fuzz_jt808_server: the server sent a frame without a header: %s\n", why);
        abort();
    }
    if (trace) /* the id, then for 0x8001 the request's serial, id and the result */
        fprintf(stderr, "server: 0x%04x serial %u, %zu body bytes%s: %02x %02x %02x %02x %02x\n",
                (unsigned)h.msg_id, (unsigned)h.serial, body_len,
                h.edition == JT808_2019 ? " (2019)" : "", body_len > 0 ? body[0] : 0,
                body_len > 1 ? body[1] : 0, body_len > 2 ? body[2] : 0, body_len > 3 ? body[3] : 0,
                body_len > 4 ? body[4] : 0);
    if (h.encryption != 0 || h.subpackage) {
        fprintf(stderr, "fuzz_jt808_server: 0x%04x sent encrypted or in packages\n", h.msg_id);
        abort();
    }
    unsigned mine = h.edition == JT808_2019 ? 2u : 1u;
    if ((sent_editions == 1 || sent_editions == 2) && mine != sent_editions) {
        fprintf(stderr,
                "fuzz_jt808_server: 0x%04x in the %s header to a terminal that sent only "
                "the other\n",
                h.msg_id, mine == 2 ? "2019" : "2013");
        abort();
    }
    switch (h.msg_id) {
    case JT808_MSG_PLATFORM_REPLY:
        if (body_len != 5 || body[4] > JT808_RESULT_ALARM_CONFIRMED) {
            fprintf(stderr, "fuzz_jt808_server: 0x8001 of %zu bytes, result %u\n", body_len,
                    body_len >= 5 ? (unsigned)body[4] : 0u);
            abort();
        }
        break;
    case JT808_MSG_REGISTER_REPLY:
    case JT808_MSG_SET_PARAMS:
    case JT808_MSG_RESEND_REQUEST:
        break;
    default:
        fprintf(stderr, "fuzz_jt808_server: the server sent message 0x%04x\n", h.msg_id);
        abort();
    }
}

/* Reads what the server sent; every frame must pass check_frame and no byte may be dropped by
 * the deframer. Returns bytes read. */
static size_t peer_drain(struct peer *p)
{
    uint8_t buf[65536];
    size_t total = 0;
    for (;;) {
        ssize_t r = recv(p->fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (r <= 0)
            break;
        total += (size_t)r;
        const uint8_t *q = buf;
        size_t left = (size_t)r;
        while (left > 0) {
            size_t used = 0;
            enum jt808_feed f = jt808_deframer_feed(&p->dec, q, left, &used);
            q += used;
            left -= used;
            if (f == JT808_FRAME) {
                size_t len;
                const uint8_t *frame = jt808_deframer_frame(&p->dec, &len);
                check_frame(frame, len);
            } else if (f == JT808_BAD) {
                fprintf(stderr, "fuzz_jt808_server: the server sent a bad frame: %s\n",
                        jt808_deframer_error(&p->dec));
                abort();
            }
        }
        if (p->dec.skipped_bytes != 0) {
            fprintf(stderr, "fuzz_jt808_server: the server sent bytes outside frames\n");
            abort();
        }
    }
    p->bytes_in += total;
    return total;
}

static uint64_t progress(const struct fuzz_box *d, const struct peer *p)
{
    const struct jt808_stats *s = jt808_server_stats(d->jt808);
    const struct store_stats *ss = store_stats(d->s.store);
    return s->frames_in + s->frames_out + s->frames_bad + s->headers_bad +
           jt808_server_connections(d->jt808) + ss->commands_sent + ss->commands_refused +
           p->bytes_in;
}

static uint64_t io_progress(const struct fuzz_box *d, const void *p)
{
    return progress(d, p);
}

static void io_drain(void *p)
{
    peer_drain(p);
}

/* The shared plumbing (fuzz_box_settle, fuzz_box_peer_write) over this target's peer. */
static struct fuzz_peer_io peer_io(struct peer *p)
{
    return (struct fuzz_peer_io){p->fd, io_progress, io_drain, p};
}

static void settle(struct fuzz_box *d, struct peer *p)
{
    struct fuzz_peer_io io = peer_io(p);
    fuzz_box_settle(d, &io);
}

/* Writes the whole of bytes to the terminal's end, settling the loop whenever the socket is
 * full (the server stops reading while a message waits for the store). */
static void peer_write(struct fuzz_box *d, struct peer *p, const uint8_t *bytes, size_t n)
{
    struct fuzz_peer_io io = peer_io(p);
    fuzz_box_peer_write(d, &io, bytes, n);
}

/* The server's reassembly tick: its only event whose argument is the server itself. */
struct tick_find {
    const void *srv;
    struct event *found;
};

static int find_tick(const struct event_base *base, const struct event *ev, void *arg)
{
    (void)base;
    struct tick_find *tf = arg;
    if (event_get_callback_arg(ev) == tf->srv && event_get_fd(ev) < 0) {
        tf->found = (struct event *)ev;
        return 1;
    }
    return 0;
}

/* 1.5 s pass: the monotonic clock moves and the tick, if armed, runs now. */
static void time_passes(struct fuzz_box *d, struct peer *p)
{
    mono_offset_ms += 1500;
    struct tick_find tf = {.srv = d->jt808, .found = NULL};
    event_base_foreach_event(d->s.base, find_tick, &tf);
    /* Made active outside the walk (the walk must not change the base). */
    if (tf.found != NULL && evtimer_pending(tf.found, NULL))
        event_active(tf.found, EV_TIMEOUT, 1);
    settle(d, p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    trace = getenv("FUZZ_TRACE") != NULL;
    uint8_t flags = data[0];
    size_t chunk = (size_t)data[1] * 8;
    size_t script_len = data[2];
    data += 3;
    size -= 3;
    if (script_len > size)
        script_len = size;
    const uint8_t *script = data;
    data += script_len;
    size -= script_len;
    sent_editions = editions_of(data, size);

    struct fuzz_box d;
    fuzz_box_init(&d, FUZZ_BOX_JT808);
    if (flags & 4)
        fake_store_script(script, script_len);

    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        abort();
    struct peer p = {.fd = sv[0]};
    jt808_deframer_init(&p.dec);
    jt808_server_adopt(d.jt808, sv[1]);

    size_t off = 0;
    int first = 1;
    while (off < size) {
        size_t n = chunk == 0 || size - off < chunk ? size - off : chunk;
        peer_write(&d, &p, data + off, n);
        off += n;
        settle(&d, &p);
        if (flags & 8)
            time_passes(&d, &p);
        if (first && !(flags & 4))
            fake_store_script(script, script_len); /* after the authentication got through */
        first = 0;
    }
    if (flags & 1)
        shutdown(p.fd, SHUT_WR);
    settle(&d, &p);
    if (flags & 8)
        for (int i = 0; i < 3; i++)
            time_passes(&d, &p);
    if (flags & 2) {
        jt808_server_shutdown(d.jt808);
        settle(&d, &p);
    }
    fake_store_script(NULL, 0);
    fuzz_box_free(&d);
    peer_drain(&p);
    close(p.fd);
    return 0;
}
