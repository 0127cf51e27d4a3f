/*
 * The command line: vigil scan | run | drain | config | rules | report | setup |
 * version.
 *
 * Exit codes: 0 done; 1 runtime failure; 2 bad usage, configuration or
 * rules; 3 failed findings at or above --fail-on.
 */
#include "hash.h"
#include "identity.h"
#include "kibana.h"
#include "limits.h"
#include "log.h"
#include "metrics.h"
#include "monitor.h"
#include "sched.h"
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
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
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
            "  run [--config FILE]   the daemon: every scan on its interval, delivery all the\n"
            "                        time; SIGHUP reloads, SIGTERM drains and exits\n"
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
            "  setup [--config FILE] [--dry-run] [--kibana URL]\n"
            "                        install the Elasticsearch assets (index templates, ingest\n"
            "                        pipeline, ILM policy, latest-findings transform); with\n"
            "                        --kibana, import the dashboard and detection rules too\n"
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
    const char *kibana;
    bool dry_run;
    char **rest;          /* positional arguments */
    int nrest;
};

enum { OPT_CONFIG = 256, OPT_HOST_ROOT, OPT_OUTPUT, OPT_RULES, OPT_FAIL_ON, OPT_LOG_LEVEL,
       OPT_DEBUG, OPT_HELP, OPT_FRAMEWORK, OPT_FORMAT, OPT_DRY_RUN, OPT_TIMEOUT, OPT_KIBANA };

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
    { "kibana", required_argument, NULL, OPT_KIBANA },
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
        case OPT_KIBANA: c->kibana = optarg; break;
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
    /* expired entries are named FILE:LINE in the scan summary */
    for (size_t i = 0; x && cfg->file && i < cfg->nexceptions; i++)
        vg_exceptions_set_origin(x, i, cfg->file, cfg->exceptions[i].line);
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
        /* stdout when nothing else takes the findings */
        if (!nspecs && !network_configured(cfg))
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

/* ---- run: the daemon ----------------------------------------------------- */

/* What a configuration loads into; replaced whole on SIGHUP. */
struct generation {
    struct vg_config *cfg;
    struct vg_ruleset *rules;
    struct vg_exceptions *exceptions;
};

static void generation_free(struct generation *g)
{
    vg_exceptions_destroy(g->exceptions);
    vg_ruleset_destroy(g->rules);
    vg_config_destroy(g->cfg);
    memset(g, 0, sizeof(*g));
}

/* Loads and validates everything a configuration names; 0 or an exit
 * code, the reason on stderr. */
static int generation_load(const char *path, const struct cli *c, struct generation *g)
{
    memset(g, 0, sizeof(*g));
    g->cfg = load_config(path);
    if (!g->cfg)
        return EXIT_USAGE;
    if (g->cfg->nscans > VG_METRICS_MAX_SCANS) {
        fprintf(stderr, "vigil: %s: scans: vigil run takes at most %d entries\n",
                g->cfg->file ? g->cfg->file : "configuration", VG_METRICS_MAX_SCANS);
        generation_free(g);
        return EXIT_USAGE;
    }
    g->rules = load_rules(g->cfg, c, true);
    if (g->rules)
        g->exceptions = load_exceptions(g->cfg);
    if (!g->exceptions) {
        generation_free(g);
        return EXIT_USAGE;
    }
    return 0;
}

/* The parts of a configuration a reload cannot change (the outputs, the
 * spool, the state directory, the endpoint) as printed text, to compare. */
static char *fixed_part(const struct vg_config *cfg)
{
    struct vg_buf all, part;
    vg_buf_init(&all, 1u << 24);
    vg_buf_init(&part, 1u << 24);
    if (vg_config_print(cfg, &all) != VG_OK) {
        vg_buf_free(&all);
        return NULL;
    }
    /* top-level sections start at column 0; keep agent (but its
     * log_level), spool and outputs */
    bool keep = false;
    const char *p = vg_buf_str(&all);
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) + 1 : strlen(p);
        if (*p != ' ' && *p != '#' && *p != '\n')
            keep = strncmp(p, "agent:", 6) == 0 || strncmp(p, "spool:", 6) == 0 ||
                   strncmp(p, "outputs:", 8) == 0;
        if (keep && !strstr(p, "log_level:"))
            vg_buf_append(&part, p, n);
        p += n;
    }
    vg_buf_free(&all);
    return vg_buf_detach(&part);
}

