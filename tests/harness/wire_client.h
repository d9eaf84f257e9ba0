/* wire_client.h -- a blocking lpg.v1 client for integration tests: frame and send an
 * Envelope, receive and decode one.
 */
#ifndef LPG_TEST_WIRE_CLIENT_H
#define LPG_TEST_WIRE_CLIENT_H

#include "lpg/v1/envelope.pb-c.h"

#include <stddef.h>

/* Packs, frames and sends env. Returns 0 or -1. */
int wire_send(int fd, const Lpg__V1__Envelope *env);
/* Sends the framed env one byte at a time, sleeping gap_ms between bytes. */
int wire_send_bytewise(int fd, const Lpg__V1__Envelope *env, int gap_ms);
/* Receives one frame within timeout_ms and unpacks it; the caller frees the result with
 * lpg__v1__envelope__free_unpacked(env, NULL). NULL on timeout, EOF or bad data. */
Lpg__V1__Envelope *wire_recv_all(int fd, int timeout_ms);
/* The same, skipping the OrderList a person's session gets unasked after every login (most
 * tests are not about it; those that are use wire_recv_all). */
Lpg__V1__Envelope *wire_recv(int fd, int timeout_ms);
/* Sends Hello(protocol_version, device_id, credential) with request_id (credential may be
 * NULL: none). */
int wire_send_hello(int fd, uint64_t request_id, uint32_t version, const char *device_id,
                    const char *credential);

/* Connects to 127.0.0.1:port and logs device_id in (Hello with request_id 1, Ack expected).
 * Returns the connected fd, or -1 (printing why). */
int wire_login(int port, const char *device_id, const char *credential);
/* A 3D fix with a speed (the common case of tests). */
void wire_fix_3d(Lpg__V1__Fix *f, uint64_t seq, uint64_t time_ms, int32_t lat_e7, int32_t lon_e7,
                 uint32_t speed_cm_s);
/* Sends a PositionBatch of fixes[0..n) as request_id (late: the batch is store-and-forward
 * backfill). Returns 0 or -1. */
int wire_send_batch(int fd, uint64_t request_id, Lpg__V1__Fix *fixes, size_t n, int late);
/* Sends a PositionBatch of fixes[0..n) as request_id, then reads replies (Alerts and the like
 * are skipped) until its Ack within timeout_ms. Returns the Ack's position_seq, or -1. */
long long wire_send_positions(int fd, uint64_t request_id, Lpg__V1__Fix *fixes, size_t n,
                              int timeout_ms);

#endif
