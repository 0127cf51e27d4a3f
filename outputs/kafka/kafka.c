/*
 * The Kafka output's delivery thread (see kafka.h).
 *
 *   spool cursor ──read──▶ window (one slot per event, in spool order: its
 *                          position, a copy of the event, and its state)
 *
 *   slot states:  PENDING ──produce──▶ INFLIGHT ──report ok──▶ DONE
 *                    ▲                    │ report: retriable
 *                    └────────────────────┘
 *                 INFLIGHT/PENDING ──permanent──▶ DEAD (queued for the
 *                 dead-letter file) ──written, fdatasynced──▶ DONE
 *
 *   ack: the window's head moves over DONE slots; the cursor is acknowledged
 *   at the last of them (throttled, forced while draining).
 *
 * Memory is bounded by the window (WINDOW_SLOTS events) and by librdkafka's
 * own queue (queue.buffering.max.*): a full queue stops reading.
 * Delivery reports run in this thread only (rd_kafka_poll), so the window
 * needs no lock.
 */
#include "kafka.h"
#include "../es/bulk.h"
#include "../../agent/buf.h"
#include "../../agent/hash.h"
#include "../../agent/json.h"
#include "../../agent/limits.h"
#include "../../agent/log.h"
#include "../../agent/timeutil.h"
#include "../output.h"
#include "../../checks/rule.h"

#include <librdkafka/rdkafka.h>

#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WINDOW_SLOTS   8192     /* events read and not yet acknowledged */
#define READ_MAX       1000     /* events per spool read */
#define ACK_EVERY_MS   200
#define IDLE_WAIT_MS   50
#define DEAD_RETRY_MS  1000
#define MAX_TOPIC      249      /* Kafka's limit on a topic name */
#define TOPIC_FIELDS   8        /* {fields} in the topic template */
#define KNOWN_TOPICS   8        /* topics whose metadata is asked for at once */
#define METADATA_WAIT_MS 2000   /* bound on that request */
#define VG_PICK_DECODED 1024    /* a header or key value with escapes, decoded */

enum { S_PENDING, S_INFLIGHT, S_DEAD, S_DONE };

/* The copies of one spool read's events, in one block shared by their
 * slots: let go when the last of them is done (one block per read, not
 * per event; a few blocks are kept for the next reads, since freeing
 * blocks this large costs glibc a consolidation of its small bins). */
struct kbatch {
    size_t refs;
    size_t cap;                 /* bytes of data */
    char data[];
};
#define KB_SPARE 8                 /* blocks kept for reuse (a window holds ~14) */
#define KB_SPARE_MAX (4u << 20)    /* the largest block kept */

struct wslot {
    struct vg_spool_pos pos;
    uint8_t state;
    char *ev;                   /* in kb, until DONE */
    size_t len;
    char *rt;                   /* its route, in kb; NULL: none */
    size_t rlen;
    struct kbatch *kb;
};

struct kb_spares {
    struct kbatch *b[KB_SPARE];
    size_t n;
};

/* A block of at least need bytes: a spare one, else a new one. */
static struct kbatch *kb_get(struct kb_spares *sp, size_t need)
{
    for (size_t i = 0; i < sp->n; i++)
        if (sp->b[i]->cap >= need) {
            struct kbatch *kb = sp->b[i];
            sp->b[i] = sp->b[--sp->n];
            return kb;
        }
    size_t cap = need < 256 * 1024 ? 256 * 1024 : need;
    struct kbatch *kb = malloc(sizeof(*kb) + cap);
    if (kb)
        kb->cap = cap;
    return kb;
}

static void kb_put(struct kb_spares *sp, struct kbatch *kb)
{
    if (kb->cap > KB_SPARE_MAX) {
        free(kb);   /* a read of unusually large events: not kept */
        return;
    }
    if (sp->n < KB_SPARE) {
        sp->b[sp->n++] = kb;
        return;
    }
    /* full: the smallest goes */
    size_t m = 0;
    for (size_t i = 1; i < sp->n; i++)
        if (sp->b[i]->cap < sp->b[m]->cap)
            m = i;
    if (sp->b[m]->cap < kb->cap) {
        free(sp->b[m]);
        sp->b[m] = kb;
    } else {
        free(kb);
    }
}

static void kb_free_all(struct kb_spares *sp)
{
    while (sp->n)
        free(sp->b[--sp->n]);
}

/* Lets go of a slot's event. */
static void slot_drop(struct kb_spares *sp, struct wslot *s)
{
    if (s->kb && --s->kb->refs == 0)
        kb_put(sp, s->kb);
    s->kb = NULL;
    s->ev = NULL;
    s->rt = NULL;
}

struct dead {
    uint64_t w;
    bool as_json;
    char type[64];
    char reason[256];
};

struct vg_kafka {
    struct vg_spool *spool;
    struct vg_spool_cursor *cur;
    rd_kafka_conf_t *conf;      /* template: each producer gets a copy */
    rd_kafka_t *rk;
    char *topic_tpl;
    char tpl_fields[TOPIC_FIELDS][128];   /* the template's {fields}, in order */
    int tpl_rt[TOPIC_FIELDS];             /* their fields in a route */
    bool tpl_routed;                      /* a route holds them all */
    char known[KNOWN_TOPICS][MAX_TOPIC + 1];   /* topics this producer has metadata of */
    size_t nknown;
    size_t ntpl;
    char *dl_path;

