/* test_tls.c -- TLS on dispatchd's two listeners and in lpg-agent, the refusal of plaintext off
 * loopback, and Redis with a password, against the real processes.
 *
 * A private CA and certificates are made at test time with the openssl command line: a server
 * certificate for 127.0.0.1 and localhost, one signed by the same CA for another name only, and
 * a second CA that signed nothing dispatchd presents.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"
#include "wire_client.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef LPG_AGENT_BIN
#error "LPG_AGENT_BIN must be defined by the build"
#endif

static char pki[256]; /* the certificates of this run */
static char ca[320], server_cert[320], server_key[320], wrong_cert[320], wrong_key[320],
    other_ca[320];

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    int st = system(cmd);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "test_tls: failed: %s\n", cmd);
        return -1;
    }
    return 0;
}

/* A leaf certificate for `san`, signed by the CA in dir/ca.pem. */
static int make_leaf(const char *name, const char *san)
{
    return sh("cd '%s' && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
              "-keyout %s.key -out %s.csr -subj /CN=%s 2>/dev/null && "
              "printf 'subjectAltName=%s\\nextendedKeyUsage=serverAuth\\n' > %s.ext && "
              "openssl x509 -req -in %s.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
              "-extfile %s.ext -out %s.pem 2>/dev/null",
              pki, name, name, name, san, name, name, name, name);
}

static int group_setup(void **state)
{
    (void)state;
    if (harness_tmpdir(pki, sizeof(pki), "tls-pki") != 0)
        return -1;
    if (sh("cd '%s' && for n in ca other-ca; do openssl req -x509 -newkey ec "
           "-pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $n.key -out $n.pem -days 2 "
           "-subj \"/CN=lpg test $n\" 2>/dev/null || exit 1; done",
           pki) != 0 ||
        make_leaf("server", "DNS:localhost,IP:127.0.0.1") != 0 ||
        make_leaf("wrong", "DNS:wrong.example") != 0)
        return -1;
    snprintf(ca, sizeof(ca), "%s/ca.pem", pki);
    snprintf(other_ca, sizeof(other_ca), "%s/other-ca.pem", pki);
    snprintf(server_cert, sizeof(server_cert), "%s/server.pem", pki);
    snprintf(server_key, sizeof(server_key), "%s/server.key", pki);
    snprintf(wrong_cert, sizeof(wrong_cert), "%s/wrong.pem", pki);
    snprintf(wrong_key, sizeof(wrong_key), "%s/wrong.key", pki);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    harness_rmdir(pki);
    return 0;
}

/* dispatchd with TLS on both listeners; the handset listener presents handset_cert. */
static void start_tls_stack(struct harness_stack *s, const char *tag, const char *handset_cert,
                            const char *handset_key)
{
    static char a[4][400];
    snprintf(a[0], sizeof(a[0]), "--http-tls-cert=%s", server_cert);
    snprintf(a[1], sizeof(a[1]), "--http-tls-key=%s", server_key);
    snprintf(a[2], sizeof(a[2]), "--handset-tls-cert=%s", handset_cert);
    snprintf(a[3], sizeof(a[3]), "--handset-tls-key=%s", handset_key);
    const char *const args[] = {a[0], a[1], a[2], a[3], NULL};
    harness_set_tls_ca(ca);
    assert_int_equal(harness_stack_start(s, tag, args), 0);
}

static int log_contains(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    char line[4096];
    int found = 0;
    while (!found && fgets(line, sizeof(line), f))
        found = strstr(line, needle) != NULL;
    fclose(f);
    return found;
}

/* Waits (generously: a busy machine) until the log holds needle. */
static int wait_log(const char *path, const char *needle, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    do {
        if (log_contains(path, needle))
            return 1;
        harness_sleep_ms(50);
    } while (now_ms() < deadline);
    return 0;
}

/* ---- both listeners over TLS ---- */