/* One configured scan's place in the schedule. */
struct slot {
    int64_t next_ms;        /* monotonic */
    int64_t interval_ms;
    char provider[16];
};

struct daemon {
    const struct cli *cli;
    const char *config_path;
    char agent_id[VG_UUID_STR_LEN];
    char hostname[256];
    int64_t started_wall_ms;

    struct vg_output out;          /* shared: every scan's and the monitoring events */
    struct vg_output inner[MAX_CLI_LIST + 2];
    size_t ninner;
    struct net_outputs net;
    uint64_t spool_max_bytes;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;                     /* under mu */
    bool thread_done;              /* under mu: the scan thread has ended */
    atomic_int cancel;             /* the scan in progress stops at its next resource */
    struct generation gen;         /* the scan thread's; the main thread reads
                                    * only its fixed parts */
    struct generation pending;     /* a reloaded configuration for the scan
                                    * thread to take between scans */
    struct slot slots[VG_METRICS_MAX_SCANS];
    struct vg_metrics_scan ms[VG_METRICS_MAX_SCANS];   /* under mu */
    size_t nslots;                 /* under mu */
    uint64_t started, completed, failed, skipped, findings[3];   /* under mu */
};

/* Lays out the schedule of d->gen, keeping the place of a scan that is the
 * same provider at the same index with the same interval. Under mu. */
static void schedule(struct daemon *d, bool keep)
{
    int64_t now = vg_time_mono_ms();
    size_t n = d->gen.cfg->nscans;
    for (size_t i = 0; i < n; i++) {
        const struct vg_config_scan *sc = &d->gen.cfg->scans[i];
        int64_t iv = sc->interval_s * 1000;
        struct slot *s = &d->slots[i];
        if (keep && i < d->nslots && s->interval_ms == iv &&
            strcmp(s->provider, sc->provider) == 0)
            continue;
        uint64_t rnd = 0;
        char u[VG_UUID_STR_LEN];
        if (vg_uuid_v4(u) == VG_OK)
            rnd = strtoull(u + 24, NULL, 16);
        s->interval_ms = iv;
        s->next_ms = now + vg_sched_splay_ms(iv, d->gen.cfg->agent.splay_s * 1000, rnd);
        snprintf(s->provider, sizeof(s->provider), "%s", sc->provider);
        memset(&d->ms[i], 0, sizeof(d->ms[i]));
        snprintf(d->ms[i].provider, sizeof(d->ms[i].provider), "%s", sc->provider);
        vg_log(VG_LOG_INFO, "run", "scan %zu (%s) every %llds, first in %.1fs", i + 1,
               sc->provider, (long long)sc->interval_s, (double)(s->next_ms - now) / 1000.0);
    }
    for (size_t i = 0; i < n; i++)
        d->ms[i].interval_s = d->slots[i].interval_ms / 1000;
    d->nslots = n;
}

