#!/usr/bin/env bash
# Installs what ParkBench needs on a Debian machine, and only what is missing.
#
#   scripts/deps.sh build   C libraries the Swift build links (libmodbus, libmosquitto, libpcap)
#   scripts/deps.sh test    the above, plus the independent peers the tests talk to
#                           (mosquitto, sipp, tshark from Debian; Python peers from PyPI)
#
# Without root (and without password-less sudo) it changes nothing and prints one line saying
# what to install.
set -euo pipefail

mode=${1:-test}
here=$(cd "$(dirname "$0")/.." && pwd)

debian_build=(pkg-config libmodbus-dev libmosquitto-dev libpcap-dev libsqlite3-dev)
debian_test=(mosquitto sip-tester tshark)
python_requirements="$here/scripts/requirements-peers.txt"

packages=("${debian_build[@]}")
[ "$mode" = test ] && packages+=("${debian_test[@]}")

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done

can_be_root() { [ "$(id -u)" -eq 0 ] || { command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; }; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if [ ${#missing[@]} -gt 0 ]; then
    if ! can_be_root; then
        echo "deps: missing Debian packages; run: sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
    echo "deps: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! as_root apt-get update -qq || ! as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
        echo "deps: apt-get could not install: ${missing[*]}" >&2
        exit 1
    fi
fi

if [ "$mode" = test ]; then
    python=${PYTHON:-python3}
    if ! command -v "$python" >/dev/null 2>&1; then
        echo "deps: no python3; run: sudo apt-get install -y python3 python3-pip" >&2
        exit 1
    fi
    # Each line of the requirements file is "<pip requirement>  # import <module>".
    missing_py=()
    while read -r requirement _ _ module; do
        [ -z "$requirement" ] && continue
        "$python" -c "import $module" 2>/dev/null || missing_py+=("$requirement")
    done < <(grep -v '^#' "$python_requirements")
    if [ ${#missing_py[@]} -gt 0 ]; then
        echo "deps: installing Python peers: ${missing_py[*]}"
        pip=("$python" -m pip install --quiet --disable-pip-version-check)
        if ! "${pip[@]}" "${missing_py[@]}" 2>/tmp/parkbench-pip.log; then
            # Debian's own Python refuses system-wide installs (PEP 668) unless told otherwise.
            if grep -q externally-managed /tmp/parkbench-pip.log; then
                "${pip[@]}" --break-system-packages "${missing_py[@]}" || {
                    echo "deps: could not install Python peers; run: $python -m pip install ${missing_py[*]}" >&2; exit 1; }
            else
                cat /tmp/parkbench-pip.log >&2
                echo "deps: could not install Python peers; run: $python -m pip install ${missing_py[*]}" >&2
                exit 1
            fi
        fi
    fi
fi