static void test_https_and_handset_session_over_tls(void **state)
{
    (void)state;
    struct harness_stack s;
    start_tls_stack(&s, "tls", server_cert, server_key);

    /* HTTPS works (the stack's own readiness check was HTTPS too). */
    int status = 0;
    char body[4096];
    assert_int_equal(
        harness_http(s.d.http_port, "GET", "/healthz", &status, body, sizeof(body), NULL, 0), 0);
    assert_int_equal(status, 200);

    /* Plain HTTP to the TLS port gets no HTTP answer: nothing is served in clear. */
    harness_set_tls_ca(NULL);
    status = 0;
    assert_int_not_equal(
        harness_http(s.d.http_port, "GET", "/healthz", &status, body, sizeof(body), NULL, 0), 0);
    assert_int_equal(status, 0);
    harness_set_tls_ca(ca);

    /* A client that trusts another CA refuses the HTTPS certificate. */
    char err[256];
    int fd = harness_tls_connect(s.d.http_port, other_ca, "127.0.0.1", err, sizeof(err));
    assert_int_equal(fd, -1);
    fprintf(stderr, "other CA refused as it must: %s\n", err);

    /* A handset session over TLS: Hello acknowledged, a position batch acknowledged. */
    char secret[64];
    assert_int_equal(harness_stack_device(&s, "tls-hs-1", secret), 0);
    assert_int_equal(harness_stack_vehicle(&s, "tls-v-1", "tls-hs-1"), 0);
    fd = harness_tls_connect(s.d.handset_port, ca, "localhost", err, sizeof(err));
    assert_true(fd >= 0);
    assert_int_equal(wire_send_hello(fd, 1, 1, "tls-hs-1", secret), 0);
    Lpg__V1__Envelope *env = wire_recv(fd, 10000);
    assert_non_null(env);
    assert_int_equal(env->body_case, LPG__V1__ENVELOPE__BODY_ACK);
    lpg__v1__envelope__free_unpacked(env, NULL);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t t = (uint64_t)ts.tv_sec * 1000 - 10000;
    Lpg__V1__Fix fixes[20];
    for (int i = 0; i < 20; i++)
        wire_fix_3d(&fixes[i], (uint64_t)i + 1, t + (uint64_t)i * 500, 492000000 + i * 10,
                    1197500000, 500);
    assert_true(wire_send_positions(fd, 2, fixes, 20, 10000) >= 0);

    /* 40 Pings in one TLS record: more frames than the server handles per read, all already
     * decrypted inside TLS where the socket's readiness does not show them; every one is
     * answered, in order. */
    uint8_t burst[40 * 32];
    size_t used = 0;
    for (uint64_t id = 3; id < 43; id++) {
        Lpg__V1__Ping ping = LPG__V1__PING__INIT;
        Lpg__V1__Envelope penv = LPG__V1__ENVELOPE__INIT;
        penv.has_request_id = 1;
        penv.request_id = id;
        penv.body_case = LPG__V1__ENVELOPE__BODY_PING;
        penv.ping = &ping;
        size_t len = lpg__v1__envelope__get_packed_size(&penv);
        assert_true(used + 4 + len <= sizeof(burst));
        burst[used++] = 0;
        burst[used++] = 0;
        burst[used++] = 0;
        burst[used++] = (uint8_t)len;
        lpg__v1__envelope__pack(&penv, burst + used);
        used += len;
    }
    assert_int_equal(harness_send_all(fd, burst, used), 0);
    for (uint64_t id = 3; id < 43; id++) {
        env = wire_recv(fd, 10000);
        assert_non_null(env);
        assert_int_equal(env->body_case, LPG__V1__ENVELOPE__BODY_ACK);
        assert_int_equal(env->ack->ack_seq, id);
        lpg__v1__envelope__free_unpacked(env, NULL);
    }
    harness_close(fd);

    /* A Hello in clear to the TLS handset port: no session, the connection is closed. */
    fd = harness_tcp_connect(s.d.handset_port);
    assert_true(fd >= 0);
    assert_int_equal(wire_send_hello(fd, 1, 1, "tls-hs-1", secret), 0);
    assert_null(wire_recv(fd, 3000));
    assert_int_equal(harness_wait_closed(fd, 10000), 1);
    harness_close(fd);

    /* lpg-agent: a session with the right CA, none with another CA. */
    char dir[400], cred[440], logok[440], logbad[440];
    snprintf(dir, sizeof(dir), "%s/agent", s.dir);
    mkdir(dir, 0700);
    snprintf(cred, sizeof(cred), "%s/secret", dir);
    FILE *f = fopen(cred, "w");
    assert_non_null(f);
    fprintf(f, "%s\n", secret);
    fclose(f);
    chmod(cred, 0600);
    char a_cred[480], a_srv[40], a_spool[480], a_ca[400];
    snprintf(a_cred, sizeof(a_cred), "--credential-file=%s", cred);
    snprintf(a_srv, sizeof(a_srv), "--server-port=%d", s.d.handset_port);
    int gpsd_port = harness_free_port(); /* nobody there: the link does not need gpsd */
    char a_gpsd[40];
    snprintf(a_gpsd, sizeof(a_gpsd), "--gpsd-port=%d", gpsd_port);

    snprintf(a_spool, sizeof(a_spool), "--spool-dir=%s/spool-ok", dir);
    snprintf(a_ca, sizeof(a_ca), "--tls-ca=%s", ca);
    snprintf(logok, sizeof(logok), "%s/agent-ok.log", dir);
    char *argv_ok[] = {LPG_AGENT_BIN,
                       "--device-id=tls-hs-1",
                       a_cred,
                       a_spool,
                       a_gpsd,
                       a_srv,
                       a_ca,
                       "--server-host=localhost",
                       "--reconnect-min=100",
                       "--reconnect-max=800",
                       NULL};
    struct harness_proc agent;
    memset(&agent, 0, sizeof(agent));
    assert_int_equal(harness_proc_start(&agent, "lpg-agent", logok, argv_ok), 0);
    int opened = wait_log(logok, "session open with localhost", 30000);
    assert_int_equal(WEXITSTATUS(harness_proc_stop(&agent, SIGTERM, 10000)), 0);
    if (!opened)
        harness_proc_dump_log(&agent, 20);
    assert_true(opened);

    snprintf(a_spool, sizeof(a_spool), "--spool-dir=%s/spool-bad", dir);
    snprintf(a_ca, sizeof(a_ca), "--tls-ca=%s", other_ca);
    snprintf(logbad, sizeof(logbad), "%s/agent-bad.log", dir);
    char *argv_bad[] = {
        LPG_AGENT_BIN,         "--device-id=tls-hs-1", a_cred, a_spool, a_gpsd, a_srv, a_ca,
        "--reconnect-min=100", "--reconnect-max=800",  NULL};
    memset(&agent, 0, sizeof(agent));
    assert_int_equal(harness_proc_start(&agent, "lpg-agent", logbad, argv_bad), 0);
    int refused = wait_log(logbad, "certificate is not trusted", 30000);
    harness_proc_stop(&agent, SIGTERM, 10000);
    if (!refused)
        harness_proc_dump_log(&agent, 20);
    assert_true(refused);
    assert_false(log_contains(logbad, "session open"));

    assert_int_equal(harness_stack_stop(&s), 0);
    harness_set_tls_ca(NULL);
}

