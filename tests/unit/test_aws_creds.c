/*
 * The credential chain: environment, shared files with profiles, web
 * identity, assume role (signatures checked by the server), container
 * credentials and IMDSv2, against tests/aws/cred_server.py on 127.0.0.1;
 * refresh before expiry with a clock the test moves.
 */
#include "vgtest.h"

#include "agent/buf.h"
#include "agent/json.h"
#include "agent/log.h"
#include "agent/timeutil.h"
#include "checks/aws/creds.h"
#include "checks/aws/http.h"
#include "../aws/testsrv.h"

#include <sys/stat.h>

static struct testsrv srv;
static char home[256];

/* ---- helpers ---------------------------------------------------------- */

static const char *const aws_vars[] = {
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "AWS_EC2_METADATA_DISABLED", "AWS_REGION",
    "AWS_DEFAULT_REGION", NULL,
};

/* A clean slate: no AWS_* variable, an empty HOME, IMDS disabled unless a
 * test points it at the server. */
static void clean_env(void)
{
    for (size_t i = 0; aws_vars[i]; i++)
        unsetenv(aws_vars[i]);
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf %s/.aws", home);
    CHECK_EQ_INT(system(cmd), 0);
    setenv("HOME", home, 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void write_aws(const char *leaf, const char *text)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/.aws", home);
    mkdir(p, 0700);
    snprintf(p, sizeof(p), "%s/.aws/%s", home, leaf);
    write_file(p, text);
}

static struct vg_aws_creds_opts opts(void)
{
    return (struct vg_aws_creds_opts){ .endpoint_url = srv.base, .container_base = srv.base,
                                       .timeout_ms = 3000 };
}

/* Gets credentials from a fresh chain; the error text into err. */
static enum vg_err chain_get(const struct vg_aws_creds_opts *o, struct vg_aws_creds *out,
                             char *err, size_t errlen)
{
    struct vg_aws_creds_provider *p = vg_aws_creds_chain_new(o);
    CHECK(p != NULL);
    const struct vg_aws_creds *c = NULL;
    err[0] = '\0';
    enum vg_err rc = vg_aws_creds_get(p, &c, err, errlen);
    memset(out, 0, sizeof(*out));
    if (!rc)
        *out = *c;
    vg_aws_creds_destroy(p);
    return rc;
}

/* The server's counter for op. */
static long long stat_count(const char *op)
{
    char url[128];
    snprintf(url, sizeof(url), "%s/_stats", srv.base);
    struct vg_aws_simple_request rq = { .method = "GET", .url = url, .timeout_ms = 3000 };
    struct vg_aws_simple_response rs;
    struct vg_aws_error e;
    long long n = -1;
    if (vg_aws_http_simple(&rq, &rs, &e) == VG_OK && rs.status == 200) {
        char jerr[64];
        struct vg_json *doc = vg_json_parse(rs.body.data, rs.body.len, jerr, sizeof(jerr));
        n = vg_json_get_int(vg_json_get(vg_json_get(doc, "counts"), op));
        vg_json_free(doc);
    }
    vg_aws_simple_response_free(&rs);
    return n;
}

static const char *last_external_id(char *buf, size_t n)
{
    char url[128];
    snprintf(url, sizeof(url), "%s/_stats", srv.base);
    struct vg_aws_simple_request rq = { .method = "GET", .url = url, .timeout_ms = 3000 };
    struct vg_aws_simple_response rs;
    struct vg_aws_error e;
    buf[0] = '\0';
    if (vg_aws_http_simple(&rq, &rs, &e) == VG_OK) {
        char jerr[64];
        struct vg_json *doc = vg_json_parse(rs.body.data, rs.body.len, jerr, sizeof(jerr));
        const char *s = vg_json_get_str(vg_json_get(doc, "last_external_id"));
        snprintf(buf, n, "%s", s ? s : "(none)");
        vg_json_free(doc);
    }
    vg_aws_simple_response_free(&rs);
    return buf;
}

static void control(const char *query)
{
    char url[256];
    snprintf(url, sizeof(url), "%s/_control?%s", srv.base, query);
    struct vg_aws_simple_request rq = { .method = "POST", .url = url, .body = "",
                                        .timeout_ms = 3000 };
    struct vg_aws_simple_response rs;
    struct vg_aws_error e;
    CHECK_EQ_INT(vg_aws_http_simple(&rq, &rs, &e), VG_OK);
    vg_aws_simple_response_free(&rs);
}

/* A captured log, to prove secrets stay out of it. */
static struct vg_buf logged;

static void log_sink(enum vg_log_level level, const char *area, const char *line, void *opaque)
{
    (void)level;
    (void)area;
    (void)opaque;
    vg_buf_appends(&logged, line);
    vg_buf_appendc(&logged, '\n');
}

/* ---- the files ---------------------------------------------------------- */

VG_TEST(ini_files)
{
    const char *cfg = "# comment\n; another\n[default]\nregion = eu-west-1\n"
                      "s3 =\n  max_concurrent_requests = 20\n  addressing_style = path\n"
                      "output=json\n\n[profile audit]\nrole_arn = arn:aws:iam::1:role/x\n"
                      "source_profile=base\n[sso-session corp]\nsso_region = us-east-1\n"
                      "[notaprofile]\nkey = v\n";
    char err[256];
    struct vg_json *v = vg_aws_ini_parse(cfg, strlen(cfg), "config", true, err, sizeof(err));
    CHECK(v != NULL);
    struct vg_buf b;
    vg_buf_init(&b, 1 << 16);
    vg_json_dump(v, &b);
    CHECK_EQ_STR(vg_buf_str(&b), "{\"default\":{\"region\":\"eu-west-1\",\"s3\":\"\",\"output\":\"json\"},"
                                 "\"audit\":{\"role_arn\":\"arn:aws:iam::1:role/x\","
                                 "\"source_profile\":\"base\"}}");
    vg_json_free(v);
    /* the credentials file: [name] sections, any name */
    const char *cred = "[default]\r\naws_access_key_id = AKID\r\nAWS_Secret_Access_Key=S\r\n"
                       "[profile x]\naws_access_key_id=Y\n";
    v = vg_aws_ini_parse(cred, strlen(cred), "credentials", false, err, sizeof(err));
    vg_buf_reset(&b);
    vg_json_dump(v, &b);
    CHECK_EQ_STR(vg_buf_str(&b), "{\"default\":{\"aws_access_key_id\":\"AKID\","
                                 "\"aws_secret_access_key\":\"S\"},"
                                 "\"profile x\":{\"aws_access_key_id\":\"Y\"}}");
    vg_json_free(v);
    vg_buf_free(&b);
    /* broken files: one clear line each */
    struct {
        const char *text, *want;
    } bad[] = {
        { "[default]\njust words\n", "f:2: expected [section] or key = value" },
        { "key = v\n", "f:1: a setting before any [section]" },
        { "[default\nk=v\n", "f:1: a section header without ']'" },
        { "[]\n", "f:1: a section without a name" },
        { "[default]\n = v\n", "f:2: a setting without a name" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        v = vg_aws_ini_parse(bad[i].text, strlen(bad[i].text), "f", false, err, sizeof(err));
        CHECK(v == NULL);
        CHECK_EQ_STR(err, bad[i].want);
    }
    v = vg_aws_ini_parse("[a]\nk=\0v\n", 9, "f", false, err, sizeof(err));
    CHECK(v == NULL);
    CHECK_CONTAINS(err, "NUL byte");
}

/* ---- the environment ----------------------------------------------------- */

VG_TEST(environment)
{
    clean_env();
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "env-secret", 1);
    setenv("AWS_SESSION_TOKEN", "env-token", 1);
    struct vg_aws_creds_opts o = opts();
    struct vg_aws_creds c;
    char err[1024];
    CHECK_EQ_INT(chain_get(&o, &c, err, sizeof(err)), VG_OK);
    CHECK_EQ_STR(c.access_key_id, "AKIDENV");
    CHECK_EQ_STR(c.secret_access_key, "env-secret");
    CHECK_EQ_STR(c.session_token, "env-token");
    CHECK_EQ_STR(c.source, "environment");
    CHECK_EQ_INT(c.expires_ms, 0);

    /* half a key pair is an error, not a fall-through */
    unsetenv("AWS_SECRET_ACCESS_KEY");
    CHECK_EQ_INT(chain_get(&o, &c, err, sizeof(err)), VG_ERR_CONFIG);
    CHECK_CONTAINS(err, "AWS_SECRET_ACCESS_KEY is not set");

    /* a header injection through the environment is refused */
    setenv("AWS_SECRET_ACCESS_KEY", "bad\r\nX-Evil: 1", 1);
    CHECK_EQ_INT(chain_get(&o, &c, err, sizeof(err)), VG_ERR_CONFIG);
    CHECK_CONTAINS(err, "control character");

    /* an explicit profile wins over the environment */
    setenv("AWS_SECRET_ACCESS_KEY", "env-secret", 1);
    write_aws("credentials", "[audit]\naws_access_key_id = AKIDFILE\naws_secret_access_key = f\n");
    o.profile = "audit";
    CHECK_EQ_INT(chain_get(&o, &c, err, sizeof(err)), VG_OK);
    CHECK_EQ_STR(c.access_key_id, "AKIDFILE");
    CHECK_EQ_STR(c.source, "profile audit");
}

/* ---- shared files ---------------------------------------------------------- */

VG_TEST(profiles_static_keys)
{
    clean_env();
    write_aws("credentials", "[default]\naws_access_key_id = AKIDDEF\naws_secret_access_key = d\n"
                             "[prod]\naws_access_key_id = AKIDPRODCRED\naws_secret_access_key = p\n");
    write_aws("config", "[default]\nregion = eu-west-1\n[profile prod]\n"
                        "aws_access_key_id = AKIDPRODCONFIG\naws_secret_access_key = q\n"
                        "[profile cfgonly]\naws_access_key_id = AKIDCFG\n"
                        "aws_secret_access_key = c\naws_session_token = T\n"
                        "[profile proc]\ncredential_process = /bin/echo hi\n"
                        "[profile half]\naws_access_key_id = AKIDHALF\n");
    struct vg_aws_creds_opts o = opts();
    struct vg_aws_creds c;
    char err[2048];
    CHECK_EQ_INT(chain_get(&o, &c, err, sizeof(err)), VG_OK);
    CHECK_EQ_STR(c.access_key_id, "AKIDDEF");
    /* AWS_PROFILE; the credentials file wins over the config file */
    setenv("AWS_PROFILE", "prod", 1);
    CHECK_EQ_INT(chain_get(&o, &c, err, sizeof(err)), VG_OK);
    CHECK_EQ_STR(c.access_key_id, "AKIDPRODCRED");
    setenv("AWS_PROFILE", "cfgonly", 1);
    CHECK_EQ_INT(chain_get(&o, &c, err, sizeof(err)), VG_OK);
    CHECK_EQ_STR(c.access_key_id, "AKIDCFG");
    CHECK_EQ_STR(c.session_token, "T");
    /* a profile that is not there */
    setenv("AWS_PROFILE", "nosuch", 1);
    CHECK_EQ_INT(chain_get(&o, &c, err, sizeof(err)), VG_ERR_CONFIG);
    CHECK_CONTAINS(err, "AWS profile nosuch is not in");
    /* credential_process: logged, skipped, the chain goes on (to nothing) */
    setenv("AWS_PROFILE", "proc", 1);
    vg_buf_init(&logged, 1 << 16);
    vg_log_set_sink(log_sink, NULL);
    CHECK_EQ_INT(chain_get(&o, &c, err, sizeof(err)), VG_ERR_PERM);
    vg_log_set_sink(NULL, NULL);
    CHECK_CONTAINS(vg_buf_str(&logged), "credential_process is not supported");
    CHECK_CONTAINS(err, "no AWS credentials found: tried");
    CHECK_CONTAINS(err, "profile proc (credential_process is not supported)");
    CHECK_CONTAINS(err, "instance metadata: disabled by AWS_EC2_METADATA_DISABLED");
    vg_buf_free(&logged);
    /* half a key pair in a file */
    setenv("AWS_PROFILE", "half", 1);
    CHECK_EQ_INT(chain_get(&o, &c, err, sizeof(err)), VG_ERR_CONFIG);
    CHECK_CONTAINS(err, "profile half has only one of aws_access_key_id and aws_secret_access_key");
    /* other file names */
    char p[512];
    snprintf(p, sizeof(p), "%s/elsewhere", home);
    write_file(p, "[default]\naws_access_key_id = AKIDELSE\naws_secret_access_key = e\n");
    unsetenv("AWS_PROFILE");
    setenv("AWS_SHARED_CREDENTIALS_FILE", p, 1);
    CHECK_EQ_INT(chain_get(&o, &c, err, sizeof(err)), VG_OK);
    CHECK_EQ_STR(c.access_key_id, "AKIDELSE");
    /* a broken file is an error with its line */
    write_file(p, "[default]\nnot a setting\n");
    CHECK_EQ_INT(chain_get(&o, &c, err, sizeof(err)), VG_ERR_CONFIG);
    CHECK_CONTAINS(err, "elsewhere:2: expected [section] or key = value");
}

VG_TEST(profile_assume_role)
{
    clean_env();
    write_aws("credentials", "[base]\naws_access_key_id = AKIDSOURCE\n"
                             "aws_secret_access_key = source-secret\n"
                             "[wrongkey]\naws_access_key_id = AKIDSOURCE\n"
                             "aws_secret_access_key = not-the-secret\n");
    write_aws("config", "[profile audit]\nrole_arn = arn:aws:iam::222222222222:role/audit\n"
                        "source_profile = base\nexternal_id = ext-123\n"
                        "role_session_name = vigil-test\nregion = eu-west-1\n"
                        "[profile hop2]\nrole_arn = arn:aws:iam::333333333333:role/second\n"
                        "source_profile = audit\n"
                        "[profile denied]\nrole_arn = arn:aws:iam::1:role/denied\nsource_profile = base\n"
                        "[profile badsig]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = wrongkey\n"
                        "[profile loopa]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = loopb\n"
                        "[profile loopb]\nrole_arn = arn:aws:iam::1:role/b\nsource_profile = loopa\n"
                        "[profile norole]\nrole_arn = arn:aws:iam::1:role/c\n"
                        "[profile fromenv]\nrole_arn = arn:aws:iam::1:role/e\n"
                        "credential_source = Environment\n");
    struct vg_aws_creds_opts o = opts();
    struct vg_aws_creds c;
    char err[2048], ext[64];
    o.profile = "audit";
    CHECK_EQ_INT(chain_get(&o, &c, err, sizeof(err)), VG_OK);
    CHECK(strncmp(c.access_key_id, "ASIAASSUMED", 11) == 0);
    CHECK_CONTAINS(c.session_token, "token-assumed-");
    CHECK(c.expires_ms > vg_time_now_ms() + 50 * 60 * 1000);
    CHECK_EQ_STR(c.source, "assumed role arn:aws:iam::222222222222:role/audit");
    CHECK_EQ_STR(last_external_id(ext, sizeof(ext)), "ext-123");
    /* two hops: the second AssumeRole is signed with the first one's keys */
    long long before = stat_count("sts:AssumeRole");
    o.profile = "hop2";
    CHECK_EQ_INT(chain_get(&o, &c, err, sizeof(err)), VG_OK);
    CHECK(strncmp(c.access_key_id, "ASIAASSUMED", 11) == 0);
    CHECK_EQ_STR(c.source, "assumed role arn:aws:iam::333333333333:role/second");
    CHECK_EQ_INT(stat_count("sts:AssumeRole") - before, 2);
    /* refused */
    o.profile = "denied";
    CHECK_EQ_INT(chain_get(&o, &c, err, sizeof(err)), VG_ERR_PERM);
    CHECK_CONTAINS(err, "access denied to AssumeRole arn:aws:iam::1:role/denied: AccessDenied: User:");
    /* a wrong secret: the server's own SigV4 check says no */
    o.profile = "badsig";
    CHECK_EQ_INT(chain_get(&o, &c, err, sizeof(err)), VG_ERR_PERM);
    CHECK_CONTAINS(err, "bad credentials for AssumeRole arn:aws:iam::1:role/x: SignatureDoesNotMatch");
    /* configuration mistakes */
    o.profile = "loopa";
    CHECK_EQ_INT(chain_get(&o, &c, err, sizeof(err)), VG_ERR_CONFIG);
    CHECK_CONTAINS(err, "source_profile loop");
    o.profile = "norole";
    CHECK_EQ_INT(chain_get(&o, &c, err, sizeof(err)), VG_ERR_CONFIG);
    CHECK_CONTAINS(err, "has role_arn but no source_profile, credential_source or web_identity_token_file");
    /* credential_source = Environment */
    o.profile = "fromenv";
    setenv("AWS_ACCESS_KEY_ID", "AKIDSOURCE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "source-secret", 1);
    CHECK_EQ_INT(chain_get(&o, &c, err, sizeof(err)), VG_OK);
    CHECK_EQ_STR(c.source, "assumed role arn:aws:iam::1:role/e");
}

/* ---- web identity ---------------------------------------------------------- */

VG_TEST(web_identity)
{
    clean_env();
    char tok[512];
    snprintf(tok, sizeof(tok), "%s/token", home);
    write_file(tok, "good-web-token\n");
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", tok, 1);
    setenv("AWS_ROLE_ARN", "arn:aws:iam::111111111111:role/web", 1);
    setenv("AWS_ROLE_SESSION_NAME", "pod-1", 1);
    struct vg_aws_creds_opts o = opts();
    struct vg_aws_creds c;
    char err[2048];
    CHECK_EQ_INT(chain_get(&o, &c, err, sizeof(err)), VG_OK);
    CHECK(strncmp(c.access_key_id, "ASIAWEB", 7) == 0);
    CHECK_EQ_STR(c.source, "web identity arn:aws:iam::111111111111:role/web");
    /* a token STS refuses */
    write_file(tok, "stale-token");
    CHECK_EQ_INT(chain_get(&o, &c, err, sizeof(err)), VG_ERR_PERM);
    CHECK_CONTAINS(err, "InvalidIdentityToken");
    /* a token file that is not there */
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", "/nonexistent/token", 1);
    CHECK_EQ_INT(chain_get(&o, &c, err, sizeof(err)), VG_ERR_CONFIG);
    CHECK_CONTAINS(err, "cannot read token file /nonexistent/token");
    /* the profile form */
    clean_env();
    write_file(tok, "good-web-token");
    char cfg[1024];
    snprintf(cfg, sizeof(cfg), "[profile eks]\nrole_arn = arn:aws:iam::1:role/web2\n"
                               "web_identity_token_file = %s\n", tok);
    write_aws("config", cfg);
    o.profile = "eks";
    CHECK_EQ_INT(chain_get(&o, &c, err, sizeof(err)), VG_OK);
    CHECK(strncmp(c.access_key_id, "ASIAWEB", 7) == 0);
}

/* ---- container ------------------------------------------------------------- */

VG_TEST(container_credentials)
{
    clean_env();
    setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/task-1", 1);
    struct vg_aws_creds_opts o = opts();
    struct vg_aws_creds c;
    char err[2048];
    CHECK_EQ_INT(chain_get(&o, &c, err, sizeof(err)), VG_OK);
    CHECK(strncmp(c.access_key_id, "ASIACONTAINER", 13) == 0);
    CHECK_EQ_STR(c.source, "container credentials");
    CHECK(c.expires_ms > vg_time_now_ms());

    /* the full URI with a token, from the environment and from a file */
    clean_env();
    char full[256];
    snprintf(full, sizeof(full), "%s/v2/credentials/auth", srv.base);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", full, 1);
    CHECK_EQ_INT(chain_get(&o, &c, err, sizeof(err)), VG_ERR_PERM);
    CHECK_CONTAINS(err, "answered HTTP 401");
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "container-secret-token", 1);
    CHECK_EQ_INT(chain_get(&o, &c, err, sizeof(err)), VG_OK);
    CHECK(strncmp(c.access_key_id, "ASIACONTAINER", 13) == 0);
    char tf[512];
    snprintf(tf, sizeof(tf), "%s/eks-token", home);
    write_file(tf, "container-secret-token\n");
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrong", 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tf, 1);   /* the file wins */
    CHECK_EQ_INT(chain_get(&o, &c, err, sizeof(err)), VG_OK);
    /* only loopback, the ECS/EKS addresses or https */
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://10.1.2.3/creds", 1);
    CHECK_EQ_INT(chain_get(&o, &c, err, sizeof(err)), VG_ERR_CONFIG);
    CHECK_CONTAINS(err, "host 10.1.2.3 is not allowed over http");
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1.evil.com/creds", 1);
    CHECK_EQ_INT(chain_get(&o, &c, err, sizeof(err)), VG_ERR_CONFIG);
    /* unreachable: the error names the URL */
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:1/creds", 1);
    CHECK(chain_get(&o, &c, err, sizeof(err)) != VG_OK);
    CHECK_CONTAINS(err, "cannot reach http://127.0.0.1:1/creds");
}

/* ---- IMDSv2 ---------------------------------------------------------------- */

VG_TEST(instance_metadata_v2)
{
    clean_env();
    unsetenv("AWS_EC2_METADATA_DISABLED");
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", srv.base, 1);
    long long unauth = stat_count("imds:unauthorized");
    long long tokens = stat_count("imds:token");
    struct vg_aws_creds_opts o = opts();
    o.container_base = NULL;
    struct vg_aws_creds c;
    char err[2048];
    CHECK_EQ_INT(chain_get(&o, &c, err, sizeof(err)), VG_OK);
    CHECK(strncmp(c.access_key_id, "ASIAIMDS", 8) == 0);
    CHECK_EQ_STR(c.source, "instance metadata (role vigil-role)");
    CHECK_EQ_INT(stat_count("imds:token") - tokens, 1);
    /* never a request without the token (no IMDSv1) */
    CHECK_EQ_INT(stat_count("imds:unauthorized"), unauth);
    /* disabled */
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    CHECK_EQ_INT(chain_get(&o, &c, err, sizeof(err)), VG_ERR_PERM);
    CHECK_CONTAINS(err, "disabled by AWS_EC2_METADATA_DISABLED");
    /* nothing listens: the chain ends with every reason */
    unsetenv("AWS_EC2_METADATA_DISABLED");
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1", 1);
    CHECK_EQ_INT(chain_get(&o, &c, err, sizeof(err)), VG_ERR_PERM);
    CHECK_CONTAINS(err, "no AWS credentials found: tried environment (AWS_ACCESS_KEY_ID not set); "
                        "web identity (AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN not set); "
                        "profile default (not in ");
    CHECK_CONTAINS(err, "container (AWS_CONTAINER_CREDENTIALS_* not set); instance metadata: "
                        "cannot reach http://127.0.0.1:1/latest/api/token");
}

/* ---- refresh ----------------------------------------------------------------- */

static int64_t clock_offset;

static int64_t test_clock(void *opaque)
{
    (void)opaque;
    return vg_time_now_ms() + clock_offset;
}

VG_TEST(refresh_before_expiry)
{
    clean_env();
    unsetenv("AWS_EC2_METADATA_DISABLED");
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", srv.base, 1);
    control("imds_expiry=600");          /* ten minutes */
    clock_offset = 0;
    struct vg_aws_creds_opts o = opts();
    o.clock = test_clock;
    struct vg_aws_creds_provider *p = vg_aws_creds_chain_new(&o);
    const struct vg_aws_creds *c = NULL;
    char err[1024], first[128];
    long long fetches = stat_count("imds:creds");
    CHECK_EQ_INT(vg_aws_creds_get(p, &c, err, sizeof(err)), VG_OK);
    snprintf(first, sizeof(first), "%s", c ? c->access_key_id : "");
    CHECK_EQ_INT(stat_count("imds:creds") - fetches, 1);
    /* four minutes on: still more than five minutes left, no fetch */
    clock_offset = 4 * 60 * 1000;
    CHECK_EQ_INT(vg_aws_creds_get(p, &c, err, sizeof(err)), VG_OK);
    CHECK_EQ_STR(c->access_key_id, first);
    CHECK_EQ_INT(stat_count("imds:creds") - fetches, 1);
    /* six minutes on: within five minutes of expiry, fetched again */
    clock_offset = 6 * 60 * 1000;
    CHECK_EQ_INT(vg_aws_creds_get(p, &c, err, sizeof(err)), VG_OK);
    CHECK(strcmp(c->access_key_id, first) != 0);
    CHECK_EQ_INT(stat_count("imds:creds") - fetches, 2);
    /* a refresh that fails while the old ones are valid keeps them */
    char second[128];
    snprintf(second, sizeof(second), "%s", c->access_key_id);
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1", 1);
    clock_offset = 7 * 60 * 1000;      /* in the margin of the second, not expired */
    CHECK_EQ_INT(vg_aws_creds_get(p, &c, err, sizeof(err)), VG_OK);
    CHECK_EQ_STR(c ? c->access_key_id : NULL, second);
    /* once they are past expiry, the failure is an error */
    clock_offset = 20 * 60 * 1000;
    CHECK(vg_aws_creds_get(p, &c, err, sizeof(err)) != VG_OK);
    CHECK_CONTAINS(err, "cannot reach http://127.0.0.1:1");
    /* invalidate: fetched again at once */
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", srv.base, 1);
    clock_offset = 0;
    CHECK_EQ_INT(vg_aws_creds_get(p, &c, err, sizeof(err)), VG_OK);
    long long n = stat_count("imds:creds");
    vg_aws_creds_invalidate(p);
    CHECK_EQ_INT(vg_aws_creds_get(p, &c, err, sizeof(err)), VG_OK);
    CHECK_EQ_INT(stat_count("imds:creds") - n, 1);
    CHECK(vg_aws_creds_refreshable(p));
    vg_aws_creds_destroy(p);
    control("imds_expiry=3600");
}

/* ---- assume role into an account ----------------------------------------------- */

VG_TEST(assume_role_per_account)
{
    clean_env();
    struct vg_aws_creds_provider *src = vg_aws_creds_static_new("AKIDSOURCE", "source-secret", NULL);
    CHECK(!vg_aws_creds_refreshable(src));
    struct vg_aws_creds_opts o = opts();
    o.clock = test_clock;
    clock_offset = 0;
    char err[1024], ext[64];
    const struct vg_aws_creds *c = NULL;

    struct vg_aws_assume_role ar = { .role_arn = "arn:aws:iam::222222222222:role/audit",
                                     .external_id = "ext-123", .session_name = "vigil-scan" };
    struct vg_aws_creds_provider *p = vg_aws_creds_assume_role_new(src, &ar, &o);
    CHECK_EQ_INT(vg_aws_creds_get(p, &c, err, sizeof(err)), VG_OK);
    CHECK(c && strncmp(c->access_key_id, "ASIAASSUMED", 11) == 0);
    CHECK_EQ_STR(last_external_id(ext, sizeof(ext)), "ext-123");
    vg_aws_creds_destroy(p);

    ar.external_id = "wrong";
    p = vg_aws_creds_assume_role_new(src, &ar, &o);
    CHECK_EQ_INT(vg_aws_creds_get(p, &c, err, sizeof(err)), VG_ERR_PERM);
    CHECK_CONTAINS(err, "access denied to AssumeRole arn:aws:iam::222222222222:role/audit: "
                        "AccessDenied: the external id does not match");
    vg_aws_creds_destroy(p);

    /* a throttled STS answer is tried again */
    long long before = stat_count("sts:AssumeRole");
    ar = (struct vg_aws_assume_role){ .role_arn = "arn:aws:iam::1:role/throttled" };
    p = vg_aws_creds_assume_role_new(src, &ar, &o);
    CHECK_EQ_INT(vg_aws_creds_get(p, &c, err, sizeof(err)), VG_OK);
    CHECK_EQ_INT(stat_count("sts:AssumeRole") - before, 2);
    vg_aws_creds_destroy(p);

    /* short-lived: refreshed when the clock comes within five minutes */
    ar = (struct vg_aws_assume_role){ .role_arn = "arn:aws:iam::1:role/short" };
    p = vg_aws_creds_assume_role_new(src, &ar, &o);
    CHECK_EQ_INT(vg_aws_creds_get(p, &c, err, sizeof(err)), VG_OK);
    char first[128];
    snprintf(first, sizeof(first), "%s", c->access_key_id);
    clock_offset = 6 * 60 * 1000;
    CHECK_EQ_INT(vg_aws_creds_get(p, &c, err, sizeof(err)), VG_OK);
    CHECK(strcmp(first, c->access_key_id) != 0);
    clock_offset = 0;
    vg_aws_creds_destroy(p);

    /* a bad session name never reaches STS */
    ar = (struct vg_aws_assume_role){ .role_arn = "arn:aws:iam::1:role/x", .session_name = "bad name!" };
    p = vg_aws_creds_assume_role_new(src, &ar, &o);
    CHECK_EQ_INT(vg_aws_creds_get(p, &c, err, sizeof(err)), VG_ERR_CONFIG);
    vg_aws_creds_destroy(p);
    CHECK(vg_aws_creds_assume_role_new(src, &(struct vg_aws_assume_role){ 0 }, &o) == NULL);
    vg_aws_creds_destroy(src);
}

VG_TEST(secrets_never_logged)
{
    clean_env();
    write_aws("credentials", "[base]\naws_access_key_id = AKIDSOURCE\n"
                             "aws_secret_access_key = source-secret\n");
    write_aws("config", "[profile audit]\nrole_arn = arn:aws:iam::222222222222:role/audit\n"
                        "source_profile = base\nexternal_id = ext-123\n");
    vg_buf_init(&logged, 1 << 20);
    vg_log_set_sink(log_sink, NULL);
    vg_log_set_debug("all");
    enum vg_log_level old = vg_log_level_current;
    vg_log_set_level(VG_LOG_DEBUG);
    struct vg_aws_creds_opts o = opts();
    o.profile = "audit";
    struct vg_aws_creds c;
    char err[1024];
    CHECK_EQ_INT(chain_get(&o, &c, err, sizeof(err)), VG_OK);
    vg_log_set_level(old);
    vg_log_set_debug("");
    vg_log_set_sink(NULL, NULL);
    CHECK_CONTAINS(vg_buf_str(&logged), "credentials from assumed role");
    CHECK(strstr(vg_buf_str(&logged), "source-secret") == NULL);
    CHECK(strstr(vg_buf_str(&logged), c.secret_access_key) == NULL);
    CHECK(strstr(vg_buf_str(&logged), c.session_token) == NULL);
    vg_buf_free(&logged);
}

int main(int argc, char **argv)
{
    snprintf(home, sizeof(home), "/tmp/vg-aws-creds-%d", (int)getpid());
    mkdir(home, 0700);
    if (testsrv_start_script(&srv, "cred_server.py") != 0) {
        fprintf(stderr, "cannot start tests/aws/cred_server.py\n");
        return 1;
    }
    int rc = vg_test_run(argc, argv);
    testsrv_stop(&srv);
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", home);
    if (system(cmd) != 0)
        rc = 1;
    return rc;
}
