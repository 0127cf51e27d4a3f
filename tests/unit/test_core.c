/* The core library: buffers, JSON, hashing and UUIDs, time, YAML, logging. */
#include "vgtest.h"

#include "agent/buf.h"
#include "agent/err.h"
#include "agent/hash.h"
#include "agent/json.h"
#include "agent/limits.h"
#include "agent/log.h"
#include "agent/timeutil.h"
#include "config/yaml.h"

#include <unistd.h>

static char *dump(const struct vg_json *v)
{
    struct vg_buf b;
    vg_buf_init(&b, 1 << 20);
    if (vg_json_dump(v, &b) != VG_OK) {
        vg_buf_free(&b);
        return strdup("<dump failed>");
    }
    return vg_buf_detach(&b);
}

static void check_roundtrip(const char *in, const char *expect)
{
    char err[256];
    struct vg_json *v = vg_json_parse(in, strlen(in), err, sizeof(err));
    CHECK(v != NULL);
    if (!v) {
        fprintf(stderr, "  parse of %s failed: %s\n", in, err);
        return;
    }
    char *out = dump(v);
    CHECK_EQ_STR(out, expect);
    free(out);
    vg_json_free(v);
}

VG_TEST(err_strings)
{
    CHECK_EQ_STR(vg_strerror(VG_OK), "success");
    CHECK_EQ_STR(vg_strerror(VG_ERR_NOMEM), "out of memory");
    CHECK_EQ_STR(vg_strerror((enum vg_err)999), "unknown error");
    CHECK(vg_err_retriable(VG_ERR_IO));
    CHECK(!vg_err_retriable(VG_ERR_CONFIG));
}

VG_TEST(buf_bounded)
{
    struct vg_buf b;
    vg_buf_init(&b, 8);
    CHECK_EQ_STR(vg_buf_str(&b), "");
    CHECK_EQ_INT(vg_buf_appends(&b, "12345"), VG_OK);
    CHECK_EQ_INT(vg_buf_printf(&b, "%d", 678), VG_OK);
    CHECK_EQ_STR(vg_buf_str(&b), "12345678");
    /* past the cap: refused, content unchanged */
    CHECK_EQ_INT(vg_buf_appendc(&b, '9'), VG_ERR_LIMIT);
    CHECK_EQ_INT(vg_buf_printf(&b, "%s", "x"), VG_ERR_LIMIT);
    CHECK_EQ_STR(vg_buf_str(&b), "12345678");
    CHECK_EQ_INT(b.len, 8);
    vg_buf_reset(&b);
    CHECK_EQ_INT(b.len, 0);
    char *s = vg_buf_detach(&b);
    CHECK_EQ_STR(s, "");
    free(s);
    vg_buf_free(&b);
}

VG_TEST(buf_read_file)
{
    char path[] = "/tmp/vgtest-core-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK_EQ_INT(write(fd, "hello\n", 6), 6);
    close(fd);
    struct vg_buf b;
    vg_buf_init(&b, 100);
    CHECK_EQ_INT(vg_buf_read_file(&b, path), VG_OK);
    CHECK_EQ_STR(vg_buf_str(&b), "hello\n");
    vg_buf_free(&b);
    vg_buf_init(&b, 3);
    CHECK_EQ_INT(vg_buf_read_file(&b, path), VG_ERR_LIMIT);
    vg_buf_free(&b);
    vg_buf_init(&b, 100);
    CHECK_EQ_INT(vg_buf_read_file(&b, "/nonexistent/vigil"), VG_ERR_NOENT);
    vg_buf_free(&b);
    unlink(path);
}

