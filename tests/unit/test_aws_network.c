/*
 * The pure logic of the network and monitoring collectors (checks/aws/
 * derive.h): CIDRs and their coverage, protocol names, security group and
 * network ACL documents (rule order!), the CIS root usage filter pattern;
 * and the shipped AWS-2 rules (aws-network.yml, aws-data.yml,
 * aws-security.yml) evaluated on such documents, loaded against the
 * framework catalogues.
 */
#include "vgtest.h"

#include "agent/json.h"
#include "checks/aws/derive.h"
#include "checks/framework.h"
#include "checks/resource.h"
#include "checks/rule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct vg_json *parse(const char *text)
{
    char err[256];
    struct vg_json *v = vg_json_parse(text, strlen(text), err, sizeof(err));
    if (!v)
        VG_FAIL_AT("bad test JSON: %s: %s", err, text);
    return v;
}

static char *dump(const struct vg_json *v)
{
    struct vg_buf b;
    vg_buf_init(&b, 1u << 20);
    vg_json_dump(v, &b);
    char *s = vg_buf_detach(&b);
    vg_buf_free(&b);
    return s;
}

/* ---- CIDRs ---------------------------------------------------------------- */

VG_TEST(cidr_parse)
{
    struct vg_aws_cidr c;
    CHECK(vg_aws_cidr_parse("0.0.0.0/0", &c));
    CHECK_EQ_INT(c.family, 4);
    CHECK_EQ_INT(c.len, 0);
    CHECK(vg_aws_cidr_parse("10.1.2.3/8", &c));   /* host bits kept as AWS keeps them */
    CHECK_EQ_INT(c.len, 8);
    CHECK_EQ_INT(c.addr[0], 10);
    CHECK(vg_aws_cidr_parse("::/0", &c));
    CHECK_EQ_INT(c.family, 6);
    CHECK_EQ_INT(c.len, 0);
    CHECK(vg_aws_cidr_parse("2001:db8::/32", &c));
    CHECK_EQ_INT(c.len, 32);
    CHECK(vg_aws_cidr_parse("192.0.2.1", &c));
    CHECK_EQ_INT(c.len, 32);
    CHECK(vg_aws_cidr_parse("::1", &c));
    CHECK_EQ_INT(c.len, 128);
    /* hostile and malformed */
    static const char *const bad[] = {
        "", "/", "/0", "1.2.3.4/", "1.2.3.4/33", "::/129", "1.2.3.4/-1", "1.2.3.4/0x1",
        "1.2.3/8", "1.2.3.4.5/8", "a.b.c.d/8", "1.2.3.4/8/8", "1.2.3.4/ 8", " 1.2.3.4/8",
        "1.2.3.4/0008", "256.0.0.0/8", "::g/8", "0.0.0.0/00000000000000000000000000000",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (vg_aws_cidr_parse(bad[i], &c))
            VG_FAIL_AT("'%s' parsed", bad[i]);
    CHECK(!vg_aws_cidr_parse(NULL, &c));
    char big[300];
    memset(big, '1', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    CHECK(!vg_aws_cidr_parse(big, &c));
}

static bool cover(const char *const *list, size_t n, int family)
{
    struct vg_aws_cidr nets[16];
    for (size_t i = 0; i < n; i++)
        if (!vg_aws_cidr_parse(list[i], &nets[i]))
            VG_FAIL_AT("bad CIDR %s", list[i]);
    return vg_aws_cidrs_cover_all(nets, n, family);
}

VG_TEST(cidr_cover_all)
{
    const char *all[] = { "0.0.0.0/0" };
    CHECK(cover(all, 1, 4));
    CHECK(!cover(all, 1, 6));      /* an IPv4 range covers nothing of IPv6 */
    const char *halves[] = { "0.0.0.0/1", "128.0.0.0/1" };
    CHECK(cover(halves, 2, 4));
    CHECK(!cover(halves, 1, 4));
    const char *quarters[] = { "0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/2", "192.0.0.0/2" };
    CHECK(cover(quarters, 4, 4));
    CHECK(!cover(quarters, 3, 4));
    const char *gap[] = { "0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/3", "224.0.0.0/4",
                          "240.0.0.0/5", "248.0.0.0/6", "252.0.0.0/7", "254.0.0.0/8",
                          "255.0.0.0/9", "255.128.0.0/10" };
    CHECK(!cover(gap, 10, 4));
    const char *v6[] = { "::/1", "8000::/1" };
    CHECK(cover(v6, 2, 6));
    const char *v6gap[] = { "::/1", "8000::/2" };
    CHECK(!cover(v6gap, 2, 6));
    const char *mixed[] = { "0.0.0.0/1", "::/0", "128.0.0.0/1" };
    CHECK(cover(mixed, 3, 4));
    CHECK(cover(mixed, 3, 6));
    /* host bits set in a narrower range do not make it broader */
    const char *hostbits[] = { "10.0.0.1/1", "200.0.0.0/1" };
    CHECK(cover(hostbits, 2, 4));
    CHECK(!vg_aws_cidrs_cover_all(NULL, 0, 4));
    /* many disjoint /32s: bounded work, not covering */
    struct vg_aws_cidr *many = calloc(VG_AWS_MAX_RULE_CIDRS, sizeof(*many));
    CHECK(many != NULL);
    if (many) {
        for (int i = 0; i < VG_AWS_MAX_RULE_CIDRS; i++) {
            char s[32];
            snprintf(s, sizeof(s), "10.%d.%d.1/32", i / 256, i % 256);
            vg_aws_cidr_parse(s, &many[i]);
        }
        CHECK(!vg_aws_cidrs_cover_all(many, VG_AWS_MAX_RULE_CIDRS, 4));
        free(many);
    }
}

VG_TEST(proto_names)
{
    CHECK_EQ_STR(vg_aws_proto_name("6"), "tcp");
    CHECK_EQ_STR(vg_aws_proto_name("TCP"), "tcp");
    CHECK_EQ_STR(vg_aws_proto_name("17"), "udp");
    CHECK_EQ_STR(vg_aws_proto_name("1"), "icmp");
    CHECK_EQ_STR(vg_aws_proto_name("58"), "icmpv6");
    CHECK_EQ_STR(vg_aws_proto_name("-1"), "-1");
    CHECK_EQ_STR(vg_aws_proto_name("all"), "-1");
    CHECK_EQ_STR(vg_aws_proto_name(NULL), "-1");
    CHECK_EQ_STR(vg_aws_proto_name("50"), "50");
}

/* ---- security group documents -------------------------------------------- */

VG_TEST(sg_doc_shape)
{
    struct vg_json *item = parse(
        "{\"groupId\":\"sg-1\",\"groupName\":\"web\",\"groupDescription\":\"d\",\"vpcId\":\"vpc-1\","
        "\"ipPermissions\":["
        " {\"ipProtocol\":\"tcp\",\"fromPort\":443,\"toPort\":443,\"groups\":[],"
        "  \"ipRanges\":[{\"cidrIp\":\"0.0.0.0/0\"}],\"ipv6Ranges\":[{\"cidrIpv6\":\"::/0\"}],"
        "  \"prefixListIds\":[]},"
        " {\"ipProtocol\":\"6\",\"fromPort\":\"22\",\"toPort\":\"22\","
        "  \"ipRanges\":[{\"cidrIp\":\"10.0.0.0/8\"},{\"cidrIp\":\"203.0.113.0/24\"}],"
        "  \"groups\":[{\"groupId\":\"sg-2\"}],\"prefixListIds\":[{\"prefixListId\":\"pl-1\"}]},"
        " {\"ipProtocol\":\"-1\",\"ipRanges\":[{\"cidrIp\":\"0.0.0.0/1\"},{\"cidrIp\":\"128.0.0.0/1\"}]},"
        " {\"ipProtocol\":\"udp\",\"fromPort\":53,\"toPort\":53,\"ipRanges\":\"\"}"
        "],\"ipPermissionsEgress\":[{\"ipProtocol\":\"-1\",\"ipRanges\":[{\"cidrIp\":\"0.0.0.0/0\"}]}]}");
    struct vg_json *d = vg_aws_sg_doc(item);
    CHECK(d != NULL);
    char *s = dump(d);
    CHECK_CONTAINS(s, "\"group_id\":\"sg-1\",\"group_name\":\"web\",\"description\":\"d\","
                      "\"vpc_id\":\"vpc-1\",\"is_default\":false");
    CHECK_CONTAINS(s, "{\"ip_protocol\":\"tcp\",\"from_port\":22,\"to_port\":22,"
                      "\"ipv4_ranges\":[\"10.0.0.0/8\",\"203.0.113.0/24\"],\"ipv6_ranges\":[],"
                      "\"prefix_lists\":[\"pl-1\"],\"groups\":[\"sg-2\"]}");
    CHECK_CONTAINS(s, "\"egress\":[{\"ip_protocol\":\"-1\",\"ipv4_ranges\":[\"0.0.0.0/0\"]");
    /* internet_ingress: 443 in both families, the -1 rule through the
     * covering halves, nothing for 22 (10/8 and a /24 are not the internet),
     * nothing for the rule with a malformed (empty) range list */
    CHECK_CONTAINS(s, "\"internet_ingress\":["
                      "{\"ip_protocol\":\"tcp\",\"from_port\":443,\"to_port\":443,\"source\":\"0.0.0.0/0\"},"
                      "{\"ip_protocol\":\"tcp\",\"from_port\":443,\"to_port\":443,\"source\":\"::/0\"},"
                      "{\"ip_protocol\":\"-1\",\"source\":\"0.0.0.0/1,128.0.0.0/1\"}]");
    free(s);
    vg_json_free(d);
    vg_json_free(item);

    item = parse("{\"groupId\":\"sg-3\",\"groupName\":\"default\"}");
    d = vg_aws_sg_doc(item);
    s = dump(d);
    CHECK_EQ_STR(s, "{\"group_id\":\"sg-3\",\"group_name\":\"default\",\"is_default\":true,"
                    "\"ingress\":[],\"egress\":[],\"internet_ingress\":[]}");
    free(s);
    vg_json_free(d);
    vg_json_free(item);

    /* hostile shapes: nothing crashes, wrong types read as nothing */
    static const char *const odd[] = {
        "{}", "[]", "\"x\"", "{\"ipPermissions\":{\"a\":1}}", "{\"ipPermissions\":[1,\"x\",null]}",
        "{\"ipPermissions\":[{\"ipRanges\":[1,{\"cidrIp\":7},{\"cidrIp\":\"0.0.0.0/0\"}]}]}",
        "{\"ipPermissions\":[{\"ipProtocol\":\"tcp\",\"fromPort\":\"x\",\"toPort\":[],"
        "\"ipRanges\":[{\"cidrIp\":\"::/0\"}]}]}",
    };
    for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
        item = parse(odd[i]);
        d = vg_aws_sg_doc(item);
        if (!d)
            VG_FAIL_AT("no document for %s", odd[i]);
        vg_json_free(d);
        vg_json_free(item);
    }
    /* a -1 rule from a range given with no protocol is all traffic */
    item = parse("{\"ipPermissions\":[{\"ipRanges\":[{\"cidrIp\":\"0.0.0.0/0\"}]}]}");
    d = vg_aws_sg_doc(item);
    s = dump(d);
    CHECK_CONTAINS(s, "\"internet_ingress\":[{\"ip_protocol\":\"-1\",\"source\":\"0.0.0.0/0\"}]");
    free(s);
    vg_json_free(d);
    vg_json_free(item);
}

/* ---- network ACL documents: rule order ------------------------------------- */

/* An ACL of inbound entries "NUM ACTION PROTO CIDR FROM TO" (FROM -1: no
 * port range). */
static struct vg_json *acl(const char *const *entries, size_t n)
{
    struct vg_buf b;
    vg_buf_init(&b, 1u << 16);
    vg_buf_appends(&b, "{\"networkAclId\":\"acl-1\",\"vpcId\":\"vpc-1\",\"default\":false,"
                       "\"associationSet\":[{\"subnetId\":\"subnet-1\"}],\"entrySet\":[");
    for (size_t i = 0; i < n; i++) {
        long num, from, to;
        char action[8], proto[8], cidr[64];
        if (sscanf(entries[i], "%ld %7s %7s %63s %ld %ld", &num, action, proto, cidr, &from,
                   &to) != 6) {
            VG_FAIL_AT("bad entry %s", entries[i]);
            continue;
        }
        vg_buf_printf(&b, "%s{\"ruleNumber\":%ld,\"ruleAction\":\"%s\",\"protocol\":\"%s\","
                          "\"egress\":false,\"%s\":\"%s\"",
                      i ? "," : "", num, action, proto,
                      strchr(cidr, ':') ? "ipv6CidrBlock" : "cidrBlock", cidr);
        if (from >= 0)
            vg_buf_printf(&b, ",\"portRange\":{\"from\":%ld,\"to\":%ld}", from, to);
        vg_buf_appends(&b, "}");
    }
    vg_buf_appends(&b, n ? "," : "");
    vg_buf_appends(&b, "{\"ruleNumber\":100,\"ruleAction\":\"allow\",\"protocol\":\"-1\","
                       "\"egress\":true,\"cidrBlock\":\"0.0.0.0/0\"}]}");
    struct vg_json *item = parse(vg_buf_str(&b));
    vg_buf_free(&b);
    struct vg_json *d = vg_aws_nacl_doc(item);
    vg_json_free(item);
    return d;
}

/* The decision for (port, proto, family): 1 allowed, 0 not, -1 missing;
 * its deciding rule number into *by (-1: none). */
static int decision(const struct vg_json *d, long port, const char *proto, const char *family,
                    long *by)
{
    const struct vg_json *ds = vg_json_get(d, "internet_admin_ports");
    for (size_t i = 0; i < vg_json_len(ds); i++) {
        const struct vg_json *x = vg_json_at(ds, i);
        if (vg_json_get_int(vg_json_get(x, "port")) == port &&
            !strcmp(vg_json_get_str(vg_json_get(x, "protocol")), proto) &&
            !strcmp(vg_json_get_str(vg_json_get(x, "family")), family)) {
            const struct vg_json *rn = vg_json_get(x, "rule_number");
            *by = rn ? (long)vg_json_get_int(rn) : -1;
            return vg_json_get_bool(vg_json_get(x, "allowed"));
        }
    }
    *by = -2;
    return -1;
}

#define DECIDES(d, port, proto, fam, want, wantby)                                       \
    do {                                                                                \
        long by_;                                                                       \
        CHECK_EQ_INT(decision(d, port, proto, fam, &by_), want);                        \
        CHECK_EQ_INT(by_, wantby);                                                      \
    } while (0)

VG_TEST(nacl_rule_order)
{
    /* a deny before the allow closes the port; the order AWS lists them in
     * does not matter, only the numbers */
    const char *denyfirst[] = { "100 allow -1 0.0.0.0/0 -1 -1", "90 deny 6 0.0.0.0/0 22 22",
                                "32767 deny -1 0.0.0.0/0 -1 -1" };
    struct vg_json *d = acl(denyfirst, 3);
    DECIDES(d, 22, "tcp", "ipv4", 0, 90);
    DECIDES(d, 3389, "tcp", "ipv4", 1, 100);
    DECIDES(d, 3389, "udp", "ipv4", 1, 100);
    DECIDES(d, 22, "tcp", "ipv6", 0, -1);     /* no IPv6 entry: implicitly denied */
    char *s = dump(d);
    /* the documents list entries by rule number, egress apart */
    CHECK_CONTAINS(s, "\"inbound\":[{\"rule_number\":90,\"rule_action\":\"deny\",\"protocol\":\"tcp\","
                      "\"cidr\":\"0.0.0.0/0\",\"port_from\":22,\"port_to\":22},"
                      "{\"rule_number\":100,");
    CHECK_CONTAINS(s, "\"outbound\":[{\"rule_number\":100,\"rule_action\":\"allow\"");
    CHECK_CONTAINS(s, "\"subnets\":[\"subnet-1\"]");
    CHECK_CONTAINS(s, "\"reason\":\"the first matching entry from the internet denies\"");
    free(s);
    vg_json_free(d);

    /* the allow before the deny: open */
    const char *allowfirst[] = { "110 deny 6 0.0.0.0/0 22 22", "100 allow -1 0.0.0.0/0 -1 -1" };
    d = acl(allowfirst, 2);
    DECIDES(d, 22, "tcp", "ipv4", 1, 100);
    vg_json_free(d);

    /* a deny of another protocol or port does not close it */
    const char *otherproto[] = { "90 deny 17 0.0.0.0/0 22 22", "91 deny 6 0.0.0.0/0 23 3388",
                                 "100 allow 6 0.0.0.0/0 0 65535" };
    d = acl(otherproto, 3);
    DECIDES(d, 22, "tcp", "ipv4", 1, 100);
    DECIDES(d, 3389, "tcp", "ipv4", 1, 100);
    DECIDES(d, 3389, "udp", "ipv4", 0, -1);
    vg_json_free(d);

    /* a narrower deny first leaves the rest of the internet open */
    const char *narrowdeny[] = { "90 deny 6 198.51.100.0/24 22 22", "100 allow 6 0.0.0.0/0 22 22" };
    d = acl(narrowdeny, 2);
    DECIDES(d, 22, "tcp", "ipv4", 1, 100);
    vg_json_free(d);

    /* narrower denies that together cover everything close it */
    const char *halves[] = { "10 deny -1 0.0.0.0/1 -1 -1", "20 deny 6 128.0.0.0/1 0 65535",
                             "100 allow -1 0.0.0.0/0 -1 -1" };
    d = acl(halves, 3);
    DECIDES(d, 22, "tcp", "ipv4", 0, 100);
    DECIDES(d, 3389, "udp", "ipv4", 1, 100);    /* the second half denies tcp only */
    vg_json_free(d);

    /* a narrower allow is not the internet; the /0 deny after it decides */
    const char *narrowallow[] = { "100 allow 6 10.0.0.0/8 22 22", "32767 deny -1 0.0.0.0/0 -1 -1" };
    d = acl(narrowallow, 2);
    DECIDES(d, 22, "tcp", "ipv4", 0, 32767);
    vg_json_free(d);

    /* IPv6 entries decide IPv6 only; a port range covering 3389 */
    const char *v6[] = { "100 allow 6 ::/0 3380 3390", "101 allow 17 0.0.0.0/0 3389 3389" };
    d = acl(v6, 2);
    DECIDES(d, 3389, "tcp", "ipv6", 1, 100);
    DECIDES(d, 22, "tcp", "ipv6", 0, -1);
    DECIDES(d, 3389, "tcp", "ipv4", 0, -1);
    DECIDES(d, 3389, "udp", "ipv4", 1, 101);
    vg_json_free(d);

    /* no entries at all */
    d = acl(NULL, 0);
    DECIDES(d, 22, "tcp", "ipv4", 0, -1);
    s = dump(d);
    CHECK_CONTAINS(s, "\"reason\":\"no inbound entry matches: denied\"");
    free(s);
    vg_json_free(d);
}

VG_TEST(nacl_hostile)
{
    static const char *const odd[] = {
        "{}", "[]", "{\"entrySet\":\"\"}", "{\"entrySet\":[1,null,\"x\",[]]}",
        "{\"entrySet\":[{\"ruleNumber\":\"x\",\"ruleAction\":\"allow\",\"cidrBlock\":\"0.0.0.0/0\"}]}",
        "{\"entrySet\":[{\"ruleNumber\":1,\"ruleAction\":\"allow\",\"protocol\":\"6\","
        "\"cidrBlock\":\"bogus\",\"portRange\":{\"from\":22,\"to\":22}}]}",
        "{\"entrySet\":[{\"ruleNumber\":1,\"ruleAction\":\"allow\",\"protocol\":\"6\","
        "\"cidrBlock\":\"0.0.0.0/0\",\"portRange\":\"\"}]}",
        "{\"entrySet\":[{\"ruleNumber\":1,\"ruleAction\":\"ALLOW\",\"protocol\":\"6\","
        "\"cidrBlock\":\"0.0.0.0/0\",\"portRange\":{\"from\":\"22\"}}]}",
    };
    for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
        struct vg_json *item = parse(odd[i]);
        struct vg_json *d = vg_aws_nacl_doc(item);
        if (!d)
            VG_FAIL_AT("no document for %s", odd[i]);
        vg_json_free(d);
        vg_json_free(item);
    }
    /* a tcp entry without a port range is every port; ALLOW in capitals
     * allows; a from without a to is the one port */
    struct vg_json *item = parse(
        "{\"entrySet\":[{\"ruleNumber\":1,\"ruleAction\":\"ALLOW\",\"protocol\":\"6\","
        "\"cidrBlock\":\"0.0.0.0/0\",\"portRange\":{\"from\":\"22\"}}]}");
    struct vg_json *d = vg_aws_nacl_doc(item);
    DECIDES(d, 22, "tcp", "ipv4", 1, 1);
    DECIDES(d, 3389, "tcp", "ipv4", 0, -1);
    vg_json_free(d);
    vg_json_free(item);
    /* more entries than any ACL may have: bounded, still decided */
    struct vg_buf b;
    vg_buf_init(&b, 1u << 22);
    vg_buf_appends(&b, "{\"entrySet\":[");
    for (int i = 0; i < 5000; i++)
        vg_buf_printf(&b, "%s{\"ruleNumber\":%d,\"ruleAction\":\"deny\",\"protocol\":\"6\","
                          "\"cidrBlock\":\"10.%d.%d.0/24\",\"portRange\":{\"from\":22,\"to\":22}}",
                      i ? "," : "", i + 1, i / 256, i % 256);
    vg_buf_appends(&b, "]}");
    item = parse(vg_buf_str(&b));
    vg_buf_free(&b);
    d = vg_aws_nacl_doc(item);
    CHECK(d != NULL);
    DECIDES(d, 22, "tcp", "ipv4", 0, -1);
    CHECK_EQ_INT((long)vg_json_len(vg_json_get(d, "inbound")), VG_AWS_MAX_ACL_ENTRIES);
    vg_json_free(d);
    vg_json_free(item);
}

