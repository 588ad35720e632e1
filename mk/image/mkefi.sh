#!/usr/bin/env bash
# mkefi.sh KERNEL INITRD CMDLINE-FILE OS-RELEASE OUT.efi OUT.img
#
# 1. OUT.efi: a unified kernel image. systemd-boot's EFI stub gets .osrel,
#    .cmdline, .linux and .initrd sections (objcopy; ukify is not in Debian
#    12). Firmware that starts it without a command line (OVMF starting
#    \EFI\BOOT\BOOTX64.EFI) still boots with CMDLINE-FILE.
# 2. OUT.img: a GPT disk with one EFI system partition holding OUT.efi as
#    EFI/BOOT/BOOTX64.EFI, made without root or loop devices: sgdisk writes
#    the partition table, mkfs.vfat --offset the FAT inside the file, mtools
#    copies the files.
# GUIDs and the FAT serial come from the inputs' hash, so they are stable.
set -euo pipefail
kernel=$1 initrd=$2 cmdline=$3 osrel=$4 efi=$5 img=$6
stub=${EFI_STUB:-/usr/lib/systemd/boot/efi/linuxx64.efi.stub}
[ -f "$stub" ] || { echo "mkefi: $stub missing (systemd-boot-efi)" >&2; exit 1; }

# Place the new sections after the stub's last one, each page-aligned, in
# the order osrel, cmdline, initrd, linux (the kernel last: it is the part
# the stub relocates and decompresses, nothing may follow it in memory).
end=0
while read -r idx _ size vma _; do
	case $idx in *[!0-9]* | "") continue ;; esac
	e=$((0x$vma + 0x$size))
	[ $e -gt $end ] && end=$e
done < <(objdump -h "$stub")
align() { echo $(((($1) + 0xfff) & ~0xfff)); }
osrel_at=$(align "$end")
cmdline_at=$(align $((osrel_at + $(stat -c %s "$osrel"))))
initrd_at=$(align $((cmdline_at + $(stat -c %s "$cmdline"))))
linux_at=$(align $((initrd_at + $(stat -c %s "$initrd"))))
objcopy \
	--add-section .osrel="$osrel" --change-section-vma .osrel=$(printf 0x%x "$osrel_at") \
	--add-section .cmdline="$cmdline" --change-section-vma .cmdline=$(printf 0x%x "$cmdline_at") \
	--add-section .initrd="$initrd" --change-section-vma .initrd=$(printf 0x%x "$initrd_at") \
	--add-section .linux="$kernel" --change-section-vma .linux=$(printf 0x%x "$linux_at") \
	"$stub" "$efi.tmp"
python3 "$(dirname "$0")/pe_stamp.py" "$efi.tmp" # objcopy stamps the build time
mv -f "$efi.tmp" "$efi"

# ESP sized to the UKI plus room for FAT metadata, rounded to MiB; the disk
# adds 1 MiB in front (GPT + alignment) and 1 MiB behind (backup GPT).
efi_size=$(stat -c %s "$efi")
esp_mib=$(((efi_size * 11 / 10 + (2 << 20) + (1 << 20) - 1) >> 20))
disk_mib=$((esp_mib + 2))
seed=$(cat "$efi" | sha256sum | cut -c1-32)
guid() { # a stable GUID from the seed and a label
	local h
	h=$(printf '%s %s' "$seed" "$1" | sha256sum | cut -c1-32)
	echo "${h:0:8}-${h:8:4}-5${h:13:3}-8${h:17:3}-${h:20:12}"
}
rm -f "$img.tmp"
truncate -s "${disk_mib}M" "$img.tmp"
sgdisk --clear \
	--disk-guid="$(guid disk)" \
	--new=1:2048:+"${esp_mib}M" --typecode=1:ef00 --change-name=1:ESP \
	--partition-guid=1:"$(guid esp)" "$img.tmp" >/dev/null
# --mbr=n: left to itself mkfs.vfat puts a fake MBR over the protective one.
# --invariant: no clock in the volume label entry. (mkfs.vfat warns that the
# file is larger than the partition: it is, by the backup GPT; only a failure
# is worth showing.)
log=$(mkfs.vfat --invariant --mbr=n --offset 2048 -n LCOW -i "${seed:0:8}" \
	"$img.tmp" $((esp_mib * 1024)) 2>&1) || { echo "$log" >&2; exit 1; }
# mcopy -m keeps the tree's mtimes (mtools itself ignores SOURCE_DATE_EPOCH).
esp=$(mktemp -d)
trap 'rm -rf "$esp"' EXIT
mkdir -p "$esp/EFI/BOOT"
cp "$efi" "$esp/EFI/BOOT/BOOTX64.EFI"
find "$esp" -exec touch -h -d "@${SOURCE_DATE_EPOCH:-0}" {} +
MTOOLS_SKIP_CHECK=1 mcopy -s -m -i "$img.tmp@@1M" "$esp/EFI" ::
mv -f "$img.tmp" "$img"
