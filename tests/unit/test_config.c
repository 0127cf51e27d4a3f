/*
 * The configuration loader: defaults, a full file, every error class with
 * its exact FILE:LINE:COL, ${VAR} expansion, the printer (round trip and
 * masking), the reference, and the file permission checks.
 */
#include "vgtest.h"

#include "agent/buf.h"
#include "agent/json.h"
#include "agent/limits.h"
#include "agent/log.h"
#include "config/config.h"
#include "config/schema.h"
#include "config/yaml.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- helpers ------------------------------------------------------------ */

static char errbuf[1024];

static struct vg_config *load(const char *text)
{
    errbuf[0] = '\0';
    return vg_config_load_string("t.yml", text, strlen(text), errbuf, sizeof(errbuf));
}

/* Loads text, which must fail with exactly msg. */
#define CHECK_LOAD_ERR(text, msg)                                            \
    do {                                                                     \
        struct vg_config *c_ = load(text);                                   \
        CHECK(c_ == NULL);                                                   \
        vg_config_destroy(c_);                                               \
        CHECK_EQ_STR(errbuf, msg);                                           \
        CHECK(strchr(errbuf, '\n') == NULL);                                 \
    } while (0)

/* The effective configuration as printed, without its first comment line. */
static char *printed(const struct vg_config *c)
{
    struct vg_buf b;
    vg_buf_init(&b, 1u << 20);
    if (vg_config_print(c, &b)) {
        vg_buf_free(&b);
        return NULL;
    }
    char *all = vg_buf_detach(&b);
    char *nl = all ? strchr(all, '\n') : NULL;
    char *body = strdup(nl ? nl + 1 : "");
    free(all);
    return body;
}

static const char defaults_printed[] =
    "agent:\n"
    "  name: ~  # the host name\n"
    "  state_dir: /var/lib/vigil\n"
    "  log_level: info\n"
    "  http:\n"
    "    listen: ~  # no endpoint\n"
    "  monitoring_period: 1m\n"
    "  splay: 1m\n"
    "  shutdown_grace: 30s\n"
    "scans:\n"
    "  - provider: host\n"
    "    root: /\n"
    "    resources: 1000\n"
    "    interval: 1h\n"
    "    regions: []\n"
    "    profile: ~  # the SDK credential chain\n"
    "    endpoint_url: ~  # AWS's endpoints\n"
    "    accounts: []\n"
    "    max_in_flight: 32\n"
    "    global_region: us-east-1\n"
    "rules:\n"
    "  paths: []\n"
    "  params: {}\n"
    "exceptions: []\n"
    "spool:\n"
    "  type: disk\n"
    "  path: ~  # `<state_dir>/spool`\n"
    "  max_bytes: 1GiB\n"
    "  segment_bytes: 64MiB\n"
    "  when_full: block\n"
    "  fsync: batch\n"
    "outputs:\n"
    "  stdout: {}\n"
    "  namespace: default\n";

static void check_defaults(const struct vg_config *c)
{
    CHECK(c->agent.name == NULL);
    CHECK_EQ_STR(c->agent.state_dir, "/var/lib/vigil");
    CHECK_EQ_STR(c->agent.log_level, "info");
    CHECK(c->agent.http_listen == NULL);
    CHECK_EQ_INT(c->agent.monitoring_period_s, 60);
    CHECK_EQ_INT(c->agent.splay_s, 60);
    CHECK_EQ_INT(c->agent.shutdown_grace_s, 30);
    CHECK_EQ_INT(c->nscans, 1);
    if (c->nscans == 1) {
        CHECK_EQ_STR(c->scans[0].provider, "host");
        CHECK_EQ_STR(c->scans[0].root, "/");
        CHECK_EQ_INT(c->scans[0].interval_s, 3600);
    }
    CHECK_EQ_INT(c->rules.npaths, 0);
    CHECK(c->rules.params != NULL);
    CHECK_EQ_INT(vg_json_type(c->rules.params), VG_JSON_OBJECT);
    CHECK_EQ_INT(vg_json_len(c->rules.params), 0);
    CHECK(c->outputs.stdout_enabled);
    CHECK(c->outputs.file_path == NULL);
    CHECK_EQ_STR(c->outputs.namespace, "default");
}

/* ---- defaults and valid files --------------------------------------------- */

VG_TEST(defaults_without_file)
{
    struct vg_config *c = vg_config_load(NULL, errbuf, sizeof(errbuf));
    CHECK(c != NULL);
    if (!c)
        return;
    CHECK(c->file == NULL);
    check_defaults(c);
    char *p = printed(c);
    CHECK_EQ_STR(p, defaults_printed);
    free(p);
    vg_config_destroy(c);
    vg_config_destroy(NULL);
}

VG_TEST(defaults_from_empty_and_null_documents)
{
    const char *texts[] = { "", "\n# only a comment\n", "~\n", "---\n",
                            "agent:\nscans:\nrules:\noutputs:\n",
                            "agent: {}\nrules: {paths: ~, params: ~}\noutputs: {namespace: ~}\n" };
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        struct vg_config *c = load(texts[i]);
        CHECK(c != NULL);
        if (!c) {
            fprintf(stderr, "  text %zu: %s\n", i, errbuf);
            continue;
        }
        CHECK_EQ_STR(c->file, "t.yml");
        check_defaults(c);
        vg_config_destroy(c);
    }
}

VG_TEST(shipped_file_is_valid_and_means_the_defaults)
{
    const char *src = getenv("VG_SOURCE_DIR");
    char path[512];
    snprintf(path, sizeof(path), "%s/config/vigil.yml", src ? src : ".");
    struct vg_buf b;
    vg_buf_init(&b, VG_MAX_CONFIG_FILE);
    CHECK_EQ_INT(vg_buf_read_file(&b, path), VG_OK);
    struct vg_config *c = vg_config_load_string(path, vg_buf_str(&b), b.len, errbuf,
                                                sizeof(errbuf));
    vg_buf_free(&b);
    CHECK(c != NULL);
    if (!c) {
        fprintf(stderr, "  %s\n", errbuf);
        return;
    }
    check_defaults(c);
    char *p = printed(c);
    CHECK_EQ_STR(p, defaults_printed);
    free(p);
    vg_config_destroy(c);
}

static const char full_config[] =
    "agent:\n"
    "  name: scanner-01\n"
    "  state_dir: /srv/vigil\n"
    "  log_level: debug\n"
    "scans:\n"
    "  - provider: host\n"
    "    root: /host\n"
    "    interval: 15m\n"
    "  - provider: host\n"
    "    interval: 7d\n"
    "  - {provider: host, root: /mnt/image, interval: 90}\n"
    "rules:\n"
    "  paths: [/usr/share/vigil/rules, /etc/vigil/rules.d]\n"
    "  params: {max_key_age_days: 90, log_retention_min_days: 365, ratio: 0.5,\n"
    "           regions: [us-east-1, eu-west-1], strict: true, label: \"007\", none: ~}\n"
    "outputs:\n"
    "  stdout: {}\n"
    "  file:\n"
    "    path: /var/log/vigil/findings.ndjson\n"
    "  namespace: prod_eu1\n";

