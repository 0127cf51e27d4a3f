/*
 * Every key of Vigil's configuration, declared once. The loader, the
 * printer (`vigil config check`) and the reference in the README are all
 * generated from these tables (see config/schema.h for the entry type).
 *
 * Keys that are not declared here are "unknown key" errors.
 */
#include "config.h"
#include "schema.h"

#include <stddef.h>

#define CFG(field) offsetof(struct vg_config, field)
#define SCAN(field) offsetof(struct vg_config_scan, field)

static const char *const log_levels[] = { "error", "warn", "info", "debug", NULL };

/* The providers that exist. */
static const char *const providers[] = { "host", "demo", "aws", NULL };

#define ACCT(field) offsetof(struct vg_config_aws_account, field)

static const struct vg_config_key aws_account_keys[] = {
    { .key = "role_arn", .type = VG_CFG_STRING, .required = true, .offset = ACCT(role_arn),
      .pattern = "^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", .pattern_doc = "an IAM role ARN",
      .help = "aws: the role assumed (STS AssumeRole) to scan that account." },
    { .key = "external_id", .type = VG_CFG_STRING, .secret = true, .offset = ACCT(external_id),
      .max_len = 1224, .help = "aws: the role's external id, if its trust policy asks for one." },
    { .key = "session_name", .type = VG_CFG_STRING, .def_doc = "`vigil-<unix time>`",
      .offset = ACCT(session_name), .pattern = "^[A-Za-z0-9_=,.@-]{2,64}$",
      .pattern_doc = "2 to 64 of A-Z a-z 0-9 _=,.@-",
      .help = "aws: the role session name (seen in the account's CloudTrail)." },
    { .key = NULL },
};

static const struct vg_config_key agent_http_keys[] = {
    { .key = "listen", .type = VG_CFG_STRING, .def_doc = "no endpoint",
      .offset = CFG(agent.http_listen), .max_len = 300,
      .pattern = "^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9.-]+):[0-9]{1,5}$",
      .pattern_doc = "HOST:PORT (127.0.0.1:5066, [::1]:5066)",
      .help = "`vigil run`: serve GET /health and GET /metrics (Prometheus text) on this "
              "address. Keep it on the loopback or a private network: it has no "
              "authentication." },
    { .key = NULL },
};

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
    { .key = "http", .type = VG_CFG_SECTION, .sub = agent_http_keys,
      .help = "`vigil run`'s monitoring endpoint." },
    { .key = "monitoring_period", .type = VG_CFG_DURATION, .def = "60s", .bounded = true,
      .min = 0, .max = 86400, .offset = CFG(agent.monitoring_period_s),
      .help = "`vigil run`: how often the agent's own figures go through the outputs as an "
              "ECS event (`event.dataset: vigil.monitoring`); 0: never." },
    { .key = "splay", .type = VG_CFG_DURATION, .def = "60s", .bounded = true, .min = 0,
      .max = 3600, .offset = CFG(agent.splay_s),
      .help = "`vigil run`: each scan's first run waits a random delay below this and below "
              "a tenth of its interval, so a fleet started together does not scan in step; "
              "0: at once." },
    { .key = "shutdown_grace", .type = VG_CFG_DURATION, .def = "30s", .bounded = true,
      .min = 0, .max = 3600, .offset = CFG(agent.shutdown_grace_s),
      .help = "`vigil run`: on SIGTERM or SIGINT, how long to go on delivering what the "
              "spool holds before exiting (what is left stays in the spool)." },
    { .key = NULL },
};

