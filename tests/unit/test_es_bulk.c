/* Elasticsearch bulk bodies and responses: pure functions, no network. */
#include "vgtest.h"

#include "agent/json.h"
#include "outputs/es/bulk.h"
#include "outputs/es/cloudid.h"
#include "outputs/output.h"

#include <zlib.h>

static const char *EV =
    "{\"@timestamp\":\"2026-11-26T10:00:05.123Z\","
    "\"event\":{\"kind\":\"state\",\"category\":[\"configuration\"],\"id\":\"5afedfa16050cc2ef4eb38af2c49f358\","
    "\"sequence\":1795000000,\"dataset\":\"vigil.findings\"},"
    "\"data_stream\":{\"type\":\"logs\",\"dataset\":\"vigil.findings\",\"namespace\":\"prod\"},"
    "\"rule\":{\"id\":\"not-this\"},\"message\":\"a }\\\" tricky { string\"}";

/* ---- event metadata ---------------------------------------------------- */

static int meta_of(const char *ev, struct vg_es_meta *m, char *err, size_t errlen)
{
    return (int)vg_es_event_meta(ev, strlen(ev), m, err, errlen);
}

static int eq_n(const char *p, size_t n, const char *want)
{
    return p && strlen(want) == n && memcmp(p, want, n) == 0;
}

VG_TEST(meta_reads_id_dataset_namespace)
{
    struct vg_es_meta m;
    char err[128];
    CHECK_EQ_INT(meta_of(EV, &m, err, sizeof(err)), VG_OK);
    CHECK(eq_n(m.id, m.id_len, "5afedfa16050cc2ef4eb38af2c49f358"));
    CHECK(eq_n(m.ns, m.ns_len, "prod"));
    CHECK_EQ_INT(m.stream, VG_ES_FINDINGS);
}

/* From a route the same metadata, without reading the event (whose JSON
 * here says otherwise); the route's values are checked the same way; a
 * text that is no route leaves the event to be read. */
VG_TEST(meta_from_a_route)
{
    struct vg_es_meta m;
    char err[128];
    const char *v[VG_RT_N] = { "0123456789abcdef0123456789abcdef", "vigil.scan", "staging",
                               "8.17.0", "r", "res", "low" };
    struct vg_buf rb;
    vg_buf_init(&rb, 4096);
    CHECK_EQ_INT(vg_route_append(&rb, v), VG_OK);
    CHECK_EQ_INT(vg_es_event_meta_routed(EV, strlen(EV), rb.data, rb.len, &m, err, sizeof(err)),
                 VG_OK);
    CHECK(eq_n(m.id, m.id_len, "0123456789abcdef0123456789abcdef"));
    CHECK(eq_n(m.ns, m.ns_len, "staging"));
    CHECK_EQ_INT(m.stream, VG_ES_SCAN);
    /* not even JSON: the route is enough */
    CHECK_EQ_INT(vg_es_event_meta_routed("not json", 8, rb.data, rb.len, &m, err, sizeof(err)),
                 VG_OK);
    /* a bad id in the route is refused as in the event */
    v[VG_RT_ID] = "has\"quote";
    vg_buf_reset(&rb);
    CHECK_EQ_INT(vg_route_append(&rb, v), VG_OK);
    CHECK_EQ_INT(vg_es_event_meta_routed(EV, strlen(EV), rb.data, rb.len, &m, err, sizeof(err)),
                 VG_ERR_PARSE);
    CHECK_CONTAINS(err, "printable ASCII");
    /* no route: the event is read */
    CHECK_EQ_INT(vg_es_event_meta_routed(EV, strlen(EV), "x\0y", 3, &m, err, sizeof(err)), VG_OK);
    CHECK(eq_n(m.id, m.id_len, "5afedfa16050cc2ef4eb38af2c49f358"));
    CHECK(eq_n(m.ns, m.ns_len, "prod"));
    CHECK_EQ_INT(vg_es_event_meta_routed(EV, strlen(EV), NULL, 0, &m, err, sizeof(err)), VG_OK);
    CHECK_EQ_INT(m.stream, VG_ES_FINDINGS);
    vg_buf_free(&rb);
}

VG_TEST(meta_any_key_order_and_tricky_skips)
{
    struct vg_es_meta m;
    char err[128];
    const char *ev =
        "  {\"rule\":{\"id\":\"r\",\"x\":[{\"a\":\"}]\\\\\"},\"{\",[1,2,{\"id\":3}]]},"
        "\"n\":-1.5e3,\"t\":true,\"z\":null,"
        "\"data_stream\":{\"namespace\":\"ns_1\"},"
        "\"event\":{\"dataset\":\"vigil.scan\",\"outcome\":\"success\",\"id\":\"abc-d\"}}";
    CHECK_EQ_INT(meta_of(ev, &m, err, sizeof(err)), VG_OK);
    CHECK(eq_n(m.id, m.id_len, "abc-d"));
    CHECK(eq_n(m.ns, m.ns_len, "ns_1"));
    CHECK_EQ_INT(m.stream, VG_ES_SCAN);
}

