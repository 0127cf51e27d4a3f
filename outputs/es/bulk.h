/*
 * Elasticsearch bulk bodies and bulk responses: pure functions, no network.
 *
 * A bulk body is NDJSON, one action line and one source line per event,
 * every line ending in "\n" (the last one too):
 *
 *   {"create":{"_index":"logs-vigil.findings-default","_id":"5afedfa1..."}}\n
 *   {"@timestamp":"...","event":{"id":"5afedfa1...",...},...}\n
 *
 * The op is always `create` (data streams take nothing else) and the _id is
 * the event's own event.id, so a resend answers 409 and counts as
 * delivered. Events of event.dataset "vigil.scan" go to
 * logs-vigil.scan-<namespace>, every other event to
 * logs-vigil.findings-<namespace>; the namespace is the event's
 * data_stream.namespace (what the data stream's constant_keyword expects),
 * or the configured one when the event has none.
 *
 * The response is read with a streaming parser that looks only at what
 * `filter_path=errors,items.*.error,items.*.status` keeps: items[i].<op>
 * .status and .error.{type,reason,caused_by}, and for a whole-request
 * failure the top-level error.{type,reason}. Nothing is built as a tree;
 * memory stays bounded whatever the response holds.
 */
#ifndef VG_ES_BULK_H
#define VG_ES_BULK_H

#include "../../agent/buf.h"
#include "../../agent/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bounds of this output (candidates for agent/limits.h). */
#define VG_ES_MAX_ID          512            /* Elasticsearch's own bound on _id bytes */
#define VG_ES_MAX_NAMESPACE   100            /* data_stream.namespace */
#define VG_ES_MAX_RESPONSE    (32u << 20)    /* bytes of one bulk response read */
#define VG_ES_MAX_ERR_TYPE    128            /* error.type kept per item */
#define VG_ES_MAX_ERR_REASON  1024           /* error.reason kept per item, caused_by included */
#define VG_ES_RESP_DEPTH      64             /* nesting of a response */

/* The data streams of Vigil's datasets: vigil.findings (and anything
 * unknown), vigil.scan, vigil.monitoring. */
enum vg_es_stream { VG_ES_FINDINGS = 0, VG_ES_SCAN = 1, VG_ES_MONITORING = 2 };

/* What the action line needs, found in the event's text. The pointers are
 * borrowed from the event: raw JSON string content, escapes kept. */
struct vg_es_meta {
    const char *id;
    size_t id_len;
    const char *ns;          /* NULL: the event has no usable data_stream.namespace */
    size_t ns_len;
    enum vg_es_stream stream;
};

/* Finds event.id, event.dataset and data_stream.namespace in one encoded
 * event, reading no further than it must. VG_ERR_PARSE with a sentence in
 * errbuf when the event is not a JSON object or has no usable event.id (a
 * non-empty string of at most VG_ES_MAX_ID bytes of printable ASCII, no
 * backslash: Vigil's ids are hex). */
enum vg_err vg_es_event_meta(const char *ev, size_t len, struct vg_es_meta *m, char *errbuf,
                             size_t errlen);
/* The same from the event's route (outputs/output.h) when route holds one,
 * without reading the event; else as vg_es_event_meta(). */
enum vg_err vg_es_event_meta_routed(const char *ev, size_t len, const char *route, size_t rlen,
                                    struct vg_es_meta *m, char *errbuf, size_t errlen);

/* Appends the action line and the event (its raw newlines turned into
 * spaces, which JSON allows) to body. ns is the configured namespace, used
 * when m->ns is NULL. Returns VG_ERR_LIMIT, leaving body as it was, when
 * body's bound would be passed. *action_len gets the action line's length
 * (newline included) when not NULL. */
enum vg_err vg_es_bulk_append(struct vg_buf *body, const struct vg_es_meta *m, const char *ns,
                              const char *ev, size_t len, size_t *action_len);

/* ---- gzip ---------------------------------------------------------- */

/* A reusable gzip compressor (libdeflate: the whole body at once, 2 to 3
 * times zlib's speed at level 1 on findings, and smaller). */
struct vg_es_gzip {
    void *z;                 /* struct libdeflate_compressor, owned */
    int level;
};

enum vg_err vg_es_gzip_init(struct vg_es_gzip *g, int level);
/* Replaces out's content with the gzip of in[0..len). out's memory is
 * reused from call to call. */
