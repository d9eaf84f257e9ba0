/*
 * config.h - a generic, table-driven configuration engine (prefix cfg_).
 *
 * A program describes its settings once, as a const array of struct cfg_setting over its own
 * configuration struct (name, type, offset of the field, range, default, unit, help). From that
 * one table this module applies defaults, parses config files and the command line, range-checks
 * every value, prints --help and prints the effective configuration (--print-config) in the
 * config-file format. No other code parses settings (no getenv/atoi scattered around).
 *
 * Field types in the caller's struct (use the CFG_OFF_* macros: they fail to compile when the
 * field has the wrong type):
 *   CFG_BOOL    bool      true/false, yes/no, on/off, 1/0 (case-insensitive)
 *   CFG_INT     int64_t   plain decimal integer with optional sign; no suffixes, no hex;
 *                         checked against [min, max] inclusive; `unit` is shown in help/errors
 *   CFG_STRING  char *    heap copy owned by the struct, freed by cfg_free(); min/max bound the
 *                         length in bytes (max == 0: CFG_STRING_MAX); control characters are
 *                         rejected so every value survives a --print-config round trip
 *   CFG_ENUM    int       one of enum_names (case-insensitive); the stored value is the index
 *
 * Config file format (cfg_load_file):
 *   - one `name = value` per line; whitespace around name and value is trimmed;
 *   - blank lines and lines whose first non-blank character is '#' are ignored; there are no
 *     trailing comments: a '#' after the '=' is part of the value;
 *   - a value may be wrapped in one pair of double quotes, which are removed (so "  x " keeps its
 *     spaces); there are no escapes inside;
 *   - names may use '-' or '_' interchangeably;
 *   - when a name appears more than once, the later line wins;
 *   - unknown names, missing '=', bad or out-of-range values are errors naming file:line, the
 *     setting and the allowed values. Lines are capped at CFG_LINE_MAX bytes.
 *
 * Command line (cfg_parse_args):
 *   --NAME=VALUE or --NAME VALUE   set a setting ('-' and '_' interchangeable in NAME)
 *   --config FILE                  load FILE first (may be repeated; files load in order), then
 *                                  all command-line settings are applied in order, wherever
 *                                  --config stood
 *   --help (-h), --version         print and return CFG_PARSE_EXIT
 *   --print-config                 print the effective configuration in config-file format and
 *                                  return CFG_PARSE_EXIT; the output loads back with --config
 *   program-specific options       from cfg_program.options (e.g. --create-admin NAME); their
 *                                  values are handed back to main, which acts on them
 *   Every setting takes a value (bools too: --flag=true). Positional arguments are not accepted.
 *   The names config, help, version and print_config are reserved; a program option or setting
 *   with one of those names is never reached.
 *
 * Error convention (the whole module): functions return int; 0 is success and -1 is failure,
 * with a one-line human-readable message (no trailing newline) written to the caller's
 * errbuf[errlen] (always NUL-terminated; errbuf may be NULL or errlen 0 to discard it). The
 * module never prints errors itself and never exits. cfg_parse_args() additionally returns
 * CFG_PARSE_EXIT (1) when it handled --help/--version/--print-config.
 *
 * Ownership: the config struct is the caller's. cfg_set_defaults() (called by cfg_parse_args())
 * treats it as uninitialized; from then on, whatever any function in this module returns, the
 * struct is in a state that cfg_free() releases. After a failed cfg_set() the struct is
 * unchanged; after a failed cfg_load_file()/cfg_parse_args() earlier lines/arguments may have
 * been applied (the caller is expected to exit).
 */
#ifndef LPG_CONFIG_H
#define LPG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Longest config-file line accepted, in bytes (a named cap on a buffer fed from a file). */
#define CFG_LINE_MAX 4096
/* Longest string value, in bytes, when a CFG_STRING setting has max 0; keeps every value
 * printable on one config-file line. */
#define CFG_STRING_MAX 1024

enum cfg_type {
    CFG_BOOL,   /* bool */
    CFG_INT,    /* int64_t */
    CFG_STRING, /* char *, owned */
    CFG_ENUM,   /* int, index into enum_names */
};

struct cfg_setting {
    const char *name;              /* canonical lower_snake_case name */
    enum cfg_type type;            /* decides the C type of the field, see above */
    size_t offset;                 /* of the field in the caller's struct: use CFG_OFF_* */
    int64_t min, max;              /* CFG_INT: inclusive range; CFG_STRING: length in bytes
                                      (max 0 = CFG_STRING_MAX); unused for bool, enum */
    const char *default_value;     /* text, parsed exactly like a config-file value */
    const char *unit;              /* "bytes", "ms", "seconds", ... or NULL */
    const char *help;              /* one sentence */
    const char *const *enum_names; /* CFG_ENUM: NULL-terminated list; value = index */
};