VG_TEST(meta_without_namespace_or_with_a_bad_one)
{
    struct vg_es_meta m;
    char err[128];
    CHECK_EQ_INT(meta_of("{\"event\":{\"id\":\"x\"}}", &m, err, sizeof(err)), VG_OK);
    CHECK(m.ns == NULL);
    CHECK_EQ_INT(m.stream, VG_ES_FINDINGS);
    CHECK_EQ_INT(meta_of("{\"event\":{\"id\":\"x\"},\"data_stream\":{\"namespace\":\"Bad-NS\"}}",
                         &m, err, sizeof(err)),
                 VG_OK);
    CHECK(m.ns == NULL);
    CHECK_EQ_INT(meta_of("{\"event\":{\"id\":\"x\"},\"data_stream\":{\"namespace\":\"a\\\"}\"}}",
                         &m, err, sizeof(err)),
                 VG_OK);
    CHECK(m.ns == NULL);
}

VG_TEST(meta_refuses_what_it_cannot_index)
{
    struct vg_es_meta m;
    char err[128];
    static const char *bad[] = {
        "",
        "[]",
        "\"x\"",
        "{}",
        "{\"event\":{}}",
        "{\"event\":{\"id\":\"\"}}",
        "{\"event\":{\"id\":7}}",
        "{\"event\":\"id\"}",
        "{\"event\":{\"id\":\"x",
        "{\"event\":{\"id\"",
        "{\"a\":{\"b\":",
        "{\"a\" 1}",
        "{\"a\":1 \"event\":{\"id\":\"x\"}}",
        "{\"rule\":{\"id\":\"not-the-event\"}}",
        "{\"event\":{\"id\":\"a\tb\"}}",
        "{\"event\":{\"id\":\"a\\\"b\"}}",
        "{\"event\":{\"id\":\"a\\u0041\"}}",
        "{\"event\":{\"id\":\"caf\xc3\xa9\"}}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        CHECK_EQ_INT(meta_of(bad[i], &m, err, sizeof(err)), VG_ERR_PARSE);
        CHECK(err[0] != '\0');
    }
    /* the longest id Elasticsearch takes, and one byte more */
    char ev[700];
    char id[VG_ES_MAX_ID + 2];
    memset(id, 'a', sizeof(id));
    id[VG_ES_MAX_ID] = '\0';
    snprintf(ev, sizeof(ev), "{\"event\":{\"id\":\"%s\"}}", id);
    CHECK_EQ_INT(meta_of(ev, &m, err, sizeof(err)), VG_OK);
    id[VG_ES_MAX_ID] = 'a';
    id[VG_ES_MAX_ID + 1] = '\0';
    snprintf(ev, sizeof(ev), "{\"event\":{\"id\":\"%s\"}}", id);
    CHECK_EQ_INT(meta_of(ev, &m, err, sizeof(err)), VG_ERR_PARSE);
    CHECK_CONTAINS(err, "too long");
}

VG_TEST(meta_deep_nesting_is_bounded)
{
    struct vg_es_meta m;
    char err[128];
    struct vg_buf b;
    vg_buf_init(&b, 1 << 20);
    vg_buf_appends(&b, "{\"x\":");
    for (int i = 0; i < 100000; i++)
        vg_buf_appendc(&b, '[');
    vg_buf_appends(&b, "}");
    CHECK_EQ_INT(vg_es_event_meta(b.data, b.len, &m, err, sizeof(err)), VG_ERR_PARSE);
    vg_buf_free(&b);
}

VG_TEST(meta_every_prefix_of_an_event_is_safe)
{
    size_t n = strlen(EV);
    char *copy = malloc(n);
    for (size_t i = 0; i < n; i++) {
        /* an exact-size copy, so a read past the end shows under ASan */
        memcpy(copy, EV, i);
        struct vg_es_meta m;
        char err[128];
        enum vg_err e = vg_es_event_meta(copy, i, &m, err, sizeof(err));
        if (e == VG_OK)
            CHECK(m.id_len == 32);
    }
    free(copy);
}

/* ---- bulk bodies ------------------------------------------------------- */

