#!/usr/bin/env bats
# haproxy.bats - gtr with a real HAProxy (Debian's, 2.6) on both sides of
# the PROXY protocol.
#
# In front: contrib/haproxy/haproxy.cfg as shipped (only its addresses,
# ports and log target changed) balancing three relayd instances with
# send-proxy-v2 and health checks, while one is killed under load.
#
# Behind: tlsstripd --proxy-protocol v2 tells haproxy what the handshake
# said as the TLVs of haproxy's proxy-protocol.txt.  haproxy 2.6 exposes
# only PP2_TYPE_AUTHORITY (fc_pp_authority) and checks PP2_TYPE_CRC32C;
# nginx 1.22 has no $proxy_protocol_tlv_* (they came in 1.23.2).  So the
# rest (ALPN and PP2_TYPE_SSL with its sub-TLVs) is read byte by byte from
# a socat capture (pp2_dump below) and compared with what haproxy itself
# writes with send-proxy-v2-ssl for the same handshake.  Last, gtr's own
# reader (relayd --accept-proxy) behind tlsstripd, TLVs and all.

load helpers/common
bats_require_minimum_version 1.5.0

CONTRIB=$BATS_TEST_DIRNAME/../contrib

# pki: a CA in $T/pki with a certificate for localhost; a second CA in
# $T/cca with a client certificate, CN=alice.
pki() {
	make_ca "$T/pki"
	make_cert "$T/pki" localhost "DNS:localhost,IP:127.0.0.1"
	make_ca "$T/cca"
	make_cert "$T/cca" alice "DNS:alice.client"
}

# wait_listen PORT: waits up to 10 s until a socket listens on PORT,
# without connecting to it (a connection would be one to log, or the
# one a capture takes).
wait_listen() {
	local i
	for i in $(seq 100); do
		[ -n "$(ss -Hltn "sport = :$1")" ] && return 0
		sleep 0.1
	done
	echo "nothing listens on port $1 after 10 s" >&2
	return 1
}

# haproxy_start NAME CONFIG PORT: haproxy in the foreground on CONFIG,
# its log (stderr) in $T/NAME.log; waits until it listens on PORT.
haproxy_start() {
	haproxy -c -q -f "$2" || return 1
	bg "$1" haproxy -db -f "$2"
	wait_listen "$3"
}

# capture NAME: a socat on $CAP that writes the first connection's bytes
# to $T/NAME.bin and exits when the sender closes.
capture() {
	CAP=$(free_port)
	bg "cap_$1" socat -u "TCP-LISTEN:$CAP,bind=127.0.0.1,reuseaddr" \
		"CREATE:$T/$1.bin"
	wait_listen "$CAP"
}

# wait_gone PID: waits up to 10 s until PID has exited.
wait_gone() {
	local i
	for i in $(seq 100); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	echo "process $1 still runs after 10 s" >&2
	return 1
}

# handshake PORT ARGS...: a TLS 1.3 handshake with SNI localhost and ALPN
# http/1.1, one request, then close_notify (openssl s_client at EOF).
handshake() {
	local port=$1
	shift
	printf 'GET /pp HTTP/1.1\r\nHost: localhost\r\n\r\n' |
		timeout 20 openssl s_client -connect "127.0.0.1:$port" \
		-servername localhost -CAfile "$T/pki/ca.pem" \
		-alpn http/1.1 "$@" > "$T/s_client.out" 2>&1
}

