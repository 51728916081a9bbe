#!/bin/bash
# tlswrapd.sh - the HTTP/HTTPS gateway against stunnel (client mode,
# verifying), nginx (proxy_pass https with upstream keepalive) and
# haproxy (server ... ssl verify required, http-reuse always), with wrk
# over HTTPS straight to the nginx origin as the limit: keep-alive
# requests/s of a 1 KiB file, then MB/s of a 1 MiB file, and the CPU
# time each gateway spent per request of each (steadier than the rates
# on a shared machine).
#
# Two origins, one after the other, each with every gateway:
#   h2   nginx offering HTTP/2 by ALPN on 127.0.0.1 (1 KiB and 1 MiB
#        with wrk -t2 -c32)
#   h1   nginx speaking HTTP/1.1 only, listening on 127.0.0.1 and ::1,
#        which every gateway reaches by the name localhost as a stock
#        Debian resolves it (::1 first, then 127.0.0.1: /etc/hosts in a
#        private mount namespace, see with_hosts in lib.sh); 1 KiB with
#        wrk -t2 -c32, 1 MiB with wrk -t2 -c8
. "$(dirname "$0")/lib.sh"

SECS=${TLSWRAP_SECONDS:-5}
CONNS=${TLSWRAP_CONNS:-32}
NP=		# the HTTPS origin being measured
NP2=$(free_port)	# the HTTP/2 one
NP1=$(free_port)	# the HTTP/1.1-only one, on 127.0.0.1 and ::1
UP=		# how the gateways name it: 127.0.0.1 or localhost
ORIGIN=		# h2 or h1
WP=$(free_port)		# tlswrapd
SP=$(free_port)		# stunnel
XP=$(free_port)		# nginx as the gateway
HP=$(free_port)		# haproxy

if ! have_gtr tlswrapd; then
	bench_fail tlswrapd "not built"
	exit 1
fi
PATH=$PATH:/usr/sbin:/usr/bin
for cmd in wrk nginx; do
	command -v "$cmd" > /dev/null ||
	    { bench_fail tlswrapd "$cmd missing"; exit 1; }
done

# pki: a CA and an ECDSA P-256 certificate for localhost in $T.
pki() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
	    -nodes -days 2 -subj "/CN=gtr bench CA" -keyout "$T/ca.key" \
	    -out "$T/ca.pem" 2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -subj "/CN=localhost" -keyout "$T/srv.key" -out "$T/srv.csr" \
	    2>/dev/null
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n' \
	    > "$T/srv.ext"
	openssl x509 -req -in "$T/srv.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" \
	    -CAcreateserial -days 2 -extfile "$T/srv.ext" -out "$T/srv.crt" \
	    2>/dev/null
}

# nginx_conf NAME SERVER...: an nginx configuration with one server block.
nginx_conf() {
	local name=$1
	shift
	mkdir -p "$T/$name"
	cat > "$T/$name/nginx.conf" <<-EOF
	daemon off;
	worker_processes auto;
	pid $T/$name/nginx.pid;
	error_log $T/$name/error.log;
	events { worker_connections 4096; }
	http {
		access_log off;
		client_body_temp_path $T/$name;
		proxy_temp_path $T/$name;
		fastcgi_temp_path $T/$name;
		uwsgi_temp_path $T/$name;
		scgi_temp_path $T/$name;
		keepalive_requests 1000000;
		$*
	}
	EOF
}

# start_origin h2|h1: the nginx origin for ORIGIN, serving /1k and /1m.
start_origin() {
	local listen
	mkdir -p "$T/www"
	[ -f "$T/www/1m" ] || {
		head -c 1024 /dev/urandom > "$T/www/1k"
		head -c 1048576 /dev/urandom > "$T/www/1m"
	}
	chmod -R go+rX "$T"
	ORIGIN=$1
	gw
	if [ "$1" = h2 ]; then
		NP=$NP2 UP=127.0.0.1
		listen="listen 127.0.0.1:$NP ssl http2;"
	else
		NP=$NP1 UP=localhost
		listen="listen 127.0.0.1:$NP ssl; listen [::1]:$NP ssl;"
	fi
	nginx_conf "origin-$1" "server { $listen
	    ssl_certificate $T/srv.crt; ssl_certificate_key $T/srv.key;
	    ssl_session_cache shared:o:1m; root $T/www; }"
	peer_start origin nginx -c "$T/origin-$1/nginx.conf"
	wait_port "$NP"
}

