# Sourced by run.sh and test.sh: installs the Debian packages that are missing.
# Usage: install_packages PKG...

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_packages() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "Installing: ${missing[*]}"
    # Keep package scripts from starting services (process-exporter would take port 9256):
    # the tests start their own instances on loopback ports.
    local policy=/usr/sbin/policy-rc.d own_policy=0
    if [ ! -e "$policy" ]; then
        as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
        own_policy=1
    fi
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"
    local rc=$?
    [ $own_policy -eq 1 ] && as_root rm -f "$policy"
    return $rc
}

# dpkg-dev: dpkg-shlibdeps, which `cpack -G DEB` runs for the package's Depends.
BUILD_PACKAGES=(gcc make cmake pkg-config libc6-dev libyaml-dev libmicrohttpd-dev libpcre2-dev zlib1g-dev
                libgnutls28-dev libcrypt-dev libjansson-dev dpkg-dev)
TEST_PACKAGES=(libcmocka-dev python3 prometheus prometheus-process-exporter prometheus-node-exporter wrk openssl
               curl valgrind groff-base clang-format lintian qemu-system-x86)
# scripts/sanitize.sh: clang and its sanitizer and libFuzzer runtimes (gcc brings its own libasan).
SANITIZE_PACKAGES=(clang-14 libclang-rt-14-dev)
