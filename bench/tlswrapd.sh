#!/bin/bash
# tlswrapd.sh - the HTTP/HTTPS gateway against stunnel (client mode,
# verifying), nginx (proxy_pass https with upstream keepalive) and
# haproxy (server ... ssl verify required, http-reuse always), with wrk
# over HTTPS straight to the nginx origin as the limit: keep-alive
# requests/s of a 1 KiB file, then MB/s of a 1 MiB file, and the CPU
# time each gateway spent per request of each (steadier than the rates
# on a shared machine).

. "$(dirname "$0")/lib.sh"

SECS=${TLSWRAP_SECONDS:-5}
CONNS=${TLSWRAP_CONNS:-32}
NP=$(free_port)		# the HTTPS origin
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
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > "$T/srv.ext"
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

start_origin() {
	mkdir -p "$T/www"
	head -c 1024 /dev/urandom > "$T/www/1k"
	head -c 1048576 /dev/urandom > "$T/www/1m"
	chmod -R go+rX "$T"
	nginx_conf origin "server { listen 127.0.0.1:$NP ssl http2;
	    ssl_certificate $T/srv.crt; ssl_certificate_key $T/srv.key;
	    ssl_session_cache shared:o:1m; root $T/www; }"
	peer_start origin nginx -c "$T/origin/nginx.conf"
	wait_port "$NP"
}

start_tlswrapd() {
	peer_start tlswrapd "$GTR_BIN/tlswrapd" -q -l "127.0.0.1:$WP" \
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
	connect = 127.0.0.1:$NP
	sni = localhost
	verifyChain = yes
	checkHost = localhost
	CAfile = $T/ca.pem
	EOF
	peer_start stunnel stunnel "$T/stunnel.conf"
	wait_port "$SP"
}

start_nginx_gw() {
	nginx_conf gw "upstream o { server 127.0.0.1:$NP; keepalive 64; }
	    server { listen 127.0.0.1:$XP; location / {
	    proxy_pass https://o; proxy_http_version 1.1;
	    proxy_set_header Connection \"\"; proxy_buffering off;
	    proxy_ssl_verify on; proxy_ssl_trusted_certificate $T/ca.pem;
	    proxy_ssl_name localhost; proxy_ssl_server_name on;
	    proxy_ssl_session_reuse on; } }"
	peer_start nginx nginx -c "$T/gw/nginx.conf"
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
		server o 127.0.0.1:$NP ssl verify required ca-file $T/ca.pem sni str(localhost) verifyhost localhost alpn h2,http/1.1
	EOF
	peer_start haproxy haproxy -db -f "$T/haproxy.cfg"
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

# rps NAME FILE: requests per second through NAME, or FAILED(why) when
# wrk saw non-2xx answers or socket errors.  NAME's CPU microseconds per
# request go to $T/cpu.NAME.FILE.
rps() {
	local out t0 t1 n
	t0=$(cpu_ticks "$1")
	out=$(wrk -t 2 -c "$CONNS" -d "${SECS}s" --timeout 10s \
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

# mbs NAME: MB/s of the 1 MiB file through NAME.
mbs() {
	local r
	r=$(rps "$1" 1m)
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

pki
start_origin
start_tlswrapd
start_stunnel || bench_fail tlswrapd "stunnel did not start"
start_nginx_gw || bench_fail tlswrapd "nginx gateway did not start"
start_haproxy || bench_fail tlswrapd "haproxy did not start"
NAMES="limit tlswrapd stunnel nginx haproxy"
for name in $NAMES; do
	wrk -t 1 -c 4 -d 1s "$(url "$name" 1k)" > /dev/null 2>&1	# warm
done
declare -A SMALL BIG
for name in $NAMES; do
	SMALL[$name]=$(runs rps "$name" 1k)
	BIG[$name]=$(runs mbs "$name")
done
RSS=$(rss_kib "$(peer_pid tlswrapd)")
label() {
	case $1 in
	limit) echo "wrk over HTTPS (limit)" ;;
	stunnel) echo "stunnel (client, verifying)" ;;
	nginx) echo "nginx proxy_pass https" ;;
	haproxy) echo "haproxy ssl verify" ;;
	*) echo "$1" ;;
	esac
}
for name in $NAMES; do
	bench_row tlswrapd "$(label "$name")" "1KiB req/s c$CONNS" \
	    "${SMALL[$name]}" "$(ratio "${SMALL[$name]}" "${SMALL[limit]}")"
done
for name in $NAMES; do
	bench_row tlswrapd "$(label "$name")" "1MiB MB/s c$CONNS" \
	    "${BIG[$name]}" "$(ratio "${BIG[$name]}" "${BIG[limit]}")"
done
for f in 1k 1m; do
	for name in $NAMES; do
		[ "$name" = limit ] && continue
		bench_row tlswrapd "$(label "$name")" "CPU us/$f req" \
		    "$(cat "$T/cpu.$name.$f")" \
		    "$(ratio "$(cat "$T/cpu.$name.$f")" \
		    "$(cat "$T/cpu.tlswrapd.$f")")" "last run"
	done
done
bench_note "tlswrapd: nginx origin over TLS 1.3 (ECDSA P-256, h2 offered)" \
    "on loopback; ratios to wrk straight to it; tlswrapd RSS after the" \
    "run ${RSS} KiB"
