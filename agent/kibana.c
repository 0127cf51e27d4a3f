/*
 * `vigil setup --kibana URL` (see kibana.h).
 */
#include "kibana.h"
#include "buf.h"
#include "json.h"
#include "log.h"
#include "../outputs/es/http.h"

#include <curl/curl.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LISTED   100    /* refused objects listed one a line; the rest are counted */
#define MAX_SHOWN    300    /* bytes of one string of Kibana's shown in a message */

/* ---- the URL ------------------------------------------------------------- */

struct target {
    char base[VG_KIBANA_MAX_URL + 64];   /* scheme://host:port[/base path][/s/SPACE] */
    char name[300];                      /* "host:port": what messages show */
    char space[128];                     /* "" for the default space */
};

static bool space_id_ok(const char *s, size_t n)
{
    if (n == 0 || n >= 128)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
            return false;
    }
    return true;
}

/* Parses the --kibana URL into t. Without a scheme: https when TLS settings
 * are given, http otherwise (as for Elasticsearch hosts); without a port,
 * 5601. The path is Kibana's base path and, last, /s/SPACE. */
static enum vg_err parse_url(const char *in, bool tls_default, struct target *t, char *errbuf,
                             size_t errlen)
{
    memset(t, 0, sizeof(*t));
    if (!in || !*in) {
        snprintf(errbuf, errlen, "--kibana: a Kibana URL is required (https://kibana:5601)");
        return VG_ERR_CONFIG;
    }
    size_t inlen = strlen(in);
    if (inlen > VG_KIBANA_MAX_URL) {
        snprintf(errbuf, errlen, "--kibana: the URL is longer than %d bytes", VG_KIBANA_MAX_URL);
        return VG_ERR_CONFIG;
    }
    for (size_t i = 0; i < inlen; i++)
        if ((unsigned char)in[i] < 0x21 || in[i] == 0x7f) {
            snprintf(errbuf, errlen, "--kibana: the URL holds a space or a control character");
            return VG_ERR_CONFIG;
        }
    struct vg_es_url u;
    enum vg_err err = vg_es_url_split(in, tls_default, "--kibana",
                                      "put no credentials in the URL (those of "
                                      "outputs.elasticsearch are used)",
                                      "give Kibana's base URL, without a query or fragment", &u,
                                      errbuf, errlen);
    if (err)
        return err;
    err = VG_ERR_CONFIG;
    const char *host = u.host, *port = u.port, *scheme = u.scheme;
    char *path = u.path;
    size_t plen = path ? strlen(path) : 0;
    if (path) {
        const char *tail = plen >= 4 ? path + plen - 4 : "";
        if (strstr(path, "/app/") || strstr(path, "/api/") || strcmp(tail, "/app") == 0 ||
            strcmp(tail, "/api") == 0) {
            snprintf(errbuf, errlen, "--kibana: %.200s: give Kibana's base URL (https://kibana:5601 "
                     "or .../s/SPACE), not the address of a page or an API", host);
            goto out;
        }
        /* /s/SPACE, last: the space the objects go to */
        if ((plen >= 2 && strcmp(path + plen - 2, "/s") == 0)) {
            snprintf(errbuf, errlen, "--kibana: %.200s: \"/s/\" must end the URL and be "
                     "followed by a space id (a-z, 0-9, _ and -)", host);
            goto out;
        }
        const char *s = NULL;
        for (const char *p = strstr(path, "/s/"); p; p = strstr(p + 1, "/s/"))
            s = p;
        if (s) {
            const char *id = s + 3;
            if (strchr(id, '/') || !space_id_ok(id, strlen(id))) {
                snprintf(errbuf, errlen, "--kibana: %.200s: \"/s/\" must end the URL and be "
                         "followed by a space id (a-z, 0-9, _ and -)", host);
                goto out;
            }
            snprintf(t->space, sizeof(t->space), "%s", id);
        }
    }
    snprintf(t->name, sizeof(t->name), "%.250s:%s", host, port ? port : "5601");
    int w = snprintf(t->base, sizeof(t->base), "%s://%s:%s%s", scheme, host, port ? port : "5601",
                     path ? path : "");
    if (w < 0 || (size_t)w >= sizeof(t->base)) {
        snprintf(errbuf, errlen, "--kibana: the URL is too long");
        goto out;
    }
    err = VG_OK;
out:
    vg_es_url_free(&u);
    return err;
}