VG_TEST(full_valid_config)
{
    struct vg_config *c = load(full_config);
    CHECK(c != NULL);
    if (!c) {
        fprintf(stderr, "  %s\n", errbuf);
        return;
    }
    CHECK_EQ_STR(c->agent.name, "scanner-01");
    CHECK_EQ_STR(c->agent.state_dir, "/srv/vigil");
    CHECK_EQ_STR(c->agent.log_level, "debug");
    CHECK_EQ_INT(c->nscans, 3);
    CHECK_EQ_STR(c->scans[0].provider, "host");
    CHECK_EQ_STR(c->scans[0].root, "/host");
    CHECK_EQ_INT(c->scans[0].interval_s, 900);
    CHECK_EQ_STR(c->scans[1].root, "/");
    CHECK_EQ_INT(c->scans[1].interval_s, 7 * 86400);
    CHECK_EQ_STR(c->scans[2].root, "/mnt/image");
    CHECK_EQ_INT(c->scans[2].interval_s, 90);
    CHECK_EQ_INT(c->rules.npaths, 2);
    CHECK_EQ_STR(c->rules.paths[0], "/usr/share/vigil/rules");
    CHECK_EQ_STR(c->rules.paths[1], "/etc/vigil/rules.d");
    const struct vg_json *p = c->rules.params;
    CHECK_EQ_INT(vg_json_len(p), 7);
    CHECK_EQ_INT(vg_json_get_int(vg_json_get(p, "max_key_age_days")), 90);
    CHECK_EQ_INT(vg_json_get_int(vg_json_get(p, "log_retention_min_days")), 365);
    CHECK(vg_json_get_num(vg_json_get(p, "ratio")) == 0.5);
    CHECK_EQ_INT(vg_json_len(vg_json_get(p, "regions")), 2);
    CHECK(vg_json_get_bool(vg_json_get(p, "strict")));
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(p, "label")), "007");
    CHECK_EQ_INT(vg_json_type(vg_json_get(p, "none")), VG_JSON_NULL);
    CHECK(c->outputs.stdout_enabled);
    CHECK_EQ_STR(c->outputs.file_path, "/var/log/vigil/findings.ndjson");
    CHECK_EQ_STR(c->outputs.namespace, "prod_eu1");
    vg_config_destroy(c);
}

VG_TEST(outputs_stdout_presence)
{
    /* a file output alone turns stdout off */
    struct vg_config *c = load("outputs:\n  file: {path: /tmp/x.ndjson}\n");
    CHECK(c && !c->outputs.stdout_enabled);
    vg_config_destroy(c);
    /* both */
    c = load("outputs:\n  file: {path: /tmp/x.ndjson}\n  stdout:\n");
    CHECK(c && c->outputs.stdout_enabled);
    vg_config_destroy(c);
    /* no output at all: stdout */
    c = load("outputs:\n  namespace: x\n");
    CHECK(c && c->outputs.stdout_enabled && !c->outputs.file_path);
    vg_config_destroy(c);
    c = load("outputs: {}\n");
    CHECK(c && c->outputs.stdout_enabled);
    vg_config_destroy(c);
}

VG_TEST(stdout_is_the_default_only_without_other_outputs)
{
    struct vg_config *c = load("outputs:\n  elasticsearch:\n    hosts: [http://127.0.0.1:9200]\n");
    CHECK(c != NULL);
    CHECK(c && c->outputs.es.enabled);
    CHECK(c && !c->outputs.stdout_enabled);
    vg_config_destroy(c);
    c = load("outputs:\n  kafka:\n    brokers: [k1:9092]\n");
    CHECK(c && c->outputs.kafka.enabled && !c->outputs.stdout_enabled);
    vg_config_destroy(c);
    c = load("outputs:\n  stdout: {}\n  elasticsearch:\n    hosts: [http://127.0.0.1:9200]\n");
    CHECK(c && c->outputs.stdout_enabled && c->outputs.es.enabled);
    vg_config_destroy(c);
}

VG_TEST(empty_agent_name_means_host_name)
{
    struct vg_config *c = load("agent: {name: \"\"}\n");
    CHECK(c && c->agent.name == NULL);
    vg_config_destroy(c);
}

/* ---- error classes, with their exact place ------------------------------- */

VG_TEST(error_unknown_keys)
{
    CHECK_LOAD_ERR("agent:\n  log_level: info\naws:\n  path: /x\n",
                   "t.yml:3:1: aws: unknown key; expected one of agent, scans, rules, "
                   "exceptions, spool, outputs");
    CHECK_LOAD_ERR("agent:\n  state_dri: /x\n",
                   "t.yml:2:3: agent.state_dri: unknown key; did you mean 'state_dir'?");
    CHECK_LOAD_ERR("agent:\n  statedir: /x\n",
                   "t.yml:2:3: agent.statedir: unknown key; did you mean 'state_dir'?");
    CHECK_LOAD_ERR("agent:\n  Log_Levle: info\n",
                   "t.yml:2:3: agent.Log_Levle: unknown key; did you mean 'log_level'?");
    CHECK_LOAD_ERR("scans:\n  - provider: host\n    intreval: 1h\n",
                   "t.yml:3:5: scans[0].intreval: unknown key; did you mean 'interval'?");
    CHECK_LOAD_ERR("agnt: {}\n", "t.yml:1:1: agnt: unknown key; did you mean 'agent'?");
    CHECK_LOAD_ERR("outputs:\n  stdout: {pretty: true}\n",
                   "t.yml:2:12: outputs.stdout.pretty: unknown key; this mapping takes no keys");
    /* a key at the wrong level is pointed to its place */
    CHECK_LOAD_ERR("log_level: debug\n",
                   "t.yml:1:1: log_level: unknown key here; did you mean 'agent.log_level'?");
    CHECK_LOAD_ERR("agent:\n  interval: 1h\n",
                   "t.yml:2:3: agent.interval: unknown key here; did you mean "
                   "'scans[].interval'?");
    /* an output that does not exist */
    CHECK_LOAD_ERR("outputs:\n  syslog:\n    host: siem1\n",
                   "t.yml:2:3: outputs.syslog: unknown key; "
                   "expected one of stdout, file, elasticsearch, kafka, namespace");
}

