#!/bin/sh
# tcpserver.sh - run a gtr program under DJB's tcpserver (Debian ucspi-tcp).
#
#   tcpserver.sh PROGRAM PORT [OPTIONS...]
#   tcpserver.sh connectd 3128 --auth /etc/gtr/htpasswd
#   tcpserver.sh relayd 8080
#
# tcpserver accepts each connection and starts PROGRAM with the connected
# socket on fds 0 and 1 and the UCSPI variables set (TCPREMOTEIP,
# TCPREMOTEPORT, ...); PROGRAM serves that one connection and exits, and
# its log goes to this script's stderr.  Environment: GTR_BIN (where the
# programs are, /usr/local/bin), HOST (address to bind, 127.0.0.1),
# MAXCONN (tcpserver -c, 100).  -H -R -l0: no DNS or ident look-ups per
# connection.
set -eu

if [ $# -lt 2 ]; then
	echo "usage: tcpserver.sh PROGRAM PORT [OPTIONS...]" >&2
	exit 64
fi
prog=$1
port=$2
shift 2
exec tcpserver -q -H -R -l0 -c "${MAXCONN:-100}" "${HOST:-127.0.0.1}" \
    "$port" "${GTR_BIN:-/usr/local/bin}/$prog" "$@"
