#!/bin/bash
# tlsstripd.sh - TLS termination in front of nginx: tlsstripd against
# hitch, stunnel and haproxy (mode tcp, two threads), with plain HTTP
# straight to nginx as the limit.
#
#   handshakes  server CPU (utime+stime of the whole process tree, from
#               /proc) per 1,000 new TLS 1.3 handshakes by openssl s_time
#               -new, ECDSA P-256 and RSA-2048 certificates; the rate is
#               the client's, so CPU is the figure (lower is better)
#   8 clients   new ECDSA connections per second from 8 openssl s_time
#               -new -www /1k at once (a full handshake and one 1 KiB GET
#               each), and the server's CPU per 1,000 of them
#   1 KiB       keep-alive requests/s, wrk -t2 -c32 and -t2 -c64 over
#               HTTPS, and the server's CPU per 1,000 of those requests
#               (steadier than the rate on a machine shared with other
#               work)
#   1 MiB       MB/s of 1 MiB responses, wrk -t2 -c8 over HTTPS
#
# Each figure is the median of BENCH_RUNS runs.  TLS_SECONDS (default 5)
# sets the length of each run.  Needs hitch and stunnel4 (bench/run or
# apt-get install them); a peer that is missing gets MISSING.

. "$(dirname "$0")/lib.sh"

SECS=${TLS_SECONDS:-5}
NPORT=$(free_port)
P=$(free_port)
PATH=$PATH:/usr/sbin:/sbin
PEERS="tlsstripd hitch stunnel haproxy"

# certs: an ECDSA P-256 and an RSA-2048 certificate for localhost, each
# a PEM with its key ($T/ecdsa.pem, $T/rsa.pem).
certs() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -days 2 -subj /CN=localhost -keyout "$T/ecdsa.key" \
	    -out "$T/ecdsa.crt" 2>/dev/null &&
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
	    -keyout "$T/rsa.key" -out "$T/rsa.crt" 2>/dev/null || return 1
	cat "$T/ecdsa.crt" "$T/ecdsa.key" > "$T/ecdsa.pem"
	cat "$T/rsa.crt" "$T/rsa.key" > "$T/rsa.pem"
}

# origin: nginx, one worker, keep-alive without a request limit, serving
# /1k and /1m.
origin() {
	mkdir -p "$T/www" "$T/nginx"
	head -c 1024 /dev/urandom > "$T/www/1k"
	head -c 1048576 /dev/urandom > "$T/www/1m"
	cat > "$T/nginx/nginx.conf" <<-EOF
	daemon off;
	worker_processes 1;
	pid $T/nginx/nginx.pid;
	error_log $T/nginx/error.log;
	events { worker_connections 4096; }
	http {
		access_log off;
		client_body_temp_path $T/nginx;
		keepalive_timeout 65;
		keepalive_requests 10000000;
		sendfile on;
		server {
			listen 127.0.0.1:$NPORT;
			root $T/www;
		}
	}
	EOF
	peer_start nginx nginx -c "$T/nginx/nginx.conf" -e "$T/nginx/error.log"
	wait_port "$NPORT"
}

# start NAME PEM: starts the terminator NAME on P with the certificate.
start() {
	case $1 in
	tlsstripd)
		have_gtr tlsstripd || return 1
		peer_start tlsstripd "$GTR_BIN/tlsstripd" $GTR_FLAGS --cert "$2" \
		    -l "127.0.0.1:$P" -c "127.0.0.1:$NPORT" ;;
	hitch)
		command -v hitch > /dev/null || return 1
		peer_start hitch hitch --frontend="[127.0.0.1]:$P" \
		    --backend="[127.0.0.1]:$NPORT" --workers="$(nproc)" \
		    --prefer-server-ciphers=on --user=nobody "$2" ;;
	stunnel)
		command -v stunnel4 > /dev/null || return 1
		cat > "$T/stunnel.conf" <<-EOF
		foreground = yes
		pid =
		debug = 3
		[https]
		accept = 127.0.0.1:$P
		connect = 127.0.0.1:$NPORT
		cert = $2
		EOF
		peer_start stunnel stunnel4 "$T/stunnel.conf" ;;
	haproxy)
		command -v haproxy > /dev/null || return 1
		cat > "$T/haproxy.cfg" <<-EOF
		global
			nbthread 2
			maxconn 1000
		defaults
			mode tcp
			timeout connect 5s
			timeout client 60s
			timeout server 60s
		listen tls
			bind 127.0.0.1:$P ssl crt $2
			server nginx 127.0.0.1:$NPORT
		EOF
		peer_start haproxy haproxy -db -f "$T/haproxy.cfg" ;;
	esac
	wait_port "$P" 2>/dev/null
}

