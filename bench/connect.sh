#!/bin/bash
# connect.sh - CONNECT proxies: short tunnels per second with setup
# latency at concurrency 1 and 64, then 5,000 idle tunnels held open
# (resident memory per tunnel, and whether each still works), for
# connectd against tinyproxy and squid, the direct path, and the ceiling
# (`load ceiling`: the least work a CONNECT proxy can do, so the most
# any proxy reaches on this machine).

. "$(dirname "$0")/lib.sh"

SECS=${CONNECT_SECONDS:-1}
IDLE=${IDLE_TUNNELS:-5000}
U=$(free_port)
declare -A PORT=([connectd]=$(free_port) [tinyproxy]=$(free_port)
    [squid]=$(free_port) [ceiling]=$(free_port))

# Two sockets per tunnel in the proxy, 5,000 tunnels: needs the hard
# limit (20,000 on the machines this runs on).
ulimit -n "$(ulimit -Hn)"

# start_proxy NAME: starts the CONNECT proxy NAME on PORT[NAME],
# allowing U.
start_proxy() {
	local P=${PORT[$1]}
	case $1 in
	ceiling)
		peer_start ceiling "$LOAD" ceiling -p "$P" -u "$U" ;;
	connectd)
		peer_start connectd "$GTR_BIN/connectd" $GTR_FLAGS \
		    -l "127.0.0.1:$P" --allow-dest 127.0.0.1 \
		    --allow-port "$U" --max-conns 20000 ;;
	tinyproxy)
		cat > "$T/tinyproxy.conf" <<-EOF
		Port $P
		Listen 127.0.0.1
		Timeout 600
		MaxClients 10000
		ConnectPort $U
		LogLevel Critical
		PidFile "$T/tinyproxy.pid"
		EOF
		peer_start tinyproxy tinyproxy -d -c "$T/tinyproxy.conf" ;;
	squid)
		start_squid "$P" ;;
	esac
}

# start_squid PORT: squid with no cache and no logs, everything in $T/squid
# (owned by squid's unprivileged user when we are root).
start_squid() {
	local P=$1 d=$T/squid
	mkdir -p "$d"
	[ "$(id -u)" = 0 ] && chown proxy: "$d" 2>/dev/null
	cat > "$d/squid.conf" <<-EOF
	http_port 127.0.0.1:$P
	acl tunnel_port port $U
	acl CONNECT method CONNECT
	http_access allow CONNECT localhost tunnel_port
	http_access deny all
	cache deny all
	cache_mem 8 MB
	access_log none
	cache_store_log none
	cache_log $d/cache.log
	pid_filename $d/squid.pid
	coredump_dir $d
	netdb_filename none
	max_filedescriptors $(ulimit -Hn)
	visible_hostname localhost
	shutdown_lifetime 0 seconds
	pinger_enable off
	EOF
	peer_start squid squid -N -f "$d/squid.conf"
}

# short_tunnels NAME CONC: prints "rate p50 p99 errors" for NAME
# (direct: straight to the echo upstream).
short_tunnels() {
	if [ "$1" = direct ]; then
		"$LOAD" connect -p "$U" -c "$2" -t "$SECS"
	else
		"$LOAD" connect -p "$U" -x "${PORT[$1]}" -c "$2" -t "$SECS"
	fi
}

# idle_tunnels NAME: prints "KiB-per-tunnel opened worked" for the proxy
# NAME (already started), measured from /proc around opening IDLE
# tunnels.
idle_tunnels() {
	local pid before after opened= worked= i lpid
	pid=$(peer_pid "$1")
	sleep 0.5
	before=$(rss_kib "$pid")
	"$LOAD" idle -p "$U" -x "${PORT[$1]}" -n "$IDLE" > "$T/idle.out" 2>&1 &
	lpid=$!
	for i in $(seq 1200); do
		opened=$(awk '/^opened/ { print $2 }' "$T/idle.out")
		[ -n "$opened" ] && break
		kill -0 "$lpid" 2>/dev/null || break
		sleep 0.1
	done
	sleep 1
	after=$(rss_kib "$pid")
	kill -USR1 "$lpid" 2>/dev/null
	wait "$lpid"
	worked=$(awk '/^worked/ { print $2 }' "$T/idle.out")
	if [ -z "$opened" ] || [ -z "$worked" ]; then
		echo "$1 idle: $(tr '\n' ' ' < "$T/idle.out")" \
		    "$(tail -n 3 "$T/$1.log" | tr '\n' ' ')" >&2
	fi
	awk -v b="$before" -v a="$after" -v n="$IDLE" -v o="${opened:-0}" \
	    -v w="${worked:-0}" 'BEGIN { printf "%.1f %d %d\n", (a - b) / n, o, w }'
}

