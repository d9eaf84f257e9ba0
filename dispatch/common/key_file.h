/* key_file.h -- the audit signing key's files (docs/audit.md, "Checkpoints"): an Ed25519
 * private key in PEM (PKCS#8) that only its owner may read, created by
 * `dispatchd --create-signing-key FILE`, and public keys in PEM for verifiers.
 */
#ifndef LPG_KEY_FILE_H
#define LPG_KEY_FILE_H

#include <openssl/evp.h>
#include <stddef.h>

/* The Ed25519 private key in PEM file path; NULL with why (for the operator, naming the file)
 * when it cannot be opened, when its group or others have any permission on it (it is a
 * secret: make it 0600 or 0400), or when it is not an unencrypted Ed25519 private key. */
EVP_PKEY *key_file_load_private(const char *path, char *why, size_t cap);
/* Writes a new Ed25519 private key to path, which must not exist yet, with mode 0600. Returns
 * the key (the caller frees it), or NULL with why (nothing is left behind). */
EVP_PKEY *key_file_create(const char *path, char *why, size_t cap);
/* An Ed25519 public key in PEM file path ("-----BEGIN PUBLIC KEY-----"); NULL with why. */
EVP_PKEY *key_file_load_public(const char *path, char *why, size_t cap);

#endif
