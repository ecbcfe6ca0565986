#!/usr/bin/env bash
# Installs everything Vigil's tests and demo need on a fresh Debian 12 machine:
# Debian packages (test-image builders, a real registry, runc, eBPF tooling),
# the Go modules, and the linters. Safe to run again: it only installs what is
# missing.
set -euo pipefail
export GOTOOLCHAIN=local PATH=/usr/local/go/bin:$HOME/go/bin:$PATH

# debootstrap, dpkg-dev: real Debian root filesystems and packages for test images
# rpm: builds real rpm databases; docker-registry: a real OCI registry on 127.0.0.1;
# skopeo: archives written by a real third-party tool
# runc, busybox-static: real containers for the runtime tests
# clang, llvm, libbpf-dev, bpftool: regenerate the eBPF objects (go generate)
# zstd, libarchive-tools: zstd layers and archive checks; nodejs/npm: real npm packages
# openssh-client: ssh-keygen makes real keys for the secret scanner tests
APT_PKGS=(debootstrap dpkg-dev rpm docker-registry skopeo runc busybox-static zstd libarchive-tools
          clang llvm libbpf-dev bpftool ca-certificates git npm openssh-client iproute2)
missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm may come from a non-Debian Node.js install; then the Debian package is not needed.
if command -v npm >/dev/null 2>&1; then
  missing=("${missing[@]/npm}")
fi
missing=($(printf '%s\n' "${missing[@]}" | grep -v '^$' || true))
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: apt-get install ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

go mod download
if ! command -v staticcheck >/dev/null 2>&1; then
  echo "install-deps: go install staticcheck" >&2
  go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
fi
