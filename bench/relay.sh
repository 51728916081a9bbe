#!/bin/bash
# relay.sh - relay throughput: 2 GiB over loopback, one way and both ways
# at once, through relayd --raw and the TCP relays users would pick
# instead, against the direct path.  load.c is source and sink and checks
# every byte: a relay that drops or mangles data is LOST, not a rate.

. "$(dirname "$0")/lib.sh"

BYTES=${RELAY_BYTES:-2147483648}
SINK=$(free_port)
P=$(free_port)

# start_haproxy NAME SPLICE-LINE: haproxy in mode tcp from P to SINK,
# two threads (one per core).
start_haproxy() {
	cat > "$T/$1.cfg" <<-EOF
	global
		nbthread 2
		maxconn 1000
	defaults
		mode tcp
		timeout connect 5s
		timeout client 60s
		timeout server 60s
		$2
	listen relay
		bind 127.0.0.1:$P
		server sink 127.0.0.1:$SINK
	EOF
	peer_start "$1" haproxy -db -f "$T/$1.cfg"
}

# start_peer NAME: starts the relay NAME from P to SINK.
start_peer() {
	case $1 in
	relayd)
		peer_start relayd "$GTR_BIN/relayd" $GTR_FLAGS --raw \
		    -l "127.0.0.1:$P" -c "127.0.0.1:$SINK" ;;
	socat)
		peer_start socat socat \
		    "TCP-LISTEN:$P,bind=127.0.0.1,reuseaddr,fork" \
		    "TCP:127.0.0.1:$SINK" ;;
	haproxy)
		start_haproxy haproxy 'no option splice-auto' ;;
	haproxy-splice)
		start_haproxy haproxy-splice 'option splice-auto' ;;
	rinetd)
		printf '127.0.0.1 %s 127.0.0.1 %s\n' "$P" "$SINK" \
		    > "$T/rinetd.conf"
		peer_start rinetd rinetd -f -c "$T/rinetd.conf" ;;
	redir)
		peer_start redir redir -n -l err "127.0.0.1:$P" \
		    "127.0.0.1:$SINK" ;;
	esac
}

# transfer PORT [-2]: prints MB/s of one transfer, or LOST / CORRUPT /
# STALLED when it was not byte-exact.
transfer() {
	local port=$1 out
	shift
	out=$(timeout 300 "$LOAD" throughput -p "$port" -n "$BYTES" "$@" \
	    2>/dev/null)
	echo "${out:-STALLED}"
}

# measure_peer PEER: appends one transfer each way to one[PEER] and
# two[PEER] (space-separated), starting and stopping the peer around them.
measure_peer() {
	local peer=$1 port=$P
	case $peer in
	direct)
		port=$SINK ;;
	relayd)
		if ! have_gtr relayd; then
			one[$peer]=MISSING
			two[$peer]=MISSING
			return
		fi
		start_peer "$peer" ;;
	*)
		start_peer "$peer" ;;
	esac
	if ! wait_port "$port" 2> /dev/null; then
		one[$peer]=NOSTART
		two[$peer]=NOSTART
	else
		one[$peer]="${one[$peer]:-} $(transfer "$port")"
		two[$peer]="${two[$peer]:-} $(transfer "$port" -2)"
	fi
	peer_stop "$peer"
}

peer_start sink "$LOAD" sink -p "$SINK"
wait_port "$SINK" || { bench_fail relay "load sink did not start"; exit 1; }

# Runs go round the peers in turn, so a busy moment on the machine
# lands on every peer alike rather than on one of them.
peers="direct relayd socat haproxy haproxy-splice rinetd redir"
declare -A one two
for run in $(seq "$BENCH_RUNS"); do
	for peer in $peers; do
		case ${one[$peer]:-} in MISSING|NOSTART) continue ;; esac
		measure_peer "$peer"
	done
done
for peer in $peers; do
	one[$peer]=$(median ${one[$peer]})
	two[$peer]=$(median ${two[$peer]})
done

# best_peer ARRAY: prints "name rate" of the fastest peer that is not
# gtr's and not the direct path.
best_peer() {
	local -n a=$1
	local p best= rate=0
	for p in socat haproxy haproxy-splice rinetd redir; do
		case ${a[$p]} in ''|*[!0-9]*) continue ;; esac
		if [ "${a[$p]}" -gt "$rate" ]; then
			best=$p
			rate=${a[$p]}
		fi
	done
	echo "$best $rate"
}

for mode in one two; do
	declare -n res=$mode
	if [ $mode = one ]; then
		sec="relay 1-way"
		fig="MB/s"
	else
		sec="relay 2-way"
		fig="MB/s (sum)"
	fi
	for peer in $peers; do
		name=$peer
		case $peer in
		relayd) name="relayd --raw" ;;
		haproxy) name="haproxy (no splice)" ;;
		haproxy-splice) name="haproxy (splice-auto)" ;;
		esac
		bench_row "$sec" "$name" "$fig" "${res[$peer]}" \
		    "$(ratio "${res[$peer]}" "${res[direct]}")" "of direct"
	done
	read -r bp brate <<< "$(best_peer $mode)"
	bench_row "$sec" "relayd / best peer $bp" "x" "" \
	    "$(ratio "${res[relayd]}" "$brate")" "target >= 1.5"
	unset -n res
done
bench_note "relay: $BYTES bytes each way per run, median of $BENCH_RUNS" \
    "runs; 2-way MB/s is both directions summed"