VG_TEST(bulk_lines_are_create_with_the_event_id)
{
    struct vg_buf body;
    vg_buf_init(&body, 1 << 20);
    struct vg_es_meta m;
    char err[128];
    CHECK_EQ_INT(meta_of(EV, &m, err, sizeof(err)), VG_OK);
    size_t alen = 0;
    CHECK_EQ_INT(vg_es_bulk_append(&body, &m, "default", EV, strlen(EV), &alen), VG_OK);
    const char *want_action = "{\"create\":{\"_index\":\"logs-vigil.findings-prod\","
                              "\"_id\":\"5afedfa16050cc2ef4eb38af2c49f358\"}}\n";
    CHECK_EQ_INT(alen, strlen(want_action));
    CHECK(strncmp(body.data, want_action, alen) == 0);
    CHECK_EQ_INT(body.len, alen + strlen(EV) + 1);
    CHECK(memcmp(body.data + alen, EV, strlen(EV)) == 0);
    CHECK_EQ_INT(body.data[body.len - 1], '\n');

    /* the configured namespace when the event has none; scan summaries to
     * their own stream; raw newlines never split a line */
    const char *scan = "{\"event\":{\"id\":\"s1\",\"dataset\":\"vigil.scan\"},\n\"a\":1}";
    CHECK_EQ_INT(meta_of(scan, &m, err, sizeof(err)), VG_OK);
    size_t before = body.len;
    CHECK_EQ_INT(vg_es_bulk_append(&body, &m, "default", scan, strlen(scan), NULL), VG_OK);
    CHECK_CONTAINS(body.data + before,
                   "{\"create\":{\"_index\":\"logs-vigil.scan-default\",\"_id\":\"s1\"}}\n"
                   "{\"event\":{\"id\":\"s1\",\"dataset\":\"vigil.scan\"}, \"a\":1}\n");
    size_t lines = 0;
    for (size_t i = 0; i < body.len; i++)
        lines += body.data[i] == '\n';
    CHECK_EQ_INT(lines, 4);
    vg_buf_free(&body);
}

VG_TEST(bulk_append_past_the_bound_leaves_the_body_alone)
{
    struct vg_buf body;
    vg_buf_init(&body, 200);
    struct vg_es_meta m;
    char err[128];
    const char *ev = "{\"event\":{\"id\":\"x\"}}";
    CHECK_EQ_INT(meta_of(ev, &m, err, sizeof(err)), VG_OK);
    CHECK_EQ_INT(vg_es_bulk_append(&body, &m, "default", ev, strlen(ev), NULL), VG_OK);
    size_t len = body.len;
    char *copy = strdup(body.data);
    CHECK_EQ_INT(vg_es_bulk_append(&body, &m, "default", EV, strlen(EV), NULL), VG_ERR_LIMIT);
    CHECK_EQ_INT(body.len, len);
    CHECK_EQ_STR(body.data, copy);
    free(copy);
    vg_buf_free(&body);
}

/* ---- gzip -------------------------------------------------------------- */

static int gunzip(const char *in, size_t n, char *out, size_t cap, size_t *outlen)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, 15 + 16) != Z_OK)
        return -1;
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)cap;
    int rc = inflate(&z, Z_FINISH);
    *outlen = cap - z.avail_out;
    inflateEnd(&z);
    return rc == Z_STREAM_END ? 0 : -1;
}

VG_TEST(gzip_round_trips_and_reuses_its_buffer)
{
    struct vg_es_gzip g;
    CHECK_EQ_INT(vg_es_gzip_init(&g, 1), VG_OK);
    struct vg_buf in, out;
    vg_buf_init(&in, 8 << 20);
    vg_buf_init(&out, 8 << 20);
    for (int i = 0; i < 2000; i++)
        vg_buf_printf(&in, "{\"create\":{\"_id\":\"%d\"}}\n%s\n", i, EV);
    char *back = malloc(in.len + 16);
    for (int round = 0; round < 3; round++) {
        CHECK_EQ_INT(vg_es_gzip(&g, in.data, in.len, &out), VG_OK);
        CHECK(out.len < in.len / 4);
        CHECK_EQ_INT((unsigned char)out.data[0], 0x1f);   /* gzip magic */
        CHECK_EQ_INT((unsigned char)out.data[1], 0x8b);
        size_t n = 0;
        CHECK_EQ_INT(gunzip(out.data, out.len, back, in.len + 16, &n), 0);
        CHECK_EQ_INT(n, in.len);
        CHECK(memcmp(back, in.data, in.len) == 0);
    }
    /* empty input is still a valid gzip stream */
    CHECK_EQ_INT(vg_es_gzip(&g, "", 0, &out), VG_OK);
    size_t n = 1;
    CHECK_EQ_INT(gunzip(out.data, out.len, back, 16, &n), 0);
    CHECK_EQ_INT(n, 0);
    /* an output bound too small is an error, not an overflow */
    struct vg_buf tiny;
    vg_buf_init(&tiny, 64);
    CHECK_EQ_INT(vg_es_gzip(&g, in.data, in.len, &tiny), VG_ERR_LIMIT);
    vg_buf_free(&tiny);
    free(back);
    vg_buf_free(&in);
    vg_buf_free(&out);
    vg_es_gzip_free(&g);
    vg_es_gzip_free(&g);   /* twice is harmless */
}

/* ---- classification ---------------------------------------------------- */

