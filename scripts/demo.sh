#!/usr/bin/env bash
# Builds a small real image — a debootstrap'd Debian 12 base layer and an
# application layer holding a Go program built against an old golang.org/x/text
# — imports the bundled vulnerability data (../shared/vulndata) and scans the
# image. The first run takes a few minutes (debootstrap); later runs reuse
# $VIGIL_DEMO_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local PATH=/usr/local/go/bin:$PATH
D=${VIGIL_DEMO_DIR:-/tmp/vigil-demo}
MIRROR=${VIGIL_DEBIAN_MIRROR:-http://deb.debian.org/debian}
mkdir -p "$D"

if [ ! -f "$D/rootfs/etc/debian_version" ]; then
  echo "demo: debootstrap bookworm (a few minutes, once)" >&2
  rm -rf "$D/rootfs.tmp"
  debootstrap --variant=minbase bookworm "$D/rootfs.tmp" "$MIRROR" >/dev/null
  rm -rf "$D/rootfs.tmp"/var/lib/apt/lists/* "$D/rootfs.tmp"/var/cache/apt/*.bin "$D/rootfs.tmp"/var/cache/apt/archives/*.deb
  mv "$D/rootfs.tmp" "$D/rootfs"
fi
rm -rf "$D/app" && mkdir -p "$D/app/usr/local/bin"
(cd scripts/demo-app && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -o "$D/app/usr/local/bin/demo-app" .)
go run ./bench/mkimage -o "$D/demo.tar" -tag vigil-demo/app:1 "$D/rootfs" "$D/app"

SHARED=${SHARED:-../shared}
echo "+ vigil db import $SHARED/vulndata --db $D/db" >&2
./vigil db import "$SHARED/vulndata" --db "$D/db" >/dev/null
echo "+ vigil scan docker-archive:$D/demo.tar --db $D/db" >&2
./vigil scan "docker-archive:$D/demo.tar" --db "$D/db" -o table
