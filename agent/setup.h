/*
 * `vigil setup [--dry-run]`: installs the Elasticsearch assets Vigil's
 * documents need (outputs/es/assets.h, the same as the JSON files under
 * packaging/elasticsearch/): the ILM policy, the ingest pipeline that sets
 * event.ingested, the component and index templates of
 * logs-vigil.findings-*, logs-vigil.scan-* and logs-vigil.monitoring-*
 * (every field of the ECS documents mapped, dynamic: false for the rest
 * except under vigil.monitoring, where counters added later are indexed
 * too), the index behind the alias
 * security_solution-vigil.misconfiguration_latest with its template, and
 * the latest-state transform into it (unique key rule.uuid, resource.id,
 * data_stream.namespace), started.
 *
 * Idempotent: templates, policy and pipeline are PUT again (Elasticsearch
 * replaces them); an index that exists is kept; a transform that exists is
 * updated with what can be updated (not its `latest` key) and a transform
 * already started stays started. Running it twice changes nothing more.
 */
#ifndef VG_SETUP_H
#define VG_SETUP_H

#include "../config/config.h"
#include "err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Installs the assets with the connection settings of
 * cfg->outputs.elasticsearch (hosts or cloud_id, credentials, TLS, proxy),
 * writing one line per asset to out ("index template logs-vigil.scan:
 * installed"). With dry_run nothing is sent: out gets each request (method,
 * path and body) instead. Returns VG_OK; VG_ERR_CONFIG when the
 * configuration has no usable Elasticsearch output (exit 2); VG_ERR_PERM
 * when Elasticsearch refused the credentials, VG_ERR_IO when it could not
 * be reached or refused an asset (exit 1); errbuf says which, in one line. */
enum vg_err vg_setup_run(const struct vg_config *cfg, bool dry_run, FILE *out, char *errbuf,
                         size_t errlen);

#endif