/* ---- the CIS root usage filter pattern ------------------------------------- */

VG_TEST(root_usage_pattern)
{
    static const char *const yes[] = {
        "{ $.userIdentity.type = \"Root\" && $.userIdentity.invokedBy NOT EXISTS && "
        "$.eventType != \"AwsServiceEvent\" }",
        "{$.userIdentity.type=\"Root\"&&$.userIdentity.invokedBy NOT EXISTS&&$.eventType!="
        "\"AwsServiceEvent\"}",
        "  {  $.eventType != \"AwsServiceEvent\" && $.userIdentity.type = Root && "
        "$.userIdentity.invokedBy   NOT   EXISTS }  ",
        "{ ($.userIdentity.type = \"Root\") && ($.userIdentity.invokedBy NOT EXISTS) && "
        "($.eventType != \"AwsServiceEvent\") }",
        /* broader: every root action still matches */
        "{ $.userIdentity.type = \"Root\" }",
        "{ $.userIdentity.type = \"Root\" && $.userIdentity.invokedBy NOT EXISTS }",
        "{ ($.userIdentity.type = \"Root\" && $.eventType != \"AwsServiceEvent\") || "
        "$.eventName = \"ConsoleLogin\" }",
        "{ $.userIdentity.type = \"Root\" && ($.eventType != \"AwsServiceEvent\" || "
        "$.sourceIPAddress = \"1.2.3.4\") }",
    };
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        if (!vg_aws_root_usage_pattern(yes[i]))
            VG_FAIL_AT("not matched: %s", yes[i]);
    static const char *const no[] = {
        /* narrower: a root action from elsewhere is missed */
        "{ $.userIdentity.type = \"Root\" && $.sourceIPAddress = \"1.2.3.4\" }",
        "{ $.userIdentity.type = \"Root\" && $.userIdentity.invokedBy NOT EXISTS && "
        "$.eventType != \"AwsServiceEvent\" && $.awsRegion = \"us-east-1\" }",
        /* not about root */
        "{ $.userIdentity.invokedBy NOT EXISTS && $.eventType != \"AwsServiceEvent\" }",
        "{ $.userIdentity.type = \"IAMUser\" }",
        "{ $.userIdentity.type = \"root\" }",          /* values are case-sensitive */
        "{ $.userIdentity.type != \"Root\" }",
        "{ $.userIdentity.type = \"Root\" || $.eventName = \"X\" } extra",
        /* malformed */
        "", "{}", "{ }", "$.userIdentity.type = \"Root\"", "{ $.userIdentity.type = \"Root }",
        "{ ($.userIdentity.type = \"Root\" }", "{ $.userIdentity.type = \"Root\") }",
        "{ && $.userIdentity.type = \"Root\" }", "{ $.userIdentity.type = \"Root\" && }",
        "{ $.userIdentity.type = \"Root\" &&& x }", "Root",
        "\"Root\"", "{ \"$.userIdentity.type = Root\" }x",
    };
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        if (vg_aws_root_usage_pattern(no[i]))
            VG_FAIL_AT("matched: %s", no[i]);
    CHECK(!vg_aws_root_usage_pattern(NULL));
    /* deep nesting and long input: a clear no, no crash */
    struct vg_buf b;
    vg_buf_init(&b, 1u << 20);
    vg_buf_appends(&b, "{ ");
    for (int i = 0; i < 10000; i++)
        vg_buf_appends(&b, "(");
    vg_buf_appends(&b, "$.userIdentity.type = \"Root\"");
    for (int i = 0; i < 10000; i++)
        vg_buf_appends(&b, ")");
    vg_buf_appends(&b, " }");
    CHECK(!vg_aws_root_usage_pattern(vg_buf_str(&b)));
    vg_buf_reset(&b);
    vg_buf_appends(&b, "{ $.userIdentity.type = \"Root\"");
    for (int i = 0; i < 20000; i++)
        vg_buf_appends(&b, " || $.a = \"b\"");
    vg_buf_appends(&b, " }");
    CHECK(vg_aws_root_usage_pattern(vg_buf_str(&b)));
    vg_buf_reset(&b);
    vg_buf_appends(&b, "{ $.userIdentity.type = \"");
    for (int i = 0; i < 5000; i++)
        vg_buf_appends(&b, "Root");
    vg_buf_appends(&b, "\" }");
    CHECK(!vg_aws_root_usage_pattern(vg_buf_str(&b)));
    vg_buf_free(&b);
}

