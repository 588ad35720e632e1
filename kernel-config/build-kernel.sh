#!/usr/bin/env bash
# Builds the lcow-guest kernel from Debian's linux-source-6.1 package:
# tinyconfig + merge_config.sh with the fragment + olddefconfig, a check that
# every option the fragment asks for got the requested value, then bzImage
# (EFI stub), vmlinux and the modules (the fragment makes only the virtio
# vsock transport a module), installed stripped with depmod's index files.
# The result is cached outside the repository, keyed by the source package
# version, the fragment's hash and the steps below, because a full build
# takes about 8 minutes on two cores; the object tree is kept per source
# version so a changed fragment rebuilds incrementally.
#
# usage: build-kernel.sh FRAGMENT OUTDIR
#   KERNEL_CACHE  cache root (default /var/cache/lcow-guest)
#   KERNEL_JOBS   parallel jobs (default: number of CPUs)
# Writes OUTDIR/kernel (bzImage), OUTDIR/vmlinux (stripped), OUTDIR/kernel.config
# and OUTDIR/modules/lib/modules/<release>/ (what `make image` copies to the
# rootfs's /lib/modules/<release>/; an earlier OUTDIR/modules is replaced).
set -euo pipefail

fragment=$(realpath "$1")
outdir=$2
here=$(cd "$(dirname "$0")" && pwd)
cache=${KERNEL_CACHE:-/var/cache/lcow-guest}
jobs=${KERNEL_JOBS:-$(nproc)}
pkg=linux-source-6.1
tarball=/usr/src/$pkg.tar.xz

say() { echo "kernel: $*" >&2; }
die() { echo "kernel: error: $*" >&2; exit 1; }

[ -f "$tarball" ] || die "$tarball missing: run 'make setup' ($pkg is in mk/packages)"
# depmod writes the modules.dep and modules.alias /init reads; the kernel's
# modules_install only warns when it is missing.
command -v depmod >/dev/null || PATH=$PATH:/sbin:/usr/sbin
command -v depmod >/dev/null || die "depmod missing: run 'make setup' (kmod is in mk/packages)"
version=$(dpkg-query -W -f '${Version}' "$pkg" 2>/dev/null) || die "$pkg is not installed"
# The key covers what decides the kernel: source version, the fragment's
# options (not its comments: the capability annotations change without
# changing the kernel), and the way this script turns them into a .config.
hash=$( (grep -E '^(CONFIG_|# CONFIG_[A-Za-z0-9_]+ is not set)' "$fragment"
	sed -n '/^# ---- config steps/,$p' "$0") | sha256sum | cut -c1-16)
key=$version-$hash
result=$cache/kernel/$key

install_result() {
	mkdir -p "$outdir"
	for f in kernel vmlinux kernel.config; do
		cp -f "$result/$f" "$outdir/.$f.tmp"
		mv -f "$outdir/.$f.tmp" "$outdir/$f"
	done
	rm -rf "$outdir/.modules.tmp"
	cp -a "$result/modules" "$outdir/.modules.tmp"
	rm -rf "$outdir/modules"
	mv "$outdir/.modules.tmp" "$outdir/modules"
	# The image's budget is kernel + initrd <= 12 MB (mk/image/build-image.sh):
	# what the kernel takes, the initrd cannot.
	local size budget=$((12 * 1000 * 1000))
	size=$(stat -c %s "$outdir/kernel")
	say "bzImage $size bytes: $((size * 100 / budget))% of the 12 MB kernel+initrd budget, leaving $((budget - size)) bytes for the initrd$([ "$size" -le "$budget" ] || echo ' (EXCEEDED)')"
	say "$outdir/kernel $(stat -c %s "$outdir/kernel") bytes, vmlinux $(stat -c %s "$outdir/vmlinux") bytes, modules $(du -sb "$outdir/modules" | cut -f1) bytes in $outdir/modules/lib/modules/$(cat "$result/release") (cache $result)"
}

if [ -f "$result/done" ]; then
	install_result
	exit 0
fi

mkdir -p "$cache"
exec 9>"$cache/lock"
if ! flock -n 9; then
	say "waiting for another kernel build ($cache/lock)"
	flock 9
fi
if [ -f "$result/done" ]; then # built by whoever held the lock
	install_result
	exit 0
fi

