#!/usr/bin/env bash
# The Debian package, the systemd unit, the container and Kubernetes files,
# end to end:
#   test_package.sh VIGIL_BINARY SOURCE_DIR
#
# 1. Builds the .deb with cpack from VIGIL_BINARY's own build directory
#    (nothing is compiled again: the package holds the binary under test,
#    checked by its GNU build id), in a temp dir.
# 2. Checks the package: every path (nothing outside the layout), the
#    rules, frameworks, Elasticsearch and Kibana assets against the source
#    tree, the control fields, Depends, conffiles, the maintainer scripts
#    (shellcheck).
# 3. Extracts it (dpkg-deb -x) and runs the extracted binary: `version`,
#    `rules list` (reads the extracted rules: a probe rule written there
#    shows up), `config check` of the shipped, container and Kubernetes
#    configurations.
# 4. The unit: `systemd-analyze verify` (a copy whose ExecStart is the
#    extracted binary) with no warning, `systemd-analyze security --offline`
#    at exposure 2.5 or less; `cmake --install` under another prefix
#    rewrites the unit's and the configuration's paths.
# 5. As root: installs, reinstalls, removes and purges the package with
#    dpkg in a throwaway root (an overlay of / in a private mount
#    namespace: nothing reaches the real system) and checks what the
#    maintainer scripts did; scans that root as the user vigil with and
#    without CAP_DAC_READ_SEARCH (the unit's one capability).
# 6. yamllint on the manifests and the container configuration, a check of
#    the manifests' fields and references (/usr/bin/python3 with
#    python3-yaml, which yamllint depends on), and the Dockerfile's
#    runtime packages against the package's Depends.
#
# A missing tool is "skipped: REASON" (exit 0) outside CI, and a failure in
# CI (CI=true), where install-deps.sh installs every one.
set -uo pipefail
vigil=$1
src=$(cd "$2" && pwd)
build=$(cd "$(dirname "$vigil")" && pwd)
py=/usr/bin/python3
t0=$(date +%s.%N)
work=$(mktemp -d /tmp/vigil-package-XXXXXX)
trap 'rm -rf "$work"' EXIT
failures=0
pass=0

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { pass=$((pass + 1)); }
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
# skip_all REASON: nothing can run without it
skip_all() {
    if [ "${CI:-}" = true ]; then
        echo "FAIL: $* (in CI every tool must be installed: packaging/install-deps.sh)"
        exit 1
    fi
    echo "skipped: $*"
    exit 0
}

for tool in cpack cmake dpkg-deb dpkg-shlibdeps systemd-analyze yamllint readelf shellcheck; do
    command -v "$tool" >/dev/null || skip_all "$tool is not installed"
done
[ -x "$py" ] || skip_all "$py is not installed"
"$py" -c 'import yaml' 2>/dev/null || skip_all "python3-yaml is not installed (yamllint brings it)"
[ -f "$build/CPackConfig.cmake" ] ||
    { echo "FAIL: $build has no CPackConfig.cmake: VIGIL_BINARY must be the vigil of a CMake build directory"; exit 1; }

