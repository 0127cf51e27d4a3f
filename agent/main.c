/*
 * The command line: vigil scan | config | rules | version.
 *
 * Exit codes: 0 done; 1 runtime failure; 2 bad usage, configuration or
 * rules; 3 failed findings at or above --fail-on.
 */
#include "identity.h"
#include "log.h"
#include "report.h"
#include "scan.h"
#include "setup.h"
#include "timeutil.h"
#include "../checks/exception.h"
#include "../checks/framework.h"
#include "../checks/rule.h"
#include "../config/config.h"
#include "../config/schema.h"
#include "../outputs/es/es.h"
#include "../outputs/kafka/kafka.h"
#include "../outputs/spool.h"
#include "vg_version.h"

#include <curl/curl.h>
#include <expat.h>
#include <openssl/crypto.h>
#include <zlib.h>
#include <zstd.h>
#include <yajl/yajl_version.h>
#include <yaml.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2
#define EXIT_FINDINGS 3

#define MAX_CLI_LIST 32

static void usage(FILE *f)
{
    fprintf(f,
            "usage: vigil <command> [options]\n"
            "\n"
            "commands:\n"
            "  scan [--config FILE] [--host-root DIR] [--output SPEC]... [--rules PATH]...\n"
            "       [--fail-on SEVERITY] [--timeout DURATION] [--log-level LEVEL] [--debug AREAS]\n"
            "                        run the configured scans once; findings as ECS NDJSON\n"
            "                        (SPEC: stdout, file:PATH); summary on stderr\n"
            "  drain [--config FILE] [--timeout DURATION]\n"
            "                        deliver what the spool holds to the network outputs, scan\n"
            "                        nothing, then exit\n"
            "  config check [--config FILE]\n"
            "                        validate and print the effective configuration\n"
            "  config reference      print every configuration key (Markdown)\n"
            "  rules list [--config FILE] [--rules PATH]...\n"
            "  rules show ID [--config FILE] [--rules PATH]...\n"
            "  rules validate [PATH...]\n"
            "  report [--config FILE] [--framework ID] [--format table|json|html]\n"
            "                        per framework, the controls that pass, fail, are unknown\n"
            "                        or need manual evidence, from the last scan of each target\n"
            "  setup [--config FILE] [--dry-run]\n"
            "                        install the Elasticsearch assets (index templates, ingest\n"
            "                        pipeline, ILM policy, latest-findings transform)\n"
            "  version               version, commit, linked libraries\n"
            "\n"
            "exit codes: 0 done, 1 runtime failure, 2 bad usage, configuration or rules,\n"
            "            3 failed findings at or above --fail-on\n");
}

/* ---- shared option handling -------------------------------------------- */

struct cli {
    const char *config;
    const char *host_root;
    const char *outputs[MAX_CLI_LIST];
    size_t noutputs;
    const char *rules[MAX_CLI_LIST];
    size_t nrules;
    const char *fail_on;
    const char *log_level;
    const char *debug;
    const char *framework;
    const char *format;
    const char *timeout;
    bool dry_run;
    char **rest;          /* positional arguments */
    int nrest;
};

enum { OPT_CONFIG = 256, OPT_HOST_ROOT, OPT_OUTPUT, OPT_RULES, OPT_FAIL_ON, OPT_LOG_LEVEL,
       OPT_DEBUG, OPT_HELP, OPT_FRAMEWORK, OPT_FORMAT, OPT_DRY_RUN, OPT_TIMEOUT };

static const struct option long_opts[] = {
    { "config", required_argument, NULL, OPT_CONFIG },
    { "host-root", required_argument, NULL, OPT_HOST_ROOT },
    { "output", required_argument, NULL, OPT_OUTPUT },
    { "rules", required_argument, NULL, OPT_RULES },
    { "fail-on", required_argument, NULL, OPT_FAIL_ON },
    { "log-level", required_argument, NULL, OPT_LOG_LEVEL },
    { "debug", required_argument, NULL, OPT_DEBUG },
    { "help", no_argument, NULL, OPT_HELP },
    { "framework", required_argument, NULL, OPT_FRAMEWORK },
    { "format", required_argument, NULL, OPT_FORMAT },
    { "dry-run", no_argument, NULL, OPT_DRY_RUN },
    { "timeout", required_argument, NULL, OPT_TIMEOUT },
    { NULL, 0, NULL, 0 },
};