/* Offset of field F in struct type T, checked at compile time to have the C type of the setting
 * type (comparing distinct pointer types is a constraint violation, so a mismatch does not
 * build). */
#define CFG_FIELD_(T, F, CTYPE) (offsetof(T, F) + 0 * sizeof((CTYPE *)0 == &((T *)0)->F))
#define CFG_OFF_BOOL(T, F)      CFG_FIELD_(T, F, bool)
#define CFG_OFF_INT(T, F)       CFG_FIELD_(T, F, int64_t)
#define CFG_OFF_STRING(T, F)    CFG_FIELD_(T, F, char *)
#define CFG_OFF_ENUM(T, F)      CFG_FIELD_(T, F, int)

/* A program-specific command-line option that is not a setting (e.g. --create-admin NAME). */
struct cfg_option {
    const char *name;     /* without leading dashes, e.g. "create-admin" */
    const char *arg_name; /* placeholder shown in --help ("NAME") if it takes a value; NULL for
                             a plain flag */
    const char *help;     /* one sentence */
};

/* Everything cfg_parse_args() needs to know about the program. */
struct cfg_program {
    const char *name;    /* shown in usage, --version and --print-config */
    const char *version; /* shown by --version */
    const char *summary; /* one line under the usage line of --help */
    const struct cfg_setting *settings;
    size_t n_settings;
    const struct cfg_option *options; /* may be NULL when n_options is 0 */
    size_t n_options;
    /* Cross-field rules, run after files and command line are applied; NULL for none.
     * conf is the caller's config struct. Same error convention as this module. */
    int (*validate)(const void *conf, char *errbuf, size_t errlen);
};

/* cfg_parse_args() outcomes; main maps them to exit codes. */
enum cfg_parse_result {
    CFG_PARSE_ERROR = -1, /* usage or configuration error, message in errbuf: exit 2 */
    CFG_PARSE_RUN = 0,    /* configuration complete: run the program */
    CFG_PARSE_EXIT = 1,   /* --help, --version or --print-config was printed: exit 0 */
};

/* Set every field described by the table to its default. conf is treated as uninitialized
 * (string fields are not freed first: call cfg_free() before calling this again). Fails only if
 * the table itself is wrong (a default that does not parse) or on out-of-memory. */
int cfg_set_defaults(const struct cfg_setting *table, size_t n, void *conf);

/* Parse `value` for the setting called `name` ('-' and '_' equivalent) and store it. On failure
 * conf is unchanged and errbuf names the setting and the allowed values or range. */
int cfg_set(const struct cfg_setting *table, size_t n, void *conf, const char *name,
            const char *value, char *errbuf, size_t errlen);

/* Apply every `name = value` line of the file at `path` (format above), in order. */
int cfg_load_file(const struct cfg_setting *table, size_t n, void *conf, const char *path,
                  char *errbuf, size_t errlen);

/* Write the settings as a loadable config file: each setting preceded by a comment with its
 * help, allowed values, unit and default. Strings are always quoted. Returns -1 only if the
 * stream reports a write error (ferror). */
int cfg_print(const struct cfg_setting *table, size_t n, const void *conf, FILE *out);

/* Write the --help text (usage, options, then one entry per setting: name, type, default,
 * allowed values with unit, and the help wrapped to 100 columns). */
int cfg_print_help(const struct cfg_program *prog, FILE *out);

/* Apply defaults, then every --config file, then every command-line setting, then
 * prog->validate (see the command-line rules at the top). --help/--version/--print-config are
 * written to `out` (main passes stdout); nothing is ever written to stderr.
 *
 * opt_values has prog->n_options entries. Each is set to NULL, or, when the option was given,
 * to its argument (pointing into argv) or to "" for a plain flag; the last occurrence wins.
 *
 * Returns CFG_PARSE_RUN, CFG_PARSE_EXIT or CFG_PARSE_ERROR (message in errbuf). In every case
 * conf must later be released with cfg_free(). --help and --version do not read config files,
 * so they work even when a file is broken. */
int cfg_parse_args(const struct cfg_program *prog, void *conf, int argc, char *const argv[],
                   const char **opt_values, FILE *out, char *errbuf, size_t errlen);

/* Free the string fields (and set them to NULL). Safe on a struct from any return above. */
void cfg_free(const struct cfg_setting *table, size_t n, void *conf);

#endif /* LPG_CONFIG_H */