# pp2_dump FILE: the PROXY v2 header at the start of FILE, one fact a
# line: the command and family, each TLV by name (the SSL TLV's client
# bits, verify field and sub-TLVs as ssl.*), whether the CRC32C matches
# the header, and the bytes after the header as rest=.  Exits 1 on a
# header that does not parse, TLVs that overrun their parent included.
pp2_dump() {
	python3 - "$1" <<-'EOF'
	import struct, sys
	b = open(sys.argv[1], "rb").read()
	assert b[:12] == b"\r\n\r\n\0\r\nQUIT\n", "no v2 signature"
	n = struct.unpack(">H", b[14:16])[0]
	hdr, rest = b[:16 + n], b[16 + n:]
	assert len(hdr) == 16 + n, "header cut short"
	print("cmd=0x%02x fam=0x%02x" % (b[12], b[13]))
	alen = {0x11: 12, 0x21: 36}.get(b[13], 0)
	def crc32c(data):
	    c = 0xffffffff
	    for x in data:
	        c ^= x
	        for _ in range(8):
	            c = (c >> 1) ^ (0x82f63b78 if c & 1 else 0)
	    return c ^ 0xffffffff
	names = {1: "alpn", 2: "authority", 3: "crc32c", 4: "noop",
	    5: "unique_id", 0x20: "ssl", 0x21: "ssl.version", 0x22: "ssl.cn",
	    0x23: "ssl.cipher", 0x24: "ssl.sig_alg", 0x25: "ssl.key_alg"}
	def tlvs(v):
	    i = 0
	    while i < len(v):
	        assert i + 3 <= len(v), "TLV head cut short"
	        t, l = v[i], struct.unpack(">H", v[i + 1:i + 3])[0]
	        assert i + 3 + l <= len(v), "TLV 0x%02x overruns" % t
	        yield i, t, v[i + 3:i + 3 + l]
	        i += 3 + l
	base = 16 + alen
	for off, t, v in tlvs(hdr[base:]):
	    name = names.get(t, "0x%02x" % t)
	    if t == 3:
	        z = bytearray(hdr)
	        z[base + off + 3:base + off + 7] = b"\0\0\0\0"
	        ok = crc32c(bytes(z)) == struct.unpack(">I", v)[0]
	        print("crc32c=" + ("ok" if ok else "bad"))
	    elif t == 0x20:
	        print("ssl.client=0x%02x" % v[0])
	        print("ssl.verify=%d" % struct.unpack(">I", v[1:5])[0])
	        for _, st, sv in tlvs(v[5:]):
	            print("%s=%s" % (names.get(st, "ssl.0x%02x" % st),
	                sv.decode()))
	    else:
	        print("%s=%s" % (name, v.decode()))
	print("rest=%r" % rest)
	EOF
}

# pool_start: contrib/haproxy/haproxy.cfg as shipped, with only its
# addresses, ports and log target changed: nginx as the origin (with a
# 32 KiB file), the relayd instances its comment runs, HAProxy in front on $FP
# with its stats socket at $T/admin.sock.  Sets RP1..RP3, the instances'
# ports, and relayd1_pid..relayd3_pid.
pool_start() {
	local cfg=$CONTRIB/haproxy/haproxy.cfg line i np args
	np=$(free_port)
	head -c 32768 /dev/urandom > "$T/big.bin"
	mkdir -p "$T/www"
	cp "$T/big.bin" "$T/www/big.bin"
	nginx_start "$np"
	i=0
	while read -r line; do
		i=$((i + 1))
		eval "RP$i=\$(free_port)"
		local port_var=RP$i
		line=${line/127.0.0.1:808$i/127.0.0.1:${!port_var}}
		line=${line/127.0.0.1:8000/127.0.0.1:$np}
		read -ra args <<< "$line"
		bg "relayd$i" "$GTR_BIN/${args[0]}" "${args[@]:1}"
	done < <(sed -n 's/^#   \(relayd -l .*\)$/\1/p' "$cfg")
	[ "$i" -eq 3 ]
	FP=$(free_port)
	sed -e 's|^\tlog /dev/log local0$|\tlog stderr format raw local0|' \
	    -e "s|/run/haproxy/admin.sock|$T/admin.sock|" \
	    -e "s|^\tbind :80$|\tbind 127.0.0.1:$FP|" \
	    -e "s|^\(\tserver relayd1\) 127.0.0.1:8081$|\1 127.0.0.1:$RP1|" \
	    -e "s|^\(\tserver relayd2\) 127.0.0.1:8082$|\1 127.0.0.1:$RP2|" \
	    -e "s|^\(\tserver relayd3\) 127.0.0.1:8083$|\1 127.0.0.1:$RP3|" \
	    "$cfg" > "$T/haproxy.cfg"
	# Each change took: the recipe has not drifted from the test.
	grep -qx '	log stderr format raw local0' "$T/haproxy.cfg"
	grep -q "^	stats socket $T/admin.sock " "$T/haproxy.cfg"
	grep -qx "	bind 127.0.0.1:$FP" "$T/haproxy.cfg"
	[ "$(grep -cE "^	server relayd[123] 127.0.0.1:($RP1|$RP2|$RP3)\$" \
	    "$T/haproxy.cfg")" -eq 3 ]
	for i in 1 2 3; do
		local port_var=RP$i
		wait_log "listening on 127.0.0.1:${!port_var}" "$T/relayd$i.log"
	done
	haproxy_start haproxy "$T/haproxy.cfg" "$FP"
	# Up only once a check passed: every instance answers checks.
	for i in 1 2 3; do
		wait_up "relayd$i"
	done
}

