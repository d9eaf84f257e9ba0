/* tls.c -- TLS contexts and the non-blocking per-connection I/O of the handset listener (see
 * tls.h). */
#define LOG_TAG "tls"
#include "common/tls.h"

#include "common/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

/* The first error on OpenSSL's queue as text, and the queue emptied: a failure of one
 * connection must not be reported again by the next call on another one. */
static void tls_errstr(char *buf, size_t len)
{
    unsigned long e = ERR_get_error();
    if (e == 0)
        snprintf(buf, len, "unknown TLS error");
    else
        ERR_error_string_n(e, buf, len);
    ERR_clear_error();
}

static SSL_CTX *ctx_common(const SSL_METHOD *method, char *errbuf, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(method);
    if (ctx == NULL) {
        char e[200];
        tls_errstr(e, sizeof(e));
        snprintf(errbuf, errlen, "cannot create a TLS context: %s", e);
        return NULL;
    }
    /* TLS 1.0 and 1.1 are broken or deprecated (RFC 8996). */
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* Renegotiation only adds attack surface to a protocol that never needs it. A peer that
     * closes without close_notify is an ordinary end: every frame carries its own length, so
     * truncation is detected above TLS. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF);
    /* Partial writes and a buffer that moves between retries: what the socket does not take is
     * copied into the connection's output queue and retried from there. Release buffers: an
     * idle connection holds no 16 KB read and write record buffers (memory per vehicle). */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    return ctx;
}

SSL_CTX *tls_server_ctx_new(const char *cert_file, const char *key_file, char *errbuf,
                            size_t errlen)
{
    SSL_CTX *ctx = ctx_common(TLS_server_method(), errbuf, errlen);
    if (ctx == NULL)
        return NULL;
    char e[200];
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
        tls_errstr(e, sizeof(e));
        snprintf(errbuf, errlen, "cannot load the certificate %s: %s", cert_file, e);
    } else if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
        tls_errstr(e, sizeof(e));
        snprintf(errbuf, errlen, "cannot load the private key %s: %s", key_file, e);
    } else if (SSL_CTX_check_private_key(ctx) != 1) {
        ERR_clear_error();
        snprintf(errbuf, errlen, "the private key %s does not match the certificate %s", key_file,
                 cert_file);
    } else {
        /* No session cache: a handset reconnects rarely, and a cache is memory held for
         * connections that are gone. */
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
        /* Nor TLS 1.3 session tickets: no resumption to offer, so nothing to send (and no
         * write after the handshake that a busy socket could hold up). */
        SSL_CTX_set_num_tickets(ctx, 0);
        return ctx;
    }
    SSL_CTX_free(ctx);
    return NULL;
}

SSL_CTX *tls_client_ctx_new(const char *ca_file, const char *cert_file, const char *key_file,
                            char *errbuf, size_t errlen)
{
    SSL_CTX *ctx = ctx_common(TLS_client_method(), errbuf, errlen);
    if (ctx == NULL)
        return NULL;
    char e[200];
    int with_cert = cert_file && cert_file[0];
    if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
        tls_errstr(e, sizeof(e));
        snprintf(errbuf, errlen, "cannot load the CA certificates %s: %s", ca_file, e);
    } else if (with_cert && SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
        tls_errstr(e, sizeof(e));
        snprintf(errbuf, errlen, "cannot load the client certificate %s: %s", cert_file, e);
    } else if (with_cert && SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
        tls_errstr(e, sizeof(e));
        snprintf(errbuf, errlen, "cannot load the client key %s: %s", key_file, e);
    } else if (with_cert && SSL_CTX_check_private_key(ctx) != 1) {
        ERR_clear_error();
        snprintf(errbuf, errlen, "the client key %s does not match the certificate %s", key_file,
                 cert_file);
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        return ctx;
    }
    SSL_CTX_free(ctx);
    return NULL;
}

SSL *tls_client_new_ssl(SSL_CTX *ctx, const char *host)
{
    SSL *ssl = SSL_new(ctx);
    if (ssl == NULL) {
        ERR_clear_error();
        return NULL;
    }
    unsigned char addr[16];
    int is_ip = inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
    X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
    /* An address is checked against the certificate's IP SANs; a name against its DNS SANs,
     * and sent as SNI (RFC 6066 forbids addresses there). */
    int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, host) == 1
                   : (SSL_set_tlsext_host_name(ssl, host) == 1 && SSL_set1_host(ssl, host) == 1);
    if (!ok) {
        ERR_clear_error();
        SSL_free(ssl);
        return NULL;
    }
    X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    return ssl;
}

void tls_ctx_free(SSL_CTX *ctx)
{
    SSL_CTX_free(ctx);
}

SSL *tls_conn_new(SSL_CTX *ctx, int fd)
{
    SSL *ssl = SSL_new(ctx);
    if (ssl == NULL || SSL_set_fd(ssl, fd) != 1) {
        ERR_clear_error();
        SSL_free(ssl);
        return NULL;
    }
    SSL_set_accept_state(ssl);
    return ssl;
}

void tls_conn_free(SSL *ssl)
{
    if (ssl == NULL)
        return;
    /* One try at close_notify, without waiting for the peer's: the socket is closed next. */
    if (SSL_is_init_finished(ssl))
        SSL_shutdown(ssl);
    ERR_clear_error();
    SSL_free(ssl);
}

/* Maps the outcome of SSL_read/SSL_write (rc <= 0) to the tls.h convention. */
static ssize_t tls_outcome(SSL *ssl, int rc, int *want, const char *who, int reading)
{
    int e = SSL_get_error(ssl, rc);
    int sys = errno;
    *want = TLS_WANT_NONE;
    switch (e) {
    case SSL_ERROR_WANT_READ:
        *want = TLS_WANT_READ;
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_WANT_WRITE:
        *want = TLS_WANT_WRITE;
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_ZERO_RETURN:
        if (reading)
            return 0;
        errno = EPIPE;
        return -1;
    case SSL_ERROR_SYSCALL:
        ERR_clear_error();
        if (sys == 0) {
            if (reading)
                return 0; /* EOF */
            sys = EPIPE;
        }
        errno = sys;
        return -1;
    default: {
        char buf[200];
        tls_errstr(buf, sizeof(buf));
        /* A scanner speaking plain TCP or HTTP to the port lands here: debug, not a warning. */
        log_debug("%s: TLS %s failed: %s", who, SSL_is_init_finished(ssl) ? "I/O" : "handshake",
                  buf);
        errno = EPROTO;
        return -1;
    }
    }
}

ssize_t tls_conn_read(SSL *ssl, void *buf, size_t len, int *want, const char *who)
{
    size_t n = 0;
    ERR_clear_error();
    errno = 0;
    int rc = SSL_read_ex(ssl, buf, len, &n);
    if (rc == 1) {
        *want = TLS_WANT_NONE;
        return (ssize_t)n;
    }
    return tls_outcome(ssl, rc, want, who, 1);
}

ssize_t tls_conn_write(SSL *ssl, const void *buf, size_t len, int *want, const char *who)
{
    size_t n = 0;
    ERR_clear_error();
    errno = 0;
    int rc = SSL_write_ex(ssl, buf, len, &n);
    if (rc == 1) {
        *want = TLS_WANT_NONE;
        return (ssize_t)n;
    }
    return tls_outcome(ssl, rc, want, who, 0);
}

int tls_addr_is_loopback(const char *addr)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (strcmp(addr, "localhost") == 0)
        return 1;
    if (inet_pton(AF_INET, addr, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, addr, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return 0;
}