version=$(sed -n 's/^project(vigil VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
[ -n "$version" ] || { echo "FAIL: no project version in $src/CMakeLists.txt"; exit 1; }

# ---- 1. the package --------------------------------------------------------

t=$(date +%s.%N)
if ! cpack --config "$build/CPackConfig.cmake" -B "$work/pkg" >"$work/cpack.log" 2>&1; then
    fail "cpack failed:"; tail -20 "$work/cpack.log"
    exit 1
fi
debs=("$work"/pkg/vigil_*.deb)
deb=${debs[0]}
[ -f "$deb" ] || { fail "cpack made no vigil_*.deb"; exit 1; }
echo "   built $(basename "$deb") in $(elapsed "$t") s"
arch=$(dpkg --print-architecture)
[ "$(basename "$deb")" = "vigil_${version}-1_${arch}.deb" ] && ok ||
    fail "package file $(basename "$deb"), expected vigil_${version}-1_${arch}.deb"

# ---- 2. what it holds ------------------------------------------------------

dpkg-deb -c "$deb" >"$work/contents" || { fail "dpkg-deb -c"; exit 1; }
# "MODE OWNER SIZE DATE TIME PATH" -> PATH without ./ ; directories end in /
awk '{print $6}' "$work/contents" | sed 's|^\./|/|' >"$work/paths"
grep -v '/$' "$work/paths" | sort >"$work/files"

# nothing but the layout
while read -r p; do
    case $p in
    /usr/bin/vigil | /etc/vigil/vigil.yml | /usr/share/doc/vigil/* | /usr/share/vigil/* | \
        /usr/lib/systemd/system/vigil.service | /lib/systemd/system/vigil.service) ;;
    *) fail "unexpected file in the package: $p" ;;
    esac
done <"$work/files"
grep -q '^-rwxr-xr-x root/root .* \./usr/bin/vigil$' "$work/contents" && ok ||
    fail "/usr/bin/vigil is not -rwxr-xr-x root/root: $(grep '/usr/bin/vigil$' "$work/contents")"
awk '$2 != "root/root" {print $6}' "$work/contents" | grep . && fail "entries not owned by root/root (above)"
for f in /etc/vigil/vigil.yml /usr/share/doc/vigil/README.md; do
    grep -qx "$f" "$work/files" && ok || fail "$f missing from the package"
done
unit=$(grep -E '^(/usr)?/lib/systemd/system/vigil.service$' "$work/files")
[ -n "$unit" ] && ok || fail "no /usr/lib/systemd/system/vigil.service in the package"

# the data directories hold exactly the source tree's files
# same_set WHAT PACKAGE_DIR SOURCE_DIR FIND_ARGS...
same_set() {
    local what=$1 pdir=$2 sdir=$3; shift 3
    grep "^$pdir/" "$work/files" | sed "s|^$pdir/||" | sort >"$work/set.pkg"
    if [ -d "$sdir" ]; then
        (cd "$sdir" && find . -type f "$@" | sed 's|^\./||' | sort) >"$work/set.src"
    else
        : >"$work/set.src"
    fi
    if diff -u "$work/set.src" "$work/set.pkg" >"$work/set.diff"; then
        ok
        echo "   $what: $(wc -l <"$work/set.pkg") files"
    else
        fail "$what: the package's $pdir differs from $sdir (- source, + package):"
        sed 's/^/    /' "$work/set.diff" | tail -n +3 | head -20
    fi
}
same_set rules /usr/share/vigil/rules "$src/checks/rules" -name '*.yml'
same_set frameworks /usr/share/vigil/frameworks "$src/checks/frameworks" -name '*.yml'
same_set elasticsearch /usr/share/vigil/elasticsearch "$src/packaging/elasticsearch" -maxdepth 1 -name '*.json'
same_set kibana /usr/share/vigil/kibana "$src/packaging/kibana" -maxdepth 1 -name '*.ndjson'
[ -s "$work/set.pkg" ] || echo "   (packaging/kibana has no *.ndjson yet)"

# control fields
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = vigil ] && ok || fail "Package: $(field Package)"
[ "$(field Version)" = "${version}-1" ] && ok || fail "Version: $(field Version), expected ${version}-1"
[ "$(field Section)" = admin ] && ok || fail "Section: $(field Section)"
[ "$(field Architecture)" = "$arch" ] && ok || fail "Architecture: $(field Architecture)"
[ -n "$(field Maintainer)" ] && ok || fail "no Maintainer"
[ "$(field Description | wc -l)" -ge 3 ] && ok || fail "Description has no long description"
depends=$(field Depends)
echo "   Depends: $depends"
# package names alone, one a line
echo "$depends" | tr ',' '\n' | sed 's/(.*//; s/|.*//; s/ //g' | grep . | sort -u >"$work/depends"
for p in adduser libc6 libcurl4 libssl3 libyajl2 libyaml-0-2 libzstd1 zlib1g libdeflate0; do
    grep -qx "$p" "$work/depends" && ok || fail "Depends lacks $p"
done

# conffiles and maintainer scripts, as in packaging/deb
dpkg-deb -e "$deb" "$work/control" || fail "dpkg-deb -e"
[ "$(cat "$work/control/conffiles" 2>/dev/null)" = /etc/vigil/vigil.yml ] && ok ||
    fail "conffiles is not exactly /etc/vigil/vigil.yml: $(cat "$work/control/conffiles" 2>&1)"
for s in postinst prerm postrm; do
    if [ ! -x "$work/control/$s" ]; then
        fail "maintainer script $s missing or not executable"
        continue
    fi
    cmp -s "$work/control/$s" "$src/packaging/deb/$s" && ok || fail "$s differs from packaging/deb/$s"
    shellcheck -s sh "$work/control/$s" >"$work/shellcheck.out" 2>&1 && ok ||
        { fail "shellcheck $s:"; head -20 "$work/shellcheck.out"; }
done

# ---- 3. the extracted binary ------------------------------------------------

x=$work/root
dpkg-deb -x "$deb" "$x" || { fail "dpkg-deb -x"; exit 1; }
xv=$x/usr/bin/vigil
buildid() { readelf -n "$1" 2>/dev/null | sed -n 's/.*Build ID: //p'; }
[ -n "$(buildid "$vigil")" ] && [ "$(buildid "$vigil")" = "$(buildid "$xv")" ] && ok ||
    fail "the packaged binary is not VIGIL_BINARY (build id $(buildid "$xv") vs $(buildid "$vigil"))"
# the extracted binary finds its data beside itself: no overrides
unset VIGIL_RULES_DIR VIGIL_FRAMEWORKS_DIR

if "$xv" version >"$work/version" 2>&1 && head -1 "$work/version" | grep -q "^vigil $version "; then
    ok
else
    fail "vigil version: $(head -3 "$work/version")"
fi

# rules list: the shipped rules (not demo/), and a probe rule written into
# the extracted rules directory, which only that directory can provide
cat >"$x/usr/share/vigil/rules/zz-package-probe.yml" <<'EOF'
- id: demo.package_probe.rules_dir
  name: "Package probe: the rules directory read"
  resource: demo.bucket
  severity: low
  section: Package probe
  description: Written by test_package.sh into the extracted package.
  rationale: Test only.
  remediation: Nothing to do.
  frameworks:
    soc2: [CC6.1]
  check: {path: Encrypted, eq: true}
EOF
if "$xv" rules list >"$work/rules.out" 2>"$work/rules.err"; then
    awk 'NR > 1 {print $1}' "$work/rules.out" | sort >"$work/rules.listed"
    sed -n 's/^- id: *//p' "$x"/usr/share/vigil/rules/*.yml | sort >"$work/rules.shipped"
    if diff -u "$work/rules.shipped" "$work/rules.listed" >"$work/rules.diff"; then
        ok
        echo "   rules list: $(($(wc -l <"$work/rules.listed") - 1)) shipped rules and the probe"
    else
        fail "rules list differs from the ids in the extracted rules (- files, + listed):"
        tail -n +3 "$work/rules.diff" | head -10
    fi
else
    fail "vigil rules list: $(head -3 "$work/rules.err")"
fi
rm -f "$x/usr/share/vigil/rules/zz-package-probe.yml"

# config_check WHAT FILE: `vigil config check` of FILE (a private copy:
# vigil refuses a configuration others can write)
config_check() {
    local what=$1 file=$2 copy=$work/cfg-$RANDOM.yml
    cp "$file" "$copy" && chmod 600 "$copy"
    if NODE_NAME=node-1 ES_API_KEY=id:key "$xv" config check --config "$copy" \
            >"$work/cc.out" 2>"$work/cc.err"; then
        ok
    else
        fail "config check of $what: $(head -3 "$work/cc.err")"
    fi
}
config_check "the package's /etc/vigil/vigil.yml" "$x/etc/vigil/vigil.yml"
config_check packaging/docker/vigil-container.yml "$src/packaging/docker/vigil-container.yml"
grep -q 'root: /host' "$src/packaging/docker/vigil-container.yml" && ok ||
    fail "vigil-container.yml does not scan root: /host"
# the configurations inside the ConfigMap
"$py" - "$src/packaging/k8s/configmap.yaml" "$work" >"$work/cm.list" <<'PY' || fail "cannot read the ConfigMap's configurations"
import sys, yaml
for doc in yaml.safe_load_all(open(sys.argv[1], encoding="utf-8")):
    if doc and doc.get("kind") == "ConfigMap":
        for key, text in doc["data"].items():
            path = "%s/configmap-%s" % (sys.argv[2], key)
            open(path, "w", encoding="utf-8").write(text)
            print(key, path)
PY
while read -r key path; do
    config_check "ConfigMap key $key" "$path"
done <"$work/cm.list"
[ "$(wc -l <"$work/cm.list")" -ge 2 ] && ok || fail "the ConfigMap holds fewer than 2 configurations"

# ---- 4. the unit -----------------------------------------------------------

xunit=$x$unit
grep -qx 'ExecStart=/usr/bin/vigil run --config /etc/vigil/vigil.yml' "$xunit" && ok ||
    fail "the unit's ExecStart is not /usr/bin/vigil run --config /etc/vigil/vigil.yml"
cmp -s "$xunit" "$src/packaging/systemd/vigil.service" && ok ||
    fail "the packaged unit differs from packaging/systemd/vigil.service"
# verify_unit WHAT FILE: no output and exit 0 (verify exits 0 on warnings)
verify_unit() {
    if systemd-analyze verify "$2" >"$work/verify.out" 2>&1 && [ ! -s "$work/verify.out" ]; then
        ok
    else
        fail "systemd-analyze verify of $1:"; sed 's/^/    /' "$work/verify.out" | head -10
    fi
}
mkdir -p "$work/unit"
sed "s|/usr/bin/vigil|$xv|g" "$xunit" >"$work/unit/vigil.service"
verify_unit "the packaged unit (ExecStart pointing at the extracted binary)" "$work/unit/vigil.service"
if systemd-analyze security --offline=true --threshold=25 "$work/unit/vigil.service" \
        >"$work/security.out" 2>&1; then
    ok
    echo "   $(grep -o 'Overall exposure level.*' "$work/security.out")"
else
    fail "systemd-analyze security: exposure above 2.5 or an error:"
    grep -E 'Overall|rror' "$work/security.out" | head -5
fi

# `cmake --install` under another prefix: configuration under PREFIX/etc,
# and the unit's paths rewritten to match (and verified: they exist)
pfx=$work/prefix
if cmake --install "$build" --prefix "$pfx" >"$work/install.log" 2>&1; then
    ok
    [ -f "$pfx/etc/vigil/vigil.yml" ] && ok || fail "cmake --install --prefix: no PREFIX/etc/vigil/vigil.yml"
    grep -qx "ExecStart=$pfx/bin/vigil run --config $pfx/etc/vigil/vigil.yml" \
        "$pfx/lib/systemd/system/vigil.service" && ok ||
        fail "cmake --install --prefix: the unit's ExecStart is not rewritten: $(grep ExecStart= "$pfx/lib/systemd/system/vigil.service")"
    verify_unit "the unit installed under $pfx" "$pfx/lib/systemd/system/vigil.service"
else
    fail "cmake --install --prefix $pfx:"; tail -5 "$work/install.log"
fi
# the container's build: DESTDIR with the prefix /usr puts it in /etc
if DESTDIR=$work/stage cmake --install "$build" --prefix /usr >"$work/install2.log" 2>&1 &&
        [ -f "$work/stage/etc/vigil/vigil.yml" ] && [ -x "$work/stage/usr/bin/vigil" ] &&
        [ -d "$work/stage/usr/share/vigil/rules" ]; then
    ok
else
    fail "DESTDIR=STAGE cmake --install --prefix /usr: not STAGE/usr/bin, STAGE/usr/share/vigil, STAGE/etc/vigil"
fi

# ---- 5. install, upgrade, remove, purge in a throwaway root ----------------

if [ "$(id -u)" != 0 ]; then
    if [ "${CI:-}" = true ]; then fail "dpkg in a throwaway root needs root"; else
        echo "   skipped: dpkg in a throwaway root (needs root)"; fi
else
    mkdir -p "$work/ovl/upper" "$work/ovl/work" "$work/ovl/merged"
    cat >"$work/ovl.sh" <<'EOF'
# runs in a private mount namespace: / overlaid, writes go to UPPER only
set -u
ovl=$1 deb=$2
m=$ovl/merged
say() { echo "$*"; }
bad() { echo "FAIL: $*" >&2; }
mount -t overlay overlay -o "lowerdir=/,upperdir=$ovl/upper,workdir=$ovl/work" "$m" ||
    { bad "cannot mount an overlay of /"; exit 0; }
mount -t proc proc "$m/proc" && mount --rbind /dev "$m/dev" || { bad "cannot mount /proc, /dev"; exit 0; }
inroot() { chroot "$m" "$@"; }
mkdir -p "$m/run/vg" && cp "$deb" "$m/run/vg/vigil.deb"
# a package or user vigil of the machine itself would hide what the
# scripts do: gone, in this root only
inroot dpkg -s vigil >/dev/null 2>&1 && inroot dpkg -P vigil >/dev/null 2>&1
inroot getent passwd vigil >/dev/null && inroot userdel vigil
inroot getent group vigil >/dev/null && inroot groupdel vigil

inroot dpkg -i /run/vg/vigil.deb >"$ovl/dpkg-i.log" 2>&1 || { bad "dpkg -i: $(tail -3 "$ovl/dpkg-i.log")"; exit 0; }
u=$(inroot getent passwd vigil)
case $u in
vigil:x:*:*:*:/var/lib/vigil:/usr/sbin/nologin) say "ok user $u" ;;
*) bad "postinst: user vigil is '$u'" ;;
esac
uid=$(echo "$u" | cut -d: -f3)
[ -n "$uid" ] && [ "$uid" -lt 1000 ] || bad "postinst: vigil's uid $uid is not a system uid"
inroot getent group vigil >/dev/null || bad "postinst: no group vigil"
st=$(inroot stat -c '%U:%G %a' /var/lib/vigil)
[ "$st" = "vigil:vigil 750" ] || bad "postinst: /var/lib/vigil is $st, expected vigil:vigil 750"
st=$(inroot stat -c '%U:%G %a' /etc/vigil/vigil.yml)
[ "$st" = "root:vigil 640" ] || bad "postinst: /etc/vigil/vigil.yml is $st, expected root:vigil 640"
inroot dpkg-query -W -f='${Conffiles}\n' vigil | grep -q '^ /etc/vigil/vigil.yml ' ||
    bad "dpkg does not list /etc/vigil/vigil.yml as a conffile"

# the installed binary, as the service runs it: user vigil reads its
# configuration through the group, finds the rules in /usr/share/vigil
as_vigil() { inroot setpriv --reuid=vigil --regid=vigil --init-groups "$@"; }
as_vigil /usr/bin/vigil config check --config /etc/vigil/vigil.yml >/dev/null 2>"$ovl/cc.err" ||
    bad "as vigil: config check: $(head -2 "$ovl/cc.err")"
n=$(as_vigil /usr/bin/vigil rules list 2>/dev/null | tail -n +2 | wc -l)
[ "$n" -gt 0 ] && say "ok installed binary lists $n rules" || bad "installed: rules list is empty"

# a host scan of this root as vigil: with CAP_DAC_READ_SEARCH (the unit's
# AmbientCapabilities) nothing is unknown for want of permission; without
# it /etc/shadow cannot be read (the control)
scan_unknown_denied() {
    "$@" /usr/bin/vigil scan --config /etc/vigil/vigil.yml \
        --output file:/var/lib/vigil/scan.ndjson >/dev/null 2>"$ovl/scan.err" ||
        { bad "as vigil: scan failed: $(tail -2 "$ovl/scan.err")"; echo -1; return; }
    n=$(grep '"evaluation":"unknown"' "$m/var/lib/vigil/scan.ndjson" | grep -ci 'permission denied')
    rm -f "$m/var/lib/vigil/scan.ndjson"
    echo "$n"
}
with=$(scan_unknown_denied as_vigil --inh-caps=+dac_read_search --ambient-caps=+dac_read_search)
without=$(scan_unknown_denied as_vigil)
say "ok scan as vigil: findings unknown for want of permission: $with with CAP_DAC_READ_SEARCH, $without without"
[ "$with" = 0 ] || bad "as vigil with CAP_DAC_READ_SEARCH, $with findings are unknown: permission denied"
[ "$without" -gt 0 ] 2>/dev/null || bad "as vigil without a capability, no finding is unknown for want of permission (the control)"

# reinstall (the upgrade path: prerm upgrade, postinst configure OLD)
inroot dpkg -i /run/vg/vigil.deb >"$ovl/dpkg-i2.log" 2>&1 || bad "dpkg -i again: $(tail -3 "$ovl/dpkg-i2.log")"
st=$(inroot stat -c '%U:%G %a' /etc/vigil/vigil.yml)
[ "$st" = "root:vigil 640" ] || bad "after reinstall: /etc/vigil/vigil.yml is $st"

inroot dpkg -r vigil >"$ovl/dpkg-r.log" 2>&1 || bad "dpkg -r: $(tail -3 "$ovl/dpkg-r.log")"
[ ! -e "$m/usr/bin/vigil" ] || bad "dpkg -r left /usr/bin/vigil"
[ -f "$m/etc/vigil/vigil.yml" ] || bad "dpkg -r removed the conffile"
[ -d "$m/var/lib/vigil" ] || bad "dpkg -r removed the state"

inroot dpkg -P vigil >"$ovl/dpkg-p.log" 2>&1 || bad "dpkg -P: $(tail -3 "$ovl/dpkg-p.log")"
[ ! -e "$m/etc/vigil" ] || bad "purge left /etc/vigil"
[ ! -e "$m/var/lib/vigil" ] || bad "purge left /var/lib/vigil"
inroot getent passwd vigil >/dev/null || bad "purge removed the user vigil (kept by design)"
say "ok install, reinstall, remove, purge"
EOF
    t=$(date +%s.%N)
    unshare --mount --propagation private bash "$work/ovl.sh" "$work/ovl" "$deb" >"$work/ovl.out" 2>&1
    if grep -q '^FAIL:' "$work/ovl.out"; then
        while read -r line; do fail "throwaway root: ${line#FAIL: }"; done < <(grep '^FAIL:' "$work/ovl.out")
    elif grep -q '^ok install, reinstall, remove, purge' "$work/ovl.out"; then
        ok
        sed -n 's/^ok /   /p' "$work/ovl.out"
        echo "   (throwaway root: $(elapsed "$t") s)"
    else
        fail "throwaway root: did not finish:"; tail -5 "$work/ovl.out"
    fi
fi

# ---- 6. manifests, container -------------------------------------------------

if yamllint -s "$src"/packaging/k8s/*.yaml "$src/packaging/docker/vigil-container.yml" \
        >"$work/yamllint.out" 2>&1; then
    ok
    echo "   yamllint: $(ls "$src"/packaging/k8s/*.yaml | wc -l) manifests and vigil-container.yml clean"
else
    fail "yamllint:"; sed 's/^/    /' "$work/yamllint.out" | head -20
fi

# The manifests' fields and references. Not a schema validator: it checks
# what a typo or a stale edit would break (apiVersion per kind, names and
# namespaces, selectors matching labels, volumes and mounts, the ConfigMap
# keys and the ServiceAccount referenced, probe ports, unknown keys in the
# container and security contexts) and what this deployment promises
# (read-only root filesystem, no privilege escalation, DAC_READ_SEARCH
# only, the host's / read-only at /host, readiness and never liveness on
# /health, on the port the configuration listens on).
"$py" - "$src/packaging/k8s" >"$work/k8s.out" 2>&1 <<'PY' || { fail "manifest check:"; sed 's/^/    /' "$work/k8s.out"; }
import glob, os, re, sys, yaml
d = sys.argv[1]
errors = []
def err(f, msg):
    errors.append("%s: %s" % (os.path.basename(f), msg))
API = {"Namespace": "v1", "ConfigMap": "v1", "ServiceAccount": "v1", "Secret": "v1",
       "DaemonSet": "apps/v1", "Deployment": "apps/v1",
       "Kustomization": "kustomize.config.k8s.io/v1beta1"}
CONTAINER_KEYS = {"name", "image", "imagePullPolicy", "args", "command", "env", "envFrom",
                  "ports", "readinessProbe", "livenessProbe", "startupProbe", "resources",
                  "securityContext", "volumeMounts", "workingDir", "lifecycle"}
SC_KEYS = {"runAsUser", "runAsGroup", "runAsNonRoot", "privileged", "allowPrivilegeEscalation",
           "readOnlyRootFilesystem", "capabilities", "seccompProfile", "seLinuxOptions",
           "procMount"}
POD_SC_KEYS = {"runAsUser", "runAsGroup", "runAsNonRoot", "fsGroup", "seccompProfile",
               "supplementalGroups", "fsGroupChangePolicy", "seLinuxOptions", "sysctls"}
MOUNT_KEYS = {"name", "mountPath", "readOnly", "subPath", "mountPropagation", "recursiveReadOnly"}
PROBE_KEYS = {"httpGet", "tcpSocket", "exec", "initialDelaySeconds", "periodSeconds",
              "timeoutSeconds", "failureThreshold", "successThreshold"}
docs = []
files = sorted(glob.glob(os.path.join(d, "*.yaml")))
for f in files:
    for doc in yaml.safe_load_all(open(f, encoding="utf-8")):
        if doc is not None:
            docs.append((f, doc))
by_kind = {}
for f, doc in docs:
    kind = doc.get("kind")
    if API.get(kind) != doc.get("apiVersion"):
        err(f, "kind %r with apiVersion %r" % (kind, doc.get("apiVersion")))
    if kind == "Kustomization":
        listed = set(doc.get("resources", []))
        want = {os.path.basename(x) for x in files} - {"kustomization.yaml"}
        if listed != want:
            err(f, "resources %s, the directory has %s" % (sorted(listed), sorted(want)))
        continue
    md = doc.get("metadata") or {}
    if not md.get("name"):
        err(f, "%s without metadata.name" % kind)
    if kind != "Namespace" and md.get("namespace") != "vigil":
        err(f, "%s %s not in the namespace vigil" % (kind, md.get("name")))
    by_kind.setdefault(kind, {})[md.get("name")] = (f, doc)
if "vigil" not in by_kind.get("Namespace", {}):
    errors.append("no Namespace vigil")
configs = {}
for name, (f, cm) in by_kind.get("ConfigMap", {}).items():
    for key, text in (cm.get("data") or {}).items():
        configs[(name, key)] = yaml.safe_load(text)
def unknown(f, where, obj, allowed):
    extra = set(obj or {}) - allowed
    if extra:
        err(f, "%s: unknown keys %s" % (where, sorted(extra)))
workloads = list(by_kind.get("DaemonSet", {}).items()) + list(by_kind.get("Deployment", {}).items())
if len(by_kind.get("DaemonSet", {})) != 1 or len(by_kind.get("Deployment", {})) != 1:
    errors.append("expected one DaemonSet and one Deployment")
for name, (f, w) in workloads:
    kind = w["kind"]
    spec = w.get("spec") or {}
    tpl = spec.get("template") or {}
    labels = (tpl.get("metadata") or {}).get("labels") or {}
    sel = (spec.get("selector") or {}).get("matchLabels") or {}
    if not sel or any(labels.get(k) != v for k, v in sel.items()):
        err(f, "%s: selector %s does not match the template labels %s" % (name, sel, labels))
    ps = tpl.get("spec") or {}
    unknown(f, name + " pod securityContext", ps.get("securityContext"), POD_SC_KEYS)
    for k in ("hostPID", "hostIPC", "hostNetwork"):
        if ps.get(k):
            err(f, "%s: %s is set" % (name, k))
    if ps.get("automountServiceAccountToken") is not False:
        err(f, "%s: the service account token is mounted (Vigil does not use the API)" % name)
    if not isinstance(ps.get("terminationGracePeriodSeconds"), int) or ps["terminationGracePeriodSeconds"] <= 30:
        err(f, "%s: terminationGracePeriodSeconds must exceed agent.shutdown_grace (30s)" % name)
    sa = ps.get("serviceAccountName")
    if sa and sa not in by_kind.get("ServiceAccount", {}):
        err(f, "%s: serviceAccountName %s is not defined here" % (name, sa))
    vols = {v["name"]: v for v in ps.get("volumes") or []}
    used = set()
    cs = ps.get("containers") or []
    if len(cs) != 1:
        err(f, "%s: expected one container" % name)
    for c in cs:
        where = "%s/%s" % (name, c.get("name"))
        unknown(f, where, c, CONTAINER_KEYS)
        if not c.get("image"):
            err(f, where + ": no image")
        if c.get("args") != ["run", "--config", "/etc/vigil/vigil.yml"]:
            err(f, where + ": args are not run --config /etc/vigil/vigil.yml")
        sc = c.get("securityContext") or {}
        unknown(f, where + " securityContext", sc, SC_KEYS)
        if sc.get("readOnlyRootFilesystem") is not True:
            err(f, where + ": readOnlyRootFilesystem is not true")
        if sc.get("allowPrivilegeEscalation") is not False:
            err(f, where + ": allowPrivilegeEscalation is not false")
        if sc.get("privileged"):
            err(f, where + ": privileged")
        caps = sc.get("capabilities") or {}
        if caps.get("drop") != ["ALL"]:
            err(f, where + ": capabilities do not drop ALL")
        want_add = ["DAC_READ_SEARCH"] if kind == "DaemonSet" else None
        if caps.get("add") != want_add:
            err(f, where + ": capabilities add %s, expected %s" % (caps.get("add"), want_add))
        if kind == "Deployment" and (ps.get("securityContext") or {}).get("runAsNonRoot") is not True:
            err(f, where + ": the AWS scanner must run as non-root")
        mounts = {}
        for m in c.get("volumeMounts") or []:
            unknown(f, where + " volumeMount " + str(m.get("name")), m, MOUNT_KEYS)
            if m.get("name") not in vols:
                err(f, where + ": volumeMount %s has no volume" % m.get("name"))
            used.add(m.get("name"))
            mounts[m.get("mountPath")] = m
        for path in ("/etc/vigil", "/var/lib/vigil"):
            if path not in mounts:
                err(f, where + ": nothing mounted at " + path)
        cfgm = mounts.get("/etc/vigil")
        cfgkey = None
        if cfgm:
            v = vols.get(cfgm["name"], {})
            cm = (v.get("configMap") or {})
            items = cm.get("items") or []
            if cm.get("name") not in by_kind.get("ConfigMap", {}):
                err(f, where + ": /etc/vigil is not a ConfigMap of this directory")
            elif [i.get("path") for i in items] != ["vigil.yml"] or (cm["name"], items[0].get("key")) not in configs:
                err(f, where + ": /etc/vigil/vigil.yml is not a key of ConfigMap %s" % cm.get("name"))
            else:
                cfgkey = (cm["name"], items[0]["key"])
        if kind == "DaemonSet":
            hm = mounts.get("/host")
            hv = vols.get(hm["name"], {}) if hm else {}
            if not hm or (hv.get("hostPath") or {}).get("path") != "/" or hm.get("readOnly") is not True:
                err(f, where + ": the host's / is not mounted read-only at /host")
            tol = {t.get("key") for t in ps.get("tolerations") or []}
            if "node-role.kubernetes.io/control-plane" not in tol:
                err(f, where + ": no toleration for control-plane nodes")
        ports = {p.get("name"): p.get("containerPort") for p in c.get("ports") or []}
        cfg = configs.get(cfgkey) or {}
        listen = ((cfg.get("agent") or {}).get("http") or {}).get("listen")
        rp = c.get("readinessProbe")
        if listen:
            if not rp or (rp.get("httpGet") or {}).get("path") != "/health":
                err(f, where + ": agent.http.listen is set and there is no readiness probe on /health")
            else:
                unknown(f, where + " readinessProbe", rp, PROBE_KEYS)
                port = rp["httpGet"].get("port")
                port = ports.get(port, port)
                if str(port) != listen.rsplit(":", 1)[1]:
                    err(f, where + ": the probe's port %s is not agent.http.listen %s" % (port, listen))
        lp = c.get("livenessProbe")
        if lp and (lp.get("httpGet") or {}).get("path") == "/health":
            err(f, where + ": /health as a liveness probe (a failing output is not cured by a restart)")
        for e in c.get("env") or []:
            ref = (e.get("valueFrom") or {}).get("secretKeyRef")
            if ref and (not ref.get("name") or not ref.get("key")):
                err(f, where + ": env %s: secretKeyRef without name and key" % e.get("name"))
        envs = {e.get("name") for e in c.get("env") or []}
        for var in sorted(set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", yaml.safe_dump(cfg)))):
            if var not in envs:
                err(f, where + ": the configuration uses ${%s}, which the container's env does not set" % var)
    if set(vols) - used:
        err(f, "%s: volumes never mounted: %s" % (name, sorted(set(vols) - used)))
    if kind == "Deployment":
        if spec.get("replicas") != 1:
            err(f, name + ": replicas is not 1")
        sa = by_kind.get("ServiceAccount", {}).get(ps.get("serviceAccountName"))
        ann = ((sa[1].get("metadata") or {}).get("annotations") or {}) if sa else {}
        if not re.match(r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", ann.get("eks.amazonaws.com/role-arn", "")):
            err(f, name + ": its ServiceAccount has no eks.amazonaws.com/role-arn annotation")
for e in errors:
    print(e)
print("%d documents checked, %d problems" % (len(docs), len(errors)))
sys.exit(1 if errors else 0)
PY
[ -s "$work/k8s.out" ] && grep -q ', 0 problems$' "$work/k8s.out" && { ok; echo "   manifests: $(tail -1 "$work/k8s.out")"; }

# The Dockerfile's runtime stage installs exactly the libraries the binary
# links (the package's Depends but libc6, which debian:12-slim has, and
# adduser, which the container does not use), and ca-certificates. A
# sanitizer build also links libasan and libubsan, which a Release image
# does not.
"$py" - "$src/packaging/docker/Dockerfile" >"$work/docker.pkgs" <<'PY' || fail "cannot read the Dockerfile's runtime stage"
import re, sys
text = open(sys.argv[1], encoding="utf-8").read().replace("\\\n", " ")
stages = re.split(r"(?m)^FROM\s", text)
final = stages[-1]
m = re.search(r"apt-get install\s+(.*?)(&&|$)", final, re.M)
pkgs = [w for w in m.group(1).split() if not w.startswith("-")]
print("\n".join(sorted(pkgs)))
PY
grep -v -x -e libc6 -e adduser -e 'libasan[0-9]*' -e 'libubsan[0-9]*' "$work/depends" >"$work/depends.runtime"
if grep -v -x ca-certificates "$work/docker.pkgs" | diff -u "$work/depends.runtime" - >"$work/docker.diff"; then
    ok
else
    fail "Dockerfile runtime packages differ from the package's Depends (- Depends, + Dockerfile):"
    tail -n +3 "$work/docker.diff"
fi
grep -q '^USER 10001' "$src/packaging/docker/Dockerfile" && ok || fail "the image does not run as a non-root USER"
grep -qx 'ENTRYPOINT \["vigil"\]' "$src/packaging/docker/Dockerfile" &&
    grep -qx 'CMD \["run", "--config", "/etc/vigil/vigil.yml"\]' "$src/packaging/docker/Dockerfile" && ok ||
    fail "the Dockerfile's ENTRYPOINT/CMD are not vigil run --config /etc/vigil/vigil.yml"

echo "   test_package: $(elapsed "$t0") s"
echo "$pass passed, $failures failed"
[ "$failures" -eq 0 ]
