/*
 * The Elasticsearch assets (see assets.h). Generated from the JSON files of
 * packaging/elasticsearch/ (compact, keys in the files' order); change the
 * files and this table together: test_es_setup compares them.
 */
#include "assets.h"

const struct vg_es_asset vg_es_assets[] = {
    { "ILM policy", "vigil", VG_ES_ASSET_PUT, "/_ilm/policy/vigil", "ilm-policy.json",
        "{\"policy\":{\"_meta\":{\"managed_by\":\"vigil\",\"description\":\"Vigil findings and scan"
        " summaries: roll over daily or at 50 GB, delete after 400 days (a year of audit evidence a"
        "nd a margin).\"},\"phases\":{\"hot\":{\"min_age\":\"0ms\",\"actions\":{\"rollover\":{\"max"
        "_age\":\"1d\",\"max_primary_shard_size\":\"50gb\"}}},\"warm\":{\"min_age\":\"7d\",\"action"
        "s\":{\"forcemerge\":{\"max_num_segments\":1}}},\"delete\":{\"min_age\":\"400d\",\"actions\""
        ":{\"delete\":{}}}}}}" },
    { "ingest pipeline", "vigil", VG_ES_ASSET_PUT, "/_ingest/pipeline/vigil", "ingest-pipeline.json",
        "{\"description\":\"Vigil: sets event.ingested, the time Elasticsearch received the event ("
        "the latest transform syncs on it).\",\"_meta\":{\"managed_by\":\"vigil\"},\"processors\":["
        "{\"set\":{\"field\":\"event.ingested\",\"value\":\"{{{_ingest.timestamp}}}\",\"tag\":\"vig"
        "il-event-ingested\"}}],\"on_failure\":[{\"set\":{\"field\":\"error.message\",\"value\":\"{"
        "{{ _ingest.on_failure_message }}}\"}}]}" },
    { "component template", "vigil@mappings", VG_ES_ASSET_PUT, "/_component_template/vigil@mappings", "component-template-mappings.json",
        "{\"_meta\":{\"managed_by\":\"vigil\",\"description\":\"Every field of Vigil's ECS document"
        "; anything else is kept in _source but not indexed.\"},\"template\":{\"mappings\":{\"dynam"
        "ic\":false,\"date_detection\":false,\"properties\":{\"@timestamp\":{\"type\":\"date\"},\"m"
        "essage\":{\"type\":\"match_only_text\"},\"event\":{\"properties\":{\"kind\":{\"type\":\"ke"
        "yword\",\"ignore_above\":1024},\"category\":{\"type\":\"keyword\",\"ignore_above\":1024},\""
        "type\":{\"type\":\"keyword\",\"ignore_above\":1024},\"outcome\":{\"type\":\"keyword\",\"ig"
        "nore_above\":1024},\"id\":{\"type\":\"keyword\",\"ignore_above\":1024},\"dataset\":{\"type"
        "\":\"keyword\",\"ignore_above\":1024},\"module\":{\"type\":\"keyword\",\"ignore_above\":10"
        "24},\"action\":{\"type\":\"keyword\",\"ignore_above\":1024},\"created\":{\"type\":\"date\""
        "},\"start\":{\"type\":\"date\"},\"end\":{\"type\":\"date\"},\"ingested\":{\"type\":\"date\""
        "},\"sequence\":{\"type\":\"long\"},\"severity\":{\"type\":\"long\"},\"duration\":{\"type\""
        ":\"long\"}}},\"data_stream\":{\"properties\":{\"type\":{\"type\":\"constant_keyword\"},\"d"
        "ataset\":{\"type\":\"constant_keyword\"},\"namespace\":{\"type\":\"constant_keyword\"}}},\""
        "observer\":{\"properties\":{\"vendor\":{\"type\":\"keyword\",\"ignore_above\":1024},\"prod"
        "uct\":{\"type\":\"keyword\",\"ignore_above\":1024},\"version\":{\"type\":\"keyword\",\"ign"
        "ore_above\":1024}}},\"agent\":{\"properties\":{\"type\":{\"type\":\"keyword\",\"ignore_abo"
        "ve\":1024},\"name\":{\"type\":\"keyword\",\"ignore_above\":1024},\"id\":{\"type\":\"keywor"
        "d\",\"ignore_above\":1024},\"version\":{\"type\":\"keyword\",\"ignore_above\":1024}}},\"ho"
        "st\":{\"properties\":{\"name\":{\"type\":\"keyword\",\"ignore_above\":1024},\"hostname\":{"
        "\"type\":\"keyword\",\"ignore_above\":1024},\"id\":{\"type\":\"keyword\",\"ignore_above\":"
        "1024},\"os\":{\"properties\":{\"type\":{\"type\":\"keyword\",\"ignore_above\":1024},\"fami"
        "ly\":{\"type\":\"keyword\",\"ignore_above\":1024},\"name\":{\"type\":\"keyword\",\"ignore_"
        "above\":1024,\"fields\":{\"text\":{\"type\":\"match_only_text\"}}},\"version\":{\"type\":\""
        "keyword\",\"ignore_above\":1024},\"platform\":{\"type\":\"keyword\",\"ignore_above\":1024}"
        "}}}},\"cloud\":{\"properties\":{\"provider\":{\"type\":\"keyword\",\"ignore_above\":1024},"
        "\"region\":{\"type\":\"keyword\",\"ignore_above\":1024},\"account\":{\"properties\":{\"id\""
        ":{\"type\":\"keyword\",\"ignore_above\":1024},\"name\":{\"type\":\"keyword\",\"ignore_abov"
        "e\":1024}}},\"service\":{\"properties\":{\"name\":{\"type\":\"keyword\",\"ignore_above\":1"
        "024}}}}},\"rule\":{\"properties\":{\"id\":{\"type\":\"keyword\",\"ignore_above\":1024},\"u"
        "uid\":{\"type\":\"keyword\",\"ignore_above\":1024},\"name\":{\"type\":\"keyword\",\"ignore"
        "_above\":1024,\"fields\":{\"text\":{\"type\":\"match_only_text\"}}},\"description\":{\"typ"
        "e\":\"match_only_text\"},\"rationale\":{\"type\":\"match_only_text\"},\"remediation\":{\"t"
        "ype\":\"match_only_text\"},\"reference\":{\"type\":\"keyword\",\"ignore_above\":1024},\"re"
        "ferences\":{\"type\":\"match_only_text\"},\"section\":{\"type\":\"keyword\",\"ignore_above"
        "\":1024},\"version\":{\"type\":\"keyword\",\"ignore_above\":1024},\"tags\":{\"type\":\"key"
        "word\",\"ignore_above\":1024},\"benchmark\":{\"properties\":{\"id\":{\"type\":\"keyword\","
        "\"ignore_above\":1024},\"name\":{\"type\":\"keyword\",\"ignore_above\":1024},\"version\":{"
        "\"type\":\"keyword\",\"ignore_above\":1024},\"rule_number\":{\"type\":\"keyword\",\"ignore"
        "_above\":1024},\"posture_type\":{\"type\":\"keyword\",\"ignore_above\":1024}}}}},\"result\""
        ":{\"properties\":{\"evaluation\":{\"type\":\"keyword\",\"ignore_above\":1024},\"evidence\""
        ":{\"type\":\"flattened\",\"ignore_above\":1024},\"reason\":{\"type\":\"match_only_text\"}}"
        "},\"resource\":{\"properties\":{\"id\":{\"type\":\"keyword\",\"ignore_above\":1024},\"name"
        "\":{\"type\":\"keyword\",\"ignore_above\":1024},\"type\":{\"type\":\"keyword\",\"ignore_ab"
        "ove\":1024},\"sub_type\":{\"type\":\"keyword\",\"ignore_above\":1024},\"region\":{\"type\""
        ":\"keyword\",\"ignore_above\":1024}}},\"ecs\":{\"properties\":{\"version\":{\"type\":\"key"
        "word\",\"ignore_above\":1024}}},\"vigil\":{\"properties\":{\"severity\":{\"type\":\"keywor"
        "d\",\"ignore_above\":1024},\"muted\":{\"type\":\"boolean\"},\"mute_reason\":{\"type\":\"ma"
        "tch_only_text\"},\"previous_evaluation\":{\"type\":\"keyword\",\"ignore_above\":1024},\"re"
        "gression\":{\"type\":\"boolean\"},\"compliance\":{\"type\":\"flattened\"},\"scan\":{\"prop"
        "erties\":{\"id\":{\"type\":\"keyword\",\"ignore_above\":1024},\"started\":{\"type\":\"date"
        "\"},\"provider\":{\"type\":\"keyword\",\"ignore_above\":1024},\"duration_ms\":{\"type\":\""
        "long\"},\"rules\":{\"type\":\"long\"},\"resources\":{\"type\":\"long\"},\"findings\":{\"pr"
        "operties\":{\"passed\":{\"type\":\"long\"},\"failed\":{\"type\":\"long\"},\"unknown\":{\"t"
        "ype\":\"long\"},\"total\":{\"type\":\"long\"},\"muted\":{\"type\":\"long\"}}},\"failed_by_"
        "severity\":{\"properties\":{\"low\":{\"type\":\"long\"},\"medium\":{\"type\":\"long\"},\"h"
        "igh\":{\"type\":\"long\"},\"critical\":{\"type\":\"long\"}}},\"frameworks\":{\"type\":\"fl"
        "attened\"},\"errors\":{\"type\":\"match_only_text\"},\"interval_s\":{\"type\":\"long\"},\""
        "exceptions\":{\"properties\":{\"expired\":{\"type\":\"long\"},\"expired_entries\":{\"type\""
        ":\"keyword\",\"ignore_above\":1024}}}}}}}}}}}" },
    { "component template", "vigil@settings", VG_ES_ASSET_PUT, "/_component_template/vigil@settings", "component-template-settings.json",
        "{\"_meta\":{\"managed_by\":\"vigil\"},\"template\":{\"settings\":{\"index\":{\"lifecycle\""
        ":{\"name\":\"vigil\"},\"default_pipeline\":\"vigil\",\"codec\":\"best_compression\",\"mapp"
        "ing\":{\"total_fields\":{\"limit\":2000}}}}}}" },
    { "index template", "logs-vigil.findings", VG_ES_ASSET_PUT, "/_index_template/logs-vigil.findings", "index-template-findings.json",
        "{\"_meta\":{\"managed_by\":\"vigil\"},\"index_patterns\":[\"logs-vigil.findings-*\"],\"dat"
        "a_stream\":{},\"priority\":200,\"composed_of\":[\"vigil@mappings\",\"vigil@settings\"],\"t"
        "emplate\":{\"mappings\":{\"properties\":{\"data_stream\":{\"properties\":{\"type\":{\"type"
        "\":\"constant_keyword\",\"value\":\"logs\"},\"dataset\":{\"type\":\"constant_keyword\",\"v"
        "alue\":\"vigil.findings\"}}}}}}}" },
    { "index template", "logs-vigil.scan", VG_ES_ASSET_PUT, "/_index_template/logs-vigil.scan", "index-template-scan.json",
        "{\"_meta\":{\"managed_by\":\"vigil\"},\"index_patterns\":[\"logs-vigil.scan-*\"],\"data_st"
        "ream\":{},\"priority\":200,\"composed_of\":[\"vigil@mappings\",\"vigil@settings\"],\"templ"
        "ate\":{\"mappings\":{\"properties\":{\"data_stream\":{\"properties\":{\"type\":{\"type\":\""
        "constant_keyword\",\"value\":\"logs\"},\"dataset\":{\"type\":\"constant_keyword\",\"value\""
        ":\"vigil.scan\"}}}}}}}" },
    { "index template", "logs-vigil.monitoring", VG_ES_ASSET_PUT, "/_index_template/logs-vigil.monitoring", "index-template-monitoring.json",
        "{\"_meta\":{\"managed_by\":\"vigil\",\"description\":\"The agent's own figures (event.data"
        "set vigil.monitoring), sent every agent.monitoring_period by vigil run. Fields added later"
        " under vigil.monitoring are indexed too: numbers as long, strings as keyword, an output's "
        "failing_since as a date.\"},\"index_patterns\":[\"logs-vigil.monitoring-*\"],\"data_stream"
        "\":{},\"priority\":200,\"composed_of\":[\"vigil@mappings\",\"vigil@settings\"],\"template\""
        ":{\"mappings\":{\"dynamic_templates\":[{\"vigil_monitoring_failing_since\":{\"path_match\""
        ":\"vigil.monitoring.outputs.*.failing_since\",\"mapping\":{\"type\":\"date\"}}},{\"vigil_m"
        "onitoring_strings\":{\"path_match\":\"vigil.monitoring.*\",\"match_mapping_type\":\"string"
        "\",\"mapping\":{\"type\":\"keyword\",\"ignore_above\":1024}}}],\"properties\":{\"data_stre"
        "am\":{\"properties\":{\"type\":{\"type\":\"constant_keyword\",\"value\":\"logs\"},\"datase"
        "t\":{\"type\":\"constant_keyword\",\"value\":\"vigil.monitoring\"}}},\"vigil\":{\"properti"
        "es\":{\"monitoring\":{\"dynamic\":true,\"properties\":{\"uptime_s\":{\"type\":\"long\"},\""
        "health\":{\"properties\":{\"status\":{\"type\":\"keyword\",\"ignore_above\":1024},\"reason"
        "s\":{\"type\":\"keyword\",\"ignore_above\":1024}}},\"events\":{\"properties\":{\"produced\""
        ":{\"type\":\"long\"},\"delivered\":{\"type\":\"long\"},\"retried\":{\"type\":\"long\"},\"d"
        "ead_lettered\":{\"type\":\"long\"},\"dropped\":{\"type\":\"long\"}}},\"outputs\":{\"proper"
        "ties\":{\"elasticsearch\":{\"properties\":{\"delivered\":{\"type\":\"long\"},\"retried\":{"
        "\"type\":\"long\"},\"dead_lettered\":{\"type\":\"long\"},\"pending\":{\"type\":\"long\"},\""
        "failing_since\":{\"type\":\"date\"}}},\"kafka\":{\"properties\":{\"delivered\":{\"type\":\""
        "long\"},\"retried\":{\"type\":\"long\"},\"dead_lettered\":{\"type\":\"long\"},\"pending\":"
        "{\"type\":\"long\"},\"failing_since\":{\"type\":\"date\"}}}}},\"spool\":{\"properties\":{\""
        "bytes\":{\"type\":\"long\"},\"events\":{\"type\":\"long\"},\"max_bytes\":{\"type\":\"long\""
        "}}},\"scans\":{\"properties\":{\"started\":{\"type\":\"long\"},\"completed\":{\"type\":\"l"
        "ong\"},\"failed\":{\"type\":\"long\"},\"skipped\":{\"type\":\"long\"},\"running\":{\"type\""
        ":\"long\"},\"overdue\":{\"type\":\"long\"}}},\"findings\":{\"properties\":{\"passed\":{\"t"
        "ype\":\"long\"},\"failed\":{\"type\":\"long\"},\"unknown\":{\"type\":\"long\"}}},\"api\":{"
        "\"properties\":{\"requests\":{\"type\":\"long\"},\"errors\":{\"type\":\"long\"}}}}}}}}}}}" },
    { "index template", "security_solution-vigil.misconfiguration_latest", VG_ES_ASSET_PUT, "/_index_template/security_solution-vigil.misconfiguration_latest", "index-template-latest.json",
        "{\"_meta\":{\"managed_by\":\"vigil\",\"description\":\"The index the latest-state transfor"
        "m writes: one document per rule.uuid, resource.id and data_stream.namespace.\"},\"index_pa"
        "tterns\":[\"security_solution-vigil.misconfiguration_latest-*\"],\"priority\":200,\"compos"
        "ed_of\":[\"vigil@mappings\"],\"template\":{\"settings\":{\"index\":{\"number_of_shards\":1"
        ",\"auto_expand_replicas\":\"0-1\"}},\"mappings\":{\"properties\":{\"data_stream\":{\"prope"
        "rties\":{\"type\":{\"type\":\"keyword\"},\"dataset\":{\"type\":\"keyword\"},\"namespace\":"
        "{\"type\":\"keyword\"}}}}}}}" },
    { "index", "security_solution-vigil.misconfiguration_latest-v1", VG_ES_ASSET_INDEX, "/security_solution-vigil.misconfiguration_latest-v1", "latest-index.json",
        "{\"aliases\":{\"security_solution-vigil.misconfiguration_latest\":{\"is_write_index\":true"
        "}}}" },
    { "transform", "vigil-misconfiguration-latest-v1", VG_ES_ASSET_TRANSFORM, "/_transform/vigil-misconfiguration-latest-v1", "transform-latest.json",
        "{\"description\":\"Vigil: the latest finding of each rule, resource and namespace, for Kib"
        "ana's Cloud Security pages.\",\"source\":{\"index\":[\"logs-vigil.findings-*\"],\"query\":"
        "{\"range\":{\"@timestamp\":{\"gte\":\"now-26h\"}}}},\"dest\":{\"index\":\"security_solutio"
        "n-vigil.misconfiguration_latest-v1\"},\"frequency\":\"1m\",\"sync\":{\"time\":{\"field\":\""
        "event.ingested\",\"delay\":\"60s\"}},\"retention_policy\":{\"time\":{\"field\":\"@timestam"
        "p\",\"max_age\":\"26h\"}},\"latest\":{\"unique_key\":[\"rule.uuid\",\"resource.id\",\"data"
        "_stream.namespace\"],\"sort\":\"@timestamp\"},\"settings\":{\"unattended\":true},\"_meta\""
        ":{\"managed_by\":\"vigil\",\"managed\":true}}" },
};

const size_t vg_es_assets_count = sizeof(vg_es_assets) / sizeof(vg_es_assets[0]);
