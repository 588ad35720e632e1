#!/usr/bin/env bash
# build-image.sh: every file HCS or a UEFI machine boots, into $IMAGE_DIR.
# Called by `make image` (mk/image.mk), which builds the kernel and the guest
# binaries first and passes, in the environment:
#   IMAGE_DIR   output directory (out/, or out/debug/ for DEBUG=1)
#   KERNEL_DIR  where kernel, vmlinux and kernel.config are (out/)
#   MODULES_DIR the kernel's modules: MODULES_DIR/lib/modules/<release>/ goes
#               to the rootfs as is (out/modules; absent: no modules)
#   BINS        guest binaries (init → /init, others → /bin/)
#   RUNC        runc to include (with its libraries)
#   MKE2FS      the static mke2fs (deps/build.sh) for /sbin/mke2fs, mkfs.ext4
#   CHRONYD     the static chronyd (deps/build.sh) for /sbin/chronyd (time sync)
#   BUSYBOX     busybox-static for /bin/sh and the other tools hosts exec
#   NAME COMMIT BRANCH   provenance for /info and os-release
#   EFI_CMDLINE the kernel command line inside lcow.efi
#   SOURCE_DATE_EPOCH    the one timestamp every file gets
set -euo pipefail
mk=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$mk/../.." && pwd)
: "${IMAGE_DIR:?}" "${KERNEL_DIR:?}" "${EFI_CMDLINE:?}"
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-0}
mkdir -p "$IMAGE_DIR"

args=()
have_init=0
for b in ${BINS:-}; do
	if [ -f "$b" ]; then
		args+=(--bin "$b")
		[ "$(basename "$b")" = init ] && have_init=1
	else
		echo "image: warning: $b was not built; the image goes without it" >&2
	fi
done
[ $have_init = 1 ] || echo "image: warning: no init binary: the image cannot boot to the GCS" >&2
[ -n "${RUNC:-}" ] && args+=(--runc "$RUNC")
# What mkrootfs placed for runc: mk/linuxkit_images.py makes the LinuxKit runc
# image of exactly those files (and the init image of the rest).
args+=(--runc-list "$IMAGE_DIR/rootfs-runc.list")
[ -d "${MODULES_DIR:-}/lib/modules" ] && args+=(--modules "$MODULES_DIR")
# Hosts exec these in the UVM (create-scratch, a console, DHCP): an image
# without them boots, but its first container on a fresh host fails.
if [ -f "${MKE2FS:-}" ]; then
	args+=(--mke2fs "$MKE2FS")
else
	echo "image: warning: no mke2fs (${MKE2FS:-MKE2FS unset}): hosts cannot make scratch disks" >&2
fi
if [ -f "${CHRONYD:-}" ]; then
	args+=(--chronyd "$CHRONYD")
else
	echo "image: warning: no chronyd (${CHRONYD:-CHRONYD unset}): the UVM clock will drift" >&2
fi
if [ -f "${BUSYBOX:-}" ]; then
	args+=(--busybox "$BUSYBOX")
else
	echo "image: warning: no busybox (${BUSYBOX:-BUSYBOX unset}): no /bin/sh, test, ls, udhcpc" >&2
fi
args+=(--name "${NAME:-lcow-guest}" --commit "${COMMIT:-unknown}" --branch "${BRANCH:-unknown}")

stage=$IMAGE_DIR/rootfs
bash "$top/rootfs/mkrootfs.sh" "$stage" "${args[@]}"