VG_TEST(item_fates)
{
    CHECK_EQ_INT(vg_es_item_fate(201, ""), VG_ES_DELIVERED);
    CHECK_EQ_INT(vg_es_item_fate(200, NULL), VG_ES_DELIVERED);
    CHECK_EQ_INT(vg_es_item_fate(409, "version_conflict_engine_exception"), VG_ES_DUPLICATE);
    CHECK_EQ_INT(vg_es_item_fate(429, "es_rejected_execution_exception"), VG_ES_RETRY);
    CHECK_EQ_INT(vg_es_item_fate(429, "cluster_block_exception"), VG_ES_RETRY);
    CHECK_EQ_INT(vg_es_item_fate(500, "x"), VG_ES_RETRY);
    CHECK_EQ_INT(vg_es_item_fate(503, "unavailable_shards_exception"), VG_ES_RETRY);
    CHECK_EQ_INT(vg_es_item_fate(403, "cluster_block_exception"), VG_ES_RETRY);
    CHECK_EQ_INT(vg_es_item_fate(403, "security_exception"), VG_ES_AUTH);
    CHECK_EQ_INT(vg_es_item_fate(403, ""), VG_ES_AUTH);
    CHECK_EQ_INT(vg_es_item_fate(401, "security_exception"), VG_ES_AUTH);
    CHECK_EQ_INT(vg_es_item_fate(400, "mapper_parsing_exception"), VG_ES_DEAD);
    CHECK_EQ_INT(vg_es_item_fate(400, "illegal_argument_exception"), VG_ES_DEAD);
    CHECK_EQ_INT(vg_es_item_fate(404, "index_not_found_exception"), VG_ES_DEAD);
    CHECK_EQ_INT(vg_es_item_fate(403, "index_closed_exception"), VG_ES_DEAD);
    CHECK_EQ_INT(vg_es_item_fate(0, ""), VG_ES_RETRY);
    CHECK_EQ_INT(vg_es_item_fate(302, ""), VG_ES_RETRY);
    CHECK_EQ_STR(vg_es_fate_name(VG_ES_DEAD), "dead-letter");
}

VG_TEST(reply_classes)
{
    CHECK_EQ_INT(vg_es_reply_class(200, ""), VG_ES_REPLY_ITEMS);
    CHECK_EQ_INT(vg_es_reply_class(413, ""), VG_ES_REPLY_SPLIT);
    CHECK_EQ_INT(vg_es_reply_class(400, "illegal_argument_exception"), VG_ES_REPLY_SPLIT);
    CHECK_EQ_INT(vg_es_reply_class(429, "es_rejected_execution_exception"), VG_ES_REPLY_RETRY);
    CHECK_EQ_INT(vg_es_reply_class(503, ""), VG_ES_REPLY_HOST);
    CHECK_EQ_INT(vg_es_reply_class(502, NULL), VG_ES_REPLY_HOST);
    CHECK_EQ_INT(vg_es_reply_class(404, ""), VG_ES_REPLY_HOST);
    CHECK_EQ_INT(vg_es_reply_class(301, ""), VG_ES_REPLY_HOST);
    CHECK_EQ_INT(vg_es_reply_class(0, ""), VG_ES_REPLY_HOST);
    CHECK_EQ_INT(vg_es_reply_class(401, "security_exception"), VG_ES_REPLY_AUTH);
    CHECK_EQ_INT(vg_es_reply_class(403, "security_exception"), VG_ES_REPLY_AUTH);
    CHECK_EQ_INT(vg_es_reply_class(403, "cluster_block_exception"), VG_ES_REPLY_RETRY);
}

/* ---- responses --------------------------------------------------------- */

struct seen {
    int status[64];
    char type[64][VG_ES_MAX_ERR_TYPE];
    char reason[64][VG_ES_MAX_ERR_REASON];
    size_t n;
    int order_ok;
};

static void on_item(void *opaque, size_t i, int status, const char *type, const char *reason)
{
    struct seen *s = opaque;
    if (i != s->n)
        s->order_ok = 0;
    if (s->n < 64) {
        s->status[s->n] = status;
        snprintf(s->type[s->n], sizeof(s->type[0]), "%s", type);
        snprintf(s->reason[s->n], sizeof(s->reason[0]), "%s", reason);
    }
    s->n++;
}

static enum vg_err parse_all(const char *text, size_t len, size_t nitems, bool with_items,
                             struct seen *s, struct vg_es_resp *r, size_t chunk)
{
    memset(s, 0, sizeof(*s));
    s->order_ok = 1;
    enum vg_err e = vg_es_resp_begin(r, nitems, with_items, on_item, s);
    if (e)
        return e;
    for (size_t off = 0; off < len; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;
        e = vg_es_resp_feed(r, text + off, n);
        if (e)
            return e;
    }
    return vg_es_resp_end(r);
}

