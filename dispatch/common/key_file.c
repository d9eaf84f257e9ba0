/* key_file.c -- Ed25519 key files (key_file.h): OpenSSL 3 PEM I/O and POSIX file modes. */
#include "common/key_file.h"

#include <openssl/pem.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static FILE *open_read(const char *path, int secret, char *why, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, cap, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(why, cap, "%s is not a regular file", path);
        close(fd);
        return NULL;
    }
    /* Whoever can read the private key can sign checkpoints in the service's name. */
    if (secret && (st.st_mode & 077) != 0) {
        snprintf(why, cap,
                 "%s may be used by its group or others (mode %03o): it is a private key, make it "
                 "0600 (chmod 600 %s)",
                 path, (unsigned)(st.st_mode & 0777), path);
        close(fd);
        return NULL;
    }
    FILE *f = fdopen(fd, "r");
    if (f == NULL) {
        snprintf(why, cap, "cannot read %s: %s", path, strerror(errno));
        close(fd);
    }
    return f;
}

EVP_PKEY *key_file_load_private(const char *path, char *why, size_t cap)
{
    FILE *f = open_read(path, 1, why, cap);
    if (f == NULL)
        return NULL;
    /* An empty pass phrase callback: an encrypted key is refused rather than prompted for. */
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, (void *)"");
    fclose(f);
    if (k == NULL || EVP_PKEY_get_id(k) != EVP_PKEY_ED25519) {
        snprintf(why, cap, "%s does not hold an unencrypted Ed25519 private key in PEM", path);
        EVP_PKEY_free(k);
        return NULL;
    }
    return k;
}

EVP_PKEY *key_file_load_public(const char *path, char *why, size_t cap)
{
    FILE *f = open_read(path, 0, why, cap);
    if (f == NULL)
        return NULL;
    EVP_PKEY *k = PEM_read_PUBKEY(f, NULL, NULL, NULL);
    fclose(f);
    if (k == NULL || EVP_PKEY_get_id(k) != EVP_PKEY_ED25519) {
        snprintf(why, cap, "%s does not hold an Ed25519 public key in PEM (BEGIN PUBLIC KEY)",
                 path);
        EVP_PKEY_free(k);
        return NULL;
    }
    return k;
}

EVP_PKEY *key_file_create(const char *path, char *why, size_t cap)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    if (k == NULL) {
        snprintf(why, cap, "OpenSSL could not make an Ed25519 key");
        return NULL;
    }
    /* O_EXCL: never overwrite a key whose checkpoints auditors may hold. */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(why, cap, "cannot create %s: %s", path, strerror(errno));
        EVP_PKEY_free(k);
        return NULL;
    }
    FILE *f = fdopen(fd, "w");
    int ok = f != NULL && fchmod(fd, 0600) == 0 &&
             PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) == 1;
    if (f) {
        if (fflush(f) != 0 || fsync(fd) != 0)
            ok = 0;
        if (fclose(f) != 0)
            ok = 0;
    } else {
        close(fd);
    }
    if (!ok) {
        snprintf(why, cap, "cannot write %s: %s", path, strerror(errno ? errno : EIO));
        unlink(path);
        EVP_PKEY_free(k);
        return NULL;
    }
    return k;
}