# stat SERVER FIELD: a field of HAProxy's "show stat" for relayd/SERVER
# (5: open connections, 18: status).
stat() {
	echo "show stat" | socat stdio "unix-connect:$T/admin.sock" |
		awk -F, -v s="$1" -v f="$2" '$1 == "relayd" && $2 == s { print $f }'
}

# wait_up SERVER: waits up to 10 s until HAProxy has SERVER UP.
wait_up() {
	local i
	for i in $(seq 100); do
		[ "$(stat "$1" 18)" = UP ] && return 0
		sleep 0.1
	done
	echo "$1 is not UP after 10 s" >&2
	return 1
}

# load_start: four clients from 127.0.0.2, each a new connection after
# the other through HAProxy until $T/stop appears, one line each in
# $T/loadN.log: curl's exit code, the status, the bytes and curl's port.
load_start() {
	local w
	for w in 1 2 3 4; do
		bg "load$w" bash -c 'while [ ! -e "$0/stop" ]; do
			curl -s -o /dev/null --max-time 20 --interface 127.0.0.2 \
			    -w "%{exitcode} %{http_code} %{size_download} %{local_port}\n" \
			    "http://127.0.0.1:$1/big.bin"
		done' "$T" "$FP"
	done
}

# answers: how many answers the clients have had so far.
answers() {
	cat "$T"/load?.log | wc -l
}

# wait_answers N: waits up to 30 s until the clients have had N answers.
wait_answers() {
	local i
	for i in $(seq 300); do
		[ "$(answers)" -ge "$1" ] && return 0
		sleep 0.1
	done
	echo "only $(answers) answers after 30 s" >&2
	return 1
}

# load_stop: stops the clients, waits for them and for HAProxy's log line
# of every connection they made.
load_stop() {
	local w pid i
	touch "$T/stop"
	for w in 1 2 3 4; do
		pid=load${w}_pid
		wait_gone "${!pid}"
	done
	for i in $(seq 100); do
		[ "$(grep -c '^127\.0\.0\.2:' "$T/haproxy.log")" -ge "$(answers)" ] &&
			return 0
		sleep 0.1
	done
	echo "HAProxy logged fewer connections than the clients made" >&2
	return 1
}

# ports_of FILE... : the client ports of the relayd access lines in the
# files, sorted; fails if any names a client other than 127.0.0.2.
ports_of() {
	! grep -h ' client=' "$@" | grep -v ' client=127\.0\.0\.2:' || return 1
	grep -ho ' client=127\.0\.0\.2:[0-9]*' "$@" | cut -d: -f2 | sort
}

# haproxy_ports SERVER...: the client ports HAProxy logged as sent to
# those servers, sorted.
haproxy_ports() {
	local re
	re=$(IFS='|'; echo "$*")
	grep -E "^127\.0\.0\.2:[0-9]+ .* relayd/($re) " "$T/haproxy.log" |
		cut -d' ' -f1 | cut -d: -f2 | sort
}

