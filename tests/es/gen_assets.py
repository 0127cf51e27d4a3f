#!/usr/bin/python3
"""Regenerates outputs/es/assets.c from packaging/elasticsearch/*.json.

Run it after changing an asset file: /usr/bin/python3 tests/es/gen_assets.py
(test_es_setup fails while the two differ).
"""
import os
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import json
order = [
 ("ILM policy","vigil","VG_ES_ASSET_PUT","/_ilm/policy/vigil","ilm-policy.json"),
 ("ingest pipeline","vigil","VG_ES_ASSET_PUT","/_ingest/pipeline/vigil","ingest-pipeline.json"),
 ("component template","vigil@mappings","VG_ES_ASSET_PUT","/_component_template/vigil@mappings","component-template-mappings.json"),
 ("component template","vigil@settings","VG_ES_ASSET_PUT","/_component_template/vigil@settings","component-template-settings.json"),
 ("index template","logs-vigil.findings","VG_ES_ASSET_PUT","/_index_template/logs-vigil.findings","index-template-findings.json"),
 ("index template","logs-vigil.scan","VG_ES_ASSET_PUT","/_index_template/logs-vigil.scan","index-template-scan.json"),
 ("index template","logs-vigil.monitoring","VG_ES_ASSET_PUT","/_index_template/logs-vigil.monitoring","index-template-monitoring.json"),
 ("index template","security_solution-vigil.misconfiguration_latest","VG_ES_ASSET_PUT","/_index_template/security_solution-vigil.misconfiguration_latest","index-template-latest.json"),
 ("index","security_solution-vigil.misconfiguration_latest-v1","VG_ES_ASSET_INDEX","/security_solution-vigil.misconfiguration_latest-v1","latest-index.json"),
 ("transform","vigil-misconfiguration-latest-v1","VG_ES_ASSET_TRANSFORM","/_transform/vigil-misconfiguration-latest-v1","transform-latest.json"),
]
def cstr(s):
    out=[]
    s=s.replace("\\","\\\\").replace('"','\\"')
    while s:
        cut=min(90,len(s))
        while cut < len(s) and s[cut-1]=="\\": cut+=1
        out.append('"'+s[:cut]+'"'); s=s[cut:]
    return "\n        ".join(out)
lines=["/*"," * The Elasticsearch assets (see assets.h). Generated from the JSON files of",
" * packaging/elasticsearch/ (compact, keys in the files' order); change the",
" * files and this table together: test_es_setup compares them.", " */",
'#include "assets.h"',"","const struct vg_es_asset vg_es_assets[] = {"]
for what,name,kind,path,fn in order:
    body=json.dumps(json.load(open(os.path.join(ROOT, "packaging", "elasticsearch", "")+fn)),separators=(",",":"))
    lines.append("    { \"%s\", \"%s\", %s, \"%s\", \"%s\",\n        %s },"%(what,name,kind,path,fn,cstr(body)))
lines.append("};")
lines.append("")
lines.append("const size_t vg_es_assets_count = sizeof(vg_es_assets) / sizeof(vg_es_assets[0]);")
open(os.path.join(ROOT, "outputs", "es", "assets.c"), "w").write("\n".join(lines)+"\n")
