/*
 * The Elasticsearch output's delivery thread (see es.h).
 *
 * State, all owned by the thread once it runs:
 *
 *   spool cursor ──read──▶ window (one slot per event read, in order:
 *                          its spool position and whether it is done)
 *                            │
 *   the request being built (bld) ◀── events, as action + source lines
 *   requests in flight (≤ max_in_flight, curl multi)
 *                            │ per item
 *        ┌───────────────────┼────────────────────┬──────────────┐
 *   delivered: slot done   retry pool (copies,    dead queue ──▶ dead-letter
 *                          due time, attempts) ─▶ file, then slot done
 *                          retry requests
 *
 *   ack: the window's head moves over done slots; the cursor is
 *   acknowledged at the last of them (throttled, forced while draining).
 *
 * Memory is bounded: the window holds at most (max_in_flight + 2) *
 * bulk_max_events events, and reading stops while the retry pool holds
 * more than (max_in_flight + 2) * bulk_max_bytes; request bodies are
 * reused from request to request.
 */
#include "es.h"
#include "bulk.h"
#include "http.h"
#include "../../agent/limits.h"
#include "../../agent/log.h"
#include "../../agent/timeutil.h"
#include "../output.h"

#include <curl/curl.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ACK_EVERY_MS   200      /* cursor writes are fsynced: not after every request */
#define IDLE_WAIT_MS   100      /* longest sleep of the loop: how soon stop is seen */
#define DEAD_RETRY_MS  1000     /* a dead-letter file that could not be written */

struct item {
    uint64_t w;          /* window sequence number */
    size_t off;          /* action line's offset in the body */
    uint32_t alen;       /* action line, newline included */
    uint32_t slen;       /* source line, newline included */
    uint16_t attempts;
    uint32_t group_max;  /* most items it may share a request with (413 splits) */
};

/* What the response said of one item, recorded while it streams in. */
enum { R_NONE, R_DONE, R_DUP, R_RETRY, R_DEAD, R_AUTH };

struct req {
    struct vg_es *es;
    struct vg_buf body, gz;
    struct item *items;
    uint8_t *res;                /* R_* per item */
    size_t n;
    bool busy, full;
    int host;
    int64_t first_ms;
    CURL *easy;
    struct vg_es_resp *resp;
    bool began;                  /* the parser saw the status */
    bool with_items;
    long status;
    enum vg_err feed_err;
    char cerr[CURL_ERROR_SIZE];
    /* the first error of each kind in this response, for one log line */
    int dead_status;
    char dead_type[VG_ES_MAX_ERR_TYPE], dead_reason[VG_ES_MAX_ERR_REASON];
    char retry_type[VG_ES_MAX_ERR_TYPE];
    int retry_status;
    char auth_reason[VG_ES_MAX_ERR_REASON];
};

struct retry {
    uint64_t w;
    int64_t due;
    uint16_t attempts;
    uint32_t group_max;
    uint32_t alen, slen;
    char *data;                  /* action line + source line */
};

struct dead {
    uint64_t w;
    int status;
    bool as_json;
    char type[VG_ES_MAX_ERR_TYPE];
    char *reason;
    char *ev;                    /* the event, without its newline */
    size_t len;
};

struct wslot {
    struct vg_spool_pos pos;
    bool done;
};

struct vg_es {
    struct vg_es_conn *conn;
    struct vg_spool *spool;
    struct vg_spool_cursor *cur;
    char ns[VG_ES_MAX_NAMESPACE + 1];
    size_t max_events, max_bytes, body_max;
    int max_in_flight;
    int64_t flush_ms;
    char *dl_path;

    CURLM *multi;
    struct req *reqs;
    size_t nreqs;
    int inflight;
    struct req *bld;
    struct vg_es_gzip gzip;

    struct wslot *win;
    size_t wcap;
    uint64_t whead, wtail;

    struct retry *retries;
    size_t nretry, retry_cap;
    size_t retry_bytes, retry_bytes_max;

    struct dead *deads;
    size_t ndead, dead_cap;
    int64_t dead_next_try;
    int dl_fd;
    struct vg_buf dlbuf;

    struct vg_spool_batch batch;
    size_t bi;
    bool have_batch;

    bool spool_window_full;      /* the spool refuses reads until an ack */
    bool ack_pending;
    struct vg_spool_pos ack_pos;
    int64_t last_ack;
    uint64_t acked_local;

    struct vg_es_stats ts;       /* the thread's counters, published below */

