#!/bin/sh
# Installs every build, run and test dependency of Vigil from Debian's
# packages. Idempotent: packages already present are left as they are.
# Run as root (or through sudo).
set -eu

PKGS="build-essential cmake pkg-config git
libcurl4-openssl-dev libssl-dev libyajl-dev librdkafka-dev libzstd-dev
libyaml-dev libexpat1-dev zlib1g-dev libdeflate-dev libmicrohttpd-dev
clang libclang-rt-dev
python3 chromium yamllint adduser systemd shellcheck"

# The shipping benchmarks' comparisons (tests/bench/bench_es.sh,
# tests/bench/bench_kafka.sh) run rsyslog with omelasticsearch and omkafka,
# and kcat (librdkafka's own command-line producer); opt-in, because installing rsyslog also enables the
# system's syslog service: VG_BENCH_DEPS=1 packaging/install-deps.sh
if [ "${VG_BENCH_DEPS:-0}" = 1 ]; then
    PKGS="$PKGS rsyslog rsyslog-elasticsearch rsyslog-kafka kcat"
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
