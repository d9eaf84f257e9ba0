/* checkpoint_cli.c -- dispatchd --create-signing-key and --verify-checkpoint
 * (checkpoint_cli.h). */
#include "checkpoint_cli.h"

#include "common/key_file.h"
#include "core/audit_checkpoint.h"

#include <jansson.h>

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Longest line of an export: a page of GET /v1/audit/entries (1000 items, each entry twice:
 * parsed and as text) stays far below it. */
#define EXPORT_LINE_MAX (64u * 1024u * 1024u)

int checkpoint_cli_create_key(const char *path, FILE *out)
{
    char why[512], id[AUDIT_HASH_HEX_LEN + 1];
    EVP_PKEY *k = key_file_create(path, why, sizeof(why));
    if (k == NULL) {
        fprintf(stderr, "dispatchd: --create-signing-key: %s\n", why);
        return 1;
    }
    char *pem = audit_key_public_pem(k);
    int ok = pem != NULL && audit_key_id(k, id) == 0;
    if (ok)
        fprintf(out, "audit signing key written to %s (mode 0600)\nkey_id %s\n%s", path, id, pem);
    else
        fprintf(stderr,
                "dispatchd: --create-signing-key: %s written, but its public key could "
                "not be printed\n",
                path);
    free(pem);
    EVP_PKEY_free(k);
    return ok ? 0 : 1;
}

static int read_checkpoint(const char *path, struct audit_checkpoint *cp, FILE *out)
{
    json_error_t jerr;
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    char why[200];
    if (j == NULL) {
        fprintf(out, "FAILED: cannot read the checkpoint %s: %s (line %d)\n", path, jerr.text,
                jerr.line);
        return 2;
    }
    int rc = audit_checkpoint_from_json(j, cp, why, sizeof(why));
    json_decref(j);
    if (rc != 0) {
        fprintf(out, "FAILED: %s is not a checkpoint: %s\n", path, why);
        return 1;
    }
    return 0;
}

/* Feeds one line of the export: a stored text, an item ({"text":...}) or a page ({"items"}). */
static bool feed_line(struct audit_checkpoint_check *c, const char *line, size_t len)
{
    json_t *j = json_loadb(line, len, 0, NULL);
    json_t *items = json_object_get(j, "items");
    const char *text = json_string_value(json_object_get(j, "text"));
    bool more = true;
    if (json_is_array(items)) {
        size_t i;
        json_t *it;
        json_array_foreach(items, i, it)
        {
            json_t *t = json_object_get(it, "text");
            if (!more)
                break;
            more = audit_checkpoint_check_feed(c, json_string_value(t) ? json_string_value(t) : "",
                                               json_string_length(t));
        }
    } else if (text != NULL) {
        more = audit_checkpoint_check_feed(c, text, json_string_length(json_object_get(j, "text")));
    } else {
        more = audit_checkpoint_check_feed(c, line, len);
    }
    json_decref(j);
    return more;
}

int checkpoint_cli_verify(const char *checkpoint_path, const char *key_path,
                          const char *entries_path, FILE *out)
{
    struct audit_checkpoint cp;
    int rc = read_checkpoint(checkpoint_path, &cp, out);
    if (rc != 0)
        return rc;
    char why[512];
    EVP_PKEY *pub = key_file_load_public(key_path, why, sizeof(why));
    if (pub == NULL) {
        fprintf(out, "FAILED: %s\n", why);
        return 2;
    }
    int v = audit_checkpoint_verify(pub, &cp, why, sizeof(why));
    EVP_PKEY_free(pub);
    if (v != 1) {
        fprintf(out, "FAILED at seq %" PRId64 ": bad_signature: %s\n", cp.seq, why);
        return 1;
    }
    FILE *f = fopen(entries_path, "r");
    if (f == NULL) {
        fprintf(out, "FAILED: cannot read the export %s\n", entries_path);
        return 2;
    }
    struct audit_checkpoint_check c;
    audit_checkpoint_check_begin(&c, &cp);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int64_t lineno = 0;
    bool more = true;
    while (more && (n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if ((size_t)n > EXPORT_LINE_MAX) {
            fprintf(out, "FAILED: line %" PRId64 " of %s is longer than %u bytes\n", lineno,
                    entries_path, EXPORT_LINE_MAX);
            free(line);
            fclose(f);
            return 2;
        }
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n == 0)
            continue;
        more = feed_line(&c, line, (size_t)n);
    }
    int read_err = ferror(f);
    free(line);
    fclose(f);
    if (read_err) {
        fprintf(out, "FAILED: error reading %s\n", entries_path);
        return 2;
    }
    if (audit_checkpoint_check_end(&c) != 0) {
        fprintf(out, "FAILED at seq %" PRId64 ": %s: %s\n", c.bad_seq, c.reason, c.detail);
        return 1;
    }
    fprintf(out,
            "OK: checkpoint seq %" PRId64 " (%s) signed by key %s; the export holds it and links "
            "up to seq %" PRId64 " (hash %s)\n",
            cp.seq, cp.time, cp.key_id, c.last_seq > cp.seq ? c.last_seq : cp.seq,
            c.last_seq > cp.seq ? c.last_hash : cp.digest);
    return 0;
}