/* ---- the connection ------------------------------------------------------ */

/* The settings of outputs.elasticsearch (outputs/es/http.c reads and
 * checks them; nothing about credentials or TLS is repeated here), or
 * plain defaults when there is no Elasticsearch output. */
struct conn {
    struct vg_es_conn *es;          /* owned; NULL without outputs.elasticsearch */
    struct vg_es_conn plain;        /* verify on, default timeouts, no credentials */
    const struct vg_es_conn *use;   /* es or &plain */
    const char *auth;               /* "Authorization: ..." of use, borrowed; NULL: none or basic */
};

static enum vg_err conn_open(const struct vg_config *cfg, struct conn *c, char *errbuf,
                             size_t errlen)
{
    memset(c, 0, sizeof(*c));
    if (cfg && cfg->outputs.es.enabled) {
        enum vg_err err;
        c->es = vg_es_conn_new(cfg, errbuf, errlen, &err);
        if (!c->es)
            return err;
        c->use = c->es;
        /* API key and bearer credentials are a ready header in the JSON
         * header list (basic credentials go through curl's options, which
         * vg_es_conn_prepare() sets): Kibana takes the same header */
        for (const struct curl_slist *l = c->es->hdr_json; l; l = l->next)
            if (strncmp(l->data, "Authorization:", 14) == 0)
                c->auth = l->data;
        return VG_OK;
    }
    c->plain.verify = true;
    c->plain.timeout_ms = 90000;
    c->plain.connect_timeout_ms = 10000;
    c->use = &c->plain;
    return VG_OK;
}

static void conn_close(struct conn *c)
{
    vg_es_conn_destroy(c->es);
    c->es = NULL;
}

static bool tls_default(const struct vg_config *cfg)
{
    if (!cfg || !cfg->outputs.es.enabled)
        return false;
    const char *ca = cfg->outputs.es.ssl_ca, *pin = cfg->outputs.es.ssl_ca_sha256,
               *cert = cfg->outputs.es.ssl_certificate;
    return (ca && *ca) || (pin && *pin) || (cert && *cert);
}

/* What the Authorization header is, for the dry run: its scheme only. */
static const char *auth_scheme(const struct conn *c)
{
    if (c->use->username)
        return "Basic";
    if (c->auth) {
        const char *p = c->auth + 14;
        while (*p == ' ')
            p++;
        if (strncmp(p, "ApiKey", 6) == 0)
            return "ApiKey";
        if (strncmp(p, "Bearer", 6) == 0)
            return "Bearer";
        return "(set)";
    }
    return NULL;
}

/* ---- one import ----------------------------------------------------------- */

/* POSTs the asset as a multipart file upload; *status and resp get
 * Kibana's answer. An error only when no HTTP answer came. */