# reader_cfg PORT: haproxy reading PROXY v2 on PORT (http mode), which
# answers each request with what it read: the client's address and the
# authority TLV.
reader_cfg() {
	cat > "$T/reader.cfg" <<-EOF
	global
		log stderr format raw local0 info
	defaults
		mode http
		log global
		option httplog
		timeout connect 5s
		timeout client 10s
		timeout server 10s
	frontend reader
		bind 127.0.0.1:$1 accept-proxy
		http-request return status 200 content-type text/plain lf-string "src=[%[src]] authority=[%[fc_pp_authority]] pp=[%[fc_rcvd_proxy]]\n"
	EOF
}

@test "tlsstripd --proxy-protocol v2: haproxy reads the client's address and its SNI (fc_pp_authority)" {
	pki
	make_cert "$T/pki" other "DNS:other.test"
	HP=$(free_port)
	reader_cfg "$HP"
	haproxy_start reader "$T/reader.cfg" "$HP"
	TP=$(free_port)
	bg tlsstripd tlsstripd -l "127.0.0.1:$TP" --cert "$T/pki/localhost.pem" \
		--cert "$T/pki/other.pem" --proxy-protocol v2 -c "127.0.0.1:$HP"
	wait_port "$TP"
	run curl -sS --max-time 10 --cacert "$T/pki/ca.pem" \
		--resolve "other.test:$TP:127.0.0.1" "https://other.test:$TP/"
	[ "$status" -eq 0 ]
	[ "$output" = "src=[127.0.0.1] authority=[other.test] pp=[1]" ]
	# No SNI (an address in the URL): no authority, and still a header.
	run curl -sS --max-time 10 --cacert "$T/pki/ca.pem" \
		"https://127.0.0.1:$TP/"
	[ "$status" -eq 0 ]
	[ "$output" = "src=[127.0.0.1] authority=[] pp=[1]" ]
	# haproxy refused nothing.
	run ! grep -iE 'error|invalid|bad' "$T/reader.log"
}

@test "tlsstripd --proxy-protocol v2: haproxy checks the CRC32C over the whole header, TLVs and all" {
	pki
	capture strip
	TP=$(free_port)
	bg tlsstripd tlsstripd -l "127.0.0.1:$TP" --cert "$T/pki/localhost.pem" \
		--proxy-protocol v2 -c "127.0.0.1:$CAP"
	wait_port "$TP"
	handshake "$TP"
	wait_gone "$cap_strip_pid"
	run pp2_dump "$T/strip.bin"
	[ "$status" -eq 0 ]
	[[ "$output" == *"crc32c=ok"* ]]
	[[ "$output" == *"ssl.cipher=TLS_"* ]]
	HP=$(free_port)
	reader_cfg "$HP"
	haproxy_start reader "$T/reader.cfg" "$HP"
	# The captured bytes as they came: haproxy takes the header.
	run timeout 20 socat -t 10 - "TCP:127.0.0.1:$HP" < "$T/strip.bin"
	[[ "$output" == *"authority=[localhost] pp=[1]"* ]]
	# One byte of the SSL TLV's cipher name changed, which haproxy 2.6
	# does not read: only the checksum can tell, and haproxy refuses it.
	# The same bytes with the checksum summed again pass: the refusal
	# was the checksum's, so the one tlsstripd wrote is right.
	python3 - "$T/strip.bin" "$T/bad.bin" "$T/resummed.bin" <<-'EOF'
	import struct, sys
	b = bytearray(open(sys.argv[1], "rb").read())
	b[b.index(b"TLS_AES")] = ord("X")
	open(sys.argv[2], "wb").write(b)
	n = 16 + struct.unpack(">H", b[14:16])[0]
	at = 16 + 12 + 3	# TCP4 addresses, then the CRC32C TLV first
	assert b[at - 3] == 3
	b[at:at + 4] = b"\0\0\0\0"
	c = 0xffffffff
	for x in b[:n]:
	    c ^= x
	    for _ in range(8):
	        c = (c >> 1) ^ (0x82f63b78 if c & 1 else 0)
	b[at:at + 4] = struct.pack(">I", c ^ 0xffffffff)
	open(sys.argv[3], "wb").write(b)
	EOF
	run timeout 20 socat -t 10 - "TCP:127.0.0.1:$HP" < "$T/bad.bin"
	[[ "$output" != *authority=* ]]
	wait_log 'invalid PROXY protocol header' "$T/reader.log"
	run timeout 20 socat -t 10 - "TCP:127.0.0.1:$HP" < "$T/resummed.bin"
	[[ "$output" == *"authority=[localhost] pp=[1]"* ]]
	[ "$(grep -c 'invalid PROXY protocol header' "$T/reader.log")" -eq 1 ]
}