src=$cache/src/$version/$pkg
if [ ! -f "$src/Makefile" ]; then
	say "unpacking $tarball ($version)"
	rm -rf "$cache/src/$version"
	mkdir -p "$cache/src/$version.tmp"
	tar -xf "$tarball" -C "$cache/src/$version.tmp"
	mv "$cache/src/$version.tmp" "$cache/src/$version"
fi
obj=$cache/obj/$version
mkdir -p "$obj"

# ---- config steps (part of the cache key) ----
kmake() { make -s -C "$src" O="$obj" ARCH=x86_64 "$@"; }
kmake tinyconfig >/dev/null
"$src/scripts/kconfig/merge_config.sh" -m -O "$obj" \
	"$obj/.config" "$fragment" >"$obj/merge.log" 2>&1 || {
	cat "$obj/merge.log" >&2
	die "merge_config.sh failed"
}
kmake olddefconfig >>"$obj/merge.log" 2>&1 || {
	cat "$obj/merge.log" >&2
	die "olddefconfig failed"
}
"$here/check-config.sh" "$fragment" "$obj/.config" ||
	die "the fragment is not satisfied (see above); fix $fragment"

# Reproducible build identity: no build host, user or clock in the banner;
# its date is the source package's, which the cache key already covers.
export KBUILD_BUILD_USER=lcow KBUILD_BUILD_HOST=lcow-guest KBUILD_BUILD_VERSION=1
export KBUILD_BUILD_TIMESTAMP="$(date -u -r "$tarball" '+%Y-%m-%d')"
log=$obj/build.log
say "building $pkg $version (key $hash) with $jobs jobs in $obj; log: $log"
start=$(date +%s)
# A full build's file count, remembered from the last one, for "n of ~N".
total=$(cat "$cache/kernel/files-compiled" 2>/dev/null || true)
# Not silent: the CC lines in the log are what the progress report counts.
make -C "$src" O="$obj" ARCH=x86_64 -j"$jobs" bzImage modules >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
while kill -0 $pid 2>/dev/null; do
	for _ in $(seq 20); do
		kill -0 $pid 2>/dev/null || break
		sleep 1
	done
	kill -0 $pid 2>/dev/null || break
	n=$(grep -c '^  CC ' "$log" || true)
	last=$( (grep '^  [A-Z]' "$log" || true) | tail -n1 | sed 's/^ *//')
	say "$(($(date +%s) - start))s: $n${total:+ of ~$total} files compiled; $last"
done
status=0
wait $pid || status=$?
trap - EXIT
if [ $status -ne 0 ]; then
	tail -n 40 "$log" >&2
	die "kernel build failed (status $status); full log: $log"
fi
say "built in $(($(date +%s) - start))s"
n=$(grep -c '^  CC ' "$log" || true)
if [ "$n" -gt "${total:-0}" ]; then
	mkdir -p "$cache/kernel"
	echo "$n" >"$cache/kernel/files-compiled"
fi

tmp=$cache/kernel/.$key.tmp
rm -rf "$tmp"
mkdir -p "$tmp"
cp "$obj/arch/x86/boot/bzImage" "$tmp/kernel"
# The symbol table is not needed to boot (KALLSYMS is inside the image).
strip --strip-all -o "$tmp/vmlinux" "$obj/vmlinux"
cp "$obj/.config" "$tmp/kernel.config"
# Modules: stripped of debug info; modules_install runs depmod -e against
# this build's System.map, which names any symbol a module needs and the
# kernel lacks: that module could never load. The build/source links would
# point into this cache; the image has no use for them.
release=$(kmake kernelrelease)
kmake modules_install INSTALL_MOD_PATH="$tmp/modules" INSTALL_MOD_STRIP=1 >"$obj/modules.log" 2>&1 || {
	cat "$obj/modules.log" >&2
	die "modules_install failed"
}
if grep -q "unknown symbol" "$obj/modules.log"; then
	cat "$obj/modules.log" >&2
	die "depmod: a module needs symbols the kernel does not export"
fi
rm -f "$tmp/modules/lib/modules/$release/build" "$tmp/modules/lib/modules/$release/source"
for f in modules.dep modules.alias; do
	[ -f "$tmp/modules/lib/modules/$release/$f" ] || die "depmod wrote no $f for $release"
done
echo "$release" >"$tmp/release"
cp "$fragment" "$tmp/fragment.config"
echo "$version" >"$tmp/source-version"
touch "$tmp/done"
rm -rf "$result"
mv "$tmp" "$result"
install_result
