#!/usr/bin/env bash
# Installs what ParkBench needs on a Debian machine, and only what is missing.
#
#   scripts/deps.sh build   C libraries the Swift build links (libmodbus, libmosquitto, libpcap)
#   scripts/deps.sh test    the above, plus the independent peers the tests talk to
#                           (mosquitto, rabbitmq-server, sipp, kamailio, tshark, ffmpeg from Debian;
#                           Python peers from PyPI)
#
# rabbitmq-server is a second MQTT broker the tests start privately (RabbitMQBroker, on free
# loopback ports); kamailio is the GB/T 28181 registrar the tests start privately the same way
# (KamailioRegistrar; its main package holds every module it needs: auth, usrloc, registrar,
# htable, ctl); ffmpeg brings ffprobe, which the media interop tests decode our PS streams with. The system services their packages would start are kept from starting, or stopped
# and disabled, so no node or SIP server of ours or Debian's sits on 5672/25672/4369/5060 afterwards.
#
# Without root (and without password-less sudo) it changes nothing and prints one line saying
# what to install.
set -euo pipefail

mode=${1:-test}
here=$(cd "$(dirname "$0")/.." && pwd)

debian_build=(pkg-config libmodbus-dev libmosquitto-dev libpcap-dev libsqlite3-dev)
debian_test=(mosquitto rabbitmq-server sip-tester kamailio tshark ffmpeg)
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
    # Packages must not start their services (rabbitmq-server and kamailio would): a policy-rc.d that says
    # "denied" for the install, unless the machine has its own (containers usually do).
    guard=
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        guard=/usr/sbin/policy-rc.d
        printf '#!/bin/sh\nexit 101\n' | as_root tee "$guard" >/dev/null && as_root chmod 755 "$guard"
    fi
    status=0
    as_root apt-get update -qq && as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || status=$?
    [ -n "$guard" ] && as_root rm -f "$guard"
    if [ "$status" -ne 0 ]; then
        echo "deps: apt-get could not install: ${missing[*]}" >&2
        exit 1
    fi
    for service in rabbitmq-server kamailio; do
        [[ " ${missing[*]} " == *" $service "* ]] || continue
        # Should it have started anyway: stop the system service and keep it from coming back
        # (kamailio's package enables its unit even when policy-rc.d denies the start).
        as_root invoke-rc.d "$service" stop >/dev/null 2>&1 || true
        if command -v systemctl >/dev/null 2>&1; then
            as_root systemctl disable --now "$service" >/dev/null 2>&1 || true
        fi
    done
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