/* A certificate of the right CA for another name: the agent and a checking client refuse. */
static void test_agent_refuses_certificate_for_another_name(void **state)
{
    (void)state;
    struct harness_stack s;
    start_tls_stack(&s, "tls-name", wrong_cert, wrong_key);
    char err[256];
    assert_int_equal(harness_tls_connect(s.d.handset_port, ca, "127.0.0.1", err, sizeof(err)), -1);
    int fd = harness_tls_connect(s.d.handset_port, ca, "wrong.example", err, sizeof(err));
    assert_true(fd >= 0); /* the same certificate is fine for its own name */
    harness_close(fd);

    char secret[64];
    assert_int_equal(harness_stack_device(&s, "tls-hs-2", secret), 0);
    char cred[400], logf[400], a_cred[440], a_srv[40], a_spool[440], a_ca[400], a_gpsd[40];
    snprintf(cred, sizeof(cred), "%s/secret", s.dir);
    FILE *f = fopen(cred, "w");
    assert_non_null(f);
    fprintf(f, "%s\n", secret);
    fclose(f);
    chmod(cred, 0600);
    snprintf(a_cred, sizeof(a_cred), "--credential-file=%s", cred);
    snprintf(a_srv, sizeof(a_srv), "--server-port=%d", s.d.handset_port);
    snprintf(a_spool, sizeof(a_spool), "--spool-dir=%s/spool", s.dir);
    snprintf(a_ca, sizeof(a_ca), "--tls-ca=%s", ca);
    snprintf(a_gpsd, sizeof(a_gpsd), "--gpsd-port=%d", harness_free_port());
    snprintf(logf, sizeof(logf), "%s/agent.log", s.dir);
    char *argv[] = {LPG_AGENT_BIN,
                    "--device-id=tls-hs-2",
                    a_cred,
                    a_spool,
                    a_gpsd,
                    a_srv,
                    a_ca,
                    "--server-host=127.0.0.1",
                    "--reconnect-min=100",
                    "--reconnect-max=800",
                    NULL};
    struct harness_proc agent;
    memset(&agent, 0, sizeof(agent));
    assert_int_equal(harness_proc_start(&agent, "lpg-agent", logf, argv), 0);
    int refused = wait_log(logf, "IP address mismatch", 30000);
    harness_proc_stop(&agent, SIGTERM, 10000);
    if (!refused)
        harness_proc_dump_log(&agent, 20);
    assert_true(refused);
    assert_false(log_contains(logf, "session open"));
    assert_int_equal(harness_stack_stop(&s), 0);
    harness_set_tls_ca(NULL);
}

