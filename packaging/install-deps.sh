#!/bin/sh
# Installs every build, run and test dependency of Vigil from Debian's
# packages. Idempotent: packages already present are left as they are.
# Run as root (or through sudo).
set -eu

PKGS="build-essential cmake pkg-config git
libcurl4-openssl-dev libssl-dev libyajl-dev librdkafka-dev libzstd-dev
libyaml-dev libexpat1-dev zlib1g-dev
clang libclang-rt-dev
python3 chromium"

# The shipping benchmark's comparison (tests/bench/bench_es.sh) runs rsyslog
# with omelasticsearch; opt-in, because installing rsyslog also enables the
# system's syslog service: VG_BENCH_DEPS=1 packaging/install-deps.sh
if [ "${VG_BENCH_DEPS:-0}" = 1 ]; then
    PKGS="$PKGS rsyslog rsyslog-elasticsearch"
fi

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    echo "install-deps: all packages present"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
echo "install-deps: installed$missing"
