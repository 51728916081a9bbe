#!/bin/sh
# socat.sh - run a gtr program behind socat, one process per connection.
#
#   socat.sh PROGRAM PORT [OPTIONS...]
#   socat.sh relayd 8080 --raw -c backend.example:80
#
# socat listens, forks for each connection and, with "nofork", execs
# PROGRAM with the connected TCP socket itself on fds 0 and 1 (without
# nofork socat would stay in the middle and PROGRAM would see a
# socketpair, not the client's address).  PROGRAM serves the connection
# and exits; its log goes to this script's stderr.  Environment: GTR_BIN
# (/usr/local/bin), HOST (address to bind, 127.0.0.1).  socat splits the
# EXEC string on spaces, so options cannot contain spaces; the characters
# socat's address syntax takes for itself (: , ! \) are escaped here.
set -eu

if [ $# -lt 2 ]; then
	echo "usage: socat.sh PROGRAM PORT [OPTIONS...]" >&2
	exit 64
fi
prog=$1
port=$2
shift 2
cmd=$(printf '%s' "${GTR_BIN:-/usr/local/bin}/$prog $*" |
    sed 's/[\\:,!]/\\&/g')
exec socat "TCP-LISTEN:$port,bind=${HOST:-127.0.0.1},reuseaddr,fork" \
    "EXEC:$cmd,nofork"
