#!/bin/bash
# httpftpd.sh - the HTTP/FTP gateway against squid as an FTP gateway and
# curl straight over FTP on one connection (the limit), all fetching from
# one vsftpd on loopback: 200 files of 1 KiB with keep-alive (one curl
# with every URL), then MB/s of a 512 MiB file.

. "$(dirname "$0")/lib.sh"
HELPERS=$(cd "$(dirname "$0")/../tests/helpers" && pwd)

# ftpd.bash starts its servers with bg(); here they are peers.  Every
# file takes a data connection: a wide passive range keeps TIME_WAIT out.
FTP_PASV_SPAN=2000
bg() {
	peer_start "$@"
}
. "$HELPERS/ftpd.bash"

NFILES=${FTP_FILES:-200}
BIGMB=${FTP_BIG_MB:-512}
FP=$(free_port)
HP=$(free_port)
SP=$(free_port)

if ! have_gtr httpftpd; then
	bench_fail httpftpd "not built"
	exit 1
fi
command -v vsftpd > /dev/null || PATH=$PATH:/usr/sbin
mkdir -p "$T/root/small"
for i in $(seq -w 1 "$NFILES"); do
	head -c 1024 /dev/urandom > "$T/root/small/f$i"
done
truncate -s "${BIGMB}M" "$T/root/big.bin"
vsftpd_start "$FP" || { bench_fail httpftpd "vsftpd did not start"; exit 1; }
peer_start httpftpd "$GTR_BIN/httpftpd" $GTR_FLAGS \
    -l "127.0.0.1:$HP" \
    --allow-dest 127.0.0.0/8 --allow-port "$FP"
wait_port "$HP" || { bench_fail httpftpd "httpftpd did not start"; exit 1; }

# start_squid: squid as an FTP gateway, no cache, everything in $T/squid.
start_squid() {
	local d=$T/squid
	mkdir -p "$d"
	[ "$(id -u)" = 0 ] && chown proxy: "$d" 2>/dev/null
	cat > "$d/squid.conf" <<-EOF
	http_port 127.0.0.1:$SP
	acl ftpport port $FP
	http_access allow localhost ftpport
	http_access deny all
	cache deny all
	cache_mem 8 MB
	access_log none
	cache_store_log none
	cache_log $d/cache.log
	pid_filename $d/squid.pid
	coredump_dir $d
	netdb_filename none
	visible_hostname localhost
	shutdown_lifetime 0 seconds
	pinger_enable off
	ftp_passive on
	EOF
	peer_start squid squid -N -f "$d/squid.conf"
	wait_port "$SP"
}
start_squid || bench_fail httpftpd "squid did not start"

URLS=()
for i in $(seq -w 1 "$NFILES"); do
	URLS+=(-o /dev/null "ftp://127.0.0.1:$FP/small/f$i")
done

# via NAME: the curl arguments that route through NAME.  The limit asks
# for MDTM (-R) as httpftpd does, so both send the same FTP commands per
# file; plain curl 7.88 also stalls a second before many data connections
# to vsftpd, which would make the limit no limit.
via() {
	case $1 in
	limit) echo "-R" ;;
	httpftpd) echo "-x http://127.0.0.1:$HP" ;;
	squid) echo "-x http://127.0.0.1:$SP" ;;
	esac
}

# small NAME: files per second for NAME, or FAILED.
small() {
	local t0 t1 n
	t0=$(date +%s.%N)
	n=$(curl -sS $(via "$1") -w '%{size_download}\n' "${URLS[@]}" \
	    2> /dev/null | awk '$1 == 1024' | wc -l)
	t1=$(date +%s.%N)
	[ "$n" -eq "$NFILES" ] || { echo "FAILED($n)"; return; }
	awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f\n", n / (b - a) }'
}

# cpu_ms PID: CPU milliseconds all of PID's threads have run so far.
cpu_ms() {
	cat /proc/"$1"/task/*/schedstat 2> /dev/null |
	    awk '{ ns += $1 } END { printf "%.0f\n", ns / 1e6 }'
}

# big NAME: MB/s of the large file for NAME, or FAILED; for httpftpd
# its CPU milliseconds for the file go to CPUS as well, a figure the
# other programs on the machine move less than the MB/s.
big() {
	local out c0
	[ "$1" = httpftpd ] && c0=$(cpu_ms "${PEER_PID[httpftpd]}")
	out=$(curl -sS $(via "$1") -o /dev/null \
	    -w '%{size_download} %{speed_download}' \
	    "ftp://127.0.0.1:$FP/big.bin" 2> /dev/null)
	[ -n "${c0:-}" ] &&
	    CPUS="$CPUS $(( $(cpu_ms "${PEER_PID[httpftpd]}") - c0 ))"
	set -- $out
	[ "${1:-0}" -eq $((BIGMB * 1024 * 1024)) ] || { echo FAILED; return; }
	awk -v s="$2" 'BEGIN { printf "%.0f\n", s / 1e6 }'
}

for name in limit httpftpd squid; do
	small "$name" > /dev/null	# warm: logins, caches
done
# The cases take turns run after run, so a load that comes and goes on
# the machine falls on each of them alike.
declare -A FILES MBS
CPUS=
for i in $(seq "$BENCH_RUNS"); do
	for name in limit httpftpd squid; do
		FILES[$name]="${FILES[$name]:-} $(small "$name")"
	done
	for name in limit httpftpd squid; do
		big "$name" > "$T/big.out"
		MBS[$name]="${MBS[$name]:-} $(cat "$T/big.out")"
	done
done
for name in limit httpftpd squid; do
	FILES[$name]=$(median ${FILES[$name]})
	MBS[$name]=$(median ${MBS[$name]})
done
for name in limit httpftpd squid; do
	label=$name
	[ "$name" = limit ] && label="curl over FTP (limit)"
	bench_row httpftpd "$label" "${NFILES}x1KiB files/s" \
	    "${FILES[$name]}" "$(ratio "${FILES[$name]}" "${FILES[limit]}")"
done
for name in limit httpftpd squid; do
	label=$name
	[ "$name" = limit ] && label="curl over FTP (limit)"
	bench_row httpftpd "$label" "${BIGMB} MiB file MB/s" \
	    "${MBS[$name]}" "$(ratio "${MBS[$name]}" "${MBS[limit]}")"
done
bench_row httpftpd httpftpd "${BIGMB} MiB file CPU ms" \
    "$(median $CPUS)" -
bench_note "httpftpd: vsftpd on loopback; ratio is to curl fetching" \
    "straight over one FTP connection"