VG_TEST(json_build_and_dump)
{
    struct vg_json *o = vg_json_object();
    CHECK_EQ_INT(vg_json_set_str(o, "b", "x\"y\n"), VG_OK);
    CHECK_EQ_INT(vg_json_set_int(o, "a", -42), VG_OK);
    CHECK_EQ_INT(vg_json_set(o, "d", vg_json_double(1.5)), VG_OK);
    CHECK_EQ_INT(vg_json_set(o, "e", vg_json_double(3.0)), VG_OK);
    CHECK_EQ_INT(vg_json_set_bool(o, "t", true), VG_OK);
    CHECK_EQ_INT(vg_json_set(o, "n", vg_json_null()), VG_OK);
    struct vg_json *arr = vg_json_array();
    CHECK_EQ_INT(vg_json_push(arr, vg_json_str("s")), VG_OK);
    CHECK_EQ_INT(vg_json_set(o, "arr", arr), VG_OK);
    /* replace keeps the key's place */
    CHECK_EQ_INT(vg_json_set_int(o, "b", 7), VG_OK);
    char *s = dump(o);
    CHECK_EQ_STR(s, "{\"b\":7,\"a\":-42,\"d\":1.5,\"e\":3.0,\"t\":true,\"n\":null,\"arr\":[\"s\"]}");
    free(s);
    vg_json_del(o, "a");
    CHECK(vg_json_get(o, "a") == NULL);
    CHECK_EQ_INT(vg_json_len(o), 6);
    CHECK_EQ_STR(vg_json_key_at(o, 1), "d");
    /* NULL values are refused with NOMEM, not crashed on */
    CHECK_EQ_INT(vg_json_set(o, "x", NULL), VG_ERR_NOMEM);
    CHECK_EQ_INT(vg_json_push(o, vg_json_int(1)), VG_ERR_INVALID);
    struct vg_json *c = vg_json_child(o, "child");
    CHECK(c != NULL);
    CHECK(vg_json_child(o, "child") == c);
    vg_json_free(o);
}

VG_TEST(json_parse_roundtrip)
{
    check_roundtrip("{\"a\":[1,2.5,\"x\",true,false,null,{}],\"b\":{\"c\":[]}}",
                    "{\"a\":[1,2.5,\"x\",true,false,null,{}],\"b\":{\"c\":[]}}");
    check_roundtrip("  [ -0 , 1e3, 12345678901234567890 ] ", "[0,1000.0,1.2345678901234567e+19]");
    check_roundtrip("\"\\u00e9\\n\\t\\\"\"", "\"\xc3\xa9\\n\\t\\\"\"");
    check_roundtrip("9223372036854775807", "9223372036854775807");
    check_roundtrip("0.1", "0.1");
}

VG_TEST(json_parse_errors)
{
    const char *bad[] = { "", "{", "[1,]", "{\"a\" 1}", "tru", "\"\\x\"", "[1] [2]", "{\"a\":1}}",
                          "\"unterminated", "nan" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[256] = "";
        struct vg_json *v = vg_json_parse(bad[i], strlen(bad[i]), err, sizeof(err));
        CHECK(v == NULL);
        CHECK(err[0] != '\0');
        CHECK_CONTAINS(err, "offset");
        vg_json_free(v);
    }
}

VG_TEST(json_depth_bound)
{
    char deep[1024];
    size_t n = 0;
    for (int i = 0; i < VG_MAX_JSON_DEPTH + 1; i++)
        deep[n++] = '[';
    for (int i = 0; i < VG_MAX_JSON_DEPTH + 1; i++)
        deep[n++] = ']';
    char err[256];
    struct vg_json *v = vg_json_parse(deep, n, err, sizeof(err));
    CHECK(v == NULL);
    CHECK_CONTAINS(err, "nesting too deep");
    /* exactly at the bound: accepted */
    v = vg_json_parse(deep + 1, n - 2, err, sizeof(err));
    CHECK(v != NULL);
    vg_json_free(v);
}

VG_TEST(json_invalid_utf8_is_replaced)
{
    struct vg_json *s = vg_json_strn("a\xff" "b\xc3", 4);
    char *out = dump(s);
    CHECK_EQ_STR(out, "\"a\xef\xbf\xbd" "b\xef\xbf\xbd\"");
    free(out);
    vg_json_free(s);
    CHECK(vg_utf8_valid("\xc3\xa9", 2));
    CHECK(!vg_utf8_valid("\xc0\xaf", 2));       /* overlong */
    CHECK(!vg_utf8_valid("\xed\xa0\x80", 3));   /* surrogate */
    CHECK(!vg_utf8_valid("\xe2\x82", 2));       /* truncated */
}

/* Every byte value at every position of strings longer than a word (the
 * writer skips plain text eight bytes at a time): the text parses back to
 * the string, a lone byte of 0x80 and above as U+FFFD. */
