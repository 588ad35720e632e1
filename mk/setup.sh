#!/usr/bin/env bash
# Idempotent setup: installs the Debian packages listed in mk/packages and
# enables Debian source packages (for `apt-get source` in deps/build.sh).
# Silent when everything is already present.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

if [ "$(id -u)" != 0 ]; then
	echo "setup: must run as root to install Debian packages" >&2
	exit 1
fi

changed=0
src_list=/etc/apt/sources.list.d/lcow-guest-src.sources
if [ ! -f "$src_list" ]; then
	cat >"$src_list" <<'SRC'
# Added by lcow-guest mk/setup.sh: source packages for deps/build.sh.
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	changed=1
fi

mapfile -t wanted < <(grep -v '^\s*\(#\|$\)' "$here/packages")
missing=()
for p in "${wanted[@]}"; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing+=("$p")
done

# apt-get source needs the Sources index; a fresh machine has none.
if [ "$changed" = 1 ] || [ ${#missing[@]} -gt 0 ] ||
	! compgen -G '/var/lib/apt/lists/*_Sources*' >/dev/null; then
	echo "setup: apt-get update" >&2
	apt-get update -qq >/dev/null
fi
if [ ${#missing[@]} -gt 0 ]; then
	echo "setup: installing ${missing[*]}" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null
fi