/* A response as Elasticsearch writes it without filter_path. */
static const char *FULL =
    "{\"took\":30,\"errors\":true,\"items\":["
    "{\"create\":{\"_index\":\".ds-logs-vigil.findings-default-2026.11.26-000001\",\"_id\":\"a\","
    "\"_version\":1,\"result\":\"created\",\"_shards\":{\"total\":2,\"successful\":1,\"failed\":0},"
    "\"_seq_no\":0,\"_primary_term\":1,\"status\":201}},"
    "{\"create\":{\"_index\":\".ds-logs-vigil.findings-default-2026.11.26-000001\",\"_id\":\"b\","
    "\"status\":409,\"error\":{\"type\":\"version_conflict_engine_exception\","
    "\"reason\":\"[b]: version conflict, document already exists (current version [1])\","
    "\"index_uuid\":\"lHkiUFEmTrKYugulAenzgA\",\"shard\":\"0\","
    "\"index\":\".ds-logs-vigil.findings-default-2026.11.26-000001\"}}},"
    "{\"create\":{\"_index\":\"x\",\"_id\":\"c\",\"status\":429,\"error\":{\"type\":"
    "\"es_rejected_execution_exception\",\"reason\":\"rejected execution of coordinating operation "
    "[coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, coordinating_operation_bytes=1, "
    "max_coordinating_and_primary_bytes=0]\"}}},"
    "{\"create\":{\"_index\":\"x\",\"_id\":\"d\",\"status\":400,\"error\":{\"type\":"
    "\"mapper_parsing_exception\",\"reason\":\"failed to parse field [event.severity] of type [long]\","
    "\"caused_by\":{\"type\":\"illegal_argument_exception\",\"reason\":\"For input string: \\\"high\\\"\"}}}},"
    "{\"create\":{\"_index\":\"x\",\"_id\":\"e\",\"status\":403,\"error\":{\"type\":"
    "\"cluster_block_exception\",\"reason\":\"index [x] blocked by: [FORBIDDEN/8/index write (api)];\"}}},"
    "{\"create\":{\"_index\":\"x\",\"_id\":\"f\",\"status\":503,\"error\":{\"type\":"
    "\"unavailable_shards_exception\",\"reason\":\"[x][0] primary shard is not active\"}}},"
    "{\"index\":{\"_index\":\"y\",\"_id\":\"g\",\"status\":404,\"error\":{\"type\":"
    "\"index_not_found_exception\",\"reason\":\"no such index [y]\",\"index\":\"y\"}}}"
    "]}";

VG_TEST(response_every_status_class)
{
    struct vg_es_resp *r = vg_es_resp_new();
    struct seen s;
    CHECK_EQ_INT(parse_all(FULL, strlen(FULL), 7, true, &s, r, 1 << 20), VG_OK);
    CHECK_EQ_INT(s.n, 7);
    CHECK(s.order_ok);
    CHECK(vg_es_resp_errors(r));
    CHECK_EQ_INT(s.status[0], 201);
    CHECK_EQ_STR(s.type[0], "");
    CHECK_EQ_INT(vg_es_item_fate(s.status[0], s.type[0]), VG_ES_DELIVERED);
    CHECK_EQ_INT(s.status[1], 409);
    CHECK_EQ_INT(vg_es_item_fate(s.status[1], s.type[1]), VG_ES_DUPLICATE);
    CHECK_EQ_INT(vg_es_item_fate(s.status[2], s.type[2]), VG_ES_RETRY);
    CHECK_EQ_STR(s.type[3], "mapper_parsing_exception");
    CHECK_EQ_STR(s.reason[3], "failed to parse field [event.severity] of type [long] "
                              "(caused by illegal_argument_exception: For input string: \"high\")");
    CHECK_EQ_INT(vg_es_item_fate(s.status[3], s.type[3]), VG_ES_DEAD);
    CHECK_EQ_INT(vg_es_item_fate(s.status[4], s.type[4]), VG_ES_RETRY);
    CHECK_EQ_INT(vg_es_item_fate(s.status[5], s.type[5]), VG_ES_RETRY);
    CHECK_EQ_INT(s.status[6], 404);
    CHECK_EQ_STR(s.type[6], "index_not_found_exception");

    /* the same, fed one byte at a time */
    struct seen s2;
    CHECK_EQ_INT(parse_all(FULL, strlen(FULL), 7, true, &s2, r, 1), VG_OK);
    CHECK_EQ_INT(s2.n, 7);
    CHECK(memcmp(s.status, s2.status, sizeof(s.status)) == 0);
    CHECK_EQ_STR(s2.reason[3], s.reason[3]);
    vg_es_resp_free(r);
}

VG_TEST(response_filter_path_shapes)
{
    struct vg_es_resp *r = vg_es_resp_new();
    struct seen s;
    const char *ok = "{\"errors\":false,\"items\":[{\"create\":{\"status\":201}},"
                     "{\"create\":{\"status\":201}},{\"create\":{\"status\":409,\"error\":"
                     "{\"type\":\"version_conflict_engine_exception\",\"reason\":\"[x]: version "
                     "conflict, document already exists (current version [1])\"}}}]}";
    CHECK_EQ_INT(parse_all(ok, strlen(ok), 3, true, &s, r, 7), VG_OK);
    CHECK_EQ_INT(s.n, 3);
    CHECK(!vg_es_resp_errors(r));
    CHECK_EQ_INT(s.status[2], 409);
    /* nothing to report: filter_path leaves {} for an empty answer */
    CHECK_EQ_INT(parse_all("{}", 2, 0, true, &s, r, 7), VG_OK);
    CHECK_EQ_INT(s.n, 0);
    vg_es_resp_free(r);
}

