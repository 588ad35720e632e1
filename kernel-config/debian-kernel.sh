#!/usr/bin/env bash
# Debian's stock kernel for bookworm, as a vendor kernel for make
# check-kernel and make run: the package linux-image-amd64 depends on,
# fetched with `apt-get download` and unpacked with `dpkg -x` into the
# kernel cache (never installed on this machine), with depmod's indexes
# written into the unpacked tree. Cached by package name and version.
#
# usage: debian-kernel.sh        prints the directory: it holds
#   boot/vmlinuz-<release>, boot/config-<release>, lib/modules/<release>/
#   and a file `release`
#   KERNEL_CACHE  cache root (default /var/cache/lcow-guest)
set -euo pipefail
cache=${KERNEL_CACHE:-/var/cache/lcow-guest}
say() { echo "debian-kernel: $*" >&2; }
die() { echo "debian-kernel: error: $*" >&2; exit 1; }
command -v depmod >/dev/null || PATH=$PATH:/sbin:/usr/sbin

# The meta-package names the current ABI's image package.
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
	sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n1)
[ -n "$pkg" ] || die "apt-cache knows no linux-image-amd64 (apt-get update?)"
version=$(apt-cache show "$pkg" | sed -n 's/^Version: //p' | head -n1)
[ -n "$version" ] || die "no version for $pkg"
dir=$cache/debian/${pkg}_$version
if [ -f "$dir/done" ]; then
	echo "$dir"
	exit 0
fi

mkdir -p "$cache/debian"
exec 9>"$cache/debian/lock"
flock 9
if [ -f "$dir/done" ]; then
	echo "$dir"
	exit 0
fi
tmp=$cache/debian/.${pkg}_$version.tmp
rm -rf "$tmp"
mkdir -p "$tmp/deb"
say "fetching $pkg $version (apt-get download)"
(cd "$tmp/deb" && apt-get download -q "$pkg=$version" >/dev/null 2>"$tmp/apt.log") || {
	cat "$tmp/apt.log" >&2
	die "apt-get download $pkg=$version failed"
}
deb=$(ls "$tmp"/deb/*.deb)
say "unpacking $(basename "$deb") ($(stat -c %s "$deb") bytes)"
dpkg -x "$deb" "$tmp/root"
release=${pkg#linux-image-}
[ -f "$tmp/root/boot/vmlinuz-$release" ] || die "$deb has no boot/vmlinuz-$release"
depmod -b "$tmp/root" "$release"
mv "$tmp/root/boot" "$tmp/boot"
mkdir -p "$tmp/lib"
mv "$tmp/root/lib/modules" "$tmp/lib/modules"
rm -rf "$tmp/root" "$tmp/deb"
echo "$release" >"$tmp/release"
touch "$tmp/done"
rm -rf "$dir"
mv "$tmp" "$dir"
say "$dir: $(du -sh "$dir" | cut -f1)"
echo "$dir"
