/*
 * test_log.c - the leveled logger (log.c): filtering without evaluating arguments, the line
 * format, truncation and sanitizing of messages, the file and sink outputs, and the libevent
 * bridge (triggered through a real libevent warning).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#define LOG_TAG "test"
#include "common/log.h"

#define CAPTURE_LINES 16

/* Lines handed to the sink. */
static struct {
    size_t count;
    enum log_level level[CAPTURE_LINES];
    char line[CAPTURE_LINES][LOG_LINE_MAX + 1];
    size_t len[CAPTURE_LINES];
} cap;

static void capture_sink(void *arg, enum log_level level, const char *line, size_t len)
{
    assert_ptr_equal(arg, &cap);
    assert_int_equal(strlen(line), len);
    assert_true(len <= LOG_LINE_MAX);
    if (cap.count < CAPTURE_LINES) {
        cap.level[cap.count] = level;
        memcpy(cap.line[cap.count], line, len + 1);
        cap.len[cap.count] = len;
    }
    cap.count++;
}

static int setup(void **state)
{
    (void)state;
    memset(&cap, 0, sizeof cap);
    log_set_sink(capture_sink, &cap);
    log_set_level(LL_INFO);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    log_set_file(NULL);
    log_set_level(LL_INFO);
    return 0;
}

static int evaluations;

static int counted(void)
{
    return ++evaluations;
}

/* The message part of captured line i (after "TAG: "). */
static const char *message_of(size_t i)
{
    const char *m = strstr(cap.line[i], "test: ");
    assert_non_null(m);
    return m + strlen("test: ");
}

static void test_level_filtering_skips_arguments(void **state)
{
    (void)state;
    struct {
        enum log_level min;
        int expect_evaluated; /* of the four macros below */
    } cases[] = {{LL_DEBUG, 4}, {LL_INFO, 3}, {LL_WARN, 2}, {LL_ERROR, 1}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        memset(&cap, 0, sizeof cap);
        evaluations = 0;
        log_set_level(cases[k].min);
        assert_int_equal(log_get_level(), cases[k].min);
        log_debug("d %d", counted());
        log_info("i %d", counted());
        log_warn("w %d", counted());
        log_error("e %d", counted());
        /* A disabled level never called counted(): the argument was not evaluated. */
        assert_int_equal(evaluations, cases[k].expect_evaluated);
        assert_int_equal(cap.count, (size_t)cases[k].expect_evaluated);
        for (size_t i = 0; i < cap.count; i++)
            assert_true((int)cap.level[i] >= (int)cases[k].min);
    }
    /* log_enabled() is the same test, for code that prepares expensive arguments. */
    log_set_level(LL_WARN);
    assert_false(log_enabled(LL_INFO));
    assert_true(log_enabled(LL_ERROR));
}

static void stamp_now(char *buf, size_t len)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
}

static void test_line_format(void **state)
{
    (void)state;
    char before[32], after[32];
    stamp_now(before, sizeof before);
    log_info("hello %d %s", 42, "world");
    log_warn("w");
    log_error("e");
    log_set_level(LL_DEBUG);
    log_debug("d");
    stamp_now(after, sizeof after);
    assert_int_equal(cap.count, 4);

    regex_t re;
    assert_int_equal(regcomp(&re,
                             "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
                             "(DEBUG|INFO |WARN |ERROR) test: [^\n]*\n$",
                             REG_EXTENDED | REG_NOSUB),
                     0);
    for (size_t i = 0; i < cap.count; i++)
        if (regexec(&re, cap.line[i], 0, NULL, 0) != 0)
            fail_msg("line does not match the format: %s", cap.line[i]);
    regfree(&re);

    assert_string_equal(strchr(cap.line[0], ' '), " INFO  test: hello 42 world\n");
    assert_string_equal(strchr(cap.line[1], ' '), " WARN  test: w\n");
    assert_string_equal(strchr(cap.line[2], ' '), " ERROR test: e\n");
    assert_string_equal(strchr(cap.line[3], ' '), " DEBUG test: d\n");
    assert_int_equal(cap.level[0], LL_INFO);
    assert_int_equal(cap.level[3], LL_DEBUG);

    /* UTC now: ISO timestamps compare as strings. */
    char stamp[32];
    memcpy(stamp, cap.line[0], 19);
    stamp[19] = '\0';
    assert_true(strcmp(before, stamp) <= 0 && strcmp(stamp, after) <= 0);
}