/* Parses options after the command words. Returns 0, or an exit code. */
static int parse_cli(int argc, char **argv, struct cli *c)
{
    memset(c, 0, sizeof(*c));
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        switch (ch) {
        case OPT_CONFIG: c->config = optarg; break;
        case OPT_HOST_ROOT: c->host_root = optarg; break;
        case OPT_OUTPUT:
            if (c->noutputs == MAX_CLI_LIST) {
                fprintf(stderr, "vigil: too many --output options\n");
                return EXIT_USAGE;
            }
            c->outputs[c->noutputs++] = optarg;
            break;
        case OPT_RULES:
            if (c->nrules == MAX_CLI_LIST) {
                fprintf(stderr, "vigil: too many --rules options\n");
                return EXIT_USAGE;
            }
            c->rules[c->nrules++] = optarg;
            break;
        case OPT_FAIL_ON: c->fail_on = optarg; break;
        case OPT_LOG_LEVEL: c->log_level = optarg; break;
        case OPT_DEBUG: c->debug = optarg; break;
        case OPT_FRAMEWORK: c->framework = optarg; break;
        case OPT_FORMAT: c->format = optarg; break;
        case OPT_DRY_RUN: c->dry_run = true; break;
        case OPT_TIMEOUT: c->timeout = optarg; break;
        case OPT_HELP: usage(stdout); exit(0);
        default:
            if (optopt && optopt < 256)
                fprintf(stderr, "vigil: unknown option '-%c'\n", optopt);
            else if (optopt)
                fprintf(stderr, "vigil: option '%s' needs a value\n", argv[optind - 1]);
            else
                fprintf(stderr, "vigil: unknown option '%s'\n", argv[optind - 1]);
            fprintf(stderr, "run 'vigil --help' for usage\n");
            return EXIT_USAGE;
        }
    }
    c->rest = argv + optind;
    c->nrest = argc - optind;
    return 0;
}

static int setup_logging(const struct cli *c, const struct vg_config *cfg)
{
    const char *lvl = c->log_level ? c->log_level : cfg ? cfg->agent.log_level : NULL;
    if (lvl) {
        int l = vg_log_level_parse(lvl);
        if (l < 0) {
            fprintf(stderr, "vigil: --log-level: '%s' is not one of error, warn, info, debug\n",
                    lvl);
            return EXIT_USAGE;
        }
        vg_log_set_level((enum vg_log_level)l);
    }
    if (c->debug && vg_log_set_debug(c->debug) != 0) {
        fprintf(stderr, "vigil: --debug: list of areas too long\n");
        return EXIT_USAGE;
    }
    return 0;
}

static struct vg_config *load_config(const char *path)
{
    char err[1024];
    struct vg_config *cfg = vg_config_load(path, err, sizeof(err));
    if (!cfg)
        fprintf(stderr, "vigil: %s\n", err);
    return cfg;
}

/* Compiles the configured exceptions; NULL with a message on stderr. An
 * empty mutelist is a valid, empty set. */
static struct vg_exceptions *load_exceptions(const struct vg_config *cfg)
{
    char err[1024];
    struct vg_exceptions *x = vg_exceptions_new(cfg->exceptions, cfg->nexceptions, err,
                                                sizeof(err));
    if (!x)
        fprintf(stderr, "vigil: %s: %s\n", cfg->file ? cfg->file : "configuration", err);
    return x;
}

/* The directory of shipped data `what` ("rules", "frameworks"): the
 * environment variable env if set; next to an installed binary,
 * PREFIX/share/vigil/WHAT; from a build tree, the source tree's
 * checks/WHAT; else the configured install path. */
static const char *default_data_dir(const char *what, const char *env, char *buf, size_t len)
{
    const char *e = getenv(env);
    if (e && *e)
        return e;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            struct stat st;
            snprintf(buf, len, "%s/../share/vigil/%s", exe, what);
            if (stat(buf, &st) == 0 && S_ISDIR(st.st_mode))
                return buf;
            char cache[PATH_MAX + 32];
            snprintf(cache, sizeof(cache), "%s/CMakeCache.txt", exe);
            if (stat(cache, &st) == 0) {
                snprintf(buf, len, "%s/%s", VG_SOURCE_DATA_DIR, what);
                return buf;
            }
        }
    }
    snprintf(buf, len, "%s/%s", VG_INSTALL_DATA_DIR, what);
    return buf;
}

/* The framework catalogues, loaded once for the process (rules keep
 * pointers into them); freed by main() after the command. */
static struct vg_catalog *catalog;