    struct wslot *win;
    struct kb_spares spares;
    uint64_t whead, wtail;
    size_t npending, ninflight;
    bool queue_full, spool_window_full;

    struct dead *deads;
    size_t ndead, dead_cap;
    int64_t dead_next_try;
    int dl_fd;
    struct vg_buf dlbuf;

    bool ack_pending;
    struct vg_spool_pos ack_pos;
    int64_t last_ack;
    uint64_t acked_local;
    bool fatal_pending;         /* set by the error callback (this thread) */
    bool ignore_reports;        /* while an old producer is destroyed */

    struct vg_kafka_stats ts;   /* the thread's counters */

    pthread_t th;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    int draining;
    char last_err[1024];
    struct vg_output_failing failing;   /* see vg_kafka_stats.failing_since_ms */
    struct vg_kafka_stats stats;   /* under mu */
};

/* Called on the delivery thread only (it alone marks the output failing). */
static void set_last_error(struct vg_kafka *k, const char *msg)
{
    pthread_mutex_lock(&k->mu);
    snprintf(k->last_err, sizeof(k->last_err), "%s", msg);
    pthread_mutex_unlock(&k->mu);
    vg_output_failing_mark(&k->failing);
}

static void publish(struct vg_kafka *k)
{
    pthread_mutex_lock(&k->mu);
    bool moved = k->stats.acked != k->ts.acked;
    k->stats = k->ts;
    if (moved)
        pthread_cond_broadcast(&k->cv);
    pthread_mutex_unlock(&k->mu);
}

static struct wslot *slot(struct vg_kafka *k, uint64_t w)
{
    return &k->win[w % WINDOW_SLOTS];
}

/* ==== events: topic, key, headers ======================================= */

/* Checks a topic template: {path} fields with a non-empty path of
 * [A-Za-z0-9_.@-], literal text otherwise; at most TOPIC_FIELDS fields of
 * at most 127 bytes. */
static int check_template(const char *t, char *errbuf, size_t errlen)
{
    int nfields = 0;
    if (!*t) {
        snprintf(errbuf, errlen, "outputs.kafka.topic: empty");
        return -1;
    }
    for (const char *p = t; *p; p++) {
        if (*p == '}') {
            snprintf(errbuf, errlen, "outputs.kafka.topic: '}' without '{' at offset %zu",
                     (size_t)(p - t));
            return -1;
        }
        if (*p != '{')
            continue;
        const char *end = strchr(p + 1, '}');
        if (!end || end == p + 1) {
            snprintf(errbuf, errlen, "outputs.kafka.topic: '{' at offset %zu has no field "
                                     "name and '}'", (size_t)(p - t));
            return -1;
        }
        if (end - p - 1 > 127) {
            snprintf(errbuf, errlen, "outputs.kafka.topic: a field name is longer than 127 "
                                     "bytes");
            return -1;
        }
        for (const char *q = p + 1; q < end; q++)
            if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
                  (*q >= '0' && *q <= '9') || *q == '_' || *q == '.' || *q == '@' || *q == '-')) {
                snprintf(errbuf, errlen, "outputs.kafka.topic: '%c' cannot be in a field "
                                         "name", *q);
                return -1;
            }
        if (++nfields > TOPIC_FIELDS) {
            snprintf(errbuf, errlen, "outputs.kafka.topic: more than %d {fields}", TOPIC_FIELDS);
            return -1;
        }
        p = end;
    }
    return 0;
}

static void topic_put(char *out, size_t *n, const char *s, size_t len)
{
    for (size_t i = 0; i < len && *n < MAX_TOPIC; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        out[(*n)++] = ok ? c : '_';
    }
}

/* Renders the topic of an event into out (MAX_TOPIC + 1 bytes) from the
 * template's fields: from its route (rt, with k->tpl_rt) when it has one,
 * else as picked (pk[i] is the template's field i); -1 when it comes out
 * empty. */
static int render_topic(const struct vg_kafka *k, const struct vg_route *rt,
                        const struct vg_json_pick *pk, char *out)
{
    size_t n = 0, f = 0;
    char dec[MAX_TOPIC + 1];
    for (const char *p = k->topic_tpl; *p;) {
        if (*p == '{') {
            const char *end = strchr(p, '}');
            const char *v = NULL;
            long vl = -1;
            if (rt) {
                int i = k->tpl_rt[f++];
                v = rt->v[i];
                vl = v ? (long)rt->len[i] : -1;
            } else {
                vl = vg_json_pick_decode(&pk[f++], dec, sizeof(dec), &v);
            }
            if (vl > 0)
                topic_put(out, &n, v, (size_t)vl);
            p = end + 1;
        } else {
            topic_put(out, &n, p, 1);
            p++;
        }
    }
    out[n] = '\0';
    return n ? 0 : -1;
}

