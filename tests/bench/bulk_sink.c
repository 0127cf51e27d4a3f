/*
 * bulk_sink: a small, fast stand-in for Elasticsearch's _bulk endpoint,
 * for the shipping benchmark (tests/bench/bench_es.sh). Not part of Vigil.
 *
 *   cc -O2 tests/bench/bulk_sink.c -lz -o bulk_sink
 *   bulk_sink [-a ADDR] [-p PORT] [-f PORTFILE]
 *
 * One thread, epoll, HTTP/1.1 with keep-alive and pipelining,
 * Content-Length and chunked bodies, Expect: 100-continue, gzip and
 * deflate request bodies (zlib). PORT 0 (the default) takes a free port;
 * the port is written to PORTFILE (atomically) and to stdout.
 *
 * Routes:
 *   POST|PUT .../_bulk[?...]  counts the action lines of the body and
 *                             answers {"errors":false,"took":0,"items":[
 *                             {"create":{"status":201}},...]} with one item
 *                             per action, named after its operation (a
 *                             delete has no source line). The answer fits
 *                             any filter_path that keeps items.*.status.
 *                             For create and index actions with an _id, the
 *                             source line must hold "id":"<that _id>" in its
 *                             first 1 KiB (Vigil's event.id); mismatches
 *                             are counted as ids_bad, so a shipper that
 *                             sends the wrong id or splits events shows.
 *   GET /_count               the events counted since the last reset, as a
 *                             bare number
 *   GET /_stats               {"events","requests","other_requests",
 *                             "bytes_wire","bytes_raw",
 *                             "ids_checked","ids_bad","bad_requests",
 *                             "first_ms","last_ms","window_s",
 *                             "cpu_s","connections"}: first_ms and last_ms
 *                             are CLOCK_MONOTONIC milliseconds of the first
 *                             bulk request's headers and the last bulk
 *                             answer since the reset; cpu_s is the sink's
 *                             own CPU time since the reset
 *   POST /_reset              zeroes the counters
 *   POST /_quit               answers, then exits 0
 *   anything else (HEAD/GET)  200 with a small Elasticsearch-like root
 *                             document, so health checks and version
 *                             probes pass
 *
 * A malformed request gets 400 and the connection is closed. Bodies are
 * capped at 256 MiB (raw and decompressed): more gets 413.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define MAX_HEADER (64 * 1024)
#define MAX_BODY ((size_t)256 << 20)
#define READ_CHUNK (256 * 1024)
#define ID_WINDOW 1024

struct buf {
    char *p;
    size_t len, cap;
};

static int buf_reserve(struct buf *b, size_t need)
{
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p)
        return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

static int buf_add(struct buf *b, const void *d, size_t n)
{
    if (buf_reserve(b, b->len + n))
        return -1;
    memcpy(b->p + b->len, d, n);
    b->len += n;
    return 0;
}

static int buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[1024];
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return -1;
    return buf_add(b, tmp, (size_t)n);
}

/* ---- counters ------------------------------------------------------------ */

static struct {
    uint64_t events, requests, others, bytes_wire, bytes_raw, ids_checked, ids_bad, bad_requests;
    int64_t first_ms, last_ms;
    uint64_t connections;
    double cpu_at_reset;
} st;

static double cpu_now(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- connections ------------------------------------------------------------ */

enum pstate { P_HEAD, P_BODY, P_CHUNK_SIZE, P_CHUNK_DATA, P_CHUNK_CRLF, P_TRAILER };

struct conn {
    int fd;
    struct buf in;           /* bytes read, not yet parsed (from off) */
    size_t off;
    struct buf body;         /* the request body, de-chunked */
    struct buf out;          /* answers not yet written */
    size_t out_off;
    enum pstate ps;
    size_t need;             /* body or chunk bytes still to come */
    /* the request being read */
    char method[16];
    char path[1024];
    bool chunked, gzip, deflate, close_after, expect;
    bool want_out;           /* EPOLLOUT is armed */
    bool closing;            /* close once out is written */
};

static int ep;
static struct buf inflated;  /* shared scratch for decompressed bodies */
static z_stream zs;
static bool zs_ready;
static bool quit_after;

static void conn_free(struct conn *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->in.p);
    free(c->body.p);
    free(c->out.p);
    free(c);
}