    pthread_t th;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    int draining;
    bool fatal;
    char fatal_msg[1024];
    char last_err[1024];
    struct vg_output_failing failing;   /* see vg_es_stats.failing_since_ms */
    struct vg_es_stats stats;    /* under mu */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

/* Copies a message, cut at the bound. */
static void copy_line(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Called by the delivery thread only (it alone marks the output failing). */
static void set_last_error(struct vg_es *es, const char *msg)
{
    pthread_mutex_lock(&es->mu);
    copy_line(es->last_err, sizeof(es->last_err), msg);
    pthread_mutex_unlock(&es->mu);
    vg_output_failing_mark(&es->failing);
}

/* Makes the thread's counters visible; wakes the drain waiters only when
 * the acknowledged position moved (a wake-up per loop turn costs more than
 * the loop). */
static void publish(struct vg_es *es)
{
    pthread_mutex_lock(&es->mu);
    bool moved = es->stats.acked != es->ts.acked;
    es->stats = es->ts;
    es->stats.stopped = es->fatal;
    if (moved)
        pthread_cond_broadcast(&es->cv);
    pthread_mutex_unlock(&es->mu);
}

/* ==== construction ====================================================== */

static size_t size_write(char *p, size_t size, size_t nmemb, void *u);

static enum vg_err req_init(struct vg_es *es, struct req *r)
{
    r->es = es;
    vg_buf_init(&r->body, es->body_max);
    /* gzip never grows a body by more than a few bytes per 16 KiB */
    vg_buf_init(&r->gz, es->body_max + es->body_max / 64 + 1024);
    r->items = calloc(es->max_events, sizeof(*r->items));
    r->res = calloc(es->max_events, 1);
    r->easy = curl_easy_init();
    r->resp = vg_es_resp_new();
    if (!r->items || !r->res || !r->easy || !r->resp)
        return VG_ERR_NOMEM;
    if (vg_es_conn_prepare(es->conn, r->easy, r->cerr))
        return VG_ERR_INVALID;
    curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, es->conn->hdr_bulk);
    curl_easy_setopt(r->easy, CURLOPT_POST, 1L);
    curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, size_write);
    curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
    return VG_OK;
}

static void req_free(struct req *r)
{
    vg_buf_free(&r->body);
    vg_buf_free(&r->gz);
    free(r->items);
    free(r->res);
    if (r->easy)
        curl_easy_cleanup(r->easy);
    vg_es_resp_free(r->resp);
}

struct vg_es *vg_es_new(const struct vg_config *cfg, struct vg_spool *spool,
                        const char *state_dir, char *errbuf, size_t errlen)
{
    pthread_once(&curl_once, curl_init_once);
    if (!cfg || !spool) {
        snprintf(errbuf, errlen, "elasticsearch: no configuration or spool");
        return NULL;
    }
    struct vg_es *es = calloc(1, sizeof(*es));
    if (!es) {
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    es->dl_fd = -1;
    pthread_mutex_init(&es->mu, NULL);
    pthread_cond_init(&es->cv, NULL);
    enum vg_err err;
    es->conn = vg_es_conn_new(cfg, errbuf, errlen, &err);
    if (!es->conn)
        goto fail;
    es->spool = spool;
    const char *ns = cfg->outputs.namespace && *cfg->outputs.namespace ? cfg->outputs.namespace
                                                                       : "default";
    if (strlen(ns) > VG_ES_MAX_NAMESPACE) {
        snprintf(errbuf, errlen, "outputs.namespace: longer than %d characters",
                 VG_ES_MAX_NAMESPACE);
        goto fail;
    }
    for (const char *p = ns; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')) {
            snprintf(errbuf, errlen, "outputs.namespace: only lowercase letters, digits and "
                                     "underscores");
            goto fail;
        }
    snprintf(es->ns, sizeof(es->ns), "%s", ns);
    const __typeof__(cfg->outputs.es) *c = &cfg->outputs.es;
    es->max_events = c->bulk_max_events > 0 ? (size_t)c->bulk_max_events : 1600;
    es->max_bytes = c->bulk_max_bytes > 0 ? (size_t)c->bulk_max_bytes : (5u << 20);
    /* one event alone may pass bulk_max_bytes: it still goes, by itself */
    es->body_max = es->max_bytes > VG_MAX_EVENT + 4096 ? es->max_bytes : VG_MAX_EVENT + 4096;
    es->max_in_flight = c->max_in_flight > 0 ? (int)c->max_in_flight : 2;
    es->flush_ms = c->flush_interval_s >= 0 ? c->flush_interval_s * 1000 : 1000;
    es->wcap = (size_t)(es->max_in_flight + 2) * es->max_events;
    es->retry_bytes_max = (size_t)(es->max_in_flight + 2) * es->max_bytes;

    const char *sd = state_dir ? state_dir : cfg->agent.state_dir;
    if (c->dead_letter_path && *c->dead_letter_path) {
        es->dl_path = strdup(c->dead_letter_path);
    } else {
        size_t n = strlen(sd ? sd : "/var/lib/vigil") + 32;
        es->dl_path = malloc(n);
        if (es->dl_path)
            snprintf(es->dl_path, n, "%s/dead-letter.ndjson", sd ? sd : "/var/lib/vigil");
    }
    vg_buf_init(&es->dlbuf, 2 * (size_t)VG_MAX_EVENT + 8192);

    es->win = calloc(es->wcap, sizeof(*es->win));
    es->nreqs = (size_t)es->max_in_flight + 1;
    es->reqs = calloc(es->nreqs, sizeof(*es->reqs));
    es->multi = curl_multi_init();
    if (!es->dl_path || !es->win || !es->reqs || !es->multi)
        goto nomem;
    curl_multi_setopt(es->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)es->max_in_flight);
    for (size_t i = 0; i < es->nreqs; i++) {
        err = req_init(es, &es->reqs[i]);
        if (err == VG_ERR_NOMEM)
            goto nomem;
        if (err) {
            snprintf(errbuf, errlen, "elasticsearch: this libcurl lacks an option the output "
                                     "needs (TLS or protocols)");
            goto fail;
        }
    }
    if (c->compression_level > 0 && vg_es_gzip_init(&es->gzip, (int)c->compression_level))
        goto nomem;
    return es;
nomem:
    snprintf(errbuf, errlen, "out of memory");
fail:
    vg_es_destroy(es);
    return NULL;
}

