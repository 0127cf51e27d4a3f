/*
 * AWS XML to JSON: representative answers of the query, ec2 and rest-xml
 * protocols, error documents, and malformed, truncated and hostile XML.
 */
#include "vgtest.h"

#include "agent/buf.h"
#include "agent/json.h"
#include "checks/aws/aws.h"
#include "checks/aws/xml.h"

/* Converts and dumps; "ERR: <message>" on failure. Caller frees. */
static char *conv(const char *xml, const struct vg_aws_xml_opts *o, char *root, size_t rootlen)
{
    char errbuf[256];
    struct vg_json *v = vg_aws_xml_parse(xml, strlen(xml), o, root, rootlen, errbuf,
                                         sizeof(errbuf));
    struct vg_buf b;
    vg_buf_init(&b, 1 << 24);
    if (!v)
        vg_buf_printf(&b, "ERR: %s", errbuf);
    else
        vg_json_dump(v, &b);
    vg_json_free(v);
    char *s = vg_buf_detach(&b);
    vg_buf_free(&b);
    return s;
}

static const char *LIST_USERS_2 =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<ListUsersResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\n"
    "  <ListUsersResult>\n"
    "    <IsTruncated>true</IsTruncated>\n"
    "    <Marker>AAEAAc3Vw</Marker>\n"
    "    <Users>\n"
    "      <member>\n"
    "        <Path>/</Path>\n"
    "        <UserName>alice</UserName>\n"
    "        <Arn>arn:aws:iam::123456789012:user/alice</Arn>\n"
    "        <UserId>AIDACKCEVSQ6C2EXAMPLE</UserId>\n"
    "        <CreateDate>2012-09-05T19:38:48Z</CreateDate>\n"
    "        <PasswordLastUsed>2014-09-08T21:47:36Z</PasswordLastUsed>\n"
    "      </member>\n"
    "      <member>\n"
    "        <Path>/ops/</Path>\n"
    "        <UserName>bob &amp; co</UserName>\n"
    "        <Arn>arn:aws:iam::123456789012:user/ops/bob</Arn>\n"
    "        <UserId>AIDACKCEVSQ6C2EXAMPL2</UserId>\n"
    "        <CreateDate>2013-01-01T00:00:00Z</CreateDate>\n"
    "      </member>\n"
    "    </Users>\n"
    "  </ListUsersResult>\n"
    "  <ResponseMetadata><RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId></ResponseMetadata>\n"
    "</ListUsersResponse>\n";

VG_TEST(iam_list_users)
{
    static const char *const bools[] = { "IsTruncated", NULL };
    struct vg_aws_xml_opts o = { .bools = bools, .unwrap = "ListUsersResult" };
    char root[64];
    char *s = conv(LIST_USERS_2, &o, root, sizeof(root));
    CHECK_EQ_STR(root, "ListUsersResponse");
    CHECK_EQ_STR(s, "{\"IsTruncated\":true,\"Marker\":\"AAEAAc3Vw\",\"Users\":["
                    "{\"Path\":\"/\",\"UserName\":\"alice\","
                    "\"Arn\":\"arn:aws:iam::123456789012:user/alice\","
                    "\"UserId\":\"AIDACKCEVSQ6C2EXAMPLE\",\"CreateDate\":\"2012-09-05T19:38:48Z\","
                    "\"PasswordLastUsed\":\"2014-09-08T21:47:36Z\"},"
                    "{\"Path\":\"/ops/\",\"UserName\":\"bob & co\","
                    "\"Arn\":\"arn:aws:iam::123456789012:user/ops/bob\","
                    "\"UserId\":\"AIDACKCEVSQ6C2EXAMPL2\",\"CreateDate\":\"2013-01-01T00:00:00Z\"}]}");
    free(s);
    /* without unwrap: the root's value */
    s = conv(LIST_USERS_2, NULL, NULL, 0);
    CHECK_CONTAINS(s, "{\"ListUsersResult\":{\"IsTruncated\":\"true\"");
    CHECK_CONTAINS(s, "\"ResponseMetadata\":{\"RequestId\":\"7a62c49f-347e-4fc4-9331-6e8eEXAMPLE\"}");
    free(s);
}

