/*
 * test_config.c - the cfg_ engine (config.c) against a small test table covering every type, and
 * dispatchd's own table (dispatchd_settings.c): values, error messages, the file format, the
 * command line, the --print-config round trip and the cross-field rules. Driven by case tables.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"
#include "app/dispatchd_settings.h"
#include "common/log.h"
#include "core/delivery_rules.h"
#include "core/fix_filter.h"
#include "core/legal_defaults.h"
#include "core/rules.h"

/* ---- a test table with one setting of every type ---- */

struct tconf {
    bool verbose;
    int64_t count; /* widgets */
    char *name;
    int color;
    int64_t max_items;
};

static const char *const colors[] = {"red", "green", "blue", NULL};

#define TC struct tconf
static const struct cfg_setting ttable[] = {
    {.name = "verbose",
     .type = CFG_BOOL,
     .offset = CFG_OFF_BOOL(TC, verbose),
     .default_value = "false",
     .help = "Say more."},
    {.name = "count",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(TC, count),
     .min = -5,
     .max = 100,
     .default_value = "10",
     .unit = "widgets",
     .help = "How many widgets."},
    {.name = "name",
     .type = CFG_STRING,
     .offset = CFG_OFF_STRING(TC, name),
     .min = 0,
     .max = 32,
     .default_value = "alpha",
     .help = "A name."},
    {.name = "color",
     .type = CFG_ENUM,
     .offset = CFG_OFF_ENUM(TC, color),
     .enum_names = colors,
     .default_value = "green",
     .help = "A color."},
    {.name = "max_items",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(TC, max_items),
     .min = INT64_MIN,
     .max = INT64_MAX,
     .default_value = "0",
     .help = "Anything goes."},
};
#undef TC
#define TN (sizeof ttable / sizeof ttable[0])

static char tmpdir[256];

/* The field of `s` in conf as text: bool true/false, int decimal, string raw, enum index. */
static void field_text(const struct cfg_setting *s, const void *conf, char *buf, size_t len)
{
    const char *f = (const char *)conf + s->offset;
    switch (s->type) {
    case CFG_BOOL:
        snprintf(buf, len, "%s", *(const bool *)f ? "true" : "false");
        break;
    case CFG_INT:
        snprintf(buf, len, "%" PRId64, *(const int64_t *)f);
        break;
    case CFG_STRING:
        snprintf(buf, len, "%s", *(char *const *)f != NULL ? *(char *const *)f : "(null)");
        break;
    case CFG_ENUM:
        snprintf(buf, len, "%d", *(const int *)f);
        break;
    }
}

static const struct cfg_setting *setting(const struct cfg_setting *t, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(t[i].name, name) == 0)
            return &t[i];
    fail_msg("no setting %s", name);
    return NULL;
}

static void assert_field(const struct cfg_setting *t, size_t n, const void *conf, const char *name,
                         const char *expect)
{
    char buf[2048];
    field_text(setting(t, n, name), conf, buf, sizeof buf);
    if (strcmp(buf, expect) != 0)
        fail_msg("%s: got \"%s\", expected \"%s\"", name, buf, expect);
}

/* Every field of a equals the same field of b. */
static void assert_conf_equal(const struct cfg_setting *t, size_t n, const void *a, const void *b)
{
    for (size_t i = 0; i < n; i++) {
        char x[2048], y[2048];
        field_text(&t[i], a, x, sizeof x);
        field_text(&t[i], b, y, sizeof y);
        if (strcmp(x, y) != 0)
            fail_msg("%s differs: \"%s\" vs \"%s\"", t[i].name, x, y);
    }
}

static void assert_contains(const char *haystack, const char *needle)
{
    if (strstr(haystack, needle) == NULL)
        fail_msg("\"%s\" does not contain \"%s\"", haystack, needle);
}

/* Write content to tmpdir/name; returns the path (static storage, one at a time per slot). */
static const char *write_file(int slot, const char *name, const char *content)
{
    static char paths[4][512];
    snprintf(paths[slot], sizeof paths[slot], "%s/%s", tmpdir, name);
    FILE *f = fopen(paths[slot], "w");
    assert_non_null(f);
    fputs(content, f);
    assert_int_equal(fclose(f), 0);
    return paths[slot];
}

/* Whole content of a file (caller frees). */
static char *read_all(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *buf = calloc(1, 1 << 16);
    assert_non_null(buf);
    size_t got = fread(buf, 1, (1 << 16) - 1, f);
    buf[got] = '\0';
    fclose(f);
    return buf;
}