static enum vg_err post_import(const struct conn *c, const struct target *t,
                               const struct vg_kibana_asset *a, long *status, struct vg_buf *resp,
                               char *errbuf, size_t errlen)
{
    CURL *e = curl_easy_init();
    if (!e) {
        snprintf(errbuf, errlen, "out of memory");
        return VG_ERR_NOMEM;
    }
    enum vg_err err = VG_ERR_NOMEM;
    struct curl_slist *hdr = NULL, *n;
    curl_mime *mime = NULL;
    char cerr[CURL_ERROR_SIZE] = "";
    const char *lines[] = { "kbn-xsrf: true", "Accept: application/json",
                            "Expect:", c->auth };
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        if (!lines[i])
            continue;
        if (!(n = curl_slist_append(hdr, lines[i])))
            goto out;
        hdr = n;
    }
    mime = curl_mime_init(e);
    curl_mimepart *part = mime ? curl_mime_addpart(mime) : NULL;
    if (!part || curl_mime_name(part, "file") != CURLE_OK ||
        curl_mime_filename(part, a->file) != CURLE_OK ||
        curl_mime_type(part, "application/ndjson") != CURLE_OK ||
        curl_mime_data(part, a->body, strlen(a->body)) != CURLE_OK)
        goto out;
    if (vg_es_conn_prepare(c->use, e, cerr)) {
        snprintf(errbuf, errlen, "curl refused an option");
        err = VG_ERR_INVALID;
        goto out;
    }
    char url[sizeof(t->base) + 128];
    snprintf(url, sizeof(url), "%s%s", t->base, a->path);
    struct vg_es_sink s = { resp, false };
    vg_buf_reset(resp);
    CURLcode rc = CURLE_OK;
    rc |= curl_easy_setopt(e, CURLOPT_URL, url);
    rc |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdr);
    rc |= curl_easy_setopt(e, CURLOPT_MIMEPOST, mime);
    rc |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, vg_es_sink_write);
    rc |= curl_easy_setopt(e, CURLOPT_WRITEDATA, &s);
    if (rc != CURLE_OK) {
        snprintf(errbuf, errlen, "curl refused an option");
        err = VG_ERR_INVALID;
        goto out;
    }
    rc = curl_easy_perform(e);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
        err = VG_OK;
    } else if (s.over) {
        snprintf(errbuf, errlen, "%s: the answer to POST %s is larger than %u bytes", t->name,
                 a->path, VG_KIBANA_MAX_RESP);
        err = VG_ERR_LIMIT;
    } else if (rc == CURLE_PARTIAL_FILE || rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING) {
        snprintf(errbuf, errlen, "%s: the answer to POST %s was cut short (%s)", t->name, a->path,
                 *cerr ? cerr : curl_easy_strerror(rc));
        err = VG_ERR_IO;
    } else {
        struct vg_es_host h;
        memset(&h, 0, sizeof(h));
        snprintf(h.name, sizeof(h.name), "%s", t->name);
        vg_es_transfer_error(&h, rc, cerr, errbuf, errlen);
        err = VG_ERR_IO;
    }
    /* curl's message may end with a newline: one line whatever it said */
    for (char *p = errbuf; err && *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = ' ';
out:
    if (err == VG_ERR_NOMEM)
        snprintf(errbuf, errlen, "out of memory");
    curl_mime_free(mime);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(e);
    return err;
}

/* ---- reading Kibana's answers --------------------------------------------- */

/* s (n bytes, or up to its NUL when n is SIZE_MAX) as one printable line
 * of at most MAX_SHOWN bytes and "..." when cut, into out (outlen >= 8). */
static const char *shown(const char *s, size_t n, char *out, size_t outlen)
{
    if (!s)
        s = "";
    if (n == SIZE_MAX)
        n = strlen(s);
    size_t cap = outlen - 4 < MAX_SHOWN ? outlen - 4 : MAX_SHOWN;
    size_t k = n < cap ? n : cap;
    for (size_t i = 0; i < k; i++) {
        unsigned char ch = (unsigned char)s[i];
        out[i] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
    }
    if (k < n) {
        /* the cut may split a UTF-8 sequence: drop what is left of it */
        size_t j = k;
        while (j && ((unsigned char)out[j - 1] & 0xC0) == 0x80)
            j--;
        if (j && ((unsigned char)out[j - 1] & 0xC0) == 0xC0)
            j--;
        k = j;
        memcpy(out + k, "...", 3);
        k += 3;
    }
    out[k] = '\0';
    return out;
}

static const char *str_of(const struct vg_json *v)
{
    return vg_json_type(v) == VG_JSON_STRING ? vg_json_get_str(v) : NULL;
}

/* A count Kibana wrote: a non-negative integer, else -1. */
static int64_t count_of(const struct vg_json *v)
{
    if (vg_json_type(v) != VG_JSON_INT || vg_json_get_int(v) < 0)
        return -1;
    return vg_json_get_int(v);
}

