#!/bin/sh
# deps.sh - install the Debian packages that building, testing, the demo
# and the benchmarks use, when they are missing and we are root.
# Prints nothing when everything is there.

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
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing Debian packages:$missing (run as root to install)" >&2
	exit 0
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