VG_TEST(one_member_is_still_a_list_and_empty_lists)
{
    const char *one = "<R><ListUsersResult><Users><member><UserName>a</UserName></member>"
                      "</Users></ListUsersResult></R>";
    struct vg_aws_xml_opts o = { .unwrap = "ListUsersResult" };
    char *s = conv(one, &o, NULL, 0);
    CHECK_EQ_STR(s, "{\"Users\":[{\"UserName\":\"a\"}]}");
    free(s);
    /* an empty wrapper is "" unless the caller names it a list */
    const char *none = "<R><ListUsersResult><Users/><IsTruncated>false</IsTruncated>"
                       "</ListUsersResult></R>";
    s = conv(none, &o, NULL, 0);
    CHECK_EQ_STR(s, "{\"Users\":\"\",\"IsTruncated\":\"false\"}");
    free(s);
    static const char *const lists[] = { "Users", NULL };
    o.lists = lists;
    s = conv(none, &o, NULL, 0);
    CHECK_EQ_STR(s, "{\"Users\":[],\"IsTruncated\":\"false\"}");
    free(s);
    /* unwrap names a child that is not there: the root's value */
    o.unwrap = "Nope";
    s = conv(none, &o, NULL, 0);
    CHECK_EQ_STR(s, "{\"ListUsersResult\":{\"Users\":[],\"IsTruncated\":\"false\"}}");
    free(s);
}

static const char *SECURITY_GROUPS =
    "<DescribeSecurityGroupsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">\n"
    "  <requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId>\n"
    "  <securityGroupInfo>\n"
    "    <item>\n"
    "      <ownerId>123456789012</ownerId>\n"
    "      <groupId>sg-1a2b3c4d</groupId>\n"
    "      <groupName>default</groupName>\n"
    "      <groupDescription>default VPC security group</groupDescription>\n"
    "      <vpcId>vpc-1a2b3c4d</vpcId>\n"
    "      <ipPermissions>\n"
    "        <item>\n"
    "          <ipProtocol>-1</ipProtocol>\n"
    "          <groups><item><userId>123456789012</userId><groupId>sg-1a2b3c4d</groupId></item></groups>\n"
    "          <ipRanges/>\n"
    "          <ipv6Ranges/>\n"
    "          <prefixListIds/>\n"
    "        </item>\n"
    "        <item>\n"
    "          <ipProtocol>tcp</ipProtocol>\n"
    "          <fromPort>22</fromPort>\n"
    "          <toPort>22</toPort>\n"
    "          <groups/>\n"
    "          <ipRanges>\n"
    "            <item><cidrIp>0.0.0.0/0</cidrIp><description>ssh from anywhere</description></item>\n"
    "            <item><cidrIp>10.0.0.0/8</cidrIp></item>\n"
    "          </ipRanges>\n"
    "          <ipv6Ranges><item><cidrIpv6>::/0</cidrIpv6></item></ipv6Ranges>\n"
    "          <prefixListIds/>\n"
    "        </item>\n"
    "      </ipPermissions>\n"
    "      <ipPermissionsEgress>\n"
    "        <item><ipProtocol>-1</ipProtocol><groups/>"
    "<ipRanges><item><cidrIp>0.0.0.0/0</cidrIp></item></ipRanges><ipv6Ranges/><prefixListIds/></item>\n"
    "      </ipPermissionsEgress>\n"
    "      <tagSet><item><key>Name</key><value>web</value></item></tagSet>\n"
    "    </item>\n"
    "  </securityGroupInfo>\n"
    "  <nextToken>tok1</nextToken>\n"
    "</DescribeSecurityGroupsResponse>\n";

