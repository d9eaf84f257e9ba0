/* test_agent_spool.c -- the spool: record codec (round trip, torn and foreign records
 * refused), the ring's bookkeeping (pending range, oldest dropped and counted when full, ack
 * trims, a server mark beyond the spool), and the file (survives close and reopen with seq
 * continuing, ack persisted, a torn record skipped and counted, a resize keeps the newest,
 * a second opener is refused). The kill -9 case runs with the real process in
 * test_agent_replay.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/agent_spool.h"
#include "agent/agent_spool_file.h"

static struct agent_fix sample(uint64_t i)
{
    struct agent_fix f;
    memset(&f, 0, sizeof(f));
    f.time_ms = 1795824000000ULL + i * 1000;
    f.rx_ms = 1795824000500ULL + i * 1000;
    f.lat_e7 = 492100000 + (int32_t)i;
    f.lon_e7 = -1197500000 - (int32_t)i;
    f.speed_cm_s = 1000 + (uint32_t)i;
    f.heading_cdeg = 35999;
    f.accuracy_cm = 350;
    f.altitude_cm = -400;
    f.mode = 3;
    f.source = 1;
    f.satellites = 12;
    f.has_speed = f.has_heading = f.has_accuracy = f.has_altitude = f.has_satellites = true;
    f.speed_derived = (i % 2) == 0;
    return f;
}

static void test_record_round_trip(void **state)
{
    (void)state;
    struct agent_fix f = sample(7), g;
    f.seq = 42;
    uint8_t buf[AGENT_SPOOL_REC_SIZE];
    agent_spool_fix_encode(&f, buf);
    assert_int_equal(agent_spool_fix_decode(buf, &g), 0);
    assert_memory_equal(&f, &g, sizeof(f)); /* both memset, so padding agrees */
    /* One flipped bit anywhere: refused (a torn write never reads as a wrong fix). */
    for (size_t i = 0; i < sizeof(buf); i++) {
        buf[i] ^= 0x10;
        assert_int_equal(agent_spool_fix_decode(buf, &g), -1);
        buf[i] ^= 0x10;
    }
    uint8_t zeros[AGENT_SPOOL_REC_SIZE] = {0};
    assert_int_equal(agent_spool_fix_decode(zeros, &g), -1);
    /* A state record is not a fix, and the other way round. */
    struct agent_spool_state st = {.gen = 3, .acked = 9, .dropped = 2, .capacity = 16}, st2;
    agent_spool_state_encode(&st, buf);
    assert_int_equal(agent_spool_fix_decode(buf, &g), -1);
    assert_int_equal(agent_spool_state_decode(buf, &st2), 0);
    assert_int_equal(st2.acked, 9);
    assert_int_equal(st2.capacity, 16);
    agent_spool_fix_encode(&f, buf);
    assert_int_equal(agent_spool_state_decode(buf, &st2), -1);
    /* zlib's check value for "123456789". */
    assert_int_equal(agent_spool_crc32((const uint8_t *)"123456789", 9), 0xcbf43926u);
}

static void test_index_full_drops_oldest(void **state)
{
    (void)state;
    struct agent_spool_index ix;
    agent_spool_index_init(&ix, 4);
    uint64_t slot;
    bool over;
    for (uint64_t s = 1; s <= 4; s++) {
        assert_int_equal(agent_spool_index_append(&ix, &slot, &over), s);
        assert_false(over);
        assert_int_equal(slot, s % 4);
    }
    assert_int_equal(agent_spool_index_pending(&ix), 4);
    assert_int_equal(agent_spool_index_first_pending(&ix), 1);
    /* Full: the 5th overwrites seq 1, which is counted as dropped. */
    assert_int_equal(agent_spool_index_append(&ix, &slot, &over), 5);
    assert_true(over);
    assert_int_equal(ix.dropped, 1);
    assert_int_equal(agent_spool_index_first_pending(&ix), 2);
    assert_int_equal(agent_spool_index_pending(&ix), 4);
    /* Ack trims: 2..4 acknowledged leaves 5; appending again overwrites garbage, no drop. */
    assert_int_equal(agent_spool_index_ack(&ix, 4), 0);
    assert_int_equal(agent_spool_index_pending(&ix), 1);
    assert_int_equal(agent_spool_index_append(&ix, &slot, &over), 6);
    assert_false(over);
    assert_int_equal(ix.dropped, 1);
    /* An old Ack changes nothing. */
    assert_int_equal(agent_spool_index_ack(&ix, 3), 0);
    assert_int_equal(ix.acked, 4);
    assert_int_equal(agent_spool_index_ack(&ix, 6), 0);
    assert_int_equal(agent_spool_index_pending(&ix), 0);
    assert_int_equal(agent_spool_index_first_pending(&ix), 7);
    /* The server already has seq 100 (the spool was deleted): continue after it. */
    assert_int_equal(agent_spool_index_ack(&ix, 100), 1);
    assert_int_equal(ix.next_seq, 101);
    assert_int_equal(agent_spool_index_pending(&ix), 0);
}