/* ---- the shipped rules on documents ------------------------------------------ */

static struct vg_ruleset *g_rules;
static struct vg_catalog *g_cat;

static void free_rules(void)
{
    vg_ruleset_destroy(g_rules);
    vg_catalog_destroy(g_cat);
}

static const struct vg_ruleset *rules(void)
{
    if (g_rules)
        return g_rules;
    atexit(free_rules);
    const char *src = getenv("VG_SOURCE_DIR");
    char path[4096], err[1024];
    g_cat = vg_catalog_new();
    g_rules = vg_ruleset_new();
    snprintf(path, sizeof(path), "%s/checks/frameworks", src ? src : ".");
    if (vg_catalog_load_path(g_cat, path, err, sizeof(err)))
        VG_FAIL_AT("catalogue: %s", err);
    vg_ruleset_set_catalog(g_rules, g_cat);
    static const char *const files[] = { "aws-network.yml", "aws-data.yml", "aws-security.yml" };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(path, sizeof(path), "%s/checks/rules/%s", src ? src : ".", files[i]);
        if (vg_ruleset_load_path(g_rules, path, err, sizeof(err)))
            VG_FAIL_AT("%s", err);
    }
    return g_rules;
}

static char g_reason[VG_MAX_REASON];

/* Evaluates rule id on a resource of type type with document doc (taken). */
static int eval_doc(const char *id, const char *type, struct vg_json *doc)
{
    const struct vg_rule *r = vg_ruleset_find(rules(), id);
    g_reason[0] = '\0';
    if (!r) {
        VG_FAIL_AT("no rule %s", id);
        vg_json_free(doc);
        return -1;
    }
    if (strcmp(r->resource, type))
        VG_FAIL_AT("rule %s is for %s, not %s", id, r->resource, type);
    struct vg_resource *res = vg_resource_new(type, "arn:test", "test", "networking", "test");
    if (!res || !doc) {
        vg_resource_destroy(res);
        vg_json_free(doc);
        return -1;
    }
    vg_json_free(res->doc);
    res->doc = doc;
    struct vg_eval_result out;
    int rc = -1;
    if (vg_rule_eval(r, res, &out) == VG_OK) {
        rc = (int)out.evaluation;
        snprintf(g_reason, sizeof(g_reason), "%s", out.reason);
        vg_eval_result_clear(&out);
    }
    vg_resource_destroy(res);
    return rc;
}