VG_TEST(error_wrong_types)
{
    CHECK_LOAD_ERR("agent: [a]\n", "t.yml:1:8: agent: expected a mapping, got a sequence");
    CHECK_LOAD_ERR("agent: yes\n", "t.yml:1:8: agent: expected a mapping, got \"yes\"");
    CHECK_LOAD_ERR("agent:\n  name: [a, b]\n",
                   "t.yml:2:9: agent.name: expected a string, got a sequence");
    CHECK_LOAD_ERR("agent:\n  log_level: {a: 1}\n",
                   "t.yml:2:14: agent.log_level: expected one of error, warn, info, debug, "
                   "got a mapping");
    CHECK_LOAD_ERR("scans: {provider: host}\n",
                   "t.yml:1:8: scans: expected a list of mappings, got a mapping");
    CHECK_LOAD_ERR("scans: [host]\n", "t.yml:1:9: scans[0]: expected a mapping, got \"host\"");
    CHECK_LOAD_ERR("scans:\n  - provider: host\n  -\n",
                   "t.yml:3:4: scans[1]: expected a mapping, got \"\"");
    CHECK_LOAD_ERR("scans:\n  - provider: host\n    interval: abc\n",
                   "t.yml:3:15: scans[0].interval: \"abc\" is not a duration (seconds, or a "
                   "number with d, h, m or s: 30s, 15m, 1h30m, 7d)");
    CHECK_LOAD_ERR("scans:\n  - provider: host\n    interval: [1h]\n",
                   "t.yml:3:15: scans[0].interval: expected a duration, got a sequence");
    CHECK_LOAD_ERR("rules:\n  paths: /etc/vigil/rules.d\n",
                   "t.yml:2:10: rules.paths: expected a list of strings, got "
                   "\"/etc/vigil/rules.d\"");
    CHECK_LOAD_ERR("rules:\n  paths: [/a, [b]]\n",
                   "t.yml:2:15: rules.paths[1]: expected a string, got a sequence");
    CHECK_LOAD_ERR("rules:\n  paths: [/a, ~]\n", "t.yml:2:15: rules.paths[1]: is empty");
    CHECK_LOAD_ERR("rules:\n  params: [1, 2]\n",
                   "t.yml:2:11: rules.params: expected a mapping, got a sequence");
    CHECK_LOAD_ERR("outputs:\n  stdout: true\n",
                   "t.yml:2:11: outputs.stdout: expected a mapping, got \"true\"");
    CHECK_LOAD_ERR("- agent\n", "t.yml:1:1: the configuration must be a mapping, got a sequence");
    CHECK_LOAD_ERR("\"agent\"\n",
                   "t.yml:1:1: the configuration must be a mapping, got \"agent\"");
}

VG_TEST(error_bad_values)
{
    CHECK_LOAD_ERR("agent:\n  name: x\n  state_dir: /x\n  log_level: verbose\n",
                   "t.yml:4:14: agent.log_level: \"verbose\" is not one of error, warn, info, "
                   "debug");
    CHECK_LOAD_ERR("agent:\n  log_level: INFO\n",
                   "t.yml:2:14: agent.log_level: \"INFO\" is not one of error, warn, info, debug");
    CHECK_LOAD_ERR("scans:\n  - provider: gcp\n",
                   "t.yml:2:15: scans[0].provider: \"gcp\" is not one of host, demo, aws");
    CHECK_LOAD_ERR("scans:\n  - root: /host\n",
                   "t.yml:2:5: scans[0]: the key 'provider' is required");
    CHECK_LOAD_ERR("scans:\n  - provider:\n",
                   "t.yml:2:14: scans[0].provider: a value is required");
    CHECK_LOAD_ERR("scans: []\n", "t.yml:1:8: scans: has 0 items; at least 1 is needed");
    CHECK_LOAD_ERR("outputs:\n  file: {}\n",
                   "t.yml:2:9: outputs.file: the key 'path' is required");
    CHECK_LOAD_ERR("outputs:\n  namespace: Prod-EU\n",
                   "t.yml:2:14: outputs.namespace: \"Prod-EU\" must be made of lowercase "
                   "letters, digits and underscores");
    CHECK_LOAD_ERR("outputs:\n  namespace: \"\"\n",
                   "t.yml:2:14: outputs.namespace: \"\" must be made of lowercase letters, "
                   "digits and underscores");
    CHECK_LOAD_ERR("agent:\n  state_dir: var/lib/vigil\n",
                   "t.yml:2:14: agent.state_dir: \"var/lib/vigil\" must be an absolute path");
    CHECK_LOAD_ERR("agent:\n  http: {listen: 5066}\n",
                   "t.yml:2:18: agent.http.listen: \"5066\" must be HOST:PORT (127.0.0.1:5066, "
                   "[::1]:5066)");
    CHECK_LOAD_ERR("agent:\n  shutdown_grace: 2h\n",
                   "t.yml:2:19: agent.shutdown_grace: \"2h\" is more than the maximum, 1h");
    CHECK_LOAD_ERR("agent:\n  name: \"a\\0b\"\n",
                   "t.yml:2:9: agent.name: contains a NUL character");

    char ns[200];
    memset(ns, 'a', 101);
    snprintf(ns + 101, sizeof(ns) - 101, "\n");
    char text[300];
    snprintf(text, sizeof(text), "outputs:\n  namespace: %s", ns);
    CHECK_LOAD_ERR(text, "t.yml:2:14: outputs.namespace: is 101 bytes long; the maximum is 100");
    snprintf(text, sizeof(text), "outputs:\n  namespace: %.100s\n", ns);
    struct vg_config *c = load(text);
    CHECK(c != NULL);
    vg_config_destroy(c);
}

VG_TEST(error_out_of_range)
{
    CHECK_LOAD_ERR("scans:\n  - provider: host\n    interval: 0s\n",
                   "t.yml:3:15: scans[0].interval: \"0s\" is less than the minimum, 1s");
    CHECK_LOAD_ERR("scans:\n  - provider: host\n    interval: 8d\n",
                   "t.yml:3:15: scans[0].interval: \"8d\" is more than the maximum, 7d");
    CHECK_LOAD_ERR("scans:\n  - provider: host\n    interval: 99999999999999999999\n",
                   "t.yml:3:15: scans[0].interval: \"99999999999999999999\" is not a duration "
                   "(seconds, or a number with d, h, m or s: 30s, 15m, 1h30m, 7d)");
    /* the bounds themselves are inside */
    struct vg_config *c = load("scans:\n  - {provider: host, interval: 10s}\n"
                               "  - {provider: host, interval: 168h}\n");
    CHECK(c && c->scans[0].interval_s == 10 && c->scans[1].interval_s == 7 * 86400);
    vg_config_destroy(c);

    /* a sequence longer than its bound */
    struct vg_buf b;
    vg_buf_init(&b, 1u << 20);
    vg_buf_appends(&b, "scans:\n");
    for (int i = 0; i < 257; i++)
        vg_buf_appends(&b, "  - provider: host\n");
    CHECK_LOAD_ERR(vg_buf_str(&b), "t.yml:2:3: scans: has 257 items; the maximum is 256");
    vg_buf_free(&b);
}

