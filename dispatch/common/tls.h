/* tls.h -- TLS (OpenSSL 3) for dispatchd's listeners and lpg-agent.
 *
 * Server side: a context from PEM certificate (chain) and key files, TLS 1.2 or later only.
 * The HTTP listener hands it to libevent's OpenSSL bufferevents; the handset listener, which
 * keeps no bufferevent per connection (memory per idle vehicle, handset_server.c), drives one
 * SSL object per connection over its non-blocking socket with tls_conn_read()/tls_conn_write():
 * they map OpenSSL's WANT_READ/WANT_WRITE to the socket readiness the caller must wait for.
 *
 * Client side (lpg-agent): a context that verifies the server's certificate against a CA file
 * and its name (tls_client_new_ssl: SNI and host-name check), with an optional client
 * certificate.
 *
 * Errors: functions returning a pointer give NULL and a one-line message in errbuf.
 */
#ifndef LPG_TLS_H
#define LPG_TLS_H

#include <stddef.h>
#include <sys/types.h>

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

/* A server context; cert_file may hold the chain after the certificate. */
SSL_CTX *tls_server_ctx_new(const char *cert_file, const char *key_file, char *errbuf,
                            size_t errlen);

/* A client context verifying peers against ca_file; cert_file/key_file (both or neither, NULL
 * or "") is the client certificate. */
SSL_CTX *tls_client_ctx_new(const char *ca_file, const char *cert_file, const char *key_file,
                            char *errbuf, size_t errlen);
/* A client SSL object that sends host as SNI (unless it is an IP address) and accepts only a
 * certificate valid for host (DNS name or IP address). NULL on failure. */
SSL *tls_client_new_ssl(SSL_CTX *ctx, const char *host);

void tls_ctx_free(SSL_CTX *ctx);

/* ---- one server-side connection over a non-blocking socket ---- */

/* An SSL object accepting on fd; NULL on out-of-memory. Free with tls_conn_free(). */
SSL *tls_conn_new(SSL_CTX *ctx, int fd);
void tls_conn_free(SSL *ssl);

/* What a TLS call needs before it can go on: the socket readable or writable. */
enum { TLS_WANT_NONE = 0, TLS_WANT_READ = 1, TLS_WANT_WRITE = 2 };

/* Like recv()/send() on the socket, through TLS (the handshake runs inside the first calls):
 * > 0 bytes; 0 on a clean close (read only); -1 with errno EAGAIN and *want set to the
 * readiness to wait for, or -1 with another errno (EPROTO for a TLS failure, logged at debug
 * level with the peer's name `who`). */
ssize_t tls_conn_read(SSL *ssl, void *buf, size_t len, int *want, const char *who);
ssize_t tls_conn_write(SSL *ssl, const void *buf, size_t len, int *want, const char *who);

/* Whether addr (a bind setting) is a loopback address: 127.0.0.0/8, ::1 or "localhost". */
int tls_addr_is_loopback(const char *addr);

#endif /* LPG_TLS_H */
