/* terminal.h -- JT/T 808 terminals bound to vehicles: the record, and the pure rules the
 * registration and authentication of a terminal follow (docs/jt808.md, "Terminals"): how a
 * terminal id is compared, how a plate is compared, the authentication code and its digest.
 *
 * Pure: no I/O but OpenSSL's random generator and hashing; no libevent, no hiredis.
 *
 * Terminal ids. A terminal is known by its "phone number": 11 to 20 decimal digits when
 * registered. The 2011/2013 header carries it as BCD[6] (12 digits, left-padded with zeros),
 * the 2019 header as BCD[10] (20 digits), so one terminal shows up with a different number of
 * leading zeros depending on the edition it speaks. Ids are therefore compared by their
 * significant digits: leading zeros are stripped on both sides ("013912345678" and
 * "00000000013912345678" are the registered "13912345678"). Two ids that differ only in their
 * leading zeros are the same terminal: the second cannot be registered.
 */
#ifndef LPG_TERMINAL_H
#define LPG_TERMINAL_H

#include "core/model.h"

#include <jansson.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TERMINAL_ID_MIN_DIGITS 11
#define TERMINAL_ID_MAX_DIGITS 20

/* One terminal: bound to one vehicle (at most one terminal per vehicle), of that vehicle's
 * enterprise. code_digest is the SHA-256 (lowercase hex) of the authentication code issued by
 * 0x8100 or set by the operator, "" when none was ever issued (0x0102 then always fails). */
struct terminal_record {
    char id[TERMINAL_ID_MAX_DIGITS + 1]; /* as registered: 11..20 digits */
    char vehicle_id[LPG_ID_MAX + 1];
    char enterprise_id[LPG_ID_MAX + 1];
    char protocol[8]; /* "jt808" */
    char code_digest[65];
    int64_t created_ms, updated_ms;
};

/* Whether id may be registered: 11..20 ASCII digits, not all zeros. */
bool terminal_id_valid(const char *id);

/* The significant digits of id: a pointer into id past its leading zeros, or NULL when id is
 * not 1..TERMINAL_ID_MAX_DIGITS ASCII digits or is all zeros. Two ids name the same terminal
 * exactly when their significant digits are equal (terminal_id_same). */
const char *terminal_id_significant(const char *id);
bool terminal_id_same(const char *a, const char *b);

/* Plates are compared ignoring ASCII spaces, '-', the middle dot '·' (U+00B7, often written
 * between the province and the rest: "蒙E·12345") and ASCII case; every other byte must be
 * equal ("蒙E 12345", "蒙e-12345" and "蒙E12345" are one plate). NULL or a plate left empty
 * by the rule matches nothing. Both are UTF-8 (a JT/T 808 plate arrives in GBK: the transport
 * converts it first). */
bool terminal_plate_same(const char *a, const char *b);

/* Authentication codes issued by 0x8100: TERMINAL_CODE_LEN characters of a 32-symbol alphabet
 * (digits and upper-case letters but I, L, O, U), 5 random bits each: 130 bits from RAND_bytes.
 * Upper-case ASCII only, so that terminals storing the code as GBK or folding case still send
 * back the same bytes. */
#define TERMINAL_CODE_LEN 26
/* Codes an operator may set (POST/PATCH /v1/terminals auth_code): 1..TERMINAL_CODE_MAX bytes of
 * printable ASCII (0x21..0x7e). */
#define TERMINAL_CODE_MAX 64

/* A fresh code into out. 0, or -1 when the random generator fails (out is then ""). */
int terminal_code_new(char out[TERMINAL_CODE_LEN + 1]);
/* Whether an operator's code is acceptable (see TERMINAL_CODE_MAX). */
bool terminal_code_acceptable(const char *code);
/* SHA-256 of the code's len bytes, lowercase hex. 0, or -1 (out is then ""). */
int terminal_code_digest(const uint8_t *code, size_t len, char out_hex[65]);
/* Whether the presented bytes' digest equals stored_hex, compared with CRYPTO_memcmp (constant
 * time): false for an empty or malformed stored digest (no code issued), a NULL code, or more
 * than TERMINAL_CODE_MAX bytes. */
bool terminal_code_matches(const uint8_t *code, size_t len, const char *stored_hex);

/* JSON. Public (API answers): {"id","vehicle_id","enterprise_id","protocol","has_code",
 * "created_ms","updated_ms"} -- never the digest; has_code says whether a code is set. Store:
 * the same without has_code, with "code_digest" ("" when none). to_json: a new reference or NULL
 * (out of memory). from_json (the store form): 0, or -1 with the reason in why and *out zeroed;
 * unknown keys are ignored (a newer dispatchd may add some). */
json_t *terminal_to_public_json(const struct terminal_record *t);
json_t *terminal_to_store_json(const struct terminal_record *t);
int terminal_from_json(const json_t *j, struct terminal_record *out, char *why, size_t cap);

#endif