/* Loads the shipped rules, the configured paths and the --rules paths. */
static struct vg_ruleset *load_rules(const struct vg_config *cfg, const struct cli *c,
                                     bool with_default)
{
    struct vg_ruleset *rs = vg_ruleset_new();
    if (!rs) {
        fprintf(stderr, "vigil: out of memory\n");
        return NULL;
    }
    char dirbuf[PATH_MAX + 64];
    char err[1024];
    /* mappings are checked against the framework catalogues: a control
     * that does not exist is a load error */
    if (!catalog) {
        char fwbuf[PATH_MAX + 64];
        catalog = vg_catalog_new();
        if (!catalog || vg_catalog_load_path(catalog, default_data_dir("frameworks",
                                                                       "VIGIL_FRAMEWORKS_DIR",
                                                                       fwbuf, sizeof(fwbuf)),
                                             err, sizeof(err)) != VG_OK) {
            fprintf(stderr, "vigil: %s\n", catalog ? err : "out of memory");
            vg_ruleset_destroy(rs);
            return NULL;
        }
    }
    vg_ruleset_set_catalog(rs, catalog);
    const char *paths[2 * MAX_CLI_LIST + 64];
    size_t n = 0;
    char demobuf[PATH_MAX + 128];
    if (with_default) {
        paths[n++] = default_data_dir("rules", "VIGIL_RULES_DIR", dirbuf, sizeof(dirbuf));
        /* the demo provider's rules only when a demo scan is configured */
        bool demo = false;
        for (size_t i = 0; cfg && i < cfg->nscans; i++)
            demo = demo || strcmp(cfg->scans[i].provider, "demo") == 0;
        if (demo) {
            snprintf(demobuf, sizeof(demobuf), "%s/demo", paths[0]);
            paths[n++] = demobuf;
        }
    }
    for (size_t i = 0; cfg && i < cfg->rules.npaths && n < 2 * MAX_CLI_LIST; i++)
        paths[n++] = cfg->rules.paths[i];
    for (size_t i = 0; i < c->nrules; i++)
        paths[n++] = c->rules[i];
    for (size_t i = 0; i < n; i++) {
        if (vg_ruleset_load_path(rs, paths[i], err, sizeof(err)) != VG_OK) {
            fprintf(stderr, "vigil: %s\n", err);
            vg_ruleset_destroy(rs);
            return NULL;
        }
        vg_log(VG_LOG_DEBUG, "rules", "loaded %s (%zu rules in all)", paths[i],
               vg_ruleset_count(rs));
    }
    if (cfg && vg_ruleset_set_params(rs, cfg->rules.params, err, sizeof(err)) != VG_OK) {
        fprintf(stderr, "vigil: %s: %s\n", cfg->file ? cfg->file : "configuration", err);
        vg_ruleset_destroy(rs);
        return NULL;
    }
    return rs;
}

/* ---- scan ---------------------------------------------------------------- */

/* The network outputs and the spool they read. */
struct net_outputs {
    struct vg_spool *spool;
    struct vg_es *es;
    struct vg_kafka *kafka;
};

static bool network_configured(const struct vg_config *cfg)
{
    return cfg->outputs.es.enabled || cfg->outputs.kafka.enabled;
}

/* Opens the spool and starts every configured network output on it, each
 * with its own cursor. Returns 0 or an exit code, with the reason on
 * stderr. */
static int open_network_outputs(const struct vg_config *cfg, struct net_outputs *n)
{
    char err[1024], dir[PATH_MAX];
    memset(n, 0, sizeof(*n));
    bool memory = strcmp(cfg->spool.type, "memory") == 0;
    if (!memory && !cfg->spool.path) {
        /* the default spool lives in the state directory */
        if (mkdir(cfg->agent.state_dir, 0750) != 0 && errno != EEXIST) {
            fprintf(stderr, "vigil: cannot create the state directory %s: %s\n",
                    cfg->agent.state_dir, strerror(errno));
            return EXIT_RUNTIME;
        }
        if (snprintf(dir, sizeof(dir), "%s/spool", cfg->agent.state_dir) >= (int)sizeof(dir)) {
            fprintf(stderr, "vigil: the state directory's path is too long\n");
            return EXIT_USAGE;
        }
    }
    struct vg_spool_opts so = {
        .dir = memory ? NULL : cfg->spool.path ? cfg->spool.path : dir,
        .max_bytes = (uint64_t)cfg->spool.max_bytes,
        .segment_bytes = (uint64_t)cfg->spool.segment_bytes,
        .when_full = strcmp(cfg->spool.when_full, "drop_oldest") == 0 ? VG_SPOOL_DROP_OLDEST
                                                                     : VG_SPOOL_BLOCK,
        .fsync = strcmp(cfg->spool.fsync, "batch") == 0,
    };
    n->spool = vg_spool_open(&so, err, sizeof(err));
    if (!n->spool) {
        fprintf(stderr, "vigil: spool: %s\n", err);
        return EXIT_RUNTIME;
    }
    if (cfg->outputs.es.enabled) {
        n->es = vg_es_new(cfg, n->spool, cfg->agent.state_dir, err, sizeof(err));
        if (!n->es) {
            fprintf(stderr, "vigil: %s\n", err);
            return EXIT_USAGE;
        }
        if (vg_es_start(n->es) != VG_OK) {
            fprintf(stderr, "vigil: cannot start the Elasticsearch output\n");
            return EXIT_RUNTIME;
        }
    }
    if (cfg->outputs.kafka.enabled) {
        n->kafka = vg_kafka_new(cfg, n->spool, cfg->agent.state_dir, err, sizeof(err));
        if (!n->kafka) {
            fprintf(stderr, "vigil: %s\n", err);
            return EXIT_USAGE;
        }
        if (vg_kafka_start(n->kafka) != VG_OK) {
            fprintf(stderr, "vigil: cannot start the Kafka output\n");
            return EXIT_RUNTIME;
        }
    }
    /* every output has opened its cursor: those of outputs no longer
     * configured must not pin the spool */
    size_t pruned = vg_spool_prune(n->spool);
    if (pruned)
        vg_log(VG_LOG_INFO, "spool", "removed %zu cursors of outputs no longer configured",
               pruned);
    return 0;
}

