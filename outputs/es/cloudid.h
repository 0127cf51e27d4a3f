/*
 * Elastic Cloud ids: "NAME:BASE64" where BASE64 decodes to
 * "HOST[:PORT]$ES_ID[:PORT]$KIBANA_ID[:PORT]" (Beats' libbeat/cloudid).
 * The Elasticsearch URL is https://ES_ID.HOST:PORT, the port taken from
 * the ES id, else the host, else 443. Anything before the last ':' is a
 * label and ignored.
 */
#ifndef VG_ES_CLOUDID_H
#define VG_ES_CLOUDID_H

#include "../../agent/err.h"

#include <stddef.h>

/* Writes the Elasticsearch URL of cloud_id into url. VG_ERR_CONFIG with a
 * sentence in errbuf when the id is malformed (the id itself is not
 * secret, but only its label is repeated). */
enum vg_err vg_es_cloud_id_decode(const char *cloud_id, char *url, size_t urllen, char *errbuf,
                                  size_t errlen);

#endif