@test "tlsstripd --proxy-protocol v2: ALPN, SNI and the SSL TLV are what haproxy's own send-proxy-v2-ssl writes, with a client certificate" {
	pki
	# haproxy terminating TLS with the same certificate and client CA,
	# sending every TLS fact it has to a capture.
	capture hap
	HS=$(free_port)
	cat > "$T/writer.cfg" <<-EOF
	global
		log stderr format raw local0 info
	defaults
		mode tcp
		log global
		timeout connect 5s
		timeout client 10s
		timeout server 10s
	frontend writer
		bind 127.0.0.1:$HS ssl crt $T/pki/localhost.pem alpn http/1.1 ca-file $T/cca/ca.pem verify optional
		default_backend cap
	backend cap
		server cap 127.0.0.1:$CAP send-proxy-v2 proxy-v2-options ssl,cert-cn,ssl-cipher,cert-sig,cert-key,authority,crc32c
	EOF
	haproxy_start writer "$T/writer.cfg" "$HS"
	handshake "$HS" -ciphersuites TLS_AES_128_GCM_SHA256 \
		-cert "$T/cca/alice.crt" -key "$T/cca/alice.key"
	wait_gone "$cap_hap_pid"
	run pp2_dump "$T/hap.bin"
	[ "$status" -eq 0 ]
	grep -v '^rest=' <<< "$output" | sort > "$T/hap.txt"

	capture strip
	TP=$(free_port)
	bg tlsstripd tlsstripd -l "127.0.0.1:$TP" --cert "$T/pki/localhost.pem" \
		--client-ca "$T/cca/ca.pem" --proxy-protocol v2 \
		-c "127.0.0.1:$CAP"
	wait_port "$TP"
	handshake "$TP" -ciphersuites TLS_AES_128_GCM_SHA256 \
		-cert "$T/cca/alice.crt" -key "$T/cca/alice.key"
	wait_gone "$cap_strip_pid"
	run pp2_dump "$T/strip.bin"
	[ "$status" -eq 0 ]
	# The client's bytes follow the header, untouched.
	[ "${lines[-1]}" = "rest=b'GET /pp HTTP/1.1\\r\\nHost: localhost\\r\\n\\r\\n'" ]
	grep -v '^rest=' <<< "$output" | sort > "$T/strip.txt"
	cat "$T/strip.txt"
	# What a reader learns, fact by fact.
	grep -qx 'alpn=http/1.1' "$T/strip.txt"
	grep -qx 'authority=localhost' "$T/strip.txt"
	grep -qx 'crc32c=ok' "$T/strip.txt"
	grep -qx 'ssl.client=0x07' "$T/strip.txt"
	grep -qx 'ssl.verify=0' "$T/strip.txt"
	grep -qx 'ssl.version=TLSv1.3' "$T/strip.txt"
	grep -qx 'ssl.cn=alice' "$T/strip.txt"
	grep -qx 'ssl.cipher=TLS_AES_128_GCM_SHA256' "$T/strip.txt"
	grep -qx 'ssl.sig_alg=RSA-SHA256' "$T/strip.txt"
	grep -qx 'ssl.key_alg=RSA2048' "$T/strip.txt"
	# And haproxy's own header says the same.
	diff "$T/hap.txt" "$T/strip.txt"
}

