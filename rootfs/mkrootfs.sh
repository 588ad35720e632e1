#!/usr/bin/env bash
# mkrootfs.sh STAGE [--bin FILE]... [--runc FILE] [--busybox FILE]
#             [--modules DIR] [--name NAME] [--commit C] [--branch B]
#
# Lays out the guest root file system in the directory STAGE (emptied first):
#   /init                  the `init` binary (PID 1)
#   /bin/<name>            every other --bin (vsockexec, gcs, ...), stripped
#   /usr/bin/runc          Debian's runc, with exactly the shared libraries
#                          ldd names and the dynamic loader, at their paths
#   /bin/busybox + links   only with --busybox (the DEBUG=1 console shell)
#   /lib/modules/<release> only with --modules: DIR/lib/modules/* as is (the
#                          .ko files and depmod's index; /init loads from it)
#   the directories init mounts on, /etc from rootfs/skel, /etc/os-release,
#   and hcsshim-style /info provenance files.
# Every entry gets the mtime SOURCE_DATE_EPOCH (else 0) so archives of the
# tree are reproducible. Device nodes are not created here (that needs root);
# the archive steps add /dev/console themselves.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
stage=$1
shift
bins=() runc="" busybox="" modules="" name=lcow-guest commit=unknown branch=unknown
while [ $# -gt 0 ]; do
	case $1 in
	--bin) bins+=("$2") ;;
	--runc) runc=$2 ;;
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

for bin in "${bins[@]}"; do
	base=$(basename "$bin")
	dest=bin/$base
	[ "$base" = init ] && dest=init
	strip --strip-all -o "$dest" "$bin"
	chmod 0755 "$dest"
done

# runc is dynamically linked against glibc in Debian: copy the exact closure
# ldd reports (resolving symlinks), at the paths the loader will look for.
if [ -n "$runc" ]; then
	install -m 0755 "$runc" usr/bin/runc
	ldd "$runc" | while read -r a b c _; do
		case $a in linux-vdso.so.*) continue ;; esac
		if [ "$b" = "=>" ]; then lib=$c; else lib=$a; fi
		case $lib in /*) ;; *) echo "mkrootfs: cannot place '$a' from ldd $runc" >&2; exit 1 ;; esac
		mkdir -p ".$(dirname "$lib")"
		cp -L "$lib" ".$lib"
		chmod 0755 ".$lib"
	done
fi

# Kernel modules, for the kernel this image goes with.
if [ -n "$modules" ]; then
	install -d -m 0755 lib/modules
	cp -R "$modules/lib/modules/." lib/modules/
	chmod -R u=rwX,go=rX lib/modules
fi

# Debug console: busybox and one symlink per applet, never over a real file.
if [ -n "$busybox" ]; then
	install -m 0755 "$busybox" bin/busybox
	"$busybox" --list-full | while read -r applet; do
		[ -e "$applet" ] || [ -L "$applet" ] && continue
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
