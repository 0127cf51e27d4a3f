/*
 * Derived fields of the network and monitoring collectors (ec2.c,
 * logs.c): pure functions of AWS answers, kept apart so that their logic
 * (CIDRs, port ranges, network ACL rule order, CloudWatch filter
 * patterns) is tested on documents without a server.
 *
 * "Open to the internet" means a source of /0 (0.0.0.0/0 or ::/0), as
 * Prowler and CIS read it, or a set of ranges of one rule that together
 * cover every address of the family (0.0.0.0/1 and 128.0.0.0/1). A
 * narrower public range (203.0.113.0/24) is not "the internet".
 */
#ifndef VG_AWS_DERIVE_H
#define VG_AWS_DERIVE_H

#include "../../agent/err.h"
#include "../../agent/json.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bounds on what one security group rule or network ACL may hold for the
 * coverage computation; past them the extra ranges are ignored (a rule
 * with more ranges than AWS allows is not a real answer). */
#define VG_AWS_MAX_RULE_CIDRS   1024
#define VG_AWS_MAX_ACL_ENTRIES  1024

/* One parsed CIDR: family 4 or 6, the address in network order (IPv4 in
 * the first 4 bytes), the prefix length. */
struct vg_aws_cidr {
    int family;
    uint8_t addr[16];
    int len;
};

/* Parses "a.b.c.d/n" or an IPv6 "x::y/n"; a bare address is /32 or
 * /128. Host bits may be set (AWS keeps them as written). false for
 * anything else. */
bool vg_aws_cidr_parse(const char *s, struct vg_aws_cidr *out);

/* True when the n CIDRs (all of family) together cover every address of
 * the family. */
bool vg_aws_cidrs_cover_all(const struct vg_aws_cidr *nets, size_t n, int family);

/* The protocol as a name: "6" and "tcp" -> "tcp", "17" -> "udp",
 * "1" -> "icmp", "58" -> "icmpv6", "-1" and "all" -> "-1"; anything else
 * as given (a number string). Static or borrowed from p. */
const char *vg_aws_proto_name(const char *p);

/* A security group of DescribeSecurityGroups (the JSON of one
 * securityGroupInfo item) as the resource document:
 *   {"group_id","group_name","description","vpc_id","owner_id",
 *    "is_default": bool,
 *    "ingress": [PERM], "egress": [PERM],
 *    "internet_ingress": [{"ip_protocol","from_port","to_port","source"}]}
 *   PERM = {"ip_protocol","from_port","to_port","ipv4_ranges":[cidr],
 *           "ipv6_ranges":[cidr],"prefix_lists":[id],"groups":[id]}
 * from_port and to_port are absent where AWS gives none (protocol -1).
 * internet_ingress has one entry per ingress rule and family open to the
 * internet ("source": "0.0.0.0/0", "::/0", or the covering ranges joined
 * with ","). Caller frees; NULL when out of memory. */
struct vg_json *vg_aws_sg_doc(const struct vg_json *item);

/* A network ACL of DescribeNetworkAcls (one networkAclSet item) as the
 * resource document:
 *   {"network_acl_id","vpc_id","is_default": bool,"subnets":[id],
 *    "inbound": [ENTRY], "outbound": [ENTRY],      (by rule number)
 *    "internet_admin_ports": [DECISION]}
 *   ENTRY = {"rule_number","rule_action","protocol","cidr","port_from","port_to"}
 *   DECISION = {"port","protocol","family","allowed": bool,
 *               "rule_number","rule_action","cidr","reason"}
 * One DECISION for each of 22/tcp, 3389/tcp, 3389/udp in each family: what
 * the inbound entries do to traffic from the internet, deciding as AWS
 * does (lowest rule number first; the first entry that matches the
 * protocol and port with a /0 source decides; earlier deny entries that
 * together cover the whole family close it too; nothing matching denies).
 * Caller frees; NULL when out of memory. */
struct vg_json *vg_aws_nacl_doc(const struct vg_json *item);

/* True when a CloudWatch Logs filter pattern selects root account
 * activity as CIS AWS 4.3 writes it:
 *   { $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS
 *     && $.eventType != "AwsServiceEvent" }
 * Whitespace, quoting of the values, order of the terms and parentheses
 * around terms are free. The pattern may be an || of alternatives; one
 * alternative must be an && of the type term and nothing but the two
 * other terms of CIS (a subset selects more events, still every root
 * action; any other term narrows it and does not count). */
bool vg_aws_root_usage_pattern(const char *pattern);

#endif
