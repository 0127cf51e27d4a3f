/*
 * EC2 collectors: security groups, network ACLs, VPCs with their flow
 * logs, instances, and EBS encryption by default. One paginated call per
 * region and list (DescribeFlowLogs for every VPC at once).
 *
 * Resources (type, id):
 *   aws.ec2.security-group          arn:aws:ec2:R:A:security-group/sg-..
 *   aws.ec2.default-security-group  the same ARN, for a VPC's "default"
 *                                   group (the default-group rule reads it)
 *   aws.ec2.network-acl             arn:aws:ec2:R:A:network-acl/acl-..
 *   aws.ec2.vpc                     arn:aws:ec2:R:A:vpc/vpc-..
 *   aws.ec2.instance                arn:aws:ec2:R:A:instance/i-..
 *   aws.ec2.ebs-encryption-by-default  arn:aws:ec2:R:A:ebs-encryption-by-default
 * The documents are described in derive.h (security groups, ACLs) and
 * above each builder here.
 */
#include "collect.h"
#include "derive.h"

#include "../../agent/log.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define EC2_VERSION "2016-11-15"

/* ---- CIDRs and protocols (derive.h) ------------------------------------- */

bool vg_aws_cidr_parse(const char *s, struct vg_aws_cidr *out)
{
    char host[64];
    if (!s)
        return false;
    const char *slash = strchr(s, '/');
    size_t hl = slash ? (size_t)(slash - s) : strlen(s);
    if (hl == 0 || hl >= sizeof(host))
        return false;
    memcpy(host, s, hl);
    host[hl] = '\0';
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, host, out->addr) == 1)
        out->family = 4;
    else if (inet_pton(AF_INET6, host, out->addr) == 1)
        out->family = 6;
    else
        return false;
    int max = out->family == 4 ? 32 : 128;
    if (!slash) {
        out->len = max;
        return true;
    }
    const char *p = slash + 1;
    if (!*p || strlen(p) > 3)
        return false;
    int len = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        len = len * 10 + (*p - '0');
    }
    if (len > max)
        return false;
    out->len = len;
    return true;
}

static int addr_bit(const uint8_t *a, int i)
{
    return (a[i / 8] >> (7 - i % 8)) & 1;
}

/* True when the first len bits of a and b agree. */
static bool prefix_eq(const uint8_t *a, const uint8_t *b, int len)
{
    int whole = len / 8;
    if (whole && memcmp(a, b, (size_t)whole))
        return false;
    for (int i = whole * 8; i < len; i++)
        if (addr_bit(a, i) != addr_bit(b, i))
            return false;
    return true;
}

/* Whether nets cover the whole prefix (addr, len). A prefix is split only
 * when some net lies strictly inside it, so the recursion visits at most
 * one chain of ancestors per net. */
static bool covers(const struct vg_aws_cidr *nets, size_t n, uint8_t *addr, int len, int max)
{
    bool inside = false;
    for (size_t i = 0; i < n; i++) {
        if (nets[i].len <= len && prefix_eq(nets[i].addr, addr, nets[i].len))
            return true;
        if (nets[i].len > len && prefix_eq(nets[i].addr, addr, len))
            inside = true;
    }
    if (!inside || len >= max)
        return false;
    int byte = len / 8, bit = 7 - len % 8;
    addr[byte] &= (uint8_t)~(1u << bit);
    bool lo = covers(nets, n, addr, len + 1, max);
    bool hi = false;
    if (lo) {
        addr[byte] |= (uint8_t)(1u << bit);
        hi = covers(nets, n, addr, len + 1, max);
    }
    addr[byte] &= (uint8_t)~(1u << bit);
    return lo && hi;
}

bool vg_aws_cidrs_cover_all(const struct vg_aws_cidr *nets, size_t n, int family)
{
    uint8_t addr[16] = { 0 };
    size_t m = 0;
    struct vg_aws_cidr same[64];
    /* the common case, a handful of ranges, without allocation */
    struct vg_aws_cidr *buf = n <= 64 ? same : calloc(n, sizeof(*buf));
    if (!buf)
        return false;
    for (size_t i = 0; i < n; i++)
        if (nets[i].family == family)
            buf[m++] = nets[i];
    bool r = m > 0 && covers(buf, m, addr, 0, family == 4 ? 32 : 128);
    if (buf != same)
        free(buf);
    return r;
}

const char *vg_aws_proto_name(const char *p)
{
    if (!p)
        return "-1";
    if (!strcmp(p, "6") || !strcasecmp(p, "tcp"))
        return "tcp";
    if (!strcmp(p, "17") || !strcasecmp(p, "udp"))
        return "udp";
    if (!strcmp(p, "1") || !strcasecmp(p, "icmp"))
        return "icmp";
    if (!strcmp(p, "58") || !strcasecmp(p, "icmpv6"))
        return "icmpv6";
    if (!strcmp(p, "-1") || !strcasecmp(p, "all"))
        return "-1";
    return p;
}

/* ---- small helpers --------------------------------------------------------- */

static enum vg_err set_str_if(struct vg_json *o, const char *key, const char *s)
{
    return s ? vg_json_set_str(o, key, s) : VG_OK;
}