/* The reason of one refused saved object, into out. */
static void saved_object_reason(const struct vg_json *e, char *out, size_t outlen)
{
    char a[MAX_SHOWN + 8], b[MAX_SHOWN + 8];
    const char *type = str_of(vg_json_get(e, "type"));
    if (!type) {
        snprintf(out, outlen, "refused (no reason given)");
        return;
    }
    struct vg_buf r;
    vg_buf_init(&r, 1024);
    vg_buf_appends(&r, shown(type, SIZE_MAX, a, sizeof(a)));
    const struct vg_json *refs = vg_json_get(e, "references");
    if (strcmp(type, "missing_references") == 0 && vg_json_len(refs)) {
        for (size_t i = 0; i < vg_json_len(refs); i++) {
            const struct vg_json *ref = vg_json_at(refs, i);
            vg_buf_printf(&r, "%s %s %s", i ? "," : ":",
                          shown(str_of(vg_json_get(ref, "type")), SIZE_MAX, a, sizeof(a)),
                          shown(str_of(vg_json_get(ref, "id")), SIZE_MAX, b, sizeof(b)));
        }
    }
    const char *msg = str_of(vg_json_get(e, "message"));
    if (msg)
        vg_buf_printf(&r, ": %s", shown(msg, SIZE_MAX, a, sizeof(a)));
    snprintf(out, outlen, "%s", vg_buf_str(&r));
    vg_buf_free(&r);
}

/* Lists the refused objects of errs (an array) on out; returns how many
 * there are. The first one's line goes to first when first is still "". */
static size_t list_refused(enum vg_kibana_asset_kind kind, const struct vg_json *errs, FILE *out,
                           char *first, size_t firstlen)
{
    size_t n = vg_json_len(errs);
    for (size_t i = 0; i < n; i++) {
        const struct vg_json *e = vg_json_at(errs, i);
        char id[MAX_SHOWN + 8], type[MAX_SHOWN + 8], why[1024], line[2048];
        const struct vg_json *err = vg_json_get(e, "error");
        if (kind == VG_KIBANA_SAVED_OBJECTS) {
            saved_object_reason(err, why, sizeof(why));
            snprintf(line, sizeof(line), "saved object %s %s: %s",
                     shown(str_of(vg_json_get(e, "type")) ? str_of(vg_json_get(e, "type")) : "?",
                           SIZE_MAX, type, sizeof(type)),
                     shown(str_of(vg_json_get(e, "id")) ? str_of(vg_json_get(e, "id")) : "?",
                           SIZE_MAX, id, sizeof(id)),
                     why);
        } else {
            const char *rid = str_of(vg_json_get(e, "rule_id"));
            if (!rid)
                rid = str_of(vg_json_get(e, "id"));
            const char *msg = str_of(vg_json_get(err, "message"));
            int64_t code = count_of(vg_json_get(err, "status_code"));
            char codes[32] = "";
            if (code >= 0)
                snprintf(codes, sizeof(codes), "HTTP %lld: ", (long long)code);
            snprintf(line, sizeof(line), "detection rule %s: %s%s",
                     shown(rid ? rid : "?", SIZE_MAX, id, sizeof(id)), codes,
                     msg ? shown(msg, SIZE_MAX, why, sizeof(why)) : "refused (no reason given)");
        }
        if (!*first)
            snprintf(first, firstlen, "%s", line);
        if (out && i < MAX_LISTED)
            fprintf(out, "  %s\n", line);
    }
    if (out && n > MAX_LISTED)
        fprintf(out, "  ... and %zu more\n", n - MAX_LISTED);
    return n;
}

