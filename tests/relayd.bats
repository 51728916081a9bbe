#!/usr/bin/env bats
# relayd: the HTTP relay, against a real nginx with keep-alive on, real
# clients (curl, socat), and programs run after "--".

load helpers/common
bats_require_minimum_version 1.5.0

# origin: nginx on $NPORT with keep-alive on; /seen answers with what
# nginx saw of the request (request line, Host, Connection,
# Proxy-Connection, Keep-Alive).
origin() {
	NPORT=$(free_port)
	mkdir -p "$T/www"
	echo "hello from nginx" > "$T/www/index.html"
	# nginx workers run as nobody; mktemp -d made $T 0700.
	chmod go+rx "$T" "$T/www"
	nginx_start "$NPORT" 'location /up/ { dav_methods PUT; }
		location = /seen {
			default_type text/plain;
			return 200 "request=[$request] host=[$http_host] connection=[$http_connection] proxy_connection=[$http_proxy_connection] keep_alive=[$http_keep_alive] auth=[$http_proxy_authorization]\n";
		}'
}

@test "a proxy-form request reaches a keep-alive nginx in origin form with Connection: close, and the relay ends" {
	origin
	R=$(free_port)
	gtr_start relayd "$R" --allow-dest 127.0.0.1/32 --allow-port "$NPORT"
	run curl -sS --max-time 20 -x "http://127.0.0.1:$R" -U 'u:secret' \
		"http://127.0.0.1:$NPORT/seen"
	[ "$status" -eq 0 ]
	[[ "$output" == *"request=[GET /seen HTTP/1.1]"* ]]
	[[ "$output" == *"host=[127.0.0.1:$NPORT]"* ]]
	[[ "$output" == *"connection=[close]"* ]]
	[[ "$output" == *"proxy_connection=[]"* ]]
	[[ "$output" == *"auth=[]"* ]]
	# The exchange ends although nginx would keep the connection open.
	wait_log "method=GET target=http://127.0.0.1:$NPORT/seen status=200 upstream=127.0.0.1:$NPORT bytes_in=[1-9][0-9]* bytes_out=[1-9][0-9]* ms=[0-9]+ reason=done$" "$T/relayd.log"
	grep -q '"GET /seen HTTP/1.1" 200' "$T/nginx/access.log"
	run -1 grep -q secret "$T/relayd.log"
}

@test "a keep-alive client request through relayd is closed after one exchange" {
	origin
	R=$(free_port)
	gtr_start relayd "$R" --allow-dest 127.0.0.1/32 --allow-port "$NPORT"
	# socat waits for the server to close: it would hang on keep-alive.
	printf -v head 'GET http://127.0.0.1:%s/seen HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nConnection: keep-alive, X-Private\r\nKeep-Alive: timeout=60\r\nX-Private: 1\r\nProxy-Connection: keep-alive\r\n\r\n' "$NPORT" "$NPORT"
	run sh -c "(printf '%s' '$head'; sleep 30) |
		socat -t 30 - TCP:127.0.0.1:$R > $T/out & pid=\$!; wait \$pid"
	run cat "$T/out"
	[[ "$output" == "HTTP/1.1 200 OK"* ]]
	[[ "$output" == *"connection=[close]"* ]]
	[[ "$output" == *"keep_alive=[]"* ]]
	[[ "$output" == *"proxy_connection=[]"* ]]
	# bytes_in is the head as the client sent it, not as rewritten.
	wait_log "target=http://127.0.0.1:$NPORT/seen status=200 upstream=127.0.0.1:$NPORT bytes_in=${#head} bytes_out=$(stat -c %s "$T/out") ms=[0-9]+ reason=done$" "$T/relayd.log"
}

@test "the program after -- sees the absolute URI's path, Host and OPTIONS * as an origin would" {
	R=$(free_port)
	gtr_start relayd "$R" -- sh -c 'head=$(sed "/^\r\$/q")
		printf "HTTP/1.0 200 OK\r\n\r\n%s\n" "$head"'
	run raw "$R" < <(printf 'OPTIONS http://Origin.Example:8080 HTTP/1.1\r\nHost: wrong\r\nProxy-Authorization: Basic dTpw\r\nTE: trailers\r\n\r\n')
	[[ "$output" == *$'OPTIONS * HTTP/1.1\r\nHost: Origin.Example:8080\r\nTE: trailers\r\nConnection: close\r\n\r'* ]]
	[[ "$output" != *wrong* ]]
	[[ "$output" != *Proxy-Authorization* ]]
	run raw "$R" < <(printf 'GET http://h?q=1 HTTP/1.0\r\n\r\n')
	[[ "$output" == *$'GET /?q=1 HTTP/1.0\r\nHost: h\r\nConnection: close\r\n\r'* ]]
}