static const struct vg_config_key scan_keys[] = {
    { .key = "provider", .type = VG_CFG_ENUM, .words = providers, .required = true,
      .offset = SCAN(provider),
      .help = "What to scan: `host` reads a Linux system under `root`; `demo` makes "
              "`resources` synthetic resources (for testing the pipeline); `aws` reads "
              "AWS accounts." },
    { .key = "root", .type = VG_CFG_STRING, .def = "/", .offset = SCAN(root),
      .pattern = "^/", .pattern_doc = "an absolute path",
      .help = "host: the root of the system to read (`/host` in a container)." },
    { .key = "resources", .type = VG_CFG_INT, .def = "1000", .bounded = true, .min = 0,
      .max = 100000000, .offset = SCAN(resources),
      .help = "demo: how many synthetic resources (4 findings each)." },
    { .key = "interval", .type = VG_CFG_DURATION, .def = "1h", .bounded = true,
      .min = 1, .max = 7 * 86400, .offset = SCAN(interval_s),
      .help = "Time between two scans in `vigil run`." },
    { .key = "regions", .type = VG_CFG_LIST, .offset = SCAN(regions),
      .count_offset = SCAN(nregions), .bounded = true, .min = 0, .max = 64,
      .def_doc = "every enabled region",
      .help = "aws: the regions scanned (those not enabled in an account are skipped)." },
    { .key = "profile", .type = VG_CFG_STRING, .offset = SCAN(profile),
      .def_doc = "the SDK credential chain", .max_len = 128,
      .help = "aws: the profile of ~/.aws/config and ~/.aws/credentials to use." },
    { .key = "endpoint_url", .type = VG_CFG_STRING, .offset = SCAN(endpoint_url),
      .pattern = "^https?://", .pattern_doc = "an http:// or https:// URL", .max_len = 400,
      .def_doc = "AWS's endpoints",
      .help = "aws: send every request there (moto, LocalStack)." },
    { .key = "accounts", .type = VG_CFG_SEQUENCE, .sub = aws_account_keys,
      .bounded = true, .min = 0, .max = 10000, .offset = SCAN(accounts),
      .count_offset = SCAN(naccounts), .elem_size = sizeof(struct vg_config_aws_account),
      .def_doc = "the credentials' own account",
      .help = "aws: accounts scanned through a role each, instead of the credentials' own." },
    { .key = "max_in_flight", .type = VG_CFG_INT, .def = "32", .bounded = true, .min = 1,
      .max = 1024, .offset = SCAN(max_in_flight),
      .help = "aws: requests in flight at once." },
    { .key = "global_region", .type = VG_CFG_STRING, .def = "us-east-1",
      .offset = SCAN(global_region), .pattern = "^[a-z]{2}(-[a-z]+)+-[0-9]+$",
      .pattern_doc = "a region name", .max_len = 32,
      .help = "aws: the region where global services (IAM, the S3 bucket list) are called." },
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

#define EXC(field) offsetof(struct vg_config_exception, field)

static const struct vg_config_key exception_keys[] = {
    { .key = "rules", .type = VG_CFG_LIST, .offset = EXC(rules), .count_offset = EXC(nrules),
      .def_doc = "any rule", .help = "Rule ids (globs: `aws.s3.*`) the exception applies to." },
    { .key = "resources", .type = VG_CFG_LIST, .offset = EXC(resources),
      .count_offset = EXC(nresources), .def_doc = "any resource",
      .help = "Resource ids (globs: `arn:aws:s3:::public-*`)." },
    { .key = "accounts", .type = VG_CFG_LIST, .offset = EXC(accounts),
      .count_offset = EXC(naccounts), .def_doc = "any account",
      .help = "Cloud account ids (globs)." },
    { .key = "regions", .type = VG_CFG_LIST, .offset = EXC(regions),
      .count_offset = EXC(nregions), .def_doc = "any region", .help = "Cloud regions (globs)." },
    { .key = "hosts", .type = VG_CFG_LIST, .offset = EXC(hosts), .count_offset = EXC(nhosts),
      .def_doc = "any host", .help = "Host names (globs)." },
    { .key = "tags", .type = VG_CFG_STRMAP, .offset = EXC(tags), .def_doc = "none",
      .help = "Resource tags that must all be present with these values." },
    { .key = "reason", .type = VG_CFG_STRING, .required = true, .offset = EXC(reason),
      .help = "Why the finding is accepted; shipped as `vigil.mute_reason`." },
    { .key = "owner", .type = VG_CFG_STRING, .required = true, .offset = EXC(owner),
      .help = "Who accepted it (a person or team)." },
    { .key = "expires", .type = VG_CFG_STRING, .required = true, .offset = EXC(expires),
      .pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ][0-9:.]+([Zz]|[+-][0-9]{2}:[0-9]{2}))?$",
      .pattern_doc = "a date (YYYY-MM-DD) or an RFC 3339 time",
      .help = "When it stops muting: a date mutes to the end of that day (UTC), a time "
              "up to that instant; after it, the finding counts again and every scan warns." },
    { .key = NULL },
};