static void test_index_recover(void **state)
{
    (void)state;
    struct agent_spool_index ix;
    struct agent_spool_state st = {.gen = 5, .acked = 20, .dropped = 3, .capacity = 8};
    /* Every record acknowledged: seq continues after the ack, never reused. */
    agent_spool_index_recover(&ix, 8, &st, 20);
    assert_int_equal(ix.next_seq, 21);
    assert_int_equal(ix.dropped, 3);
    agent_spool_index_recover(&ix, 8, &st, 25);
    assert_int_equal(ix.next_seq, 26);
    assert_int_equal(agent_spool_index_pending(&ix), 5);
    /* No state (lost): everything found is pending. */
    agent_spool_index_recover(&ix, 8, NULL, 12);
    assert_int_equal(ix.next_seq, 13);
    assert_int_equal(agent_spool_index_first_pending(&ix), 5);
    agent_spool_index_recover(&ix, 8, NULL, 0);
    assert_int_equal(ix.next_seq, 1);
}

static char dir[256];

static int mkdir_tmp(void **state)
{
    (void)state;
    const char *t = getenv("TMPDIR");
    snprintf(dir, sizeof(dir), "%s/spool-test-XXXXXX", t ? t : "/tmp");
    return mkdtemp(dir) ? 0 : -1;
}

static int rm_tmp(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void append_n(struct agent_spool *sp, uint64_t from, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        struct agent_fix f = sample(from + i);
        assert_int_equal(agent_spool_append(sp, &f), 0);
        assert_int_equal(f.seq, from + i);
    }
}

static void test_file_survives_reopen(void **state)
{
    (void)state;
    char err[256];
    struct agent_spool *sp = agent_spool_open(dir, 16, err, sizeof(err));
    assert_non_null(sp);
    append_n(sp, 1, 10);
    assert_int_equal(agent_spool_ack(sp, 4), 0);
    /* A second agent on the same spool is refused, naming the file. */
    pid_t pid = fork();
    if (pid == 0) {
        char e2[256];
        struct agent_spool *other = agent_spool_open(dir, 16, e2, sizeof(e2));
        _exit(other == NULL && strstr(e2, "in use by another lpg-agent") ? 0 : 1);
    }
    int st;
    waitpid(pid, &st, 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    agent_spool_close(sp);

    sp = agent_spool_open(dir, 16, err, sizeof(err));
    assert_non_null(sp);
    const struct agent_spool_index *ix = agent_spool_get_index(sp);
    assert_int_equal(ix->acked, 4);
    assert_int_equal(ix->next_seq, 11);
    struct agent_fix out[16];
    uint64_t next;
    size_t n = agent_spool_read(sp, 1, out, 16, &next);
    assert_int_equal(n, 6);
    assert_int_equal(next, 11);
    for (size_t i = 0; i < n; i++) {
        struct agent_fix want = sample(5 + i);
        want.seq = 5 + i;
        assert_memory_equal(&out[i], &want, sizeof(want));
    }
    /* Fill beyond capacity: 6 pending + 14 new = 20 > 16: 4 oldest dropped. */
    append_n(sp, 11, 14);
    assert_int_equal(ix->dropped, 4);
    n = agent_spool_read(sp, 1, out, 16, &next);
    assert_int_equal(n, 16);
    assert_int_equal(out[0].seq, 9);
    assert_int_equal(out[15].seq, 24);
    agent_spool_close(sp);

    /* A torn record (a power cut mid-write): skipped and counted, the rest still read. */
    char path[300];
    snprintf(path, sizeof(path), "%s/spool.dat", dir);
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    uint8_t junk = 0xff;
    assert_int_equal(
        pwrite(fd, &junk, 1,
               (off_t)(2 * AGENT_SPOOL_REC_SIZE + (10 % 16) * AGENT_SPOOL_REC_SIZE + 20)),
        1);
    close(fd);
    sp = agent_spool_open(dir, 16, err, sizeof(err));
    assert_non_null(sp);
    ix = agent_spool_get_index(sp);
    assert_int_equal(ix->next_seq, 25);
    assert_int_equal(ix->dropped, 4);
    n = agent_spool_read(sp, 1, out, 16, &next);
    assert_int_equal(n, 15);
    assert_int_equal(agent_spool_unreadable(sp), 1);
    assert_int_equal(out[0].seq, 9);
    assert_int_equal(out[1].seq, 11);
    agent_spool_close(sp);

    /* A smaller spool_max_fixes: the newest pending are kept, the rest dropped and counted. */
    sp = agent_spool_open(dir, 8, err, sizeof(err));
    assert_non_null(sp);
    ix = agent_spool_get_index(sp);
    assert_int_equal(ix->capacity, 8);
    assert_int_equal(ix->next_seq, 25);
    assert_int_equal(ix->dropped, 4 + 7); /* 15 readable pending, 8 kept */
    n = agent_spool_read(sp, 1, out, 16, &next);
    assert_int_equal(n, 8);
    assert_int_equal(out[0].seq, 17);
    assert_int_equal(out[7].seq, 24);
    /* Everything acknowledged, then reopened: seq goes on, nothing pending. */
    assert_int_equal(agent_spool_ack(sp, 24), 0);
    agent_spool_close(sp);
    sp = agent_spool_open(dir, 8, err, sizeof(err));
    assert_non_null(sp);
    assert_int_equal(agent_spool_index_pending(agent_spool_get_index(sp)), 0);
    assert_int_equal(agent_spool_get_index(sp)->next_seq, 25);
    agent_spool_close(sp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_round_trip),
        cmocka_unit_test(test_index_full_drops_oldest),
        cmocka_unit_test(test_index_recover),
        cmocka_unit_test_setup_teardown(test_file_survives_reopen, mkdir_tmp, rm_tmp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