/* ==== the window and the ack ============================================ */

static struct wslot *slot(struct vg_es *es, uint64_t w)
{
    return &es->win[w % es->wcap];
}

static void slot_done(struct vg_es *es, uint64_t w)
{
    if (w >= es->whead && w < es->wtail)
        slot(es, w)->done = true;
}

static void advance_head(struct vg_es *es)
{
    while (es->whead < es->wtail && slot(es, es->whead)->done) {
        es->ack_pos = slot(es, es->whead)->pos;
        es->ack_pending = true;
        es->whead++;
        es->acked_local++;
    }
}

static void do_ack(struct vg_es *es, int64_t now, bool force)
{
    advance_head(es);
    if (!es->ack_pending || (!force && !es->spool_window_full && now - es->last_ack < ACK_EVERY_MS))
        return;
    char err[256];
    enum vg_err e = vg_spool_ack(es->cur, es->ack_pos, err, sizeof(err));
    es->last_ack = now;
    if (e) {
        /* nothing lost: the events stay after the cursor and are resent */
        vg_log(VG_LOG_ERROR, "es", "the spool cursor could not be saved: %s", err);
        return;
    }
    es->ack_pending = false;
    es->spool_window_full = false;
    es->ts.acked = es->acked_local;
    publish(es);
}

/* ==== the retry pool and the dead queue ================================= */

static enum vg_err retry_add(struct vg_es *es, uint64_t w, const char *data, uint32_t alen,
                             uint32_t slen, uint16_t attempts, uint32_t group_max, int64_t due)
{
    if (es->nretry == es->retry_cap) {
        size_t ncap = es->retry_cap ? es->retry_cap * 2 : 64;
        struct retry *n = realloc(es->retries, ncap * sizeof(*n));
        if (!n)
            return VG_ERR_NOMEM;
        es->retries = n;
        es->retry_cap = ncap;
    }
    char *copy = malloc((size_t)alen + slen);
    if (!copy)
        return VG_ERR_NOMEM;
    memcpy(copy, data, (size_t)alen + slen);
    es->retries[es->nretry++] = (struct retry){ .w = w, .due = due, .attempts = attempts,
                                                .group_max = group_max, .alen = alen,
                                                .slen = slen, .data = copy };
    es->retry_bytes += (size_t)alen + slen;
    return VG_OK;
}

static enum vg_err dead_add(struct vg_es *es, uint64_t w, int status, const char *type,
                            const char *reason, const char *ev, size_t len, bool as_json)
{
    if (es->ndead == es->dead_cap) {
        size_t ncap = es->dead_cap ? es->dead_cap * 2 : 16;
        struct dead *n = realloc(es->deads, ncap * sizeof(*n));
        if (!n)
            return VG_ERR_NOMEM;
        es->deads = n;
        es->dead_cap = ncap;
    }
    struct dead *d = &es->deads[es->ndead];
    memset(d, 0, sizeof(*d));
    d->ev = malloc(len + 1);
    d->reason = strdup(reason ? reason : "");
    if (!d->ev || !d->reason) {
        free(d->ev);
        free(d->reason);
        return VG_ERR_NOMEM;
    }
    memcpy(d->ev, ev, len);
    d->ev[len] = '\0';
    d->len = len;
    d->w = w;
    d->status = status;
    d->as_json = as_json;
    snprintf(d->type, sizeof(d->type), "%s", type ? type : "");
    es->ndead++;
    return VG_OK;
}