static void arm(struct conn *c, bool out)
{
    if (c->want_out == out)
        return;
    struct epoll_event ev = { .events = EPOLLIN | (out ? EPOLLOUT : 0), .data.ptr = c };
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_out = out;
}

/* Writes what it can; returns -1 when the connection must go. */
static int flush_out(struct conn *c)
{
    while (c->out_off < c->out.len) {
        ssize_t n = write(c->fd, c->out.p + c->out_off, c->out.len - c->out_off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                arm(c, true);
                return 0;
            }
            return -1;
        }
        c->out_off += (size_t)n;
    }
    c->out.len = c->out_off = 0;
    arm(c, false);
    return c->closing ? -1 : 0;
}

static int respond(struct conn *c, int code, const char *reason, const char *ctype,
                   const char *body, size_t blen, bool head)
{
    if (buf_printf(&c->out,
                   "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                   "X-elastic-product: Elasticsearch\r\n%s\r\n",
                   code, reason, ctype, blen, c->close_after ? "Connection: close\r\n" : ""))
        return -1;
    if (!head && blen && buf_add(&c->out, body, blen))
        return -1;
    if (c->close_after)
        c->closing = true;
    return 0;
}

static int respond_str(struct conn *c, int code, const char *reason, const char *body)
{
    return respond(c, code, reason, "application/json", body, strlen(body), false);
}

/* ---- bulk bodies -------------------------------------------------------------- */

/* Inflates body into the shared scratch buffer; gzip (window 15+16) or
 * zlib deflate (15+32 detects both). Returns 0, -1 malformed, -2 too big. */
static int inflate_body(const char *in, size_t len, bool gz)
{
    if (!zs_ready) {
        memset(&zs, 0, sizeof(zs));
        if (inflateInit2(&zs, 15 + 32) != Z_OK)
            return -1;
        zs_ready = true;
    }
    (void)gz;
    if (inflateReset(&zs) != Z_OK)
        return -1;
    inflated.len = 0;
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)len;
    for (;;) {
        size_t want = inflated.len + (len * 4 > READ_CHUNK ? len * 4 : READ_CHUNK);
        if (want > MAX_BODY)
            want = MAX_BODY;
        if (inflated.len >= MAX_BODY)
            return -2;
        if (buf_reserve(&inflated, want))
            return -1;
        zs.next_out = (Bytef *)inflated.p + inflated.len;
        zs.avail_out = (uInt)(inflated.cap - inflated.len);
        size_t before = zs.avail_out;
        int rc = inflate(&zs, Z_NO_FLUSH);
        inflated.len += before - zs.avail_out;
        if (rc == Z_STREAM_END)
            return zs.avail_in == 0 ? 0 : -1;
        if (rc != Z_OK && rc != Z_BUF_ERROR)
            return -1;
        if (rc == Z_BUF_ERROR && zs.avail_in == 0)
            return -1;     /* truncated */
    }
}

/* The first key of an action line: {"create":{...}} -> create. */
static bool action_op(const char *s, const char *e, char *op, size_t cap)
{
    while (s < e && (*s == ' ' || *s == '\t' || *s == '\r'))
        s++;
    if (s >= e || *s != '{')
        return false;
    s++;
    while (s < e && (*s == ' ' || *s == '\t'))
        s++;
    if (s >= e || *s != '"')
        return false;
    s++;
    const char *q = memchr(s, '"', (size_t)(e - s));
    if (!q || q == s || (size_t)(q - s) >= cap)
        return false;
    memcpy(op, s, (size_t)(q - s));
    op[q - s] = '\0';
    return true;
}