VG_TEST(ec2_describe_security_groups)
{
    static const char *const lists[] = { "securityGroupInfo", "ipPermissions",
                                         "ipPermissionsEgress", "groups", "ipRanges",
                                         "ipv6Ranges", "prefixListIds", "tagSet", NULL };
    static const char *const ints[] = { "fromPort", "toPort", NULL };
    struct vg_aws_xml_opts o = { .lists = lists, .ints = ints };
    char root[64];
    char *s = conv(SECURITY_GROUPS, &o, root, sizeof(root));
    CHECK_EQ_STR(root, "DescribeSecurityGroupsResponse");
    CHECK_EQ_STR(s,
        "{\"requestId\":\"59dbff89-35bd-4eac-99ed-be587EXAMPLE\",\"securityGroupInfo\":[{"
        "\"ownerId\":\"123456789012\",\"groupId\":\"sg-1a2b3c4d\",\"groupName\":\"default\","
        "\"groupDescription\":\"default VPC security group\",\"vpcId\":\"vpc-1a2b3c4d\","
        "\"ipPermissions\":["
        "{\"ipProtocol\":\"-1\",\"groups\":[{\"userId\":\"123456789012\",\"groupId\":\"sg-1a2b3c4d\"}],"
        "\"ipRanges\":[],\"ipv6Ranges\":[],\"prefixListIds\":[]},"
        "{\"ipProtocol\":\"tcp\",\"fromPort\":22,\"toPort\":22,\"groups\":[],"
        "\"ipRanges\":[{\"cidrIp\":\"0.0.0.0/0\",\"description\":\"ssh from anywhere\"},"
        "{\"cidrIp\":\"10.0.0.0/8\"}],\"ipv6Ranges\":[{\"cidrIpv6\":\"::/0\"}],\"prefixListIds\":[]}],"
        "\"ipPermissionsEgress\":[{\"ipProtocol\":\"-1\",\"groups\":[],"
        "\"ipRanges\":[{\"cidrIp\":\"0.0.0.0/0\"}],\"ipv6Ranges\":[],\"prefixListIds\":[]}],"
        "\"tagSet\":[{\"key\":\"Name\",\"value\":\"web\"}]}],\"nextToken\":\"tok1\"}");
    free(s);
    /* without hints: item wrappers are still arrays; the owner id keeps its digits */
    s = conv(SECURITY_GROUPS, NULL, NULL, 0);
    CHECK_CONTAINS(s, "\"ipv6Ranges\":[{\"cidrIpv6\":\"::/0\"}]");
    CHECK_CONTAINS(s, "\"ownerId\":\"123456789012\"");
    CHECK_CONTAINS(s, "\"fromPort\":\"22\"");
    free(s);
}

VG_TEST(s3_list_buckets)
{
    const char *xml =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<ListAllMyBucketsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<Owner><ID>bcaf1ffd86f461ca5fb16fd081034f</ID><DisplayName>webfile</DisplayName></Owner>"
        "<Buckets><Bucket><Name>prod-logs</Name><CreationDate>2006-02-03T16:45:09.000Z</CreationDate>"
        "<BucketRegion>us-east-1</BucketRegion></Bucket></Buckets>"
        "<ContinuationToken>ct1</ContinuationToken></ListAllMyBucketsResult>";
    static const char *const lists[] = { "Buckets", NULL };
    struct vg_aws_xml_opts o = { .lists = lists };
    char *s = conv(xml, &o, NULL, 0);
    CHECK_EQ_STR(s, "{\"Owner\":{\"ID\":\"bcaf1ffd86f461ca5fb16fd081034f\",\"DisplayName\":\"webfile\"},"
                    "\"Buckets\":[{\"Name\":\"prod-logs\",\"CreationDate\":\"2006-02-03T16:45:09.000Z\","
                    "\"BucketRegion\":\"us-east-1\"}],\"ContinuationToken\":\"ct1\"}");
    free(s);
    /* the other hint: <Bucket> always an array in its parent */
    static const char *const arrays[] = { "Bucket", NULL };
    struct vg_aws_xml_opts o2 = { .arrays = arrays };
    s = conv(xml, &o2, NULL, 0);
    CHECK_CONTAINS(s, "\"Buckets\":{\"Bucket\":[{\"Name\":\"prod-logs\"");
    free(s);
}