VG_TEST(response_item_count_must_match)
{
    struct vg_es_resp *r = vg_es_resp_new();
    struct seen s;
    const char *two = "{\"errors\":false,\"items\":[{\"create\":{\"status\":201}},"
                      "{\"create\":{\"status\":201}}]}";
    CHECK_EQ_INT(parse_all(two, strlen(two), 3, true, &s, r, 100), VG_ERR_PARSE);
    CHECK_CONTAINS(vg_es_resp_errmsg(r), "2 items for 3 events");
    CHECK_EQ_INT(s.n, 2);   /* what was read stays reported */
    CHECK_EQ_INT(parse_all(two, strlen(two), 1, true, &s, r, 100), VG_ERR_PARSE);
    CHECK_CONTAINS(vg_es_resp_errmsg(r), "more items than the 1 sent");
    CHECK_EQ_INT(s.n, 1);
    /* a 200 without items cannot be trusted */
    CHECK_EQ_INT(parse_all("{\"errors\":false}", 16, 5, true, &s, r, 100), VG_ERR_PARSE);
    CHECK_EQ_INT(s.n, 0);
    vg_es_resp_free(r);
}

VG_TEST(response_whole_request_errors)
{
    struct vg_es_resp *r = vg_es_resp_new();
    struct seen s;
    const char *e401 =
        "{\"error\":{\"root_cause\":[{\"type\":\"security_exception\",\"reason\":\"unable to "
        "authenticate user [vigil] for REST request [/_bulk]\",\"header\":{\"WWW-Authenticate\":"
        "[\"Basic realm=\\\"security\\\" charset=\\\"UTF-8\\\"\",\"ApiKey\"]}}],\"type\":"
        "\"security_exception\",\"reason\":\"unable to authenticate user [vigil] for REST request "
        "[/_bulk]\",\"header\":{\"WWW-Authenticate\":[\"ApiKey\"]}},\"status\":401}";
    CHECK_EQ_INT(parse_all(e401, strlen(e401), 4, false, &s, r, 13), VG_OK);
    CHECK_EQ_INT(s.n, 0);
    CHECK_EQ_STR(vg_es_resp_error_type(r), "security_exception");
    CHECK_EQ_STR(vg_es_resp_error_reason(r),
                 "unable to authenticate user [vigil] for REST request [/_bulk]");
    const char *e429 = "{\"error\":{\"type\":\"es_rejected_execution_exception\",\"reason\":"
                       "\"rejected\",\"caused_by\":{\"type\":\"x\",\"reason\":\"y\"}},\"status\":429}";
    CHECK_EQ_INT(parse_all(e429, strlen(e429), 4, false, &s, r, 5), VG_OK);
    CHECK_EQ_STR(vg_es_resp_error_type(r), "es_rejected_execution_exception");
    CHECK_EQ_STR(vg_es_resp_error_reason(r), "rejected (caused by x: y)");
    const char *old = "{\"error\":\"IndexMissingException[[x] missing]\",\"status\":404}";
    CHECK_EQ_INT(parse_all(old, strlen(old), 1, false, &s, r, 5), VG_OK);
    CHECK_EQ_STR(vg_es_resp_error_type(r), "");
    CHECK_EQ_STR(vg_es_resp_error_reason(r), "IndexMissingException[[x] missing]");
    vg_es_resp_free(r);
}

VG_TEST(response_malformed_and_hostile)
{
    struct vg_es_resp *r = vg_es_resp_new();
    struct seen s;
    static const char *bad[] = {
        "",
        "<html><body>502 Bad Gateway</body></html>",
        "[]",
        "\"items\"",
        "42",
        "{\"items\":[1]}",
        "{\"items\":[[{\"create\":{\"status\":201}}]]}",
        "{\"items\":[null]}",
        "{\"items\":[\"create\"]}",
        "{\"errors\":false,\"items\":[{\"create\":{\"status\":201}}]}{}",
        "{\"errors\":false,\"items\":[{\"create\":{\"status\":201}}]",
        "{\"errors\":false,\"items\":[{\"create\":{\"status\":201}}]}}",
        "{\"errors\":fals",
        "{\"items\":[{\"create\":{\"status\":2e400}}]}",
        "{\"items\":[{\"create\":{\"status\":99999999999999999999999}}]}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        enum vg_err e = parse_all(bad[i], strlen(bad[i]), 1, true, &s, r, 3);
        CHECK(e != VG_OK);
        CHECK(vg_es_resp_errmsg(r)[0] != '\0');
        CHECK(strchr(vg_es_resp_errmsg(r), '\n') == NULL);
    }
    /* an absurd status is no status: retried, never taken as delivered */
    const char *odd = "{\"items\":[{\"create\":{\"status\":-201}},{\"create\":{\"status\":\"201\"}}]}";
    CHECK_EQ_INT(parse_all(odd, strlen(odd), 2, true, &s, r, 100), VG_OK);
    CHECK_EQ_INT(s.status[0], 0);
    CHECK_EQ_INT(s.status[1], 0);
    CHECK_EQ_INT(vg_es_item_fate(s.status[1], s.type[1]), VG_ES_RETRY);
    /* an item with two ops: the first counts */
    const char *two = "{\"items\":[{\"create\":{\"status\":400,\"error\":{\"type\":\"t\"}},"
                      "\"index\":{\"status\":201}}]}";
    CHECK_EQ_INT(parse_all(two, strlen(two), 1, true, &s, r, 100), VG_OK);
    CHECK_EQ_INT(s.status[0], 400);
    vg_es_resp_free(r);
}