@test "tlsstripd --proxy-protocol v2 without a client certificate: no CN, and a verify field that does not say verified" {
	pki
	capture hap
	HS=$(free_port)
	cat > "$T/writer.cfg" <<-EOF
	global
		log stderr format raw local0 info
	defaults
		mode tcp
		log global
		timeout connect 5s
		timeout client 10s
		timeout server 10s
	frontend writer
		bind 127.0.0.1:$HS ssl crt $T/pki/localhost.pem alpn http/1.1
		default_backend cap
	backend cap
		server cap 127.0.0.1:$CAP send-proxy-v2 proxy-v2-options ssl,cert-cn,ssl-cipher,cert-sig,cert-key,authority,crc32c
	EOF
	haproxy_start writer "$T/writer.cfg" "$HS"
	handshake "$HS" -tls1_2 -cipher ECDHE-RSA-AES256-GCM-SHA384
	wait_gone "$cap_hap_pid"
	run pp2_dump "$T/hap.bin"
	[ "$status" -eq 0 ]
	grep -v '^rest=' <<< "$output" | sort > "$T/hap.txt"

	capture strip
	TP=$(free_port)
	bg tlsstripd tlsstripd -l "127.0.0.1:$TP" --cert "$T/pki/localhost.pem" \
		--proxy-protocol v2 -c "127.0.0.1:$CAP"
	wait_port "$TP"
	handshake "$TP" -tls1_2 -cipher ECDHE-RSA-AES256-GCM-SHA384
	wait_gone "$cap_strip_pid"
	run pp2_dump "$T/strip.bin"
	[ "$status" -eq 0 ]
	grep -v '^rest=' <<< "$output" | sort > "$T/strip.txt"
	cat "$T/strip.txt"
	grep -qx 'ssl.client=0x01' "$T/strip.txt"
	grep -qx 'ssl.version=TLSv1.2' "$T/strip.txt"
	grep -qx 'ssl.cipher=ECDHE-RSA-AES256-GCM-SHA384' "$T/strip.txt"
	run ! grep '^ssl.cn=' "$T/strip.txt"
	# The spec: verify is zero only for a verified certificate.  haproxy
	# writes zero here; tlsstripd does not.
	grep -qx 'ssl.verify=1' "$T/strip.txt"
	grep -qx 'ssl.verify=0' "$T/hap.txt"
	diff <(grep -v '^ssl.verify=' "$T/hap.txt") \
		<(grep -v '^ssl.verify=' "$T/strip.txt")
}

@test "tlsstripd --proxy-protocol v2: a resumed session's certificate came with the session, not with this connection" {
	pki
	TP=$(free_port)
	CAP=$(free_port)
	bg tlsstripd tlsstripd -l "127.0.0.1:$TP" --cert "$T/pki/localhost.pem" \
		--client-ca "$T/cca/ca.pem" --proxy-protocol v2 \
		-c "127.0.0.1:$CAP"
	wait_port "$TP"
	for i in 1 2; do
		bg "cap_$i" socat -u "TCP-LISTEN:$CAP,bind=127.0.0.1,reuseaddr" \
			"CREATE:$T/$i.bin"
		wait_listen "$CAP"
		if [ "$i" = 1 ]; then
			handshake "$TP" -tls1_2 -sess_out "$T/sess" \
				-cert "$T/cca/alice.crt" -key "$T/cca/alice.key"
		else
			handshake "$TP" -tls1_2 -sess_in "$T/sess"
		fi
		pid=cap_${i}_pid
		wait_gone "${!pid}"
	done
	grep -q '^Reused' "$T/s_client.out"
	wait_log 'resumed=yes' "$T/tlsstripd.log"
	run pp2_dump "$T/1.bin"
	[[ "$output" == *"ssl.client=0x07"* ]]
	run pp2_dump "$T/2.bin"
	[ "$status" -eq 0 ]
	[[ "$output" == *"ssl.client=0x05"* ]]
	[[ "$output" == *"ssl.verify=0"* ]]
	[[ "$output" == *"ssl.cn=alice"* ]]
	[[ "$output" == *"crc32c=ok"* ]]
}