/* The _id of an action line, or NULL. */
static const char *action_id(const char *s, const char *e, size_t *n)
{
    const char *k = memmem(s, (size_t)(e - s), "\"_id\"", 5);
    if (!k)
        return NULL;
    k += 5;
    while (k < e && (*k == ' ' || *k == ':'))
        k++;
    if (k >= e || *k != '"')
        return NULL;
    k++;
    const char *q = memchr(k, '"', (size_t)(e - k));
    if (!q)
        return NULL;
    *n = (size_t)(q - k);
    return k;
}

static int bulk_bad(struct conn *c, const char *body)
{
    st.bad_requests++;
    return respond_str(c, 400, "Bad Request", body);
}

/* Counts the actions of an NDJSON bulk body and writes the answer. Nothing
 * is counted when the body is refused. */
static int bulk(struct conn *c, const char *data, size_t len)
{
    static struct buf items;
    items.len = 0;
    uint64_t nev = 0, nchk = 0, nbad = 0;
    const char *p = data, *e = data + len;
    bool first = true;
    while (p < e) {
        const char *nl = memchr(p, '\n', (size_t)(e - p));
        const char *le = nl ? nl : e;
        if (le == p || (le - p == 1 && *p == '\r')) {
            p = nl ? nl + 1 : e;
            continue;   /* blank line */
        }
        char op[16];
        if (!action_op(p, le, op, sizeof(op)))
            return bulk_bad(c,
                               "{\"error\":{\"type\":\"parse_exception\",\"reason\":\"an action "
                               "line is not an object\"},\"status\":400}");
        size_t idn = 0;
        const char *id = action_id(p, le, &idn);
        p = nl ? nl + 1 : e;
        if (strcmp(op, "delete") != 0) {
            /* the source line */
            if (p >= e)
                return bulk_bad(c,
                                   "{\"error\":{\"type\":\"illegal_argument_exception\","
                                   "\"reason\":\"the bulk request must be terminated by a "
                                   "newline\"},\"status\":400}");
            const char *snl = memchr(p, '\n', (size_t)(e - p));
            const char *se = snl ? snl : e;
            if (id && (strcmp(op, "create") == 0 || strcmp(op, "index") == 0)) {
                char want[160];
                if (idn + 8 < sizeof(want)) {
                    memcpy(want, "\"id\":\"", 6);
                    memcpy(want + 6, id, idn);
                    want[6 + idn] = '"';
                    size_t win = (size_t)(se - p) < ID_WINDOW ? (size_t)(se - p) : ID_WINDOW;
                    nchk++;
                    if (!memmem(p, win, want, idn + 7))
                        nbad++;
                } else {
                    nchk++;
                    nbad++;
                }
            }
            p = snl ? snl + 1 : e;
        }
        if (buf_printf(&items, "%s{\"%s\":{\"status\":%d}}", first ? "" : ",", op,
                       strcmp(op, "delete") == 0 ? 200 : 201))
            return -1;
        first = false;
        nev++;
    }
    st.events += nev;
    st.ids_checked += nchk;
    st.ids_bad += nbad;
    static struct buf resp;
    resp.len = 0;
    static const char pre[] = "{\"errors\":false,\"took\":0,\"items\":[";
    if (buf_add(&resp, pre, sizeof(pre) - 1) ||
        buf_add(&resp, items.p ? items.p : "", items.len) || buf_add(&resp, "]}", 2))
        return -1;
    return respond(c, 200, "OK", "application/json", resp.p, resp.len, false);
}

/* ---- requests ---------------------------------------------------------------- */