static int open_dead_letter(struct vg_es *es)
{
    if (es->dl_fd >= 0)
        return 0;
    es->dl_fd = open(es->dl_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    return es->dl_fd >= 0 ? 0 : -1;
}

/* Writes the dead queue to the file, durably; then its events are done. */
static void flush_dead(struct vg_es *es, int64_t now)
{
    if (!es->ndead || now < es->dead_next_try)
        return;
    int64_t wall = vg_time_now_ms();
    size_t i = 0;
    const char *why = NULL;
    if (open_dead_letter(es)) {
        why = strerror(errno);
    } else {
        while (i < es->ndead) {
            vg_buf_reset(&es->dlbuf);
            size_t j = i;
            /* a few lines per write */
            while (j < es->ndead && es->dlbuf.len < (1u << 20)) {
                struct dead *d = &es->deads[j];
                if (vg_es_dead_letter_line(&es->dlbuf, wall, d->status, d->type, d->reason,
                                           d->ev, d->len, d->as_json))
                    break;
                j++;
            }
            if (j == i) {
                why = "a line is larger than the dead-letter buffer";
                break;
            }
            const char *p = es->dlbuf.data;
            size_t left = es->dlbuf.len;
            while (left) {
                ssize_t w = write(es->dl_fd, p, left);
                if (w < 0 && errno == EINTR)
                    continue;
                if (w <= 0) {
                    why = strerror(errno ? errno : EIO);
                    break;
                }
                p += w;
                left -= (size_t)w;
            }
            if (why)
                break;
            i = j;
        }
        if (!why && fdatasync(es->dl_fd) != 0)
            why = strerror(errno);
    }
    if (why) {
        /* the events stay in the spool; a torn line may remain in the file */
        char msg[600];
        snprintf(msg, sizeof(msg), "the dead-letter file %s cannot be written (%s): %zu "
                                   "rejected events wait in the spool", es->dl_path, why,
                 es->ndead);
        vg_log(VG_LOG_ERROR, "es", "%s", msg);
        set_last_error(es, msg);
        es->dead_next_try = now + DEAD_RETRY_MS;
        if (es->dl_fd >= 0) {
            close(es->dl_fd);
            es->dl_fd = -1;
        }
        /* lines written before the failure are not written again */
        if (i == 0)
            return;
    }
    for (size_t k = 0; k < i; k++) {
        slot_done(es, es->deads[k].w);
        free(es->deads[k].ev);
        free(es->deads[k].reason);
    }
    es->ts.dead_lettered += i;
    memmove(es->deads, es->deads + i, (es->ndead - i) * sizeof(*es->deads));
    es->ndead -= i;
}

/* ==== building and sending ============================================== */

static struct req *free_req(struct vg_es *es)
{
    for (size_t i = 0; i < es->nreqs; i++) {
        struct req *r = &es->reqs[i];
        if (!r->busy && r != es->bld)
            return r;
    }
    return NULL;
}

static void req_clear(struct req *r)
{
    vg_buf_reset(&r->body);
    r->n = 0;
    r->full = false;
    r->busy = false;
    r->first_ms = 0;
}

static void on_item(void *opaque, size_t i, int status, const char *type, const char *reason);

static size_t size_write(char *p, size_t size, size_t nmemb, void *u)
{
    struct req *r = u;
    size_t n = size * nmemb;
    if (!r->began) {
        r->began = true;
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
        r->with_items = r->status >= 200 && r->status < 300;
        r->feed_err = vg_es_resp_begin(r->resp, r->n, r->with_items, on_item, r);
    }
    if (r->feed_err)
        return r->feed_err == VG_ERR_LIMIT ? 0 : n;   /* read the rest, unparsed */
    r->feed_err = vg_es_resp_feed(r->resp, p, n);
    return r->feed_err == VG_ERR_LIMIT ? 0 : n;
}

static void on_item(void *opaque, size_t i, int status, const char *type, const char *reason)
{
    struct req *r = opaque;
    struct vg_es *es = r->es;
    if (i >= r->n)
        return;
    switch (vg_es_item_fate(status, type)) {
    case VG_ES_DELIVERED:
        r->res[i] = R_DONE;
        break;
    case VG_ES_DUPLICATE:
        r->res[i] = R_DUP;
        break;
    case VG_ES_RETRY:
        r->res[i] = R_RETRY;
        if (!r->retry_status) {
            r->retry_status = status;
            snprintf(r->retry_type, sizeof(r->retry_type), "%s", *type ? type : "no status");
        }
        break;
    case VG_ES_DEAD: {
        const struct item *it = &r->items[i];
        const char *src = r->body.data + it->off + it->alen;
        if (dead_add(es, it->w, status, type, reason, src, it->slen - 1, true)) {
            r->res[i] = R_RETRY;   /* out of memory: keep it, try again later */
            break;
        }
        r->res[i] = R_DEAD;
        if (!r->dead_status) {
            r->dead_status = status;
            snprintf(r->dead_type, sizeof(r->dead_type), "%s", type);
            snprintf(r->dead_reason, sizeof(r->dead_reason), "%s", reason);
        }
        break;
    }
    case VG_ES_AUTH:
        r->res[i] = R_AUTH;
        if (!r->auth_reason[0])
            snprintf(r->auth_reason, sizeof(r->auth_reason), "HTTP %d %.100s: %.800s", status,
                     *type ? type : "error", reason);
        break;
    }
}

static void send_req(struct vg_es *es, struct req *r, int host, int64_t now)
{
    const char *body = r->body.data ? r->body.data : "";
    size_t len = r->body.len;
    if (es->gzip.z) {
        if (vg_es_gzip(&es->gzip, body, len, &r->gz) == VG_OK) {
            body = r->gz.data;
            len = r->gz.len;
        } else {
            /* cannot happen with the bounds above; never send a body that
             * claims gzip and is not */
            vg_log(VG_LOG_ERROR, "es", "gzip failed on a %zu-byte body", r->body.len);
            return;
        }
    }
    r->host = host;
    r->busy = true;
    r->began = false;
    r->status = 0;
    r->feed_err = VG_OK;
    r->cerr[0] = '\0';
    r->dead_status = r->retry_status = 0;
    r->auth_reason[0] = '\0';
    memset(r->res, R_NONE, r->n);
    /* the parser is told about items only once the status is known */
    curl_easy_setopt(r->easy, CURLOPT_URL, es->conn->hosts[host].bulk_url);
    curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    if (curl_multi_add_handle(es->multi, r->easy) != CURLM_OK) {
        r->busy = false;
        vg_log(VG_LOG_ERROR, "es", "curl refused a transfer");
        return;
    }
    es->inflight++;
    es->ts.requests++;
    es->ts.bytes_sent += len;
    es->ts.bytes_raw += r->body.len;
    (void)now;
}

static bool read_allowed(struct vg_es *es)
{
    return !es->spool_window_full && es->wtail - es->whead < es->wcap && es->retry_bytes <= es->retry_bytes_max;
}

/* Moves events from the spool into the request being built, until it is
 * full, the window is, or the spool has nothing more within timeout_ms. */
static void fill(struct vg_es *es, int64_t now, int timeout_ms)
{
    for (;;) {
        if (!es->bld) {
            es->bld = free_req(es);
            if (!es->bld)
                return;
            req_clear(es->bld);
        }
        struct req *r = es->bld;
        if (r->n >= es->max_events || r->full || !read_allowed(es))
            return;
        if (!es->have_batch || es->bi >= es->batch.n) {
            if (es->have_batch) {
                vg_spool_batch_release(&es->batch);
                es->have_batch = false;
            }
            size_t room = es->wcap - (size_t)(es->wtail - es->whead);
            size_t max = es->max_events < room ? es->max_events : room;
            memset(&es->batch, 0, sizeof(es->batch));
            enum vg_err e = vg_spool_read(es->cur, max, timeout_ms, &es->batch);
            if (e == VG_ERR_LIMIT) {
                /* the spool's own bound on records read and not acked */
                es->spool_window_full = true;
                return;
            }
            if (e) {
                char msg[128];
                snprintf(msg, sizeof(msg), "the spool could not be read: %s", vg_strerror(e));
                vg_log(VG_LOG_ERROR, "es", "%s", msg);
                set_last_error(es, msg);
                return;
            }
            es->have_batch = true;
            es->bi = 0;
            if (es->batch.n == 0)
                return;
            timeout_ms = 0;
        }
        const char *ev = es->batch.events[es->bi];
        size_t len = es->batch.lens[es->bi];
        struct vg_es_meta m;
        char why[128];
        const char *rt = es->batch.routes ? es->batch.routes[es->bi] : NULL;
        size_t rlen = es->batch.routes ? es->batch.rlens[es->bi] : 0;
        if (vg_es_event_meta_routed(ev, len, rt, rlen, &m, why, sizeof(why))) {
            uint64_t w = es->wtail;
            if (dead_add(es, w, 0, "vigil_invalid_event", why, ev, len, false))
                return;   /* out of memory: try again later */
            *slot(es, w) = (struct wslot){ .pos = es->batch.pos[es->bi], .done = false };
            es->wtail++;
            es->bi++;
            vg_log(VG_LOG_WARN, "es", "an event in the spool cannot be indexed (%s): it goes to "
                                      "the dead-letter file", why);
            continue;
        }
        if (r->n > 0 && r->body.len + len + 200 + m.id_len > es->max_bytes) {
            r->full = true;
            return;
        }
        size_t off = r->body.len, alen = 0;
        enum vg_err e = vg_es_bulk_append(&r->body, &m, es->ns, ev, len, &alen);
        if (e) {
            if (r->n > 0) {
                r->full = true;
                return;
            }
            /* alone and still refused: larger than any body may be */
            uint64_t w = es->wtail;
            if (dead_add(es, w, 0, "vigil_event_too_large",
                         "the event is larger than a bulk request may be", ev, len, true))
                return;
            *slot(es, w) = (struct wslot){ .pos = es->batch.pos[es->bi], .done = false };
            es->wtail++;
            es->bi++;
            continue;
        }
        uint64_t w = es->wtail++;
        *slot(es, w) = (struct wslot){ .pos = es->batch.pos[es->bi], .done = false };
        r->items[r->n++] = (struct item){ .w = w, .off = off, .alen = (uint32_t)alen,
                                          .slen = (uint32_t)(len + 1), .attempts = 0,
                                          .group_max = (uint32_t)es->max_events };
        if (r->n == 1)
            r->first_ms = now;
        es->bi++;
    }
}

/* Builds requests from the retry pool's due events, oldest first. */
static void send_retries(struct vg_es *es, int64_t now)
{
    while (es->nretry && es->inflight < es->max_in_flight) {
        int64_t wait;
        struct req *r = free_req(es);
        if (!r)
            return;
        bool due = false;
        for (size_t i = 0; i < es->nretry && !due; i++)
            due = es->retries[i].due <= now;
        if (!due)
            return;
        int host = vg_es_conn_pick(es->conn, now, &wait);
        if (host < 0)
            return;
        /* find the due events, in window order */
        size_t cap = es->max_events;
        size_t taken = 0;
        req_clear(r);
        r->busy = true;   /* reserved while filled: free_req skips it */
        for (;;) {
            size_t best = SIZE_MAX;
            for (size_t i = 0; i < es->nretry; i++) {
                struct retry *t = &es->retries[i];
                if (t->due <= now && (best == SIZE_MAX || t->w < es->retries[best].w))
                    best = i;
            }
            if (best == SIZE_MAX)
                break;
            struct retry *t = &es->retries[best];
            size_t gm = t->group_max ? t->group_max : 1;
            if (taken && (taken + 1 > gm || taken + 1 > cap ||
                          r->body.len + t->alen + t->slen > es->max_bytes))
                break;
            if (gm < cap)
                cap = gm;
            size_t off = r->body.len;
            if (vg_buf_append(&r->body, t->data, (size_t)t->alen + t->slen))
                break;
            r->items[r->n++] = (struct item){ .w = t->w, .off = off, .alen = t->alen,
                                              .slen = t->slen, .attempts = t->attempts,
                                              .group_max = t->group_max };
            es->retry_bytes -= (size_t)t->alen + t->slen;
            free(t->data);
            es->retries[best] = es->retries[--es->nretry];
            taken++;
            if (taken >= cap)
                break;
        }
        r->busy = false;
        if (!taken)
            return;
        es->ts.retried += taken;
        send_req(es, r, host, now);
    }
}

static void maybe_send_bld(struct vg_es *es, int64_t now, bool draining)
{
    struct req *r = es->bld;
    if (!r || r->n == 0 || es->inflight >= es->max_in_flight)
        return;
    bool due = r->full || r->n >= es->max_events || now - r->first_ms >= es->flush_ms ||
               draining || !read_allowed(es);
    if (!due)
        return;
    int64_t wait;
    int host = vg_es_conn_pick(es->conn, now, &wait);
    if (host < 0)
        return;
    es->bld = NULL;
    send_req(es, r, host, now);
}

/* ==== answers =========================================================== */

static void set_fatal(struct vg_es *es, const char *msg)
{
    pthread_mutex_lock(&es->mu);
    if (!es->fatal) {
        es->fatal = true;
        copy_line(es->fatal_msg, sizeof(es->fatal_msg), msg);
        copy_line(es->last_err, sizeof(es->last_err), msg);
        pthread_cond_broadcast(&es->cv);
        pthread_mutex_unlock(&es->mu);
        vg_log(VG_LOG_ERROR, "es", "%s", msg);
        return;
    }
    pthread_mutex_unlock(&es->mu);
}

/* Items from index `from` on go back to the retry pool. */
static void requeue(struct vg_es *es, struct req *r, size_t from, int64_t now, bool backoff,
                    uint32_t group_max)
{
    for (size_t i = from; i < r->n; i++) {
        struct item *it = &r->items[i];
        if (r->res[i] != R_NONE)
            continue;
        uint16_t att = backoff && it->attempts < 60000 ? (uint16_t)(it->attempts + 1) : it->attempts;
        int64_t due = backoff ? now + vg_es_backoff(es->conn, att - 1u) : now;
        if (retry_add(es, it->w, r->body.data + it->off, it->alen, it->slen, att,
                      group_max ? group_max : it->group_max, due)) {
            /* out of memory: the slot stays undone; a restart resends it */
            vg_log(VG_LOG_ERROR, "es", "out of memory: an event waits for a restart");
        }
    }
}

static void finish(struct vg_es *es, struct req *r, CURLcode rc, int64_t now)
{
    struct vg_es_host *h = &es->conn->hosts[r->host];
    long st = r->status;
    if (rc == CURLE_OK && !r->began) {
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &st);
        r->status = st;
        r->with_items = st >= 200 && st < 300;
        r->feed_err = vg_es_resp_begin(r->resp, r->n, r->with_items, NULL, NULL);
        r->began = true;
    }
    enum vg_err perr = r->feed_err;
    if (rc == CURLE_OK && !perr)
        perr = vg_es_resp_end(r->resp);
    char msg[2048];

    if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && r->feed_err == VG_ERR_LIMIT)) {
        /* no answer: the host failed; the events go elsewhere, or later */
        vg_es_transfer_error(h, rc, r->cerr, msg, sizeof(msg));
        int64_t d = vg_es_conn_failed(es->conn, r->host, now);
        es->ts.requests_failed++;
        vg_log(VG_LOG_WARN, "es", "%s; %zu events are resent, this host is tried again in "
                                  "%.1fs", msg, r->n, (double)d / 1000.0);
        set_last_error(es, msg);
        requeue(es, r, 0, now, false, 0);
        return;
    }
    if (st >= 200 && st < 300) {
        vg_es_conn_ok(es->conn, r->host);
        size_t done = 0, dup = 0, retry = 0, dead = 0, auth = 0;
        for (size_t i = 0; i < r->n; i++) {
            switch (r->res[i]) {
            case R_DONE: slot_done(es, r->items[i].w); done++; break;
            case R_DUP: slot_done(es, r->items[i].w); dup++; break;
            case R_DEAD: dead++; break;
            case R_RETRY: retry++; r->res[i] = R_NONE; break;
            case R_AUTH: auth++; r->res[i] = R_NONE; break;
            default: break;
            }
        }
        es->ts.delivered += done;
        es->ts.duplicates += dup;
        if (done || dup)
            vg_output_failing_clear(&es->failing);   /* a request delivered */
        if (dead)
            vg_log(VG_LOG_WARN, "es", "%s rejected %zu event%s (%d %s: %s): written to %s",
                   h->name, dead, dead == 1 ? "" : "s", r->dead_status, r->dead_type,
                   r->dead_reason, es->dl_path);
        if (retry)
            vg_log(VG_LOG_INFO, "es", "%s answered %zu event%s with %d %s: resent after a "
                                      "backoff", h->name, retry, retry == 1 ? "" : "s",
                   r->retry_status, r->retry_type);
        if (perr) {
            size_t seen = vg_es_resp_items(r->resp);
            snprintf(msg, sizeof(msg), "%s: the bulk response could not be read (%.300s); %zu of "
                                       "%zu events are resent", h->name,
                     vg_es_resp_errmsg(r->resp), r->n - seen, r->n);
            vg_log(VG_LOG_WARN, "es", "%s", msg);
            set_last_error(es, msg);
            es->ts.requests_failed++;
        }
        /* retries and unread items: backoff; auth: kept, delivery stops */
        requeue(es, r, 0, now, true, 0);
        if (auth) {
            snprintf(msg, sizeof(msg), "elasticsearch: %s refused the credentials (%.600s); "
                                       "delivery stopped, the events stay in the spool",
                     h->name, r->auth_reason);
            set_fatal(es, msg);
        }
        return;
    }

    es->ts.requests_failed++;
    const char *type = vg_es_resp_error_type(r->resp);
    const char *reason = vg_es_resp_error_reason(r->resp);
    if (perr) {
        type = "";
        reason = "";
    }
    switch (vg_es_reply_class(st, type)) {
    case VG_ES_REPLY_SPLIT:
        if (r->n == 1) {
            const struct item *it = &r->items[0];
            char rs[VG_ES_MAX_ERR_REASON];
            snprintf(rs, sizeof(rs), "%s", *reason ? reason
                                     : st == 413 ? "the request is larger than the server takes"
                                                 : "the server refused the request");
            const char *ty = *type ? type : st == 413 ? "request_entity_too_large" : "bad_request";
            if (dead_add(es, it->w, (int)st, ty, rs, r->body.data + it->off + it->alen,
                         it->slen - 1, true) == VG_OK) {
                r->res[0] = R_DEAD;
                vg_log(VG_LOG_WARN, "es", "%s refused an event alone (%ld %s): written to %s",
                       h->name, st, ty, es->dl_path);
                return;
            }
            requeue(es, r, 0, now, true, 0);
            return;
        }
        es->ts.splits++;
        vg_log(VG_LOG_WARN, "es", "%s answered %ld to a request of %zu events (%zu bytes): "
                                  "resent in halves%s", h->name, st, r->n, r->body.len,
               st == 413 ? "; consider a smaller bulk_max_bytes" : "");
        requeue(es, r, 0, now, false, (uint32_t)((r->n + 1) / 2));
        return;
    case VG_ES_REPLY_RETRY:
        vg_log(VG_LOG_INFO, "es", "%s answered %ld %s: %zu events resent after a backoff",
               h->name, st, *type ? type : "", r->n);
        requeue(es, r, 0, now, true, 0);
        return;
    case VG_ES_REPLY_AUTH:
        snprintf(msg, sizeof(msg), "elasticsearch: %s refused the credentials (HTTP %ld %.100s: %.600s); "
                                   "delivery stopped, the events stay in the spool",
                 h->name, st, *type ? type : "error", *reason ? reason : "no reason given");
        requeue(es, r, 0, now, false, 0);
        set_fatal(es, msg);
        return;
    case VG_ES_REPLY_HOST:
    case VG_ES_REPLY_ITEMS: {
        int64_t d = vg_es_conn_failed(es->conn, r->host, now);
        snprintf(msg, sizeof(msg), "%s answered HTTP %ld%s%.100s%s%.600s to a bulk request; %zu events "
                                   "are resent, this host is tried again in %.1fs",
                 h->name, st, *type ? " " : "", type, *reason ? ": " : "", reason, r->n,
                 (double)d / 1000.0);
        vg_log(VG_LOG_WARN, "es", "%s", msg);
        set_last_error(es, msg);
        requeue(es, r, 0, now, true, 0);
        return;
    }
    }
}

