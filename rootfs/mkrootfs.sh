#!/usr/bin/env bash
# mkrootfs.sh STAGE [--bin FILE]... [--runc FILE] [--runc-list FILE] [--mke2fs FILE]
#             [--chronyd FILE] [--busybox FILE] [--modules DIR] [--name NAME] [--commit C] [--branch B]
#
# Lays out the guest root file system in the directory STAGE (emptied first):
#   /init                  the `init` binary (PID 1)
#   /bin/<name>            every other --bin (vsockexec, gcs, ...), stripped
#   /usr/bin/runc          Debian's runc, with exactly the shared libraries
#                          ldd names and the dynamic loader, at their paths;
#                          --runc-list FILE gets those paths (relative to
#                          STAGE, one a line): the LinuxKit runc image is
#                          made of them (mk/linuxkit_images.py)
#   /sbin/mke2fs           --mke2fs (static musl, deps/build.sh), stripped,
#                          with mkfs.ext2/3/4 links: hosts exec mkfs.ext4
#   /sbin/chronyd          --chronyd (static musl, deps/build.sh), stripped:
#                          the gcs runs it on the Hyper-V PTP clock
#   /bin/busybox + links   --busybox: the shell and tools hosts exec in the
#                          UVM (sh, test, ls, udhcpc, ...), see below
#   /lib/modules/<release> only with --modules: DIR/lib/modules/* as is (the
#                          .ko files and depmod's index; /init loads from it)
#   the directories init mounts on, rootfs/skel (/etc, /sbin scripts),
#   /etc/os-release, and hcsshim-style /info provenance files.
# Every entry gets the mtime SOURCE_DATE_EPOCH (else 0) so archives of the
# tree are reproducible. Device nodes are not created here (that needs root);
# the archive steps add /dev/console themselves.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
stage=$1
shift
bins=() runc="" runc_list="" mke2fs="" chronyd="" busybox="" modules="" name=lcow-guest commit=unknown branch=unknown
while [ $# -gt 0 ]; do
	case $1 in
	--bin) bins+=("$2") ;;
	--runc) runc=$2 ;;
	--runc-list) runc_list=$2 ;;
	--mke2fs) mke2fs=$2 ;;
	--chronyd) chronyd=$2 ;;
	--busybox) busybox=$2 ;;
	--modules) modules=$2 ;;
	--name) name=$2 ;;
	--commit) commit=$2 ;;
	--branch) branch=$2 ;;
	*) echo "mkrootfs: unknown option $1" >&2; exit 2 ;;
	esac
	shift 2
done
epoch=${SOURCE_DATE_EPOCH:-0}
# The list path is the caller's; we are about to cd into the stage.
[ -z "$runc_list" ] || runc_list=$(realpath -m "$runc_list")

rm -rf "$stage"
mkdir -p "$stage"
cd "$stage"

# Mount points and the usual top level. init mounts devtmpfs, proc, sysfs,
# tmpfs on run and tmp, cgroups under sys/fs/cgroup; -w overlays etc and var.
install -d -m 0755 bin sbin usr/bin usr/sbin lib lib64 dev proc sys sys/fs/cgroup \
	run etc var var/lib var/log mnt info
install -d -m 1777 tmp
install -d -m 0700 root
ln -s ../run var/run
cp -r "$here/skel/." .
chmod 0644 etc/*
# Programs in the skel (e.g. /sbin/udhcpc_config.script, which udhcpc runs)
# are executable whatever mode git or the checkout gave them.
find bin sbin usr/bin usr/sbin -type f -exec chmod 0755 {} +

for bin in "${bins[@]}"; do
	base=$(basename "$bin")
	dest=bin/$base
	[ "$base" = init ] && dest=init
	strip --strip-all -o "$dest" "$bin"
	chmod 0755 "$dest"
done

# runc is dynamically linked against glibc in Debian: copy the exact closure
# ldd reports (resolving symlinks), at the paths the loader will look for.
# Without --runc the list is still written (empty), so it is never stale.
placed_runc=()
if [ -n "$runc" ]; then
	install -m 0755 "$runc" usr/bin/runc
	placed_runc+=(usr/bin/runc)
	deps=$(ldd "$runc")
	while read -r a b c _; do
		case $a in linux-vdso.so.*) continue ;; esac
		if [ "$b" = "=>" ]; then lib=$c; else lib=$a; fi
		case $lib in /*) ;; *) echo "mkrootfs: cannot place '$a' from ldd $runc" >&2; exit 1 ;; esac
		mkdir -p ".$(dirname "$lib")"
		cp -L "$lib" ".$lib"
		chmod 0755 ".$lib"
		placed_runc+=("${lib#/}")
	done <<<"$deps"
fi
if [ -n "$runc_list" ]; then
	: >"$runc_list"
	for p in ${placed_runc[@]+"${placed_runc[@]}"}; do echo "$p" >>"$runc_list"; done
fi

# Kernel modules, for the kernel this image goes with.
if [ -n "$modules" ]; then
	install -d -m 0755 lib/modules
	cp -R "$modules/lib/modules/." lib/modules/
	chmod -R u=rwX,go=rX lib/modules
fi

# mke2fs answers to mkfs.ext4 (and ext2/ext3): it picks the file system type
# from the name it was run as. Installed before busybox so that our mke2fs,
# not busybox's ext2-only applet, owns these names.
if [ -n "$mke2fs" ]; then
	strip --strip-all -o sbin/mke2fs "$mke2fs"
	chmod 0755 sbin/mke2fs
	for n in mkfs.ext2 mkfs.ext3 mkfs.ext4; do ln -s mke2fs "sbin/$n"; done
fi

if [ -n "$chronyd" ]; then
	strip --strip-all -o sbin/chronyd "$chronyd"
	chmod 0755 sbin/chronyd
fi

# busybox: one symlink per applet at busybox's own path for it, except
#  - a name the image already has in any PATH directory (file or link): our
#    own programs win, and no applet earlier on PATH may shadow them
#    (busybox's mke2fs and mkfs.ext2 lose to ours);
#  - init and linuxrc: the kernel falls back to /sbin/init when /init cannot
#    run; a busybox init there would boot another system instead of failing;
#  - halt, poweroff and reboot: they signal PID 1, and ours ignores every
#    signal (init/main.c), so they would do nothing; the VM stops when the
#    GCS exits.
path_dirs="usr/local/sbin usr/local/bin usr/sbin usr/bin sbin bin"
taken() {
	local d
	for d in $path_dirs; do
		if [ -e "$d/$1" ] || [ -L "$d/$1" ]; then return 0; fi
	done
	return 1
}
if [ -n "$busybox" ]; then
	install -m 0755 "$busybox" bin/busybox
	"$busybox" --list-full | while read -r applet; do
		name=${applet##*/}
		case $name in init | linuxrc | halt | poweroff | reboot) continue ;; esac
		taken "$name" && continue
		mkdir -p "$(dirname "$applet")"
		ln -s /bin/busybox "$applet"
	done
fi

cat >etc/os-release <<EOF
NAME="lcow-guest"
ID=lcow-guest
PRETTY_NAME="lcow-guest ($name)"
VERSION_ID=$commit
EOF
chmod 0644 etc/os-release

# Provenance, as hcsshim's Makefile writes it into the rootfs.
echo "$commit" >info/gcs.commit
echo "$branch" >info/gcs.branch
echo "$name" >info/image.name
date -u -d "@$epoch" '+%Y-%m-%dT%H:%M:%SZ' >info/build.date
chmod 0644 info/*

find . -depth -exec touch -h -d "@$epoch" {} +
