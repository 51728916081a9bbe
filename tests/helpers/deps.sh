#!/bin/sh
# deps.sh - install the Debian packages that building, testing, the demo
# and the benchmarks use, when they are missing and we are root.
# Prints nothing when everything is there.  proftpd and pure-ftpd, which
# conflict with vsftpd as packages, are fetched and unpacked beside it by
# ftpservers.sh instead.

PKGS="build-essential pkg-config libcurl4-openssl-dev libssl-dev libcrypt-dev
curl wget openssl ca-certificates bats socat nginx-light ucspi-tcp mandoc
python3 python3-pyftpdlib vsftpd haproxy apache2-utils openbsd-inetd
procps psmisc iproute2 util-linux systemd lighttpd
debhelper dpkg-dev fakeroot lintian man-db"
[ -n "$GTR_DEPS_EXTRA" ] && PKGS="$PKGS $GTR_DEPS_EXTRA"

missing=
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)
	case $st in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done
# curl8: on Debian 12, libcurl 8 from the official backports suite (one
# apt source, written only when no source names the suite), which the
# programs are built and tested with; GTR_CURL_STABLE=1 keeps 7.88.
curl8() {
	[ -z "${GTR_CURL_STABLE:-}" ] || return 0
	codename=$(. /etc/os-release 2>/dev/null && echo "$VERSION_CODENAME")
	[ "$codename" = bookworm ] || return 0
	case $(dpkg-query -W -f='${Version}' libcurl4-openssl-dev 2>/dev/null) in
	8.*) return 0 ;;
	esac
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps: libcurl 8 is in bookworm-backports (run as root" \
		    "to install it; GTR_CURL_STABLE=1 keeps 7.88)" >&2
		return 0
	fi
	echo "deps: installing libcurl4-openssl-dev from bookworm-backports"
	grep -rqs '^[^#]*bookworm-backports' /etc/apt/sources.list \
	    /etc/apt/sources.list.d/ ||
		printf '%s\n' 'Types: deb' 'URIs: http://deb.debian.org/debian' \
		    'Suites: bookworm-backports' 'Components: main' \
		    'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' \
		    > /etc/apt/sources.list.d/gtr-backports.sources
	DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null &&
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends -t bookworm-backports \
	    libcurl4-openssl-dev >/dev/null ||
		echo "deps: libcurl 8 from bookworm-backports failed;" \
		    "building with $(curl-config --version 2>/dev/null)" >&2
}

# ftpservers: proftpd and pure-ftpd for tests/ftpservers.bats; without
# them that file fails, and the rest still runs.  Last, after curl8.
ftpservers() {
	curl8
	sh "$(dirname "$0")/ftpservers.sh" ||
		echo "deps: proftpd and pure-ftpd could not be fetched" >&2
	exit 0
}
[ -z "$missing" ] && ftpservers

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing Debian packages:$missing (run as root to install)" >&2
	ftpservers
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null || { echo "deps: apt-get update failed" >&2; exit 1; }
# Services that the packages start by default (nginx, lighttpd, inetd,
# vsftpd, haproxy) must not take the ports the tests use: keep them off.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
chmod 755 /usr/sbin/policy-rc.d
apt-get install -y -qq --no-install-recommends $missing >/dev/null
rc=$?
rm -f /usr/sbin/policy-rc.d
[ $rc -eq 0 ] || { echo "deps: apt-get install failed" >&2; exit 1; }
ftpservers