VG_TEST(json_string_every_byte_everywhere)
{
    int bad = 0;
    for (int c = 1; c < 256; c++) {
        for (size_t len = 1; len <= 19; len++) {
            for (size_t pos = 0; pos < len; pos++) {
                char in[20];
                memset(in, 'a', len);
                in[pos] = (char)c;
                struct vg_buf b;
                vg_buf_init(&b, 1024);
                char err[64];
                struct vg_json *v = NULL;
                if (vg_json_write_string(&b, in, len) == VG_OK)
                    v = vg_json_parse(b.data, b.len, err, sizeof(err));
                char want[24];
                size_t wl = 0;
                for (size_t k = 0; k < len; k++) {
                    if (k == pos && c >= 0x80) {
                        memcpy(want + wl, "\xef\xbf\xbd", 3);
                        wl += 3;
                    } else {
                        want[wl++] = in[k];
                    }
                }
                if (!v || vg_json_type(v) != VG_JSON_STRING || vg_json_str_len(v) != wl ||
                    memcmp(vg_json_get_str(v), want, wl) != 0)
                    bad++;
                vg_json_free(v);
                vg_buf_free(&b);
            }
        }
    }
    CHECK_EQ_INT(bad, 0);
}

VG_TEST(json_large_object_is_indexed)
{
    /* 200,000 distinct keys, then every one looked up: quadratic lookup
     * would take minutes; the index makes it instant */
    struct vg_buf b;
    vg_buf_init(&b, 16u << 20);
    vg_buf_appendc(&b, '{');
    for (int i = 0; i < 200000; i++)
        vg_buf_printf(&b, "%s\"k%d\":%d", i ? "," : "", i, i);
    vg_buf_printf(&b, ",\"k7\":\"last wins\"}");
    char err[128];
    struct vg_json *o = vg_json_parse(b.data, b.len, err, sizeof(err));
    CHECK(o != NULL);
    CHECK_EQ_INT(vg_json_len(o), 200000);
    int found = 0;
    for (int i = 0; i < 200000; i += 1) {
        char k[16];
        snprintf(k, sizeof(k), "k%d", i);
        const struct vg_json *v = vg_json_get(o, k);
        found += v && (i == 7 || vg_json_get_int(v) == i);
    }
    CHECK_EQ_INT(found, 200000);
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(o, "k7")), "last wins");
    CHECK(vg_json_get(o, "k200000") == NULL);
    vg_json_del(o, "k5");
    CHECK(vg_json_get(o, "k5") == NULL);
    CHECK_EQ_INT(vg_json_get_int(vg_json_get(o, "k6")), 6);
    CHECK_EQ_STR(vg_json_key_at(o, 5), "k6");
    vg_json_free(o);
    vg_buf_free(&b);
}

VG_TEST(yaml_mapping_key_bound)
{
    struct vg_buf b;
    vg_buf_init(&b, 1u << 20);
    for (int i = 0; i <= VG_MAX_YAML_MAP_KEYS; i++)
        vg_buf_printf(&b, "k%d: 1\n", i);
    char err[256];
    struct vg_ynode *root = vg_yaml_load_string("big.yml", b.data, b.len, err, sizeof(err));
    CHECK(root == NULL);
    CHECK_CONTAINS(err, "big.yml:4097:1: more than 4096 keys in one mapping");
    vg_buf_free(&b);
}

VG_TEST(json_equal_and_clone)
{
    char err[128];
    const char *t = "{\"a\":[1,{\"b\":null}],\"c\":\"d\"}";
    struct vg_json *a = vg_json_parse(t, strlen(t), err, sizeof(err));
    struct vg_json *b = vg_json_clone(a);
    CHECK(vg_json_equal(a, b));
    vg_json_set_int(b, "c", 1);
    CHECK(!vg_json_equal(a, b));
    struct vg_json *i = vg_json_int(1), *d = vg_json_double(1.0);
    CHECK(vg_json_equal(i, d));
    vg_json_free(i);
    vg_json_free(d);
    vg_json_free(a);
    vg_json_free(b);
}