/* A port answer (JSON int, or a string that reads as one) as JSON int;
 * absent stays absent. */
static enum vg_err set_port(struct vg_json *o, const char *key, const struct vg_json *v)
{
    if (!v || vg_json_type(v) == VG_JSON_NULL)
        return VG_OK;
    if (vg_json_type(v) == VG_JSON_INT)
        return vg_json_set_int(o, key, vg_json_get_int(v));
    const char *s = vg_json_get_str(v);
    if (s && *s) {
        char *end;
        long x = strtol(s, &end, 10);
        if (!*end)
            return vg_json_set_int(o, key, x);
        return vg_json_set_str(o, key, s);
    }
    return VG_OK;
}

static long port_of(const struct vg_json *v, long dflt)
{
    if (vg_json_type(v) == VG_JSON_INT)
        return (long)vg_json_get_int(v);
    const char *s = vg_json_get_str(v);
    if (s && *s) {
        char *end;
        long x = strtol(s, &end, 10);
        if (!*end)
            return x;
    }
    return dflt;
}

/* The strings at key of every element of list (an array of objects). */
static struct vg_json *pluck(const struct vg_json *list, const char *key)
{
    struct vg_json *out = vg_json_array();
    for (size_t i = 0; out && i < vg_json_len(list); i++) {
        const char *s = vg_aws_str(vg_json_at(list, i), key);
        if (s && vg_json_push(out, vg_json_str(s))) {
            vg_json_free(out);
            return NULL;
        }
    }
    return out;
}

/* ---- security groups (derive.h) --------------------------------------------- */

static struct vg_json *perm_doc(const struct vg_json *perm)
{
    struct vg_json *o = vg_json_object();
    if (!o)
        return NULL;
    enum vg_err err = vg_json_set_str(o, "ip_protocol",
                                      vg_aws_proto_name(vg_aws_str(perm, "ipProtocol")));
    if (!err)
        err = set_port(o, "from_port", vg_json_get(perm, "fromPort"));
    if (!err)
        err = set_port(o, "to_port", vg_json_get(perm, "toPort"));
    if (!err)
        err = vg_json_set(o, "ipv4_ranges", pluck(vg_json_get(perm, "ipRanges"), "cidrIp"));
    if (!err)
        err = vg_json_set(o, "ipv6_ranges", pluck(vg_json_get(perm, "ipv6Ranges"), "cidrIpv6"));
    if (!err)
        err = vg_json_set(o, "prefix_lists",
                          pluck(vg_json_get(perm, "prefixListIds"), "prefixListId"));
    if (!err)
        err = vg_json_set(o, "groups", pluck(vg_json_get(perm, "groups"), "groupId"));
    if (err) {
        vg_json_free(o);
        return NULL;
    }
    return o;
}

/* The source text when the ranges (strings at key of list) are open to the
 * internet for family: "0.0.0.0/0", or the covering ranges joined; NULL
 * when not open. Caller frees. */
static char *open_source(const struct vg_json *ranges, int family)
{
    size_t n = vg_json_len(ranges);
    if (n > VG_AWS_MAX_RULE_CIDRS)
        n = VG_AWS_MAX_RULE_CIDRS;
    struct vg_aws_cidr *nets = calloc(n ? n : 1, sizeof(*nets));
    if (!nets)
        return NULL;
    size_t m = 0;
    char *res = NULL;
    for (size_t i = 0; i < n; i++) {
        const char *s = vg_json_get_str(vg_json_at(ranges, i));
        struct vg_aws_cidr c;
        if (!vg_aws_cidr_parse(s, &c) || c.family != family)
            continue;
        if (c.len == 0) {
            res = strdup(s);
            goto out;
        }
        nets[m++] = c;
    }
    if (m > 1 && vg_aws_cidrs_cover_all(nets, m, family)) {
        struct vg_buf b;
        vg_buf_init(&b, 1u << 16);
        for (size_t i = 0; i < n; i++) {
            const char *s = vg_json_get_str(vg_json_at(ranges, i));
            struct vg_aws_cidr c;
            if (vg_aws_cidr_parse(s, &c) && c.family == family)
                (void)vg_buf_printf(&b, "%s%s", b.len ? "," : "", s);
        }
        res = vg_buf_detach(&b);
        vg_buf_free(&b);
    }
out:
    free(nets);
    return res;
}

static enum vg_err add_internet(struct vg_json *list, const struct vg_json *perm, int family)
{
    char *src = open_source(vg_json_get(perm, family == 4 ? "ipv4_ranges" : "ipv6_ranges"),
                            family);
    if (!src)
        return VG_OK;
    struct vg_json *e = vg_json_object();
    enum vg_err err = vg_json_set_str(e, "ip_protocol", vg_aws_str(perm, "ip_protocol"));
    if (!err && vg_json_get(perm, "from_port"))
        err = vg_json_set(e, "from_port", vg_json_clone(vg_json_get(perm, "from_port")));
    if (!err && vg_json_get(perm, "to_port"))
        err = vg_json_set(e, "to_port", vg_json_clone(vg_json_get(perm, "to_port")));
    if (!err)
        err = vg_json_set_str(e, "source", src);
    free(src);
    if (err) {
        vg_json_free(e);
        return err;
    }
    return vg_json_push(list, e);
}