static int group_setup(void **state)
{
    (void)state;
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/test_config.XXXXXX", base != NULL ? base : "/tmp");
    return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- defaults and single values ---- */

static void test_defaults_applied(void **state)
{
    (void)state;
    struct tconf c;
    memset(&c, 0xa5, sizeof c); /* uninitialized garbage is fine */
    assert_int_equal(cfg_set_defaults(ttable, TN, &c), 0);
    assert_false(c.verbose);
    assert_int_equal(c.count, 10);
    assert_string_equal(c.name, "alpha");
    assert_int_equal(c.color, 1);
    assert_int_equal(c.max_items, 0);
    cfg_free(ttable, TN, &c);
    assert_null(c.name);
    cfg_free(ttable, TN, &c); /* twice is harmless */
}

struct set_case {
    const char *name, *value;
    bool ok;
    const char *expect;  /* ok: field text afterwards; failure: substring of the message */
    const char *expect2; /* failure: a second substring, or NULL */
};

static const struct set_case set_cases[] = {
    /* bool */
    {"verbose", "true", true, "true", NULL},
    {"verbose", "YES", true, "true", NULL},
    {"verbose", "on", true, "true", NULL},
    {"verbose", "1", true, "true", NULL},
    {"verbose", "off", true, "false", NULL},
    {"verbose", "No", true, "false", NULL},
    {"verbose", "0", true, "false", NULL},
    {"verbose", "maybe", false, "verbose: invalid boolean \"maybe\"", "true|false|yes|no|on|off"},
    {"verbose", "", false, "verbose: invalid boolean", NULL},
    /* int */
    {"count", "42", true, "42", NULL},
    {"count", "-5", true, "-5", NULL},
    {"count", "100", true, "100", NULL},
    {"count", "+7", true, "7", NULL},
    {"count", "007", true, "7", NULL},
    {"count", "101", false, "count: 101 is out of range; allowed -5..100 widgets", NULL},
    {"count", "-6", false, "count: -6 is out of range; allowed -5..100 widgets", NULL},
    {"count", "12abc", false, "count: invalid integer \"12abc\"", "-5..100 widgets"},
    {"count", "", false, "count: invalid integer \"\"", NULL},
    {"count", " 5", false, "count: invalid integer", NULL},
    {"count", "0x10", false, "count: invalid integer", NULL},
    {"count", "1k", false, "count: invalid integer", NULL},
    {"count", "-", false, "count: invalid integer", NULL},
    {"count", "99999999999999999999", false, "count: invalid integer", NULL},
    {"max_items", "9223372036854775807", true, "9223372036854775807", NULL},
    {"max_items", "-9223372036854775808", true, "-9223372036854775808", NULL},
    {"max_items", "9223372036854775808", false, "max_items: invalid integer", NULL},
    /* string */
    {"name", "hello world", true, "hello world", NULL},
    {"name", "", true, "", NULL},
    {"name", "  a # b = c \"d\"  ", true, "  a # b = c \"d\"  ", NULL},
    {"name", "abcdefghijklmnopqrstuvwxyz012345", true, "abcdefghijklmnopqrstuvwxyz012345", NULL},
    {"name", "abcdefghijklmnopqrstuvwxyz0123456", false, "name: value is 33 bytes long",
     "allowed length 0..32 bytes"},
    {"name", "a\nb", false, "name: value contains a control character", NULL},
    /* enum */
    {"color", "red", true, "0", NULL},
    {"color", "BLUE", true, "2", NULL},
    {"color", "purple", false, "color: invalid value \"purple\"", "one of red|green|blue"},
    {"color", "", false, "color: invalid value", NULL},
    /* names */
    {"max-items", "3", true, "3", NULL},
    {"colour", "red", false, "unknown setting \"colour\"", NULL},
    {"", "red", false, "unknown setting \"\"", NULL},
};

static void test_set_values(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof set_cases / sizeof set_cases[0]; k++) {
        const struct set_case *tc = &set_cases[k];
        struct tconf c;
        assert_int_equal(cfg_set_defaults(ttable, TN, &c), 0);
        char err[256] = "untouched";
        const struct cfg_setting *s = NULL;
        for (size_t i = 0; i < TN; i++)
            if (strcmp(ttable[i].name, tc->name) == 0 ||
                (strcmp(tc->name, "max-items") == 0 && strcmp(ttable[i].name, "max_items") == 0))
                s = &ttable[i];
        char before[2048] = "";
        if (s != NULL)
            field_text(s, &c, before, sizeof before);

        int rc = cfg_set(ttable, TN, &c, tc->name, tc->value, err, sizeof err);
        if (tc->ok) {
            if (rc != 0)
                fail_msg("case %zu (%s=%s): unexpected error: %s", k, tc->name, tc->value, err);
            char got[2048];
            field_text(s, &c, got, sizeof got);
            if (strcmp(got, tc->expect) != 0)
                fail_msg("case %zu (%s=%s): got %s, expected %s", k, tc->name, tc->value, got,
                         tc->expect);
        } else {
            if (rc != -1)
                fail_msg("case %zu (%s=%s): accepted", k, tc->name, tc->value);
            assert_contains(err, tc->expect);
            if (tc->expect2 != NULL)
                assert_contains(err, tc->expect2);
            if (s != NULL) { /* a failed set leaves the field as it was */
                char after[2048];
                field_text(s, &c, after, sizeof after);
                assert_string_equal(after, before);
            }
        }
        cfg_free(ttable, TN, &c);
    }
}

static void test_errbuf_optional_and_bounded(void **state)
{
    (void)state;
    struct tconf c;
    assert_int_equal(cfg_set_defaults(ttable, TN, &c), 0);
    assert_int_equal(cfg_set(ttable, TN, &c, "count", "nope", NULL, 0), -1);
    char tiny[8];
    assert_int_equal(cfg_set(ttable, TN, &c, "count", "nope", tiny, sizeof tiny), -1);
    assert_int_equal(strlen(tiny), sizeof tiny - 1);
    cfg_free(ttable, TN, &c);
}

/* ---- config files ---- */

static void test_file_format(void **state)
{
    (void)state;
    const char *path = write_file(0, "good.conf",
                                  "# a comment\n"
                                  "   # an indented comment\n"
                                  "\n"
                                  "   \t  \n"
                                  "  count   =   42   \n"
                                  "name = \"  spaced  \"\n"
                                  "color=BLUE\r\n"
                                  "\tverbose\t=\ton\n"
                                  "max-items = -3\n"
                                  "count = 43\n" /* the later line wins */
                                  "count=44" /* no final newline */);
    struct tconf c;
    assert_int_equal(cfg_set_defaults(ttable, TN, &c), 0);
    char err[256] = "";
    if (cfg_load_file(ttable, TN, &c, path, err, sizeof err) != 0)
        fail_msg("load failed: %s", err);
    assert_int_equal(c.count, 44);
    assert_string_equal(c.name, "  spaced  ");
    assert_int_equal(c.color, 2);
    assert_true(c.verbose);
    assert_int_equal(c.max_items, -3);
    cfg_free(ttable, TN, &c);
}

struct file_case {
    const char *content;
    const char *expect_name; /* string field afterwards, for good files */
    const char *err1, *err2; /* for bad files: ":LINE:" part and the message part */
};

