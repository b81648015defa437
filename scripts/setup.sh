#!/usr/bin/env bash
# Installs what kubelab needs on Debian 12 / Ubuntu 22.04+: the kernel tools it drives, etcd, busybox
# (the lab's first image), the clients tests check it with, and the npm dependencies. Idempotent:
# it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: run as root (kubelab creates network namespaces and firewall rules)" >&2
  exit 1
fi

PACKAGES=(
  iproute2 iptables nftables tcpdump conntrack ipset procps util-linux kmod
  etcd-server etcd-client busybox-static
  dnsutils curl tshark chromium
  qemu-system-x86 xz-utils
  gcc libc6-dev attr skopeo umoci docker-registry runc buildah docker.io openssl bzip2
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Packages such as docker.io would start their daemon on the host (bridges, iptables rules in the
  # host's namespace). kubelab starts dockerd only inside a lab namespace, so forbid service starts
  # while installing (policy-rc.d is what invoke-rc.d and deb-systemd-invoke consult).
  policy_rc=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && policy_rc=1
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || { [ "$policy_rc" = 1 ] && rm -f /usr/sbin/policy-rc.d; exit 1; }
  [ "$policy_rc" = 1 ] && rm -f /usr/sbin/policy-rc.d
fi

if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "setup: kubelab needs Node.js 20 or newer (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

if [ ! -d node_modules/tsx ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies"
  npm ci --no-audit --no-fund --loglevel=error
fi
echo "setup: ready"