struct vg_json *vg_aws_sg_doc(const struct vg_json *item)
{
    struct vg_json *d = vg_json_object();
    if (!d)
        return NULL;
    const char *name = vg_aws_str(item, "groupName");
    enum vg_err err = set_str_if(d, "group_id", vg_aws_str(item, "groupId"));
    if (!err)
        err = set_str_if(d, "group_name", name);
    if (!err)
        err = set_str_if(d, "description", vg_aws_str(item, "groupDescription"));
    if (!err)
        err = set_str_if(d, "vpc_id", vg_aws_str(item, "vpcId"));
    if (!err)
        err = set_str_if(d, "owner_id", vg_aws_str(item, "ownerId"));
    if (!err)
        err = vg_json_set_bool(d, "is_default", name && !strcmp(name, "default"));
    static const char *const dirs[2][2] = { { "ipPermissions", "ingress" },
                                            { "ipPermissionsEgress", "egress" } };
    for (int k = 0; !err && k < 2; k++) {
        const struct vg_json *perms = vg_json_get(item, dirs[k][0]);
        struct vg_json *arr = vg_json_array();
        err = vg_json_set(d, dirs[k][1], arr);
        for (size_t i = 0; !err && i < vg_json_len(perms); i++)
            err = vg_json_push(arr, perm_doc(vg_json_at(perms, i)));
    }
    struct vg_json *inet = vg_json_array();
    if (!err)
        err = vg_json_set(d, "internet_ingress", inet);
    else
        vg_json_free(inet);
    const struct vg_json *ing = vg_json_get(d, "ingress");
    for (size_t i = 0; !err && i < vg_json_len(ing); i++) {
        err = add_internet(inet, vg_json_at(ing, i), 4);
        if (!err)
            err = add_internet(inet, vg_json_at(ing, i), 6);
    }
    if (err) {
        vg_json_free(d);
        return NULL;
    }
    return d;
}

/* ---- network ACLs (derive.h) ------------------------------------------------ */

struct acl_entry {
    long number;
    bool allow;
    const char *proto;          /* vg_aws_proto_name() */
    bool has_cidr;
    struct vg_aws_cidr cidr;
    const char *cidr_text;
    long from, to;              /* -1: every port */
};

static int cmp_entry(const void *a, const void *b)
{
    const struct acl_entry *x = a, *y = b;
    return x->number < y->number ? -1 : x->number > y->number;
}

static bool entry_matches(const struct acl_entry *e, const char *proto, long port)
{
    if (strcmp(e->proto, "-1") && strcmp(e->proto, proto))
        return false;
    if (!strcmp(e->proto, "-1") || e->from < 0)
        return true;
    return e->from <= port && port <= e->to;
}

static enum vg_err decide(struct vg_json *out, const struct acl_entry *es, size_t n, long port,
                          const char *proto, int family)
{
    struct vg_aws_cidr denied[VG_AWS_MAX_ACL_ENTRIES];
    size_t nd = 0;
    const struct acl_entry *by = NULL;
    bool allowed = false;
    const char *why = "no inbound entry matches: denied";
    for (size_t i = 0; i < n; i++) {
        const struct acl_entry *e = &es[i];
        if (!e->has_cidr || e->cidr.family != family || !entry_matches(e, proto, port))
            continue;
        if (e->cidr.len != 0) {
            if (!e->allow && nd < VG_AWS_MAX_ACL_ENTRIES)
                denied[nd++] = e->cidr;
            continue;
        }
        by = e;
        if (!e->allow) {
            why = "the first matching entry from the internet denies";
        } else if (nd && vg_aws_cidrs_cover_all(denied, nd, family)) {
            why = "earlier deny entries cover every address";
        } else {
            allowed = true;
            why = "the first matching entry from the internet allows";
        }
        break;
    }
    struct vg_json *d = vg_json_object();
    enum vg_err err = vg_json_set_int(d, "port", port);
    if (!err)
        err = vg_json_set_str(d, "protocol", proto);
    if (!err)
        err = vg_json_set_str(d, "family", family == 4 ? "ipv4" : "ipv6");
    if (!err)
        err = vg_json_set_bool(d, "allowed", allowed);
    if (!err && by) {
        err = vg_json_set_int(d, "rule_number", by->number);
        if (!err)
            err = vg_json_set_str(d, "rule_action", by->allow ? "allow" : "deny");
        if (!err)
            err = vg_json_set_str(d, "cidr", by->cidr_text);
    }
    if (!err)
        err = vg_json_set_str(d, "reason", why);
    if (err) {
        vg_json_free(d);
        return err;
    }
    return vg_json_push(out, d);
}