static const struct file_case file_cases[] = {
    {"name = \"\"\n", "", NULL, NULL},
    {"name = a#b\n", "a#b", NULL, NULL},
    {"name = \"x\n", "\"x", NULL, NULL},         /* unbalanced quote: kept */
    {"name = \"\"x\"\"\n", "\"x\"", NULL, NULL}, /* one pair removed */
    {"name = a = b\n", "a = b", NULL, NULL},     /* split at the first '=' */
    {"name =\n", "", NULL, NULL},
    {"# x\n\nbogus = 1\n", NULL, ":3: ", "unknown setting \"bogus\""},
    {"count = 1\nname \"x\"\n", NULL, ":2: ", "no '='"},
    {"= 5\n", NULL, ":1: ", "missing setting name"},
    {"count = 500\n", NULL, ":1: ", "count: 500 is out of range; allowed -5..100 widgets"},
    {"\n\ncolor = mauve\n", NULL, ":3: ",
     "color: invalid value \"mauve\"; expected one of "
     "red|green|blue"},
    {"count = 5 # five\n", NULL, ":1: ", "count: invalid integer \"5 # five\""},
};

static void test_file_cases(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof file_cases / sizeof file_cases[0]; k++) {
        const struct file_case *tc = &file_cases[k];
        const char *path = write_file(0, "case.conf", tc->content);
        struct tconf c;
        assert_int_equal(cfg_set_defaults(ttable, TN, &c), 0);
        char err[512] = "";
        int rc = cfg_load_file(ttable, TN, &c, path, err, sizeof err);
        if (tc->expect_name != NULL) {
            if (rc != 0)
                fail_msg("case %zu: %s", k, err);
            assert_string_equal(c.name, tc->expect_name);
        } else {
            if (rc != -1)
                fail_msg("case %zu: accepted", k);
            char where[600];
            snprintf(where, sizeof where, "%s%s", path, tc->err1);
            assert_true(strncmp(err, where, strlen(where)) == 0);
            assert_contains(err, tc->err2);
        }
        cfg_free(ttable, TN, &c);
    }
}

static void test_file_errors(void **state)
{
    (void)state;
    struct tconf c;
    assert_int_equal(cfg_set_defaults(ttable, TN, &c), 0);
    char err[512] = "";

    char missing[600];
    snprintf(missing, sizeof missing, "%s/does-not-exist.conf", tmpdir);
    assert_int_equal(cfg_load_file(ttable, TN, &c, missing, err, sizeof err), -1);
    assert_contains(err, "cannot open config file");
    assert_contains(err, missing);

    /* A line over CFG_LINE_MAX is refused, not silently cut. */
    char *big = malloc(CFG_LINE_MAX + 64);
    assert_non_null(big);
    strcpy(big, "count = 1\nname = ");
    size_t len = strlen(big);
    memset(big + len, 'x', CFG_LINE_MAX);
    strcpy(big + len + CFG_LINE_MAX, "\n");
    const char *path = write_file(0, "long.conf", big);
    free(big);
    assert_int_equal(cfg_load_file(ttable, TN, &c, path, err, sizeof err), -1);
    assert_contains(err, ":2: line longer than");
    cfg_free(ttable, TN, &c);
}

/* ---- command line ---- */

static int tvalidate(const void *conf, char *errbuf, size_t errlen)
{
    const struct tconf *c = conf;
    if (c->verbose && c->count == 13) {
        snprintf(errbuf, errlen, "verbose and count 13 do not mix");
        return -1;
    }
    return 0;
}

static const struct cfg_option topts[] = {
    {.name = "create-admin", .arg_name = "NAME", .help = "Create an admin account and exit."},
    {.name = "dry-run", .help = "Do nothing."},
};

static const struct cfg_program tprog = {
    .name = "tprog",
    .version = "1.2.3",
    .summary = "A program for testing the configuration engine.",
    .settings = ttable,
    .n_settings = TN,
    .options = topts,
    .n_options = 2,
    .validate = tvalidate,
};

struct parse_out {
    int rc;
    struct tconf conf;
    const char *opts[2];
    char err[512];
    char *out; /* what was printed to `out` */
};

/* Run cfg_parse_args on a NULL-terminated argument list (argv[0] added). Caller calls
 * parse_done(). */
static void parse(struct parse_out *r, ...)
{
    char *argv[32];
    int argc = 0;
    argv[argc++] = "tprog";
    va_list ap;
    va_start(ap, r);
    for (char *a; (a = va_arg(ap, char *)) != NULL;)
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;

    char outpath[600];
    snprintf(outpath, sizeof outpath, "%s/stdout.txt", tmpdir);
    FILE *out = fopen(outpath, "w");
    assert_non_null(out);
    memset(r, 0, sizeof *r);
    r->rc = cfg_parse_args(&tprog, &r->conf, argc, argv, r->opts, out, r->err, sizeof r->err);
    fclose(out);
    r->out = read_all(outpath);
}

static void parse_done(struct parse_out *r)
{
    cfg_free(ttable, TN, &r->conf);
    free(r->out);
}

static void test_cli_forms(void **state)
{
    (void)state;
    struct parse_out r;
    parse(&r, "--count=5", "--name", "bob", "--max-items", "7", "--color=red", "--verbose", "yes",
          NULL);
    assert_int_equal(r.rc, CFG_PARSE_RUN);
    assert_int_equal(r.conf.count, 5);
    assert_string_equal(r.conf.name, "bob");
    assert_int_equal(r.conf.max_items, 7);
    assert_int_equal(r.conf.color, 0);
    assert_true(r.conf.verbose);
    assert_null(r.opts[0]);
    assert_null(r.opts[1]);
    assert_string_equal(r.out, ""); /* nothing printed on a normal run */
    parse_done(&r);

    parse(&r, "--max_items=8", "--name=", "--count", "-5", NULL);
    assert_int_equal(r.rc, CFG_PARSE_RUN);
    assert_int_equal(r.conf.max_items, 8);
    assert_string_equal(r.conf.name, "");
    assert_int_equal(r.conf.count, -5);
    parse_done(&r);

    /* Later occurrences win; values may contain '='. */
    parse(&r, "--count=1", "--count=2", "--name=a=b", NULL);
    assert_int_equal(r.conf.count, 2);
    assert_string_equal(r.conf.name, "a=b");
    parse_done(&r);

    /* With no arguments: the defaults. */
    parse(&r, NULL);
    assert_int_equal(r.rc, CFG_PARSE_RUN);
    assert_int_equal(r.conf.count, 10);
    parse_done(&r);
}