#define P VG_EVAL_PASSED
#define F VG_EVAL_FAILED
#define U VG_EVAL_UNKNOWN

VG_TEST(rules_load)
{
    const struct vg_ruleset *rs = rules();
    CHECK_EQ_INT((long)vg_ruleset_count(rs), 17);
    for (size_t i = 0; i < vg_ruleset_count(rs); i++) {
        const struct vg_rule *r = vg_ruleset_at(rs, i);
        CHECK(!strncmp(r->id, "aws.", 4));
        CHECK(r->nreferences >= 1);
        CHECK_CONTAINS(r->remediation, "aws ");
        /* NIST CSF 2.0 ids only */
        const struct vg_json *csf = vg_json_get(r->frameworks, "nist_csf_2.0");
        CHECK(vg_json_len(csf) >= 1);
        for (size_t k = 0; k < vg_json_len(csf); k++)
            if (strstr(vg_json_get_str(vg_json_at(csf, k)), ".AC-") ||
                strstr(vg_json_get_str(vg_json_at(csf, k)), ".IP-"))
                VG_FAIL_AT("%s maps CSF 1.1 id", r->id);
        /* ISO A.8.11 is data masking, A.8.1 user endpoint devices */
        const struct vg_json *iso = vg_json_get(r->frameworks, "iso27001_2022");
        for (size_t k = 0; k < vg_json_len(iso); k++) {
            const char *c = vg_json_get_str(vg_json_at(iso, k));
            if (!strcmp(c, "A.8.11") || !strcmp(c, "A.8.1"))
                VG_FAIL_AT("%s maps %s", r->id, c);
        }
    }
}