static int handle(struct conn *c)
{
    bool head = strcmp(c->method, "HEAD") == 0;
    char *q = strchr(c->path, '?');
    if (q)
        *q = '\0';
    size_t pl = strlen(c->path);
    bool is_bulk = pl >= 5 && strcmp(c->path + pl - 5, "_bulk") == 0;
    if (is_bulk && (strcmp(c->method, "POST") == 0 || strcmp(c->method, "PUT") == 0)) {
        st.requests++;
        st.bytes_wire += c->body.len;
        const char *data = c->body.p ? c->body.p : "";
        size_t len = c->body.len;
        if (c->gzip || c->deflate) {
            int r = inflate_body(data, len, c->gzip);
            if (r == -2)
                return respond_str(c, 413, "Payload Too Large", "{\"status\":413}");
            if (r) {
                st.bad_requests++;
                c->close_after = true;
                return respond_str(c, 400, "Bad Request",
                                   "{\"error\":{\"type\":\"parse_exception\",\"reason\":\"the "
                                   "body is not valid gzip\"},\"status\":400}");
            }
            data = inflated.p;
            len = inflated.len;
        }
        st.bytes_raw += len;
        int r = bulk(c, data, len);
        st.last_ms = now_ms();
        return r;
    }
    if (strcmp(c->path, "/_count") == 0) {
        char n[32];
        snprintf(n, sizeof(n), "%llu\n", (unsigned long long)st.events);
        return respond(c, 200, "OK", "text/plain", n, strlen(n), head);
    }
    if (strcmp(c->path, "/_stats") == 0) {
        double cpu = cpu_now() - st.cpu_at_reset;
        char s[1024];
        snprintf(s, sizeof(s),
                 "{\"events\":%llu,\"requests\":%llu,\"other_requests\":%llu,\"bytes_wire\":%llu,\"bytes_raw\":%llu,"
                 "\"ids_checked\":%llu,\"ids_bad\":%llu,\"bad_requests\":%llu,"
                 "\"first_ms\":%lld,\"last_ms\":%lld,\"window_s\":%.3f,\"cpu_s\":%.3f,"
                 "\"connections\":%llu}\n",
                 (unsigned long long)st.events, (unsigned long long)st.requests,
                 (unsigned long long)st.others,
                 (unsigned long long)st.bytes_wire, (unsigned long long)st.bytes_raw,
                 (unsigned long long)st.ids_checked, (unsigned long long)st.ids_bad,
                 (unsigned long long)st.bad_requests, (long long)st.first_ms,
                 (long long)st.last_ms,
                 st.first_ms ? (double)(st.last_ms - st.first_ms) / 1000.0 : 0.0, cpu,
                 (unsigned long long)st.connections);
        return respond(c, 200, "OK", "application/json", s, strlen(s), head);
    }
    if (strcmp(c->path, "/_reset") == 0) {
        uint64_t conns = st.connections;
        memset(&st, 0, sizeof(st));
        st.connections = conns;
        st.cpu_at_reset = cpu_now();
        return respond_str(c, 200, "OK", "{\"acknowledged\":true}");
    }
    if (strcmp(c->path, "/_quit") == 0) {
        quit_after = true;
        c->close_after = true;
        return respond_str(c, 200, "OK", "{\"acknowledged\":true}");
    }
    st.others++;
    static const char root[] =
        "{\"name\":\"bulk_sink\",\"cluster_name\":\"bench\",\"version\":{\"number\":\"8.17.0\","
        "\"build_flavor\":\"default\"},\"tagline\":\"You Know, for Search\"}";
    return respond(c, 200, "OK", "application/json", root, sizeof(root) - 1, head);
}

static int bad(struct conn *c, const char *why)
{
    st.bad_requests++;
    c->close_after = true;
    char b[256];
    snprintf(b, sizeof(b), "{\"error\":{\"type\":\"bad_request\",\"reason\":\"%s\"},\"status\":400}",
             why);
    respond_str(c, 400, "Bad Request", b);
    return 1;
}