VG_TEST(response_every_prefix_is_truncated)
{
    struct vg_es_resp *r = vg_es_resp_new();
    struct seen s;
    size_t n = strlen(FULL), last = 0;
    for (size_t i = 0; i < n; i++) {
        enum vg_err e = parse_all(FULL, i, 7, true, &s, r, 64);
        CHECK(e != VG_OK);
        /* items are reported as they complete, never before */
        CHECK(s.n >= last);
        last = s.n;
        if (i < n - 2)   /* the last item closes two bytes before the end */
            CHECK(s.n < 7);
    }
    CHECK_EQ_INT(last, 7);
    vg_es_resp_free(r);
}

VG_TEST(response_deep_nesting_is_refused)
{
    struct vg_es_resp *r = vg_es_resp_new();
    struct seen s;
    struct vg_buf b;
    vg_buf_init(&b, 1 << 20);
    vg_buf_appends(&b, "{\"took\":");
    for (int i = 0; i < 5000; i++)
        vg_buf_appendc(&b, '[');
    CHECK_EQ_INT(parse_all(b.data, b.len, 1, true, &s, r, 4096), VG_ERR_PARSE);
    CHECK_CONTAINS(vg_es_resp_errmsg(r), "deeper");
    vg_buf_free(&b);
    vg_es_resp_free(r);
}

VG_TEST(response_huge_is_bounded)
{
    struct vg_es_resp *r = vg_es_resp_new();
    struct seen s;
    memset(&s, 0, sizeof(s));
    CHECK_EQ_INT(vg_es_resp_begin(r, 1, true, on_item, &s), VG_OK);
    /* a reason string that never ends: refused at the bound, not buffered */
    const char *head = "{\"items\":[{\"create\":{\"status\":400,\"error\":{\"reason\":\"";
    CHECK_EQ_INT(vg_es_resp_feed(r, head, strlen(head)), VG_OK);
    char *chunk = malloc(1 << 20);
    memset(chunk, 'x', 1 << 20);
    enum vg_err e = VG_OK;
    int rounds = 0;
    while (!e && rounds < 100) {
        e = vg_es_resp_feed(r, chunk, 1 << 20);
        rounds++;
    }
    CHECK_EQ_INT(e, VG_ERR_LIMIT);
    CHECK(rounds <= 33);
    CHECK_CONTAINS(vg_es_resp_errmsg(r), "larger than");
    CHECK_EQ_INT(vg_es_resp_feed(r, "\"", 1), VG_ERR_PARSE);   /* stays failed */

    /* a long reason that does end is kept, cut at the bound */
    struct vg_buf b;
    vg_buf_init(&b, 4 << 20);
    vg_buf_appends(&b, head);
    vg_buf_append(&b, chunk, 100000);
    vg_buf_appends(&b, "\\u00e9\\n\",\"type\":\"t\"}}}]}");
    CHECK_EQ_INT(parse_all(b.data, b.len, 1, true, &s, r, 65536), VG_OK);
    CHECK_EQ_INT(strlen(s.reason[0]), VG_ES_MAX_ERR_REASON - 1);
    CHECK_EQ_STR(s.type[0], "t");
    vg_buf_free(&b);
    free(chunk);
    vg_es_resp_free(r);
}

VG_TEST(response_text_is_made_safe_for_a_log_line)
{
    struct vg_es_resp *r = vg_es_resp_new();
    struct seen s;
    const char *t = "{\"items\":[{\"create\":{\"status\":400,\"error\":{\"type\":\"a\\nb\","
                    "\"reason\":\"line1\\r\\nline2\\u0000end\"}}}]}";
    CHECK_EQ_INT(parse_all(t, strlen(t), 1, true, &s, r, 100), VG_OK);
    CHECK_EQ_STR(s.type[0], "a b");
    CHECK(strchr(s.reason[0], '\n') == NULL);
    CHECK_CONTAINS(s.reason[0], "line1");
    vg_es_resp_free(r);
}

/* ---- dead letters ------------------------------------------------------ */