static const char *const spool_types[] = { "disk", "memory", NULL };
static const char *const when_full_words[] = { "block", "drop_oldest", NULL };
static const char *const fsync_words[] = { "batch", "never", NULL };

static const struct vg_config_key spool_keys[] = {
    { .key = "type", .type = VG_CFG_ENUM, .def = "disk", .words = spool_types,
      .offset = CFG(spool.type),
      .help = "`disk`: findings survive a crash; `memory`: no disk, lost on a crash." },
    { .key = "path", .type = VG_CFG_STRING, .def_doc = "`<state_dir>/spool`",
      .offset = CFG(spool.path), .pattern = "^/", .pattern_doc = "an absolute path",
      .help = "Directory of the spool's segment files and cursors." },
    { .key = "max_bytes", .type = VG_CFG_SIZE, .def = "1GiB", .bounded = true,
      .min = 1 << 20, .max = (int64_t)1 << 40, .offset = CFG(spool.max_bytes),
      .help = "Bound on the spool's size on disk (or in memory)." },
    { .key = "segment_bytes", .type = VG_CFG_SIZE, .def = "64MiB", .bounded = true,
      .min = 64 << 10, .max = (int64_t)1 << 32, .offset = CFG(spool.segment_bytes),
      .help = "Size at which a segment file is closed and a new one started." },
    { .key = "when_full", .type = VG_CFG_ENUM, .def = "block", .words = when_full_words,
      .offset = CFG(spool.when_full),
      .help = "`block`: scans wait for the outputs; `drop_oldest`: the oldest undelivered "
              "findings are dropped (counted and logged)." },
    { .key = "fsync", .type = VG_CFG_ENUM, .def = "batch", .words = fsync_words,
      .offset = CFG(spool.fsync),
      .help = "`batch`: every appended batch is on disk before it counts as accepted; "
              "`never`: leave it to the kernel." },
    { .key = NULL },
};

static const struct vg_config_key es_ssl_keys[] = {
    { .key = "verify", .type = VG_CFG_BOOL, .def = "true",
      .offset = CFG(outputs.es.ssl_verify),
      .help = "Verify the server's certificate and name. Turn off only for tests." },
    { .key = "ca", .type = VG_CFG_STRING, .offset = CFG(outputs.es.ssl_ca),
      .help = "CA certificates file (PEM) to verify the server with." },
    { .key = "ca_sha256", .type = VG_CFG_STRING, .offset = CFG(outputs.es.ssl_ca_sha256),
      .pattern = "^[0-9a-fA-F:]{64,95}$", .pattern_doc = "a hex SHA-256 fingerprint",
      .help = "Pin: the SHA-256 fingerprint of a certificate in the server's chain; a "
              "chain without it is refused." },
    { .key = "certificate", .type = VG_CFG_STRING,
      .offset = CFG(outputs.es.ssl_certificate),
      .help = "Client certificate (PEM), for certificate authentication." },
    { .key = "key", .type = VG_CFG_STRING, .offset = CFG(outputs.es.ssl_key),
      .help = "Client private key (PEM)." },
    { .key = "key_passphrase", .type = VG_CFG_STRING, .secret = true,
      .offset = CFG(outputs.es.ssl_key_passphrase), .help = "Passphrase of the client key." },
    { .key = NULL },
};

