#!/usr/bin/env bash
# Checks that the committed eBPF objects and their Go bindings are what the
# C sources compile to: builds need no clang because they are committed, so
# nothing else would notice a C change that was not regenerated. bpf2go's
# output does not depend on the checkout's path, so the comparison is exact.
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=(./runtime/sensor/ ./runtime/enforce/)
files=$(git ls-files 'runtime/sensor/*_bpfel.*' 'runtime/enforce/*_bpfel.*')
before=$(sha256sum $files)
go generate "${pkgs[@]}"
after=$(sha256sum $files)
if [ "$before" != "$after" ]; then
	diff <(echo "$before") <(echo "$after") || true
	echo "check-generated: the eBPF objects above were stale; go generate has rewritten them: commit them" >&2
	exit 1
fi