/* The four security group rules on one group of ingress rules. */
static void sg_rules(const char *perms, int ssh, int rdp, int all, int allowed)
{
    char text[4096];
    snprintf(text, sizeof(text), "{\"groupId\":\"sg-1\",\"groupName\":\"g\",\"ipPermissions\":%s}",
             perms);
    struct vg_json *item = parse(text);
    static const char *const ids[] = {
        "aws.ec2.security_group_ssh_from_internet", "aws.ec2.security_group_rdp_from_internet",
        "aws.ec2.security_group_all_ports_from_internet",
        "aws.ec2.security_group_internet_ports_allowed" };
    int want[] = { ssh, rdp, all, allowed };
    for (int i = 0; i < 4; i++) {
        int got = eval_doc(ids[i], "aws.ec2.security-group", vg_aws_sg_doc(item));
        if (got != want[i])
            VG_FAIL_AT("%s on %s: %d, expected %d (%s)", ids[i], perms, got, want[i], g_reason);
    }
    vg_json_free(item);
}

VG_TEST(rules_security_groups)
{
    sg_rules("[]", P, P, P, P);
    sg_rules("[{\"ipProtocol\":\"tcp\",\"fromPort\":443,\"toPort\":443,"
             "\"ipRanges\":[{\"cidrIp\":\"0.0.0.0/0\"}],\"ipv6Ranges\":[{\"cidrIpv6\":\"::/0\"}]}]",
             P, P, P, P);
    sg_rules("[{\"ipProtocol\":\"tcp\",\"fromPort\":22,\"toPort\":22,"
             "\"ipRanges\":[{\"cidrIp\":\"0.0.0.0/0\"}]}]", F, P, P, F);
    CHECK_CONTAINS(g_reason, "port 22");
    sg_rules("[{\"ipProtocol\":\"tcp\",\"fromPort\":22,\"toPort\":22,"
             "\"ipRanges\":[{\"cidrIp\":\"10.0.0.0/8\"}]}]", P, P, P, P);
    sg_rules("[{\"ipProtocol\":\"tcp\",\"fromPort\":3389,\"toPort\":3389,"
             "\"ipv6Ranges\":[{\"cidrIpv6\":\"::/0\"}]}]", P, F, P, F);
    sg_rules("[{\"ipProtocol\":\"udp\",\"fromPort\":3389,\"toPort\":3389,"
             "\"ipRanges\":[{\"cidrIp\":\"0.0.0.0/0\"}]}]", P, F, P, F);
    sg_rules("[{\"ipProtocol\":\"udp\",\"fromPort\":22,\"toPort\":22,"
             "\"ipRanges\":[{\"cidrIp\":\"0.0.0.0/0\"}]}]", P, P, P, F);
    sg_rules("[{\"ipProtocol\":\"tcp\",\"fromPort\":1,\"toPort\":1024,"
             "\"ipRanges\":[{\"cidrIp\":\"0.0.0.0/0\"}]}]", F, P, P, F);
    sg_rules("[{\"ipProtocol\":\"-1\",\"ipRanges\":[{\"cidrIp\":\"0.0.0.0/0\"}]}]", F, F, F, F);
    sg_rules("[{\"ipProtocol\":\"6\",\"fromPort\":0,\"toPort\":65535,"
             "\"ipRanges\":[{\"cidrIp\":\"0.0.0.0/0\"}]}]", F, F, F, F);
    sg_rules("[{\"ipProtocol\":\"icmp\",\"fromPort\":-1,\"toPort\":-1,"
             "\"ipRanges\":[{\"cidrIp\":\"0.0.0.0/0\"}]}]", P, P, P, P);
    sg_rules("[{\"ipProtocol\":\"50\",\"ipRanges\":[{\"cidrIp\":\"0.0.0.0/0\"}]}]", P, P, P, P);
    sg_rules("[{\"ipProtocol\":\"tcp\",\"fromPort\":22,\"toPort\":22,"
             "\"ipRanges\":[{\"cidrIp\":\"0.0.0.0/1\"},{\"cidrIp\":\"128.0.0.0/1\"}]}]",
             F, P, P, F);
    /* prefix lists and group references are never "the internet" */
    sg_rules("[{\"ipProtocol\":\"-1\",\"groups\":[{\"groupId\":\"sg-2\"}],"
             "\"prefixListIds\":[{\"prefixListId\":\"pl-1\"}]}]", P, P, P, P);
}