# The initrd's tree: the same, but the tools an idle guest never runs (runc
# and the libraries it needs, busybox, mke2fs, chronyd) go into one squashfs
# image (xz, x86 BCJ) with a symlink at each of their paths; /init mounts it
# on /lib/lcow/tools (init/tools.c). Unpacked, they would hold 13 MiB of the
# VM's RAM for good; compressed, 4.7 MiB, and what runs from them is page
# cache the kernel can reclaim. rootfs.tar.gz and rootfs.vhd keep the plain
# files: a disk root is not in RAM. mksquashfs takes every timestamp from
# SOURCE_DATE_EPOCH.
istage=$IMAGE_DIR/rootfs-initrd
tools=$IMAGE_DIR/rootfs-tools
rm -rf "$istage" "$tools"
cp -a "$stage" "$istage"
mkdir -p "$tools"
cold=$(cat "$IMAGE_DIR/rootfs-runc.list"; printf '%s\n' bin/busybox sbin/mke2fs sbin/chronyd)
for f in $cold; do
	[ -f "$istage/$f" ] && [ ! -L "$istage/$f" ] || continue
	mkdir -p "$tools/$(dirname "$f")"
	mv "$istage/$f" "$tools/$f"
	ln -s "/lib/lcow/tools/$f" "$istage/$f"
done
mkdir -p "$istage/lib/lcow/tools"
mksquashfs "$tools" "$istage/lib/lcow/tools.squashfs" -comp xz -Xbcj x86 -all-root \
	-noappend -no-progress -quiet -reproducible >/dev/null
chmod 0644 "$istage/lib/lcow/tools.squashfs"
rm -rf "$tools"
find "$istage" -depth -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

console=dev/console:c:5:1:600
# The squashfs is xz already: it follows the gzip'd archive as a plain one,
# which the kernel copies instead of inflating (archive.py --stored).
python3 "$mk/archive.py" cpio "$istage" "$IMAGE_DIR/initrd.img" --node "$console" \
	--stored lib/lcow/tools.squashfs
python3 "$mk/archive.py" tar "$stage" "$IMAGE_DIR/rootfs.tar.gz" --node "$console"
bash "$mk/mkext4.sh" "$stage" "$IMAGE_DIR/rootfs.ext4"
python3 "$mk/vhd.py" "$IMAGE_DIR/rootfs.ext4" "$IMAGE_DIR/rootfs.vhd"
rm -f "$IMAGE_DIR/rootfs.ext4"

# The debug directory gets the kernel too, so each directory is a full set.
if [ "$(realpath "$KERNEL_DIR")" != "$(realpath "$IMAGE_DIR")" ]; then
	for f in kernel vmlinux kernel.config; do
		rm -f "$IMAGE_DIR/$f"
		[ -f "$KERNEL_DIR/$f" ] && ln "$KERNEL_DIR/$f" "$IMAGE_DIR/$f"
	done
fi

printf '%s' "$EFI_CMDLINE" >"$IMAGE_DIR/cmdline"
bash "$mk/mkefi.sh" "$KERNEL_DIR/kernel" "$IMAGE_DIR/initrd.img" "$IMAGE_DIR/cmdline" \
	"$stage/etc/os-release" "$IMAGE_DIR/lcow.efi" "$IMAGE_DIR/lcow-efi.img"

# Size table: the boot files, then the biggest things inside the rootfs.
size() { stat -c %s "$1"; }
human() { numfmt --to=iec-i --suffix=B --format=%.1f "$1"; }
echo "image: $IMAGE_DIR (${NAME:-lcow-guest}, $(find "$stage" | wc -l) rootfs entries)"
for f in kernel vmlinux initrd.img rootfs.tar.gz rootfs.vhd lcow.efi lcow-efi.img; do
	[ -f "$IMAGE_DIR/$f" ] || continue
	printf '  %-14s %10s bytes  %9s\n' "$f" "$(size "$IMAGE_DIR/$f")" "$(human "$(size "$IMAGE_DIR/$f")")"
done
total=$(($(size "$KERNEL_DIR/kernel") + $(size "$IMAGE_DIR/initrd.img")))
budget=$((12 * 1000 * 1000))
printf '  %-14s %10s bytes  %9s  (budget 12 MB: %s)\n' "kernel+initrd" "$total" "$(human $total)" \
	"$([ $total -le $budget ] && echo ok || echo EXCEEDED)"
echo "  largest in the rootfs (uncompressed):"
(cd "$stage" && find . -type f -printf '%s %p\n') | sort -rn | head -n 6 |
	while read -r s p; do printf '    %-40s %10s bytes\n' "${p#.}" "$s"; done