VG_TEST(error_malformed_yaml_and_limits)
{
    struct vg_config *c = load("agent: [a\n");
    CHECK(c == NULL);
    CHECK(strncmp(errbuf, "t.yml:", 6) == 0);
    c = load("a: &x 1\nb: *x\n");
    CHECK(c == NULL);
    CHECK_CONTAINS(errbuf, "are not supported");
    c = load("agent: {}\nagent: {}\n");
    CHECK(c == NULL);
    CHECK_CONTAINS(errbuf, "duplicate key");
    /* a key with a newline still gives one line */
    c = load("\"a\\nb\": 1\n");
    CHECK(c == NULL);
    CHECK(strchr(errbuf, '\n') == NULL);
    CHECK_EQ_STR(errbuf, "t.yml:1:1: a?b: unknown key; expected one of agent, scans, rules, "
                         "exceptions, spool, outputs");
    /* larger than the bound */
    size_t big = VG_MAX_CONFIG_FILE + 1;
    char *text = malloc(big);
    memset(text, '#', big);
    c = vg_config_load_string("big.yml", text, big, errbuf, sizeof(errbuf));
    CHECK(c == NULL);
    CHECK_CONTAINS(errbuf, "big.yml: the configuration is larger than");
    free(text);
    /* a tiny errbuf is never overrun */
    char tiny[8];
    c = vg_config_load_string("t.yml", "spool: 1\n", 9, tiny, sizeof(tiny));
    CHECK(c == NULL);
    CHECK_EQ_INT(strlen(tiny), 7);
    c = vg_config_load_string("t.yml", "spool: 1\n", 9, NULL, 0);
    CHECK(c == NULL);
}

/* ---- ${VAR} ------------------------------------------------------------ */

VG_TEST(env_substitution)
{
    setenv("VG_T_NAME", "scanner-42", 1);
    setenv("VG_T_EMPTY", "", 1);
    setenv("VG_T_DUR", "30m", 1);
    setenv("VG_T_NUM", "90", 1);
    setenv("VG_T_NESTED", "${VG_T_NAME}", 1);
    unsetenv("VG_T_UNSET");
    struct vg_config *c = load("agent:\n"
                               "  name: ${VG_T_NAME}\n"
                               "  state_dir: /srv/${VG_T_UNSET:-vigil}/${VG_T_EMPTY:-state}\n"
                               "  log_level: ${VG_T_UNSET:-warn}\n"
                               "scans:\n"
                               "  - provider: host\n"
                               "    interval: ${VG_T_DUR}\n"
                               "    root: \"/${VG_T_NESTED}\"\n"
                               "rules:\n"
                               "  paths: [/a$$b, /c$d, \"${VG_T_NAME}.yml\", /e$]\n"
                               "  params:\n"
                               "    days: '${VG_T_NUM}'\n"
                               "    n: ${VG_T_NUM}\n"
                               "    flow: {a: \"${VG_T_NUM}\"}\n");
    CHECK(c != NULL);
    if (!c) {
        fprintf(stderr, "  %s\n", errbuf);
        return;
    }
    CHECK_EQ_STR(c->agent.name, "scanner-42");
    CHECK_EQ_STR(c->agent.state_dir, "/srv/vigil/state");
    CHECK_EQ_STR(c->agent.log_level, "warn");
    CHECK_EQ_INT(c->scans[0].interval_s, 1800);
    /* a value is not expanded twice */
    CHECK_EQ_STR(c->scans[0].root, "/${VG_T_NAME}");
    CHECK_EQ_INT(c->rules.npaths, 4);
    CHECK_EQ_STR(c->rules.paths[0], "/a$b");
    CHECK_EQ_STR(c->rules.paths[1], "/c$d");
    CHECK_EQ_STR(c->rules.paths[2], "scanner-42.yml");
    CHECK_EQ_STR(c->rules.paths[3], "/e$");
    /* expanded before typing: quoted stays a string, plain becomes a number */
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(c->rules.params, "days")), "90");
    CHECK_EQ_INT(vg_json_type(vg_json_get(c->rules.params, "n")), VG_JSON_INT);
    CHECK_EQ_INT(vg_json_get_int(vg_json_get(c->rules.params, "n")), 90);
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(vg_json_get(c->rules.params, "flow"), "a")), "90");
    /* the printer doubles $ so the output loads back to the same text */
    char *p = printed(c);
    CHECK_CONTAINS(p, "root: \"/$${VG_T_NAME}\"");
    CHECK_CONTAINS(p, "- \"/a$$b\"");
    struct vg_config *c2 = load(p);
    CHECK(c2 != NULL);
    if (c2) {
        CHECK_EQ_STR(c2->scans[0].root, "/${VG_T_NAME}");
        CHECK_EQ_STR(c2->rules.paths[0], "/a$b");
        char *p2 = printed(c2);
        CHECK_EQ_STR(p2, p);
        free(p2);
    }
    vg_config_destroy(c2);
    free(p);
    vg_config_destroy(c);

    /* a plain value that expands to nothing takes the default */
    c = load("agent:\n  name: ${VG_T_UNSET:-}\n  state_dir: ${VG_T_EMPTY}\n");
    CHECK(c != NULL);
    if (c) {
        CHECK(c->agent.name == NULL);
        CHECK_EQ_STR(c->agent.state_dir, "/var/lib/vigil");
    }
    vg_config_destroy(c);
    unsetenv("VG_T_NAME");
    unsetenv("VG_T_EMPTY");
    unsetenv("VG_T_DUR");
    unsetenv("VG_T_NUM");
    unsetenv("VG_T_NESTED");
}

VG_TEST(env_substitution_errors)
{
    unsetenv("VG_T_UNSET");
    setenv("VG_T_BAD", "soon", 1);
    CHECK_LOAD_ERR("agent:\n  name: ${VG_T_UNSET}\n",
                   "t.yml:2:9: agent.name: environment variable VG_T_UNSET is not set "
                   "(write ${VG_T_UNSET:-default} for a default)");
    CHECK_LOAD_ERR("agent:\n  name: x-${VG_T_UNSET\n",
                   "t.yml:2:9: agent.name: unterminated \"${\" in \"${VG_T_UNSET\" "
                   "(write $$ for a literal $)");
    CHECK_LOAD_ERR("agent:\n  name: ${}\n",
                   "t.yml:2:9: agent.name: \"${}\" does not name an environment variable");
    CHECK_LOAD_ERR("agent:\n  name: ${1X}\n",
                   "t.yml:2:9: agent.name: \"${1X}\" does not name an environment variable");
    CHECK_LOAD_ERR("agent:\n  name: ${A-b}\n",
                   "t.yml:2:9: agent.name: \"${A-b}\": expected \"}\" or \":-default}\" after "
                   "the variable name");
    CHECK_LOAD_ERR("rules:\n  paths: [/a, \"${VG_T_UNSET}\"]\n",
                   "t.yml:2:15: rules.paths[1]: environment variable VG_T_UNSET is not set "
                   "(write ${VG_T_UNSET:-default} for a default)");
    CHECK_LOAD_ERR("rules:\n  params:\n    deep: {list: [1, \"$${x}\", \"${VG_T_UNSET}\"]}\n",
                   "t.yml:3:31: rules.params.deep.list[2]: environment variable VG_T_UNSET "
                   "is not set (write ${VG_T_UNSET:-default} for a default)");
    /* the expanded text is what is typed */
    CHECK_LOAD_ERR("scans:\n  - provider: host\n    interval: ${VG_T_BAD}\n",
                   "t.yml:3:15: scans[0].interval: \"soon\" is not a duration (seconds, or a "
                   "number with d, h, m or s: 30s, 15m, 1h30m, 7d)");
    unsetenv("VG_T_BAD");

    /* the expansion is bounded */
    struct vg_buf out;
    char msg[128];
    vg_buf_init(&out, 4);
    CHECK_EQ_INT(vg_config_expand("abcdef", 6, &out, msg, sizeof(msg)), VG_ERR_LIMIT);
    vg_buf_free(&out);
    vg_buf_init(&out, 64);
    CHECK_EQ_INT(vg_config_expand("$$${VG_T_UNSET:-d}$", 19, &out, msg, sizeof(msg)), VG_OK);
    CHECK_EQ_STR(vg_buf_str(&out), "$d$");
    vg_buf_free(&out);
}