static void test_cli_config_first(void **state)
{
    (void)state;
    const char *path = write_file(1, "cli.conf", "count = 1\nname = fromfile\ncolor = blue\n");
    const char *path2 = write_file(2, "cli2.conf", "color = red\n");
    struct parse_out r;

    parse(&r, "--count=9", "--config", path, NULL);
    assert_int_equal(r.rc, CFG_PARSE_RUN);
    assert_int_equal(r.conf.count, 9); /* command line beats the file, though it came first */
    assert_string_equal(r.conf.name, "fromfile");
    parse_done(&r);

    parse(&r, "--config", path, "--count", "9", NULL);
    assert_int_equal(r.conf.count, 9);
    assert_string_equal(r.conf.name, "fromfile");
    parse_done(&r);

    char opt[600];
    snprintf(opt, sizeof opt, "--config=%s", path);
    parse(&r, "--name=cli", opt, "--config", path2, NULL); /* files load in order */
    assert_int_equal(r.rc, CFG_PARSE_RUN);
    assert_string_equal(r.conf.name, "cli");
    assert_int_equal(r.conf.color, 0);
    assert_int_equal(r.conf.count, 1);
    parse_done(&r);
}

struct cli_error_case {
    const char *args[4];
    const char *expect;
};

static const struct cli_error_case cli_errors[] = {
    {{"--bogus=1"}, "unknown option \"--bogus\""},
    {{"--bogus", "1"}, "unknown option \"--bogus\""},
    {{"--count"}, "option \"--count\" requires a value"},
    {{"--config"}, "option \"--config\" requires a value"},
    {{"--count=5", "extra"}, "unexpected argument \"extra\""},
    {{"-x"}, "unexpected argument \"-x\""},
    {{"--"}, "unexpected argument \"--\""},
    {{"--help=yes"}, "option \"--help\" takes no value"},
    {{"--dry-run=1"}, "option \"--dry-run\" takes no value"},
    {{"--count=1000"}, "command line: count: 1000 is out of range; allowed -5..100 widgets"},
    {{"--color", "mauve"}, "command line: color: invalid value \"mauve\""},
    {{"--config", "/nonexistent/x.conf"}, "cannot open config file \"/nonexistent/x.conf\""},
    {{"--verbose=1", "--count=13"}, "invalid configuration: verbose and count 13 do not mix"},
    /* Unknown options are found before any file is read or --help is honoured. */
    {{"--help", "--bogus"}, "unknown option \"--bogus\""},
};

static void test_cli_errors(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof cli_errors / sizeof cli_errors[0]; k++) {
        const char *const *a = cli_errors[k].args;
        struct parse_out r;
        parse(&r, a[0], a[1], a[2], a[3], NULL);
        if (r.rc != CFG_PARSE_ERROR)
            fail_msg("case %zu: rc %d", k, r.rc);
        assert_contains(r.err, cli_errors[k].expect);
        parse_done(&r);
    }
}

static void test_cli_program_options(void **state)
{
    (void)state;
    struct parse_out r;
    parse(&r, "--create-admin", "alice", "--count=3", "--dry_run", NULL);
    assert_int_equal(r.rc, CFG_PARSE_RUN);
    assert_string_equal(r.opts[0], "alice");
    assert_string_equal(r.opts[1], "");
    assert_int_equal(r.conf.count, 3);
    parse_done(&r);

    parse(&r, "--create-admin=bob", "--create-admin=carol", NULL);
    assert_string_equal(r.opts[0], "carol");
    assert_null(r.opts[1]);
    parse_done(&r);
}

static void assert_lines_fit(const char *text, size_t columns)
{
    for (const char *p = text; *p != '\0';) {
        size_t len = strcspn(p, "\n");
        if (len > columns)
            fail_msg("line of %zu columns: %.*s", len, (int)len, p);
        p += len + (p[len] == '\n');
    }
}

static void test_cli_help_version(void **state)
{
    (void)state;
    struct parse_out r;
    parse(&r, "--count=5", "--help", NULL);
    assert_int_equal(r.rc, CFG_PARSE_EXIT);
    assert_contains(r.out, "Usage: tprog ");
    assert_contains(r.out, "A program for testing");
    assert_contains(r.out, "--create-admin NAME");
    assert_contains(r.out, "--print-config");
    assert_contains(r.out, "--config FILE");
    for (size_t i = 0; i < TN; i++)
        assert_contains(r.out, ttable[i].name);
    assert_contains(r.out, "-5..100 widgets");
    assert_contains(r.out, "red|green|blue");
    assert_contains(r.out, "How many widgets.");
    assert_lines_fit(r.out, 100);
    parse_done(&r);

    /* --help does not read config files, so it works when one is broken. */
    parse(&r, "--config", "/nonexistent/x.conf", "-h", NULL);
    assert_int_equal(r.rc, CFG_PARSE_EXIT);
    assert_contains(r.out, "Usage: tprog");
    parse_done(&r);

    parse(&r, "--version", NULL);
    assert_int_equal(r.rc, CFG_PARSE_EXIT);
    assert_string_equal(r.out, "tprog 1.2.3\n");
    parse_done(&r);
}

/* --print-config output, loaded back, gives the identical struct; printing again gives the
 * identical text. The values are picked to stress the quoting rules. */