/* ==== dead letters ====================================================== */

static enum vg_err dead_add(struct vg_kafka *k, uint64_t w, const char *type, const char *reason,
                            bool as_json)
{
    if (k->ndead == k->dead_cap) {
        size_t ncap = k->dead_cap ? k->dead_cap * 2 : 16;
        struct dead *d = realloc(k->deads, ncap * sizeof(*d));
        if (!d)
            return VG_ERR_NOMEM;
        k->deads = d;
        k->dead_cap = ncap;
    }
    struct dead *d = &k->deads[k->ndead++];
    d->w = w;
    d->as_json = as_json;
    snprintf(d->type, sizeof(d->type), "%s", type);
    snprintf(d->reason, sizeof(d->reason), "%s", reason);
    slot(k, w)->state = S_DEAD;
    return VG_OK;
}

static void slot_done(struct vg_kafka *k, uint64_t w)
{
    struct wslot *s = slot(k, w);
    s->state = S_DONE;
    slot_drop(&k->spares, s);
}

/* Writes the dead queue to the file, durably; then its events are done. */
static void flush_dead(struct vg_kafka *k, int64_t now)
{
    if (!k->ndead || now < k->dead_next_try)
        return;
    const char *why = NULL;
    if (k->dl_fd < 0)
        k->dl_fd = open(k->dl_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (k->dl_fd < 0)
        why = strerror(errno);
    int64_t wall = vg_time_now_ms();
    for (size_t i = 0; !why && i < k->ndead; i++) {
        struct dead *d = &k->deads[i];
        struct wslot *s = slot(k, d->w);
        vg_buf_reset(&k->dlbuf);
        if (vg_es_dead_letter_line(&k->dlbuf, wall, 0, d->type, d->reason, s->ev, s->len,
                                   d->as_json)) {
            why = "a line is larger than the dead-letter buffer";
            break;
        }
        const char *p = k->dlbuf.data;
        size_t left = k->dlbuf.len;
        while (left) {
            ssize_t n = write(k->dl_fd, p, left);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                why = strerror(errno ? errno : EIO);
                break;
            }
            p += n;
            left -= (size_t)n;
        }
    }
    if (!why && fdatasync(k->dl_fd) != 0)
        why = strerror(errno);
    if (why) {
        /* the events stay in the spool; a line may be written twice */
        char msg[700];
        snprintf(msg, sizeof(msg), "the dead-letter file %s cannot be written (%s): %zu "
                                   "refused events wait in the spool", k->dl_path, why, k->ndead);
        vg_log(VG_LOG_ERROR, "kafka", "%s", msg);
        set_last_error(k, msg);
        k->dead_next_try = now + DEAD_RETRY_MS;
        if (k->dl_fd >= 0) {
            close(k->dl_fd);
            k->dl_fd = -1;
        }
        return;
    }
    for (size_t i = 0; i < k->ndead; i++)
        slot_done(k, k->deads[i].w);
    k->ts.dead_lettered += k->ndead;
    k->ndead = 0;
}

/* ==== librdkafka callbacks (this thread, from rd_kafka_poll) =============== */

static bool permanent(rd_kafka_resp_err_t e)
{
    switch (e) {
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
        return true;
    default:
        return false;
    }
}

static void on_report(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct vg_kafka *k = opaque;
    (void)rk;
    uint64_t w = (uint64_t)(uintptr_t)m->_private;
    if (k->ignore_reports || w < k->whead || w >= k->wtail)
        return;
    struct wslot *s = slot(k, w);
    if (s->state != S_INFLIGHT)
        return;
    k->ninflight--;
    if (!m->err) {
        k->ts.delivered++;
        vg_output_failing_clear(&k->failing);   /* a report without error */
        slot_done(k, w);
        return;
    }
    if (permanent(m->err)) {
        vg_log(VG_LOG_WARN, "kafka", "Kafka refused an event (%s: %s): written to %s",
               rd_kafka_err2name(m->err), rd_kafka_err2str(m->err), k->dl_path);
        if (dead_add(k, w, rd_kafka_err2name(m->err), rd_kafka_err2str(m->err), true) == VG_OK)
            return;
    }
    if (m->err != RD_KAFKA_RESP_ERR__PURGE_QUEUE && m->err != RD_KAFKA_RESP_ERR__PURGE_INFLIGHT) {
        char msg[512];
        snprintf(msg, sizeof(msg), "kafka: a message failed (%s); produced again",
                 rd_kafka_err2str(m->err));
        vg_log(VG_LOG_INFO, "kafka", "%s", msg);
        set_last_error(k, msg);
    }
    k->ts.retried++;
    s->state = S_PENDING;
    k->npending++;
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    struct vg_kafka *k = opaque;
    char msg[700];
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char fr[512];
        rd_kafka_resp_err_t fe = rd_kafka_fatal_error(rk, fr, sizeof(fr));
        snprintf(msg, sizeof(msg), "kafka: fatal producer error %s: %s; the producer is "
                                   "recreated", rd_kafka_err2name(fe), fr);
        k->fatal_pending = true;
        vg_log(VG_LOG_ERROR, "kafka", "%s", msg);
    } else {
        snprintf(msg, sizeof(msg), "kafka: %s", reason);
        vg_log(VG_LOG_WARN, "kafka", "%s", msg);
    }
    set_last_error(k, msg);
}

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    enum vg_log_level l = level <= 3 ? VG_LOG_ERROR : level <= 4 ? VG_LOG_WARN
                        : level <= 6 ? VG_LOG_INFO : VG_LOG_DEBUG;
    vg_log(l, "kafka", "librdkafka %s: %s", fac, buf);
}