/* One output's drain result as a line on stderr; 0 or EXIT_RUNTIME. */
static int drain_report(const char *name, enum vg_err e, uint64_t left, const char *why,
                        const char *delivered)
{
    if (e == VG_OK) {
        fprintf(stderr, "vigil: %s: %s\n", name, delivered);
        return 0;
    }
    if (e == VG_ERR_LIMIT)
        fprintf(stderr, "vigil: %s: timeout with %llu events not yet delivered; they stay in the "
                        "spool and the next start delivers them%s%s\n",
                name, (unsigned long long)left, why[0] ? ": " : "", why);
    else
        fprintf(stderr, "vigil: %s: %s; %llu events stay in the spool\n", name,
                why[0] ? why : vg_strerror(e), (unsigned long long)left);
    return EXIT_RUNTIME;
}

/* Waits until every network output has delivered everything in the
 * spool, or the deadline, then stops them. Returns 0 or EXIT_RUNTIME. */
static int drain_network_outputs(struct net_outputs *n, int64_t deadline)
{
    int rc = 0;
    char why[1024], line[256];
    uint64_t left = 0;
    if (n->es) {
        enum vg_err e = vg_es_drain(n->es, deadline, &left);
        struct vg_es_stats st;
        vg_es_get_stats(n->es, &st);
        vg_es_stop(n->es);
        why[0] = '\0';
        vg_es_last_error(n->es, why, sizeof(why));
        snprintf(line, sizeof(line),
                 "%llu events delivered (%llu were there already), %llu dead-lettered, "
                 "%llu resent",
                 (unsigned long long)st.delivered, (unsigned long long)st.duplicates,
                 (unsigned long long)st.dead_lettered, (unsigned long long)st.retried);
        rc |= drain_report("elasticsearch", e, left, why, line);
    }
    if (n->kafka) {
        enum vg_err e = vg_kafka_drain(n->kafka, deadline, &left);
        struct vg_kafka_stats st;
        vg_kafka_get_stats(n->kafka, &st);
        vg_kafka_stop(n->kafka);
        why[0] = '\0';
        vg_kafka_last_error(n->kafka, why, sizeof(why));
        snprintf(line, sizeof(line), "%llu events delivered, %llu dead-lettered, %llu resent",
                 (unsigned long long)st.delivered, (unsigned long long)st.dead_lettered,
                 (unsigned long long)st.retried);
        rc |= drain_report("kafka", e, left, why, line);
    }
    return rc ? EXIT_RUNTIME : 0;
}

static void close_network_outputs(struct net_outputs *n)
{
    vg_es_destroy(n->es);
    vg_kafka_destroy(n->kafka);
    vg_spool_close(n->spool);
    memset(n, 0, sizeof(*n));
}