enum vg_err vg_es_gzip(struct vg_es_gzip *g, const char *in, size_t len, struct vg_buf *out);
void vg_es_gzip_free(struct vg_es_gzip *g);

/* ---- responses ----------------------------------------------------- */

/* What becomes of one event, from its item's status and error type. */
enum vg_es_fate {
    VG_ES_DELIVERED,         /* 2xx */
    VG_ES_DUPLICATE,         /* 409: the _id is there already, from an earlier send */
    VG_ES_RETRY,             /* 429, 5xx, 403 cluster_block_exception, no status */
    VG_ES_DEAD,              /* any other 4xx: to the dead-letter file */
    VG_ES_AUTH,              /* 401, 403 security_exception: stop, keep the data */
};

enum vg_es_fate vg_es_item_fate(int status, const char *type);
const char *vg_es_fate_name(enum vg_es_fate f);

/* What to do with a whole request from its HTTP status (and the error type
 * of its body, "" when none). */
enum vg_es_reply {
    VG_ES_REPLY_ITEMS,       /* 2xx: read the items */
    VG_ES_REPLY_SPLIT,       /* 413, and 400 (a body Elasticsearch refused as a
                              * whole): halve the batch; one event alone goes
                              * to the dead-letter file */
    VG_ES_REPLY_RETRY,       /* 429, 403 cluster_block_exception: resend later */
    VG_ES_REPLY_HOST,        /* 5xx, 3xx, other 4xx, no answer: this host failed */
    VG_ES_REPLY_AUTH,        /* 401, other 403: stop, keep the data */
};

enum vg_es_reply vg_es_reply_class(long http_status, const char *type);

/* Called once per item, in order, as soon as the item has been read; type
 * and reason are "" when the item has no error, borrowed for the call.
 * status is 0 when the item had none. */
typedef void (vg_es_item_fn)(void *opaque, size_t i, int status, const char *type,
                             const char *reason);

struct vg_es_resp;

/* Caller frees with vg_es_resp_free(). NULL when out of memory. */
struct vg_es_resp *vg_es_resp_new(void);
void vg_es_resp_free(struct vg_es_resp *r);   /* NULL is a no-op */

/* Starts reading a new response to a request of nitems items. fn is called
 * for items only when with_items is true (a 2xx answer). */
enum vg_err vg_es_resp_begin(struct vg_es_resp *r, size_t nitems, bool with_items,
                             vg_es_item_fn *fn, void *opaque);
/* Feeds the next bytes. VG_ERR_PARSE or VG_ERR_LIMIT (and a message, see
 * below) at the first malformed byte, at more items than were sent, past
 * VG_ES_MAX_RESPONSE bytes or VG_ES_RESP_DEPTH levels; the items reported
 * before stay reported. */
enum vg_err vg_es_resp_feed(struct vg_es_resp *r, const char *data, size_t len);
/* Ends the response: VG_ERR_PARSE when it was truncated or, with items,
 * did not hold exactly nitems of them. */
enum vg_err vg_es_resp_end(struct vg_es_resp *r);

size_t vg_es_resp_items(const struct vg_es_resp *r);     /* items reported so far */
bool vg_es_resp_errors(const struct vg_es_resp *r);      /* the "errors" flag */
/* The top-level error of a failed request ("" when none); borrowed. */
const char *vg_es_resp_error_type(const struct vg_es_resp *r);
const char *vg_es_resp_error_reason(const struct vg_es_resp *r);
/* Why feed or end failed, one line; borrowed. */
const char *vg_es_resp_errmsg(const struct vg_es_resp *r);

/* ---- dead letters -------------------------------------------------- */

/* Appends one dead-letter line (with its newline):
 *   {"@timestamp":"...","status":400,"error":{"type":"...","reason":"..."},"event":{...}}
 * The event is embedded as it is when as_json, else as a JSON string
 * (an event that is not JSON). */
enum vg_err vg_es_dead_letter_line(struct vg_buf *out, int64_t now_ms, int status,
                                   const char *type, const char *reason, const char *ev,
                                   size_t len, bool as_json);

/* Appends s[0..n) as the content of a JSON string (no quotes); bytes that
 * are not UTF-8 become U+FFFD. */
enum vg_err vg_es_json_escape(struct vg_buf *out, const char *s, size_t n);

#endif