static void test_print_config_round_trip(void **state)
{
    (void)state;
    static const char *const names[] = {"  spaced  ", "\"quoted\"", "# not a comment", "a = b", "",
                                        "\"",         " \"x"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        char name_opt[128];
        snprintf(name_opt, sizeof name_opt, "--name=%s", names[k]);
        struct parse_out r;
        parse(&r, "--count=-5", name_opt, "--color", "blue", "--verbose=on",
              "--max-items=-9223372036854775808", "--print-config", NULL);
        assert_int_equal(r.rc, CFG_PARSE_EXIT);
        assert_contains(r.out, "# tprog 1.2.3 effective configuration");
        assert_contains(r.out, "count = -5\n");
        assert_contains(r.out, "color = blue\n");
        assert_lines_fit(r.out, 100);

        const char *path = write_file(1, "printed.conf", r.out);
        struct tconf back;
        assert_int_equal(cfg_set_defaults(ttable, TN, &back), 0);
        char err[512] = "";
        if (cfg_load_file(ttable, TN, &back, path, err, sizeof err) != 0)
            fail_msg("printed config does not load: %s\n%s", err, r.out);
        assert_conf_equal(ttable, TN, &r.conf, &back);
        assert_string_equal(back.name, names[k]);
        cfg_free(ttable, TN, &back);

        struct parse_out again;
        char opt[600];
        snprintf(opt, sizeof opt, "--config=%s", path);
        parse(&again, opt, "--print-config", NULL);
        assert_int_equal(again.rc, CFG_PARSE_EXIT);
        assert_string_equal(again.out, r.out);
        parse_done(&again);
        parse_done(&r);
    }
}

/* ---- dispatchd's table ---- */

static void test_dispatchd_table_shape(void **state)
{
    (void)state;
    assert_int_equal(dispatchd_settings_count, 90);
    assert_int_equal(DISPATCHD_SETTINGS_COUNT, dispatchd_settings_count);
    for (size_t i = 0; i < dispatchd_settings_count; i++) {
        const struct cfg_setting *s = &dispatchd_settings[i];
        assert_non_null(s->name);
        assert_true(strspn(s->name, "abcdefghijklmnopqrstuvwxyz0123456789_") == strlen(s->name));
        assert_non_null(s->help);
        assert_true(strlen(s->help) > 10);
        assert_non_null(s->default_value);
        for (size_t j = 0; j < i; j++) {
            if (strcmp(s->name, dispatchd_settings[j].name) == 0)
                fail_msg("duplicate setting %s", s->name);
            if (s->offset == dispatchd_settings[j].offset)
                fail_msg("%s and %s share a field", s->name, dispatchd_settings[j].name);
        }
    }
}

/* "At least 6 months" of route history (docs/domain.md, "Location supervision"): the retention
 * floor covers the longest six consecutive calendar months from any month, leap years
 * included (Jul-Dec and Mar-Aug are 184 days), so 183 is too short. */
static void test_route_retention_covers_six_months(void **state)
{
    (void)state;
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int longest = 0;
    for (int leap = 0; leap < 2; leap++)
        for (int m = 0; m < 12; m++) {
            int d = 0;
            for (int k = 0; k < 6; k++)
                d += mdays[(m + k) % 12] + (leap && (m + k) % 12 == 1);
            if (d > longest)
                longest = d;
        }
    assert_int_equal(longest, 184);
    assert_true(LEGAL_ROUTE_RETENTION_MIN_DAYS >= longest);
    /* The setting's floor is that figure: a shorter retention does not load. */
    const struct cfg_setting *s = NULL;
    for (size_t i = 0; i < dispatchd_settings_count; i++)
        if (strcmp(dispatchd_settings[i].name, "route_retention_days") == 0)
            s = &dispatchd_settings[i];
    assert_non_null(s);
    assert_true(s->min >= longest);
    assert_true(strtoll(s->default_value, NULL, 10) >= longest);
}

/* Each default is inside its range and parses; each range end is accepted and the value just
 * outside is refused with a message naming the setting and its range. */
static void test_dispatchd_table_ranges(void **state)
{
    (void)state;
    const struct cfg_setting *t = dispatchd_settings;
    size_t n = dispatchd_settings_count;
    for (size_t i = 0; i < n; i++) {
        const struct cfg_setting *s = &t[i];
        struct dispatchd_config c;
        char err[512], v[64], expect[256];
        assert_int_equal(cfg_set_defaults(t, n, &c), 0);
        if (cfg_set(t, n, &c, s->name, s->default_value, err, sizeof err) != 0)
            fail_msg("default of %s does not parse: %s", s->name, err);

        if (s->type == CFG_INT) {
            int64_t def = strtoll(s->default_value, NULL, 10);
            if (def < s->min || def > s->max)
                fail_msg("default of %s outside its range", s->name);
            int64_t ok[] = {s->min, s->max};
            for (int e = 0; e < 2; e++) {
                snprintf(v, sizeof v, "%" PRId64, ok[e]);
                if (cfg_set(t, n, &c, s->name, v, err, sizeof err) != 0)
                    fail_msg("%s=%s refused: %s", s->name, v, err);
            }
            int64_t bad[] = {s->min - 1, s->max + 1};
            snprintf(expect, sizeof expect, "allowed %" PRId64 "..%" PRId64 "%s%s", s->min, s->max,
                     s->unit != NULL ? " " : "", s->unit != NULL ? s->unit : "");
            for (int e = 0; e < 2; e++) {
                snprintf(v, sizeof v, "%" PRId64, bad[e]);
                assert_int_equal(cfg_set(t, n, &c, s->name, v, err, sizeof err), -1);
                char head[128];
                snprintf(head, sizeof head, "%s: %s is out of range", s->name, v);
                assert_contains(err, head);
                assert_contains(err, expect);
            }
        } else if (s->type == CFG_STRING) {
            int64_t len = (int64_t)strlen(s->default_value);
            assert_true(len >= s->min && (s->max == 0 || len <= s->max));
            if (s->min > 0) {
                assert_int_equal(cfg_set(t, n, &c, s->name, "", err, sizeof err), -1);
                assert_contains(err, s->name);
                assert_contains(err, "allowed length");
            }
        }
        cfg_free(t, n, &c);
    }
}

struct default_case {
    const char *name, *value; /* field_text form */
};