static void reap(struct vg_es *es, int64_t now)
{
    int left;
    CURLMsg *m;
    while ((m = curl_multi_info_read(es->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE)
            continue;
        struct req *r = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        CURLcode rc = m->data.result;
        curl_multi_remove_handle(es->multi, m->easy_handle);
        es->inflight--;
        if (!r)
            continue;
        finish(es, r, rc, now);
        req_clear(r);
    }
    flush_dead(es, now);
}

/* ==== the loop ========================================================== */

static int64_t next_wait(struct vg_es *es, int64_t now, bool draining)
{
    int64_t t = now + IDLE_WAIT_MS;
    if (es->bld && es->bld->n && !draining) {
        int64_t f = es->bld->first_ms + es->flush_ms;
        if (f < t)
            t = f;
    }
    for (size_t i = 0; i < es->nretry; i++)
        if (es->retries[i].due < t)
            t = es->retries[i].due;
    if (es->ack_pending && es->last_ack + ACK_EVERY_MS < t)
        t = es->last_ack + ACK_EVERY_MS;
    if (es->ndead && es->dead_next_try < t)
        t = es->dead_next_try;
    bool want_host = es->nretry || (es->bld && es->bld->n);
    if (want_host) {
        int64_t up;
        struct vg_es_conn *c = es->conn;
        size_t keep = c->next;
        if (vg_es_conn_pick(c, now, &up) < 0 && up > t)
            t = up;
        c->next = keep;
    }
    int64_t d = t - now;
    return d < 0 ? 0 : d > IDLE_WAIT_MS ? IDLE_WAIT_MS : d;
}

static void *run(void *arg)
{
    struct vg_es *es = arg;
    for (;;) {
        pthread_mutex_lock(&es->mu);
        bool stop = es->stop, draining = es->draining > 0, fatal = es->fatal;
        pthread_mutex_unlock(&es->mu);
        if (stop)
            break;
        int64_t now = vg_time_mono_ms();
        int running = 0;
        curl_multi_perform(es->multi, &running);
        reap(es, now);
        if (!fatal) {
            send_retries(es, now);
            fill(es, now, 0);
            maybe_send_bld(es, now, draining);
            if (es->inflight)
                curl_multi_perform(es->multi, &running);
        }
        do_ack(es, now, draining);
        publish(es);

        int64_t wait = next_wait(es, now, draining);
        /* a transfer that finished during the last perform is reaped now:
         * polling first would sleep up to IDLE_WAIT_MS with its answer
         * ready (one request per event took 48 s for 1,001 events) */
        if (es->inflight && running < es->inflight)
            continue;
        if (es->inflight) {
            curl_multi_poll(es->multi, NULL, 0, (int)wait, NULL);
        } else if (!fatal && read_allowed(es) && !(es->bld && es->bld->full) &&
                   (!es->bld || es->bld->n < es->max_events) && wait > 0) {
            /* nothing in flight: wait for the spool itself */
            fill(es, vg_time_mono_ms(), (int)wait);
        } else if (wait > 0) {
            pthread_mutex_lock(&es->mu);
            if (!es->stop)
                vg_cond_wait_ms(&es->cv, &es->mu, wait);
            pthread_mutex_unlock(&es->mu);
        }
    }
    /* abandon what is in flight; acknowledge what is done */
    for (size_t i = 0; i < es->nreqs; i++) {
        struct req *r = &es->reqs[i];
        if (r->busy && r->n) {
            curl_multi_remove_handle(es->multi, r->easy);
            r->busy = false;
        }
    }
    es->inflight = 0;
    flush_dead(es, INT64_MAX);
    do_ack(es, vg_time_mono_ms(), true);
    if (es->have_batch) {
        vg_spool_batch_release(&es->batch);
        es->have_batch = false;
    }
    publish(es);
    pthread_mutex_lock(&es->mu);
    pthread_cond_broadcast(&es->cv);
    pthread_mutex_unlock(&es->mu);
    return NULL;
}

enum vg_err vg_es_start(struct vg_es *es)
{
    if (es->started)
        return VG_ERR_INVALID;
    enum vg_err e = vg_spool_cursor(es->spool, VG_ES_CURSOR, &es->cur);
    if (e)
        return e;
    vg_spool_rewind(es->cur);
    es->stop = false;
    if (pthread_create(&es->th, NULL, run, es) != 0)
        return VG_ERR_NOMEM;
    es->started = true;
    return VG_OK;
}

static void wake(struct vg_es *es)
{
    pthread_cond_broadcast(&es->cv);
    if (es->multi)
        curl_multi_wakeup(es->multi);
}

enum vg_err vg_es_drain(struct vg_es *es, int64_t deadline_ms, uint64_t *remaining)
{
    enum vg_err err = VG_OK;
    uint64_t left = 0;
    pthread_mutex_lock(&es->mu);
    if (!es->started || es->stop) {
        pthread_mutex_unlock(&es->mu);
        if (remaining)
            *remaining = es->cur ? vg_spool_pending(es->cur) : 0;
        return VG_ERR_INVALID;
    }
    es->draining++;
    wake(es);
    for (;;) {
        left = vg_spool_pending(es->cur);
        if (left == 0)
            break;
        if (es->fatal) {
            err = VG_ERR_PERM;
            break;
        }
        int64_t now = vg_time_mono_ms();
        if (deadline_ms >= 0 && now >= deadline_ms) {
            err = VG_ERR_LIMIT;
            if (!es->last_err[0])
                snprintf(es->last_err, sizeof(es->last_err),
                         "elasticsearch: %llu events not delivered in time",
                         (unsigned long long)left);
            break;
        }
        int64_t w = 100;
        if (deadline_ms >= 0 && deadline_ms - now < w)
            w = deadline_ms - now;
        vg_cond_wait_ms(&es->cv, &es->mu, w);
    }
    es->draining--;
    pthread_mutex_unlock(&es->mu);
    if (remaining)
        *remaining = left;
    return err;
}

void vg_es_stop(struct vg_es *es)
{
    if (!es || !es->started)
        return;
    pthread_mutex_lock(&es->mu);
    es->stop = true;
    wake(es);
    pthread_mutex_unlock(&es->mu);
    pthread_join(es->th, NULL);
    es->started = false;
}

void vg_es_destroy(struct vg_es *es)
{
    if (!es)
        return;
    vg_es_stop(es);
    for (size_t i = 0; es->reqs && i < es->nreqs; i++)
        req_free(&es->reqs[i]);
    free(es->reqs);
    if (es->multi)
        curl_multi_cleanup(es->multi);
    for (size_t i = 0; i < es->nretry; i++)
        free(es->retries[i].data);
    free(es->retries);
    for (size_t i = 0; i < es->ndead; i++) {
        free(es->deads[i].ev);
        free(es->deads[i].reason);
    }
    free(es->deads);
    free(es->win);
    vg_es_gzip_free(&es->gzip);
    vg_buf_free(&es->dlbuf);
    if (es->dl_fd >= 0)
        close(es->dl_fd);
    free(es->dl_path);
    vg_es_conn_destroy(es->conn);
    pthread_mutex_destroy(&es->mu);
    pthread_cond_destroy(&es->cv);
    free(es);
}

void vg_es_get_stats(struct vg_es *es, struct vg_es_stats *out)
{
    pthread_mutex_lock(&es->mu);
    *out = es->stats;
    out->stopped = es->fatal;
    out->failing_since_ms = vg_output_failing_since(&es->failing);
    pthread_mutex_unlock(&es->mu);
    out->pending = vg_spool_pending(es->cur);
}

void vg_es_last_error(struct vg_es *es, char *buf, size_t len)
{
    pthread_mutex_lock(&es->mu);
    snprintf(buf, len, "%s", es->fatal ? es->fatal_msg : es->last_err);
    pthread_mutex_unlock(&es->mu);
}
