#!/usr/bin/env bash
# Installs the Debian 12 packages lpg-dispatch needs, only those that are missing.
# Idempotent: a second run installs nothing and says so.
#
# Usage: deploy/install-deps.sh            build, run and test packages
#        deploy/install-deps.sh --check    only report what is missing (exit 1 if anything is)
set -euo pipefail

# Build: compiler, CMake, and the -dev packages of every library we link.
BUILD_PKGS=(
  build-essential cmake pkg-config
  libevent-dev libhiredis-dev libprotobuf-c-dev protobuf-c-compiler
  libgps-dev libjansson-dev libssl-dev libcmocka-dev
)
# Run and test: the store of record, the GPS daemon with its Python replay engine, curl
# (the HTTP client the tests and the quick start use), and Google's protobuf compiler and
# Python runtime (the independent handset client of tests/python/ that checks the wire contract).
# faketime: deploy/test.sh's LPG_TEST_CLOCK runs the suite at a chosen hour. The openssl command
# line: run.sh's private CA and certificates, the TLS tests'. python3-yaml and python3-jsonschema:
# the check of every HTTP response of the tests against docs/openapi.yaml (tests/docs/).
# libjs-leaflet: the console's map library, served by dispatchd (console_leaflet_dir);
# chromium, chromium-driver and python3-selenium: the console's tests in a headless browser
# (tests/console/, docs/console.md); fonts-wqy-microhei: Chinese text in its screenshots.
RUN_PKGS=(redis-server redis-tools gpsd python3-gps curl python3-protobuf protobuf-compiler
          faketime openssl python3-yaml python3-jsonschema libjs-leaflet chromium chromium-driver
          python3-selenium fonts-wqy-microhei)
# Fuzzing (tests/fuzz, run briefly by deploy/test.sh): clang and its libFuzzer runtime
# (libclang_rt.fuzzer, in libclang-rt-14-dev on Debian 12); clang-format checks the style (tests/tree).
FUZZ_PKGS=(clang libclang-rt-14-dev clang-format)

check_only=0
[ "${1:-}" = "--check" ] && check_only=1

missing=()
for pkg in "${BUILD_PKGS[@]}" "${RUN_PKGS[@]}" "${FUZZ_PKGS[@]}"; do
  # dpkg-query reports "install ok installed" only for a fully installed package.
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#BUILD_PKGS[@]} build, ${#RUN_PKGS[@]} run/test and ${#FUZZ_PKGS[@]} fuzzing packages are present."
  exit 0
fi

echo "install-deps: missing packages: ${missing[*]}"
if [ $check_only -eq 1 ]; then
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: error: installing packages needs root. Run as root, or install them with:" >&2
  echo "  sudo apt-get install --no-install-recommends ${missing[*]}" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# apt's own lines (-q: without the progress bars that a pipe or a log would garble) show the
# progress: a fresh machine downloads and unpacks some hundred packages, minutes of work.
echo "install-deps: [1/2] apt-get update (the package lists)"
apt-get update -q
echo "install-deps: [2/2] installing ${#missing[@]} packages and what they need: ${missing[*]}"
# --no-install-recommends keeps gpsd from pulling in GUI clients.
apt-get install -y -q --no-install-recommends "${missing[@]}"

# Debian's postinst may start services on their standard ports; ours run on private ports,
# so stop any system instance the installation started, to leave no process behind.
for svc in redis-server gpsd gpsd.socket; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    echo "install-deps: stopping system service $svc started by the installation"
    systemctl stop "$svc" || true
  fi
done
echo "install-deps: done."