/* ---- parsers -------------------------------------------------------------- */

VG_TEST(duration_and_size_parsers)
{
    static const struct {
        const char *s;
        int64_t v;
    } durations[] = { { "30s", 30 }, { "15m", 900 }, { "1h", 3600 }, { "24h", 86400 },
                      { "7d", 604800 }, { "90", 90 }, { "0", 0 }, { "1h30m", 5400 },
                      { "1d2h3m4s", 93784 } };
    for (size_t i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
        int64_t v = -1;
        CHECK_EQ_INT(vg_config_parse_duration(durations[i].s, &v), 0);
        CHECK_EQ_INT(v, durations[i].v);
    }
    const char *bad_durations[] = { "", "h", "1x", "1.5h", "-5s", "1h ", " 1h", "30m1h",
                                    "1h1h", "1hh", "1h30", "9223372036854775808",
                                    "106751991167301d", "1e3" };
    for (size_t i = 0; i < sizeof(bad_durations) / sizeof(bad_durations[0]); i++) {
        int64_t v;
        if (vg_config_parse_duration(bad_durations[i], &v) != -1)
            VG_FAIL_AT("duration \"%s\" accepted", bad_durations[i]);
    }
    static const struct {
        const char *s;
        int64_t v;
    } sizes[] = { { "4096", 4096 }, { "1GiB", 1ll << 30 }, { "512MiB", 512ll << 20 },
                  { "10MB", 10000000 }, { "1 GiB", 1ll << 30 }, { "2kb", 2000 },
                  { "3KiB", 3072 }, { "7B", 7 }, { "1TiB", 1ll << 40 }, { "0", 0 } };
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        int64_t v = -1;
        CHECK_EQ_INT(vg_config_parse_size(sizes[i].s, &v), 0);
        CHECK_EQ_INT(v, sizes[i].v);
    }
    const char *bad_sizes[] = { "", "GiB", "1.5GiB", "-1", "10XB", "10 ", "1  GiB",
                                "99999999TiB", "18446744073709551616" };
    for (size_t i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
        int64_t v;
        if (vg_config_parse_size(bad_sizes[i], &v) != -1)
            VG_FAIL_AT("size \"%s\" accepted", bad_sizes[i]);
    }
    char b[48];
    vg_config_format_duration(5400, b, sizeof(b));
    CHECK_EQ_STR(b, "1h30m");
    vg_config_format_duration(604800, b, sizeof(b));
    CHECK_EQ_STR(b, "7d");
    vg_config_format_duration(0, b, sizeof(b));
    CHECK_EQ_STR(b, "0s");
    vg_config_format_duration(INT64_MAX, b, sizeof(b));
    int64_t back;
    CHECK_EQ_INT(vg_config_parse_duration(b, &back), 0);
    CHECK(back == INT64_MAX);
    vg_config_format_size(1ll << 30, b, sizeof(b));
    CHECK_EQ_STR(b, "1GiB");
    vg_config_format_size(10000000, b, sizeof(b));
    CHECK_EQ_STR(b, "10MB");
    vg_config_format_size(4097, b, sizeof(b));
    CHECK_EQ_STR(b, "4097");
    vg_config_format_size(0, b, sizeof(b));
    CHECK_EQ_STR(b, "0");

    int64_t i64;
    CHECK_EQ_INT(vg_config_parse_int("-9223372036854775808", &i64), 0);
    CHECK(i64 == INT64_MIN);
    CHECK_EQ_INT(vg_config_parse_int("9223372036854775808", &i64), -1);
    CHECK_EQ_INT(vg_config_parse_int("+12", &i64), 0);
    CHECK_EQ_INT(i64, 12);
    CHECK_EQ_INT(vg_config_parse_int("12a", &i64), -1);
    CHECK_EQ_INT(vg_config_parse_int("0x10", &i64), -1);
    bool bv;
    CHECK_EQ_INT(vg_config_parse_bool("True", &bv), 0);
    CHECK(bv);
    CHECK_EQ_INT(vg_config_parse_bool("off", &bv), 0);
    CHECK(!bv);
    CHECK_EQ_INT(vg_config_parse_bool("maybe", &bv), -1);

    CHECK_EQ_INT(vg_config_distance("state_dri", "state_dir", 2), 1);
    CHECK_EQ_INT(vg_config_distance("nmae", "name", 2), 1);
    CHECK_EQ_INT(vg_config_distance("NAME", "name", 2), 0);
    CHECK_EQ_INT(vg_config_distance("abc", "xyz", 2), 3);
    CHECK_EQ_INT(vg_config_distance("", "agent", 2), 3);
}

/* ---- a table with every type, and a secret --------------------------------- */

struct test_conf {
    char *user;
    char *password;
    int64_t port;
    int64_t max_bytes;
    bool tls;
    struct vg_config_map props;
    struct vg_config_map headers;
    char **hosts;
    size_t nhosts;
};

#define TC(f) offsetof(struct test_conf, f)

static const struct vg_config_key test_keys[] = {
    { .key = "user", .type = VG_CFG_STRING, .def = "elastic", .offset = TC(user),
      .help = "User name." },
    { .key = "password", .type = VG_CFG_STRING, .secret = true, .offset = TC(password),
      .help = "Pass | word." },
    { .key = "port", .type = VG_CFG_INT, .def = "9200", .bounded = true, .min = 1,
      .max = 65535, .offset = TC(port), .help = "Port." },
    { .key = "max_bytes", .type = VG_CFG_SIZE, .def = "1GiB", .bounded = true, .min = 1024,
      .max = 1ll << 40, .offset = TC(max_bytes), .help = "Bound." },
    { .key = "tls", .type = VG_CFG_BOOL, .def = "false", .offset = TC(tls), .help = "TLS." },
    { .key = "props", .type = VG_CFG_STRMAP, .offset = TC(props), .bounded = true, .min = 0,
      .max = 4, .help = "Properties." },
    { .key = "headers", .type = VG_CFG_STRMAP, .secret = true, .offset = TC(headers),
      .help = "Headers." },
    { .key = "hosts", .type = VG_CFG_LIST, .offset = TC(hosts), .count_offset = TC(nhosts),
      .def = "[a, b]", .help = "Hosts." },
    { .key = NULL },
};