static const struct default_case dispatchd_defaults[] = {
    {"log_level", "1"}, /* LL_INFO */
    {"http_bind", "127.0.0.1"},
    {"http_port", "8080"},
    {"http_max_body", "1048576"},
    {"http_max_headers", "16384"},
    {"http_timeout", "30"},
    {"http_max_connections", "1024"},
    {"http_header_timeout", "10"},
    {"http_body_timeout", "30"},
    {"events_max_per_enterprise", "32"},
    {"events_max_per_user", "4"},
    {"events_position_interval", "5"},
    {"http_tls_cert", ""},
    {"http_tls_key", ""},
    {"console_dir", ""},
    {"console_leaflet_dir", "/usr/share/javascript/leaflet"},
    {"console_tile_url", ""},
    {"handset_bind", "127.0.0.1"},
    {"handset_port", "7070"},
    {"handset_max_connections", "10000"},
    {"handset_idle_timeout", "300"},
    {"handset_max_frame", "65536"},
    {"handset_hello_timeout", "10"},
    {"handset_max_unauthenticated", "1000"},
    {"handset_max_unauthenticated_per_address", "32"},
    {"handset_tls_cert", ""},
    {"handset_tls_key", ""},
    {"allow_plaintext", "false"},
    {"jt808_bind", "127.0.0.1"},
    {"jt808_port", "7808"},
    {"jt808_max_connections", "100000"},
    {"jt808_idle_timeout", "180"},
    {"jt808_auth_timeout", "30"},
    {"jt808_max_unauthenticated", "2000"},
    {"jt808_max_unauthenticated_per_address", "64"},
    {"jt808_heartbeat", "30"},
    {"jt808_reassembly_timeout", "10"},
    {"redis_host", "127.0.0.1"},
    {"redis_port", "6379"},
    {"redis_connect_timeout", "2000"},
    {"redis_ping_interval", "1000"},
    {"redis_reconnect_min", "100"},
    {"redis_reconnect_max", "5000"},
    {"redis_user", ""},
    {"redis_password", ""},
    {"redis_key_prefix", "lpg:"},
    {"redis_memory_watermark", "80"},
    {"redis_memory_check_interval", "10"},
    {"shutdown_timeout", "5000"},
    {"session_ttl", "28800"},
    {"login_workers", "2"},
    {"login_queue_max", "32"},
    {"auth_max_failures", "5"},
    {"auth_max_failures_address", "20"},
    {"auth_delay", "1"},
    {"auth_lock_period", "900"},
    {"auth_track_max", "10000"},
    {"speed_limit_road", "60"},
    {"speed_limit_expressway", "80"},
    {"overspeed_duration", "10"},
    {"overspeed_warning_margin", "5"},
    {"continuous_driving_max", "240"},
    {"fatigue_warning", "15"},
    {"daily_driving_max", "480"},
    {"min_rest", "20"},
    {"stop_speed", "5"},
    {"zone_exit_duration", "60"},
    {"signal_lost_after", "5"},
    {"fix_max_future", "60"},
    {"fix_max_implied_speed", "250"},
    {"fix_max_accuracy", "100"},
    {"route_retention_days", "184"},
    {"position_batch_max", "500"},
    {"position_rate_max", "10"},
    {"position_rate_burst", "36000"},
    {"position_seq_window", "100000000"},
    {"geometry_ring_vertices_max", "10000"},
    {"geometry_vertices_max", "20000"},
    {"cylinder_inspection_interval", "4"},
    {"cylinder_design_life", "8"},
    {"cylinder_max_life", "12"},
    {"handover_max_distance", "100"},
    {"handover_max_fix_age", "120"},
    {"rectification_deadline", "7"},
    {"rematch_interval", "30"},
    {"order_window_lead", "60"},
    {"expiry_alert_days", "30"},
    {"route_seal_grace", "7200"},
    {"audit_signing_key", ""},
    {"unplanned_stop", "10"},
};

static void test_dispatchd_defaults(void **state)
{
    (void)state;
    struct dispatchd_config c;
    assert_int_equal(cfg_set_defaults(dispatchd_settings, dispatchd_settings_count, &c), 0);
    assert_int_equal(sizeof dispatchd_defaults / sizeof dispatchd_defaults[0],
                     dispatchd_settings_count);
    for (size_t i = 0; i < dispatchd_settings_count; i++)
        assert_field(dispatchd_settings, dispatchd_settings_count, &c, dispatchd_defaults[i].name,
                     dispatchd_defaults[i].value);
    assert_int_equal(c.log_level, LL_INFO);
    char err[256];
    assert_int_equal(dispatchd_settings_validate(&c, err, sizeof err), 0);

    /* The log levels are spelled as log.h spells them. */
    assert_int_equal(cfg_set(dispatchd_settings, dispatchd_settings_count, &c, "log-level", "debug",
                             err, sizeof err),
                     0);
    assert_int_equal(c.log_level, LL_DEBUG);
    assert_int_equal(cfg_set(dispatchd_settings, dispatchd_settings_count, &c, "log_level", "error",
                             err, sizeof err),
                     0);
    assert_int_equal(c.log_level, LL_ERROR);
    assert_int_equal(cfg_set(dispatchd_settings, dispatchd_settings_count, &c, "log_level",
                             "verbose", err, sizeof err),
                     -1);
    assert_contains(err, "log_level: invalid value \"verbose\"; expected one of "
                         "debug|info|warn|error");
    cfg_free(dispatchd_settings, dispatchd_settings_count, &c);
}

/* Every figure with both a setting and a rule default (core/legal_defaults.h): the settings'
 * defaults, applied as dispatchd applies them, give exactly the rules' own defaults, field by
 * field, so the two tables cannot drift apart. A setting changed from its default does reach
 * its rule (the comparison is not vacuous). */