VG_TEST(dead_letter_lines)
{
    struct vg_buf out;
    vg_buf_init(&out, 1 << 20);
    const char *ev = "{\"event\":{\"id\":\"d\"},\n\"x\":\"\\u00e9\"}";
    CHECK_EQ_INT(vg_es_dead_letter_line(&out, 1795687205123LL, 400, "mapper_parsing_exception",
                                        "failed to parse \"x\"\n\xff", ev, strlen(ev), true),
                 VG_OK);
    CHECK_EQ_INT(out.data[out.len - 1], '\n');
    CHECK(memchr(out.data, '\n', out.len - 1) == NULL);
    char err[256];
    struct vg_json *v = vg_json_parse(out.data, out.len, err, sizeof(err));
    CHECK(v != NULL);
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(v, "@timestamp")), "2026-11-26T10:00:05.123Z");
    CHECK_EQ_INT(vg_json_get_int(vg_json_get(v, "status")), 400);
    const struct vg_json *e = vg_json_get(v, "error");
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(e, "type")), "mapper_parsing_exception");
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(e, "reason")), "failed to parse \"x\"\n\xEF\xBF\xBD");
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(vg_json_get(vg_json_get(v, "event"), "event"), "id")),
                 "d");
    vg_json_free(v);

    /* an event that is not JSON travels as a string */
    vg_buf_reset(&out);
    CHECK_EQ_INT(vg_es_dead_letter_line(&out, 0, 0, "vigil_invalid_event", "no event.id",
                                        "not \"json\"\n", 11, false),
                 VG_OK);
    v = vg_json_parse(out.data, out.len, err, sizeof(err));
    CHECK(v != NULL);
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(v, "event")), "not \"json\"\n");
    vg_json_free(v);

    /* past the bound: nothing half-written */
    struct vg_buf small;
    vg_buf_init(&small, 80);
    CHECK_EQ_INT(vg_es_dead_letter_line(&small, 0, 400, "t", "r", EV, strlen(EV), true),
                 VG_ERR_LIMIT);
    CHECK_EQ_INT(small.len, 0);
    vg_buf_free(&small);
    vg_buf_free(&out);
}

/* ---- Elastic Cloud id -------------------------------------------------- */

static void b64(const char *in, char *out)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(in), o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned char)in[i] << 16;
        if (i + 1 < n)
            v |= (unsigned char)in[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)in[i + 2];
        out[o++] = t[(v >> 18) & 63];
        out[o++] = t[(v >> 12) & 63];
        out[o++] = i + 1 < n ? t[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? t[v & 63] : '=';
    }
    out[o] = '\0';
}

VG_TEST(cloud_id_decoding)
{
    char url[512], err[256], enc[512], id[600];
    /* the documented example */
    CHECK_EQ_INT(vg_es_cloud_id_decode(
                     "staging:dXMtZWFzdC0xLmF3cy5mb3VuZC5pbyRjZWM2ZjI2MWE3NGJmMjRjZTMzYmI4ODExYjg0"
                     "Mjk0ZiRjNmMyY2E2ZDA0MjI0OWFmMGNjN2Q3YTllOTYyNTc0Mw==",
                     url, sizeof(url), err, sizeof(err)),
                 VG_OK);
    CHECK_EQ_STR(url, "https://cec6f261a74bf24ce33bb8811b84294f.us-east-1.aws.found.io:443");
    /* a port on the host is every part's default; a port on the es id wins */
    b64("example.com:9243$esid$kbid", enc);
    snprintf(id, sizeof(id), "name:%s", enc);
    CHECK_EQ_INT(vg_es_cloud_id_decode(id, url, sizeof(url), err, sizeof(err)), VG_OK);
    CHECK_EQ_STR(url, "https://esid.example.com:9243");
    b64("example.com:9243$esid:9200$kbid", enc);
    CHECK_EQ_INT(vg_es_cloud_id_decode(enc, url, sizeof(url), err, sizeof(err)), VG_OK);
    CHECK_EQ_STR(url, "https://esid.example.com:9200");
    /* malformed */
    static const char *bad[] = { "", "name:", "name:!!!!", "name:abc", NULL };
    for (size_t i = 0; bad[i]; i++) {
        err[0] = '\0';
        CHECK(vg_es_cloud_id_decode(bad[i], url, sizeof(url), err, sizeof(err)) != VG_OK);
        CHECK(err[0] != '\0');
    }
    b64("example.com$esid", enc);   /* two parts */
    CHECK_EQ_INT(vg_es_cloud_id_decode(enc, url, sizeof(url), err, sizeof(err)), VG_ERR_CONFIG);
    b64("exa/mple.com$esid$kb", enc);
    CHECK_EQ_INT(vg_es_cloud_id_decode(enc, url, sizeof(url), err, sizeof(err)), VG_ERR_CONFIG);
    b64("example.com$$kb", enc);
    CHECK_EQ_INT(vg_es_cloud_id_decode(enc, url, sizeof(url), err, sizeof(err)), VG_ERR_CONFIG);
    b64("example.com:99x$es$kb", enc);
    CHECK_EQ_INT(vg_es_cloud_id_decode(enc, url, sizeof(url), err, sizeof(err)), VG_ERR_CONFIG);
}

VG_TEST_MAIN()
