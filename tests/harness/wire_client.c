/* wire_client.c -- blocking lpg.v1 client for integration tests (see wire_client.h). */
#include "wire_client.h"

#include "frame.h"
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint8_t *frame_env(const Lpg__V1__Envelope *env, size_t *total)
{
    size_t len = lpg__v1__envelope__get_packed_size(env);
    uint8_t *buf = malloc(LPG_FRAME_HEADER_SIZE + len);
    if (buf == NULL || lpg_frame_put_header(buf, len) != 0) {
        free(buf);
        return NULL;
    }
    lpg__v1__envelope__pack(env, buf + LPG_FRAME_HEADER_SIZE);
    *total = LPG_FRAME_HEADER_SIZE + len;
    return buf;
}

int wire_send(int fd, const Lpg__V1__Envelope *env)
{
    size_t total;
    uint8_t *buf = frame_env(env, &total);
    if (buf == NULL)
        return -1;
    int rc = harness_send_all(fd, buf, total);
    free(buf);
    return rc;
}

int wire_send_bytewise(int fd, const Lpg__V1__Envelope *env, int gap_ms)
{
    size_t total;
    uint8_t *buf = frame_env(env, &total);
    if (buf == NULL)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < total && rc == 0; i++) {
        rc = harness_send_all(fd, buf + i, 1);
        harness_sleep_ms(gap_ms);
    }
    free(buf);
    return rc;
}

Lpg__V1__Envelope *wire_recv_all(int fd, int timeout_ms)
{
    uint8_t header[LPG_FRAME_HEADER_SIZE];
    if (harness_recv_exact(fd, header, sizeof(header), timeout_ms, NULL) != 0)
        return NULL;
    uint32_t len = (uint32_t)header[0] << 24 | (uint32_t)header[1] << 16 |
                   (uint32_t)header[2] << 8 | header[3];
    if (len == 0 || len > LPG_FRAME_MAX_PAYLOAD) {
        fprintf(stderr, "wire_recv: bad frame length %u\n", len);
        return NULL;
    }
    uint8_t *payload = malloc(len);
    if (payload == NULL)
        return NULL;
    Lpg__V1__Envelope *env = NULL;
    if (harness_recv_exact(fd, payload, len, timeout_ms, NULL) == 0)
        env = lpg__v1__envelope__unpack(NULL, len, payload);
    free(payload);
    return env;
}

Lpg__V1__Envelope *wire_recv(int fd, int timeout_ms)
{
    Lpg__V1__Envelope *env = wire_recv_all(fd, timeout_ms);
    while (env && env->body_case == LPG__V1__ENVELOPE__BODY_ORDER_LIST &&
           !env->order_list->has_ack_seq) {
        lpg__v1__envelope__free_unpacked(env, NULL);
        env = wire_recv_all(fd, timeout_ms);
    }
    return env;
}

int wire_send_hello(int fd, uint64_t request_id, uint32_t version, const char *device_id,
                    const char *credential)
{
    Lpg__V1__Hello hello = LPG__V1__HELLO__INIT;
    if (credential) {
        hello.has_credential = 1;
        hello.credential.data = (uint8_t *)credential;
        hello.credential.len = strlen(credential);
    }
    hello.has_protocol_version = 1;
    hello.protocol_version = version;
    hello.device_id = (char *)device_id;
    hello.software = (char *)"lpg-integration-test";
    Lpg__V1__Envelope env = LPG__V1__ENVELOPE__INIT;
    env.has_request_id = 1;
    env.request_id = request_id;
    env.body_case = LPG__V1__ENVELOPE__BODY_HELLO;
    env.hello = &hello;
    return wire_send(fd, &env);
}

int wire_login(int port, const char *device_id, const char *credential)
{
    int fd = harness_tcp_connect(port);
    if (fd < 0)
        return -1;
    Lpg__V1__Envelope *env = NULL;
    if (wire_send_hello(fd, 1, 1, device_id, credential) != 0 ||
        (env = wire_recv(fd, HARNESS_REPLY_TIMEOUT_MS)) == NULL ||
        env->body_case != LPG__V1__ENVELOPE__BODY_ACK) {
        fprintf(stderr, "wire_login: %s was not logged in\n", device_id);
        if (env)
            lpg__v1__envelope__free_unpacked(env, NULL);
        close(fd);
        return -1;
    }
    lpg__v1__envelope__free_unpacked(env, NULL);
    return fd;
}

void wire_fix_3d(Lpg__V1__Fix *f, uint64_t seq, uint64_t time_ms, int32_t lat_e7, int32_t lon_e7,
                 uint32_t speed_cm_s)
{
    lpg__v1__fix__init(f);
    f->has_seq = f->has_time_ms = f->has_lat_e7 = f->has_lon_e7 = 1;
    f->has_speed_cm_s = f->has_mode = 1;
    f->seq = seq;
    f->time_ms = time_ms;
    f->lat_e7 = lat_e7;
    f->lon_e7 = lon_e7;
    f->speed_cm_s = speed_cm_s;
    f->mode = LPG__V1__FIX__MODE__FIX_3D;
}

int wire_send_batch(int fd, uint64_t request_id, Lpg__V1__Fix *fixes, size_t n, int late)
{
    Lpg__V1__Fix **ptrs = calloc(n ? n : 1, sizeof(*ptrs));
    if (ptrs == NULL)
        return -1;
    for (size_t i = 0; i < n; i++)
        ptrs[i] = &fixes[i];
    Lpg__V1__PositionBatch b = LPG__V1__POSITION_BATCH__INIT;
    b.n_fixes = n;
    b.fixes = ptrs;
    b.has_late = late != 0;
    b.late = late != 0;
    Lpg__V1__Envelope out = LPG__V1__ENVELOPE__INIT;
    out.has_request_id = 1;
    out.request_id = request_id;
    out.body_case = LPG__V1__ENVELOPE__BODY_POSITION_BATCH;
    out.position_batch = &b;
    int rc = wire_send(fd, &out);
    free(ptrs);
    return rc;
}

long long wire_send_positions(int fd, uint64_t request_id, Lpg__V1__Fix *fixes, size_t n,
                              int timeout_ms)
{
    if (wire_send_batch(fd, request_id, fixes, n, 0) != 0)
        return -1;
    for (int i = 0; i < 64; i++) {
        Lpg__V1__Envelope *env = wire_recv(fd, timeout_ms);
        if (env == NULL)
            return -1;
        long long acked =
            env->body_case == LPG__V1__ENVELOPE__BODY_ACK ? (long long)env->ack->position_seq : -2;
        lpg__v1__envelope__free_unpacked(env, NULL);
        if (acked != -2)
            return acked;
    }
    return -1;
}