/* Parses the header block [s, e) (without the blank line). 0 ok, 1 bad. */
static int parse_head(struct conn *c, char *s, char *e)
{
    char *eol = memchr(s, '\n', (size_t)(e - s));
    char *line_end = eol ? eol : e;
    if (line_end > s && line_end[-1] == '\r')
        line_end--;
    /* METHOD SP PATH SP VERSION */
    char *sp1 = memchr(s, ' ', (size_t)(line_end - s));
    if (!sp1 || (size_t)(sp1 - s) >= sizeof(c->method))
        return bad(c, "malformed request line");
    char *sp2 = memchr(sp1 + 1, ' ', (size_t)(line_end - sp1 - 1));
    if (!sp2 || (size_t)(sp2 - sp1 - 1) >= sizeof(c->path) || sp2 == sp1 + 1)
        return bad(c, "malformed request line");
    memcpy(c->method, s, (size_t)(sp1 - s));
    c->method[sp1 - s] = '\0';
    memcpy(c->path, sp1 + 1, (size_t)(sp2 - sp1 - 1));
    c->path[sp2 - sp1 - 1] = '\0';
    size_t vl = (size_t)(line_end - sp2 - 1);
    if (vl == 8 && memcmp(sp2 + 1, "HTTP/1.0", 8) == 0)
        c->close_after = true;
    else if (!(vl == 8 && memcmp(sp2 + 1, "HTTP/1.1", 8) == 0))
        return bad(c, "unsupported HTTP version");
    c->chunked = c->gzip = c->deflate = c->expect = false;
    bool have_cl = false;
    unsigned long long cl = 0;
    char *p = eol ? eol + 1 : e;
    while (p < e) {
        char *nl = memchr(p, '\n', (size_t)(e - p));
        char *le = nl ? nl : e;
        char *ve = le > p && le[-1] == '\r' ? le - 1 : le;
        char *colon = memchr(p, ':', (size_t)(ve - p));
        if (!colon)
            return bad(c, "malformed header");
        size_t kl = (size_t)(colon - p);
        char *v = colon + 1;
        while (v < ve && (*v == ' ' || *v == '\t'))
            v++;
        size_t vlen = (size_t)(ve - v);
        while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
            vlen--;
#define IS(k) (kl == sizeof(k) - 1 && strncasecmp(p, k, kl) == 0)
#define VAL(x) (vlen == sizeof(x) - 1 && strncasecmp(v, x, vlen) == 0)
        if (IS("Content-Length")) {
            char tmp[32];
            if (vlen == 0 || vlen >= sizeof(tmp))
                return bad(c, "bad Content-Length");
            memcpy(tmp, v, vlen);
            tmp[vlen] = '\0';
            char *end;
            errno = 0;
            cl = strtoull(tmp, &end, 10);
            if (errno || *end || tmp[0] == '-' || (have_cl && cl != c->need))
                return bad(c, "bad Content-Length");
            have_cl = true;
            c->need = (size_t)cl;
        } else if (IS("Transfer-Encoding")) {
            if (!VAL("chunked"))
                return bad(c, "unsupported Transfer-Encoding");
            c->chunked = true;
        } else if (IS("Content-Encoding")) {
            if (VAL("gzip") || VAL("x-gzip"))
                c->gzip = true;
            else if (VAL("deflate"))
                c->deflate = true;
            else if (!VAL("identity"))
                return bad(c, "unsupported Content-Encoding");
        } else if (IS("Connection")) {
            if (VAL("close"))
                c->close_after = true;
        } else if (IS("Expect")) {
            if (VAL("100-continue"))
                c->expect = true;
        }
#undef IS
#undef VAL
        p = nl ? nl + 1 : e;
    }
    if (c->chunked && have_cl)
        return bad(c, "both Content-Length and chunked");
    if (have_cl && cl > MAX_BODY) {
        c->close_after = true;
        respond_str(c, 413, "Payload Too Large", "{\"status\":413}");
        return 1;
    }
    if (!have_cl)
        c->need = 0;
    return 0;
}