/* Loads text against test_keys into *tc; returns the error. */
static enum vg_err load_test(const char *text, struct test_conf *tc)
{
    memset(tc, 0, sizeof(*tc));
    errbuf[0] = '\0';
    struct vg_ynode *root = vg_yaml_load_string("x.yml", text, strlen(text), errbuf,
                                                sizeof(errbuf));
    if (!root)
        return VG_ERR_PARSE;
    enum vg_err err = vg_config_load_table(test_keys, tc, root, errbuf, sizeof(errbuf));
    vg_yaml_free(root);
    return err;
}

struct captured {
    int count;
    char last[512];
};

static void capture(enum vg_log_level level, const char *area, const char *line, void *opaque)
{
    struct captured *cap = opaque;
    if (level == VG_LOG_WARN && strcmp(area, "config") == 0) {
        cap->count++;
        snprintf(cap->last, sizeof(cap->last), "%s", line);
    }
}

VG_TEST(table_types_and_secret_masking)
{
    struct test_conf tc;
    CHECK_EQ_INT(load_test("password: hunter2\nport: 443\nmax_bytes: 512MiB\ntls: yes\n"
                           "props: {security.protocol: SASL_SSL, \"a b\": \"x: y\", n: 5}\n"
                           "headers: {Authorization: Bearer abc}\n",
                           &tc), VG_OK);
    CHECK_EQ_STR(tc.user, "elastic");
    CHECK_EQ_STR(tc.password, "hunter2");
    CHECK_EQ_INT(tc.port, 443);
    CHECK_EQ_INT(tc.max_bytes, 512ll << 20);
    CHECK(tc.tls);
    CHECK_EQ_INT(tc.props.n, 3);
    CHECK_EQ_STR(tc.props.keys[0], "security.protocol");
    CHECK_EQ_STR(tc.props.values[0], "SASL_SSL");
    CHECK_EQ_STR(tc.props.values[2], "5");
    CHECK_EQ_INT(tc.nhosts, 2);
    CHECK_EQ_STR(tc.hosts[1], "b");

    struct vg_buf b;
    vg_buf_init(&b, 1u << 16);
    CHECK_EQ_INT(vg_config_print_table(test_keys, &tc, 0, &b), VG_OK);
    const char *p = vg_buf_str(&b);
    CHECK_CONTAINS(p, "password: \"********\"\n");
    CHECK(strstr(p, "hunter2") == NULL);
    CHECK(strstr(p, "Bearer") == NULL);
    CHECK_CONTAINS(p, "  Authorization: \"********\"\n");
    CHECK_CONTAINS(p, "user: elastic\n");
    CHECK_CONTAINS(p, "port: 443\n");
    CHECK_CONTAINS(p, "max_bytes: 512MiB\n");
    CHECK_CONTAINS(p, "tls: true\n");
    CHECK_CONTAINS(p, "props:\n  security.protocol: SASL_SSL\n  \"a b\": \"x: y\"\n  \"n\": \"5\"\n");
    CHECK_CONTAINS(p, "hosts:\n  - a\n  - b\n");

    /* a world-readable file with a secret is warned about, once */
    struct captured cap = { 0 };
    vg_log_set_sink(capture, &cap);
    CHECK(vg_config_has_secret(test_keys, &tc));
    CHECK(vg_config_warn_secrets(test_keys, &tc, "/etc/x.yml", 0644));
    CHECK(!vg_config_warn_secrets(test_keys, &tc, "/etc/x.yml", 0640));
    vg_log_set_sink(NULL, NULL);
    CHECK_EQ_INT(cap.count, 1);
    CHECK_CONTAINS(cap.last, "/etc/x.yml holds secrets and is readable by others");
    CHECK(strstr(cap.last, "hunter2") == NULL);

    /* the print loads back */
    struct test_conf tc2;
    vg_buf_reset(&b);
    vg_config_free_table(test_keys, &tc);
    CHECK_EQ_INT(load_test("port: 1\nprops: {a: \"$x\", b: \"1.0\"}\nhosts: [\"~\", \"- x\", "
                           "\"yes\", \"12\", \"a:\", \"\\ttab\", \"é\"]\n", &tc), VG_OK);
    CHECK_EQ_INT(vg_config_print_table(test_keys, &tc, 0, &b), VG_OK);
    CHECK_EQ_INT(load_test(vg_buf_str(&b), &tc2), VG_OK);
    CHECK_EQ_INT(tc2.nhosts, 7);
    for (size_t i = 0; i < tc.nhosts && i < tc2.nhosts; i++)
        CHECK_EQ_STR(tc2.hosts[i], tc.hosts[i]);
    CHECK_EQ_STR(tc2.props.values[0], "$x");
    CHECK_EQ_STR(tc2.props.values[1], "1.0");
    CHECK(!vg_config_has_secret(test_keys, &tc2));
    vg_config_free_table(test_keys, &tc2);
    vg_config_free_table(test_keys, &tc);
    /* freeing twice is harmless: the fields were zeroed */
    vg_config_free_table(test_keys, &tc);
    vg_buf_free(&b);

    /* an empty secret is no secret */
    CHECK_EQ_INT(load_test("password: \"\"\n", &tc), VG_OK);
    CHECK(!vg_config_has_secret(test_keys, &tc));
    vg_config_free_table(test_keys, &tc);
}

VG_TEST(table_type_errors)
{
    struct test_conf tc;
    CHECK_EQ_INT(load_test("tls: maybe\n", &tc), VG_ERR_CONFIG);
    CHECK_EQ_STR(errbuf, "x.yml:1:6: tls: \"maybe\" is not a boolean (true or false)");
    vg_config_free_table(test_keys, &tc);
    CHECK_EQ_INT(load_test("port: abc\n", &tc), VG_ERR_CONFIG);
    CHECK_EQ_STR(errbuf, "x.yml:1:7: port: \"abc\" is not an integer");
    vg_config_free_table(test_keys, &tc);
    CHECK_EQ_INT(load_test("port: 0\n", &tc), VG_ERR_CONFIG);
    CHECK_EQ_STR(errbuf, "x.yml:1:7: port: \"0\" is less than the minimum, 1");
    vg_config_free_table(test_keys, &tc);
    CHECK_EQ_INT(load_test("port: 70000\n", &tc), VG_ERR_CONFIG);
    CHECK_EQ_STR(errbuf, "x.yml:1:7: port: \"70000\" is more than the maximum, 65535");
    vg_config_free_table(test_keys, &tc);
    CHECK_EQ_INT(load_test("max_bytes: 10XB\n", &tc), VG_ERR_CONFIG);
    CHECK_EQ_STR(errbuf, "x.yml:1:12: max_bytes: \"10XB\" is not a size (bytes, or a number "
                         "with KiB, MiB, GiB, TiB, kB, MB, GB or TB: 512MiB, 1GiB)");
    vg_config_free_table(test_keys, &tc);
    CHECK_EQ_INT(load_test("max_bytes: 2TiB\n", &tc), VG_ERR_CONFIG);
    CHECK_EQ_STR(errbuf, "x.yml:1:12: max_bytes: \"2TiB\" is more than the maximum, 1TiB");
    vg_config_free_table(test_keys, &tc);
    CHECK_EQ_INT(load_test("props: {a: [1]}\n", &tc), VG_ERR_CONFIG);
    CHECK_EQ_STR(errbuf, "x.yml:1:12: props.a: expected a string, got a sequence");
    vg_config_free_table(test_keys, &tc);
    CHECK_EQ_INT(load_test("props: {a: 1, b: 2, c: 3, d: 4, e: 5}\n", &tc), VG_ERR_CONFIG);
    CHECK_EQ_STR(errbuf, "x.yml:1:8: props: has 5 items; the maximum is 4");
    vg_config_free_table(test_keys, &tc);
    CHECK_EQ_INT(load_test("props: [a]\n", &tc), VG_ERR_CONFIG);
    CHECK_EQ_STR(errbuf, "x.yml:1:8: props: expected a mapping of strings, got a sequence");
    vg_config_free_table(test_keys, &tc);
    CHECK_EQ_INT(load_test("pasword: x\n", &tc), VG_ERR_CONFIG);
    CHECK_EQ_STR(errbuf, "x.yml:1:1: pasword: unknown key; did you mean 'password'?");
    vg_config_free_table(test_keys, &tc);
}

