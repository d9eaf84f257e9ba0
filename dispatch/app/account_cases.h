/* account_cases.h -- the use cases of the accounts, whatever the transport: creating a user,
 * logging in (a session token) and out, and registering a handset device (a new secret; the
 * same device registered again gets a new secret and the old one stops working).
 *
 * Each starts at once or refuses at once (-1 with *r: done is not called); once started, done
 * is called exactly once, later, with the result or a refusal -- except when the service stops
 * with the request still queued for the writer: it is then dropped silently, with its caller's
 * connection. A refusal that should be retried after a delay gives it (retry_after_s > 0; 0:
 * no advice). Passwords are hashed and checked on the work pool (s->hash_pool), off the loop.
 * The caller has checked that the service is loaded and, where the route needs one, the
 * caller's role (creating a user is an admin's).
 */
#ifndef LPG_ACCOUNT_CASES_H
#define LPG_ACCOUNT_CASES_H

#include "app/refusal.h"
#include "core/auth.h"

#include <stdint.h>

struct service;

/* ---- users ---- */

/* u: the user created (borrowed for the call), or NULL and r. */
typedef void account_user_done_fn(void *arg, const struct auth_user *u, const struct refusal *r);

/* Creates user `name` with `role` ("admin", "dispatcher", "auditor"), enterprise_id (a
 * dispatcher's, else NULL), jurisdiction (an auditor's enterprises, each existing; NULL or
 * n == 0: every enterprise) and password; any argument may be NULL (refused, naming it). */
int account_create_user(struct service *s, const char *name, const char *role,
                        const char *enterprise_id, const struct auth_jurisdiction *jurisdiction,
                        const char *password, account_user_done_fn *done, void *arg,
                        struct refusal *r, int64_t *retry_after_s);

/* ---- sessions ---- */

struct account_session {
    char token[AUTH_TOKEN_LEN + 1]; /* shown once: only its digest is stored */
    struct auth_principal principal;
};

/* ok: the session opened (borrowed for the call; its token is wiped after), or NULL and r. */
typedef void account_login_done_fn(void *arg, const struct account_session *ok,
                                   const struct refusal *r, int64_t retry_after_s);

/* Logs `user` in with `password` from address addr (the per-address limit's key; "?" when
 * unknown). Refused untried while the account or the address is blocked (login_guard.h); an
 * unknown user and a wrong password get the same answer after the same work. */
int account_login(struct service *s, const char *user, const char *password, const char *addr,
                  account_login_done_fn *done, void *arg, struct refusal *r,
                  int64_t *retry_after_s);

/* r: NULL when done. */
typedef void account_done_fn(void *arg, const struct refusal *r);

/* Ends the session of `token` at once (the caller has checked it is live). */
int account_logout(struct service *s, const char *token, account_done_fn *done, void *arg,
                   struct refusal *r);

/* ---- devices ---- */

struct account_device {
    char device_id[LPG_ID_MAX + 1];
    char staff_id[LPG_ID_MAX + 1];           /* "" for a vehicle's device */
    char vehicle_id[LPG_ID_MAX + 1];         /* "" for a person's device */
    char secret[AUTH_DEVICE_SECRET_LEN + 1]; /* shown once: only its digest is stored */
};

/* dev: the device registered (borrowed for the call; its secret is wiped after), or NULL, r. */
typedef void account_device_done_fn(void *arg, const struct account_device *dev,
                                    const struct refusal *r);

/* Registers (or re-keys) handset device_id for staff member staff_id, by principal p (who may
 * write in the person's enterprise). A person's previous handset, if another, has its session
 * revoked (EV_SESSION_REVOKED). Either id may be NULL (refused). */
int account_register_device(struct service *s, const struct auth_principal *p,
                            const char *device_id, const char *staff_id,
                            account_device_done_fn *done, void *arg, struct refusal *r);

/* The same for an in-vehicle unit bound to vehicle vehicle_id instead of a person: its Hello
 * opens a session with no person, its positions are the vehicle's (INGEST_SOURCE_VEHICLE_UNIT)
 * and what only a person may do (answer orders, scans, checks) is refused to it. Refusals as
 * for a person's device: unknown_reference (vehicle_id: no such vehicle, or another
 * enterprise's), already_exists (device_id: bound to a person or to another vehicle). */
int account_register_vehicle_device(struct service *s, const struct auth_principal *p,
                                    const char *device_id, const char *vehicle_id,
                                    account_device_done_fn *done, void *arg, struct refusal *r);

#endif