VG_TEST(sha256_and_uuid)
{
    uint8_t md[VG_SHA256_LEN];
    char hex[2 * VG_SHA256_LEN + 1];
    vg_sha256("abc", 3, md);
    vg_hex(md, sizeof(md), hex);
    CHECK_EQ_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

    char u[VG_UUID_STR_LEN];
    /* RFC 4122 / Python's uuid.uuid5(NAMESPACE_DNS, "python.org") */
    vg_uuid_v5(vg_uuid_ns_dns, "python.org", 10, u);
    CHECK_EQ_STR(u, "886313e1-3b8a-5372-9b90-0c9aee199e5d");
    /* the Vigil namespace is UUIDv5(DNS, "vigil.dev"), fixed */
    vg_uuid_v5(vg_uuid_ns_dns, "vigil.dev", 9, u);
    uint8_t raw[16];
    CHECK_EQ_INT(vg_uuid_parse(u, raw), 0);
    CHECK(memcmp(raw, vg_uuid_ns_vigil, 16) == 0);

    char a[VG_UUID_STR_LEN], b[VG_UUID_STR_LEN];
    CHECK_EQ_INT(vg_uuid_v4(a), VG_OK);
    CHECK_EQ_INT(vg_uuid_v4(b), VG_OK);
    CHECK(strcmp(a, b) != 0);
    CHECK_EQ_INT(strlen(a), 36);
    CHECK(a[14] == '4');
    CHECK(strchr("89ab", a[19]) != NULL);
    CHECK_EQ_INT(vg_uuid_parse("not-a-uuid", raw), -1);
}

VG_TEST(time_format_and_parse)
{
    char s[VG_TIME_RFC3339_LEN];
    vg_time_rfc3339(0, s);
    CHECK_EQ_STR(s, "1970-01-01T00:00:00.000Z");
    vg_time_rfc3339(1795687205123LL, s);
    CHECK_EQ_STR(s, "2026-11-26T10:00:05.123Z");
    int64_t ms;
    CHECK_EQ_INT(vg_time_parse("2026-11-26T10:00:05.123Z", &ms), 0);
    CHECK_EQ_INT(ms, 1795687205123LL);
    CHECK_EQ_INT(vg_time_parse("2026-11-26T12:00:05+02:00", &ms), 0);
    CHECK_EQ_INT(ms, 1795687205000LL);
    CHECK_EQ_INT(vg_time_parse("2027-06-30", &ms), 0);
    vg_time_rfc3339(ms, s);
    CHECK_EQ_STR(s, "2027-06-30T00:00:00.000Z");
    CHECK_EQ_INT(vg_time_parse("2024-02-29T00:00:00Z", &ms), 0);
    CHECK_EQ_INT(vg_time_parse("2026-13-01", &ms), -1);
    CHECK_EQ_INT(vg_time_parse("2026-11-26T10:00", &ms), -1);
    CHECK_EQ_INT(vg_time_parse("yesterday", &ms), -1);
    CHECK_EQ_INT(vg_time_parse("2026-11-26T10:00:05Zjunk", &ms), -1);
    CHECK(vg_time_now_ms() > 1700000000000LL);
}

VG_TEST(yaml_tree_and_marks)
{
    const char *text = "a: 1\nb:\n  - x\n  - 'y'\nc: {d: true}\n";
    char err[256];
    struct vg_ynode *root = vg_yaml_load_string("t.yml", text, strlen(text), err, sizeof(err));
    CHECK(root != NULL);
    if (!root)
        return;
    CHECK_EQ_INT(root->type, VG_YAML_MAP);
    struct vg_ynode *b = vg_yaml_get(root, "b");
    CHECK(b && b->type == VG_YAML_SEQ && b->n == 2);
    CHECK_EQ_INT(b->items[1]->line, 4);
    CHECK_EQ_INT(b->items[1]->col, 5);
    CHECK(b->items[1]->quoted);
    CHECK(!b->items[0]->quoted);
    struct vg_json *j = vg_yaml_to_json(root);
    char *s = dump(j);
    CHECK_EQ_STR(s, "{\"a\":1,\"b\":[\"x\",\"y\"],\"c\":{\"d\":true}}");
    free(s);
    vg_json_free(j);
    vg_yaml_free(root);
}

