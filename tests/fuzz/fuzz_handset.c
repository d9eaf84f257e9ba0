/*
 * fuzz_handset.c - libFuzzer target for the handset protocol as the service runs it: the real
 * handset server (dispatch/handset/handset_server.c: framing, Envelope decoding, Hello, Ping,
 * errors, hold/release) with the real hooks (handset_dispatch.c, ingest.c, delivery.c: every
 * message kind, resends of batches, OrderAssigned re-sent at login), in process, on one event loop,
 * with the fake store (fake_store.c) instead of Redis and a seeded registry (fuzz_box.c).
 *
 * Input:
 *   byte 0     flags: bit 0 the device closes its side after the stream (EOF);
 *              bit 1 the server shuts down gracefully once the exchange has settled;
 *              bit 2 the store's script applies from the start (else after the Hello's write)
 *   byte 1     chunk: 0 the stream is written at once; n the stream is written n*8 bytes at a
 *              time, the loop settling between writes (a device that waits for replies)
 *   byte 2     L, then L bytes: the store's script (fake_store.h: refused, lost, error replies)
 *   the rest   the byte stream the device sends (frames: 4-byte big-endian length + Envelope)
 * The device's end of a socketpair is served with handset_server_adopt(), the server's path
 * for an accepted socket. The loop runs until nothing moves. Every frame the server sends must
 * decode as an Envelope (else abort); ASan/UBSan/LeakSanitizer catch the rest.
 * Seeds: tests/fuzz/corpus/fuzz_handset (gen_corpus.py), with a valid Hello of the seeded
 * device (fuzz_box.h) so that the fuzzer starts logged in.
 */
#include "fake_store.h"
#include "frame.h"
#include "fuzz_box.h"
#include "handset/handset_server.h"
#include "store/store.h"

#include "lpg/v1/envelope.pb-c.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* FUZZ_TRACE=1 in the environment: print what the server sends (to read a reproducer). */
static int trace;

struct peer {
    int fd;
    struct lpg_frame_decoder *dec;
    uint64_t bytes_in;
};

/* Reads what the server sent; every frame must be an Envelope. Returns bytes read. */
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
            size_t n = lpg_frame_feed(p->dec, q, left);
            q += n;
            left -= n;
            const uint8_t *payload;
            size_t len;
            int rc;
            while ((rc = lpg_frame_next(p->dec, &payload, &len)) == LPG_FRAME_READY) {
                Lpg__V1__Envelope *env = lpg__v1__envelope__unpack(NULL, len, payload);
                if (env == NULL)
                    abort(); /* the server framed something that is not an Envelope */
                if (trace) {
                    int is_err = env->body_case == LPG__V1__ENVELOPE__BODY_ERROR;
                    fprintf(stderr, "server: body %d%s%s\n", (int)env->body_case,
                            is_err ? " error: " : "",
                            is_err && env->error->message ? env->error->message : "");
                }
                lpg__v1__envelope__free_unpacked(env, NULL);
            }
            if (rc < 0)
                abort(); /* the server broke the framing */
        }
    }
    p->bytes_in += total;
    return total;
}

static uint64_t progress(const struct fuzz_box *d, const struct peer *p)
{
    const struct handset_stats *s = handset_server_stats(d->handset.srv);
    const struct store_stats *ss = store_stats(d->s.store);
    return s->frames_in + s->frames_out + s->closed + s->errors_sent + s->sessions_opened +
           ss->commands_sent + ss->commands_refused + p->bytes_in;
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

/* Writes the whole of bytes to the device's end, settling the loop whenever the socket is full
 * (the server reads one frame at a time). */
static void peer_write(struct fuzz_box *d, struct peer *p, const uint8_t *bytes, size_t n)
{
    struct fuzz_peer_io io = peer_io(p);
    fuzz_box_peer_write(d, &io, bytes, n);
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

    struct fuzz_box d;
    fuzz_box_init(&d, FUZZ_BOX_HANDSET);
    if (flags & 4)
        fake_store_script(script, script_len);

    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        abort();
    struct peer p = {.fd = sv[0], .dec = lpg_frame_decoder_new(LPG_FRAME_MAX_PAYLOAD)};
    if (p.dec == NULL)
        abort();
    handset_server_adopt(d.handset.srv, sv[1]);

    size_t off = 0;
    int first = 1;
    while (off < size) {
        size_t n = chunk == 0 || size - off < chunk ? size - off : chunk;
        peer_write(&d, &p, data + off, n);
        off += n;
        settle(&d, &p);
        if (first && !(flags & 4))
            fake_store_script(script, script_len); /* after the login got through */
        first = 0;
    }
    if (flags & 1)
        shutdown(p.fd, SHUT_WR);
    settle(&d, &p);
    if (flags & 2) {
        handset_server_shutdown(d.handset.srv);
        settle(&d, &p);
    }
    fake_store_script(NULL, 0);
    fuzz_box_free(&d);
    peer_drain(&p);
    close(p.fd);
    lpg_frame_decoder_free(p.dec);
    return 0;
}