# gw: the prefix a gateway runs with: a stock Debian's /etc/hosts for
# h1 (lib.sh's hosts_wrap), none for h2.
gw() {
	GW=()
	if [ "$ORIGIN" = h1 ]; then
		GW=("${HOSTS_WRAP[@]}")
	fi
}

start_tlswrapd() {
	peer_start tlswrapd "${GW[@]}" "$GTR_BIN/tlswrapd" $GTR_FLAGS \
	    -l "127.0.0.1:$WP" \
	    --cacert "$T/ca.pem" -c "https://localhost:$NP"
	wait_port "$WP"
}

start_stunnel() {
	cat > "$T/stunnel.conf" <<-EOF
	foreground = yes
	pid =
	debug = 3
	[wrap]
	client = yes
	accept = 127.0.0.1:$SP
	connect = $UP:$NP
	sni = localhost
	verifyChain = yes
	checkHost = localhost
	CAfile = $T/ca.pem
	EOF
	peer_start stunnel "${GW[@]}" stunnel "$T/stunnel.conf"
	wait_port "$SP"
}

start_nginx_gw() {
	nginx_conf gw "upstream o { server $UP:$NP; keepalive 64; }
	    server { listen 127.0.0.1:$XP; location / {
	    proxy_pass https://o; proxy_http_version 1.1;
	    proxy_set_header Connection \"\"; proxy_buffering off;
	    proxy_ssl_verify on; proxy_ssl_trusted_certificate $T/ca.pem;
	    proxy_ssl_name localhost; proxy_ssl_server_name on;
	    proxy_ssl_session_reuse on; } }"
	peer_start nginx "${GW[@]}" nginx -c "$T/gw/nginx.conf"
	wait_port "$XP"
}

start_haproxy() {
	command -v haproxy > /dev/null || return 1
	cat > "$T/haproxy.cfg" <<-EOF
	global
		maxconn 4096
	defaults
		mode http
		timeout connect 10s
		timeout client 60s
		timeout server 60s
		http-reuse always
	frontend f
		bind 127.0.0.1:$HP
		default_backend b
	backend b
		server o $UP:$NP ssl verify required ca-file $T/ca.pem sni str(localhost) verifyhost localhost alpn h2,http/1.1
	EOF
	peer_start haproxy "${GW[@]}" haproxy -db -f "$T/haproxy.cfg"
	wait_port "$HP"
}

# url NAME FILE: where wrk fetches FILE through NAME.
url() {
	case $1 in
	limit) echo "https://127.0.0.1:$NP/$2" ;;
	tlswrapd) echo "http://127.0.0.1:$WP/$2" ;;
	stunnel) echo "http://127.0.0.1:$SP/$2" ;;
	nginx) echo "http://127.0.0.1:$XP/$2" ;;
	haproxy) echo "http://127.0.0.1:$HP/$2" ;;
	esac
}

# cpu_ticks NAME: CPU clock ticks (user and system) spent so far by
# NAME's processes (its process group), or 0 for the limit.
cpu_ticks() {
	local p pid t=0
	[ "$1" = limit ] && { echo 0; return; }
	pid=$(peer_pid "$1")
	for p in $(pgrep -g "$pid"); do
		t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" \
		    2>/dev/null || echo 0)))
	done
	echo "$t"
}

# rps NAME FILE [CONNS]: requests per second through NAME, or
# FAILED(why) when wrk saw non-2xx answers or socket errors.  NAME's CPU
# microseconds per request go to $T/cpu.NAME.FILE.
rps() {
	local out t0 t1 n
	t0=$(cpu_ticks "$1")
	out=$(wrk -t 2 -c "${3:-$CONNS}" -d "${SECS}s" --timeout 10s \
	    "$(url "$1" "$2")" 2>&1)
	t1=$(cpu_ticks "$1")
	n=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' <<< "$out")
	awk -v t="$((t1 - t0))" -v n="${n:-0}" -v hz="$(getconf CLK_TCK)" \
	    'BEGIN { if (n > 0 && t > 0) printf "%.0f\n", t * 1e6 / hz / n;
	    else print "-" }' > "$T/cpu.$1.$2"
	if grep -q 'Non-2xx' <<< "$out"; then
		echo "FAILED(non-2xx)"
		return
	fi
	if grep -q 'Socket errors' <<< "$out"; then
		echo "FAILED($(sed -n 's/.*Socket errors: //p' <<< "$out" |
		    tr -d ' ,'))"
		return
	fi
	awk '/^Requests\/sec:/ { printf "%.0f\n", $2 }' <<< "$out"
}