@test "the access line carries the status the origin answered: 404 and 200, and none with --raw" {
	origin
	R=$(free_port)
	gtr_start relayd "$R" --allow-dest 127.0.0.1/32 --allow-port "$NPORT"
	run curl -sS --max-time 20 -o /dev/null -w '%{http_code}' \
		-x "http://127.0.0.1:$R" "http://127.0.0.1:$NPORT/missing"
	[ "$output" = "404" ]
	wait_log "target=http://127.0.0.1:$NPORT/missing status=404 " "$T/relayd.log"
	run curl -sS --max-time 20 -x "http://127.0.0.1:$R" "http://127.0.0.1:$NPORT/"
	[ "$output" = "hello from nginx" ]
	wait_log "target=http://127.0.0.1:$NPORT/ status=200 " "$T/relayd.log"
	run -1 grep -q 'status=-' "$T/relayd.log"
	# An interim 100 Continue is not what the client ended up with.
	C=$(free_port)
	bg cont relayd -l "127.0.0.1:$C" -- sh -c 'printf "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"'
	wait_port "$C"
	run curl -sS --max-time 20 -o /dev/null -w '%{http_code}' -T "$T/www/index.html" "http://127.0.0.1:$C/up"
	[ "$output" = "201" ]
	wait_log "method=PUT .* status=201 " "$T/cont.log"
	# --raw carries no HTTP: no status at all.
	echo_origin
	W=$(free_port)
	bg raw relayd -l "127.0.0.1:$W" --raw -c "127.0.0.1:$EPORT"
	wait_port "$W"
	run raw "$W" < <(printf 'HTTP/1.1 200 OK\r\n\r\n')
	[ "$output" = $'HTTP/1.1 200 OK\r\n\r' ]
	wait_log ": info: conn=[0-9]+ client=127.0.0.1:[0-9]+ upstream=127.0.0.1:$EPORT bytes_in=19 bytes_out=19 ms=[0-9]+ reason=done$" "$T/raw.log"
	run -1 grep -qE 'status=|method=|target=' "$T/raw.log"
}

@test "an origin-form request goes to the Host it names" {
	origin
	R=$(free_port)
	gtr_start relayd "$R" --allow-dest 127.0.0.1/32 --allow-port "$NPORT"
	run curl -sS --max-time 20 -H "Host: 127.0.0.1:$NPORT" "http://127.0.0.1:$R/seen?x=1"
	[ "$status" -eq 0 ]
	[[ "$output" == *"request=[GET /seen?x=1 HTTP/1.1]"* ]]
	[[ "$output" == *"connection=[close]"* ]]
	run curl -sS --max-time 20 -H "Host: 127.0.0.1:$NPORT" "http://127.0.0.1:$R/"
	[ "$output" = "hello from nginx" ]
}

@test "a request body after the head reaches the origin byte for byte" {
	origin
	mkdir -p "$T/www/up"
	chmod 777 "$T/www/up"
	R=$(free_port)
	gtr_start relayd "$R" --allow-dest 127.0.0.1/32 --allow-port "$NPORT"
	head -c 4194304 /dev/urandom > "$T/body"
	run curl -sS --max-time 20 -o /dev/null -w '%{http_code}' \
		-x "http://127.0.0.1:$R" -T "$T/body" "http://127.0.0.1:$NPORT/up/body"
	[ "$output" = "201" ]
	[ "$(sha256sum < "$T/www/up/body")" = "$(sha256sum < "$T/body")" ]
	wait_log 'method=PUT .*bytes_in=419[0-9]{4} ' "$T/relayd.log"
}

@test "-c relays every request to a fixed destination that policy does not judge" {
	origin
	R=$(free_port)
	gtr_start relayd "$R" -c "127.0.0.1:$NPORT"
	run curl -sS --max-time 20 "http://127.0.0.1:$R/seen"
	[ "$status" -eq 0 ]
	[[ "$output" == *"request=[GET /seen HTTP/1.1]"* ]]
	[[ "$output" == *"host=[127.0.0.1:$R]"* ]]
	[[ "$output" == *"connection=[close]"* ]]
}

