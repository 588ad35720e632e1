#!/usr/bin/env bash
# mkext4.sh STAGE OUT.ext4: a compact ext4 image of the directory STAGE, made
# without root or loop devices (mke2fs -d), owned 0:0 throughout, with
# /dev/console (the kernel opens it on a disk root before init runs, and
# devtmpfs is not mounted yet). Read-only root: no journal, no reserved blocks.
# Timestamps, UUID and hash seed come from SOURCE_DATE_EPOCH and the tree.
set -euo pipefail
stage=$1 out=$2
epoch=${SOURCE_DATE_EPOCH:-0}

kib=$(du -sk --apparent-size "$stage" | cut -f1)
entries=$(find "$stage" | wc -l)
# Room for metadata (inode tables, directories, bitmaps) on top of the data,
# rounded up to 2 MiB: Hyper-V wants whole MiB for disks, and a VPMem/NVDIMM
# mapping of the file wants huge-page alignment.
mib=$(((kib * 5 / 4 + 4096 + 2047) / 2048 * 2))
inodes=$((entries + 64))
seed=$( (cd "$stage" && find . | LC_ALL=C sort) | sha256sum | cut -c1-32)
uuid="${seed:0:8}-${seed:8:4}-5${seed:13:3}-8${seed:17:3}-${seed:20:12}"

rm -f "$out.tmp"
truncate -s "${mib}M" "$out.tmp"
E2FSPROGS_FAKE_TIME=$epoch mke2fs -q -F -t ext4 -b 4096 -N "$inodes" -m 0 \
	-O ^has_journal,^resize_inode -U "$uuid" -E "hash_seed=$uuid,root_owner=0:0" \
	-L rootfs -d "$stage" "$out.tmp"

# Ownership 0:0 whoever ran the build; atime and ctime, which mke2fs copies
# from the stage as they are (reading and touching it changes them), set to
# the one timestamp like mtime; and the console device node.
{
	(cd "$stage" && find . -mindepth 1) | while read -r p; do
		for field in "uid 0" "gid 0" "atime @$epoch" "ctime @$epoch"; do
			echo "sif ${p#.} $field"
		done
	done
	for field in "atime @$epoch" "ctime @$epoch"; do
		echo "sif / $field"
	done
	# debugfs mknod only links into the current directory
	echo "cd /dev"
	echo "mknod console c 5 1"
	echo "cd /"
	echo "sif /dev/console mode 020600"
	echo "sif /dev/console mtime @$epoch"
	echo "sif /dev/console ctime @$epoch"
	echo "sif /dev/console atime @$epoch"
} >"$out.cmds"
E2FSPROGS_FAKE_TIME=$epoch debugfs -w -f "$out.cmds" "$out.tmp" >/dev/null 2>"$out.err" || {
	cat "$out.err" >&2
	exit 1
}
if grep -v '^debugfs ' "$out.err" >&2; then
	echo "mkext4: debugfs reported errors" >&2
	exit 1
fi
rm -f "$out.cmds" "$out.err"
mv -f "$out.tmp" "$out"