@test "contrib/haproxy: one relayd killed under load; new connections go on, every access line names the real client" {
	pool_start
	load_start
	wait_answers 20
	kill -KILL "$relayd2_pid"
	wait_log 'relayd2 is DOWN' "$T/haproxy.log"
	for w in 1 2 3 4; do
		wc -l < "$T/load$w.log" > "$T/mark$w"
	done
	wait_answers $(($(answers) + 40))
	load_stop
	# After HAProxy marked it down, every new connection was served.
	for w in 1 2 3 4; do
		run ! grep -v "^0 200 32768 " <(tail -n +$(($(cat "$T/mark$w") + 1)) \
			"$T/load$w.log")
	done
	# Before, the only failures were connections open on the killed
	# instance; the rest were answered in full.
	grep -hv '^0 200 32768 ' "$T"/load?.log | cut -d' ' -f4 | sort > "$T/failed"
	failed=$(wc -l < "$T/failed")
	echo "# $failed connection(s) open on the killed instance failed" >&3
	[ "$failed" -le 4 ]
	comm -23 "$T/failed" <(haproxy_ports relayd2) > "$T/failed_elsewhere"
	[ ! -s "$T/failed_elsewhere" ]
	[ "$(cat "$T"/load?.log | grep -c '^0 200 32768 ')" -eq \
	    $(($(answers) - failed)) ]
	# The killed one had its share before, the survivors after.
	[ -n "$(ports_of "$T/relayd2.log")" ]
	# Each survivor logged exactly the connections HAProxy gave it, each
	# with the real client's address and port, never HAProxy's.
	ports_of "$T/relayd1.log" "$T/relayd3.log" > "$T/logged"
	haproxy_ports relayd1 relayd3 > "$T/given"
	[ -s "$T/logged" ]
	diff "$T/given" "$T/logged"
	# Checks carry their PROXY header: nothing to warn about.
	run ! grep -E 'warning|PROXY' "$T/relayd1.log" "$T/relayd3.log"
	run ! grep -E 'relayd[13] is DOWN' "$T/haproxy.log"
}

@test "contrib/haproxy: an instance drained through the stats socket, then stopped, loses no connection" {
	pool_start
	load_start
	wait_answers 20
	# The recipe's way: drain, wait for its open connections, SIGTERM.
	echo "set server relayd/relayd2 state drain" |
		socat stdio "unix-connect:$T/admin.sock"
	for i in $(seq 100); do
		[ "$(stat relayd2 5)" = 0 ] && break
		sleep 0.1
	done
	[ "$(stat relayd2 5)" = 0 ]
	kill -TERM "$relayd2_pid"
	wait_gone "$relayd2_pid"
	wait_answers $(($(answers) + 40))
	load_stop
	# Not one connection failed, and each was logged where it went.
	run ! grep -hv '^0 200 32768 ' "$T"/load?.log
	ports_of "$T/relayd1.log" "$T/relayd2.log" "$T/relayd3.log" > "$T/logged"
	haproxy_ports relayd1 relayd2 relayd3 > "$T/given"
	diff "$T/given" "$T/logged"
	[ "$(wc -l < "$T/logged")" -eq "$(answers)" ]
	grep -q 'SIGTERM' "$T/relayd2.log"
}

@test "tlsstripd --proxy-protocol v2 in front of relayd --accept-proxy: gtr's own reader skips the TLVs and logs the real client" {
	pki
	NP=$(free_port)
	mkdir -p "$T/www"
	echo "hello through two" > "$T/www/index.html"
	nginx_start "$NP"
	RP=$(free_port)
	# Waiting by connecting would be a connection without a header.
	bg relayd relayd -l "127.0.0.1:$RP" --accept-proxy -c "127.0.0.1:$NP"
	wait_log "listening on 127.0.0.1:$RP" "$T/relayd.log"
	TP=$(free_port)
	bg tlsstripd tlsstripd -l "127.0.0.1:$TP" --cert "$T/pki/localhost.pem" \
		--client-ca "$T/cca/ca.pem" --proxy-protocol v2 \
		-c "127.0.0.1:$RP"
	wait_port "$TP"
	run curl -sS --max-time 10 --interface 127.0.0.2 \
		--cacert "$T/pki/ca.pem" --cert "$T/cca/alice.pem" \
		-w '%{local_port}\n' "https://localhost:$TP/"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "hello through two" ]
	wait_log "client=127.0.0.2:${lines[1]} method=GET target=/ status=200" \
		"$T/relayd.log"
	run ! grep -E 'warning|client=127\.0\.0\.1:' "$T/relayd.log"
}