@test "the default policy refuses a loopback destination with 403" {
	origin
	R=$(free_port)
	gtr_start relayd "$R" --allow-port "$NPORT"
	run curl -sS --max-time 20 -x "http://127.0.0.1:$R" -D - "http://127.0.0.1:$NPORT/seen"
	[[ "$output" == "HTTP/1.1 403 "* ]]
	[[ "$output" == *"Proxy-Status: gtr; error="* ]]
	[[ "$output" != *"request=["* ]]
	run -1 grep -q seen "$T/nginx/access.log"
}

@test "the default policy refuses ports other than 80 with 403" {
	origin
	R=$(free_port)
	gtr_start relayd "$R" --allow-dest 127.0.0.1/32
	run curl -sS --max-time 20 -x "http://127.0.0.1:$R" -D - "http://127.0.0.1:$NPORT/seen"
	[[ "$output" == "HTTP/1.1 403 "* ]]
	[[ "$output" == *"port $NPORT is not allowed"* ]]
	run -1 grep -q seen "$T/nginx/access.log"
}

@test "a refused upstream gets 502 with Proxy-Status connection_refused" {
	R=$(free_port)
	Q=$(free_port)
	gtr_start relayd "$R" --allow-dest 127.0.0.1/32 --allow-port "$Q"
	run curl -sS --max-time 20 -x "http://127.0.0.1:$R" -D - "http://127.0.0.1:$Q/"
	[[ "$output" == "HTTP/1.1 502 "* ]]
	[[ "$output" == *"Proxy-Status: gtr; error=connection_refused"* ]]
	wait_log "status=502 upstream=- .*reason=upstream_error$" "$T/relayd.log"
}

@test "with -c, a refused connection names the fixed destination tried, not the Host asked for" {
	Q=$(free_port)
	R=$(free_port)
	gtr_start relayd "$R" -c "127.0.0.1:$Q"
	run raw "$R" < <(printf 'GET http://a:1/ HTTP/1.1\r\nHost: a:1\r\n\r\n')
	[[ "$output" == "HTTP/1.1 502 "* ]]
	[[ "$output" == *"cannot connect to 127.0.0.1:$Q"* ]]
	[[ "$output" != *"a:1"* ]]
	wait_log "target=http://a:1/ status=502 upstream=127.0.0.1:$Q " "$T/relayd.log"
}

