#!/usr/bin/env bash
# Builds static musl archives of protobuf-c (runtime), json-c, libseccomp,
# libcap and libext2fs + libcom_err from the Debian source packages pinned in
# deps/versions, into <dir>/musl/{include,lib}, plus two programs for the
# image: a static mke2fs (<dir>/musl/sbin/mke2fs, from the same e2fsprogs)
# and a static chronyd (<dir>/musl/sbin/chronyd).
# Each package has its own stamp: name + version + a hash of its recipe, so
# only what changed is rebuilt, and a changed recipe rebuilds its package in
# a tree that already has build/deps. Debian's own .a files are glibc builds
# and cannot be linked with musl, hence this script.
set -euo pipefail
# Build hermetically: variables a calling make passes down (MAKEFLAGS and its
# command-line overrides such as DEBUG=0) change how these libraries build.
if [ -z "${LCOW_DEPS_CLEAN_ENV:-}" ]; then
	exec env -i LCOW_DEPS_CLEAN_ENV=1 PATH="$PATH" HOME="${HOME:-/root}" LANG=C.UTF-8 \
		bash "$0" "$@"
fi
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$top/build/deps}
prefix=$dir/musl
uapi=$dir/uapi
src=$dir/src
jobs=$(nproc)
mkdir -p "$prefix/include" "$prefix/lib" "$src"

# musl-gcc hides /usr/include; expose only the kernel UAPI headers, after
# musl's own (-idirafter), for libseccomp and our own code.
mkdir -p "$uapi"
multiarch=$(gcc -print-multiarch)
for d in linux asm-generic mtd; do ln -sfn "/usr/include/$d" "$uapi/$d"; done
ln -sfn "/usr/include/$multiarch/asm" "$uapi/asm"

export CC=musl-gcc
export CFLAGS="-O2 -g0 -fno-omit-frame-pointer"
export CPPFLAGS="-idirafter $uapi"

log() { printf 'deps: %s\n' "$*" >&2; }

# fetch <package> <version>: unpacks the Debian source (patches applied) and
# prints its directory.
fetch() {
	local pkg=$1 ver=$2 work=$src/$1_${2//[:~]/_}
	if [ ! -f "$work/.unpacked" ]; then
		rm -rf "$work" && mkdir -p "$work"
		(cd "$work" && apt-get source -qq "$pkg=$ver" >fetch.log 2>&1) || {
			cat "$work/fetch.log" >&2
			return 1
		}
		touch "$work/.unpacked"
	fi
	find "$work" -mindepth 1 -maxdepth 1 -type d | head -n1
}

build_protobuf_c() {
	cd "$1"
	./configure --prefix="$prefix" --libdir="$prefix/lib" --disable-protoc \
		--enable-static --disable-shared >build.log 2>&1
	make -j"$jobs" >>build.log 2>&1
	make install >>build.log 2>&1
}

build_json_c() {
	rm -rf "$1/build-musl" && mkdir "$1/build-musl" && cd "$1/build-musl"
	cmake .. -DCMAKE_C_COMPILER=musl-gcc -DCMAKE_BUILD_TYPE=Release \
		-DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_INSTALL_LIBDIR=lib \
		-DBUILD_SHARED_LIBS=OFF -DBUILD_STATIC_LIBS=ON -DBUILD_TESTING=OFF \
		-DDISABLE_WERROR=ON -DBUILD_APPS=OFF >build.log 2>&1
	make -j"$jobs" >>build.log 2>&1
	make install >>build.log 2>&1
}

build_libseccomp() {
	cd "$1"
	./configure --prefix="$prefix" --libdir="$prefix/lib" --enable-static \
		--disable-shared --disable-python >build.log 2>&1
	make -j"$jobs" -C src libseccomp.la >>build.log 2>&1
	make -C src install-libLTLIBRARIES >>build.log 2>&1
	make -C include install >>build.log 2>&1
}

build_libcap2() {
	cd "$1"
	local opts=(SHARED=no GOLANG=no PAM_CAP=no CC=musl-gcc BUILD_CC=gcc
		"COPTS=$CFLAGS" prefix="$prefix" lib=lib RAISE_SETFCAP=no)
	make -C libcap "${opts[@]}" libcap.a >build.log 2>&1
	install -D -m 0644 libcap/libcap.a "$prefix/lib/libcap.a"
	install -D -m 0644 libcap/include/sys/capability.h "$prefix/include/sys/capability.h"
}

build_e2fsprogs() {
	cd "$1"
	./configure --prefix="$prefix" --libdir="$prefix/lib" --disable-nls \
		--disable-elf-shlibs --disable-bsd-shlibs --disable-fuse2fs \
		--disable-uuidd --disable-fsck --disable-e2initrd-helper \
		--without-libarchive --disable-debugfs --disable-imager \
		--disable-defrag --disable-tdb >build.log 2>&1
	make -j"$jobs" libs >>build.log 2>&1
	make install-libs >>build.log 2>&1
	# mkfs.ext4 for the image: hosts exec it as a UVM process to make
	# scratch disks (hcsshim's internal/lcow/scratch.go). The .static
	# target links every e2fsprogs library statically; with no
	# /etc/mke2fs.conf it uses the profile compiled in from
	# misc/mke2fs.conf.in (Debian's defaults).
	make -j"$jobs" -C misc mke2fs.static >>build.log 2>&1
	install -D -m 0755 misc/mke2fs.static "$prefix/sbin/mke2fs"
}

build_chrony() {
	cd "$1"
	# chronyd only, for the image's time sync (gcs/timesync): the PHC
	# refclock and NTP; no command socket, NTS, hashes, line editing or
	# privilege dropping (it runs as root in the UVM, as the reference's).
	LDFLAGS=-static ./configure --prefix="$prefix" --disable-readline \
		--without-editline --disable-sechash --without-nettle --without-nss \
		--without-tomcrypt --disable-nts --without-gnutls --disable-cmdmon \
		--disable-privdrop --without-libcap --without-seccomp --disable-asyncdns \
		--disable-pps --disable-rtc >build.log 2>&1
	make -j"$jobs" chronyd >>build.log 2>&1
	install -D -m 0755 chronyd "$prefix/sbin/chronyd"
}

# recipe_hash <package>: what its build depends on besides the version: the
# build function and the flags every package is built with. The output
# directory is left out (CPPFLAGS names it): the same recipe built for
# another worktree, through a build/deps link, must not look changed.
recipe_hash() {
	{
		declare -f "build_${1//-/_}"
		printf '%s\n' "$CC" "$CFLAGS" "${CPPFLAGS//"$dir"/<dir>}"
	} | sha256sum | cut -c1-12
}

while read -r pkg ver; do
	case "$pkg" in '' | \#*) continue ;; esac
	stamp=$prefix/.stamp-$pkg-${ver//[:~]/_}-$(recipe_hash "$pkg")
	[ -f "$stamp" ] && continue
	log "building $pkg $ver (static musl)"
	rm -f "$prefix"/.stamp-"$pkg"-*
	d=$(fetch "$pkg" "$ver")
	fn=build_${pkg//-/_}
	# Not in an `if`: set -e is ignored in a tested command, and a failed
	# step must not leave a stamp behind.
	set +e
	(
		set -e
		$fn "$d"
	)
	rc=$?
	set -e
	if [ $rc != 0 ]; then
		log "$pkg failed; last lines of its build log:"
		tail -n 30 "$(find "$d" -name build.log | head -n1)" >&2 || true
		exit 1
	fi
	touch "$stamp"
done <"$top/deps/versions"