/* ---- the reference ---------------------------------------------------------- */

/* Every key path of table appears as a row of ref. */
static void check_rows(const char *ref, const struct vg_config_key *table, const char *prefix,
                       int *rows)
{
    for (const struct vg_config_key *e = table; e->key; e++) {
        char row[300];
        snprintf(row, sizeof(row), "| `%s%s` | ", prefix, e->key);
        CHECK_CONTAINS(ref, row);
        (*rows)++;
        if (e->sub) {
            char sub[300];
            snprintf(sub, sizeof(sub), "%s%s%s", prefix, e->key,
                     e->type == VG_CFG_SEQUENCE ? "[]." : ".");
            check_rows(ref, e->sub, sub, rows);
        }
    }
}

VG_TEST(reference_lists_every_key)
{
    struct vg_buf b;
    vg_buf_init(&b, 1u << 16);
    CHECK_EQ_INT(vg_config_reference(&b), VG_OK);
    const char *ref = vg_buf_str(&b);
    CHECK(strncmp(ref, "| Key | Type | Default | Bounds | Description |\n|---|", 52) == 0);
    int rows = 0;
    check_rows(ref, vg_config_schema, "", &rows);
    CHECK_EQ_INT(rows, 81);
    /* the header, its rule, and one line per key */
    int lines = 0;
    for (const char *p = ref; *p; p++)
        lines += *p == '\n';
    CHECK_EQ_INT(lines, rows + 2);
    const char *expected[] = {
        "| `agent.name` | string | the host name | at most 255 bytes |",
        "| `agent.log_level` | enum | `info` | one of `error`, `warn`, `info`, `debug` |",
        "| `scans` | list of mappings | `[{provider: host}]` | 1 to 256 items |",
        "| `scans[].provider` | enum | required | one of `host`, `demo`, `aws` |",
        "| `scans[].accounts[].role_arn` | string | required | an IAM role ARN (`^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$`) |",
        "| `scans[].interval` | duration | `1h` | `1s` to `7d` |",
        "| `agent.http.listen` | string | no endpoint |",
        "| `agent.shutdown_grace` | duration | `30s` | `0s` to `1h` |",
        "| `rules.paths` | list of strings | none |  |",
        "| `outputs.file.path` | string | required |  |",
        ("| `outputs.namespace` | string | `default` | made of lowercase letters, digits and "
         "underscores (`^[a-z0-9_]+$`); at most 100 bytes |"),
    };
    for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
        CHECK_CONTAINS(ref, expected[i]);
    vg_buf_free(&b);

    /* secrets are marked, and a | in help is escaped */
    vg_buf_init(&b, 1u << 16);
    CHECK_EQ_INT(vg_config_reference_table(test_keys, "", true, &b), VG_OK);
    CHECK_CONTAINS(vg_buf_str(&b), "| `password` | string, secret |  |  | Pass \\| word. |");
    CHECK_CONTAINS(vg_buf_str(&b), "| `max_bytes` | size | `1GiB` | `1KiB` to `1TiB` |");
    vg_buf_free(&b);
}

VG_TEST(print_round_trips)
{
    struct vg_config *c = load(full_config);
    CHECK(c != NULL);
    if (!c)
        return;
    char *p = printed(c);
    CHECK_CONTAINS(p, "  name: scanner-01\n");
    CHECK_CONTAINS(p, "  - provider: host\n    root: /host\n    resources: 1000\n    interval: 15m\n");
    CHECK_CONTAINS(p, "  - provider: host\n    root: /mnt/image\n    resources: 1000\n    interval: 1m30s\n");
    CHECK_CONTAINS(p, "  paths:\n    - /usr/share/vigil/rules\n    - /etc/vigil/rules.d\n");
    CHECK_CONTAINS(p, "  params: {max_key_age_days: 90, log_retention_min_days: 365, "
                      "ratio: 0.5, regions: [us-east-1, eu-west-1], strict: true, "
                      "label: \"007\", none: ~}\n");
    CHECK_CONTAINS(p, "  stdout: {}\n  file:\n    path: /var/log/vigil/findings.ndjson\n");
    struct vg_config *c2 = load(p);
    CHECK(c2 != NULL);
    if (c2) {
        char *p2 = printed(c2);
        CHECK_EQ_STR(p2, p);
        CHECK(vg_json_equal(c->rules.params, c2->rules.params));
        free(p2);
    }
    vg_config_destroy(c2);
    free(p);
    vg_config_destroy(c);

    /* a file output alone: stdout is not printed, so it stays off */
    c = load("outputs: {file: {path: \"/var/log/with space.ndjson\"}}\n");
    CHECK(c != NULL);
    p = c ? printed(c) : NULL;
    CHECK(p && !strstr(p, "stdout"));
    CHECK_CONTAINS(p, "    path: \"/var/log/with space.ndjson\"\n");
    c2 = p ? load(p) : NULL;
    CHECK(c2 && !c2->outputs.stdout_enabled);
    vg_config_destroy(c2);
    free(p);
    vg_config_destroy(c);
}

/* ---- files and their permissions ---------------------------------------------- */

static void write_temp(char *path, const char *text, mode_t mode)
{
    strcpy(path, "/tmp/vigil-test-config-XXXXXX");
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    size_t n = strlen(text);
    CHECK((size_t)write(fd, text, n) == n);
    close(fd);
    CHECK_EQ_INT(chmod(path, mode), 0);
}

