#!/usr/bin/env bash
# Vigil's benchmarks that print figures (not run in CI; `make bench`).
#
#  1. Cold `vigil sbom` of a ~170 MB (uncompressed), 3-layer Debian image — a
#     debootstrap bookworm base, an "apt-get install python3" layer, an app
#     layer with a Go binary — as a ratio to the floor (read and decompress
#     every layer once), printed side by side; Syft too when it is on PATH or
#     in /tmp/peers/bin. Goal: <= 1.3x the floor.
#  2. Cold `vigil scan` of the same image (inventory + matching against the
#     shared data) beside the floor and osv-scanner on the same data, when
#     osv-scanner is on PATH, in /tmp/peers/bin or /tmp/vigil-compare/bin
#     (bench/compare/osv-scanner.sh builds it). Goal: <= 1.3x the floor.
#  3. Peak RSS of `vigil sbom` on images of ~0.3 and ~1 GB. Goal: <= 150 MB,
#     flat as the image grows.
#  4. The share of a cold scan that triage takes (backports, supersession,
#     Go reachability, deployment context, ranking), timed inside the
#     pipeline by BenchmarkTriage in ./scan. Goal: <= 15%.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local PATH=/usr/local/go/bin:$PATH:/tmp/peers/bin:/tmp/vigil-compare/bin
SHARED=$(readlink -f "${SHARED:-../shared}")
B=${VIGIL_BENCH_DIR:-/tmp/vigil-bench}
MIRROR=${VIGIL_DEBIAN_MIRROR:-http://deb.debian.org/debian}
RUNS=${RUNS:-3}
mkdir -p "$B"
[ -x /usr/bin/time ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null

go build -o "$B/vigil" ./cmd/vigil
go build -o "$B/floor" ./bench/floor
go build -o "$B/mkimage" ./bench/mkimage

if [ ! -f "$B/rootfs/etc/debian_version" ]; then
  rm -rf "$B/rootfs"
  debootstrap --variant=minbase bookworm "$B/rootfs" "$MIRROR" >/dev/null
fi
if [ ! -x "$B/rootfs-py/usr/bin/python3" ]; then
  rm -rf "$B/rootfs-py" && cp -a "$B/rootfs" "$B/rootfs-py"
  cp /etc/resolv.conf "$B/rootfs-py/etc/resolv.conf"
  chroot "$B/rootfs-py" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 ca-certificates >/dev/null'
  rm -rf "$B/rootfs-py"/var/lib/apt/lists/* "$B/rootfs-py"/var/cache/apt/*.bin "$B/rootfs-py"/var/cache/apt/archives/*.deb
fi
rm -rf "$B/app" && mkdir -p "$B/app/usr/local/bin" && cp "$B/vigil" "$B/app/usr/local/bin/app"
[ -f "$B/debian3.tar" ] || "$B/mkimage" -o "$B/debian3.tar" "$B/rootfs" -diff "$B/rootfs" "$B/rootfs-py" "$B/app"
[ -f "$B/big300.tar" ] || "$B/mkimage" -o "$B/big300.tar" "$B/rootfs" -diff "$B/rootfs" "$B/rootfs-py" -synthetic 150:5000
[ -f "$B/big1g.tar" ] || "$B/mkimage" -o "$B/big1g.tar" "$B/rootfs" -diff "$B/rootfs" "$B/rootfs-py" -synthetic 850:30000

# timed CMD... -> prints "wall_seconds max_rss_kb" of the median run by wall time
timed() {
  local i out
  for i in $(seq "$RUNS"); do
    /usr/bin/time -f '%e %M' -o "$B/time.$i" "$@" >/dev/null 2>"$B/stderr.$i" || { cat "$B/stderr.$i" >&2; return 1; }
    cat "$B/time.$i"
  done | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p"
}

echo "== cold sbom of a 3-layer Debian image ($(du -h "$B/debian3.tar" | cut -f1) archive), median of $RUNS"
read -r fw fr < <(timed "$B/floor" "$B/debian3.tar")
read -r vw vr < <(timed "$B/vigil" sbom -q -o json "docker-archive:$B/debian3.tar")
printf '%-8s %8s %8s %10s\n' tool wall_s ratio rss_mb
printf '%-8s %8.2f %8.2f %10.1f\n' floor "$fw" 1 "$(echo "$fr/1024" | bc -l)"
printf '%-8s %8.2f %8.2f %10.1f\n' vigil "$vw" "$(echo "$vw/$fw" | bc -l)" "$(echo "$vr/1024" | bc -l)"
if command -v syft >/dev/null 2>&1; then
  read -r sw sr < <(timed syft scan -q -o json "docker-archive:$B/debian3.tar")
  printf '%-8s %8.2f %8.2f %10.1f\n' syft "$sw" "$(echo "$sw/$fw" | bc -l)" "$(echo "$sr/1024" | bc -l)"
fi

echo "== cold scan of the same image, median of $RUNS: vulnerabilities only, and with every hygiene check"
"$B/vigil" db import "$SHARED/vulndata" --db "$B/db" >/dev/null
read -r vw vr < <(timed "$B/vigil" scan -q -o json --db "$B/db" --scanners vuln "docker-archive:$B/debian3.tar")
read -r hw hr < <(timed "$B/vigil" scan -q -o json --db "$B/db" "docker-archive:$B/debian3.tar")
printf '%-12s %8s %8s %10s\n' tool wall_s ratio rss_mb
printf '%-12s %8.2f %8.2f %10.1f\n' floor "$fw" 1 "$(echo "$fr/1024" | bc -l)"
printf '%-12s %8.2f %8.2f %10.1f\n' vigil-vuln "$vw" "$(echo "$vw/$fw" | bc -l)" "$(echo "$vr/1024" | bc -l)"
printf '%-12s %8.2f %8.2f %10.1f\n' vigil-all "$hw" "$(echo "$hw/$fw" | bc -l)" "$(echo "$hr/1024" | bc -l)"
if command -v osv-scanner >/dev/null 2>&1; then
  mkdir -p "$B/osvdb/osv-scalibr"
  for z in "$SHARED"/vulndata/osv/*/all.zip; do
    e=$(basename "$(dirname "$z")"); mkdir -p "$B/osvdb/osv-scalibr/$e"; cp -u "$z" "$B/osvdb/osv-scalibr/$e/all.zip"
  done
  # osv-scanner exits 1 when it finds vulnerabilities; that is success here.
  cat > "$B/osvscan.sh" <<OSV
#!/bin/sh
osv-scanner scan image --archive "$B/debian3.tar" --offline --offline-vulnerabilities \\
  --local-db-path "$B/osvdb" --all-packages --format json --output-file "$B/osv.json"
[ \$? -le 1 ]
OSV
  read -r ow or < <(timed sh "$B/osvscan.sh")
  printf '%-12s %8.2f %8.2f %10.1f\n' osv-scanner "$ow" "$(echo "$ow/$fw" | bc -l)" "$(echo "$or/1024" | bc -l)"
fi

echo "== peak RSS as the image grows (goal <= 150 MB, flat)"
for img in debian3 big300 big1g; do
  read -r w r < <(RUNS=1 timed "$B/vigil" sbom -q -o json "docker-archive:$B/$img.tar")
  printf '%-8s %6s archive  wall %6.2fs  rss %6.1f MB\n' "$img" "$(du -h "$B/$img.tar" | cut -f1)" "$w" "$(echo "$r/1024" | bc -l)"
done

echo "== triage's share of a cold scan of the Debian image with a Go application (goal <= 15%)"
go test -run '^$' -bench BenchmarkTriage -benchtime "${RUNS}x" ./scan/ | sed -n '/^cold scan with/,/^goos/p' | grep -v '^goos'