# cpu_ticks PID: utime+stime of PID and its descendants, in clock ticks.
cpu_ticks() {
	local pids=$1 all=$1 p kids sum=0 t
	while [ -n "$pids" ]; do
		kids=
		for p in $pids; do
			kids="$kids $(cat /proc/$p/task/*/children 2>/dev/null)"
		done
		pids=$(echo $kids)
		all="$all $pids"
	done
	for p in $all; do
		t=$(sed 's/.*) //' /proc/$p/stat 2>/dev/null |
		    awk '{ print $12 + $13 }')
		sum=$((sum + ${t:-0}))
	done
	echo "$sum"
}

# handshake_cpu NAME: ms of server CPU per 1,000 new handshakes.
handshake_cpu() {
	local pid before after out n hz
	pid=$(peer_pid "$1")
	hz=$(getconf CLK_TCK)
	before=$(cpu_ticks "$pid")
	out=$(openssl s_time -connect "127.0.0.1:$P" -new -time "$SECS" \
	    2>/dev/null | awk '/connections in .* real seconds/ { print $1 }' |
	    head -n 1)
	after=$(cpu_ticks "$pid")
	n=${out:-0}
	if [ "$n" -lt 20 ]; then
		echo FAILED
		return
	fi
	awk -v t=$((after - before)) -v hz="$hz" -v n="$n" \
	    'BEGIN { printf "%.0f\n", t * 1000 / hz * 1000 / n }'
}

# handshakes8 NAME: "RATE CPU" of 8 openssl s_time -new -www /1k
# clients at once through NAME: new connections per second (each a full
# handshake and one GET), and ms of server CPU per 1,000 of them.
handshakes8() {
	local pid before after t0 t1 i n=0 c b hz pids=
	pid=$(peer_pid "$1")
	hz=$(getconf CLK_TCK)
	before=$(cpu_ticks "$pid")
	t0=$(date +%s%N)
	for i in $(seq 8); do
		openssl s_time -connect "127.0.0.1:$P" -new -www /1k \
		    -time "$SECS" > "$T/s_time.$i" 2>&1 &
		pids="$pids $!"
	done
	wait $pids
	t1=$(date +%s%N)
	after=$(cpu_ticks "$pid")
	for i in $(seq 8); do
		read -r c b <<< "$(awk '/connections in .* real seconds/ {
		    print $1, $(NF - 4) }' "$T/s_time.$i")"
		# A connection that did not bring the 1 KiB back is no GET.
		if [ -z "$c" ] || [ "$c" -lt 5 ] || [ "${b:-0}" -lt 1024 ]; then
			echo "FAILED FAILED"
			return
		fi
		n=$((n + c))
	done
	awk -v t=$((after - before)) -v hz="$hz" -v n="$n" \
	    -v ns=$((t1 - t0)) 'BEGIN { printf "%.0f %.0f\n", n * 1e9 / ns,
	    t * 1000 / hz * 1000 / n }'
}

# small_run NAME CONNS: "RATE CPU" of a 1 KiB keep-alive run through
# NAME, CPU in ms of server CPU per 1,000 requests.
small_run() {
	local pid before after r hz
	pid=$(peer_pid "$1")
	hz=$(getconf CLK_TCK)
	before=$(cpu_ticks "$pid")
	r=$(wrk_rate "https://127.0.0.1:$P/1k" "$2")
	after=$(cpu_ticks "$pid")
	if [ "$r" = FAILED ] || [ "$r" -eq 0 ]; then
		echo "FAILED FAILED"
		return
	fi
	awk -v t=$((after - before)) -v hz="$hz" -v r="$r" -v s="$SECS" \
	    'BEGIN { printf "%d %.1f\n", r, t * 1000 / hz * 1000 / (r * s) }'
}

# wrk_rate URL CONNS: requests/s of a wrk run.
wrk_rate() {
	local r
	r=$(wrk -t2 -c"$2" -d"${SECS}s" "$1" 2>/dev/null |
	    awk '/^Requests\/sec:/ { printf "%.0f\n", $2 }')
	echo "${r:-FAILED}"
}

# mbps URL: MB/s of 1 MiB responses.
mbps() {
	local r
	r=$(wrk_rate "$1" 8)
	[ "$r" != FAILED ] || { echo FAILED; return; }
	awk -v r="$r" 'BEGIN { printf "%.0f\n", r * 1.048576 }'
}

certs || { bench_fail tlsstripd "openssl could not make certificates"; exit 1; }
origin || { bench_fail tlsstripd "nginx did not start"; exit 1; }