VG_TEST(rules_param_allowed_ports)
{
    /* rules.params.allowed_internet_ports widens the list */
    struct vg_ruleset *rs = (struct vg_ruleset *)rules();
    char err[512];
    struct vg_json *params = parse("{\"allowed_internet_ports\":[443, 80, \"8000-8100\"]}");
    CHECK_EQ_INT(vg_ruleset_set_params(rs, params, err, sizeof(err)), VG_OK);
    vg_json_free(params);
    sg_rules("[{\"ipProtocol\":\"tcp\",\"fromPort\":8080,\"toPort\":8080,"
             "\"ipRanges\":[{\"cidrIp\":\"0.0.0.0/0\"}]}]", P, P, P, P);
    sg_rules("[{\"ipProtocol\":\"tcp\",\"fromPort\":8000,\"toPort\":8101,"
             "\"ipRanges\":[{\"cidrIp\":\"0.0.0.0/0\"}]}]", P, P, P, F);
    CHECK_EQ_INT(vg_ruleset_set_params(rs, NULL, err, sizeof(err)), VG_OK);
    sg_rules("[{\"ipProtocol\":\"tcp\",\"fromPort\":8080,\"toPort\":8080,"
             "\"ipRanges\":[{\"cidrIp\":\"0.0.0.0/0\"}]}]", P, P, P, F);
}

