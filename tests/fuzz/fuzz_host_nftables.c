/*
 * Fuzz target for the host provider's parsers of configuration text:
 * nftables rulesets (host_nft_parse, includes refused), audit rules in
 * auditctl -R syntax (host_audit_parse_rules) and dpkg's status database
 * (host_dpkg_parse, host_dpkg_doc). Every input goes to all three; each
 * must return VG_OK, VG_ERR_NOMEM or VG_ERR_PARSE, an error must come with
 * one bounded line in errbuf, and a success must give a document that
 * dumps as JSON.
 */
#include "agent/buf.h"
#include "agent/json.h"
#include "checks/host/host.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(enum vg_err err, const char *errbuf, size_t errlen, const struct vg_json *doc)
{
    if (err != VG_OK && err != VG_ERR_NOMEM && err != VG_ERR_PARSE)
        abort();
    size_t n = strnlen(errbuf, errlen);
    if (n >= errlen)
        abort();
    if (err == VG_ERR_PARSE && (n == 0 || memchr(errbuf, '\n', n)))
        abort();
    if (err == VG_OK) {
        struct vg_buf b;
        vg_buf_init(&b, VG_MAX_JSON_TEXT);
        if (vg_json_dump(doc, &b) != VG_OK)
            abort();
        vg_buf_free(&b);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    char errbuf[VG_MAX_REASON];

    struct vg_json *doc = vg_json_object();
    errbuf[0] = '\0';
    enum vg_err err = doc ? host_nft_parse(NULL, text, size, "/etc/nftables.conf", doc, errbuf,
                                           sizeof(errbuf))
                          : VG_ERR_NOMEM;
    check(err, errbuf, sizeof(errbuf), doc);
    vg_json_free(doc);

    doc = vg_json_object();
    errbuf[0] = '\0';
    err = doc ? host_audit_parse_rules(text, size, "/etc/audit/rules.d/fuzz.rules", doc, errbuf,
                                       sizeof(errbuf))
              : VG_ERR_NOMEM;
    check(err, errbuf, sizeof(errbuf), doc);
    vg_json_free(doc);

    struct vg_json *records = vg_json_object();
    doc = vg_json_object();
    errbuf[0] = '\0';
    err = records && doc ? host_dpkg_parse(text, size, records, errbuf, sizeof(errbuf))
                         : VG_ERR_NOMEM;
    if (!err)
        err = host_dpkg_doc(records, doc);
    check(err, errbuf, sizeof(errbuf), doc);
    vg_json_free(records);
    vg_json_free(doc);
    return 0;
}