static void test_truncation(void **state)
{
    (void)state;
    log_info("x");
    size_t prefix = cap.len[0] - 2; /* everything before "x\n" */
    size_t body_cap = LOG_LINE_MAX - 1 - prefix;
    char *msg = malloc(3 * LOG_LINE_MAX);
    assert_non_null(msg);

    /* Exactly fits: untouched. */
    memset(msg, 'a', body_cap);
    msg[body_cap] = '\0';
    log_info("%s", msg);
    assert_int_equal(cap.len[1], LOG_LINE_MAX);
    assert_int_equal(strncmp(message_of(1), msg, body_cap), 0);
    assert_null(strstr(cap.line[1], LOG_TRUNCATED_MARK));

    /* One byte more, and far more: cut to LOG_LINE_MAX, ending with the marker. */
    size_t sizes[] = {body_cap + 1, 3 * LOG_LINE_MAX - 1};
    for (size_t k = 0; k < 2; k++) {
        memset(msg, 'b', sizes[k]);
        msg[sizes[k]] = '\0';
        log_warn("%s", msg);
        const char *line = cap.line[2 + k];
        size_t len = cap.len[2 + k];
        assert_int_equal(len, LOG_LINE_MAX);
        const char *tail = LOG_TRUNCATED_MARK "\n";
        assert_string_equal(line + len - strlen(tail), tail);
        assert_int_equal(strchr(line, '\n') - line, (long)len - 1); /* still one line */
    }
    free(msg);
}

static void test_control_characters_replaced(void **state)
{
    (void)state;
    log_info("peer said \"%s\"", "a\nb\rc\td\x1b[31me\x7f");
    assert_int_equal(cap.count, 1);
    assert_string_equal(message_of(0), "peer said \"a?b?c\td?[31me?\"\n");
}

static void test_level_names(void **state)
{
    (void)state;
    static const char *const names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++) {
        assert_string_equal(log_level_name(i), names[i]);
        assert_string_equal(log_level_names[i], names[i]);
        assert_int_equal(log_level_from_name(names[i]), i);
    }
    assert_null(log_level_names[4]);
    assert_int_equal(log_level_from_name("WARN"), LL_WARN);
    assert_int_equal(log_level_from_name("Error"), LL_ERROR);
    assert_int_equal(log_level_from_name("warning"), -1);
    assert_int_equal(log_level_from_name("war"), -1);
    assert_int_equal(log_level_from_name(""), -1);
    assert_string_equal(log_level_name(-1), "?");
    assert_string_equal(log_level_name(4), "?");
    log_set_level((enum log_level)17);
    assert_int_equal(log_get_level(), LL_ERROR);
}

static void test_errno_preserved_and_tag_bounded(void **state)
{
    (void)state;
    errno = EBADF;
    log_info("after a failed call");
    assert_int_equal(errno, EBADF);

    log_write_(LL_INFO, "a-very-long-subsystem-tag", "m");
    assert_non_null(strstr(cap.line[1], " INFO  a-very-long-subs: m\n"));
    log_write_(LL_DEBUG, "x", "dropped: below the level");
    assert_int_equal(cap.count, 2);
}

static void test_file_output(void **state)
{
    (void)state;
    /* A stream with a descriptor: one write(2) per line. */
    FILE *f = tmpfile();
    assert_non_null(f);
    log_set_file(f);
    log_info("to a file %d", 1);
    log_error("to a file %d", 2);
    assert_int_equal(cap.count, 0); /* log_set_file() removed the sink */
    rewind(f);
    char buf[256];
    assert_non_null(fgets(buf, sizeof buf, f));
    assert_non_null(strstr(buf, " INFO  test: to a file 1\n"));
    assert_non_null(fgets(buf, sizeof buf, f));
    assert_non_null(strstr(buf, " ERROR test: to a file 2\n"));
    assert_null(fgets(buf, sizeof buf, f));
    log_set_file(NULL);
    fclose(f);

    /* A stream without a descriptor: fwrite + fflush. */
    char *mem = NULL;
    size_t memlen = 0;
    f = open_memstream(&mem, &memlen);
    assert_non_null(f);
    log_set_file(f);
    log_warn("in memory");
    assert_non_null(strstr(mem, " WARN  test: in memory\n"));
    log_set_file(NULL);
    fclose(f);
    free(mem);
}

/* Libevent warns "event_base_new_with_config: no event mechanism available" when every backend
 * is excluded; that real warning must arrive through our logger as a WARN line. */
static void test_libevent_routing(void **state)
{
    (void)state;
    log_route_libevent();
    for (int pass = 0; pass < 2; pass++) {
        memset(&cap, 0, sizeof cap);
        log_set_level(pass == 0 ? LL_INFO : LL_ERROR);
        struct event_config *cfg = event_config_new();
        assert_non_null(cfg);
        const char **methods = event_get_supported_methods();
        for (int i = 0; methods[i] != NULL; i++)
            assert_int_equal(event_config_avoid_method(cfg, methods[i]), 0);
        struct event_base *base = event_base_new_with_config(cfg);
        event_config_free(cfg);
        assert_null(base);
        if (pass == 0) {
            assert_int_equal(cap.count, 1);
            assert_int_equal(cap.level[0], LL_WARN);
            assert_non_null(strstr(cap.line[0], " WARN  libevent: "));
            assert_non_null(strstr(cap.line[0], "no event mechanism available"));
        } else {
            assert_int_equal(cap.count, 0); /* filtered like any other warning */
        }
    }
    event_set_log_callback(NULL);
    event_set_fatal_callback(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_level_filtering_skips_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_line_format, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_control_characters_replaced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_level_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errno_preserved_and_tag_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_output, setup, teardown),
        cmocka_unit_test_setup_teardown(test_libevent_routing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