static void assert_rules_equal(const struct fix_filter_config *fa, const struct rules_config *ra,
                               const struct delivery_policy *da, const struct fix_filter_config *fb,
                               const struct rules_config *rb, const struct delivery_policy *db)
{
    assert_int_equal(fa->max_future_ms, fb->max_future_ms);
    assert_true(fa->max_implied_speed_kmh == fb->max_implied_speed_kmh);
    assert_true(fa->max_accuracy_m == fb->max_accuracy_m);
    assert_int_equal(fa->jump_confirm_fixes, fb->jump_confirm_fixes);

    assert_true(ra->road_limit_kmh == rb->road_limit_kmh);
    assert_true(ra->expressway_limit_kmh == rb->expressway_limit_kmh);
    assert_int_equal(ra->overspeed_duration_ms, rb->overspeed_duration_ms);
    assert_true(ra->overspeed_warning_margin_kmh == rb->overspeed_warning_margin_kmh);
    assert_int_equal(ra->overspeed_min_fixes, rb->overspeed_min_fixes);
    assert_int_equal(ra->overspeed_max_gap_ms, rb->overspeed_max_gap_ms);
    assert_int_equal(ra->continuous_driving_max_ms, rb->continuous_driving_max_ms);
    assert_int_equal(ra->fatigue_warning_ms, rb->fatigue_warning_ms);
    assert_int_equal(ra->daily_driving_max_ms, rb->daily_driving_max_ms);
    assert_int_equal(ra->min_rest_ms, rb->min_rest_ms);
    assert_true(ra->stop_speed_kmh == rb->stop_speed_kmh);
    assert_true(ra->min_displacement_m == rb->min_displacement_m);
    assert_int_equal(ra->fix_gap_ms, rb->fix_gap_ms);
    assert_true(ra->gap_rest_max_distance_m == rb->gap_rest_max_distance_m);
    assert_true(ra->gap_assumed_speed_kmh == rb->gap_assumed_speed_kmh);
    assert_int_equal(ra->zone_exit_duration_ms, rb->zone_exit_duration_ms);
    assert_int_equal(ra->signal_lost_ms, rb->signal_lost_ms);

    assert_int_equal(da->inspection_interval_years, db->inspection_interval_years);
    assert_int_equal(da->design_life_years, db->design_life_years);
    assert_int_equal(da->max_life_years, db->max_life_years);
    assert_true(da->handover_max_distance_m == db->handover_max_distance_m);
    assert_int_equal(da->handover_max_fix_age_ms, db->handover_max_fix_age_ms);
    assert_int_equal(da->stopped_speed_cm_s, db->stopped_speed_cm_s);
}

static void test_settings_defaults_are_rules_defaults(void **state)
{
    (void)state;
    struct dispatchd_config c;
    assert_int_equal(cfg_set_defaults(dispatchd_settings, dispatchd_settings_count, &c), 0);
    struct fix_filter_config fs, fd;
    struct rules_config rs, rd;
    struct delivery_policy ds, dd;
    int64_t rect_ms = 0;
    dispatchd_settings_apply_rules(&c, &fs, &rs, &ds, &rect_ms);
    fix_filter_config_default(&fd);
    rules_config_default(&rd);
    delivery_policy_default(&dd);
    assert_rules_equal(&fs, &rs, &ds, &fd, &rd, &dd);
    /* No rule default for it: the notice's deadline is the setting's alone. */
    assert_int_equal(rect_ms, LEGAL_RECTIFICATION_DEADLINE_DAYS * 86400000LL);
    /* The regulatory figures themselves (docs/domain.md), in the rules' units. */
    assert_true(rd.road_limit_kmh == 60.0 && rd.expressway_limit_kmh == 80.0);
    assert_int_equal(rd.continuous_driving_max_ms, 4 * 3600 * 1000);
    assert_int_equal(rd.min_rest_ms, 20 * 60 * 1000);
    assert_int_equal(dd.inspection_interval_years, 4);
    assert_int_equal(dd.max_life_years, 12);

    char err[256];
    assert_int_equal(cfg_set(dispatchd_settings, dispatchd_settings_count, &c, "speed_limit_road",
                             "59", err, sizeof err),
                     0);
    dispatchd_settings_apply_rules(&c, &fs, &rs, &ds, &rect_ms);
    assert_true(rs.road_limit_kmh == 59.0);
    cfg_free(dispatchd_settings, dispatchd_settings_count, &c);
}

struct validate_case {
    const char *sets[5][2]; /* name, value pairs applied over the defaults */
    bool ok;
    const char *expect1, *expect2;
};

static const struct validate_case validate_cases[] = {
    {{{"redis_reconnect_min", "6000"}},
     false,
     "redis_reconnect_min (6000 ms)",
     "redis_reconnect_max (5000 ms)"},
    {{{"redis_reconnect_min", "5000"}}, true, NULL, NULL},
    {{{"redis_reconnect_max", "100"}, {"redis_reconnect_min", "100"}}, true, NULL, NULL},
    {{{"redis_reconnect_max", "100"}}, true, NULL, NULL}, /* default min is 100 */
    {{{"handset_port", "8080"}}, false, "http_port and handset_port are both 8080", NULL},
    {{{"handset_port", "8080"}, {"http_bind", "0.0.0.0"}}, false, "http_bind \"0.0.0.0\"", NULL},
    {{{"handset_port", "8080"},
      {"http_bind", "10.0.0.1"},
      {"handset_bind", "10.0.0.2"},
      {"allow_plaintext", "true"}},
     true,
     NULL,
     NULL},
    {{{"handset_port", "8081"}, {"http_bind", "0.0.0.0"}, {"allow_plaintext", "true"}},
     true,
     NULL,
     NULL},
    /* the JT/T 808 port clashes with neither; its listener has no TLS to require */
    {{{"jt808_port", "8080"}}, false, "jt808_port 8080 is also", NULL},
    {{{"jt808_port", "7070"}}, false, "jt808_port 7070 is also", NULL},
    {{{"jt808_port", "7070"}, {"jt808_bind", "10.0.0.9"}}, true, NULL, NULL},
    {{{"jt808_bind", "0.0.0.0"}}, true, NULL, NULL},
    /* plaintext off loopback only by the operator's choice; TLS settings in pairs */
    {{{"http_bind", "0.0.0.0"}},
     false,
     "http_bind \"0.0.0.0\" is not a loopback address and the http listener has no TLS",
     "allow_plaintext"},
    {{{"handset_bind", "::"}, {"http_bind", "127.0.0.5"}},
     false,
     "handset_bind \"::\" is not a loopback address",
     NULL},
    {{{"http_bind", "10.0.0.1"}, {"http_tls_cert", "c.pem"}, {"http_tls_key", "k.pem"}},
     true,
     NULL,
     NULL},
    {{{"handset_bind", "::1"}, {"http_bind", "localhost"}}, true, NULL, NULL},
    {{{"handset_tls_key", "k.pem"}},
     false,
     "handset_tls_cert and handset_tls_key must be set together",
     NULL},
    {{{"redis_user", "lpg"}}, false, "redis_user is set without redis_password", NULL},
    {{{"cylinder_design_life", "13"}},
     false,
     "cylinder_design_life (13 years)",
     "cylinder_max_life (12 years)"},
    {{{"cylinder_design_life", "13"}, {"cylinder_max_life", "13"}}, true, NULL, NULL},
};