static int cmd_scan(int argc, char **argv)
{
    struct cli c;
    int rc = parse_cli(argc, argv, &c);
    if (rc)
        return rc;
    if (c.nrest) {
        fprintf(stderr, "vigil scan: unexpected argument '%s'\n", c.rest[0]);
        return EXIT_USAGE;
    }
    int64_t timeout_s = 300;
    if (c.timeout) {
        if (vg_config_parse_duration(c.timeout, &timeout_s) != 0 || timeout_s < 0) {
            fprintf(stderr, "vigil: --timeout: '%s' is not a duration (30s, 15m, 1h; 0: no "
                            "limit)\n", c.timeout);
            return EXIT_USAGE;
        }
    }
    int fail_on = -1;
    if (c.fail_on) {
        fail_on = vg_severity_parse(c.fail_on);
        if (fail_on < 0) {
            fprintf(stderr, "vigil: --fail-on: '%s' is not one of low, medium, high, critical\n",
                    c.fail_on);
            return EXIT_USAGE;
        }
    }
    if (c.host_root) {
        struct stat st;
        if (stat(c.host_root, &st) != 0) {
            fprintf(stderr, "vigil: --host-root %s: %s\n", c.host_root, strerror(errno));
            return EXIT_USAGE;
        }
        if (!S_ISDIR(st.st_mode)) {
            fprintf(stderr, "vigil: --host-root %s: not a directory\n", c.host_root);
            return EXIT_USAGE;
        }
    }
    struct vg_config *cfg = load_config(c.config);
    if (!cfg)
        return EXIT_USAGE;
    rc = setup_logging(&c, cfg);
    if (rc) {
        vg_config_destroy(cfg);
        return rc;
    }
    struct vg_ruleset *rules = load_rules(cfg, &c, true);
    if (!rules) {
        vg_config_destroy(cfg);
        return EXIT_USAGE;
    }
    struct vg_exceptions *exceptions = load_exceptions(cfg);
    if (!exceptions) {
        vg_ruleset_destroy(rules);
        vg_config_destroy(cfg);
        return EXIT_USAGE;
    }

    /* outputs: --output replaces the configured ones */
    const char *specs[MAX_CLI_LIST + 2];
    char filespec[PATH_MAX + 8];
    size_t nspecs = 0;
    if (c.noutputs) {
        for (size_t i = 0; i < c.noutputs; i++)
            specs[nspecs++] = c.outputs[i];
    } else {
        if (cfg->outputs.stdout_enabled)
            specs[nspecs++] = "stdout";
        if (cfg->outputs.file_path) {
            snprintf(filespec, sizeof(filespec), "file:%s", cfg->outputs.file_path);
            specs[nspecs++] = filespec;
        }
        if (!nspecs)
            specs[nspecs++] = "stdout";
    }
    struct vg_output outputs[MAX_CLI_LIST + 2];
    memset(outputs, 0, sizeof(outputs));
    char err[1024];
    size_t nopen = 0;
    for (; nopen < nspecs; nopen++) {
        enum vg_err e = vg_output_open(specs[nopen], &outputs[nopen], err, sizeof(err));
        if (e) {
            fprintf(stderr, "vigil: %s\n", err);
            rc = e == VG_ERR_INVALID ? EXIT_USAGE : EXIT_RUNTIME;
            break;
        }
    }

    /* the network outputs read the spool: open it, start them, and let
     * the scan write into it (--output replaces them, as every output) */
    struct net_outputs net;
    memset(&net, 0, sizeof(net));
    int64_t deadline = timeout_s > 0 ? vg_time_mono_ms() + timeout_s * 1000 : -1;   /* 0: none */
    if (!rc && !c.noutputs && network_configured(cfg)) {
        rc = open_network_outputs(cfg, &net);
        if (!rc && vg_output_spool(&outputs[nopen], net.spool, deadline) == VG_OK)
            nopen++;
        else if (!rc)
            rc = EXIT_RUNTIME;
    }

    char agent_id[VG_UUID_STR_LEN];
    if (!rc)
        vg_agent_id(cfg->agent.state_dir, agent_id);
    /* agent.name is the machine Vigil runs on (the host name) unless
     * configured, whatever it scans */
    char hostname[256] = "";
    if (gethostname(hostname, sizeof(hostname) - 1) != 0 || !hostname[0])
        snprintf(hostname, sizeof(hostname), "unknown");

    /* scans: --host-root replaces the configured ones with one host scan */
    struct vg_config_scan cli_scan = { .provider = "host", .root = (char *)c.host_root };
    const struct vg_config_scan *scans = c.host_root ? &cli_scan : cfg->scans;
    size_t nscans = c.host_root ? 1 : cfg->nscans;
    int worst = -1;
    for (size_t i = 0; !rc && i < nscans; i++) {
        struct vg_scan_opts o = {
            .params = { .provider = scans[i].provider, .root = scans[i].root,
                        .resources = scans[i].resources,
                        .config = c.host_root ? NULL : &scans[i],
                        .rule_params = cfg->rules.params },
            .rules = rules,
            .agent_name = cfg->agent.name ? cfg->agent.name : hostname,
            .agent_id = agent_id,
            .namespace = cfg->outputs.namespace,
            .outputs = outputs,
            .noutputs = nopen,
            .state_dir = cfg->agent.state_dir,
            .exceptions = exceptions,
        };
        struct vg_scan_result res;
        enum vg_err e = vg_scan_run(&o, &res, err, sizeof(err));
        if (e) {
            fprintf(stderr, "vigil: %s\n", err);
            rc = e == VG_ERR_NOENT || e == VG_ERR_INVALID ? EXIT_USAGE : EXIT_RUNTIME;
        } else {
            vg_scan_print_summary(&res, stderr);
            if (res.worst_failed > worst)
                worst = res.worst_failed;
        }
        vg_scan_result_clear(&res);
    }
    for (size_t i = 0; i < nopen; i++)
        vg_output_close(&outputs[i]);
    /* everything produced, and anything left from before, is delivered
     * before vigil scan returns, or the timeout says what remains */
    if (net.spool) {
        int drc = drain_network_outputs(&net, rc ? vg_time_mono_ms() : deadline);
        if (!rc)
            rc = drc;
    }
    close_network_outputs(&net);
    vg_exceptions_destroy(exceptions);
    vg_ruleset_destroy(rules);
    vg_config_destroy(cfg);
    if (!rc && fail_on >= 0 && worst >= fail_on) {
        fprintf(stderr, "vigil: failed findings at or above %s\n",
                vg_severity_name((enum vg_severity)fail_on));
        rc = EXIT_FINDINGS;
    }
    return rc;
}