VG_TEST(rules_default_group_and_nacl)
{
    CHECK_EQ_INT(eval_doc("aws.ec2.default_security_group_restricts_all",
                          "aws.ec2.default-security-group",
                          parse("{\"ingress\":[],\"egress\":[]}")), P);
    CHECK_EQ_INT(eval_doc("aws.ec2.default_security_group_restricts_all",
                          "aws.ec2.default-security-group",
                          parse("{\"ingress\":[],\"egress\":[{\"ip_protocol\":\"-1\"}]}")), F);
    const char *open[] = { "100 allow 6 0.0.0.0/0 22 22" };
    CHECK_EQ_INT(eval_doc("aws.ec2.network_acl_admin_ports_from_internet", "aws.ec2.network-acl",
                          acl(open, 1)), F);
    CHECK_CONTAINS(g_reason, "port is 22");
    const char *closed[] = { "100 allow -1 0.0.0.0/0 -1 -1", "50 deny -1 0.0.0.0/0 -1 -1",
                             "60 allow -1 ::/0 -1 -1", "40 deny -1 ::/0 -1 -1" };
    CHECK_EQ_INT(eval_doc("aws.ec2.network_acl_admin_ports_from_internet", "aws.ec2.network-acl",
                          acl(closed, 4)), P);
}