VG_TEST(file_permissions)
{
    char path[64], expect[512];
    unsetenv("VIGIL_STRICT_PERMS");
    write_temp(path, "agent:\n  log_level: warn\n", 0600);
    struct vg_config *c = vg_config_load(path, errbuf, sizeof(errbuf));
    CHECK(c != NULL);
    if (c) {
        CHECK_EQ_STR(c->file, path);
        CHECK_EQ_STR(c->agent.log_level, "warn");
    }
    vg_config_destroy(c);

    CHECK_EQ_INT(chmod(path, 0644), 0);
    c = vg_config_load(path, errbuf, sizeof(errbuf));
    CHECK(c != NULL);
    vg_config_destroy(c);

    CHECK_EQ_INT(chmod(path, 0666), 0);
    c = vg_config_load(path, errbuf, sizeof(errbuf));
    CHECK(c == NULL);
    snprintf(expect, sizeof(expect),
             "%s: refusing to load: the file is writable by group or others (mode 0666); "
             "chmod go-w %s", path, path);
    CHECK_EQ_STR(errbuf, expect);

    CHECK_EQ_INT(chmod(path, 0620), 0);
    c = vg_config_load(path, errbuf, sizeof(errbuf));
    CHECK(c == NULL);
    CHECK_CONTAINS(errbuf, "is writable by group or others (mode 0620)");

    /* the check can be turned off */
    CHECK_EQ_INT(chmod(path, 0666), 0);
    setenv("VIGIL_STRICT_PERMS", "false", 1);
    c = vg_config_load(path, errbuf, sizeof(errbuf));
    CHECK(c != NULL);
    vg_config_destroy(c);
    setenv("VIGIL_STRICT_PERMS", "true", 1);
    c = vg_config_load(path, errbuf, sizeof(errbuf));
    CHECK(c == NULL);
    unsetenv("VIGIL_STRICT_PERMS");

    /* owned by someone else (only root can arrange that) */
    CHECK_EQ_INT(chmod(path, 0644), 0);
    if (geteuid() == 0 && chown(path, 12345, 12345) == 0) {
        c = vg_config_load(path, errbuf, sizeof(errbuf));
        CHECK(c == NULL);
        snprintf(expect, sizeof(expect),
                 "%s: refusing to load: the file is owned by uid 12345, not by root or the "
                 "current user (uid 0); chown it", path);
        CHECK_EQ_STR(errbuf, expect);
    }
    unlink(path);

    /* errors in a file name the file */
    write_temp(path, "agent:\n  log_level: loud\n", 0600);
    c = vg_config_load(path, errbuf, sizeof(errbuf));
    CHECK(c == NULL);
    snprintf(expect, sizeof(expect),
             "%s:2:14: agent.log_level: \"loud\" is not one of error, warn, info, debug", path);
    CHECK_EQ_STR(errbuf, expect);
    unlink(path);

    c = vg_config_load("/nonexistent/vigil.yml", errbuf, sizeof(errbuf));
    CHECK(c == NULL);
    CHECK_EQ_STR(errbuf, "/nonexistent/vigil.yml: cannot open: No such file or directory");
    c = vg_config_load("/tmp", errbuf, sizeof(errbuf));
    CHECK(c == NULL);
    CHECK_CONTAINS(errbuf, "/tmp: ");
}

VG_TEST(file_too_large)
{
    char path[64];
    write_temp(path, "", 0600);
    int fd = open(path, O_WRONLY);
    CHECK(fd >= 0);
    CHECK_EQ_INT(ftruncate(fd, VG_MAX_CONFIG_FILE + 1), 0);
    close(fd);
    struct vg_config *c = vg_config_load(path, errbuf, sizeof(errbuf));
    CHECK(c == NULL);
    CHECK_CONTAINS(errbuf, ": the file is larger than 4194304 bytes");
    unlink(path);
}

VG_TEST(aws_scan_keys)
{
    struct vg_config *c = load("scans:\n"
                               "  - provider: aws\n"
                               "    regions: [us-east-1, eu-west-1]\n"
                               "    profile: audit\n"
                               "    endpoint_url: http://127.0.0.1:5000\n"
                               "    max_in_flight: 8\n"
                               "    global_region: eu-west-1\n"
                               "    accounts:\n"
                               "      - role_arn: arn:aws:iam::111122223333:role/vigil\n"
                               "        external_id: s3cret\n"
                               "        session_name: vigil-scan\n"
                               "      - role_arn: arn:aws-us-gov:iam::444455556666:role/x\n");
    CHECK(c != NULL);
    if (!c)
        return;
    CHECK_EQ_INT((int)c->nscans, 1);
    const struct vg_config_scan *s = &c->scans[0];
    CHECK_EQ_STR(s->provider, "aws");
    CHECK_EQ_INT((int)s->nregions, 2);
    CHECK_EQ_STR(s->regions[1], "eu-west-1");
    CHECK_EQ_STR(s->profile, "audit");
    CHECK_EQ_STR(s->endpoint_url, "http://127.0.0.1:5000");
    CHECK_EQ_INT((int)s->max_in_flight, 8);
    CHECK_EQ_STR(s->global_region, "eu-west-1");
    CHECK_EQ_INT((int)s->naccounts, 2);
    CHECK_EQ_STR(s->accounts[0].role_arn, "arn:aws:iam::111122223333:role/vigil");
    CHECK_EQ_STR(s->accounts[0].external_id, "s3cret");
    CHECK_EQ_STR(s->accounts[0].session_name, "vigil-scan");
    CHECK(s->accounts[1].external_id == NULL);
    char *p = printed(c);
    CHECK_CONTAINS(p, "external_id: \"********\"");
    CHECK(strstr(p, "s3cret") == NULL);
    free(p);
    vg_config_destroy(c);

    c = load("scans:\n  - provider: aws\n");
    CHECK(c != NULL);
    if (c) {
        CHECK_EQ_INT((int)c->scans[0].max_in_flight, 32);
        CHECK_EQ_STR(c->scans[0].global_region, "us-east-1");
        CHECK_EQ_INT((int)c->scans[0].naccounts, 0);
        CHECK(c->scans[0].endpoint_url == NULL);
    }
    vg_config_destroy(c);

    CHECK_LOAD_ERR("scans:\n  - provider: aws\n    endpoint_url: ftp://x\n",
                   "t.yml:3:19: scans[0].endpoint_url: \"ftp://x\" must be an http:// or "
                   "https:// URL");
    CHECK_LOAD_ERR("scans:\n  - provider: aws\n    accounts:\n      - external_id: x\n",
                   "t.yml:4:9: scans[0].accounts[0]: the key 'role_arn' is required");
    CHECK_LOAD_ERR("scans:\n  - provider: aws\n    accounts:\n      - role_arn: bob\n",
                   "t.yml:4:19: scans[0].accounts[0].role_arn: \"bob\" must be an IAM role ARN");
    CHECK_LOAD_ERR("scans:\n  - provider: aws\n    max_in_flight: 0\n",
                   "t.yml:3:20: scans[0].max_in_flight: \"0\" is less than the minimum, 1");
    CHECK_LOAD_ERR("scans:\n  - provider: aws\n    global_region: Mars\n",
                   "t.yml:3:20: scans[0].global_region: \"Mars\" must be a region name");
}

VG_TEST_MAIN()
