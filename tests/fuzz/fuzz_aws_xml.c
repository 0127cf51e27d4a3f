/* Fuzz target: the AWS XML-to-JSON converter, and the other parsers of
 * what AWS (or a file in ~/.aws) sends: XML and JSON error answers, the
 * shared credentials/config files. Every input goes through all of them.
 * A converted document must dump, and the dump must parse back; a
 * failure must be the one-line "XML error at line L column C: ..." form. */
#include "agent/buf.h"
#include "agent/json.h"
#include "checks/aws/aws.h"
#include "checks/aws/creds.h"
#include "checks/aws/xml.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const lists[] = { "Users", "Buckets", "securityGroupInfo", "ipPermissions",
                                     "ipRanges", "tagSet", NULL };
static const char *const arrays[] = { "Rule", "Bucket", "member", NULL };
static const char *const bools[] = { "IsTruncated", "BucketKeyEnabled", NULL };
static const char *const ints[] = { "fromPort", "toPort", "value", NULL };

static void convert(const char *text, size_t size, const struct vg_aws_xml_opts *o)
{
    char err[256] = "", root[64];
    struct vg_json *v = vg_aws_xml_parse(text, size, o, root, sizeof(root), err, sizeof(err));
    if (!v) {
        if (strncmp(err, "XML error", 9) != 0 || strchr(err, '\n'))
            abort();   /* every failure says what and where, on one line */
        return;
    }
    struct vg_buf b;
    vg_buf_init(&b, 1u << 27);
    if (vg_json_dump(v, &b) == VG_OK) {
        struct vg_json *w = vg_json_parse(b.data, b.len, err, sizeof(err));
        if (!w)
            abort();   /* what we generate must parse */
        vg_json_free(w);
    }
    vg_buf_free(&b);
    vg_json_free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    struct vg_aws_xml_opts hinted = { .lists = lists, .arrays = arrays, .bools = bools,
                                      .ints = ints, .unwrap = "ListUsersResult" };
    convert(text, size, NULL);
    convert(text, size, &hinted);

    struct vg_aws_error e;
    memset(&e, 0, sizeof(e));
    if (vg_aws_xml_error(text, size, &e) == VG_OK && !e.code[0])
        abort();       /* success means a code */
    memset(&e, 0, sizeof(e));
    vg_aws_json_error(text, size, NULL, &e);
    vg_aws_error_finish(&e, "fuzz:Op", "http://x/", 1, NULL);
    if (!e.text[0] || strchr(e.text, '\n'))
        abort();

    char err[256];
    for (int config = 0; config < 2; config++) {
        struct vg_json *ini = vg_aws_ini_parse(text, size, "fuzz", config, err, sizeof(err));
        vg_json_free(ini);
    }
    return 0;
}
