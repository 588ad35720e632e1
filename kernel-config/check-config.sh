#!/usr/bin/env bash
# check-config.sh FRAGMENT CONFIG: every option FRAGMENT sets must have the
# same value in CONFIG (a kernel .config or a gunzipped /proc/config.gz):
# =m must be m (built in would defeat it, as for VIRTIO_VSOCKETS), =y must be
# y, numbers and strings the same; every "# CONFIG_X is not set" must not be
# enabled there, as y or m. Names every mismatch, then fails; silent on
# success.
set -euo pipefail
fragment=$1
config=$2

declare -A have
while IFS= read -r line; do
	case $line in
	CONFIG_*=*) have[${line%%=*}]=${line#*=} ;;
	esac
done <"$config"

bad=0
while IFS= read -r line; do
	case $line in
	CONFIG_*=*)
		name=${line%%=*} want=${line#*=}
		got=${have[$name]-unset}
		if [ "$got" != "$want" ]; then
			echo "config: $name=$want requested, got ${got}" >&2
			bad=$((bad + 1))
		fi
		;;
	"# CONFIG_"*" is not set")
		name=${line#\# }
		name=${name%% *}
		got=${have[$name]-unset}
		if [ "$got" != unset ] && [ "$got" != n ]; then
			echo "config: $name requested unset, got $got" >&2
			bad=$((bad + 1))
		fi
		;;
	esac
done <"$fragment"

if [ $bad -ne 0 ]; then
	echo "config: $bad option(s) of $fragment not satisfied" >&2
	exit 1
fi