static struct vg_json *entry_doc(const struct vg_json *it)
{
    struct vg_json *o = vg_json_object();
    enum vg_err err = set_port(o, "rule_number", vg_json_get(it, "ruleNumber"));
    if (!err)
        err = set_str_if(o, "rule_action", vg_aws_str(it, "ruleAction"));
    if (!err)
        err = vg_json_set_str(o, "protocol", vg_aws_proto_name(vg_aws_str(it, "protocol")));
    const char *c = vg_aws_str(it, "cidrBlock");
    if (!c)
        c = vg_aws_str(it, "ipv6CidrBlock");
    if (!err)
        err = set_str_if(o, "cidr", c);
    const struct vg_json *pr = vg_json_get(it, "portRange");
    if (!err && pr)
        err = set_port(o, "port_from", vg_json_get(pr, "from"));
    if (!err && pr)
        err = set_port(o, "port_to", vg_json_get(pr, "to"));
    if (err) {
        vg_json_free(o);
        return NULL;
    }
    return o;
}

struct vg_json *vg_aws_nacl_doc(const struct vg_json *item)
{
    struct vg_json *d = vg_json_object();
    if (!d)
        return NULL;
    enum vg_err err = set_str_if(d, "network_acl_id", vg_aws_str(item, "networkAclId"));
    if (!err)
        err = set_str_if(d, "vpc_id", vg_aws_str(item, "vpcId"));
    if (!err)
        err = vg_json_set_bool(d, "is_default", vg_aws_bool(item, "default"));
    if (!err)
        err = vg_json_set(d, "subnets", pluck(vg_json_get(item, "associationSet"), "subnetId"));
    const struct vg_json *entries = vg_json_get(item, "entrySet");
    size_t n = vg_json_len(entries);
    if (n > VG_AWS_MAX_ACL_ENTRIES)
        n = VG_AWS_MAX_ACL_ENTRIES;
    struct acl_entry *in = calloc(n ? n : 1, sizeof(*in));
    const struct vg_json **raw_in = calloc(n ? n : 1, sizeof(*raw_in));
    const struct vg_json **raw_out = calloc(n ? n : 1, sizeof(*raw_out));
    if (!in || !raw_in || !raw_out)
        err = VG_ERR_NOMEM;
    size_t nin = 0, nout = 0;
    for (size_t i = 0; !err && i < n; i++) {
        const struct vg_json *it = vg_json_at(entries, i);
        if (vg_aws_bool(it, "egress")) {
            raw_out[nout++] = it;
            continue;
        }
        struct acl_entry *e = &in[nin];
        e->number = port_of(vg_json_get(it, "ruleNumber"), 32767);
        const char *act = vg_aws_str(it, "ruleAction");
        e->allow = act && !strcasecmp(act, "allow");
        e->proto = vg_aws_proto_name(vg_aws_str(it, "protocol"));
        e->cidr_text = vg_aws_str(it, "cidrBlock");
        if (!e->cidr_text)
            e->cidr_text = vg_aws_str(it, "ipv6CidrBlock");
        e->has_cidr = vg_aws_cidr_parse(e->cidr_text, &e->cidr);
        const struct vg_json *pr = vg_json_get(it, "portRange");
        e->from = pr ? port_of(vg_json_get(pr, "from"), -1) : -1;
        e->to = pr ? port_of(vg_json_get(pr, "to"), e->from) : -1;
        raw_in[nin] = it;
        nin++;
    }
    /* decisions walk the parsed entries in rule order; the documents list
     * the raw entries in the same order (sorted apart below) */
    qsort(in, nin, sizeof(*in), cmp_entry);
    for (int k = 0; !err && k < 2; k++) {
        const struct vg_json **raw = k ? raw_out : raw_in;
        size_t m = k ? nout : nin;
        /* stable insertion sort by rule number (at most 1024 entries) */
        for (size_t i = 1; i < m; i++) {
            const struct vg_json *x = raw[i];
            long xn = port_of(vg_json_get(x, "ruleNumber"), 32767);
            size_t j = i;
            while (j > 0 && port_of(vg_json_get(raw[j - 1], "ruleNumber"), 32767) > xn) {
                raw[j] = raw[j - 1];
                j--;
            }
            raw[j] = x;
        }
        struct vg_json *arr = vg_json_array();
        err = vg_json_set(d, k ? "outbound" : "inbound", arr);
        for (size_t i = 0; !err && i < m; i++)
            err = vg_json_push(arr, entry_doc(raw[i]));
    }
    struct vg_json *dec = vg_json_array();
    if (!err)
        err = vg_json_set(d, "internet_admin_ports", dec);
    else
        vg_json_free(dec);
    static const struct {
        long port;
        const char *proto;
    } admin[] = { { 22, "tcp" }, { 3389, "tcp" }, { 3389, "udp" } };
    for (int f = 4; !err && f <= 6; f += 2)
        for (size_t i = 0; !err && i < sizeof(admin) / sizeof(admin[0]); i++)
            err = decide(dec, in, nin, admin[i].port, admin[i].proto, f);
    free(in);
    free(raw_in);
    free(raw_out);
    if (err) {
        vg_json_free(d);
        return NULL;
    }
    return d;
}

/* ---- the calls ---------------------------------------------------------------- */

/* One list call's state: the context and what the pages build. */
struct list_state {
    const struct vg_aws_ctx *ctx;
    const char *what;           /* "security group" ... for log lines */
};

static const char *const sg_lists[] = { "securityGroupInfo", "ipPermissions",
                                        "ipPermissionsEgress", "groups", "ipRanges",
                                        "ipv6Ranges", "prefixListIds", "tagSet", NULL };