static const struct vg_config_key es_keys[] = {
    { .key = "hosts", .type = VG_CFG_LIST, .offset = CFG(outputs.es.hosts),
      .count_offset = CFG(outputs.es.nhosts), .def_doc = "none (or `cloud_id`)",
      .help = "Elasticsearch URLs (`https://es1:9200`), used round-robin with failover." },
    { .key = "cloud_id", .type = VG_CFG_STRING, .offset = CFG(outputs.es.cloud_id),
      .help = "Elastic Cloud deployment id, instead of `hosts`." },
    { .key = "username", .type = VG_CFG_STRING, .offset = CFG(outputs.es.username),
      .help = "Basic authentication user." },
    { .key = "password", .type = VG_CFG_STRING, .secret = true,
      .offset = CFG(outputs.es.password), .help = "Basic authentication password." },
    { .key = "api_key", .type = VG_CFG_STRING, .secret = true,
      .offset = CFG(outputs.es.api_key),
      .help = "API key, as `id:api_key` or its base64 encoding." },
    { .key = "bearer_token", .type = VG_CFG_STRING, .secret = true,
      .offset = CFG(outputs.es.bearer_token), .help = "Bearer token (service account)." },
    { .key = "ssl", .type = VG_CFG_SECTION, .sub = es_ssl_keys,
      .help = "TLS settings." },
    { .key = "proxy_url", .type = VG_CFG_STRING, .offset = CFG(outputs.es.proxy_url),
      .help = "HTTP proxy (`http://proxy:3128`)." },
    { .key = "bulk_max_events", .type = VG_CFG_INT, .def = "1600", .bounded = true,
      .min = 1, .max = 100000, .offset = CFG(outputs.es.bulk_max_events),
      .help = "Events in one bulk request at most." },
    { .key = "bulk_max_bytes", .type = VG_CFG_SIZE, .def = "5MiB", .bounded = true,
      .min = 1 << 10, .max = 100 << 20, .offset = CFG(outputs.es.bulk_max_bytes),
      .help = "Uncompressed bytes in one bulk request at most." },
    { .key = "flush_interval", .type = VG_CFG_DURATION, .def = "1s", .bounded = true,
      .min = 0, .max = 3600, .offset = CFG(outputs.es.flush_interval_s),
      .help = "A partial bulk request is sent after this long." },
    { .key = "max_in_flight", .type = VG_CFG_INT, .def = "2", .bounded = true, .min = 1,
      .max = 64, .offset = CFG(outputs.es.max_in_flight),
      .help = "Bulk requests under way at once." },
    { .key = "compression_level", .type = VG_CFG_INT, .def = "1", .bounded = true, .min = 0,
      .max = 9, .offset = CFG(outputs.es.compression_level),
      .help = "gzip level of request bodies; 0 sends them uncompressed." },
    { .key = "timeout", .type = VG_CFG_DURATION, .def = "90s", .bounded = true, .min = 1,
      .max = 3600, .offset = CFG(outputs.es.timeout_s),
      .help = "Time one bulk request may take." },
    { .key = "backoff_init", .type = VG_CFG_DURATION, .def = "1s", .bounded = true, .min = 0,
      .max = 3600, .offset = CFG(outputs.es.backoff_init_s),
      .help = "First wait before a retry (then doubled, with full jitter)." },
    { .key = "backoff_max", .type = VG_CFG_DURATION, .def = "60s", .bounded = true, .min = 1,
      .max = 86400, .offset = CFG(outputs.es.backoff_max_s),
      .help = "Longest wait between retries." },
    { .key = "dead_letter_path", .type = VG_CFG_STRING,
      .def_doc = "`<state_dir>/dead-letter.ndjson`", .offset = CFG(outputs.es.dead_letter_path),
      .pattern = "^/", .pattern_doc = "an absolute path",
      .help = "Events Elasticsearch rejects for good (4xx other than 409 and 429), one "
              "line each with the status, error type and reason." },
    { .key = NULL },
};