peer_start echo "$LOAD" echo -p "$U"
wait_port "$U" || { bench_fail connect "load echo did not start"; exit 1; }

# start_all: starts every proxy and sets UP to the ones that listen.
start_all() {
	local px
	for px in ceiling connectd tinyproxy squid; do
		[ "$px" = connectd ] && ! have_gtr connectd && continue
		start_proxy "$px"
	done
	for px in ceiling connectd tinyproxy squid; do
		[ -n "$(peer_pid "$px")" ] || continue
		if wait_port "${PORT[$px]}" 2> /dev/null; then
			UP="$UP $px"
		else
			bench_fail connect "$px did not start: $(tail -n 3 \
			    "$T/$px.log" | tr '\n' ' ')"
			peer_stop "$px"
		fi
	done
}

# add KEY VALUE: appends VALUE to the space-separated list in KEY.
add() {
	local -n a=$1
	a[$2]="${a[$2]:-} $3"
}

declare -A rate p50 p99 err mem opened worked
# Every proxy listens at once and the rounds go round them in turn, so a
# busy moment on the machine lands on each alike.
UP=
start_all
proxies="direct$UP"
for round in $(seq "$BENCH_RUNS"); do
	for px in $proxies; do
		for c in 1 64; do
			read -r r a b e <<< "$(short_tunnels "$px" "$c")"
			add rate "$px.$c" "$r"
			add p50 "$px.$c" "$a"
			add p99 "$px.$c" "$b"
			add err "$px.$c" "$e"
		done
	done
done
for k in "${!rate[@]}"; do
	rate[$k]=$(median ${rate[$k]})
	p50[$k]=$(median ${p50[$k]})
	p99[$k]=$(median ${p99[$k]})
	err[$k]=$(echo ${err[$k]} | tr ' ' '\n' | awk '{ s += $1 } END { print s }')
done
for px in $proxies; do
	[ "$px" = direct ] || peer_stop "$px"
done

# A fresh proxy for the idle tunnels, alone on the machine.
for px in $proxies; do
	[ "$px" = direct ] || [ "$px" = ceiling ] && continue
	start_proxy "$px"
	wait_port "${PORT[$px]}" 2> /dev/null
	read -r mem[$px] opened[$px] worked[$px] <<< "$(idle_tunnels "$px")"
	peer_stop "$px"
done
proxies="direct ceiling connectd tinyproxy squid"

for c in 1 64; do
	for px in $proxies; do
		r=${rate[$px.$c]:-MISSING}
		note="p50 ${p50[$px.$c]:--} ms, p99 ${p99[$px.$c]:--} ms"
		[ "${err[$px.$c]:-0}" = 0 ] || note="$note, ${err[$px.$c]} FAILED"
		bench_row "connect c=$c" "$px" "tunnels/s" "$r" \
		    "$(ratio "$r" "${rate[tinyproxy.$c]:-}")" \
		    "$note (ratio to tinyproxy)"
	done
done
for px in connectd tinyproxy squid; do
	m=${mem[$px]:-MISSING}
	bench_row "idle $IDLE" "$px" "KiB/tunnel" "$m" \
	    "$(ratio "$m" "${mem[tinyproxy]:-}")" \
	    "opened ${opened[$px]:-0}, worked ${worked[$px]:-0} (ratio to tinyproxy)"
done
bench_note "connect: median of $BENCH_RUNS windows of $SECS s each;" \
    "latency from connect(2) to the first echo back through the tunnel"
bench_note "idle: VmRSS of the proxy's processes after opening" \
    "$IDLE tunnels minus before, per tunnel"