static const char *const sg_ints[] = { "fromPort", "toPort", NULL };
static const struct vg_aws_xml_opts sg_xml = { .lists = sg_lists, .ints = sg_ints };

static const char *const acl_lists[] = { "networkAclSet", "entrySet", "associationSet", "tagSet",
                                         NULL };
static const char *const acl_ints[] = { "ruleNumber", "from", "to", "code", "type", NULL };
static const char *const acl_bools[] = { "default", "egress", NULL };
static const struct vg_aws_xml_opts acl_xml = { .lists = acl_lists, .ints = acl_ints,
                                                .bools = acl_bools };

static const char *const vpc_lists[] = { "vpcSet", "tagSet", "cidrBlockAssociationSet",
                                         "ipv6CidrBlockAssociationSet", NULL };
static const char *const vpc_bools[] = { "isDefault", NULL };
static const struct vg_aws_xml_opts vpc_xml = { .lists = vpc_lists, .bools = vpc_bools };

static const char *const fl_lists[] = { "flowLogSet", "tagSet", NULL };
static const struct vg_aws_xml_opts fl_xml = { .lists = fl_lists };

static const char *const inst_lists[] = { "reservationSet", "instancesSet", "tagSet",
                                          "groupSet", NULL };
static const char *const inst_ints[] = { "httpPutResponseHopLimit", NULL };
static const struct vg_aws_xml_opts inst_xml = { .lists = inst_lists, .ints = inst_ints };

static const char *const ebs_bools[] = { "ebsEncryptionByDefault", NULL };
static const struct vg_aws_xml_opts ebs_xml = { .bools = ebs_bools };

/* The largest page each call allows (DescribeNetworkAcls: 100). */
static const struct vg_aws_param max_results[] = { { "MaxResults", "1000" } };
static const struct vg_aws_param max_results_100[] = { { "MaxResults", "100" } };

static struct vg_aws_call_spec ec2_spec(const char *op, const struct vg_aws_xml_opts *xml,
                                        bool paged)
{
    struct vg_aws_call_spec s = {
        .service = "ec2", .protocol = VG_AWS_EC2, .operation = op, .version = EC2_VERSION,
        .xml = xml,
    };
    if (paged) {
        s.params = strcmp(op, "DescribeNetworkAcls") ? max_results : max_results_100;
        s.nparams = 1;
        s.token_param = "NextToken";
    }
    return s;
}

static struct vg_resource *ec2_resource(const struct vg_aws_ctx *ctx, const char *type,
                                        const char *kind, const char *id, const char *name,
                                        const char *sub_type)
{
    char arn[512], res[300];
    snprintf(res, sizeof(res), "%s/%s", kind, id);
    vg_aws_arn(ctx, "ec2", NULL, res, arn, sizeof(arn));
    return vg_aws_resource_new(ctx, type, arn, name && *name ? name : id, "networking", sub_type,
                               "ec2", NULL);
}

/* The tag "Name" of a tagSet, or NULL. */
static const char *tag_name(const struct vg_json *tags)
{
    for (size_t i = 0; i < vg_json_len(tags); i++) {
        const struct vg_json *t = vg_json_at(tags, i);
        const char *k = vg_aws_str(t, "key");
        if (k && !strcmp(k, "Name"))
            return vg_aws_str(t, "value");
    }
    return NULL;
}

static void list_done(const struct vg_aws_error *err, void *opaque)
{
    struct list_state *st = opaque;
    if (err)
        vg_aws_list_failed(st->ctx, err);
    free(st);
}

static struct list_state *list_state_new(const struct vg_aws_ctx *ctx, const char *what)
{
    struct list_state *st = calloc(1, sizeof(*st));
    if (st) {
        st->ctx = ctx;
        st->what = what;
    }
    return st;
}

static enum vg_err start_list(const struct vg_aws_ctx *ctx, const struct vg_aws_call_spec *s,
                              vg_aws_page_fn *on_page, const char *what, char *errbuf,
                              size_t errlen)
{
    struct list_state *st = list_state_new(ctx, what);
    if (!st) {
        snprintf(errbuf, errlen, "out of memory");
        return VG_ERR_NOMEM;
    }
    enum vg_err err = vg_aws_call(ctx, s, on_page, list_done, st);
    if (err) {
        free(st);
        snprintf(errbuf, errlen, "cannot queue ec2:%s: %s", s->operation, vg_strerror(err));
    }
    return err;
}

/* ---- security groups ----------------------------------------------------------- */

static void emit_doc(const struct vg_aws_ctx *ctx, struct vg_resource *r, struct vg_json *doc,
                     const struct vg_json *tags)
{
    if (!r || !doc) {
        vg_resource_destroy(r);
        vg_json_free(doc);
        return;
    }
    vg_json_free(r->doc);
    r->doc = doc;
    if (vg_aws_tags_set(r, tags)) {
        vg_resource_destroy(r);
        return;
    }
    vg_aws_emit(ctx, r);
}