enum vg_err vg_kibana_read_answer(enum vg_kibana_asset_kind kind, long status, const char *body,
                                  size_t len, size_t expected, FILE *out, size_t *imported,
                                  char *errbuf, size_t errlen)
{
    const char *what = kind == VG_KIBANA_SAVED_OBJECTS ? "saved objects" : "detection rules";
    char perr[256] = "", shownbuf[MAX_SHOWN + 8], msgbuf[MAX_SHOWN + 8];
    if (imported)
        *imported = 0;
    if (!body)
        len = 0;
    struct vg_json *v = len ? vg_json_parse(body, len, perr, sizeof(perr)) : NULL;
    enum vg_err err = VG_OK;

    if (status < 200 || status >= 300) {
        /* Kibana's errors: {"statusCode":N,"error":"Reason","message":"..."} */
        const char *reason = str_of(vg_json_get(v, "error"));
        const char *msg = str_of(vg_json_get(v, "message"));
        char detail[2 * MAX_SHOWN + 32] = "";
        if (msg)
            snprintf(detail, sizeof(detail), "%s%s%s",
                     reason ? shown(reason, SIZE_MAX, shownbuf, sizeof(shownbuf)) : "",
                     reason ? ": " : "", shown(msg, SIZE_MAX, msgbuf, sizeof(msgbuf)));
        else if (len && !v)
            snprintf(detail, sizeof(detail), "an answer that is not JSON: \"%s\"",
                     shown(body, len < 120 ? len : 120, shownbuf, sizeof(shownbuf)));
        else if (reason)
            snprintf(detail, sizeof(detail), "%s",
                     shown(reason, SIZE_MAX, shownbuf, sizeof(shownbuf)));
        if (status == 401) {
            snprintf(errbuf, errlen, "%s: Kibana refused the credentials (HTTP 401%s%s)", what,
                     *detail ? " " : "", detail);
            err = VG_ERR_PERM;
        } else if (status == 403) {
            snprintf(errbuf, errlen, "%s: Kibana refused the request (HTTP 403%s%s): the user "
                     "needs %s", what, *detail ? " " : "", detail,
                     kind == VG_KIBANA_SAVED_OBJECTS
                         ? "the All privilege on Dashboard, Visualize Library and Saved Objects "
                           "Management (or Management > Data View Management)"
                         : "the All privilege on Security (Rules) in that space");
            err = VG_ERR_PERM;
        } else {
            snprintf(errbuf, errlen, "%s: Kibana answered HTTP %ld%s%s", what, status,
                     *detail ? ": " : "", detail);
            err = VG_ERR_IO;
        }
        goto out;
    }
    if (!v) {
        if (!len)
            snprintf(errbuf, errlen, "%s: Kibana answered HTTP %ld with an empty body, not the "
                     "import result", what, status);
        else
            snprintf(errbuf, errlen, "%s: Kibana's answer (HTTP %ld) is not JSON (%s): \"%s\"",
                     what, status, perr,
                     shown(body, len < 120 ? len : 120, shownbuf, sizeof(shownbuf)));
        err = VG_ERR_PARSE;
        goto out;
    }
    if (vg_json_type(v) != VG_JSON_OBJECT) {
        snprintf(errbuf, errlen, "%s: Kibana's answer (HTTP %ld) is a JSON %s, not the import "
                 "result object", what, status, vg_json_type_name(vg_json_type(v)));
        err = VG_ERR_PARSE;
        goto out;
    }
    const char *count_key = kind == VG_KIBANA_SAVED_OBJECTS ? "successCount" : "success_count";
    const struct vg_json *success = vg_json_get(v, "success");
    int64_t count = count_of(vg_json_get(v, count_key));
    const struct vg_json *errs = vg_json_get(v, "errors");
    if (vg_json_type(success) != VG_JSON_BOOL || count < 0 ||
        (errs && vg_json_type(errs) != VG_JSON_ARRAY)) {
        snprintf(errbuf, errlen, "%s: Kibana's answer (HTTP %ld) is not an import result: it "
                 "lacks \"success\", \"%s\" or an \"errors\" array", what, status, count_key);
        err = VG_ERR_PARSE;
        goto out;
    }
    if (imported)
        *imported = (size_t)count;
    char first[2048] = "";
    size_t refused = list_refused(kind, errs, out, first, sizeof(first));
    /* exception lists travel with rules; Vigil ships none, but say so if
     * Kibana found something wrong there */
    const struct vg_json *xerrs = vg_json_get(v, "exceptions_errors");
    size_t xrefused = 0;
    if (kind == VG_KIBANA_DETECTION_RULES && vg_json_type(xerrs) == VG_JSON_ARRAY)
        xrefused = list_refused(kind, xerrs, out, first, sizeof(first));
    if (refused + xrefused) {
        snprintf(errbuf, errlen, "%s: Kibana imported %lld of %zu and refused %zu (%s%s)", what,
                 (long long)count, expected, refused + xrefused,
                 refused + xrefused > 1 ? "first: " : "", first);
        err = VG_ERR_IO;
    } else if (!vg_json_get_bool(success) || (size_t)count < expected) {
        snprintf(errbuf, errlen, "%s: Kibana imported %lld of %zu%s and said nothing of the others",
                 what, (long long)count, expected,
                 vg_json_get_bool(success) ? "" : " (success: false)");
        err = VG_ERR_IO;
    }
out:
    /* one line whatever Kibana (or the JSON parser, whose messages span
     * lines) said */
    for (char *p = errbuf; err && *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    vg_json_free(v);
    return err;
}

/* ---- setup ----------------------------------------------------------------- */

static void print_request(const struct conn *c, const struct target *t,
                          const struct vg_kibana_asset *a, FILE *out)
{
    const char *scheme = auth_scheme(c);
    fprintf(out, "# %s (packaging/kibana/%s)\n", a->what, a->file);
    fprintf(out, "POST %s%s\n", t->base, a->path);
    fprintf(out, "kbn-xsrf: true\n");
    if (scheme)
        fprintf(out, "Authorization: %s <hidden>\n", scheme);
    fprintf(out, "Content-Type: multipart/form-data\n");
    fprintf(out, "  part \"file\": %s, application/ndjson, %zu objects, %zu bytes\n\n", a->file,
            a->count, strlen(a->body));
}

enum vg_err vg_kibana_setup(const struct vg_config *cfg, const char *url, bool dry_run, FILE *out,
                            char *errbuf, size_t errlen)
{
    char msg[2048] = "";
    errbuf[0] = '\0';
    struct target t;
    enum vg_err err = parse_url(url, tls_default(cfg), &t, errbuf, errlen);
    if (err)
        return err;
    struct conn c;
    err = conn_open(cfg, &c, errbuf, errlen);
    if (err)
        return err;
    char where[sizeof(t.name) + sizeof(t.space) + 16];
    snprintf(where, sizeof(where), "%s%s%s", t.name, *t.space ? " space " : "", t.space);

    struct vg_buf resp;
    vg_buf_init(&resp, VG_KIBANA_MAX_RESP);
    enum vg_err refused = VG_OK;
    for (size_t i = 0; i < vg_kibana_assets_count && !err; i++) {
        const struct vg_kibana_asset *a = &vg_kibana_assets[i];
        if (dry_run) {
            print_request(&c, &t, a, out);
            continue;
        }
        long status = 0;
        err = post_import(&c, &t, a, &status, &resp, msg, sizeof(msg));
        if (err) {
            snprintf(errbuf, errlen, "Kibana %s: %s", where, msg);
            break;
        }
        /* the refused objects are listed under the line of their file */
        size_t imported = 0, dlen = 0;
        char *details = NULL;
        FILE *dout = open_memstream(&details, &dlen);
        err = vg_kibana_read_answer(a->kind, status, resp.data, resp.len, a->count,
                                    dout ? dout : out, &imported, msg, sizeof(msg));
        if (dout)
            fclose(dout);
        if (err == VG_ERR_IO && status >= 200 && status < 300) {
            /* some objects refused: say so, and go on with the next file */
            fprintf(out, "%s %s: %zu of %zu imported into %s, the others refused:\n%s", a->what,
                    a->file, imported, a->count, where, details ? details : "");
            free(details);
            if (!refused) {
                refused = err;
                snprintf(errbuf, errlen, "Kibana %s: %s", where, msg);
            }
            err = VG_OK;
            continue;
        }
        free(details);
        if (err) {
            const char *hint = "";
            if (status == 404 && *t.space)
                hint = " (is the space id right? Kibana answers 404 for a space it does not have)";
            else if (status == 404 && a->kind == VG_KIBANA_SAVED_OBJECTS)
                hint = " (is it Kibana's URL, with its base path if it has one?)";
            else if (status == 404)
                hint = " (is the Security app on in this Kibana, 8.11 or later?)";
            snprintf(errbuf, errlen, "Kibana %s: %s%s", where, msg, hint);
            break;
        }
        fprintf(out, "%s %s: %zu of %zu imported into %s\n", a->what, a->file, imported, a->count,
                where);
    }
    fflush(out);
    vg_buf_free(&resp);
    conn_close(&c);
    return err ? err : refused;
}
