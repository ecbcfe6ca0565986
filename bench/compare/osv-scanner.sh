#!/usr/bin/env bash
# Compares `vigil scan` with osv-scanner on the same image and the same data
# (../shared/vulndata), pair by pair, and times both. Not part of CI: it
# builds osv-scanner v2.5.0 (a few minutes, once).
#
#   bash bench/compare/osv-scanner.sh IMAGE.tar
#
# osv-scanner names Debian findings by source package; Vigil reports each
# binary package (libc6 and libc-bin both carry a glibc CVE), so the pairs
# are compared at the source-package level, ids matched through aliases.
set -euo pipefail
cd "$(dirname "$0")/../.."
IMAGE=$(readlink -f "${1:?usage: osv-scanner.sh IMAGE.tar}")
W=${VIGIL_COMPARE_DIR:-/tmp/vigil-compare}
SHARED=$(readlink -f "${SHARED:-../shared}")
export GOTOOLCHAIN=local PATH=/usr/local/go/bin:$PATH
mkdir -p "$W/bin" "$W/db/osv-scalibr"
[ -x "$W/bin/osv-scanner" ] || GOBIN="$W/bin" go install github.com/google/osv-scanner/v2/cmd/osv-scanner@v2.5.0
for z in "$SHARED"/vulndata/osv/*/all.zip; do
  e=$(basename "$(dirname "$z")"); mkdir -p "$W/db/osv-scalibr/$e"; cp -u "$z" "$W/db/osv-scalibr/$e/all.zip"
done
go build -o "$W/vigil" ./cmd/vigil
"$W/vigil" db import "$SHARED/vulndata" --db "$W/vigildb" >/dev/null

t0=$(date +%s.%N)
"$W/bin/osv-scanner" scan image --archive "$IMAGE" --offline --offline-vulnerabilities --local-db-path "$W/db" \
  --all-packages --format json --output-file "$W/osv.json" >"$W/osv.log" 2>&1 || true
t1=$(date +%s.%N)
"$W/vigil" scan -q --db "$W/vigildb" -o json "docker-archive:$IMAGE" >"$W/vigil.json"
t2=$(date +%s.%N)
printf 'wall: osv-scanner %.2fs  vigil %.2fs\n' "$(echo "$t1-$t0" | bc)" "$(echo "$t2-$t1" | bc)"

python3 - "$W/osv.json" "$W/vigil.json" <<'PY'
import json, sys, collections
o, v = (json.load(open(p)) for p in sys.argv[1:3])
osv = collections.defaultdict(dict)
for r in o.get("results", []):
    for p in r.get("packages", []):
        for x in p.get("vulnerabilities", []):
            osv[p["package"]["name"]][x["id"]] = {x["id"], *x.get("aliases", [])}
inv = {c["ref"]: c for c in v["inventory"]["components"]}
vig = collections.defaultdict(dict)
for f in v.get("findings", []):
    c = inv[f["component"]["ref"]]
    name = (c.get("namespace", "") + "/" + c["name"]).strip("/") if c["type"] == "golang" else (c.get("source") or {}).get("name") or c["name"]
    vig[name][f["id"]] = {f["id"], *f.get("aliases", []), *f.get("related", []), *(d["id"] for d in f["dataSources"])}
only_osv = [(n, i) for n, vs in osv.items() for i, ids in vs.items() if not any(ids & w for w in vig.get(n, {}).values())]
only_vig = [(n, i) for n, vs in vig.items() for i, ids in vs.items() if not any(ids & w for w in osv.get(n, {}).values())]
print("(source package, vulnerability) pairs: osv-scanner %d, vigil %d" % (sum(map(len, osv.values())), sum(map(len, vig.values()))))
print("only osv-scanner:", only_osv or "none")
print("only vigil:", only_vig or "none")
PY