@test "requests relayd cannot place are refused with their status" {
	R=$(free_port)
	gtr_start relayd "$R" --allow-dest 127.0.0.1/32
	run raw "$R" < <(printf 'GET / HTTP/1.0\r\n\r\n')
	[[ "$output" == "HTTP/1.1 400 "* ]]
	[[ "$output" == *"no Host"* ]]
	run raw "$R" < <(printf 'GET / HTTP/1.1\r\n\r\n')
	[[ "$output" == "HTTP/1.1 400 "* ]]
	run raw "$R" < <(printf 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n')
	[[ "$output" == "HTTP/1.1 400 "* ]]
	run raw "$R" < <(printf 'GET http://u:p@127.0.0.1/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
	[[ "$output" == "HTTP/1.1 400 "* ]]
	run raw "$R" < <(printf 'GET ftp://127.0.0.1/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
	[[ "$output" == "HTTP/1.1 400 "* ]]
	run raw "$R" < <(printf 'CONNECT 127.0.0.1:80 HTTP/1.1\r\nHost: 127.0.0.1:80\r\n\r\n')
	[[ "$output" == "HTTP/1.1 501 "* ]]
	run raw "$R" < <(printf 'GET / HTTP/3.0\r\nHost: 127.0.0.1\r\n\r\n')
	[[ "$output" == "HTTP/1.1 505 "* ]]
	run raw "$R" < <(printf 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX: a\r\n b\r\n\r\n')
	[[ "$output" == "HTTP/1.1 400 "* ]]
	run raw "$R" < <(printf 'POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: gzip\r\n\r\n')
	[[ "$output" == "HTTP/1.1 501 "* ]]
	run raw "$R" < <(printf 'POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n')
	[[ "$output" == "HTTP/1.1 400 "* ]]
}

# refused STATUS REQUEST: sends REQUEST (printf escapes) to relayd on $R
# as a raw client, and waits for the access line of its refusal: its
# bytes_out is what the client received, to the byte.
refused() {
	printf "$2" | raw "$R" > "$T/resp.$1"
	[[ "$(head -c 12 "$T/resp.$1")" == "HTTP/1.1 $1" ]]
	wait_log "status=$1 .*bytes_out=$(wc -c < "$T/resp.$1") ms=" "$T/relayd.log"
}

@test "a refusal's access line counts in bytes_out the bytes the client received" {
	Q=$(free_port)
	R=$(free_port)
	gtr_start relayd "$R" --allow-dest 127.0.0.1/32 --allow-port "$Q"
	refused 400 'GET / HTTP/1.0\r\n\r\n'
	refused 501 'CONNECT 127.0.0.1:80 HTTP/1.1\r\nHost: 127.0.0.1:80\r\n\r\n'
	refused 505 'GET / HTTP/3.0\r\nHost: 127.0.0.1\r\n\r\n'
	refused 403 'GET http://127.0.0.1:1/ HTTP/1.1\r\nHost: x\r\n\r\n'
	refused 502 "GET http://127.0.0.1:$Q/ HTTP/1.1\r\nHost: x\r\n\r\n"
	# What curl counts of the answer: head and body.
	run curl -sS --max-time 20 -o /dev/null -w '%{size_header}+%{size_download}' \
		-x "http://127.0.0.1:$R" "http://127.0.0.1:$Q/curl"
	wait_log "target=http://127.0.0.1:$Q/curl status=502 .*bytes_out=$(($output)) ms=" "$T/relayd.log"
	run -1 grep -q 'bytes_out=0 ' "$T/relayd.log"
}

@test "a request head that never completes gets 408 after --header-timeout" {
	R=$(free_port)
	gtr_start relayd "$R" --header-timeout 1
	run sh -c "(printf 'GET / HTTP/1.1\r\nHost: '; sleep 4) | socat -t 20 - TCP:127.0.0.1:$R"
	[[ "$output" == "HTTP/1.1 408 "* ]]
	wait_log "status=408 .*reason=header_timeout$" "$T/relayd.log"
}

@test "--raw relays 64 MiB each way byte for byte" {
	E=$(free_port)
	head -c 67108864 /dev/urandom > "$T/up"
	head -c 67108864 /dev/urandom > "$T/down"
	# Each connection (wait_port's probe too) writes its own file; sh
	# gives a background job /dev/null as stdin, hence fd 3.
	bg sink socat TCP-LISTEN:"$E",bind=127.0.0.1,reuseaddr,fork \
		SYSTEM:"exec 3<&0; cat <&3 > $T/got.\$\$ & cat $T/down; wait"
	wait_port "$E"
	R=$(free_port)
	gtr_start relayd "$R" --raw -c "127.0.0.1:$E"
	socat -t 60 - TCP:127.0.0.1:"$R" < "$T/up" > "$T/out"
	wait_log "bytes_in=67108864 bytes_out=67108864" "$T/relayd.log"
	got=$(ls -S "$T"/got.* | head -n 1)
	[ "$(sha256sum < "$got")" = "$(sha256sum < "$T/up")" ]
	[ "$(sha256sum < "$T/out")" = "$(sha256sum < "$T/down")" ]
}

@test "--raw passes bytes that are not HTTP untouched" {
	E=$(free_port)
	bg echo socat TCP-LISTEN:"$E",bind=127.0.0.1,reuseaddr,fork EXEC:cat
	wait_port "$E"
	R=$(free_port)
	gtr_start relayd "$R" --raw -c "127.0.0.1:$E"
	run raw "$R" < <(printf 'GET http://x/ HTTP/1.1\r\nConnection: keep-alive\r\n\r\n')
	[ "$output" = $'GET http://x/ HTTP/1.1\r\nConnection: keep-alive\r\n\r' ]
}

@test "--raw carries TCP urgent bytes both ways in their place, in small and spliced traffic" {
	E=$(free_port)
	bg origin python3 "$BATS_TEST_DIRNAME/helpers/urgent.py" origin "$E"
	wait_port "$E"
	R=$(free_port)
	gtr_start relayd "$R" --raw -c "127.0.0.1:$E"
	run timeout 30 python3 "$BATS_TEST_DIRNAME/helpers/urgent.py" client "$R"
	[ "$output" = "intact answer=!end" ]
}

@test "a program after -- is the upstream, with the UCSPI variables and the rewritten head" {
	R=$(free_port)
	gtr_start relayd "$R" -- sh -c 'IFS= read -r line
		printf "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n"
		printf "first=%s\n" "$line"; env'
	run curl -sS --max-time 20 -x "http://127.0.0.1:$R" "http://origin.invalid/x?y=1"
	[ "$status" -eq 0 ]
	[[ "$output" == *"first=GET /x?y=1 HTTP/1.1"* ]]
	[[ "$output" == *"TCPREMOTEIP=127.0.0.1"* ]]
	[[ "$output" == *"TCPLOCALPORT=$R"* ]]
	[[ "$output" == *"PROTO=TCP"* ]]
	wait_log 'target="http://origin.invalid/x\?y=1" status=200 upstream=program' "$T/relayd.log"
	# The program was reaped: no zombie is left under relayd.
	for i in $(seq 100); do
		[ "$(child_count "$relayd_pid")" -eq 0 ] && break
		sleep 0.1
	done
	[ "$(child_count "$relayd_pid")" -eq 0 ]
}

@test "--raw with a program after -- hands it the bytes as they come" {
	R=$(free_port)
	gtr_start relayd "$R" --raw -- sh -c 'tr a-z A-Z'
	run raw "$R" < <(printf 'not http at all\n')
	[ "$output" = "NOT HTTP AT ALL" ]
}

@test "relayd serves one connection on fds 0 and 1 (socat EXEC, and a pipe)" {
	origin
	R=$(free_port)
	# socat splits EXEC's argument at colons: -c goes in a script.
	printf '#!/bin/sh\nexec %s -c 127.0.0.1:%s\n' "$GTR_BIN/relayd" "$NPORT" > "$T/relayd.sh"
	chmod +x "$T/relayd.sh"
	bg inetd socat TCP-LISTEN:"$R",bind=127.0.0.1,reuseaddr,fork EXEC:"$T/relayd.sh"
	wait_port "$R"
	run curl -sS --max-time 20 "http://127.0.0.1:$R/seen"
	[ "$status" -eq 0 ]
	[[ "$output" == *"connection=[close]"* ]]
	run --separate-stderr sh -c "printf 'GET /seen HTTP/1.0\r\nHost: x\r\n\r\n' |
		$GTR_BIN/relayd -c 127.0.0.1:$NPORT"
	[ "$status" -eq 0 ]
	[[ "$output" == "HTTP/1.1 200 OK"* ]]
	[[ "$output" == *"request=[GET /seen HTTP/1.0]"* ]]
}

@test "usage errors exit 64 with one line; -h and -V print to stdout" {
	run relayd --raw
	[ "$status" -eq 64 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"--raw"* ]]
	run relayd some-program
	[ "$status" -eq 64 ]
	[ "${#lines[@]}" -eq 1 ]
	run relayd -c 127.0.0.1:80 -- cat
	[ "$status" -eq 64 ]
	run relayd --
	[ "$status" -eq 64 ]
	[[ "$output" == *"no program after --"* ]]
	run relayd -c --
	[ "$status" -eq 64 ]
	[[ "$output" == *"-c --: "* ]]
	run relayd --allow-port nope
	[ "$status" -eq 64 ]
	run relayd --bogus
	[ "$status" -eq 64 ]
	run relayd -c 127.0.0.1
	[ "$status" -eq 64 ]
	run --separate-stderr relayd -h
	[ "$status" -eq 0 ]
	[[ "$output" == *"--raw"* ]]
	[[ "$output" == *"--listen"* ]]
	run --separate-stderr relayd -V
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^relayd\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
}

@test "300 program connections leave no zombie and no open file descriptor behind" {
	R=$(free_port)
	gtr_start relayd "$R" -- sh -c 'printf "HTTP/1.0 200 OK\r\n\r\nok\n"'
	curl -sS --max-time 20 "http://127.0.0.1:$R/" > /dev/null
	wait_log "upstream=program" "$T/relayd.log"
	before=$(ls "/proc/$relayd_pid/fd" | wc -l)
	for i in $(seq 300); do
		printf 'GET /%s HTTP/1.0\r\n\r\n' "$i"
	done > "$T/reqs"
	n=0
	while IFS= read -r line; do
		out=$(printf '%s\r\n\r\n' "${line%$'\r'}" | socat -t 20 - TCP:127.0.0.1:"$R")
		[[ "$out" == *ok* ]] && n=$((n + 1))
	done < <(grep GET "$T/reqs")
	[ "$n" -eq 300 ]
	for i in $(seq 100); do
		[ "$(grep -c 'upstream=program' "$T/relayd.log")" -eq 301 ] &&
			[ "$(child_count "$relayd_pid")" -eq 0 ] && break
		sleep 0.1
	done
	[ "$(grep -c 'upstream=program' "$T/relayd.log")" -eq 301 ]
	[ "$(child_count "$relayd_pid")" -eq 0 ]
	after=$(ls "/proc/$relayd_pid/fd" | wc -l)
	echo "fds before $before after $after"
	[ "$after" -lt $((before + 40)) ]
}
