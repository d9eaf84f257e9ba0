/* terminals.h -- JT/T 808 terminals belong to vehicles: the use cases, whatever the transport.
 * The JT/T 808 listener (jt808/) registers (0x0100) and authenticates (0x0102) terminals here;
 * the HTTP API (/v1/terminals) creates, changes, deletes and lists them. The record, the id
 * and plate rules and the codes are core/terminal.h's; the table and its keys
 * store/terminals.h's (docs/redis-keys.md).
 *
 * Writes go through the single writer (usecase_job.h): the store first, then the table, then
 * the bus. A terminal deleted, bound to another vehicle, or whose code is replaced (by the
 * operator or by a new 0x0100 registration) is published as EV_TERMINAL_REVOKED (events.h;
 * terminal_id: the id as registered, vehicle_id: the vehicle it was bound to, reason), so that
 * the listener ends the terminal's authenticated session, whose code or vehicle no longer
 * holds. A listener compares ids with terminal_id_same() (core/terminal.h): the header's id
 * carries the edition's leading zeros.
 */
#ifndef LPG_APP_TERMINALS_H
#define LPG_APP_TERMINALS_H

#include "app/refusal.h"
#include "core/auth.h"
#include "core/terminal.h"

#include <stddef.h>
#include <stdint.h>

struct service;

/* O(1); NULL when unknown (terminal_id compared by its significant digits). Valid until the
 * next write of that terminal (copy what you keep). */
const struct terminal_record *terminals_get(const struct service *s, const char *terminal_id);

/* ---- the terminal's side (JT/T 808) ---- */

enum terminal_reg_result {
    TERMINAL_REG_OK = 0,
    TERMINAL_REG_VEHICLE_UNKNOWN = 2,
    TERMINAL_REG_TERMINAL_TAKEN = 3, /* it already holds a code: it authenticates with it */
    TERMINAL_REG_TERMINAL_UNKNOWN = 4,
    TERMINAL_REG_UNAVAILABLE = 100
};
/* code: the authentication code issued (TERMINAL_REG_OK only, else NULL), borrowed for the
 * call (wiped after). */
typedef void terminal_register_done_fn(void *arg, enum terminal_reg_result result,
                                       const char *code);

/* 0x0100 registration. terminal_id: the header's digits, leading zeros as sent (compared by
 * significant digits, core/terminal.h). plate_utf8: the plate from the body, converted to UTF-8
 * (compared with the vehicle's plate by terminal_plate_same: spaces, '-', '·' and ASCII case
 * ignored). Results:
 *   TERMINAL_REG_OK               a fresh code (TERMINAL_CODE_LEN characters, RAND_bytes) whose
 *                                 SHA-256 digest is stored in the terminal's record before done
 *                                 is called (EV_TERMINAL_REVOKED for any session of the id);
 *   TERMINAL_REG_TERMINAL_TAKEN   the terminal already holds a code (issued or set by an
 *                                 operator): registration is for first use only, an operator
 *                                 reopens it by clearing the code (terminal_change, "");
 *   TERMINAL_REG_TERMINAL_UNKNOWN the terminal is not registered (POST /v1/terminals), or the
 *                                 id is not 1..20 digits;
 *   TERMINAL_REG_VEHICLE_UNKNOWN  the plate is not its vehicle's (another vehicle's, or none);
 *   TERMINAL_REG_UNAVAILABLE      the service is loading, the store failed or is stopping:
 *                                 nothing was stored, the terminal registers again later.
 * The unknown terminal and the wrong plate are answered at once, without the writer. done is
 * called exactly once, possibly before return -- also when the service stops with the write
 * still queued (TERMINAL_REG_UNAVAILABLE, from inside the writer's teardown), so a caller that
 * holds its connection for the answer always gets to release it. */
void terminal_register(struct service *s, const char *terminal_id, const char *plate_utf8,
                       terminal_register_done_fn *done, void *arg);

/* 0x0102: 0 when code (len bytes, as sent) matches the stored digest (CRYPTO_memcmp), -1
 * otherwise (unknown terminal, no code issued, wrong code). Synchronous, O(1): one SHA-256. */
int terminal_authenticate(const struct service *s, const char *terminal_id, const uint8_t *code,
                          size_t len);

/* ---- the operators' side (HTTP /v1/terminals) ---- */

/* t: the terminal as written (borrowed for the call), or NULL and r. For a delete, t is the
 * terminal as it was. */
typedef void terminal_done_fn(void *arg, const struct terminal_record *t, const struct refusal *r);

/* Each starts at once or refuses at once (-1 with *r: done not called); once started, done is
 * called exactly once, later -- except when the service stops with the request still queued:
 * then it is dropped silently, with its caller's connection. Decided in the writer's turn,
 * against the registry and the table as they are then.
 *
 * Refusals: invalid_field (400: id not 11..20 digits, vehicle_id not an id, protocol not
 * "jt808", auth_code not 1..64 printable ASCII); unknown_reference (422, field vehicle_id: no
 * such vehicle, or another enterprise's -- the same answer); already_exists (409, field id: a
 * terminal with the same significant digits exists, whoever's it is, naming nobody);
 * vehicle_has_terminal (409, field vehicle_id: the vehicle already has another terminal);
 * not_found (404: no such terminal, or another enterprise's); the access policy's 401/403
 * (auth_check: a dispatcher writes in its own enterprise, an admin anywhere, an auditor
 * nowhere). */

/* Registers terminal id for vehicle_id, of protocol (NULL: "jt808"), with the operator's
 * authentication code auth_code (NULL: none; a 0x0100 registration issues one). */
int terminal_create(struct service *s, const struct auth_principal *p, const char *id,
                    const char *vehicle_id, const char *protocol, const char *auth_code,
                    terminal_done_fn *done, void *arg, struct refusal *r);
/* Changes terminal id: binds it to vehicle_id (NULL: unchanged) and/or sets its code to
 * auth_code (NULL: unchanged). */
int terminal_change(struct service *s, const struct auth_principal *p, const char *id,
                    const char *vehicle_id, const char *auth_code, terminal_done_fn *done,
                    void *arg, struct refusal *r);
/* Deletes terminal id. */
int terminal_delete(struct service *s, const struct auth_principal *p, const char *id,
                    terminal_done_fn *done, void *arg, struct refusal *r);

/* A page ordered by id: the terminals of enterprise_id (NULL: all) with id > after (NULL:
 * from the start), at most limit, into out. The caller checked the principal's right to read
 * that scope. */
size_t terminals_list(struct service *s, const char *enterprise_id, const char *after, size_t limit,
                      const struct terminal_record **out);

/* The reasons given with EV_TERMINAL_REVOKED. */
extern const char terminal_revoked_deleted[];
extern const char terminal_revoked_rebound[];
extern const char terminal_revoked_code_replaced[];

#endif