/* Parses what has been read. Returns -1 to close, 0 to wait for more. */
static int process(struct conn *c)
{
    for (;;) {
        if (c->closing)
            return 0;
        char *s = c->in.p + c->off;
        size_t avail = c->in.len - c->off;
        switch (c->ps) {
        case P_HEAD: {
            if (avail == 0)
                goto more;
            char *end = memmem(s, avail, "\r\n\r\n", 4);
            size_t hl = 4;
            if (!end) {
                end = memmem(s, avail, "\n\n", 2);
                hl = 2;
            }
            if (!end) {
                if (avail > MAX_HEADER) {
                    bad(c, "header too large");
                    return 0;
                }
                goto more;
            }
            c->close_after = false;
            if (parse_head(c, s, end))
                return 0;
            c->off += (size_t)(end - s) + hl;
            c->body.len = 0;
            if (strstr(c->path, "_bulk") && st.first_ms == 0)
                st.first_ms = now_ms();
            if (c->expect && (c->chunked || c->need) &&
                buf_add(&c->out, "HTTP/1.1 100 Continue\r\n\r\n", 25))
                return -1;
            c->ps = c->chunked ? P_CHUNK_SIZE : P_BODY;
            if (!c->chunked && buf_reserve(&c->body, c->need + 1))
                return -1;
            break;
        }
        case P_BODY: {
            size_t n = avail < c->need ? avail : c->need;
            if (n && buf_add(&c->body, s, n))
                return -1;
            c->off += n;
            c->need -= n;
            if (c->need)
                goto more;
            if (handle(c))
                return -1;
            c->ps = P_HEAD;
            break;
        }
        case P_CHUNK_SIZE: {
            char *nl = memchr(s, '\n', avail);
            if (!nl) {
                if (avail > 1024) {
                    bad(c, "chunk size line too long");
                    return 0;
                }
                goto more;
            }
            char *end;
            errno = 0;
            unsigned long long n = strtoull(s, &end, 16);
            if (end == s || errno || (*end != '\r' && *end != ';' && *end != '\n')) {
                bad(c, "bad chunk size");
                return 0;
            }
            if (n > MAX_BODY || c->body.len + n > MAX_BODY) {
                c->close_after = true;
                respond_str(c, 413, "Payload Too Large", "{\"status\":413}");
                return 0;
            }
            c->off += (size_t)(nl - s) + 1;
            c->need = (size_t)n;
            c->ps = n ? P_CHUNK_DATA : P_TRAILER;
            break;
        }
        case P_CHUNK_DATA: {
            size_t n = avail < c->need ? avail : c->need;
            if (n && buf_add(&c->body, s, n))
                return -1;
            c->off += n;
            c->need -= n;
            if (c->need)
                goto more;
            c->ps = P_CHUNK_CRLF;
            break;
        }
        case P_CHUNK_CRLF:
            if (avail < 1)
                goto more;
            if (s[0] == '\n') {
                c->off += 1;
            } else if (s[0] == '\r') {
                if (avail < 2)
                    goto more;
                if (s[1] != '\n') {
                    bad(c, "chunk not followed by CRLF");
                    return 0;
                }
                c->off += 2;
            } else {
                bad(c, "chunk not followed by CRLF");
                return 0;
            }
            c->ps = P_CHUNK_SIZE;
            break;
        case P_TRAILER: {
            /* trailer fields until an empty line */
            char *nl = memchr(s, '\n', avail);
            if (!nl) {
                if (avail > MAX_HEADER) {
                    bad(c, "trailer too large");
                    return 0;
                }
                goto more;
            }
            bool empty = nl == s || (nl == s + 1 && s[0] == '\r');
            c->off += (size_t)(nl - s) + 1;
            if (empty) {
                if (handle(c))
                    return -1;
                c->ps = P_HEAD;
            }
            break;
        }
        }
    }
more:
    /* keep the unparsed tail at the front of the buffer */
    if (c->off) {
        memmove(c->in.p, c->in.p + c->off, c->in.len - c->off);
        c->in.len -= c->off;
        c->off = 0;
    }
    return 0;
}