/* ==== construction ====================================================== */

static int conf_set(rd_kafka_conf_t *c, const char *key, const char *val, const char *what,
                    char *errbuf, size_t errlen)
{
    char e[512];
    if (rd_kafka_conf_set(c, key, val, e, sizeof(e)) != RD_KAFKA_CONF_OK) {
        snprintf(errbuf, errlen, "outputs.kafka.%s: %s", what, e);
        return -1;
    }
    return 0;
}

static rd_kafka_t *new_producer(struct vg_kafka *k, char *errbuf, size_t errlen)
{
    rd_kafka_conf_t *c = rd_kafka_conf_dup(k->conf);
    if (!c) {
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    char e[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, e, sizeof(e));
    if (!rk) {
        rd_kafka_conf_destroy(c);
        snprintf(errbuf, errlen, "outputs.kafka: %s", e);
    }
    k->nknown = 0;   /* a new producer knows no topic yet */
    return rk;
}

struct vg_kafka *vg_kafka_new(const struct vg_config *cfg, struct vg_spool *spool,
                              const char *state_dir, char *errbuf, size_t errlen)
{
    if (!cfg || !spool) {
        snprintf(errbuf, errlen, "kafka: no configuration or spool");
        return NULL;
    }
    const __typeof__(cfg->outputs.kafka) *c = &cfg->outputs.kafka;
    if (!c->nbrokers) {
        snprintf(errbuf, errlen, "outputs.kafka.brokers: at least one broker is needed");
        return NULL;
    }
    const char *tpl = c->topic && *c->topic ? c->topic : "vigil-{event.dataset}";
    if (check_template(tpl, errbuf, errlen))
        return NULL;
    struct vg_kafka *k = calloc(1, sizeof(*k));
    if (!k) {
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
#ifdef __GLIBC__
    /* librdkafka and zstd allocate and free buffers of a megabyte or two
     * for every batch they compress; glibc maps each afresh, or trims the
     * heap under it, so every batch page-faults and zeroes them again (a
     * million findings: 110k-230k minor faults). Kept in the heap they are
     * reused (~30k). Process-wide, so set only where Kafka is used: it
     * costs the Elasticsearch output ~15 MiB of resident memory for
     * nothing. */
    mallopt(M_MMAP_THRESHOLD, 4 << 20);
    mallopt(M_TRIM_THRESHOLD, 8 << 20);
#endif
    k->dl_fd = -1;
    k->spool = spool;
    pthread_mutex_init(&k->mu, NULL);
    pthread_cond_init(&k->cv, NULL);
    vg_buf_init(&k->dlbuf, (size_t)VG_MAX_EVENT + 8192);
    k->topic_tpl = strdup(tpl);
    for (const char *p = strchr(tpl, '{'); p; p = strchr(p + 1, '{')) {
        const char *end = strchr(p, '}');
        snprintf(k->tpl_fields[k->ntpl++], sizeof(k->tpl_fields[0]), "%.*s",
                 (int)(end - p - 1), p + 1);
    }
    k->tpl_routed = true;
    for (size_t i = 0; i < k->ntpl; i++) {
        k->tpl_rt[i] = vg_route_field_of(k->tpl_fields[i]);
        k->tpl_routed = k->tpl_routed && k->tpl_rt[i] >= 0;
    }
    const char *sd = state_dir ? state_dir : cfg->agent.state_dir;
    if (!sd)
        sd = "/var/lib/vigil";
    if (c->dead_letter_path && *c->dead_letter_path) {
        k->dl_path = strdup(c->dead_letter_path);
    } else {
        size_t n = strlen(sd) + 32;
        k->dl_path = malloc(n);
        if (k->dl_path)
            snprintf(k->dl_path, n, "%s/dead-letter.ndjson", sd);
    }
    k->win = calloc(WINDOW_SLOTS, sizeof(*k->win));
    k->conf = rd_kafka_conf_new();
    size_t blen = 1;
    for (size_t i = 0; i < c->nbrokers; i++)
        blen += strlen(c->brokers[i]) + 1;
    char *brokers = malloc(blen);
    if (!k->topic_tpl || !k->dl_path || !k->win || !k->conf || !brokers) {
        free(brokers);
        snprintf(errbuf, errlen, "out of memory");
        goto fail;
    }
    brokers[0] = '\0';
    for (size_t i = 0; i < c->nbrokers; i++) {
        if (i)
            strcat(brokers, ",");
        strcat(brokers, c->brokers[i]);
    }
    char num[32];
    int bad = conf_set(k->conf, "bootstrap.servers", brokers, "brokers", errbuf, errlen);
    free(brokers);
    bad = bad || conf_set(k->conf, "enable.idempotence", "true", "enable.idempotence", errbuf, errlen);
    bad = bad || conf_set(k->conf, "acks", "all", "acks", errbuf, errlen);
    const char *codec = c->compression ? c->compression : "zstd";
    bad = bad || conf_set(k->conf, "compression.codec", codec, "compression", errbuf, errlen);
    long long level = c->compression_level >= 0 ? c->compression_level
                      : strcmp(codec, "zstd") == 0 ? 1 : -1;
    snprintf(num, sizeof(num), "%lld", level);
    bad = bad || conf_set(k->conf, "compression.level", num, "compression_level", errbuf, errlen);
    snprintf(num, sizeof(num), "%lld", (long long)(c->linger_ms >= 0 ? c->linger_ms : 5));
    bad = bad || conf_set(k->conf, "linger.ms", num, "linger_ms", errbuf, errlen);
    snprintf(num, sizeof(num), "%lld",
             (long long)(c->batch_max_events > 0 ? c->batch_max_events : 10000));
    bad = bad || conf_set(k->conf, "batch.num.messages", num, "batch_max_events", errbuf, errlen);
    /* the Java client's partitioner: a key goes to the partition a Java
     * producer (Kafka Connect, Streams) would choose for it; and murmur2
     * costs less than librdkafka's default CRC32 */
    bad = bad || conf_set(k->conf, "partitioner", "murmur2_random", "partitioner", errbuf, errlen);
    for (size_t i = 0; !bad && i < c->properties.n; i++) {
        char what[300];
        snprintf(what, sizeof(what), "properties.%s", c->properties.keys[i]);
        bad = conf_set(k->conf, c->properties.keys[i], c->properties.values[i], what, errbuf,
                       errlen);
    }
    if (bad)
        goto fail;
    rd_kafka_conf_set_opaque(k->conf, k);
    rd_kafka_conf_set_dr_msg_cb(k->conf, on_report);
    rd_kafka_conf_set_error_cb(k->conf, on_error);
    rd_kafka_conf_set_log_cb(k->conf, on_log);
    /* the producer is made now so that conflicting properties fail here */
    k->rk = new_producer(k, errbuf, errlen);
    if (!k->rk)
        goto fail;
    return k;
fail:
    vg_kafka_destroy(k);
    return NULL;
}

/* ==== producing ========================================================= */

/* librdkafka asks for the metadata of a topic it has not produced to only
 * on its next one-second timer, so every first message of a topic waited
 * about a second (librdkafka issue #3202): ask for it at once, for the
 * first KNOWN_TOPICS topics of each producer. */
static void prime_topic(struct vg_kafka *k, const char *topic)
{
    for (size_t i = 0; i < k->nknown; i++)
        if (strcmp(k->known[i], topic) == 0)
            return;
    if (k->nknown == KNOWN_TOPICS)
        return;
    snprintf(k->known[k->nknown++], sizeof(k->known[0]), "%s", topic);
    rd_kafka_topic_t *t = rd_kafka_topic_new(k->rk, topic, NULL);
    if (!t)
        return;
    const struct rd_kafka_metadata *md = NULL;
    if (rd_kafka_metadata(k->rk, 0, t, &md, METADATA_WAIT_MS) == RD_KAFKA_RESP_ERR_NO_ERROR)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(t);
}

/* The fields produce() needs, in this order, then the topic template's. */
enum { P_ID, P_RULE, P_RES, P_ECS, P_DATASET, P_SEV, P_TOPIC };

/* Reads the fields from the event's text without a tree (the events are
 * Vigil's own, CRC-checked in the spool): v/vl (-1: absent) point into the
 * event, or into dec for a value with escapes; pk + P_TOPIC gets the
 * template's fields. -1 when the event is not a JSON object. */
static int pick_fields(const struct vg_kafka *k, const struct wslot *s,
                       struct vg_json_pick *pk, char dec[P_TOPIC][VG_PICK_DECODED],
                       const char **v, long *vl)
{
    /* event.severity (a number near the start) gives vigil.severity (a
     * word near the end) for Vigil's findings: the reading stops early */
    static const char *const paths[] = { "event.id", "rule.id", "resource.id", "ecs.version",
                                         "event.dataset", "event.severity" };
    size_t np = 0;
    for (; np < P_TOPIC; np++)
        pk[np] = (struct vg_json_pick){ .path = paths[np], .number = np == P_SEV };
    for (size_t i = 0; i < k->ntpl; i++)
        pk[np++] = (struct vg_json_pick){ .path = k->tpl_fields[i] };
    if (vg_json_pick(s->ev, s->len, pk, np) != VG_OK)
        return -1;
    for (int i = 0; i < P_TOPIC; i++)
        vl[i] = vg_json_pick_decode(&pk[i], dec[i], VG_PICK_DECODED, &v[i]);
    /* the severity word: from the score Vigil writes beside it (21, 47,
     * 73, 99), else read vigil.severity itself */
    vl[P_SEV] = -1;
    if (pk[P_SEV].val && pk[P_SEV].len <= 3) {
        int score = atoi(v[P_SEV]);
        for (int sv = VG_SEV_LOW; sv <= VG_SEV_CRITICAL && vl[P_SEV] < 0; sv++)
            if (vg_severity_score((enum vg_severity)sv) == score) {
                v[P_SEV] = vg_severity_name((enum vg_severity)sv);
                vl[P_SEV] = (long)strlen(v[P_SEV]);
            }
    }
    if (vl[P_SEV] < 0) {
        struct vg_json_pick sp = { .path = "vigil.severity" };
        if (vg_json_pick(s->ev, s->len, &sp, 1) == VG_OK)
            vl[P_SEV] = vg_json_pick_decode(&sp, dec[P_SEV], VG_PICK_DECODED, &v[P_SEV]);
    }
    return 0;
}

/* Produces slot w. Returns 0 when handed over (or dead-lettered), -1 when
 * librdkafka's queue is full (try again later). */
static int produce(struct vg_kafka *k, uint64_t w)
{
    struct wslot *s = slot(k, w);
    if (!s->ev)
        return -1;   /* its copy could not be made: out of memory */
    const char *v[P_TOPIC];
    long vl[P_TOPIC];
    struct vg_json_pick pk[VG_JSON_PICK_MAX];
    char dec[P_TOPIC][VG_PICK_DECODED];
    /* the fields: from the route the encoder kept beside the event when it
     * has one and it holds the topic's fields too, else from its text */
    struct vg_route rt;
    bool routed = k->tpl_routed && s->rt && vg_route_parse(s->rt, s->rlen, &rt);
    if (routed) {
        static const int rtf[P_TOPIC] = { VG_RT_ID,          VG_RT_RULE_ID, VG_RT_RESOURCE_ID,
                                          VG_RT_ECS_VERSION, VG_RT_DATASET, VG_RT_SEVERITY };
        for (int i = 0; i < P_TOPIC; i++) {
            v[i] = rt.v[rtf[i]];
            vl[i] = v[i] ? (long)rt.len[rtf[i]] : -1;
        }
    } else if (pick_fields(k, s, pk, dec, v, vl)) {
        vg_log(VG_LOG_WARN, "kafka", "an event in the spool is not a JSON object: it goes to "
                                     "the dead-letter file");
        dead_add(k, w, "vigil_invalid_event", "not a JSON object", false);
        return 0;
    }
    char topic[MAX_TOPIC + 1];
    if (render_topic(k, routed ? &rt : NULL, pk + P_TOPIC, topic)) {
        dead_add(k, w, "vigil_invalid_topic", "the topic template gives an empty name", true);
        return 0;
    }
    prime_topic(k, topic);
    uint8_t dig[VG_SHA256_LEN];
    char key[2 * VG_SHA256_LEN + 1];
    bool has_key = true;
    if (vl[P_RULE] >= 0 && vl[P_RES] >= 0) {
        const void *parts[3] = { v[P_RULE], "", v[P_RES] };
        size_t lens[3] = { (size_t)vl[P_RULE], 1, (size_t)vl[P_RES] };
        has_key = vg_sha256_parts(parts, lens, 3, dig) == VG_OK;
    } else if (vl[P_ID] >= 0) {
        vg_sha256(v[P_ID], (size_t)vl[P_ID], dig);
    } else {
        has_key = false;
    }
    if (has_key)
        vg_hex(dig, VG_SHA256_LEN, key);
    rd_kafka_headers_t *h = rd_kafka_headers_new(4);
    static const char *const hnames[] = { "ecs.version", "event.dataset", "rule.id",
                                          "vigil.severity" };
    static const int hfield[] = { P_ECS, P_DATASET, P_RULE, P_SEV };
    for (size_t i = 0; h && i < 4; i++)
        if (vl[hfield[i]] >= 0)
            rd_kafka_header_add(h, hnames[i], -1, v[hfield[i]], (ssize_t)vl[hfield[i]]);
    rd_kafka_resp_err_t e = rd_kafka_producev(
        k->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_VALUE(s->ev, s->len),
        RD_KAFKA_V_KEY(has_key ? key : NULL, has_key ? 2 * VG_SHA256_LEN : 0),
        /* no copy: the slot keeps the event until its delivery report, and
         * every path that frees slots purges and destroys the producer first */
        RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_MSGFLAGS(0),
        RD_KAFKA_V_OPAQUE((void *)(uintptr_t)w), RD_KAFKA_V_END);
    if (!e) {
        s->state = S_INFLIGHT;
        k->ninflight++;
        k->ts.produced++;
        return 0;
    }
    rd_kafka_headers_destroy(h);
    if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        return -1;
    if (permanent(e)) {
        vg_log(VG_LOG_WARN, "kafka", "an event cannot be produced (%s: %s): written to %s",
               rd_kafka_err2name(e), rd_kafka_err2str(e), k->dl_path);
        dead_add(k, w, rd_kafka_err2name(e), rd_kafka_err2str(e), true);
        return 0;
    }
    /* anything else (a fatal state, ...): later */
    char msg[400];
    snprintf(msg, sizeof(msg), "kafka: an event could not be produced (%s); tried again",
             rd_kafka_err2str(e));
    set_last_error(k, msg);
    return -1;
}

/* Produces the slots waiting for it, oldest first. */
static void produce_pending(struct vg_kafka *k)
{
    for (uint64_t w = k->whead; k->npending && w < k->wtail; w++) {
        if (slot(k, w)->state != S_PENDING)
            continue;
        if (produce(k, w)) {
            k->queue_full = true;
            return;
        }
        k->npending--;
    }
}

/* Reads the spool into the window and produces what it read, until the
 * window, librdkafka's queue or the spool's own bound is full. */
static void fill(struct vg_kafka *k, int timeout_ms)
{
    while (!k->queue_full && !k->spool_window_full && !k->npending) {
        size_t room = WINDOW_SLOTS - (size_t)(k->wtail - k->whead);
        if (!room)
            return;
        struct vg_spool_batch b;
        memset(&b, 0, sizeof(b));
        enum vg_err e = vg_spool_read(k->cur, room < READ_MAX ? room : READ_MAX, timeout_ms, &b);
        if (e == VG_ERR_LIMIT) {
            k->spool_window_full = true;
            return;
        }
        if (e) {
            char msg[128];
            snprintf(msg, sizeof(msg), "kafka: the spool could not be read: %s", vg_strerror(e));
            vg_log(VG_LOG_ERROR, "kafka", "%s", msg);
            set_last_error(k, msg);
            return;
        }
        size_t n = b.n, total = 0;
        for (size_t i = 0; i < n; i++)
            total += b.lens[i] + 1 + (b.routes ? b.rlens[i] + 1 : 0);
        struct kbatch *kb = n ? kb_get(&k->spares, total) : NULL;
        if (kb)
            kb->refs = n;
        size_t off = 0;
        for (size_t i = 0; i < n; i++) {
            uint64_t w = k->wtail++;
            struct wslot *s = slot(k, w);
            s->pos = b.pos[i];
            s->len = b.lens[i];
            s->state = S_PENDING;
            k->npending++;
            if (kb) {
                s->kb = kb;
                s->ev = kb->data + off;
                memcpy(s->ev, b.events[i], b.lens[i]);
                s->ev[b.lens[i]] = '\0';
                off += b.lens[i] + 1;
                s->rt = NULL;
                s->rlen = 0;
                if (b.routes && b.rlens[i]) {
                    s->rt = kb->data + off;
                    s->rlen = b.rlens[i];
                    memcpy(s->rt, b.routes[i], b.rlens[i]);
                    s->rt[b.rlens[i]] = '\0';
                    off += b.rlens[i] + 1;
                }
            } else {
                /* cannot keep them: stop before them, the ack never passes */
                s->kb = NULL;
                s->ev = NULL;
                s->len = 0;
            }
        }
        vg_spool_batch_release(&b);
        if (!n)
            return;
        timeout_ms = 0;
        produce_pending(k);
    }
}

/* ==== the ack =========================================================== */

static void do_ack(struct vg_kafka *k, int64_t now, bool force)
{
    while (k->whead < k->wtail && slot(k, k->whead)->state == S_DONE) {
        k->ack_pos = slot(k, k->whead)->pos;
        k->ack_pending = true;
        k->whead++;
        k->acked_local++;
    }
    if (!k->ack_pending || (!force && !k->spool_window_full && now - k->last_ack < ACK_EVERY_MS))
        return;
    char err[256];
    enum vg_err e = vg_spool_ack(k->cur, k->ack_pos, err, sizeof(err));
    k->last_ack = now;
    if (e) {
        vg_log(VG_LOG_ERROR, "kafka", "the spool cursor could not be saved: %s", err);
        return;
    }
    k->ack_pending = false;
    k->spool_window_full = false;
    k->ts.acked = k->acked_local;
}

/* After a fatal error (idempotence broken): a new producer, and every
 * event not yet delivered produced again. */
static void restart_producer(struct vg_kafka *k)
{
    char err[600];
    rd_kafka_t *rk = new_producer(k, err, sizeof(err));
    if (!rk) {
        set_last_error(k, err);
        return;   /* tried again next turn */
    }
    k->ignore_reports = true;
    rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_destroy(k->rk);
    k->ignore_reports = false;
    k->rk = rk;
    k->fatal_pending = false;
    for (uint64_t w = k->whead; w < k->wtail; w++)
        if (slot(k, w)->state == S_INFLIGHT) {
            slot(k, w)->state = S_PENDING;
            k->npending++;
            k->ts.retried++;
        }
    k->ninflight = 0;
    k->ts.producer_restarts++;
}

/* ==== the loop ========================================================== */

static void *run(void *arg)
{
    struct vg_kafka *k = arg;
    for (;;) {
        pthread_mutex_lock(&k->mu);
        bool stop = k->stop, draining = k->draining > 0;
        pthread_mutex_unlock(&k->mu);
        if (stop)
            break;
        if (k->fatal_pending)
            restart_producer(k);
        rd_kafka_poll(k->rk, 0);
        int64_t now = vg_time_mono_ms();
        flush_dead(k, now);
        k->queue_full = false;
        produce_pending(k);
        bool idle = !k->ninflight && !k->npending && !k->ndead;
        fill(k, idle && !draining ? IDLE_WAIT_MS : 0);
        if (draining && k->ninflight)
            rd_kafka_flush(k->rk, 0);   /* send what lingers at once */
        do_ack(k, vg_time_mono_ms(), draining);
        publish(k);
        if (k->ninflight || k->npending || k->ndead)
            rd_kafka_poll(k->rk, k->ndead ? 10 : IDLE_WAIT_MS);
        else if (draining || k->queue_full || k->spool_window_full)
            rd_kafka_poll(k->rk, 10);
    }
    /* what is in flight gets a moment; the rest is produced after a restart */
    if (k->ninflight)
        rd_kafka_flush(k->rk, 1000);
    rd_kafka_poll(k->rk, 0);
    flush_dead(k, INT64_MAX);
    do_ack(k, vg_time_mono_ms(), true);
    publish(k);
    pthread_mutex_lock(&k->mu);
    pthread_cond_broadcast(&k->cv);
    pthread_mutex_unlock(&k->mu);
    return NULL;
}

enum vg_err vg_kafka_start(struct vg_kafka *k)
{
    if (k->started)
        return VG_ERR_INVALID;
    if (!k->cur) {
        enum vg_err e = vg_spool_cursor(k->spool, VG_KAFKA_CURSOR, &k->cur);
        if (e)
            return e;
    }
    vg_spool_rewind(k->cur);
    /* a restarted output forgets its window: everything after the cursor
     * is read again */
    for (uint64_t w = k->whead; w < k->wtail; w++) {
        slot_drop(&k->spares, slot(k, w));
    }
    k->whead = k->wtail = 0;
    k->npending = k->ninflight = k->ndead = 0;
    k->spool_window_full = false;
    k->stop = false;
    if (pthread_create(&k->th, NULL, run, k) != 0)
        return VG_ERR_NOMEM;
    k->started = true;
    return VG_OK;
}

enum vg_err vg_kafka_drain(struct vg_kafka *k, int64_t deadline_ms, uint64_t *remaining)
{
    enum vg_err err = VG_OK;
    uint64_t left = 0;
    pthread_mutex_lock(&k->mu);
    if (!k->started || k->stop) {
        pthread_mutex_unlock(&k->mu);
        if (remaining)
            *remaining = k->cur ? vg_spool_pending(k->cur) : 0;
        return VG_ERR_INVALID;
    }
    k->draining++;
    for (;;) {
        left = vg_spool_pending(k->cur);
        if (left == 0)
            break;
        int64_t now = vg_time_mono_ms();
        if (deadline_ms >= 0 && now >= deadline_ms) {
            err = VG_ERR_LIMIT;
            if (!k->last_err[0])
                snprintf(k->last_err, sizeof(k->last_err),
                         "kafka: %llu events not delivered in time", (unsigned long long)left);
            break;
        }
        int64_t w = 100;
        if (deadline_ms >= 0 && deadline_ms - now < w)
            w = deadline_ms - now;
        vg_cond_wait_ms(&k->cv, &k->mu, w);
    }
    k->draining--;
    pthread_mutex_unlock(&k->mu);
    if (remaining)
        *remaining = left;
    return err;
}

void vg_kafka_stop(struct vg_kafka *k)
{
    if (!k || !k->started)
        return;
    pthread_mutex_lock(&k->mu);
    k->stop = true;
    pthread_cond_broadcast(&k->cv);
    pthread_mutex_unlock(&k->mu);
    pthread_join(k->th, NULL);
    k->started = false;
}

void vg_kafka_destroy(struct vg_kafka *k)
{
    if (!k)
        return;
    vg_kafka_stop(k);
    if (k->rk) {
        k->ignore_reports = true;
        rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_destroy(k->rk);
    }
    if (k->conf)
        rd_kafka_conf_destroy(k->conf);
    for (size_t i = 0; k->win && i < WINDOW_SLOTS; i++)
        slot_drop(&k->spares, &k->win[i]);
    kb_free_all(&k->spares);
    free(k->win);
    free(k->deads);
    vg_buf_free(&k->dlbuf);
    if (k->dl_fd >= 0)
        close(k->dl_fd);
    free(k->dl_path);
    free(k->topic_tpl);
    pthread_mutex_destroy(&k->mu);
    pthread_cond_destroy(&k->cv);
    free(k);
}

void vg_kafka_get_stats(struct vg_kafka *k, struct vg_kafka_stats *out)
{
    pthread_mutex_lock(&k->mu);
    *out = k->stats;
    out->failing_since_ms = vg_output_failing_since(&k->failing);
    pthread_mutex_unlock(&k->mu);
    out->pending = vg_spool_pending(k->cur);
}

void vg_kafka_last_error(struct vg_kafka *k, char *buf, size_t len)
{
    pthread_mutex_lock(&k->mu);
    snprintf(buf, len, "%s", k->last_err);
    pthread_mutex_unlock(&k->mu);
}