/* ---- drain --------------------------------------------------------------- */

static int cmd_drain(int argc, char **argv)
{
    struct cli c;
    int rc = parse_cli(argc, argv, &c);
    if (rc)
        return rc;
    if (c.nrest) {
        fprintf(stderr, "vigil drain: unexpected argument '%s'\n", c.rest[0]);
        return EXIT_USAGE;
    }
    int64_t timeout_s = 300;
    if (c.timeout && (vg_config_parse_duration(c.timeout, &timeout_s) != 0 || timeout_s < 0)) {
        fprintf(stderr, "vigil: --timeout: '%s' is not a duration (30s, 15m, 1h; 0: no limit)\n",
                c.timeout);
        return EXIT_USAGE;
    }
    struct vg_config *cfg = load_config(c.config);
    if (!cfg)
        return EXIT_USAGE;
    rc = setup_logging(&c, cfg);
    if (!rc && !network_configured(cfg)) {
        fprintf(stderr, "vigil drain: no network output is configured: nothing reads the spool\n");
        rc = EXIT_USAGE;
    }
    struct net_outputs net;
    memset(&net, 0, sizeof(net));
    if (!rc)
        rc = open_network_outputs(cfg, &net);
    if (!rc)
        rc = drain_network_outputs(&net, timeout_s > 0 ? vg_time_mono_ms() + timeout_s * 1000
                                                       : -1);
    close_network_outputs(&net);
    vg_config_destroy(cfg);
    return rc;
}

/* ---- config -------------------------------------------------------------- */

static int cmd_config(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "vigil config: expected 'check' or 'reference'\n");
        return EXIT_USAGE;
    }
    struct cli c;
    int rc = parse_cli(argc - 1, argv + 1, &c);
    if (rc)
        return rc;
    struct vg_buf out;
    vg_buf_init(&out, 1 << 20);
    if (strcmp(argv[1], "reference") == 0) {
        vg_config_reference(&out);
        fputs(vg_buf_str(&out), stdout);
        vg_buf_free(&out);
        return 0;
    }
    if (strcmp(argv[1], "check") != 0) {
        fprintf(stderr, "vigil config: unknown subcommand '%s'\n", argv[1]);
        return EXIT_USAGE;
    }
    struct vg_config *cfg = load_config(c.config);
    if (!cfg)
        return EXIT_USAGE;
    /* rules named by the configuration must load too */
    struct vg_ruleset *rules = load_rules(cfg, &c, true);
    if (!rules) {
        vg_config_destroy(cfg);
        return EXIT_USAGE;
    }
    struct vg_exceptions *x = load_exceptions(cfg);
    if (!x) {
        vg_buf_free(&out);
        vg_ruleset_destroy(rules);
        vg_config_destroy(cfg);
        return EXIT_USAGE;
    }
    vg_config_print(cfg, &out);
    fputs(vg_buf_str(&out), stdout);
    /* exceptions that can never mute anything are most likely typos */
    size_t idx[64];
    size_t nun = vg_exceptions_unmatched(x, rules, idx, 64);
    for (size_t i = 0; i < nun && i < 64; i++) {
        const struct vg_exception *e = vg_exceptions_at(x, idx[i]);
        fprintf(stderr, "vigil: warning: exceptions[%zu] (owner %s) matches no loaded rule\n",
                idx[i], e->owner);
    }
    size_t nexp = vg_exceptions_expired(x, vg_time_now_ms(), idx, 64);
    for (size_t i = 0; i < nexp && i < 64; i++) {
        const struct vg_exception *e = vg_exceptions_at(x, idx[i]);
        fprintf(stderr, "vigil: warning: exceptions[%zu] (owner %s) expired on %s\n", idx[i],
                e->owner, e->expires);
    }
    fprintf(stderr, "vigil: configuration %s is valid (%zu rules, %zu exceptions)\n",
            c.config ? c.config : "(built-in defaults)", vg_ruleset_count(rules),
            vg_exceptions_count(x));
    vg_exceptions_destroy(x);
    vg_buf_free(&out);
    vg_ruleset_destroy(rules);
    vg_config_destroy(cfg);
    return 0;
}

