/* terminal.c -- see terminal.h. */
#include "core/terminal.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <stdio.h>
#include <string.h>

bool terminal_id_valid(const char *id)
{
    if (id == NULL)
        return false;
    size_t n = strlen(id);
    return n >= TERMINAL_ID_MIN_DIGITS && n <= TERMINAL_ID_MAX_DIGITS &&
           terminal_id_significant(id) != NULL;
}

const char *terminal_id_significant(const char *id)
{
    if (id == NULL)
        return NULL;
    size_t n = 0;
    for (; id[n]; n++)
        if (n >= TERMINAL_ID_MAX_DIGITS || id[n] < '0' || id[n] > '9')
            return NULL;
    while (*id == '0')
        id++;
    return *id ? id : NULL;
}

bool terminal_id_same(const char *a, const char *b)
{
    const char *sa = terminal_id_significant(a), *sb = terminal_id_significant(b);
    return sa && sb && strcmp(sa, sb) == 0;
}

/* The next byte of p that counts for a plate (see terminal.h), lower-cased; 0 at the end. */
static unsigned char plate_next(const unsigned char **p)
{
    for (;;) {
        unsigned char c = **p;
        if (c == 0)
            return 0;
        if (c == ' ' || c == '-') {
            (*p)++;
            continue;
        }
        if (c == 0xC2 && (*p)[1] == 0xB7) { /* U+00B7 MIDDLE DOT */
            *p += 2;
            continue;
        }
        (*p)++;
        return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
    }
}

bool terminal_plate_same(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return false;
    const unsigned char *pa = (const unsigned char *)a, *pb = (const unsigned char *)b;
    size_t counted = 0;
    for (;;) {
        unsigned char ca = plate_next(&pa), cb = plate_next(&pb);
        if (ca != cb)
            return false;
        if (ca == 0)
            return counted > 0;
        counted++;
    }
}

static const char code_alphabet[33] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

int terminal_code_new(char out[TERMINAL_CODE_LEN + 1])
{
    unsigned char rnd[TERMINAL_CODE_LEN];
    out[0] = '\0';
    if (RAND_bytes(rnd, sizeof(rnd)) != 1)
        return -1;
    /* 32 symbols: the low 5 bits of each byte are uniform. */
    for (size_t i = 0; i < TERMINAL_CODE_LEN; i++)
        out[i] = code_alphabet[rnd[i] & 31u];
    out[TERMINAL_CODE_LEN] = '\0';
    OPENSSL_cleanse(rnd, sizeof(rnd));
    return 0;
}

bool terminal_code_acceptable(const char *code)
{
    if (code == NULL)
        return false;
    size_t n = strlen(code);
    if (n == 0 || n > TERMINAL_CODE_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)code[i] < 0x21 || (unsigned char)code[i] > 0x7e)
            return false;
    return true;
}

int terminal_code_digest(const uint8_t *code, size_t len, char out_hex[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[32];
    unsigned md_len = 0;
    out_hex[0] = '\0';
    if (code == NULL || EVP_Digest(code, len, md, &md_len, EVP_sha256(), NULL) != 1 ||
        md_len != sizeof(md))
        return -1;
    for (size_t i = 0; i < sizeof(md); i++) {
        out_hex[2 * i] = hex[md[i] >> 4];
        out_hex[2 * i + 1] = hex[md[i] & 15u];
    }
    out_hex[64] = '\0';
    return 0;
}

bool terminal_code_matches(const uint8_t *code, size_t len, const char *stored_hex)
{
    char presented[65];
    if (code == NULL || len > TERMINAL_CODE_MAX || stored_hex == NULL || strlen(stored_hex) != 64 ||
        terminal_code_digest(code, len, presented) != 0)
        return false;
    /* The stored digest is lowercase hex (terminal_code_digest wrote it): compared whole, in
     * constant time, so the time taken tells nothing of how many characters matched. */
    return CRYPTO_memcmp(presented, stored_hex, 64) == 0;
}

/* ---- JSON ---- */

json_t *terminal_to_public_json(const struct terminal_record *t)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:b, s:I, s:I}", "id", t->id, "vehicle_id",
                     t->vehicle_id, "enterprise_id", t->enterprise_id, "protocol", t->protocol,
                     "has_code", t->code_digest[0] != '\0', "created_ms", (json_int_t)t->created_ms,
                     "updated_ms", (json_int_t)t->updated_ms);
}

json_t *terminal_to_store_json(const struct terminal_record *t)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "id", t->id, "vehicle_id",
                     t->vehicle_id, "enterprise_id", t->enterprise_id, "protocol", t->protocol,
                     "code_digest", t->code_digest, "created_ms", (json_int_t)t->created_ms,
                     "updated_ms", (json_int_t)t->updated_ms);
}

static bool digest_well_formed(const char *d)
{
    if (d[0] == '\0')
        return true;
    if (strlen(d) != 64)
        return false;
    for (size_t i = 0; i < 64; i++)
        if (!((d[i] >= '0' && d[i] <= '9') || (d[i] >= 'a' && d[i] <= 'f')))
            return false;
    return true;
}

int terminal_from_json(const json_t *j, struct terminal_record *out, char *why, size_t cap)
{
    memset(out, 0, sizeof(*out));
    const char *id = json_string_value(json_object_get(j, "id"));
    const char *veh = json_string_value(json_object_get(j, "vehicle_id"));
    const char *ent = json_string_value(json_object_get(j, "enterprise_id"));
    const char *proto = json_string_value(json_object_get(j, "protocol"));
    const char *dig = json_string_value(json_object_get(j, "code_digest"));
    json_t *created = json_object_get(j, "created_ms"), *updated = json_object_get(j, "updated_ms");
    if (!terminal_id_valid(id) || !veh || !lpg_id_valid(veh) || !ent || !lpg_id_valid(ent) ||
        !proto || strcmp(proto, "jt808") != 0 || !dig || !digest_well_formed(dig) ||
        !json_is_integer(created) || !json_is_integer(updated)) {
        snprintf(why, cap,
                 "a terminal record needs id (11..20 digits), vehicle_id, enterprise_id, "
                 "protocol \"jt808\", code_digest (64 lowercase hex or \"\"), created_ms and "
                 "updated_ms");
        return -1;
    }
    snprintf(out->id, sizeof(out->id), "%s", id);
    snprintf(out->vehicle_id, sizeof(out->vehicle_id), "%s", veh);
    snprintf(out->enterprise_id, sizeof(out->enterprise_id), "%s", ent);
    snprintf(out->protocol, sizeof(out->protocol), "%s", proto);
    snprintf(out->code_digest, sizeof(out->code_digest), "%s", dig);
    out->created_ms = (int64_t)json_integer_value(created);
    out->updated_ms = (int64_t)json_integer_value(updated);
    return 0;
}
