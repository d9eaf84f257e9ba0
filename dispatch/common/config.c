/*
 * config.c - the table-driven configuration engine declared in config.h: value parsers for the
 * four setting types, the config-file reader, the command-line parser and the two printers
 * (--help and --print-config). Errors follow the convention in config.h: return -1 and a
 * message in the caller's errbuf, built by set_error().
 */
#include "common/config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* --help and --print-config wrap at this column. */
#define CFG_TEXT_COLUMNS 100
/* Column where the help of an option starts in --help. */
#define OPTION_INDENT "                        "
/* Room for any formatted value in messages and printouts before it is cut. */
#define CFG_VALUE_SHOW_MAX 64

static const char *const bool_true[] = {"true", "yes", "on", "1", NULL};
static const char *const bool_false[] = {"false", "no", "off", "0", NULL};

__attribute__((format(printf, 3, 4))) static int set_error(char *errbuf, size_t errlen,
                                                           const char *fmt, ...)
{
    if (errbuf != NULL && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errbuf, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Prefix an existing message in errbuf with "prefix: " (used to add file:line). */
static void prefix_error(char *errbuf, size_t errlen, const char *prefix)
{
    if (errbuf == NULL || errlen == 0)
        return;
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s", errbuf);
    snprintf(errbuf, errlen, "%s: %s", prefix, tmp);
}

static char lower_ascii(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static bool equal_nocase(const char *a, const char *b)
{
    for (; *a != '\0' && *b != '\0'; a++, b++)
        if (lower_ascii(*a) != lower_ascii(*b))
            return false;
    return *a == *b;
}

/* Does name[0..len) equal the canonical setting name, with '-' matching '_'? */
static bool name_matches(const char *canonical, const char *name, size_t len)
{
    size_t i;
    for (i = 0; i < len && canonical[i] != '\0'; i++) {
        char c = name[i] == '-' ? '_' : name[i];
        char k = canonical[i] == '-' ? '_' : canonical[i];
        if (c != k)
            return false;
    }
    return i == len && canonical[i] == '\0';
}

static const struct cfg_setting *find_setting(const struct cfg_setting *table, size_t n,
                                              const char *name, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (name_matches(table[i].name, name, len))
            return &table[i];
    return NULL;
}

static int list_index(const char *const *names, const char *value)
{
    for (int i = 0; names[i] != NULL; i++)
        if (equal_nocase(names[i], value))
            return i;
    return -1;
}

/* "a|b|c" into buf. */
static void join_names(const char *const *names, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; names[i] != NULL && used < len; i++) {
        int w = snprintf(buf + used, len - used, "%s%s", i > 0 ? "|" : "", names[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

/* The allowed values of a setting as text: "1..65535 ms", "debug|info", "length 1..255". */
static void describe_allowed(const struct cfg_setting *s, char *buf, size_t len)
{
    const char *unit = s->unit != NULL ? s->unit : "";
    const char *sep = s->unit != NULL ? " " : "";
    switch (s->type) {
    case CFG_BOOL:
        snprintf(buf, len, "true|false");
        break;
    case CFG_INT:
        snprintf(buf, len, "%" PRId64 "..%" PRId64 "%s%s", s->min, s->max, sep, unit);
        break;
    case CFG_ENUM:
        join_names(s->enum_names, buf, len);
        break;
    case CFG_STRING:
        snprintf(buf, len, "length %" PRId64 "..%" PRId64 " bytes", s->min,
                 s->max > 0 ? s->max : (int64_t)CFG_STRING_MAX);
        break;
    }
}

static const char *type_name(enum cfg_type t)
{
    switch (t) {
    case CFG_BOOL:
        return "bool";
    case CFG_INT:
        return "int";
    case CFG_STRING:
        return "string";
    case CFG_ENUM:
        return "enum";
    }
    return "?";
}

/* Strict decimal int64: optional sign, at least one digit, nothing else. */
static bool parse_int64(const char *text, int64_t *out)
{
    const char *p = text;
    if (*p == '+' || *p == '-')
        p++;
    if (*p < '0' || *p > '9')
        return false;
    for (const char *q = p; *q != '\0'; q++)
        if (*q < '0' || *q > '9')
            return false;
    errno = 0;
    char *end = NULL;
    long long v = strtoll(text, &end, 10);
    if (errno == ERANGE || end == NULL || *end != '\0')
        return false;
    *out = (int64_t)v;
    return true;
}

/* Parse `value` for setting s and store it in conf. conf is unchanged on failure. */
static int apply_value(const struct cfg_setting *s, void *conf, const char *value, char *errbuf,
                       size_t errlen)
{
    char *field = (char *)conf + s->offset;
    char allowed[256];
    describe_allowed(s, allowed, sizeof allowed);

    switch (s->type) {
    case CFG_BOOL: {
        bool b;
        if (list_index(bool_true, value) >= 0)
            b = true;
        else if (list_index(bool_false, value) >= 0)
            b = false;
        else
            return set_error(errbuf, errlen,
                             "%s: invalid boolean \"%.*s\"; expected "
                             "true|false|yes|no|on|off|1|0",
                             s->name, CFG_VALUE_SHOW_MAX, value);
        memcpy(field, &b, sizeof b);
        return 0;
    }
    case CFG_INT: {
        int64_t v;
        if (!parse_int64(value, &v))
            return set_error(errbuf, errlen,
                             "%s: invalid integer \"%.*s\"; expected a decimal number in %s",
                             s->name, CFG_VALUE_SHOW_MAX, value, allowed);
        if (v < s->min || v > s->max)
            return set_error(errbuf, errlen, "%s: %" PRId64 " is out of range; allowed %s", s->name,
                             v, allowed);
        memcpy(field, &v, sizeof v);
        return 0;
    }
    case CFG_ENUM: {
        int idx = list_index(s->enum_names, value);
        if (idx < 0)
            return set_error(errbuf, errlen, "%s: invalid value \"%.*s\"; expected one of %s",
                             s->name, CFG_VALUE_SHOW_MAX, value, allowed);
        memcpy(field, &idx, sizeof idx);
        return 0;
    }
    case CFG_STRING: {
        size_t len = strlen(value);
        for (size_t i = 0; i < len; i++) {
            unsigned char c = (unsigned char)value[i];
            if (c < 0x20 || c == 0x7f)
                return set_error(errbuf, errlen,
                                 "%s: value contains a control character (byte %zu)", s->name,
                                 i + 1);
        }
        int64_t max = s->max > 0 ? s->max : CFG_STRING_MAX;
        if ((int64_t)len < s->min || (int64_t)len > max)
            return set_error(errbuf, errlen, "%s: value is %zu bytes long; allowed %s", s->name,
                             len, allowed);
        char *copy = strdup(value);
        if (copy == NULL)
            return set_error(errbuf, errlen, "%s: out of memory", s->name);
        char *old;
        memcpy(&old, field, sizeof old);
        free(old);
        memcpy(field, &copy, sizeof copy);
        return 0;
    }
    }
    return set_error(errbuf, errlen, "%s: setting has an unknown type", s->name);
}

int cfg_set_defaults(const struct cfg_setting *table, size_t n, void *conf)
{
    /* Strings first, so the struct is freeable whatever happens below. */
    for (size_t i = 0; i < n; i++) {
        if (table[i].type == CFG_STRING) {
            char *null = NULL;
            memcpy((char *)conf + table[i].offset, &null, sizeof null);
        }
    }
    for (size_t i = 0; i < n; i++) {
        const char *def = table[i].default_value != NULL ? table[i].default_value : "";
        if (apply_value(&table[i], conf, def, NULL, 0) != 0)
            return -1;
    }
    return 0;
}

int cfg_set(const struct cfg_setting *table, size_t n, void *conf, const char *name,
            const char *value, char *errbuf, size_t errlen)
{
    const struct cfg_setting *s = find_setting(table, n, name, strlen(name));
    if (s == NULL)
        return set_error(errbuf, errlen, "unknown setting \"%.*s\"", CFG_VALUE_SHOW_MAX, name);
    return apply_value(s, conf, value, errbuf, errlen);
}

/* Trim whitespace in place: returns the start, terminates the end. */
static char *trim(char *s)
{
    while (is_space(*s))
        s++;
    size_t len = strlen(s);
    while (len > 0 && is_space(s[len - 1]))
        s[--len] = '\0';
    return s;
}

/* Apply one line (already without its newline). Returns 0 for applied or ignored lines. */
static int load_line(const struct cfg_setting *table, size_t n, void *conf, char *line,
                     char *errbuf, size_t errlen)
{
    char *text = trim(line);
    if (*text == '\0' || *text == '#')
        return 0;
    char *eq = strchr(text, '=');
    if (eq == NULL)
        return set_error(errbuf, errlen, "expected \"name = value\", found no '=' in \"%.*s\"",
                         CFG_VALUE_SHOW_MAX, text);
    *eq = '\0';
    char *name = trim(text);
    char *value = trim(eq + 1);
    if (*name == '\0')
        return set_error(errbuf, errlen, "missing setting name before '='");
    size_t vlen = strlen(value);
    if (vlen >= 2 && value[0] == '"' && value[vlen - 1] == '"') {
        value[vlen - 1] = '\0';
        value++;
    }
    return cfg_set(table, n, conf, name, value, errbuf, errlen);
}

int cfg_load_file(const struct cfg_setting *table, size_t n, void *conf, const char *path,
                  char *errbuf, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return set_error(errbuf, errlen, "cannot open config file \"%s\": %s", path,
                         strerror(errno));

    int rc = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    unsigned long lineno = 0;
    char where[300];
    while ((got = getline(&line, &cap, f)) >= 0) {
        lineno++;
        snprintf(where, sizeof where, "%s:%lu", path, lineno);
        if ((size_t)got > CFG_LINE_MAX) {
            rc = set_error(errbuf, errlen, "%s: line longer than %d bytes", where, CFG_LINE_MAX);
            goto out;
        }
        if (strlen(line) != (size_t)got) {
            rc = set_error(errbuf, errlen, "%s: line contains a NUL byte", where);
            goto out;
        }
        if (load_line(table, n, conf, line, errbuf, errlen) != 0) {
            prefix_error(errbuf, errlen, where);
            rc = -1;
            goto out;
        }
    }
    if (ferror(f))
        rc = set_error(errbuf, errlen, "cannot read config file \"%s\": %s", path, strerror(errno));
out:
    free(line);
    fclose(f);
    return rc;
}

/* The current value of s in conf as config-file text (strings quoted). */
static void format_value(const struct cfg_setting *s, const void *conf, char *buf, size_t len)
{
    const char *field = (const char *)conf + s->offset;
    switch (s->type) {
    case CFG_BOOL: {
        bool b;
        memcpy(&b, field, sizeof b);
        snprintf(buf, len, "%s", b ? "true" : "false");
        break;
    }
    case CFG_INT: {
        int64_t v;
        memcpy(&v, field, sizeof v);
        snprintf(buf, len, "%" PRId64, v);
        break;
    }
    case CFG_ENUM: {
        int v;
        memcpy(&v, field, sizeof v);
        int count = 0;
        while (s->enum_names[count] != NULL)
            count++;
        snprintf(buf, len, "%s", (v >= 0 && v < count) ? s->enum_names[v] : "?");
        break;
    }
    case CFG_STRING: {
        const char *str;
        memcpy(&str, field, sizeof str);
        snprintf(buf, len, "\"%s\"", str != NULL ? str : "");
        break;
    }
    }
}

/* Write `text` word-wrapped to CFG_TEXT_COLUMNS. The first line starts with `first`, the others
 * with `indent`; both should have the same width. */
static void print_wrapped2(FILE *out, const char *first, const char *indent, const char *text)
{
    size_t width = CFG_TEXT_COLUMNS - strlen(indent);
    const char *lead = first;
    const char *p = text;
    while (*p != '\0') {
        while (*p == ' ')
            p++;
        size_t rest = strlen(p);
        size_t take = rest;
        if (rest > width) {
            take = width;
            while (take > 0 && p[take] != ' ')
                take--;
            if (take == 0) /* one word longer than the line: let it overflow */
                take = strcspn(p, " ");
        }
        if (take == 0)
            break;
        fprintf(out, "%s%.*s\n", lead, (int)take, p);
        lead = indent;
        p += take;
    }
}

static void print_wrapped(FILE *out, const char *indent, const char *text)
{
    print_wrapped2(out, indent, indent, text);
}

int cfg_print(const struct cfg_setting *table, size_t n, const void *conf, FILE *out)
{
    for (size_t i = 0; i < n; i++) {
        const struct cfg_setting *s = &table[i];
        char allowed[256], value[CFG_LINE_MAX], comment[1024];
        describe_allowed(s, allowed, sizeof allowed);
        format_value(s, conf, value, sizeof value);
        snprintf(
            comment, sizeof comment, "%s [%s: %s; default %s%s%s]", s->help != NULL ? s->help : "",
            type_name(s->type), allowed, s->type == CFG_STRING ? "\"" : "",
            s->default_value != NULL ? s->default_value : "", s->type == CFG_STRING ? "\"" : "");
        fprintf(out, "%s", i > 0 ? "\n" : "");
        print_wrapped(out, "# ", comment);
        fprintf(out, "%s = %s\n", s->name, value);
    }
    return ferror(out) ? -1 : 0;
}

int cfg_print_help(const struct cfg_program *prog, FILE *out)
{
    fprintf(out, "Usage: %s [OPTION]... [--SETTING=VALUE]...\n", prog->name);
    if (prog->summary != NULL)
        fprintf(out, "%s\n", prog->summary);

    fprintf(out, "\nOptions:\n");
    static const struct cfg_option builtin[] = {
        {"config", "FILE",
         "Load settings from FILE (may be repeated) before the command-line "
         "settings, wherever it stands on the command line."},
        {"print-config", NULL,
         "Print the effective configuration as a loadable config file "
         "and exit."},
        {"help", NULL, "Print this help and exit."},
        {"version", NULL, "Print the version and exit."},
    };
    for (size_t k = 0; k < 2; k++) {
        const struct cfg_option *opts = k == 0 ? builtin : prog->options;
        size_t count = k == 0 ? sizeof builtin / sizeof builtin[0] : prog->n_options;
        for (size_t i = 0; i < count; i++) {
            char head[80];
            snprintf(head, sizeof head, "  --%s%s%s", opts[i].name,
                     opts[i].arg_name != NULL ? " " : "",
                     opts[i].arg_name != NULL ? opts[i].arg_name : "");
            if (strlen(head) >= sizeof OPTION_INDENT - 1) { /* too wide: help on its own line */
                fprintf(out, "%s\n", head);
                head[0] = '\0';
            }
            snprintf(head + strlen(head), sizeof head - strlen(head), "%-*s",
                     (int)(sizeof OPTION_INDENT - 1 - strlen(head)), "");
            print_wrapped2(out, head, OPTION_INDENT, opts[i].help != NULL ? opts[i].help : "");
        }
    }

    fprintf(out, "\nSettings:\n");
    print_wrapped(out, "  ",
                  "Set with --NAME=VALUE or --NAME VALUE ('-' and '_' are interchangeable), or "
                  "as \"NAME = VALUE\" lines in a --config file. Command-line settings override "
                  "the files; otherwise the last occurrence wins. Integers are plain decimal.");
    fprintf(out, "\n");

    int name_w = 4, def_w = 7;
    for (size_t i = 0; i < prog->n_settings; i++) {
        const struct cfg_setting *s = &prog->settings[i];
        int nl = (int)strlen(s->name);
        int dl = (int)strlen(s->default_value != NULL ? s->default_value : "") +
                 (s->type == CFG_STRING ? 2 : 0);
        name_w = nl > name_w ? nl : name_w;
        def_w = dl > def_w ? dl : def_w;
    }
    if (def_w > 20)
        def_w = 20;
    fprintf(out, "  %-*s  %-6s  %-*s  %s\n", name_w, "NAME", "TYPE", def_w, "DEFAULT", "ALLOWED");
    for (size_t i = 0; i < prog->n_settings; i++) {
        const struct cfg_setting *s = &prog->settings[i];
        char allowed[256], def[CFG_VALUE_SHOW_MAX + 3];
        describe_allowed(s, allowed, sizeof allowed);
        snprintf(def, sizeof def, s->type == CFG_STRING ? "\"%s\"" : "%s",
                 s->default_value != NULL ? s->default_value : "");
        int row = 2 + name_w + 2 + 6 + 2 + ((int)strlen(def) > def_w ? (int)strlen(def) : def_w) +
                  2 + (int)strlen(allowed);
        if (row > CFG_TEXT_COLUMNS) /* a long default: the allowed values under their column */
            fprintf(out, "  %-*s  %-6s  %s\n  %*s  %s\n", name_w, s->name, type_name(s->type), def,
                    name_w + 2 + 6 + 2 + def_w, "", allowed);
        else
            fprintf(out, "  %-*s  %-6s  %-*s  %s\n", name_w, s->name, type_name(s->type), def_w,
                    def, allowed);
        if (s->help != NULL)
            print_wrapped(out, "      ", s->help);
    }
    return ferror(out) ? -1 : 0;
}

void cfg_free(const struct cfg_setting *table, size_t n, void *conf)
{
    for (size_t i = 0; i < n; i++) {
        if (table[i].type != CFG_STRING)
            continue;
        char *field = (char *)conf + table[i].offset;
        char *str;
        memcpy(&str, field, sizeof str);
        free(str);
        str = NULL;
        memcpy(field, &str, sizeof str);
    }
}

/* ---- command line ---- */

enum arg_kind { ARG_CONFIG, ARG_HELP, ARG_VERSION, ARG_PRINT, ARG_OPTION, ARG_SETTING };

struct arg {
    enum arg_kind kind;
    size_t index;                      /* ARG_OPTION: index into prog->options */
    const struct cfg_setting *setting; /* ARG_SETTING */
    const char *value;                 /* NULL for flags without a value */
};

/* Decode argv[*i] (consuming argv[*i + 1] too for "--name value"). */
static int next_arg(const struct cfg_program *prog, int argc, char *const argv[], int *i,
                    struct arg *a, char *errbuf, size_t errlen)
{
    const char *arg = argv[*i];
    if (strcmp(arg, "-h") == 0)
        arg = "--help";
    if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0')
        return set_error(errbuf, errlen, "unexpected argument \"%.*s\"", CFG_VALUE_SHOW_MAX, arg);
    const char *name = arg + 2;
    const char *eq = strchr(name, '=');
    size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
    bool takes_value;

    memset(a, 0, sizeof *a);
    if (name_matches("config", name, len)) {
        a->kind = ARG_CONFIG;
        takes_value = true;
    } else if (name_matches("help", name, len)) {
        a->kind = ARG_HELP;
        takes_value = false;
    } else if (name_matches("version", name, len)) {
        a->kind = ARG_VERSION;
        takes_value = false;
    } else if (name_matches("print_config", name, len)) {
        a->kind = ARG_PRINT;
        takes_value = false;
    } else {
        size_t k;
        for (k = 0; k < prog->n_options; k++)
            if (name_matches(prog->options[k].name, name, len))
                break;
        if (k < prog->n_options) {
            a->kind = ARG_OPTION;
            a->index = k;
            takes_value = prog->options[k].arg_name != NULL;
        } else {
            a->setting = find_setting(prog->settings, prog->n_settings, name, len);
            if (a->setting == NULL)
                return set_error(errbuf, errlen, "unknown option \"--%.*s\"",
                                 (int)(len < CFG_VALUE_SHOW_MAX ? len : CFG_VALUE_SHOW_MAX), name);
            a->kind = ARG_SETTING;
            takes_value = true;
        }
    }

    if (!takes_value) {
        if (eq != NULL)
            return set_error(errbuf, errlen, "option \"--%.*s\" takes no value", (int)len, name);
        return 0;
    }
    if (eq != NULL) {
        a->value = eq + 1;
    } else if (*i + 1 < argc) {
        a->value = argv[++*i];
    } else {
        return set_error(errbuf, errlen, "option \"--%.*s\" requires a value", (int)len, name);
    }
    return 0;
}

int cfg_parse_args(const struct cfg_program *prog, void *conf, int argc, char *const argv[],
                   const char **opt_values, FILE *out, char *errbuf, size_t errlen)
{
    if (errbuf != NULL && errlen > 0)
        errbuf[0] = '\0';
    for (size_t k = 0; k < prog->n_options; k++)
        opt_values[k] = NULL;
    if (cfg_set_defaults(prog->settings, prog->n_settings, conf) != 0)
        return set_error(errbuf, errlen,
                         "internal error: a default value in the settings "
                         "table does not parse");

    /* Pass 1: syntax, unknown options, the informational flags and program options. */
    bool help = false, version = false, print = false;
    struct arg a;
    for (int i = 1; i < argc; i++) {
        if (next_arg(prog, argc, argv, &i, &a, errbuf, errlen) != 0)
            return CFG_PARSE_ERROR;
        if (a.kind == ARG_HELP)
            help = true;
        else if (a.kind == ARG_VERSION)
            version = true;
        else if (a.kind == ARG_PRINT)
            print = true;
        else if (a.kind == ARG_OPTION)
            opt_values[a.index] = a.value != NULL ? a.value : "";
    }
    if (help)
        return cfg_print_help(prog, out) == 0
                   ? CFG_PARSE_EXIT
                   : set_error(errbuf, errlen, "cannot write the help text");
    if (version) {
        fprintf(out, "%s %s\n", prog->name, prog->version != NULL ? prog->version : "");
        return ferror(out) ? set_error(errbuf, errlen, "cannot write the version") : CFG_PARSE_EXIT;
    }

    /* Pass 2: files first, in order; pass 3: settings, in order. */
    for (int pass = 2; pass <= 3; pass++) {
        for (int i = 1; i < argc; i++) {
            next_arg(prog, argc, argv, &i, &a, NULL, 0); /* cannot fail: pass 1 succeeded */
            if (pass == 2 && a.kind == ARG_CONFIG) {
                if (cfg_load_file(prog->settings, prog->n_settings, conf, a.value, errbuf,
                                  errlen) != 0)
                    return CFG_PARSE_ERROR;
            } else if (pass == 3 && a.kind == ARG_SETTING) {
                if (apply_value(a.setting, conf, a.value, errbuf, errlen) != 0) {
                    prefix_error(errbuf, errlen, "command line");
                    return CFG_PARSE_ERROR;
                }
            }
        }
    }

    if (prog->validate != NULL && prog->validate(conf, errbuf, errlen) != 0) {
        prefix_error(errbuf, errlen, "invalid configuration");
        return CFG_PARSE_ERROR;
    }
    if (print) {
        fprintf(out,
                "# %s %s effective configuration (--print-config); load it with --config "
                "FILE\n\n",
                prog->name, prog->version != NULL ? prog->version : "");
        if (cfg_print(prog->settings, prog->n_settings, conf, out) != 0)
            return set_error(errbuf, errlen, "cannot write the configuration");
        return CFG_PARSE_EXIT;
    }
    return CFG_PARSE_RUN;
}