static enum vg_err on_sgs(struct vg_aws_page *pg, void *opaque)
{
    struct list_state *st = opaque;
    const struct vg_json *list = vg_json_get(pg->json, "securityGroupInfo");
    for (size_t i = 0; i < vg_json_len(list); i++) {
        const struct vg_json *it = vg_json_at(list, i);
        const char *id = vg_aws_str(it, "groupId");
        if (!id)
            continue;
        struct vg_json *doc = vg_aws_sg_doc(it);
        if (!doc)
            return VG_ERR_NOMEM;
        const char *name = vg_aws_str(it, "groupName");
        bool dflt = vg_json_get_bool(vg_json_get(doc, "is_default"));
        struct vg_json *copy = dflt ? vg_json_clone(doc) : NULL;
        emit_doc(st->ctx,
                 ec2_resource(st->ctx, "aws.ec2.security-group", "security-group", id, name,
                              "aws-ec2-security-group"),
                 doc, vg_json_get(it, "tagSet"));
        if (dflt)
            emit_doc(st->ctx,
                     ec2_resource(st->ctx, "aws.ec2.default-security-group", "security-group",
                                  id, name, "aws-ec2-security-group"),
                     copy, vg_json_get(it, "tagSet"));
    }
    return vg_aws_next(pg, "nextToken");
}

static enum vg_err start_sgs(const struct vg_aws_ctx *ctx, char *errbuf, size_t errlen)
{
    struct vg_aws_call_spec s = ec2_spec("DescribeSecurityGroups", &sg_xml, true);
    return start_list(ctx, &s, on_sgs, "security group", errbuf, errlen);
}

/* ---- network ACLs ----------------------------------------------------------- */

static enum vg_err on_acls(struct vg_aws_page *pg, void *opaque)
{
    struct list_state *st = opaque;
    const struct vg_json *list = vg_json_get(pg->json, "networkAclSet");
    for (size_t i = 0; i < vg_json_len(list); i++) {
        const struct vg_json *it = vg_json_at(list, i);
        const char *id = vg_aws_str(it, "networkAclId");
        if (!id)
            continue;
        struct vg_json *doc = vg_aws_nacl_doc(it);
        if (!doc)
            return VG_ERR_NOMEM;
        emit_doc(st->ctx,
                 ec2_resource(st->ctx, "aws.ec2.network-acl", "network-acl", id,
                              tag_name(vg_json_get(it, "tagSet")), "aws-ec2-network-acl"),
                 doc, vg_json_get(it, "tagSet"));
    }
    return vg_aws_next(pg, "nextToken");
}

static enum vg_err start_acls(const struct vg_aws_ctx *ctx, char *errbuf, size_t errlen)
{
    struct vg_aws_call_spec s = ec2_spec("DescribeNetworkAcls", &acl_xml, true);
    return start_list(ctx, &s, on_acls, "network ACL", errbuf, errlen);
}

/* ---- VPCs and flow logs ---------------------------------------------------- */

/*
 * aws.ec2.vpc document:
 *   {"vpc_id","state","cidr_block","is_default": bool,"owner_id",
 *    "flow_logs": [{"flow_log_id","flow_log_status","traffic_type",
 *                   "log_destination_type","log_destination",
 *                   "deliver_logs_status","creation_time"}]}
 * Only flow logs whose resource is the VPC itself count (subnet and
 * interface flow logs do not log the whole VPC). When DescribeFlowLogs
 * fails, "flow_logs" of every VPC is unknown with the reason.
 */
struct vpc_state {
    const struct vg_aws_ctx *ctx;
    int holds;
    struct vg_json *vpcs;       /* array of vpcSet items */
    struct vg_json *flow_logs;  /* object: resource id -> array of docs */
    bool vpcs_failed;
    char fl_error[1024];        /* DescribeFlowLogs' failure, "" when none */
};

static void vpc_finish(struct vpc_state *st)
{
    for (size_t i = 0; !st->vpcs_failed && i < vg_json_len(st->vpcs); i++) {
        const struct vg_json *it = vg_json_at(st->vpcs, i);
        const char *id = vg_aws_str(it, "vpcId");
        if (!id)
            continue;
        struct vg_json *d = vg_json_object();
        enum vg_err err = vg_json_set_str(d, "vpc_id", id);
        if (!err)
            err = set_str_if(d, "state", vg_aws_str(it, "state"));
        if (!err)
            err = set_str_if(d, "cidr_block", vg_aws_str(it, "cidrBlock"));
        if (!err)
            err = vg_json_set_bool(d, "is_default", vg_aws_bool(it, "isDefault"));
        if (!err)
            err = set_str_if(d, "owner_id", vg_aws_str(it, "ownerId"));
        if (!err && !st->fl_error[0]) {
            const struct vg_json *fl = vg_json_get(st->flow_logs, id);
            err = vg_json_set(d, "flow_logs", fl ? vg_json_clone(fl) : vg_json_array());
        }
        struct vg_resource *r =
            err ? NULL
                : ec2_resource(st->ctx, "aws.ec2.vpc", "vpc", id,
                               tag_name(vg_json_get(it, "tagSet")), "aws-ec2-vpc");
        if (!r) {
            vg_json_free(d);
            continue;
        }
        if (st->fl_error[0] && vg_resource_set_error(r, "flow_logs", st->fl_error)) {
            vg_resource_destroy(r);
            vg_json_free(d);
            continue;
        }
        emit_doc(st->ctx, r, d, vg_json_get(it, "tagSet"));
    }
    vg_json_free(st->vpcs);
    vg_json_free(st->flow_logs);
    free(st);
}