static void test_dispatchd_validate(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof validate_cases / sizeof validate_cases[0]; k++) {
        const struct validate_case *tc = &validate_cases[k];
        struct dispatchd_config c;
        char err[512] = "";
        assert_int_equal(cfg_set_defaults(dispatchd_settings, dispatchd_settings_count, &c), 0);
        for (int j = 0; j < 5 && tc->sets[j][0] != NULL; j++)
            assert_int_equal(cfg_set(dispatchd_settings, dispatchd_settings_count, &c,
                                     tc->sets[j][0], tc->sets[j][1], err, sizeof err),
                             0);
        int rc = dispatchd_settings_validate(&c, err, sizeof err);
        if (tc->ok && rc != 0)
            fail_msg("case %zu refused: %s", k, err);
        if (!tc->ok) {
            if (rc != -1)
                fail_msg("case %zu accepted", k);
            assert_contains(err, tc->expect1);
            if (tc->expect2 != NULL)
                assert_contains(err, tc->expect2);
        }
        cfg_free(dispatchd_settings, dispatchd_settings_count, &c);
    }
}

/* dispatchd's whole table through the command line: help fits 100 columns, --print-config
 * round-trips, and validation runs after the overrides. */
static void test_dispatchd_cli(void **state)
{
    (void)state;
    struct cfg_program prog = {
        .name = "dispatchd",
        .version = "0.1.0",
        .summary = "Bottled-LPG delivery dispatch service.",
        .settings = dispatchd_settings,
        .n_settings = dispatchd_settings_count,
        .validate = dispatchd_settings_validate,
    };
    char outpath[600], err[512];
    snprintf(outpath, sizeof outpath, "%s/dispatchd.out", tmpdir);

    char *help_argv[] = {"dispatchd", "--help", NULL};
    struct dispatchd_config c;
    FILE *out = fopen(outpath, "w");
    assert_int_equal(cfg_parse_args(&prog, &c, 2, help_argv, NULL, out, err, sizeof err),
                     CFG_PARSE_EXIT);
    fclose(out);
    cfg_free(dispatchd_settings, dispatchd_settings_count, &c);
    char *help = read_all(outpath);
    assert_lines_fit(help, 100);
    for (size_t i = 0; i < dispatchd_settings_count; i++)
        assert_contains(help, dispatchd_settings[i].name);
    assert_contains(help, "1024..67108864 bytes");
    assert_contains(help, "debug|info|warn|error");
    free(help);

    char *print_argv[] = {"dispatchd",
                          "--redis-key-prefix",
                          "test:{x}:",
                          "--http_port=9000",
                          "--log-level=warn",
                          "--print-config",
                          "--shutdown_timeout=0",
                          NULL};
    out = fopen(outpath, "w");
    assert_int_equal(cfg_parse_args(&prog, &c, 7, print_argv, NULL, out, err, sizeof err),
                     CFG_PARSE_EXIT);
    fclose(out);
    char *printed = read_all(outpath);
    assert_lines_fit(printed, 100);
    assert_contains(printed, "\nredis_key_prefix = \"test:{x}:\"\n");
    assert_contains(printed, "\nlog_level = warn\n");
    struct dispatchd_config back;
    assert_int_equal(cfg_set_defaults(dispatchd_settings, dispatchd_settings_count, &back), 0);
    if (cfg_load_file(dispatchd_settings, dispatchd_settings_count, &back, outpath, err,
                      sizeof err) != 0)
        fail_msg("%s", err);
    assert_conf_equal(dispatchd_settings, dispatchd_settings_count, &c, &back);
    assert_int_equal(back.shutdown_timeout, 0);
    cfg_free(dispatchd_settings, dispatchd_settings_count, &back);
    cfg_free(dispatchd_settings, dispatchd_settings_count, &c);
    free(printed);

    char *bad_argv[] = {"dispatchd", "--redis_reconnect_min=9000", NULL};
    assert_int_equal(cfg_parse_args(&prog, &c, 2, bad_argv, NULL, stdout, err, sizeof err),
                     CFG_PARSE_ERROR);
    assert_contains(err, "invalid configuration: redis_reconnect_min (9000 ms) must not exceed");
    cfg_free(dispatchd_settings, dispatchd_settings_count, &c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_applied),
        cmocka_unit_test(test_set_values),
        cmocka_unit_test(test_errbuf_optional_and_bounded),
        cmocka_unit_test(test_file_format),
        cmocka_unit_test(test_file_cases),
        cmocka_unit_test(test_file_errors),
        cmocka_unit_test(test_cli_forms),
        cmocka_unit_test(test_cli_config_first),
        cmocka_unit_test(test_cli_errors),
        cmocka_unit_test(test_cli_program_options),
        cmocka_unit_test(test_cli_help_version),
        cmocka_unit_test(test_print_config_round_trip),
        cmocka_unit_test(test_dispatchd_table_shape),
        cmocka_unit_test(test_dispatchd_table_ranges),
        cmocka_unit_test(test_route_retention_covers_six_months),
        cmocka_unit_test(test_dispatchd_defaults),
        cmocka_unit_test(test_settings_defaults_are_rules_defaults),
        cmocka_unit_test(test_dispatchd_validate),
        cmocka_unit_test(test_dispatchd_cli),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