static const struct vg_config_key kafka_keys[] = {
    { .key = "brokers", .type = VG_CFG_LIST, .offset = CFG(outputs.kafka.brokers),
      .count_offset = CFG(outputs.kafka.nbrokers), .bounded = true, .min = 1, .max = 100,
      .def_doc = "none (required)",
      .help = "Bootstrap brokers (`kafka1:9092`): librdkafka's `bootstrap.servers`." },
    { .key = "topic", .type = VG_CFG_STRING, .def = "vigil-{event.dataset}",
      .offset = CFG(outputs.kafka.topic), .max_len = 400,
      .help = "Topic, as a template over event fields (`vigil-{event.dataset}`); "
              "characters a topic may not hold become `_`." },
    { .key = "compression", .type = VG_CFG_STRING, .def = "zstd",
      .offset = CFG(outputs.kafka.compression), .max_len = 32,
      .help = "librdkafka's `compression.codec`: none, gzip, snappy, lz4, zstd." },
    { .key = "compression_level", .type = VG_CFG_INT, .def = "-1", .bounded = true, .min = -1,
      .max = 12, .offset = CFG(outputs.kafka.compression_level),
      .help = "librdkafka's `compression.level`; -1: 1 for zstd (findings compress within "
              "about 2% of level 3 at about three quarters of its CPU), the codec's own default "
              "for the others." },
    { .key = "linger_ms", .type = VG_CFG_INT, .def = "5", .bounded = true, .min = 0,
      .max = 900000, .offset = CFG(outputs.kafka.linger_ms),
      .help = "librdkafka's `linger.ms`: how long a batch waits to fill." },
    { .key = "batch_max_events", .type = VG_CFG_INT, .def = "10000", .bounded = true,
      .min = 1, .max = 1000000, .offset = CFG(outputs.kafka.batch_max_events),
      .help = "librdkafka's `batch.num.messages`: messages in one batch at most." },
    { .key = "properties", .type = VG_CFG_STRMAP, .offset = CFG(outputs.kafka.properties),
      .secret = true, .def_doc = "none",
      .help = "Any librdkafka property, applied last (`security.protocol: SASL_SSL`, "
              "`sasl.mechanism: SCRAM-SHA-512`, `sasl.username`, `sasl.password`, "
              "`ssl.ca.location`, `ssl.certificate.location`, `ssl.key.location`); a wrong "
              "one is refused at start with librdkafka's own message." },
    { .key = "dead_letter_path", .type = VG_CFG_STRING,
      .def_doc = "`<state_dir>/dead-letter.ndjson`",
      .offset = CFG(outputs.kafka.dead_letter_path), .pattern = "^/",
      .pattern_doc = "an absolute path",
      .help = "Events Kafka refuses for good (too large, topic authorization), one line "
              "each with the error and its reason." },
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
    { .key = "elasticsearch", .type = VG_CFG_SECTION, .sub = es_keys, .presence = true,
      .offset = CFG(outputs.es.enabled),
      .help = "Ships findings to Elasticsearch's `_bulk` API, through the spool." },
    { .key = "kafka", .type = VG_CFG_SECTION, .sub = kafka_keys, .presence = true,
      .offset = CFG(outputs.kafka.enabled),
      .help = "Ships findings to Kafka (librdkafka, idempotent, acks=all), through the spool." },
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
    { .key = "exceptions", .type = VG_CFG_SEQUENCE, .sub = exception_keys,
      .def_doc = "none", .bounded = true, .min = 0, .max = 10000,
      .offset = CFG(exceptions), .count_offset = CFG(nexceptions),
      .elem_size = sizeof(struct vg_config_exception),
      .record_line = true, .line_offset = EXC(line),
      .help = "The mutelist: findings it matches are still shipped, with `vigil.muted: true`." },
    { .key = "spool", .type = VG_CFG_SECTION, .sub = spool_keys,
      .help = "The durable queue between scans and the network outputs." },
    { .key = "outputs", .type = VG_CFG_SECTION, .sub = outputs_keys,
      .help = "Where findings are shipped." },
    { .key = NULL },
};