static void vpc_release(struct vpc_state *st)
{
    if (--st->holds == 0)
        vpc_finish(st);
}

static enum vg_err on_vpcs(struct vg_aws_page *pg, void *opaque)
{
    struct vpc_state *st = opaque;
    const struct vg_json *list = vg_json_get(pg->json, "vpcSet");
    for (size_t i = 0; i < vg_json_len(list); i++)
        if (vg_json_push(st->vpcs, vg_json_clone(vg_json_at(list, i))))
            return VG_ERR_NOMEM;
    return vg_aws_next(pg, "nextToken");
}

static void vpcs_done(const struct vg_aws_error *err, void *opaque)
{
    struct vpc_state *st = opaque;
    if (err) {
        st->vpcs_failed = true;
        vg_aws_list_failed(st->ctx, err);
    }
    vpc_release(st);
}

static enum vg_err on_flow_logs(struct vg_aws_page *pg, void *opaque)
{
    struct vpc_state *st = opaque;
    const struct vg_json *list = vg_json_get(pg->json, "flowLogSet");
    for (size_t i = 0; i < vg_json_len(list); i++) {
        const struct vg_json *it = vg_json_at(list, i);
        const char *rid = vg_aws_str(it, "resourceId");
        if (!rid)
            continue;
        struct vg_json *arr = vg_json_get(st->flow_logs, rid);
        if (!arr) {
            if (vg_json_set(st->flow_logs, rid, vg_json_array()))
                return VG_ERR_NOMEM;
            arr = vg_json_get(st->flow_logs, rid);
        }
        struct vg_json *d = vg_json_object();
        static const char *const keys[][2] = {
            { "flowLogId", "flow_log_id" },
            { "flowLogStatus", "flow_log_status" },
            { "trafficType", "traffic_type" },
            { "logDestinationType", "log_destination_type" },
            { "logDestination", "log_destination" },
            { "logGroupName", "log_group_name" },
            { "deliverLogsStatus", "deliver_logs_status" },
            { "creationTime", "creation_time" },
        };
        enum vg_err err = d ? VG_OK : VG_ERR_NOMEM;
        for (size_t k = 0; !err && k < sizeof(keys) / sizeof(keys[0]); k++)
            err = set_str_if(d, keys[k][1], vg_aws_str(it, keys[k][0]));
        if (err) {
            vg_json_free(d);
            return err;
        }
        if (vg_json_push(arr, d))
            return VG_ERR_NOMEM;
    }
    return vg_aws_next(pg, "nextToken");
}

static void flow_logs_done(const struct vg_aws_error *err, void *opaque)
{
    struct vpc_state *st = opaque;
    if (err)
        snprintf(st->fl_error, sizeof(st->fl_error), "%s", err->text);
    vpc_release(st);
}

static enum vg_err start_vpcs(const struct vg_aws_ctx *ctx, char *errbuf, size_t errlen)
{
    struct vpc_state *st = calloc(1, sizeof(*st));
    if (st) {
        st->vpcs = vg_json_array();
        st->flow_logs = vg_json_object();
    }
    if (!st || !st->vpcs || !st->flow_logs) {
        if (st) {
            vg_json_free(st->vpcs);
            vg_json_free(st->flow_logs);
        }
        free(st);
        snprintf(errbuf, errlen, "out of memory");
        return VG_ERR_NOMEM;
    }
    st->ctx = ctx;
    st->holds = 2;   /* the creator's and DescribeVpcs' */
    struct vg_aws_call_spec s = ec2_spec("DescribeVpcs", &vpc_xml, true);
    enum vg_err err = vg_aws_call(ctx, &s, on_vpcs, vpcs_done, st);
    if (err) {
        st->holds--;
        snprintf(errbuf, errlen, "cannot queue ec2:DescribeVpcs: %s", vg_strerror(err));
        st->vpcs_failed = true;
        vpc_release(st);
        return err;
    }
    st->holds++;
    s = ec2_spec("DescribeFlowLogs", &fl_xml, true);
    err = vg_aws_call(ctx, &s, on_flow_logs, flow_logs_done, st);
    if (err) {
        st->holds--;
        snprintf(st->fl_error, sizeof(st->fl_error), "cannot queue ec2:DescribeFlowLogs: %s",
                 vg_strerror(err));
    }
    vpc_release(st);   /* the creator's hold; the calls hold the rest */
    return VG_OK;
}

/* ---- instances ------------------------------------------------------------- */

/*
 * aws.ec2.instance document:
 *   {"instance_id","instance_type","state","launch_time","image_id","vpc_id",
 *    "metadata_options": {"http_endpoint","http_tokens",
 *                         "http_put_response_hop_limit","state"}}
 * Terminated instances are left out (nothing can be changed on them).
 */