VG_TEST(s3_get_bucket_encryption_and_location)
{
    const char *xml =
        "<ServerSideEncryptionConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms</SSEAlgorithm>"
        "<KMSMasterKeyID>arn:aws:kms:us-east-1:1234:key/abc</KMSMasterKeyID>"
        "</ApplyServerSideEncryptionByDefault><BucketKeyEnabled>true</BucketKeyEnabled></Rule>"
        "</ServerSideEncryptionConfiguration>";
    static const char *const arrays[] = { "Rule", NULL };
    static const char *const bools[] = { "BucketKeyEnabled", NULL };
    struct vg_aws_xml_opts o = { .arrays = arrays, .bools = bools };
    char root[64];
    char *s = conv(xml, &o, root, sizeof(root));
    CHECK_EQ_STR(root, "ServerSideEncryptionConfiguration");
    CHECK_EQ_STR(s, "{\"Rule\":[{\"ApplyServerSideEncryptionByDefault\":{\"SSEAlgorithm\":\"aws:kms\","
                    "\"KMSMasterKeyID\":\"arn:aws:kms:us-east-1:1234:key/abc\"},"
                    "\"BucketKeyEnabled\":true}]}");
    free(s);
    /* repeated elements become arrays without a hint */
    const char *two = "<C><Rule><A>1</A></Rule><Rule><A>2</A></Rule><X>y</X></C>";
    s = conv(two, NULL, NULL, 0);
    CHECK_EQ_STR(s, "{\"Rule\":[{\"A\":\"1\"},{\"A\":\"2\"}],\"X\":\"y\"}");
    free(s);
    /* GetBucketLocation: a root with text only */
    s = conv("<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">eu-west-1"
             "</LocationConstraint>", NULL, root, sizeof(root));
    CHECK_EQ_STR(s, "\"eu-west-1\"");
    CHECK_EQ_STR(root, "LocationConstraint");
    free(s);
    s = conv("<LocationConstraint/>", NULL, NULL, 0);
    CHECK_EQ_STR(s, "\"\"");
    free(s);
}

VG_TEST(query_map_entries_and_typed_hints)
{
    const char *xml =
        "<GetAccountSummaryResponse><GetAccountSummaryResult><SummaryMap>"
        "<entry><key>Users</key><value>27</value></entry>"
        "<entry><key>AccountMFAEnabled</key><value>0</value></entry>"
        "</SummaryMap></GetAccountSummaryResult></GetAccountSummaryResponse>";
    static const char *const ints[] = { "value", NULL };
    struct vg_aws_xml_opts o = { .ints = ints, .unwrap = "GetAccountSummaryResult" };
    char *s = conv(xml, &o, NULL, 0);
    CHECK_EQ_STR(s, "{\"SummaryMap\":{\"Users\":27,\"AccountMFAEnabled\":0}}");
    free(s);
    /* hints that do not fit the text leave it a string */
    static const char *const bools[] = { "B", NULL };
    static const char *const ints2[] = { "I", "J", "K", NULL };
    struct vg_aws_xml_opts o2 = { .bools = bools, .ints = ints2 };
    s = conv("<R><B>yes</B><I>12x</I><J>99999999999999999999</J><K>-5</K></R>", &o2, NULL, 0);
    CHECK_EQ_STR(s, "{\"B\":\"yes\",\"I\":\"12x\",\"J\":\"99999999999999999999\",\"K\":-5}");
    free(s);
}