/* Runs scan i of d->gen; called without mu. */
static void run_one(struct daemon *d, size_t i)
{
    const struct vg_config *cfg = d->gen.cfg;
    const struct vg_config_scan *sc = &cfg->scans[i];
    struct vg_scan_opts o = {
        .params = { .provider = sc->provider, .root = sc->root, .resources = sc->resources,
                    .config = sc, .rule_params = cfg->rules.params },
        .rules = d->gen.rules,
        .agent_name = cfg->agent.name ? cfg->agent.name : d->hostname,
        .agent_id = d->agent_id,
        .namespace = cfg->outputs.namespace,
        .outputs = &d->out,
        .noutputs = 1,
        .state_dir = cfg->agent.state_dir,
        .exceptions = d->gen.exceptions,
        .interval_s = sc->interval_s,
        .cancel = &d->cancel,
    };
    char err[1024] = "";
    struct vg_scan_result res;
    memset(&res, 0, sizeof(res));
    int64_t t0 = vg_time_mono_ms();
    vg_log(VG_LOG_INFO, "run", "scan %zu (%s) started", i + 1, sc->provider);
    enum vg_err e = vg_scan_run(&o, &res, err, sizeof(err));
    int64_t t1 = vg_time_mono_ms();
    if (e && atomic_load(&d->cancel)) {
        /* stopped for the shutdown: neither a failure nor a result */
        vg_log(VG_LOG_INFO, "run", "scan %zu (%s) stopped after %.1fs: the agent is stopping",
               i + 1, sc->provider, (double)(t1 - t0) / 1000.0);
        pthread_mutex_lock(&d->mu);
        d->ms[i].running = false;
        pthread_mutex_unlock(&d->mu);
        vg_scan_result_clear(&res);
        return;
    }

    pthread_mutex_lock(&d->mu);
    struct vg_metrics_scan *m = &d->ms[i];
    m->running = false;
    m->last_end_ms = vg_time_now_ms();
    m->last_duration_ms = t1 - t0;
    if (e) {
        d->failed++;
        m->last_failed = true;
        snprintf(m->last_error, sizeof(m->last_error), "%.250s", err);
    } else {
        d->completed++;
        m->last_failed = vg_json_len(res.stats.errors) > 0;
        m->last_error[0] = '\0';
        if (m->last_failed) {
            const char *first = vg_json_get_str(vg_json_at(res.stats.errors, 0));
            snprintf(m->last_error, sizeof(m->last_error), "%zu errors, the first: %.200s",
                     vg_json_len(res.stats.errors), first ? first : "?");
        } else {
            m->last_success_ms = m->last_end_ms;
        }
        m->last_resources = res.stats.resources;
        for (int k = 0; k < 3; k++) {
            m->last_findings[k] = res.stats.by_eval[k];
            d->findings[k] += res.stats.by_eval[k];
        }
    }
    uint64_t skipped = 0;
    struct slot *s = &d->slots[i];
    s->next_ms = vg_sched_next(t0, t1, s->interval_ms, &skipped);
    d->skipped += skipped;
    pthread_mutex_unlock(&d->mu);

    if (e)
        vg_log(VG_LOG_ERROR, "run", "scan %zu (%s) failed: %s", i + 1, sc->provider, err);
    else
        vg_log(VG_LOG_INFO, "run", "scan %zu (%s) of %s: %zu passed, %zu failed, %zu unknown, "
                                   "%zu resources, %.1fs",
               i + 1, sc->provider, res.target, res.stats.by_eval[0], res.stats.by_eval[1],
               res.stats.by_eval[2], res.stats.resources, (double)(t1 - t0) / 1000.0);
    if (skipped)
        vg_log(VG_LOG_WARN, "run", "scan %zu (%s) took %.1fs, longer than its interval (%llds): "
                                   "%llu runs skipped",
               i + 1, sc->provider, (double)(t1 - t0) / 1000.0,
               (long long)(s->interval_ms / 1000), (unsigned long long)skipped);
    vg_scan_result_clear(&res);
}