VG_TEST(rules_settings)
{
    struct {
        const char *id, *type, *doc;
        int want;
    } cases[] = {
        { "aws.ec2.vpc_flow_logs_active", "aws.ec2.vpc",
          "{\"flow_logs\":[{\"flow_log_status\":\"ACTIVE\"}]}", P },
        /* exists but not active: does not count */
        { "aws.ec2.vpc_flow_logs_active", "aws.ec2.vpc",
          "{\"flow_logs\":[{\"flow_log_status\":\"INACTIVE\"}]}", F },
        { "aws.ec2.vpc_flow_logs_active", "aws.ec2.vpc", "{\"flow_logs\":[]}", F },
        { "aws.ec2.instance_imdsv2_required", "aws.ec2.instance",
          "{\"metadata_options\":{\"http_endpoint\":\"enabled\",\"http_tokens\":\"required\"}}", P },
        { "aws.ec2.instance_imdsv2_required", "aws.ec2.instance",
          "{\"metadata_options\":{\"http_endpoint\":\"enabled\",\"http_tokens\":\"optional\"}}", F },
        { "aws.ec2.instance_imdsv2_required", "aws.ec2.instance",
          "{\"metadata_options\":{\"http_endpoint\":\"disabled\",\"http_tokens\":\"optional\"}}", P },
        { "aws.ec2.ebs_encryption_by_default", "aws.ec2.ebs-encryption-by-default",
          "{\"ebs_encryption_by_default\":true}", P },
        { "aws.ec2.ebs_encryption_by_default", "aws.ec2.ebs-encryption-by-default",
          "{\"ebs_encryption_by_default\":false}", F },
        { "aws.rds.instance_storage_encrypted", "aws.rds.db-instance",
          "{\"storage_encrypted\":true}", P },
        { "aws.rds.instance_storage_encrypted", "aws.rds.db-instance",
          "{\"storage_encrypted\":false}", F },
        { "aws.rds.instance_not_publicly_accessible", "aws.rds.db-instance",
          "{\"publicly_accessible\":false}", P },
        { "aws.rds.instance_not_publicly_accessible", "aws.rds.db-instance",
          "{\"publicly_accessible\":true}", F },
        { "aws.kms.customer_key_rotation", "aws.kms.key", "{\"key_rotation_enabled\":true}", P },
        { "aws.kms.customer_key_rotation", "aws.kms.key", "{\"key_rotation_enabled\":false}", F },
        { "aws.logs.log_group_retention", "aws.logs.log-group", "{\"log_group_name\":\"a\"}", P },
        { "aws.logs.log_group_retention", "aws.logs.log-group", "{\"retention_in_days\":365}", P },
        { "aws.logs.log_group_retention", "aws.logs.log-group", "{\"retention_in_days\":364}", F },
        { "aws.guardduty.enabled", "aws.guardduty.detectors", "{\"detectors\":[]}", F },
        { "aws.guardduty.enabled", "aws.guardduty.detectors",
          "{\"detectors\":[{\"status\":\"DISABLED\"},{\"status\":\"ENABLED\"}]}", P },
        { "aws.securityhub.enabled", "aws.securityhub.hub",
          "{\"hub_enabled\":true,\"standards\":[{\"standards_status\":\"READY\"}]}", P },
        { "aws.securityhub.enabled", "aws.securityhub.hub",
          "{\"hub_enabled\":true,\"standards\":[{\"standards_status\":\"FAILED\"}]}", F },
        { "aws.securityhub.enabled", "aws.securityhub.hub",
          "{\"hub_enabled\":false,\"standards\":[]}", F },
        { "aws.accessanalyzer.enabled", "aws.accessanalyzer.analyzers",
          "{\"analyzers\":[{\"status\":\"ACTIVE\",\"type\":\"ORGANIZATION\"}]}", P },
        { "aws.accessanalyzer.enabled", "aws.accessanalyzer.analyzers",
          "{\"analyzers\":[{\"status\":\"ACTIVE\",\"type\":\"ACCOUNT_UNUSED_ACCESS\"},"
          "{\"status\":\"CREATING\",\"type\":\"ACCOUNT\"}]}", F },
        { "aws.cloudwatch.root_usage_alarm", "aws.cloudwatch.root-usage-monitoring",
          "{\"metric_filters\":[{\"matches_root_usage\":true,\"trail_is_logging\":true,"
          "\"alarms\":[{\"actions_enabled\":true,\"alarm_actions\":[\"arn:sns\"]}]}]}", P },
        /* no action, actions off, trail not logging, other pattern: fail */
        { "aws.cloudwatch.root_usage_alarm", "aws.cloudwatch.root-usage-monitoring",
          "{\"metric_filters\":[{\"matches_root_usage\":true,\"trail_is_logging\":true,"
          "\"alarms\":[{\"actions_enabled\":true,\"alarm_actions\":[]},"
          "{\"actions_enabled\":false,\"alarm_actions\":[\"arn:sns\"]}]},"
          "{\"matches_root_usage\":true,\"trail_is_logging\":false,"
          "\"alarms\":[{\"actions_enabled\":true,\"alarm_actions\":[\"arn:sns\"]}]},"
          "{\"matches_root_usage\":false,\"trail_is_logging\":true,"
          "\"alarms\":[{\"actions_enabled\":true,\"alarm_actions\":[\"arn:sns\"]}]}]}", F },
        { "aws.cloudwatch.root_usage_alarm", "aws.cloudwatch.root-usage-monitoring",
          "{\"metric_filters\":[]}", F },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int got = eval_doc(cases[i].id, cases[i].type, parse(cases[i].doc));
        if (got != cases[i].want)
            VG_FAIL_AT("%s on %s: %d, expected %d (%s)", cases[i].id, cases[i].doc, got,
                       cases[i].want, g_reason);
    }
    /* log_retention_min_days from rules.params */
    char err[512];
    struct vg_json *params = parse("{\"log_retention_min_days\":30}");
    CHECK_EQ_INT(vg_ruleset_set_params((struct vg_ruleset *)rules(), params, err, sizeof(err)),
                 VG_OK);
    vg_json_free(params);
    CHECK_EQ_INT(eval_doc("aws.logs.log_group_retention", "aws.logs.log-group",
                          parse("{\"retention_in_days\":30}")), P);
    CHECK_EQ_INT(vg_ruleset_set_params((struct vg_ruleset *)rules(), NULL, err, sizeof(err)),
                 VG_OK);
    CHECK_EQ_INT(eval_doc("aws.logs.log_group_retention", "aws.logs.log-group",
                          parse("{\"retention_in_days\":30}")), F);
}

VG_TEST(rules_unknown_on_errors)
{
    /* a field the collector could not read makes the finding unknown */
    const struct vg_rule *r = vg_ruleset_find(rules(), "aws.ec2.vpc_flow_logs_active");
    struct vg_resource *res = vg_resource_new("aws.ec2.vpc", "arn:x", "x", "networking", "t");
    CHECK(r && res);
    if (!r || !res) {
        vg_resource_destroy(res);
        return;
    }
    vg_resource_set_error(res, "flow_logs", "access denied to ec2:DescribeFlowLogs");
    struct vg_eval_result out;
    CHECK_EQ_INT(vg_rule_eval(r, res, &out), VG_OK);
    CHECK_EQ_INT(out.evaluation, U);
    CHECK_CONTAINS(out.reason, "access denied to ec2:DescribeFlowLogs");
    vg_eval_result_clear(&out);
    vg_resource_destroy(res);
}

VG_TEST_MAIN()
