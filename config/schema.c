/*
 * Every key of Vigil's configuration, declared once. The loader, the
 * printer (`vigil config check`) and the reference in the README are all
 * generated from these tables (see config/schema.h for the entry type).
 *
 * Keys that later issues add (exceptions, spool, outputs.elasticsearch,
 * outputs.kafka, the aws provider's keys) are deliberately absent: until
 * they are declared here they are "unknown key" errors.
 */
#include "config.h"
#include "schema.h"

#include <stddef.h>

#define CFG(field) offsetof(struct vg_config, field)
#define SCAN(field) offsetof(struct vg_config_scan, field)

static const char *const log_levels[] = { "error", "warn", "info", "debug", NULL };

/* The providers that exist; the aws provider joins this list later. */
static const char *const providers[] = { "host", NULL };

static const struct vg_config_key agent_keys[] = {
    { .key = "name", .type = VG_CFG_STRING, .def_doc = "the host name",
      .offset = CFG(agent.name), .max_len = 255,
      .help = "The name of this agent, sent as ECS `agent.name`." },
    { .key = "state_dir", .type = VG_CFG_STRING, .def = "/var/lib/vigil",
      .offset = CFG(agent.state_dir), .pattern = "^/", .pattern_doc = "an absolute path",
      .help = "Directory for the agent's state: its id, the spool, the last scan." },
    { .key = "log_level", .type = VG_CFG_ENUM, .def = "info", .words = log_levels,
      .offset = CFG(agent.log_level),
      .help = "Lowest level of the lines logged to stderr." },
    { .key = NULL },
};

static const struct vg_config_key scan_keys[] = {
    { .key = "provider", .type = VG_CFG_ENUM, .words = providers, .required = true,
      .offset = SCAN(provider),
      .help = "What to scan: `host` reads a Linux system under `root`." },
    { .key = "root", .type = VG_CFG_STRING, .def = "/", .offset = SCAN(root),
      .pattern = "^/", .pattern_doc = "an absolute path",
      .help = "host: the root of the system to read (`/host` in a container)." },
    { .key = "interval", .type = VG_CFG_DURATION, .def = "1h", .bounded = true,
      .min = 10, .max = 7 * 86400, .offset = SCAN(interval_s),
      .help = "Time between two scans in `vigil run`." },
    { .key = NULL },
};

static const struct vg_config_key rules_keys[] = {
    { .key = "paths", .type = VG_CFG_LIST, .offset = CFG(rules.paths),
      .count_offset = CFG(rules.npaths), .def_doc = "none",
      .help = "Extra rule files or directories, loaded after the shipped rules." },
    { .key = "params", .type = VG_CFG_OBJECT, .def = "{}", .offset = CFG(rules.params),
      .help = "Values for the rules' parameters (`max_key_age_days: 90`)." },
    { .key = NULL },
};

static const struct vg_config_key stdout_keys[] = {
    { .key = NULL },
};

static const struct vg_config_key file_keys[] = {
    { .key = "path", .type = VG_CFG_STRING, .required = true,
      .offset = CFG(outputs.file_path),
      .help = "The NDJSON file findings are appended to." },
    { .key = NULL },
};

static const struct vg_config_key outputs_keys[] = {
    { .key = "stdout", .type = VG_CFG_SECTION, .sub = stdout_keys, .presence = true,
      .offset = CFG(outputs.stdout_enabled),
      .help = "Writes findings to stdout as NDJSON when present (`stdout: {}`); "
              "the default when no output is configured." },
    { .key = "file", .type = VG_CFG_SECTION, .sub = file_keys,
      .help = "Appends findings to a file as NDJSON." },
    { .key = "namespace", .type = VG_CFG_STRING, .def = "default",
      .offset = CFG(outputs.namespace), .max_len = 100, .pattern = "^[a-z0-9_]+$",
      .pattern_doc = "made of lowercase letters, digits and underscores",
      .help = "The data stream namespace: findings go to `logs-vigil.findings-<namespace>`." },
    { .key = NULL },
};

const struct vg_config_key vg_config_schema[] = {
    { .key = "agent", .type = VG_CFG_SECTION, .sub = agent_keys,
      .help = "The agent itself." },
    { .key = "scans", .type = VG_CFG_SEQUENCE, .sub = scan_keys,
      .def = "[{provider: host}]", .bounded = true, .min = 1, .max = 256,
      .offset = CFG(scans), .count_offset = CFG(nscans),
      .elem_size = sizeof(struct vg_config_scan),
      .help = "The targets to scan, each on its own schedule." },
    { .key = "rules", .type = VG_CFG_SECTION, .sub = rules_keys,
      .help = "Where rules come from, and their parameters." },
    { .key = "outputs", .type = VG_CFG_SECTION, .sub = outputs_keys,
      .help = "Where findings are shipped." },
    { .key = NULL },
};
