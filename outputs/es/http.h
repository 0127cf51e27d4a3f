/*
 * The connection side of the Elasticsearch output: hosts (round-robin,
 * failover, a failed host retried after a backoff), authentication (basic,
 * API key, bearer token, client certificate), TLS (verification on by
 * default, a CA file, SHA-256 fingerprint pinning), a proxy, timeouts, and
 * the options every curl handle shares. Used by the delivery thread
 * (outputs/es/es.c) and by `vigil setup` (agent/setup.c).
 *
 * Secrets (passwords, keys, tokens, proxy credentials) live only here and
 * in curl; nothing in this file logs them, and messages name hosts as
 * "host:port", never as the URL given.
 */
#ifndef VG_ES_HTTP_H
#define VG_ES_HTTP_H

#include "../../agent/buf.h"
#include "../../agent/err.h"
#include "../../config/config.h"

#include <curl/curl.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VG_ES_MAX_HOSTS       64            /* outputs.elasticsearch.hosts */
#define VG_ES_MAX_SETUP_RESP  (4u << 20)    /* one answer read by `vigil setup` */
#define VG_ES_FILTER_PATH     "filter_path=errors,items.*.error,items.*.status"

struct vg_es_host {
    char *base;              /* "https://es1:9200[/prefix]", owned, no trailing '/' */
    char *bulk_url;          /* base + "/_bulk?" VG_ES_FILTER_PATH, owned */
    char name[300];          /* "es1:9200": what messages show */
    bool tls;
    int64_t down_until;      /* vg_time_mono_ms(); 0 when up */
    unsigned fails;          /* failures in a row */
};

struct vg_es_conn {
    struct vg_es_host *hosts;
    size_t nhosts;
    size_t next;             /* round-robin position */
    struct curl_slist *hdr_bulk;   /* NDJSON, gzip when on, no Expect, auth */
    struct curl_slist *hdr_json;   /* JSON, no Expect, auth */
    char *username, *password;
    bool verify;
    char *ca, *cert, *key, *key_pass;
    bool pin;
    unsigned char pin_sha256[32];
    char *proxy;             /* NULL: no proxy, whatever the environment says */
    long timeout_ms, connect_timeout_ms;
    int gzip_level;          /* 0: bodies are sent as they are */
    int64_t backoff_init_ms, backoff_max_ms;
    uint64_t rng;
};

/* Builds the connection settings from cfg->outputs.es, reading and checking
 * every file it names (CA, client certificate and key with its
 * passphrase). VG_ERR_CONFIG with a sentence naming the key when the
 * settings cannot work: no hosts and no cloud_id, both, a malformed URL,
 * two kinds of credentials at once, a user without password, an
 * unreadable or wrong certificate file. Caller frees with
 * vg_es_conn_destroy(). */
struct vg_es_conn *vg_es_conn_new(const struct vg_config *cfg, char *errbuf, size_t errlen,
                                  enum vg_err *err);
void vg_es_conn_destroy(struct vg_es_conn *c);   /* NULL is a no-op */

/* Sets on easy every option a request shares: TLS, auth, proxy, timeouts,
 * HTTP/1.1, no signals. errbuf_curl (CURL_ERROR_SIZE bytes) receives
 * curl's message for the transfer. The URL, body and headers are the
 * caller's. */
enum vg_err vg_es_conn_prepare(const struct vg_es_conn *c, CURL *easy, char *errbuf_curl);

/* The next host that is up, round-robin; -1 when every host is waiting
 * out a failure (then *wait_until gets the soonest it may be tried). */
int vg_es_conn_pick(struct vg_es_conn *c, int64_t now_ms, int64_t *wait_until);
/* Marks a host failed: it is not picked for a backoff that grows with its
 * failures in a row. Returns the backoff in ms. */
int64_t vg_es_conn_failed(struct vg_es_conn *c, int host, int64_t now_ms);
void vg_es_conn_ok(struct vg_es_conn *c, int host);

/* Capped exponential backoff with full jitter: a random wait in
 * [0, min(max, init * 2^attempt)] ms. */
int64_t vg_es_backoff(struct vg_es_conn *c, unsigned attempt);

/* One line for a failed transfer: "TLS: certificate of es1:9200 not
 * trusted: ...", "es1:9200: connection refused (...)". */
void vg_es_transfer_error(const struct vg_es_host *h, CURLcode rc, const char *curl_msg,
                          char *out, size_t n);

/* A curl write callback (CURLOPT_WRITEFUNCTION, CURLOPT_WRITEDATA a
 * struct vg_es_sink) appending the body to b; over is set, and the
 * transfer stopped, when b's bound is passed. */
struct vg_es_sink {
    struct vg_buf *b;
    bool over;
};
size_t vg_es_sink_write(char *p, size_t size, size_t nmemb, void *u);

/* A whole request, synchronously, for `vigil setup`: tries the hosts in
 * turn until one answers at the HTTP level. *status gets the HTTP status,
 * resp the body (bounded by VG_ES_MAX_SETUP_RESP). body may be NULL. An
 * error (with a sentence) only when no host answered. */
enum vg_err vg_es_conn_request(struct vg_es_conn *c, const char *method, const char *path,
                               const char *body, long *status, struct vg_buf *resp,
                               char *errbuf, size_t errlen);

/* An http or https URL split as Vigil takes a server's address: no
 * credentials, no query or fragment, the path without its trailing
 * slashes. Without a scheme: https when tls_default, else http. The parts
 * are curl's strings (port and path may be NULL); vg_es_url_free() frees
 * them. Errors are VG_ERR_CONFIG with one line in errbuf starting with
 * what ("outputs.elasticsearch.hosts", "--kibana") and ending, for a URL
 * with credentials or a query, with creds_hint or query_hint. */
struct vg_es_url {
    char *scheme, *host, *port, *path;
};
enum vg_err vg_es_url_split(const char *in, bool tls_default, const char *what,
                            const char *creds_hint, const char *query_hint,
                            struct vg_es_url *out, char *errbuf, size_t errlen);
void vg_es_url_free(struct vg_es_url *u);

#endif