/* ---- rules --------------------------------------------------------------- */

static void print_rule(const struct vg_rule *r)
{
    printf("id:          %s\n", r->id);
    printf("uuid:        %s\n", r->uuid);
    printf("name:        %s\n", r->name);
    printf("resource:    %s\n", r->resource);
    printf("severity:    %s\n", vg_severity_name(r->severity));
    printf("section:     %s\n", r->section);
    printf("defined at:  %s:%d:%d\n", r->file, r->line, r->col);
    printf("description: %s\n", r->description);
    printf("rationale:   %s\n", r->rationale);
    printf("remediation: %s\n", r->remediation);
    for (size_t i = 0; i < r->nreferences; i++)
        printf("reference:   %s\n", r->references[i]);
    if (vg_json_len(r->params)) {
        struct vg_buf pb;
        vg_buf_init(&pb, 1 << 16);
        vg_json_dump(r->params, &pb);
        printf("parameters:  %s\n", vg_buf_str(&pb));
        vg_buf_free(&pb);
    }
    /* each control with its title, from the framework's catalogue */
    printf("frameworks:\n");
    for (size_t i = 0; i < vg_json_len(r->frameworks); i++) {
        const char *fwid = vg_json_key_at(r->frameworks, i);
        const struct vg_framework *fw = vg_catalog_find(catalog, fwid);
        const struct vg_json *ids = vg_json_at(r->frameworks, i);
        printf("  %s%s%s%s\n", fwid, fw ? " (" : "", fw ? fw->name : "", fw ? ")" : "");
        for (size_t j = 0; j < vg_json_len(ids); j++) {
            const char *cid = vg_json_get_str(vg_json_at(ids, j));
            const struct vg_control *ctl = vg_framework_control(fw, cid);
            const char *title = ctl ? ctl->title : "";
            int room = 96 - 14;
            if ((int)strlen(title) > room)
                printf("    %-10s%.*s...\n", cid, room - 3, title);
            else
                printf("    %-10s%s\n", cid, title);
        }
    }
}

static int cmd_rules(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "vigil rules: expected 'list', 'show ID' or 'validate [PATH...]'\n");
        return EXIT_USAGE;
    }
    const char *sub = argv[1];
    struct cli c;
    int rc = parse_cli(argc - 1, argv + 1, &c);
    if (rc)
        return rc;
    if (strcmp(sub, "validate") == 0) {
        /* with paths: just those; without: the shipped rules */
        for (int i = 0; i < c.nrest && c.nrules < MAX_CLI_LIST; i++)
            c.rules[c.nrules++] = c.rest[i];
        struct vg_ruleset *rs = load_rules(NULL, &c, c.nrest == 0);
        if (!rs)
            return EXIT_USAGE;
        printf("%zu rules valid\n", vg_ruleset_count(rs));
        vg_ruleset_destroy(rs);
        return 0;
    }
    if (strcmp(sub, "list") != 0 && strcmp(sub, "show") != 0) {
        fprintf(stderr, "vigil rules: unknown subcommand '%s'\n", sub);
        return EXIT_USAGE;
    }
    struct vg_config *cfg = load_config(c.config);
    if (!cfg)
        return EXIT_USAGE;
    struct vg_ruleset *rs = load_rules(cfg, &c, true);
    vg_config_destroy(cfg);
    if (!rs)
        return EXIT_USAGE;
    if (strcmp(sub, "list") == 0) {
        printf("%-44s %-9s %-18s %s\n", "ID", "SEVERITY", "RESOURCE", "NAME");
        for (size_t i = 0; i < vg_ruleset_count(rs); i++) {
            const struct vg_rule *r = vg_ruleset_at(rs, i);
            printf("%-44s %-9s %-18s %s\n", r->id, vg_severity_name(r->severity), r->resource,
                   r->name);
        }
    } else {
        if (c.nrest != 1) {
            fprintf(stderr, "vigil rules show: expected one rule id\n");
            rc = EXIT_USAGE;
        } else {
            const struct vg_rule *r = vg_ruleset_find(rs, c.rest[0]);
            if (!r) {
                fprintf(stderr, "vigil rules show: no rule '%s'\n", c.rest[0]);
                rc = EXIT_USAGE;
            } else {
                print_rule(r);
            }
        }
    }
    vg_ruleset_destroy(rs);
    return rc;
}