/* The scan thread: the due scans one after the other, each when due. */
static void *scan_thread(void *arg)
{
    struct daemon *d = arg;
    pthread_mutex_lock(&d->mu);
    while (!d->stop) {
        if (d->pending.cfg) {
            struct generation old = d->gen;
            d->gen = d->pending;
            memset(&d->pending, 0, sizeof(d->pending));
            schedule(d, true);
            pthread_mutex_unlock(&d->mu);
            generation_free(&old);
            vg_log(VG_LOG_INFO, "run", "the new configuration is in use");
            pthread_mutex_lock(&d->mu);
            continue;
        }
        size_t best = d->nslots;
        for (size_t i = 0; i < d->nslots; i++)
            if (best == d->nslots || d->slots[i].next_ms < d->slots[best].next_ms)
                best = i;
        if (best == d->nslots) {   /* no scans: wait for a reload or the end */
            vg_cond_wait_ms(&d->cv, &d->mu, 60000);
            continue;
        }
        int64_t wait = d->slots[best].next_ms - vg_time_mono_ms();
        if (wait > 0) {
            vg_cond_wait_ms(&d->cv, &d->mu, wait);
            continue;
        }
        d->started++;
        d->ms[best].running = true;
        d->ms[best].last_start_ms = vg_time_now_ms();
        pthread_mutex_unlock(&d->mu);
        run_one(d, best);
        pthread_mutex_lock(&d->mu);
    }
    d->thread_done = true;
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

/* Fills a snapshot of the agent's figures (the monitoring endpoint's
 * thread and the main thread call it). */
static void fill_snapshot(struct vg_metrics_snapshot *s, void *opaque)
{
    struct daemon *d = opaque;
    s->now_ms = vg_time_now_ms();
    s->uptime_s = (s->now_ms - d->started_wall_ms) / 1000;
    s->version = VG_VERSION;
    s->agent_id = d->agent_id;
    s->events_produced = vg_output_shared_lines(&d->out);
    size_t k = 0;
    if (d->net.es) {
        struct vg_es_stats st;
        vg_es_get_stats(d->net.es, &st);
        struct vg_metrics_output *o = &s->outputs[k++];
        o->name = "elasticsearch";
        o->delivered = st.delivered + st.duplicates;
        o->retried = st.retried;
        o->dead_lettered = st.dead_lettered;
        o->pending = st.pending;
        o->failing_since_ms = st.failing_since_ms;
        o->stopped = st.stopped;
        vg_es_last_error(d->net.es, o->last_error, sizeof(o->last_error));
    }
    if (d->net.kafka) {
        struct vg_kafka_stats st;
        vg_kafka_get_stats(d->net.kafka, &st);
        struct vg_metrics_output *o = &s->outputs[k++];
        o->name = "kafka";
        o->delivered = st.delivered;
        o->retried = st.retried;
        o->dead_lettered = st.dead_lettered;
        o->pending = st.pending;
        o->failing_since_ms = st.failing_since_ms;
        vg_kafka_last_error(d->net.kafka, o->last_error, sizeof(o->last_error));
    }
    if (d->net.spool) {
        struct vg_spool_stats st;
        vg_spool_get_stats(d->net.spool, &st);
        s->spool_present = true;
        s->spool_bytes = st.bytes;
        s->spool_records = st.records;
        s->spool_events = st.events_appended;
        s->spool_dropped = st.events_dropped;
        s->spool_max_bytes = d->spool_max_bytes;
    }
    pthread_mutex_lock(&d->mu);
    s->scans_started = d->started;
    s->scans_completed = d->completed;
    s->scans_failed = d->failed;
    s->scans_skipped = d->skipped;
    memcpy(s->findings, d->findings, sizeof(s->findings));
    s->nscans = d->nslots;
    memcpy(s->scans, d->ms, d->nslots * sizeof(d->ms[0]));
    pthread_mutex_unlock(&d->mu);
    vg_metrics_snapshot_counters(s);
}

/* The monitoring event through the outputs. */
static void emit_monitoring(struct daemon *d, const struct vg_config *cfg)
{
    struct vg_metrics_snapshot *s = calloc(1, sizeof(*s));
    if (!s)
        return;
    fill_snapshot(s, d);
    struct vg_json *doc = vg_metrics_ecs_doc(s, cfg->agent.name ? cfg->agent.name : d->hostname,
                                             cfg->outputs.namespace);
    free(s);
    struct vg_buf line;
    vg_buf_init(&line, VG_MAX_EVENT);
    char err[1024];
    enum vg_err e = doc ? vg_ecs_encode(doc, &line) : VG_ERR_NOMEM;
    vg_json_free(doc);
    if (!e)
        e = vg_output_write(&d->out, line.data, line.len, err, sizeof(err));
    else
        snprintf(err, sizeof(err), "cannot encode the monitoring event: %s", vg_strerror(e));
    if (!e)
        e = vg_output_flush(&d->out, err, sizeof(err));
    if (e)
        vg_log(VG_LOG_WARN, "run", "monitoring event: %s", err);
    vg_buf_free(&line);
}

/* One instance per state directory: STATE_DIR/vigil.lock, flock(2)ed for
 * the life of the process (the kernel drops it on any exit). Returns the
 * descriptor, or -1 with the reason on stderr. */
static int lock_state_dir(const char *dir)
{
    char path[PATH_MAX];
    if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
        fprintf(stderr, "vigil: cannot create the state directory %s: %s\n", dir,
                strerror(errno));
        return -1;
    }
    if (snprintf(path, sizeof(path), "%s/vigil.lock", dir) >= (int)sizeof(path)) {
        fprintf(stderr, "vigil: the state directory's path is too long\n");
        return -1;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        fprintf(stderr, "vigil: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        char pid[32] = "";
        ssize_t n = pread(fd, pid, sizeof(pid) - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        fprintf(stderr, "vigil: another vigil run uses the state directory %s%s%s%s\n", dir,
                pid[0] ? " (pid " : "", pid, pid[0] ? ")" : "");
        close(fd);
        return -1;
    }
    char pid[32];
    int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n)
        vg_log(VG_LOG_WARN, "run", "cannot write the pid into %s: %s", path, strerror(errno));
    return fd;
}

/* Opens the outputs a configuration names behind d->out. 0 or an exit code. */
static int open_daemon_outputs(struct daemon *d, const struct vg_config *cfg)
{
    char err[1024], filespec[PATH_MAX + 8];
    const char *specs[3];
    size_t n = 0;
    if (cfg->outputs.stdout_enabled)
        specs[n++] = "stdout";
    if (cfg->outputs.file_path) {
        snprintf(filespec, sizeof(filespec), "file:%s", cfg->outputs.file_path);
        specs[n++] = filespec;
    }
    if (!n && !network_configured(cfg))
        specs[n++] = "stdout";
    for (size_t i = 0; i < n; i++) {
        enum vg_err e = vg_output_open(specs[i], &d->inner[d->ninner], err, sizeof(err));
        if (e) {
            fprintf(stderr, "vigil: %s\n", err);
            return e == VG_ERR_INVALID ? EXIT_USAGE : EXIT_RUNTIME;
        }
        d->ninner++;
    }
    if (network_configured(cfg)) {
        int rc = open_network_outputs(cfg, &d->net);
        if (rc)
            return rc;
        /* no deadline: a full spool holds the scan back (spool.when_full:
         * block) until the outputs make room, or shutdown interrupts it */
        if (vg_output_spool(&d->inner[d->ninner], d->net.spool, -1) != VG_OK)
            return EXIT_RUNTIME;
        d->ninner++;
        d->spool_max_bytes = (uint64_t)cfg->spool.max_bytes;
    }
    if (vg_output_shared(&d->out, d->inner, d->ninner) != VG_OK)
        return EXIT_RUNTIME;
    return 0;
}

static int cmd_run(int argc, char **argv)
{
    struct cli c;
    int rc = parse_cli(argc, argv, &c);
    if (rc)
        return rc;
    if (c.nrest || c.noutputs || c.host_root || c.fail_on) {
        fprintf(stderr, "vigil run: takes only --config, --rules, --log-level and --debug "
                        "(the configuration says what to scan and where to send it)\n");
        return EXIT_USAGE;
    }
    static struct daemon d;   /* big (the metrics); one per process */
    memset(&d, 0, sizeof(d));
    d.cli = &c;
    d.config_path = c.config;
    d.started_wall_ms = vg_time_now_ms();
    pthread_mutex_init(&d.mu, NULL);
    pthread_cond_init(&d.cv, NULL);
    if (gethostname(d.hostname, sizeof(d.hostname) - 1) != 0 || !d.hostname[0])
        snprintf(d.hostname, sizeof(d.hostname), "unknown");

    /* the signals are taken by the main thread only: blocked before any
     * other thread exists, so every thread inherits the mask */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGHUP);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* the main thread's own copy: the settings a reload does not change
     * (agent, spool, outputs), kept while the scan thread's generations
     * come and go */
    struct vg_config *cfg = load_config(c.config);
    if (!cfg)
        return EXIT_USAGE;
    rc = setup_logging(&c, cfg);
    if (!rc)
        rc = generation_load(c.config, &c, &d.gen);
    if (rc) {
        vg_config_destroy(cfg);
        return rc;
    }
    char *fixed = fixed_part(cfg);
    int lockfd = lock_state_dir(cfg->agent.state_dir);
    if (lockfd < 0) {
        free(fixed);
        generation_free(&d.gen);
        vg_config_destroy(cfg);
        return EXIT_RUNTIME;
    }
    vg_agent_id(cfg->agent.state_dir, d.agent_id);
    rc = open_daemon_outputs(&d, cfg);
    struct vg_monitor *mon = NULL;
    if (!rc && cfg->agent.http_listen) {
        char err[512];
        mon = vg_monitor_start(cfg->agent.http_listen, fill_snapshot, &d, err, sizeof(err));
        if (!mon) {
            fprintf(stderr, "vigil: %s\n", err);
            rc = EXIT_RUNTIME;
        }
    }
    pthread_t th;
    bool th_started = false;
    if (!rc) {
        pthread_mutex_lock(&d.mu);
        schedule(&d, false);
        pthread_mutex_unlock(&d.mu);
        if (pthread_create(&th, NULL, scan_thread, &d) != 0) {
            fprintf(stderr, "vigil: cannot start the scan thread\n");
            rc = EXIT_RUNTIME;
        } else {
            th_started = true;
        }
    }
    if (!rc)
        vg_log(VG_LOG_INFO, "run", "vigil %s running: %zu scans, agent id %s, pid %ld",
               VG_VERSION, cfg->nscans, d.agent_id, (long)getpid());

    /* the main thread: signals and the monitoring events */
    int64_t period_ms = cfg->agent.monitoring_period_s * 1000;
    int64_t next_mon = vg_time_mono_ms() + period_ms;
    int stop_sig = 0;
    while (!rc && !stop_sig) {
        int64_t wait = period_ms > 0 ? next_mon - vg_time_mono_ms() : 60000;
        if (wait < 0)
            wait = 0;
        struct timespec ts = { .tv_sec = wait / 1000, .tv_nsec = (wait % 1000) * 1000000 };
        siginfo_t si;
        int sig = sigtimedwait(&sigs, &si, &ts);
        if (sig == SIGTERM || sig == SIGINT) {
            stop_sig = sig;
        } else if (sig == SIGHUP) {
            vg_log(VG_LOG_INFO, "run", "SIGHUP: reloading %s", c.config ? c.config
                                                                        : "the defaults");
            struct generation g;
            if (generation_load(c.config, &c, &g) != 0) {
                vg_log(VG_LOG_ERROR, "run", "the new configuration is refused (the reason is "
                                            "above); the running one stays");
                continue;
            }
            char *nf = fixed_part(g.cfg);
            if (!nf || !fixed || strcmp(nf, fixed) != 0)
                vg_log(VG_LOG_WARN, "run", "agent, spool or outputs settings changed: they take "
                                           "effect at the next start (systemctl restart "
                                           "vigil); scans, rules, exceptions and the log level "
                                           "change now");
            free(nf);
            setup_logging(&c, g.cfg);
            pthread_mutex_lock(&d.mu);
            generation_free(&d.pending);   /* an earlier reload not yet taken */
            d.pending = g;
            pthread_cond_broadcast(&d.cv);
            pthread_mutex_unlock(&d.mu);
        } else if (period_ms > 0 && vg_time_mono_ms() >= next_mon) {
            emit_monitoring(&d, cfg);
            next_mon += period_ms;
            if (next_mon < vg_time_mono_ms())
                next_mon = vg_time_mono_ms() + period_ms;
        }
    }

    /* drain: stop scanning, deliver what can be delivered within the
     * grace period, persist the cursors, exit 0 */
    int64_t grace_ms = cfg->agent.shutdown_grace_s * 1000;
    int64_t deadline = vg_time_mono_ms() + grace_ms;
    if (stop_sig)
        vg_log(VG_LOG_INFO, "run", "%s: stopping the scans and delivering for up to %llds",
               stop_sig == SIGTERM ? "SIGTERM" : "SIGINT", (long long)(grace_ms / 1000));
    pthread_mutex_lock(&d.mu);
    d.stop = true;
    atomic_store(&d.cancel, 1);
    pthread_cond_broadcast(&d.cv);
    pthread_mutex_unlock(&d.mu);
    if (th_started) {
        /* a scan held back by a full spool waits while the outputs make
         * room; past the grace period the spool refuses it */
        pthread_mutex_lock(&d.mu);
        while (!d.thread_done && vg_time_mono_ms() < deadline)
            vg_cond_wait_ms(&d.cv, &d.mu, deadline - vg_time_mono_ms());
        bool done = d.thread_done;
        pthread_mutex_unlock(&d.mu);
        if (!done) {
            vg_log(VG_LOG_WARN, "run", "the scan in progress did not end within the grace "
                                       "period: interrupted");
            if (d.net.spool)
                vg_spool_interrupt(d.net.spool);
        }
        pthread_join(th, NULL);
    }
    if (!rc && stop_sig && period_ms > 0)
        emit_monitoring(&d, cfg);   /* the last figures */
    if (d.out.type) {
        char err[1024];
        if (vg_output_flush(&d.out, err, sizeof(err)) != VG_OK)
            vg_log(VG_LOG_WARN, "run", "flushing the outputs: %s", err);
        vg_output_close(&d.out);
    } else {
        for (size_t i = 0; i < d.ninner; i++)
            vg_output_close(&d.inner[i]);
    }
    vg_monitor_stop(mon);
    if (d.net.spool) {
        int64_t now = vg_time_mono_ms();
        /* what is not delivered stays in the spool for the next start: not
         * a failure of the shutdown */
        drain_network_outputs(&d.net, deadline > now ? deadline : now);
    }
    close_network_outputs(&d.net);
    generation_free(&d.pending);
    generation_free(&d.gen);
    free(fixed);
    vg_config_destroy(cfg);
    close(lockfd);
    pthread_mutex_destroy(&d.mu);
    pthread_cond_destroy(&d.cv);
    if (stop_sig)
        vg_log(VG_LOG_INFO, "run", "stopped");
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
    char err[2048];
    /* the Elasticsearch assets; with --kibana, only when an Elasticsearch
     * output is configured (the dashboards read what its templates map) */
    if (!rc && (!c.kibana || cfg->outputs.es.enabled)) {
        enum vg_err e = vg_setup_run(cfg, c.dry_run, stdout, err, sizeof(err));
        if (e) {
            fprintf(stderr, "vigil: setup: %s\n", err);
            rc = e == VG_ERR_CONFIG ? EXIT_USAGE : EXIT_RUNTIME;
        }
    } else if (!rc) {
        fprintf(stderr, "vigil: setup: no Elasticsearch output is configured: only the Kibana "
                        "assets are imported\n");
    }
    if (!rc && c.kibana) {
        enum vg_err e = vg_kibana_setup(cfg, c.kibana, c.dry_run, stdout, err, sizeof(err));
        if (e) {
            fprintf(stderr, "vigil: setup --kibana: %s\n", err);
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
    if (strcmp(cmd, "run") == 0)
        return cmd_run(argc - 1, argv + 1);
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
