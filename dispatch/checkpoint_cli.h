/* checkpoint_cli.h -- dispatchd's one-shot actions on audit checkpoints (docs/audit.md,
 * "Checkpoints"): making the signing key, and verifying a saved checkpoint against a later
 * export of the chain with nothing but the public key. No event loop, no Redis. */
#ifndef LPG_CHECKPOINT_CLI_H
#define LPG_CHECKPOINT_CLI_H

#include <stdio.h>

/* --create-signing-key FILE: writes a new Ed25519 private key to FILE (mode 0600; refused when
 * FILE exists) and prints its public key (PEM) and key_id to out. Exit status: 0, or 1. */
int checkpoint_cli_create_key(const char *path, FILE *out);

/* --verify-checkpoint CP --key PUB --entries ENTRIES: checks CP's signature with the public key
 * PUB, then that ENTRIES (JSON lines: stored entry texts, items of GET /v1/audit/entries, or
 * whole pages of it) holds CP's entry with CP's digest and links from it up to its last entry.
 * Prints "OK ..." or "FAILED at seq N: reason: ..." on out. Exit status: 0 verified, 1 failed,
 * 2 a file missing or unreadable. */
int checkpoint_cli_verify(const char *checkpoint_path, const char *key_path,
                          const char *entries_path, FILE *out);

#endif