# mbs NAME CONNS: MB/s of the 1 MiB file through NAME.
mbs() {
	local r
	r=$(rps "$1" 1m "$2")
	case $r in
	''|*[!0-9]*) echo "${r:-FAILED}" ;;
	*) awk -v r="$r" 'BEGIN { printf "%.0f\n", r * 1048576 / 1e6 }' ;;
	esac
}

# runs FUNC ARGS...: the median of BENCH_RUNS runs.
runs() {
	local i v=()
	for i in $(seq "$BENCH_RUNS"); do
		v+=("$("$@")")
	done
	median "${v[@]}"
}

label() {
	case $1 in
	limit) echo "wrk over HTTPS (limit)" ;;
	stunnel) echo "stunnel (client, verifying)" ;;
	nginx) echo "nginx proxy_pass https" ;;
	haproxy) echo "haproxy ssl verify" ;;
	*) echo "$1" ;;
	esac
}

# measure h2|h1 BIGCONNS: starts that origin and every gateway in front
# of it, prints its rows and stops them all.
measure() {
	local o=$1 big=$2 name f sec
	if ! start_origin "$o"; then
		bench_fail tlswrapd "$o origin did not start"
		return 1
	fi
	start_tlswrapd || bench_fail tlswrapd "tlswrapd did not start ($o)"
	start_stunnel || bench_fail tlswrapd "stunnel did not start ($o)"
	start_nginx_gw || bench_fail tlswrapd "nginx gateway did not start ($o)"
	start_haproxy || bench_fail tlswrapd "haproxy did not start ($o)"
	for name in $NAMES; do
		wrk -t 1 -c 4 -d 1s "$(url "$name" 1k)" > /dev/null 2>&1	# warm
	done
	declare -A SMALL BIG
	for name in $NAMES; do
		SMALL[$name]=$(runs rps "$name" 1k)
		BIG[$name]=$(runs mbs "$name" "$big")
	done
	RSS[$o]=$(rss_kib "$(peer_pid tlswrapd)")
	sec="tlswrapd $o"
	for name in $NAMES; do
		bench_row "$sec" "$(label "$name")" "1KiB req/s c$CONNS" \
		    "${SMALL[$name]}" "$(ratio "${SMALL[$name]}" "${SMALL[limit]}")"
	done
	for name in $NAMES; do
		bench_row "$sec" "$(label "$name")" "1MiB MB/s c$big" \
		    "${BIG[$name]}" "$(ratio "${BIG[$name]}" "${BIG[limit]}")"
	done
	for f in 1k 1m; do
		for name in $NAMES; do
			[ "$name" = limit ] && continue
			bench_row "$sec" "$(label "$name")" "CPU us/$f req" \
			    "$(cat "$T/cpu.$name.$f")" \
			    "$(ratio "$(cat "$T/cpu.$name.$f")" \
			    "$(cat "$T/cpu.tlswrapd.$f")")" "last run"
		done
	done
	for name in origin tlswrapd stunnel nginx haproxy; do
		peer_stop "$name"
	done
}

pki
hosts_wrap
NAMES="limit tlswrapd stunnel nginx haproxy"
declare -A RSS
measure h2 "$CONNS"
measure h1 "${TLSWRAP_BIG_CONNS:-8}"
bench_note "tlswrapd: nginx origins over TLS 1.3 (ECDSA P-256) on" \
    "loopback, h2: HTTP/2 offered, on 127.0.0.1; h1: HTTP/1.1 only, on" \
    "127.0.0.1 and ::1, named localhost ($HOSTS_NOTE); ratios to wrk" \
    "straight to the origin; tlswrapd RSS after the runs ${RSS[h2]:-?}" \
    "KiB (h2), ${RSS[h1]:-?} KiB (h1)"