# measure_peer PEER: one run of every figure through PEER, appended to
# the run lists (MISSING when it does not start).
measure_peer() {
	local peer=$1 kind rate cpu c fig
	for kind in ecdsa rsa; do
		if ! start "$peer" "$T/$kind.pem"; then
			peer_stop "$peer"
			for fig in $kind hs8 hs8cpu small32 smallcpu32 small64 \
			    smallcpu64 big; do
				RUNS[$fig.$peer]+=" MISSING"
			done
			return
		fi
		RUNS[$kind.$peer]+=" $(handshake_cpu "$peer")"
		if [ $kind = ecdsa ]; then
			read -r rate cpu <<< "$(handshakes8 "$peer")"
			RUNS[hs8.$peer]+=" $rate"
			RUNS[hs8cpu.$peer]+=" $cpu"
			for c in 32 64; do
				read -r rate cpu <<< "$(small_run "$peer" $c)"
				RUNS[small$c.$peer]+=" $rate"
				RUNS[smallcpu$c.$peer]+=" $cpu"
			done
			RUNS[big.$peer]+=" $(mbps "https://127.0.0.1:$P/1m")"
		fi
		peer_stop "$peer"
	done
}

# Runs go round the peers in turn, so a machine whose load drifts
# during the section shifts every peer alike.
declare -A RUNS=() ecdsa rsa hs8 hs8cpu small32 smallcpu32 small64 \
    smallcpu64 big
for i in $(seq "$BENCH_RUNS"); do
	RUNS[small32.limit]+=" $(wrk_rate "http://127.0.0.1:$NPORT/1k" 32)"
	RUNS[small64.limit]+=" $(wrk_rate "http://127.0.0.1:$NPORT/1k" 64)"
	RUNS[big.limit]+=" $(mbps "http://127.0.0.1:$NPORT/1m")"
	for peer in $PEERS; do
		measure_peer "$peer"
	done
done
for key in "${!RUNS[@]}"; do
	declare -n fig=${key%%.*}
	fig[${key#*.}]=$(median ${RUNS[$key]})
	unset -n fig
done

for kind in ecdsa rsa; do
	declare -n fig=$kind
	label=$([ $kind = ecdsa ] && echo "ECDSA P-256" || echo "RSA-2048")
	for peer in $PEERS; do
		bench_row "tls-strip" "$peer" "ms CPU/1k hs $label" \
		    "${fig[$peer]}" "$(ratio "${fig[$peer]}" "${fig[hitch]}")" \
		    "of hitch; lower is better"
	done
	unset -n fig
done
for peer in $PEERS; do
	bench_row "tls-strip" "$peer" "hs/s ECDSA 8 cl." "${hs8[$peer]}" \
	    "$(ratio "${hs8[$peer]}" "${hs8[hitch]}")" "of hitch; a GET of 1 KiB each"
done
for peer in $PEERS; do
	bench_row "tls-strip" "$peer" "ms CPU/1k hs 8 cl." "${hs8cpu[$peer]}" \
	    "$(ratio "${hs8cpu[$peer]}" "${hs8cpu[hitch]}")" \
	    "of hitch; lower is better"
done
for c in 32 64; do
	declare -n fig=small$c cpu=smallcpu$c
	bench_row "tls-strip" "nginx plain HTTP (limit)" "req/s 1 KiB c$c" \
	    "${fig[limit]}" 1.00 "the limit"
	for peer in $PEERS; do
		bench_row "tls-strip" "$peer" "req/s 1 KiB c$c" "${fig[$peer]}" \
		    "$(ratio "${fig[$peer]}" "${fig[limit]}")" \
		    "of limit; target >= 0.45"
	done
	for peer in $PEERS; do
		bench_row "tls-strip" "$peer" "ms CPU/1k req c$c" \
		    "${cpu[$peer]}" "$(ratio "${cpu[$peer]}" "${cpu[hitch]}")" \
		    "of hitch; lower is better"
	done
	unset -n fig cpu
done
bench_row "tls-strip" "nginx plain HTTP (limit)" "MB/s 1 MiB" \
    "${big[limit]}" 1.00 "the limit"
for peer in $PEERS; do
	bench_row "tls-strip" "$peer" "MB/s 1 MiB" "${big[$peer]}" \
	    "$(ratio "${big[$peer]}" "${big[limit]}")" "of limit; target >= 0.45"
done
bench_note "tls-strip: TLS 1.3 (s_time -new, wrk), $SECS s per run," \
    "median of $BENCH_RUNS; haproxy in mode tcp with 2 threads, hitch" \
    "with $(nproc) workers (nproc), nginx with 1 worker"
