#!/bin/sh
# ftpservers.sh - proftpd and pure-ftpd beside the installed vsftpd, for
# tests/ftpservers.bats.
#
# Debian's vsftpd, proftpd-core and pure-ftpd all provide ftp-server and
# conflict with each other: installing one with apt removes the others.
# So proftpd-core and pure-ftpd are never installed.  Their .deb files,
# and those of the libraries they need that are not installed, are
# fetched with `apt-get download` and unpacked with `dpkg-deb -x` under
# DIR ($GTR_FTPSERVERS, else build/ftpservers in the source tree):
#
#   DIR/root/usr/sbin/proftpd, DIR/root/usr/sbin/pure-ftpd  the programs
#   DIR/ldpath   the LD_LIBRARY_PATH they run with (may be empty)
#   DIR/ok       written last, once both were seen to load
#
# Needs no root, but needs apt's package lists: when a download fails
# and we are root, `apt-get update` is run once and the download tried
# again.  Prints nothing when DIR is ready; exits 1 if it cannot be made.

top=$(cd "$(dirname "$0")/../.." && pwd) || exit 1
dir=${GTR_FTPSERVERS:-$top/build/ftpservers}
[ -f "$dir/ok" ] && exit 0

PKGS="proftpd-core pure-ftpd"
PROGS="usr/sbin/proftpd usr/sbin/pure-ftpd"
log=$dir/fetch.log
updated=

echo "ftpservers: fetching $PKGS into $dir (apt-get download)"
rm -rf "$dir/root" "$dir/debs"
mkdir -p "$dir/root" "$dir/debs" || exit 1
: > "$log"

# fetch PKG...: downloads the .deb files into DIR/debs.  Returns 0 or 1.
fetch() {
	(cd "$dir/debs" && apt-get download "$@") >> "$log" 2>&1 && return 0
	[ -z "$updated" ] && [ "$(id -u)" -eq 0 ] || return 1
	updated=1
	echo "ftpservers: apt-get update" >> "$log"
	apt-get update -qq >> "$log" 2>&1 || return 1
	(cd "$dir/debs" && apt-get download "$@") >> "$log" 2>&1
}

# libdeps DEB: the library packages DEB depends on (first of each
# alternative, versions dropped).
libdeps() {
	dpkg-deb -f "$1" Pre-Depends Depends | sed 's/^[A-Za-z-]*: //' |
		tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/:any//; s/[[:space:]]//g' |
		grep -E '^(lib|zlib)' | sort -u
}

installed() {
	case $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) in
	*" installed") return 0 ;;
	esac
	return 1
}

# unpack: unpacks the .deb files not yet unpacked, and prints the
# library packages they depend on that this machine lacks.
unpack() {
	for deb in "$dir"/debs/*.deb; do
		[ -f "$deb.x" ] && continue
		dpkg-deb -x "$deb" "$dir/root" || return 1
		: > "$deb.x"
		for p in $(libdeps "$deb"); do
			installed "$p" || echo "$p"
		done
	done
}

# The programs, then a few rounds of the libraries they (and those
# libraries) need.  A library that cannot be fetched (a virtual name,
# say) is left to the ldd check below to judge.
if ! fetch $PKGS; then
	echo "ftpservers: apt-get download $PKGS failed:" >&2
	tail -n 5 "$log" >&2
	exit 1
fi
seen=" "
round=0
while [ $round -lt 6 ]; do
	want=$(unpack) || exit 1
	got=0
	for p in $want; do
		case $seen in *" $p "*) continue ;; esac
		seen="$seen$p "
		fetch "$p" && got=1
	done
	[ $got -eq 1 ] || break
	round=$((round + 1))
done

# Only the programs and libraries are wanted; and the Makefile includes
# every *.d under build/ as make rules, which etc/init.d is not.
rm -rf "$dir/root/etc" "$dir/root/usr/share"
find "$dir/root" -name '*.d' -prune -exec rm -rf {} +

# Library directories in the unpacked tree, first.
ldpath=$(find "$dir/root" -name 'lib*.so*' -printf '%h\n' | sort -u |
	tr '\n' ':' | sed 's/:$//')
printf '%s\n' "$ldpath" > "$dir/ldpath"
for p in $PROGS; do
	if [ ! -x "$dir/root/$p" ]; then
		echo "ftpservers: $p is not in $PKGS" >&2
		exit 1
	fi
	if LD_LIBRARY_PATH=$ldpath ldd "$dir/root/$p" | grep 'not found' >&2
	then
		echo "ftpservers: $p misses the libraries above" >&2
		exit 1
	fi
done
rm -f "$dir"/debs/*.x
: > "$dir/ok"
