/*
 * fuzz_jt808_msg.c - libFuzzer target for the JT/T 808 message bodies and the subpackage
 * reassembly (dispatch/jt808/jt808_msg.c, jt808_reasm.c). The input's first byte chooses:
 *   bit 0 clear: the rest is one body, given to every body parser (bit 1: a 2019 header), with
 *                the contracts of jt808_fuzz_body.h as oracles; the builders run on values taken
 *                from it and their output is read back;
 *   bit 0 set:   the rest is a script for one connection's jt808_reasm: records of
 *                op, msg_id, total, index, serial, length, then length bytes of body (op % 5 == 0:
 *                a tick of op * 100 ms with a 1 s timeout instead), the clock advancing op ms per
 *                record; oracles: what completes is at most 32 * 1023 bytes and readable, the
 *                slots in progress never exceed two, a tick reports what pending says, and every
 *                0x8003 request names missing indices in ascending order within the total.
 */
#include "jt808_fuzz_body.h"

#include "jt808/jt808_codec.h"
#include "jt808/jt808_reasm.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void on_missing(void *arg, uint16_t msg_id, uint16_t first_serial, const uint16_t *idx,
                       size_t n)
{
    (void)arg, (void)msg_id, (void)first_serial;
    JT808_FUZZ_CHECK(n >= 1 && n <= JT808_REASM_MAX_PACKETS);
    for (size_t i = 0; i < n; i++) {
        JT808_FUZZ_CHECK(idx[i] >= 1 && idx[i] <= JT808_REASM_MAX_PACKETS);
        JT808_FUZZ_CHECK(i == 0 || idx[i] > idx[i - 1]);
    }
    uint8_t req[4 + 2 * JT808_REASM_MAX_PACKETS];
    JT808_FUZZ_CHECK(jt808_build_resend_request(first_serial, idx, n, 1, req, sizeof(req)) ==
                     4 + 2 * n);
}

static void reasm_script(const uint8_t *p, size_t size)
{
    struct jt808_reasm *r = jt808_reasm_new();
    if (!r)
        return;
    int64_t now = 0;
    while (size >= 6) {
        uint8_t op = p[0];
        now += op;
        if (op % 5 == 0) {
            size_t left = jt808_reasm_tick(r, now + op * 100, 1000, on_missing, NULL);
            JT808_FUZZ_CHECK(left == jt808_reasm_pending(r) && left <= JT808_REASM_SLOTS);
            p++, size--;
            continue;
        }
        struct jt808_header h = {.msg_id = p[1],
                                 .subpackage = 1,
                                 .pkg_total = p[2] % 40,
                                 .pkg_index = p[3] % 40,
                                 .serial = p[4]};
        size_t len = (size_t)p[5] * 4;
        p += 6, size -= 6;
        if (len > size)
            len = size;
        const uint8_t *out = NULL;
        size_t out_len = 0;
        uint16_t first;
        enum jt808_reasm_result res = jt808_reasm_add(r, &h, p, len, now, &out, &out_len, &first);
        if (res == JT808_REASM_COMPLETE) {
            JT808_FUZZ_CHECK(out_len <= (size_t)JT808_REASM_MAX_PACKETS * JT808_BODY_MAX);
            uint8_t x = 0;
            for (size_t i = 0; i < out_len; i++)
                x ^= out[i]; /* every byte handed out is readable (ASan) */
            (void)x;
            jt808_fuzz_body(out, out_len, 0);
        }
        JT808_FUZZ_CHECK(jt808_reasm_pending(r) <= JT808_REASM_SLOTS);
        p += len, size -= len;
    }
    jt808_reasm_free(r);
}

static void builders(const uint8_t *p, size_t size)
{
    if (size < 8)
        return;
    uint8_t out[JT808_BODY_MAX];
    struct jt808_param prm[4];
    for (size_t i = 0; i < 4; i++) {
        prm[i].id = p[i];
        prm[i].len = (uint8_t)(p[4 + i] % 5);
        prm[i].value = (uint32_t)p[i] << 16 | p[7];
    }
    size_t n = jt808_build_set_params(prm, 4, out, (size_t)p[0] % 40);
    if (n) {
        JT808_FUZZ_CHECK(n <= (size_t)p[0] % 40 && out[0] == 4);
        size_t at = 1;
        for (size_t i = 0; i < 4; i++) {
            JT808_FUZZ_CHECK(out[at + 4] == prm[i].len);
            at += 5 + prm[i].len;
        }
        JT808_FUZZ_CHECK(at == n);
    }
    n = jt808_build_platform_reply((uint16_t)(p[0] << 8 | p[1]), (uint16_t)(p[2] << 8 | p[3]), p[4],
                                   out, (size_t)p[5] % 8);
    JT808_FUZZ_CHECK(n == ((size_t)p[5] % 8 >= 5 ? 5u : 0u));
    if (n) {
        struct jt808_reply rep;
        const char *why;
        JT808_FUZZ_CHECK(jt808_reply_parse(out, n, &rep, &why) == 0 &&
                         rep.serial == (uint16_t)(p[0] << 8 | p[1]) && rep.result == p[4]);
    }
    char code[16];
    size_t cl = size - 8 < sizeof(code) - 1 ? size - 8 : sizeof(code) - 1;
    memcpy(code, p + 8, cl);
    code[cl] = '\0';
    n = jt808_build_register_reply(1, p[1] % 5, code, out, (size_t)p[2] % 24);
    if (n) {
        JT808_FUZZ_CHECK(n >= 3 && out[2] == p[1] % 5);
        JT808_FUZZ_CHECK(p[1] % 5 != 0 || n == 3 + strlen(code));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint8_t sel = data[0];
    data++, size--;
    if (sel & 1) {
        reasm_script(data, size);
        return 0;
    }
    if (size > JT808_BODY_MAX * 2)
        size = JT808_BODY_MAX * 2; /* bodies come whole from the reassembly at most 32 KB */
    uint8_t *body = malloc(size ? size : 1); /* its exact size: ASan sees a read past it */
    if (!body)
        return 0;
    memcpy(body, data, size);
    jt808_fuzz_body(body, size, (sel >> 1) & 1);
    builders(body, size);
    free(body);
    return 0;
}