static enum vg_err on_instances(struct vg_aws_page *pg, void *opaque)
{
    struct list_state *st = opaque;
    const struct vg_json *res = vg_json_get(pg->json, "reservationSet");
    for (size_t i = 0; i < vg_json_len(res); i++) {
        const struct vg_json *insts = vg_json_get(vg_json_at(res, i), "instancesSet");
        for (size_t j = 0; j < vg_json_len(insts); j++) {
            const struct vg_json *it = vg_json_at(insts, j);
            const char *id = vg_aws_str(it, "instanceId");
            const char *state = vg_aws_str(vg_json_get(it, "instanceState"), "name");
            if (!id || (state && !strcmp(state, "terminated")))
                continue;
            struct vg_json *d = vg_json_object();
            enum vg_err err = vg_json_set_str(d, "instance_id", id);
            if (!err)
                err = set_str_if(d, "instance_type", vg_aws_str(it, "instanceType"));
            if (!err)
                err = set_str_if(d, "state", state);
            if (!err)
                err = set_str_if(d, "launch_time", vg_aws_str(it, "launchTime"));
            if (!err)
                err = set_str_if(d, "image_id", vg_aws_str(it, "imageId"));
            if (!err)
                err = set_str_if(d, "vpc_id", vg_aws_str(it, "vpcId"));
            const struct vg_json *mo = vg_json_get(it, "metadataOptions");
            if (!err && mo) {
                struct vg_json *m = vg_json_object();
                err = vg_json_set(d, "metadata_options", m);
                if (!err)
                    err = set_str_if(m, "http_endpoint", vg_aws_str(mo, "httpEndpoint"));
                if (!err)
                    err = set_str_if(m, "http_tokens", vg_aws_str(mo, "httpTokens"));
                if (!err)
                    err = set_port(m, "http_put_response_hop_limit",
                                   vg_json_get(mo, "httpPutResponseHopLimit"));
                if (!err)
                    err = set_str_if(m, "state", vg_aws_str(mo, "state"));
            }
            if (err) {
                vg_json_free(d);
                return err;
            }
            emit_doc(st->ctx,
                     ec2_resource(st->ctx, "aws.ec2.instance", "instance", id,
                                  tag_name(vg_json_get(it, "tagSet")), "aws-ec2-instance"),
                     d, vg_json_get(it, "tagSet"));
        }
    }
    return vg_aws_next(pg, "nextToken");
}

static enum vg_err start_instances(const struct vg_aws_ctx *ctx, char *errbuf, size_t errlen)
{
    struct vg_aws_call_spec s = ec2_spec("DescribeInstances", &inst_xml, true);
    return start_list(ctx, &s, on_instances, "instance", errbuf, errlen);
}

/* ---- EBS encryption by default --------------------------------------------- */

/*
 * aws.ec2.ebs-encryption-by-default, one per region:
 *   {"ebs_encryption_by_default": bool}
 * A failed call leaves the field unknown with the reason.
 */
static enum vg_err on_ebs(struct vg_aws_pending *p, struct vg_aws_page *pg)
{
    const struct vg_json *v = vg_json_get(pg->json, "ebsEncryptionByDefault");
    if (!v)
        return vg_json_set(p->res->doc, "ebs_encryption_by_default", vg_json_null());
    return vg_json_set_bool(p->res->doc, "ebs_encryption_by_default",
                            vg_aws_bool(pg->json, "ebsEncryptionByDefault"));
}

static enum vg_err start_ebs(const struct vg_aws_ctx *ctx, char *errbuf, size_t errlen)
{
    char arn[256];
    vg_aws_arn(ctx, "ec2", NULL, "ebs-encryption-by-default", arn, sizeof(arn));
    struct vg_resource *r = vg_aws_resource_new(ctx, "aws.ec2.ebs-encryption-by-default", arn,
                                                "ebs-encryption-by-default", "cloud-compute",
                                                "aws-ebs-encryption-by-default", "ec2", NULL);
    struct vg_aws_pending *p = r ? vg_aws_pending_new(ctx, r) : NULL;
    if (!p) {
        snprintf(errbuf, errlen, "out of memory");
        return VG_ERR_NOMEM;
    }
    struct vg_aws_call_spec s = ec2_spec("GetEbsEncryptionByDefault", &ebs_xml, false);
    (void)vg_aws_pending_call(p, &s, "ebs_encryption_by_default", on_ebs, NULL);
    vg_aws_pending_release(p);
    return VG_OK;
}

/* ---- the table entries ------------------------------------------------------ */

const struct vg_aws_collector vg_aws_ec2_security_groups = {
    .name = "ec2-security-groups", .service = "ec2", .global = false, .start = start_sgs,
};
const struct vg_aws_collector vg_aws_ec2_network_acls = {
    .name = "ec2-network-acls", .service = "ec2", .global = false, .start = start_acls,
};
const struct vg_aws_collector vg_aws_ec2_vpcs = {
    .name = "ec2-vpcs", .service = "ec2", .global = false, .start = start_vpcs,
};
const struct vg_aws_collector vg_aws_ec2_instances = {
    .name = "ec2-instances", .service = "ec2", .global = false, .start = start_instances,
};
const struct vg_aws_collector vg_aws_ec2_ebs_default = {
    .name = "ec2-ebs-encryption-by-default", .service = "ec2", .global = false,
    .start = start_ebs,
};