/* ---- plaintext only on loopback ---- */

/* Runs dispatchd with args and --print-config (which binds nothing): its exit status, its
 * stderr in err. */
static int dispatchd_check(const char *args, char *err, size_t cap)
{
    char cmd[2200], out[400];
    char dir[256];
    assert_int_equal(harness_tmpdir(dir, sizeof(dir), "tls-cfg"), 0);
    snprintf(out, sizeof(out), "%s/stderr", dir);
    snprintf(cmd, sizeof(cmd), "'%s' %s --print-config >/dev/null 2>'%s'", harness_dispatchd_path(),
             args, out);
    int st = system(cmd);
    err[0] = '\0';
    FILE *f = fopen(out, "r");
    if (f) {
        size_t n = fread(err, 1, cap - 1, f);
        err[n] = '\0';
        fclose(f);
    }
    harness_rmdir(dir);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_plaintext_refused_off_loopback(void **state)
{
    (void)state;
    char err[2048], args[1600];
    assert_int_equal(dispatchd_check("--http-bind=0.0.0.0", err, sizeof(err)), 2);
    assert_non_null(strstr(err, "http_bind \"0.0.0.0\" is not a loopback address"));
    assert_non_null(strstr(err, "allow_plaintext"));
    assert_int_equal(dispatchd_check("--handset-bind=192.0.2.1", err, sizeof(err)), 2);
    assert_non_null(strstr(err, "handset_bind \"192.0.2.1\" is not a loopback address"));
    /* TLS on the HTTP listener does not cover the handset listener. */
    snprintf(args, sizeof(args),
             "--http-bind=0.0.0.0 --http-tls-cert=%s --http-tls-key=%s --handset-bind=::",
             server_cert, server_key);
    assert_int_equal(dispatchd_check(args, err, sizeof(err)), 2);
    assert_non_null(strstr(err, "handset_bind"));
    /* Both with TLS, or the operator's explicit choice, or loopback: accepted. */
    snprintf(args, sizeof(args),
             "--http-bind=0.0.0.0 --http-tls-cert=%s --http-tls-key=%s --handset-bind=:: "
             "--handset-tls-cert=%s --handset-tls-key=%s",
             server_cert, server_key, server_cert, server_key);
    assert_int_equal(dispatchd_check(args, err, sizeof(err)), 0);
    assert_int_equal(dispatchd_check("--http-bind=0.0.0.0 --handset-bind=:: --allow-plaintext=true",
                                     err, sizeof(err)),
                     0);
    assert_int_equal(dispatchd_check("--http-bind=127.0.0.2 --handset-bind=::1", err, sizeof(err)),
                     0);
    /* A certificate without its key. */
    snprintf(args, sizeof(args), "--http-tls-cert=%s", server_cert);
    assert_int_equal(dispatchd_check(args, err, sizeof(err)), 2);
    assert_non_null(strstr(err, "http_tls_cert and http_tls_key must be set together"));

    /* lpg-agent the same way: no TLS to a non-loopback server, unless allowed. */
    char cmd[600];
    snprintf(cmd, sizeof(cmd),
             "'%s' --device-id=x --credential-file=/nonexistent --server-host=192.0.2.1 "
             "2>&1 | grep -q 'tls_ca is not set'",
             LPG_AGENT_BIN);
    assert_int_equal(system(cmd), 0);
}

/* ---- Redis with a password ---- */

#define REDIS_PW "test-pw-7Hq2xV9d"

static void test_redis_password(void **state)
{
    (void)state;
    harness_set_redis_password(REDIS_PW);
    struct harness_stack s;
    /* Redis with requirepass; the admin created and dispatchd running with the password. */
    assert_int_equal(harness_stack_start(&s, "tls-redis", NULL), 0);
    char tok[64];
    assert_int_equal(harness_stack_admin_token(&s, tok), 0);
    char secret[64];
    assert_int_equal(harness_stack_device(&s, "pw-hs-1", secret), 0); /* a write */

    /* Every connection killed: dispatchd reconnects and authenticates again. */
    char reply[256];
    const char *kill_all[] = {"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"};
    assert_int_equal(harness_redis_cmd(s.redis.port, reply, sizeof(reply), 6, kill_all), 0);
    assert_int_equal(harness_http_wait_status(s.d.http_port, "/healthz", 200, 30000), 0);
    assert_int_equal(harness_stack_device(&s, "pw-hs-2", secret), 0);

    /* A dispatchd with the wrong password stays down, and says why. */
    struct harness_dispatchd bad;
    memset(&bad, 0, sizeof(bad));
    const char *const wrong[] = {"--redis-password=not-the-password", NULL};
    assert_int_equal(harness_dispatchd_start(&bad, s.dir, s.redis.port, wrong), 0);
    int said = wait_log(bad.proc.log, "WRONGPASS", 20000);
    int status = 0;
    char body[2048];
    assert_int_equal(
        harness_http(bad.http_port, "GET", "/healthz", &status, body, sizeof(body), NULL, 0), 0);
    assert_int_equal(status, 503);
    harness_proc_stop(&bad.proc, SIGTERM, 10000);
    assert_true(said);
    /* No password in any log. */
    assert_false(log_contains(bad.proc.log, "not-the-password"));
    assert_false(log_contains(s.d.proc.log, REDIS_PW));
    harness_set_redis_password(NULL);
    /* And Redis refuses who has no password (what the shipped config is for). */
    const char *ping[] = {"PING"};
    assert_int_equal(harness_redis_cmd(s.redis.port, reply, sizeof(reply), 1, ping), 0);
    assert_non_null(strstr(reply, "NOAUTH"));
    harness_set_redis_password(REDIS_PW);
    assert_int_equal(harness_stack_stop(&s), 0);
    harness_set_redis_password(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_https_and_handset_session_over_tls),
        cmocka_unit_test(test_agent_refuses_certificate_for_another_name),
        cmocka_unit_test(test_plaintext_refused_off_loopback),
        cmocka_unit_test(test_redis_password),
    };
    int rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
    harness_cleanup_all();
    return rc;
}