VG_TEST(yaml_scalar_resolution)
{
    const char *text = "[1, -2, 1.5, 1e3, true, False, null, ~, '1', \"true\", 5.1.20, 0x1F, no]";
    char err[256];
    struct vg_ynode *root = vg_yaml_load_string("t.yml", text, strlen(text), err, sizeof(err));
    CHECK(root != NULL);
    struct vg_json *j = vg_yaml_to_json(root);
    char *s = dump(j);
    /* YAML 1.2 core schema: "no" and 0x1F stay strings here */
    CHECK_EQ_STR(s, "[1,-2,1.5,1000.0,true,false,null,null,\"1\",\"true\",\"5.1.20\",\"0x1F\",\"no\"]");
    free(s);
    vg_json_free(j);
    vg_yaml_free(root);
}

VG_TEST(yaml_errors_have_positions)
{
    struct {
        const char *text, *expect;
    } cases[] = {
        { "a: 1\na: 2\n", "t.yml:2:1: duplicate key 'a'" },
        { "a: &x 1\nb: *x\n", "t.yml:1:4: anchors are not supported" },
        { "a: [1, 2\n", "t.yml:2:1:" },
        { "a: 1\n---\nb: 2\n", "t.yml:2:1: only one YAML document" },
        { "? [a]\n: 1\n", "t.yml:1:3: mapping keys must be scalars" },
        { "a:\n\tb: 1\n", "t.yml:2:1:" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[256] = "";
        struct vg_ynode *root =
            vg_yaml_load_string("t.yml", cases[i].text, strlen(cases[i].text), err, sizeof(err));
        CHECK(root == NULL);
        CHECK_CONTAINS(err, cases[i].expect);
        vg_yaml_free(root);
    }
    char err[256];
    struct vg_ynode *empty = vg_yaml_load_string("e.yml", "", 0, err, sizeof(err));
    CHECK(empty && empty->type == VG_YAML_MAP && empty->n == 0);
    vg_yaml_free(empty);
    CHECK(vg_yaml_load_file("/nonexistent.yml", 100, err, sizeof(err)) == NULL);
    CHECK_EQ_STR(err, "/nonexistent.yml:1:1: cannot read: no such file");
}

VG_TEST(yaml_depth_bound)
{
    char text[1024];
    size_t n = 0;
    for (int i = 0; i < VG_MAX_YAML_DEPTH + 2; i++)
        text[n++] = '[';
    for (int i = 0; i < VG_MAX_YAML_DEPTH + 2; i++)
        text[n++] = ']';
    char err[256];
    struct vg_ynode *root = vg_yaml_load_string("d.yml", text, n, err, sizeof(err));
    CHECK(root == NULL);
    CHECK_CONTAINS(err, "nesting deeper than");
}

struct captured {
    char last[512];
    int count;
};

static void capture(enum vg_log_level level, const char *area, const char *line, void *opaque)
{
    struct captured *c = opaque;
    snprintf(c->last, sizeof(c->last), "%s|%s|%s", vg_log_level_name(level), area, line);
    c->count++;
}

static int evaluated;
static int side_effect(void)
{
    return ++evaluated;
}

VG_TEST(log_levels_areas_sink)
{
    struct captured c = { "", 0 };
    vg_log_set_sink(capture, &c);
    vg_log_set_level(VG_LOG_WARN);
    vg_log(VG_LOG_INFO, "x", "hidden %d", side_effect());
    CHECK_EQ_INT(c.count, 0);
    CHECK_EQ_INT(evaluated, 0);   /* arguments not evaluated below the level */
    vg_log(VG_LOG_ERROR, "es", "item %d rejected:\n%s", 3, "why");
    CHECK_EQ_STR(c.last, "error|es|item 3 rejected: why");
    vg_log_set_debug("host,rules");
    vg_log(VG_LOG_DEBUG, "host", "seen");
    CHECK_EQ_STR(c.last, "debug|host|seen");
    vg_log(VG_LOG_DEBUG, "es", "not seen");
    CHECK_EQ_STR(c.last, "debug|host|seen");
    vg_log_set_debug("all");
    vg_log(VG_LOG_DEBUG, "es", "now seen");
    CHECK_EQ_STR(c.last, "debug|es|now seen");
    CHECK_EQ_INT(vg_log_level_parse("debug"), VG_LOG_DEBUG);
    CHECK_EQ_INT(vg_log_level_parse("verbose"), -1);
    vg_log_set_debug(NULL);
    vg_log_set_sink(NULL, NULL);
    vg_log_set_level(VG_LOG_INFO);
}

VG_TEST(json_pick)
{
    const char *t = "{\"event\":{\"kind\":\"state\",\"id\":\"abc\",\"n\":[1,{\"id\":\"no\"}]},"
                    "\"rule\":{\"id\":\"r.1\",\"tags\":[\"x\"]},\"a.b\":\"dotted\","
                    "\"resource\":{\"id\":\"q\\\"uoted\\u00e9\"},\"vigil\":{\"severity\":\"high\"},"
                    "\"event\":{\"id\":\"second\"},\"num\":5}";
    struct vg_json_pick pk[] = { { .path = "event.id" }, { .path = "rule.id" },
                                 { .path = "resource.id" }, { .path = "vigil.severity" },
                                 { .path = "num" }, { .path = "a.b" }, { .path = "missing.x" } };
    CHECK_EQ_INT(vg_json_pick(t, strlen(t), pk, 7), VG_OK);
    CHECK(pk[0].val && pk[0].len == 3 && memcmp(pk[0].val, "abc", 3) == 0);   /* the first */
    CHECK(pk[1].val && pk[1].len == 3 && memcmp(pk[1].val, "r.1", 3) == 0);
    CHECK(pk[3].val && pk[3].len == 4);
    CHECK(pk[4].val == NULL);   /* a number is no string... */
    struct vg_json_pick num[] = { { .path = "num", .number = true },
                                  { .path = "event.kind", .number = true } };
    CHECK_EQ_INT(vg_json_pick(t, strlen(t), num, 2), VG_OK);
    CHECK(num[0].val && num[0].len == 1 && num[0].val[0] == '5');   /* ...unless asked */
    CHECK(num[1].val && num[1].len == 5);   /* strings still are */
    CHECK(pk[5].val == NULL);   /* "a.b" is one key, not a path */
    CHECK(pk[6].val == NULL);
    /* raw content keeps escapes; decode gives the text */
    char buf[64];
    const char *s;
    long n = vg_json_pick_decode(&pk[2], buf, sizeof(buf), &s);
    CHECK_EQ_INT(n, 9);
    CHECK(n == 9 && memcmp(s, "q\"uoted\xc3\xa9", 9) == 0);
    CHECK_EQ_INT(vg_json_pick_decode(&pk[2], buf, 4, &s), -1);   /* does not fit */
    n = vg_json_pick_decode(&pk[1], buf, sizeof(buf), &s);
    CHECK(n == 3 && s == pk[1].val);   /* no escape: the text itself */
    CHECK_EQ_INT(vg_json_pick_decode(&pk[4], buf, sizeof(buf), &s), -1);

    /* not an object, malformed where read, truncated at every byte */
    CHECK_EQ_INT(vg_json_pick("[1]", 3, pk, 1), VG_ERR_PARSE);
    CHECK_EQ_INT(vg_json_pick("", 0, pk, 1), VG_ERR_PARSE);
    CHECK_EQ_INT(vg_json_pick("{\"event\" \"x\"}", 14, pk, 1), VG_ERR_PARSE);
    size_t len = strlen(t);
    for (size_t cut = 0; cut < len; cut++) {
        struct vg_json_pick q[] = { { .path = "num" } };   /* the last member: read it all */
        CHECK_EQ_INT(vg_json_pick(t, cut, q, 1), VG_ERR_PARSE);
    }
    /* reading stops once everything is found: garbage after it is not read */
    const char *early = "{\"event\":{\"id\":\"x\"},\"rest\":[[[[";
    struct vg_json_pick one[] = { { .path = "event.id" } };
    CHECK_EQ_INT(vg_json_pick(early, strlen(early), one, 1), VG_OK);
    struct vg_json_pick many[VG_JSON_PICK_MAX + 1];
    for (size_t i = 0; i <= VG_JSON_PICK_MAX; i++)
        many[i].path = "a";
    CHECK_EQ_INT(vg_json_pick("{}", 2, many, VG_JSON_PICK_MAX + 1), VG_ERR_INVALID);
}

VG_TEST_MAIN()