/* ---- report -------------------------------------------------------------- */

static int cmd_report(int argc, char **argv)
{
    struct cli c;
    int rc = parse_cli(argc, argv, &c);
    if (rc)
        return rc;
    if (c.nrest) {
        fprintf(stderr, "vigil report: unexpected argument '%s'\n", c.rest[0]);
        return EXIT_USAGE;
    }
    int fmt = c.format ? vg_report_format_parse(c.format) : VG_REPORT_TABLE;
    if (fmt < 0) {
        fprintf(stderr, "vigil: --format: '%s' is not one of table, json, html\n", c.format);
        return EXIT_USAGE;
    }
    struct vg_config *cfg = load_config(c.config);
    if (!cfg)
        return EXIT_USAGE;
    rc = setup_logging(&c, cfg);
    char dirbuf[PATH_MAX + 64], err[4096];
    struct vg_catalog *cat = rc ? NULL : vg_catalog_new();
    if (!rc && !cat) {
        fprintf(stderr, "vigil: out of memory\n");
        rc = EXIT_RUNTIME;
    }
    if (!rc && vg_catalog_load_path(cat, default_data_dir("frameworks", "VIGIL_FRAMEWORKS_DIR",
                                                          dirbuf, sizeof(dirbuf)),
                                    err, sizeof(err)) != VG_OK) {
        fprintf(stderr, "vigil: %s\n", err);
        rc = EXIT_USAGE;
    }
    if (!rc) {
        struct vg_report_opts o = { .state_dir = cfg->agent.state_dir, .catalog = cat,
                                    .framework = c.framework,
                                    .format = (enum vg_report_format)fmt };
        enum vg_err e = vg_report_run(&o, stdout, err, sizeof(err));
        if (e) {
            fprintf(stderr, "vigil: %s\n", err);
            rc = e == VG_ERR_INVALID ? EXIT_USAGE : EXIT_RUNTIME;
        }
    }
    vg_catalog_destroy(cat);
    vg_config_destroy(cfg);
    return rc;
}

/* ---- setup --------------------------------------------------------------- */

static int cmd_setup(int argc, char **argv)
{
    struct cli c;
    int rc = parse_cli(argc, argv, &c);
    if (rc)
        return rc;
    if (c.nrest) {
        fprintf(stderr, "vigil setup: unexpected argument '%s'\n", c.rest[0]);
        return EXIT_USAGE;
    }
    struct vg_config *cfg = load_config(c.config);
    if (!cfg)
        return EXIT_USAGE;
    rc = setup_logging(&c, cfg);
    if (!rc) {
        char err[2048];
        enum vg_err e = vg_setup_run(cfg, c.dry_run, stdout, err, sizeof(err));
        if (e) {
            fprintf(stderr, "vigil: setup: %s\n", err);
            rc = e == VG_ERR_CONFIG ? EXIT_USAGE : EXIT_RUNTIME;
        }
    }
    vg_config_destroy(cfg);
    return rc;
}

/* ---- version ------------------------------------------------------------- */

static int cmd_version(void)
{
    int y = yajl_version();
    printf("vigil %s (commit %s)\n", VG_VERSION, VG_COMMIT);
    printf("  OpenSSL %s\n", OpenSSL_version(OPENSSL_VERSION_STRING));
    printf("  yajl %d.%d.%d\n", y / 10000, (y / 100) % 100, y % 100);
    printf("  libyaml %s\n", yaml_get_version_string());
    printf("  %s\n", curl_version());
    printf("  zstd %s\n", ZSTD_versionString());
    printf("  zlib %s\n", zlibVersion());
    printf("  %s\n", XML_ExpatVersion());
    return 0;
}

static int dispatch(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "scan") == 0)
        return cmd_scan(argc - 1, argv + 1);
    if (strcmp(cmd, "config") == 0)
        return cmd_config(argc - 1, argv + 1);
    if (strcmp(cmd, "drain") == 0)
        return cmd_drain(argc - 1, argv + 1);
    if (strcmp(cmd, "rules") == 0)
        return cmd_rules(argc - 1, argv + 1);
    if (strcmp(cmd, "report") == 0)
        return cmd_report(argc - 1, argv + 1);
    if (strcmp(cmd, "setup") == 0)
        return cmd_setup(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0)
        return cmd_version();
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "vigil: unknown command '%s'\n", cmd);
    usage(stderr);
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    /* before any thread exists, as libcurl asks */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = dispatch(argc, argv);
    vg_catalog_destroy(catalog);
    curl_global_cleanup();
    return rc;
}
