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
# ftpservers: proftpd and pure-ftpd for tests/ftpservers.bats; without
# them that file fails, and the rest still runs.
ftpservers() {
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
