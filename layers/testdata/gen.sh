#!/bin/sh
# Regenerates the three-layer image in this directory with GNU tar, gzip and
# zstd, as image builders write layers: GNU format with a sparse file, a
# hard link, a FIFO and a device (needs root for mknod); PAX with whiteouts,
# an opaque directory and a directory replaced by a file; ustar. The .golden
# listings are then refreshed with: go test ./layers -run TestGolden -update
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
common="--sort=name --mtime=2024-01-02T03:04:05Z --owner=0 --group=0 --numeric-owner"

mkdir -p l0/etc l0/usr/bin l0/var/cache/apt l0/tmp
deep=l0/usr/lib/deep/$(printf 'n%.0s' $(seq 120))/$(printf 'm%.0s' $(seq 120))
mkdir -p "$deep"
echo deep > "$deep/file"
echo ID=debian > l0/etc/os-release
printf '#!/bin/sh\necho hi\n' > l0/usr/bin/hello
chmod 4755 l0/usr/bin/hello
ln l0/usr/bin/hello l0/usr/bin/hello-hard
ln -s hello l0/usr/bin/hi
ln -s /etc/os-release l0/usr/lib/os-release
echo cache > l0/var/cache/apt/pkgcache.bin
truncate -s 1M l0/usr/lib/sparse.img
printf data | dd of=l0/usr/lib/sparse.img bs=1 seek=500000 conv=notrunc 2>/dev/null
mkfifo l0/tmp/fifo
mknod l0/tmp/null c 1 3
# shellcheck disable=SC2086
tar $common --format=gnu -S -C l0 -cf - . | gzip -9n > "$here/layer0.tar.gz"

mkdir -p l1/etc l1/usr/lib l1/usr/bin l1/var/cache/apt
: > l1/var/cache/apt/.wh..wh..opq
echo src > l1/var/cache/apt/srcpkgcache.bin
: > l1/etc/.wh.os-release
echo now-a-file > l1/usr/lib/deep
ln -s hello-hard l1/usr/bin/hi
# shellcheck disable=SC2086
tar $common --format=posix --pax-option=delete=atime,delete=ctime -C l1 -cf - . | zstd -q -19 > "$here/layer1.tar.zst"

mkdir -p l2/etc l2/usr/lib
: > l2/usr/lib/.wh.sparse.img
echo ID=alpine > l2/etc/os-release
# shellcheck disable=SC2086
tar $common --format=ustar -C l2 -cf "$here/layer2.tar" .