static void on_readable(struct conn *c)
{
    for (;;) {
        /* a large Content-Length body: read straight into it */
        if (c->ps == P_BODY && c->off == c->in.len && c->need > READ_CHUNK) {
            c->in.len = c->off = 0;
            ssize_t n = read(c->fd, c->body.p + c->body.len, c->need);
            if (n > 0) {
                c->body.len += (size_t)n;
                c->need -= (size_t)n;
                if (c->need == 0) {
                    if (handle(c)) {
                        conn_free(c);
                        return;
                    }
                    c->ps = P_HEAD;
                    if (flush_out(c)) {
                        conn_free(c);
                        return;
                    }
                }
                continue;
            }
            if (n == 0) {
                conn_free(c);
                return;
            }
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            conn_free(c);
            return;
        }
        if (buf_reserve(&c->in, c->in.len + READ_CHUNK)) {
            conn_free(c);
            return;
        }
        ssize_t n = read(c->fd, c->in.p + c->in.len, c->in.cap - c->in.len);
        if (n > 0) {
            c->in.len += (size_t)n;
            if (process(c) || flush_out(c)) {
                conn_free(c);
                return;
            }
            if (c->closing)
                return;
            continue;
        }
        if (n == 0) {
            conn_free(c);
            return;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            break;
        conn_free(c);
        return;
    }
}

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

int main(int argc, char **argv)
{
    const char *addr = "127.0.0.1", *portfile = NULL;
    int port = 0, opt;
    while ((opt = getopt(argc, argv, "a:p:f:")) != -1) {
        switch (opt) {
        case 'a': addr = optarg; break;
        case 'p': port = atoi(optarg); break;
        case 'f': portfile = optarg; break;
        default:
            fprintf(stderr, "usage: bulk_sink [-a ADDR] [-p PORT] [-f PORTFILE]\n");
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
        fprintf(stderr, "bulk_sink: bad address %s\n", addr);
        return 2;
    }
    if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) || listen(ls, 128) || set_nonblock(ls)) {
        fprintf(stderr, "bulk_sink: cannot listen on %s:%d: %s\n", addr, port, strerror(errno));
        return 1;
    }
    socklen_t sl = sizeof(sa);
    getsockname(ls, (struct sockaddr *)&sa, &sl);
    port = ntohs(sa.sin_port);
    if (portfile) {
        char tmp[4096];
        snprintf(tmp, sizeof(tmp), "%s.tmp", portfile);
        FILE *f = fopen(tmp, "w");
        if (!f || fprintf(f, "%d\n", port) < 0 || fclose(f) || rename(tmp, portfile)) {
            fprintf(stderr, "bulk_sink: cannot write %s\n", portfile);
            return 1;
        }
    }
    printf("%d\n", port);
    fflush(stdout);

    ep = epoll_create1(0);
    struct epoll_event lev = { .events = EPOLLIN, .data.ptr = NULL };
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &lev);
    struct epoll_event evs[64];
    for (;;) {
        int n = epoll_wait(ep, evs, 64, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (!c) {
                int fd;
                while ((fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                    struct conn *nc = calloc(1, sizeof(*nc));
                    if (!nc) {
                        close(fd);
                        continue;
                    }
                    nc->fd = fd;
                    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = nc };
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
                    st.connections++;
                }
                continue;
            }
            if (evs[i].events & EPOLLOUT) {
                if (flush_out(c)) {
                    conn_free(c);
                    continue;
                }
            }
            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                on_readable(c);
        }
        if (quit_after)
            return 0;
    }
}