VG_TEST(namespaces_entities_cdata_and_attributes)
{
    char *s = conv("<a:R xmlns:a=\"urn:x\" xmlns:xsi=\"urn:y\"><a:Grantee xsi:type=\"CanonicalUser\">"
                   "<a:ID>1</a:ID></a:Grantee><T><![CDATA[<not a tag>]]> &lt;&#x41;&#233;</T></a:R>",
                   NULL, NULL, 0);
    CHECK_EQ_STR(s, "{\"Grantee\":{\"ID\":\"1\"},\"T\":\"<not a tag> <A\xc3\xa9\"}");
    free(s);
    /* the policy document of GetPolicyVersion is URL-encoded text: kept as is */
    s = conv("<R><Document>%7B%22Version%22%3A%222012-10-17%22%7D</Document></R>", NULL, NULL, 0);
    CHECK_EQ_STR(s, "{\"Document\":\"%7B%22Version%22%3A%222012-10-17%22%7D\"}");
    free(s);
}

VG_TEST(error_documents)
{
    struct vg_aws_error e;
    const char *q = "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">"
                    "<Error><Type>Sender</Type><Code>NoSuchEntity</Code>"
                    "<Message>The Password Policy with domain name 123456789012 cannot be found.</Message>"
                    "</Error><RequestId>a1b2</RequestId></ErrorResponse>";
    memset(&e, 0, sizeof(e));
    CHECK_EQ_INT(vg_aws_xml_error(q, strlen(q), &e), VG_OK);
    CHECK_EQ_STR(e.code, "NoSuchEntity");
    CHECK_EQ_STR(e.message, "The Password Policy with domain name 123456789012 cannot be found.");
    CHECK_EQ_STR(e.request_id, "a1b2");

    const char *ec2 = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error>"
                      "<Code>UnauthorizedOperation</Code><Message>You are not authorized to\n"
                      "perform this operation.</Message></Error></Errors>"
                      "<RequestID>ec2-rid</RequestID></Response>";
    memset(&e, 0, sizeof(e));
    CHECK_EQ_INT(vg_aws_xml_error(ec2, strlen(ec2), &e), VG_OK);
    CHECK_EQ_STR(e.code, "UnauthorizedOperation");
    CHECK_EQ_STR(e.message, "You are not authorized to perform this operation.");
    CHECK_EQ_STR(e.request_id, "ec2-rid");

    const char *s3 = "<Error><Code>ServerSideEncryptionConfigurationNotFoundError</Code>"
                     "<Message>The server side encryption configuration was not found</Message>"
                     "<BucketName>b</BucketName><RequestId>s3rid</RequestId><HostId>h</HostId></Error>";
    memset(&e, 0, sizeof(e));
    CHECK_EQ_INT(vg_aws_xml_error(s3, strlen(s3), &e), VG_OK);
    CHECK_EQ_STR(e.code, "ServerSideEncryptionConfigurationNotFoundError");
    CHECK_EQ_STR(e.request_id, "s3rid");

    /* not error documents */
    const char *nots[] = { "<ListUsersResponse/>", "<Error><Message>x</Message></Error>",
                           "<ErrorResponse><Error><Code>X", "{\"__type\":\"X\"}", "" };
    for (size_t i = 0; i < sizeof(nots) / sizeof(nots[0]); i++) {
        memset(&e, 0, sizeof(e));
        CHECK_EQ_INT(vg_aws_xml_error(nots[i], strlen(nots[i]), &e), VG_ERR_PARSE);
        CHECK_EQ_STR(e.code, "");
    }
}

VG_TEST(malformed_and_truncated)
{
    struct {
        const char *xml;
        const char *want;
    } cases[] = {
        { "", "XML error at line 1 column 1: no element found" },
        { "<A><B>x</B>", "XML error at line 1 column 12: no element found" },
        { "<A><B>x</B", "XML error at line 1 column" },
        { "<A><B>x</C></A>", "mismatched tag" },
        { "<A></A><B/>", "junk after document element" },
        { "<A>&nosuch;</A>", "undefined entity" },
        { "{\"not\":\"xml\"}", "not well-formed" },
        { "<A>\xff\xfe</A>", "not well-formed" },
        { "<A x='1' x='2'/>", "duplicate attribute" },
        { "<A:>", "XML error at line 1 column" },
        { "<?xml version=\"1.0\"?>\n<ListUsersResponse>\n  <ListUsersResult>\n    <Users><member>",
          "XML error at line 4 column 20: no element found" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *s = conv(cases[i].xml, NULL, NULL, 0);
        CHECK_CONTAINS(s, "ERR: ");
        CHECK_CONTAINS(s, cases[i].want);
        free(s);
    }
    /* every prefix of a real answer is an error, never a partial document */
    size_t n = strlen(SECURITY_GROUPS);
    int errors = 0;
    for (size_t cut = 0; cut < n; cut++) {
        char errbuf[256];
        /* the last byte is a newline after the root: only shorter cuts fail */
        struct vg_json *v = vg_aws_xml_parse(SECURITY_GROUPS, cut, NULL, NULL, 0, errbuf,
                                             sizeof(errbuf));
        if (!v && strncmp(errbuf, "XML error at line ", 18) == 0)
            errors++;
        vg_json_free(v);
    }
    CHECK_EQ_INT(errors, (int)n - 1);
}

VG_TEST(hostile_documents)
{
    /* billion laughs: refused at the DOCTYPE */
    const char *laughs = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
                         "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">]>"
                         "<lolz>&lol2;</lolz>";
    char *s = conv(laughs, NULL, NULL, 0);
    CHECK_CONTAINS(s, "a DOCTYPE is not allowed");
    free(s);
    /* external entity */
    s = conv("<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><r>&x;</r>", NULL, NULL, 0);
    CHECK_CONTAINS(s, "ERR: ");
    CHECK(strstr(s, "root:") == NULL);
    free(s);
    /* depth */
    struct vg_buf b;
    vg_buf_init(&b, 16 << 20);
    for (int i = 0; i < VG_AWS_XML_MAX_DEPTH + 1; i++)
        vg_buf_appends(&b, "<a>");
    for (int i = 0; i < VG_AWS_XML_MAX_DEPTH + 1; i++)
        vg_buf_appends(&b, "</a>");
    s = conv(vg_buf_str(&b), NULL, NULL, 0);
    CHECK_CONTAINS(s, "nested deeper than");
    free(s);
    /* exactly the bound is fine */
    vg_buf_reset(&b);
    for (int i = 0; i < VG_AWS_XML_MAX_DEPTH; i++)
        vg_buf_appends(&b, "<a>");
    for (int i = 0; i < VG_AWS_XML_MAX_DEPTH; i++)
        vg_buf_appends(&b, "</a>");
    s = conv(vg_buf_str(&b), NULL, NULL, 0);
    CHECK(strncmp(s, "{\"a\":", 5) == 0);
    free(s);
    /* a long name */
    vg_buf_reset(&b);
    vg_buf_appendc(&b, '<');
    for (int i = 0; i < VG_AWS_XML_MAX_NAME; i++)
        vg_buf_appendc(&b, 'n');
    vg_buf_appends(&b, "/>");
    s = conv(vg_buf_str(&b), NULL, NULL, 0);
    CHECK_CONTAINS(s, "longer than");
    free(s);
    /* many distinct children: linear, not quadratic */
    vg_buf_reset(&b);
    vg_buf_appends(&b, "<R>");
    for (int i = 0; i < 50000; i++)
        vg_buf_printf(&b, "<k%d>v</k%d><k%d>w</k%d>", i, i, i, i);
    vg_buf_appends(&b, "</R>");
    char errbuf[256];
    struct vg_json *v = vg_aws_xml_parse(b.data, b.len, NULL, NULL, 0, errbuf, sizeof(errbuf));
    CHECK(v != NULL);
    CHECK_EQ_INT(vg_json_len(v), 50000);
    CHECK_EQ_INT(vg_json_len(vg_json_get(v, "k49999")), 2);
    vg_json_free(v);
    vg_buf_free(&b);
    /* too large */
    v = vg_aws_xml_parse("<a/>", (size_t)VG_AWS_MAX_BODY + 1, NULL, NULL, 0, errbuf, sizeof(errbuf));
    CHECK(v == NULL);
    CHECK_CONTAINS(errbuf, "larger than");
}

VG_TEST_MAIN()
