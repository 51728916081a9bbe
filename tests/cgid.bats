#!/usr/bin/env bats
# cgid: real CGI programs (tests/cgi, shell and Python) behind cgid,
# driven by curl and wget on loopback.

load helpers/common

CGI=$BATS_TEST_DIRNAME/cgi

setup() {
	common_setup
	mkdir -p "$T/root"
	cp -p "$CGI"/* "$T/root/"
	P=$(free_port)
	U=http://127.0.0.1:$P
}

# start ARGS...: cgid on $P serving $T/root, or what ARGS say.
start() {
	gtr_start cgid "$P" "$@"
}

start_root() {
	start --root "$T/root" "$@"
}

# wait_gone PID...: waits up to 10 s until none of the processes exist.
wait_gone() {
	local i p alive
	for i in $(seq 100); do
		alive=
		for p in "$@"; do
			kill -0 "$p" 2>/dev/null && alive=1
		done
		[ -z "$alive" ] && return 0
		sleep 0.1
	done
	echo "still running: $*" >&2
	return 1
}

# wait_no_children: waits up to 10 s until cgid has no child process.
wait_no_children() {
	local i
	for i in $(seq 100); do
		[ "$(child_count "$cgid_pid")" -eq 0 ] && return 0
		sleep 0.1
	done
	ps -o pid,stat,args --ppid "$cgid_pid" >&2
	return 1
}

@test "a program gets the RFC 3875 meta-variables and nothing of cgid's environment" {
	export CGID_SECRET=leaked
	start_root
	run curl -sS -H 'X-Custom: one' -H 'X-Custom: two' \
		"$U/env.sh/a/b?x=1&y=2"
	[ "$status" -eq 0 ]
	echo "$output" | grep -qx 'GATEWAY_INTERFACE=CGI/1.1'
	echo "$output" | grep -qx 'SERVER_PROTOCOL=HTTP/1.1'
	echo "$output" | grep -qx 'SERVER_SOFTWARE=gtr-cgid/.*'
	echo "$output" | grep -qx 'SERVER_NAME=127.0.0.1'
	echo "$output" | grep -qx "SERVER_PORT=$P"
	echo "$output" | grep -qx 'REQUEST_METHOD=GET'
	echo "$output" | grep -qx 'SCRIPT_NAME=/env.sh'
	echo "$output" | grep -qx 'PATH_INFO=/a/b'
	echo "$output" | grep -qx "PATH_TRANSLATED=$(realpath "$T/root")/a/b"
	echo "$output" | grep -qx 'QUERY_STRING=x=1&y=2'
	echo "$output" | grep -qx 'REMOTE_ADDR=127.0.0.1'
	echo "$output" | grep -qx 'REMOTE_PORT=[0-9]*'
	echo "$output" | grep -qx 'HTTP_X_CUSTOM=one, two'
	echo "$output" | grep -qx 'PATH=/usr/bin:/bin'
	! echo "$output" | grep -q 'CGID_SECRET' || false
	! echo "$output" | grep -q '^CONTENT_LENGTH=' || false
	! echo "$output" | grep -q '^HOME=' || false
}

@test "a Python program sees the same variables, and --path sets its PATH" {
	start_root --path /bin
	run curl -sS "$U/env.py"
	[ "$status" -eq 0 ]
	echo "$output" | grep -qx 'PATH=/bin'
	echo "$output" | grep -qx 'SCRIPT_NAME=/env.py'
	! echo "$output" | grep -q '^PATH_INFO=' || false
}

@test "a Proxy header never becomes HTTP_PROXY and credentials are not exported (httpoxy)" {
	start_root
	run curl -sS -H 'Proxy: http://evil.invalid:1' -H 'Authorization: Basic Zm9vOmJhcg==' \
		-H 'X_Sneaky: 1' -H 'X.Dotted: 1' "$U/env.sh"
	[ "$status" -eq 0 ]
	echo "$output" | grep -qx 'GATEWAY_INTERFACE=CGI/1.1'
	! echo "$output" | grep -q 'HTTP_PROXY' || false
	! echo "$output" | grep -q 'evil' || false
	! echo "$output" | grep -q 'HTTP_AUTHORIZATION' || false
	! echo "$output" | grep -q 'Zm9vOmJhcg' || false
	! echo "$output" | grep -q 'HTTP_X_SNEAKY' || false
	! echo "$output" | grep -q 'DOTTED' || false
}

@test "with a program after --, every path runs it and is all PATH_INFO" {
	start -- "$T/root/env.sh"
	run curl -sS "$U/x/y/?q"
	[ "$status" -eq 0 ]
	echo "$output" | grep -qx 'SCRIPT_NAME='
	echo "$output" | grep -qx 'PATH_INFO=/x/y/'
	echo "$output" | grep -qx 'QUERY_STRING=q'
	! echo "$output" | grep -q '^PATH_TRANSLATED=' || false
}

@test "the program after -- gets its arguments, and is found in PATH" {
	mkdir "$T/bin"
	printf '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\n"\necho "args: $*"\n' > "$T/bin/args.sh"
	chmod 755 "$T/bin/args.sh"
	PATH=$T/bin:$PATH start -- args.sh one 'two words'
	run curl -sS "$U/"
	[ "$output" = "args: one two words" ]
}

@test "dot segments, encoded dots and encoded slashes are refused with 404" {
	start_root
	run curl -sS -o /dev/null -w '%{http_code}' --path-as-is "$U/../root/env.sh"
	[ "$output" = 404 ]
	run curl -sS -o /dev/null -w '%{http_code}' --path-as-is "$U/env.sh/../env.sh"
	[ "$output" = 404 ]
	run curl -sS -o /dev/null -w '%{http_code}' "$U/%2e%2e/root/env.sh"
	[ "$output" = 404 ]
	run curl -sS -o /dev/null -w '%{http_code}' "$U/%2E%2e%2fetc%2fpasswd"
	[ "$output" = 404 ]
	run curl -sS "$U/nothing-here.sh"
	[[ "$output" == "404 Not Found: "* ]]
	wait_log 'target=/nothing-here.sh status=404' "$T/cgid.log"
}

@test "a symlink leading out of the root is refused with 403, one within it runs" {
	ln -s /usr/bin/id "$T/root/out.sh"
	ln -s /usr/bin "$T/root/bin"
	ln -s env.sh "$T/root/alias.sh"
	start_root
	run curl -sS -w ' %{http_code}' "$U/out.sh"
	[[ "$output" == *" 403" ]]
	! echo "$output" | grep -q 'uid=' || false
	run curl -sS -w ' %{http_code}' "$U/bin/id"
	[[ "$output" == *" 403" ]]
	! echo "$output" | grep -q 'uid=' || false
	run curl -sS "$U/alias.sh"
	echo "$output" | grep -qx 'GATEWAY_INTERFACE=CGI/1.1'
}

@test "a file that is not executable, or a directory, is not run" {
	printf '#!/bin/sh\necho ran > %s/ran\n' "$T" > "$T/root/plain.sh"
	chmod 644 "$T/root/plain.sh"
	mkdir "$T/root/dir"
	start_root
	run curl -sS -w ' %{http_code}' "$U/plain.sh"
	[[ "$output" == *" 403" ]]
	[ ! -e "$T/ran" ]
	run curl -sS -o /dev/null -w '%{http_code}' "$U/dir/"
	[ "$output" = 404 ]
}

@test "a POST body reaches the program exactly, with curl and with wget" {
	head -c 100000 /dev/urandom > "$T/body"
	want=$(sha256sum < "$T/body" | cut -d' ' -f1)
	start_root
	run curl -sS --data-binary @"$T/body" "$U/echo.py?sum"
	[ "$output" = "$want 100000" ]
	run wget -q -O - --post-file="$T/body" "$U/echo.py?sum"
	[ "$output" = "$want 100000" ]
	run curl -sS --data-binary @"$T/body" "$U/env.sh"
	echo "$output" | grep -qx 'CONTENT_LENGTH=100000'
	echo "$output" | grep -qx 'CONTENT_TYPE=application/x-www-form-urlencoded'
	echo "$output" | grep -qx 'REQUEST_METHOD=POST'
}

@test "a chunked request body is de-chunked and its length given in CONTENT_LENGTH" {
	head -c 300000 /dev/urandom > "$T/body"
	want=$(sha256sum < "$T/body" | cut -d' ' -f1)
	start_root
	run curl -sS -H 'Transfer-Encoding: chunked' --data-binary @"$T/body" "$U/echo.py?sum"
	[ "$output" = "$want 300000" ]
	run curl -sS -H 'Transfer-Encoding: chunked' --data-binary @"$T/body" "$U/env.sh"
	echo "$output" | grep -qx 'CONTENT_LENGTH=300000'
	! echo "$output" | grep -q 'HTTP_TRANSFER_ENCODING' || false
}

@test "a program that ignores a large body still gets its answer to the client, without a reset" {
	head -c $((50 * 1024 * 1024)) /dev/zero > "$T/body"
	start_root --max-body 0
	run curl -sS -H 'Expect:' --data-binary @"$T/body" "$U/hello.sh"
	[ "$status" -eq 0 ]
	[ "$output" = hello ]
	run curl -sS -H 'Transfer-Encoding: chunked' --data-binary @"$T/body" "$U/hello.sh"
	[ "$status" -eq 0 ]
	[ "$output" = hello ]
}

@test "a body over --max-body gets 413, chunked or not, and the program never runs" {
	head -c 2000 /dev/urandom > "$T/body"
	start_root --max-body 1000
	run curl -sS -w ' %{http_code}' --data-binary @"$T/body" "$U/echo.py?sum"
	[[ "$output" == "413 "*" 413" ]]
	run curl -sS -w ' %{http_code}' -H 'Transfer-Encoding: chunked' --data-binary @"$T/body" "$U/echo.py?sum"
	[[ "$output" == *" 413" ]]
	! grep -q 'echo.py: sha256' "$T/cgid.log" || false
	run curl -sS --data-binary 'small' "$U/echo.py?sum"
	[[ "$output" == *" 5" ]]
}

@test "256 MiB go up and down intact" {
	head -c $((256 * 1024 * 1024)) /dev/urandom > "$T/root/big.bin"
	chmod 644 "$T/root/big.bin"
	want=$(sha256sum < "$T/root/big.bin" | cut -d' ' -f1)
	start_root --max-body 0
	run curl -sS --data-binary @"$T/root/big.bin" "$U/echo.py?sum"
	[ "$output" = "$want 268435456" ]
	run sh -c "curl -sS '$U/cat.sh/big.bin' | sha256sum"
	[ "$output" = "$want  -" ]
	run sh -c "curl -sS '$U/cat.sh/big.bin?len' | sha256sum"
	[ "$output" = "$want  -" ]
	run sh -c "wget -q -O - '$U/cat.sh/big.bin' | sha256sum"
	[ "$output" = "$want  -" ]
}

@test "a program that writes before reading its input does not deadlock" {
	head -c $((8 * 1024 * 1024)) /dev/urandom > "$T/body"
	want=$(sha256sum < "$T/body" | cut -d' ' -f1)
	start_root
	run sh -c "curl -sS --data-binary @'$T/body' '$U/early.py' | tail -n 1"
	[ "$output" = "$want 8388608" ]
}

@test "a local redirect is served internally, once, as a GET without the body" {
	start_root
	run curl -sS -i --data-binary 'some body' "$U/redirect-local.sh"
	[[ "${lines[0]}" == "HTTP/1.1 200 "* ]]
	echo "$output" | grep -qx 'SCRIPT_NAME=/env.sh'
	echo "$output" | grep -qx 'PATH_INFO=/redirected'
	echo "$output" | grep -qx 'QUERY_STRING=from=local'
	echo "$output" | grep -qx 'REQUEST_METHOD=GET'
	! echo "$output" | grep -qi '^Location:' || false
	! echo "$output" | grep -q '^CONTENT_LENGTH=' || false
	run curl -sS -w ' %{http_code}' "$U/redirect-loop.sh"
	[[ "$output" == *" 502" ]]
	[[ "$output" == *"second local redirect"* ]]
}

@test "a client redirect becomes 302 with the program's Location" {
	start_root
	run curl -sS -i "$U/redirect-client.sh"
	[[ "${lines[0]}" == "HTTP/1.1 302 Found"* ]]
	echo "$output" | grep -qx $'Location: http://example.invalid/elsewhere\r'
	run wget -q --max-redirect=0 -S -O /dev/null "$U/redirect-client.sh"
	echo "$output" | grep -q 'HTTP/1.1 302'
}

@test "Status: 418 and the program's own fields reach the client" {
	start_root
	run curl -sS -i "$U/teapot.py"
	[[ "${lines[0]}" == "HTTP/1.1 418 I'm a teapot"* ]]
	echo "$output" | grep -qx $'X-Brewed-By: teapot.py\r'
	echo "$output" | grep -qx 'short and stout'
	wait_log 'target=/teapot.py status=418' "$T/cgid.log"
}

@test "a program that crashes, writes garbage or nothing gets 502 from cgid" {
	start_root
	for p in crash.sh garbage.sh silent.sh; do
		run curl -sS -i "$U/$p"
		[[ "${lines[0]}" == "HTTP/1.1 502 "* ]]
		echo "$output" | grep -q 'Proxy-Status: gtr; error='
		! echo "$output" | grep -q 'this is not a header' || false
	done
	grep -q 'crash.sh killed by signal 11' "$T/cgid.log"
	wait_no_children
}

@test "a program past --cgi-timeout gets 504 and its whole process group is killed" {
	start_root --cgi-timeout 1
	run curl -sS -i "$U/hang.sh/pids"
	[[ "${lines[0]}" == "HTTP/1.1 504 "* ]]
	echo "$output" | grep -q 'error=http_response_timeout'
	read -r prog kid < "$T/root/pids"
	wait_gone "$prog" "$kid"
	wait_no_children
}

@test "an nph- program's output goes to the client as it wrote it" {
	start_root
	run curl -sS -i "$U/nph-hello.sh"
	[[ "${lines[0]}" == "HTTP/1.1 299 Straight Through"* ]]
	echo "$output" | grep -qx $'X-Nph: yes\r'
	[ "${lines[-1]}" = "nph body" ]
	! echo "$output" | grep -q '^Date:' || false
}

@test "a program's stderr goes to cgid's log with the connection id" {
	start_root
	run curl -sS "$U/stderr.sh"
	[ "$output" = fine ]
	grep -Eq 'cgid\[[0-9]+\]: warning: conn=[0-9]+: stderr.sh: oops from the program' "$T/cgid.log"
}

@test "a client that goes away leaves no program and no zombie behind" {
	start_root
	run sh -c "curl -s '$U/forever.sh' 2>/dev/null | head -c 100000 | wc -c"
	[ "$output" -eq 100000 ]
	wait_no_children
	wait_log 'target=/forever.sh status=200' "$T/cgid.log"
}

@test "200 concurrent requests all succeed and leave no zombie" {
	start_root
	seq 200 | xargs -P 200 -I{} curl -sS -o "$T/out.{}" "$U/env.py/{}"
	for i in $(seq 200); do
		grep -qx "PATH_INFO=/$i" "$T/out.$i"
	done
	wait_count 'status=200' "$T/cgid.log" 200
	wait_no_children
}

@test "--max-conns bounds how many programs run at once" {
	mkdir "$T/root/c"
	echo 0 > "$T/root/c/now"
	echo 0 > "$T/root/c/max"
	: > "$T/root/c/lock"
	start_root --max-conns 2
	seq 12 | xargs -P 12 -I{} curl -sS -o /dev/null "$U/conc.sh/c"
	wait_count 'status=200' "$T/cgid.log" 12
	max=$(cat "$T/root/c/max")
	[ "$max" -ge 1 ] && [ "$max" -le 2 ]
}

@test "an HTTP/1.1 client gets chunked output, or the program's Content-Length" {
	start_root
	run curl -sS -i "$U/hello.sh"
	echo "$output" | grep -qx $'Transfer-Encoding: chunked\r'
	[ "${lines[-1]}" = hello ]
	run curl -sS -i "$U/env.py"
	echo "$output" | grep -q $'^Content-Length: [0-9]*\r$'
	! echo "$output" | grep -q 'Transfer-Encoding' || false
}

@test "an HTTP/1.0 client gets close-delimited output" {
	start_root
	run curl -sS -0 -i "$U/hello.sh"
	[[ "${lines[0]}" == "HTTP/1.1 200 OK"* ]]
	echo "$output" | grep -qx $'Connection: close\r'
	! echo "$output" | grep -qi 'Transfer-Encoding' || false
	! echo "$output" | grep -qi 'Content-Length' || false
	[ "${lines[-1]}" = hello ]
	run sh -c "printf 'GET /hello.sh HTTP/1.0\r\n\r\n' | socat - TCP:127.0.0.1:$P"
	[ "${lines[-1]}" = hello ]
}

@test "two requests share one kept-alive connection" {
	start_root
	run curl -sS -v "$U/hello.sh" "$U/env.py/second"
	echo "$output" | grep -Eq 'Re-using existing|Reusing existing'
	echo "$output" | grep -qx 'PATH_INFO=/second'
	[ "$(grep -Ec 'conn=([0-9]+) client=' "$T/cgid.log")" -eq 2 ]
	[ "$(grep -Eo 'conn=[0-9]+ client=' "$T/cgid.log" | sort -u | wc -l)" -eq 1 ]
}

@test "pipelined requests after a body are each answered, in order" {
	start_root
	run sh -c "printf 'POST /echo.py?sum HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET /hello.sh HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n' | socat -t 10 - TCP:127.0.0.1:$P"
	[ "$status" -eq 0 ]
	echo "$output" | grep -q '^ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad 3'
	echo "$output" | grep -qx 'hello'
	[ "$(echo "$output" | grep -c '^HTTP/1.1 200 OK')" -eq 2 ]
	[ "$(grep -Eo 'conn=[0-9]+ client=' "$T/cgid.log" | sort -u | wc -l)" -eq 1 ]
}

@test "a client that expects 100-continue gets it before sending its body" {
	start_root
	run curl -sS -v -H 'Expect: 100-continue' --data-binary 'abc' "$U/echo.py?sum"
	echo "$output" | grep -q '^< HTTP/1.1 100 Continue'
	echo "$output" | grep -q '^ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad 3'
}

@test "output past the program's Content-Length is dropped and the connection goes on" {
	printf '#!/bin/sh\nprintf "Content-Type: text/plain\\nContent-Length: 5\\n\\nhello world"\nexec yes\n' \
		> "$T/root/long.sh"
	chmod 755 "$T/root/long.sh"
	start_root
	run curl -sS -v -o "$T/one" "$U/long.sh" -o "$T/two" "$U/hello.sh"
	echo "$output" | grep -Eq 'Re-using existing|Reusing existing'
	[ "$(cat "$T/one")" = hello ]
	[ "$(cat "$T/two")" = hello ]
	! grep -q 'killed by signal' "$T/cgid.log" || false
	wait_no_children
}

@test "a header block over 32 KiB gets 502" {
	printf '#!/bin/sh\nprintf "X-Big: %%040000d\\n" 0\nprintf "Content-Type: text/plain\\n\\nbody\\n"\n' \
		> "$T/root/bighead.sh"
	chmod 755 "$T/root/bighead.sh"
	start_root
	run curl -sS -i "$U/bighead.sh"
	[[ "${lines[0]}" == "HTTP/1.1 502 "* ]]
	echo "$output" | grep -q 'too large'
	wait_no_children
}

@test "HEAD runs the program but sends no body" {
	start_root
	run curl -sS -I "$U/env.py"
	[[ "${lines[0]}" == "HTTP/1.1 200 OK"* ]]
	echo "$output" | grep -q '^Content-Length: [1-9]'
	! echo "$output" | grep -q 'GATEWAY_INTERFACE' || false
}

@test "--auth asks for Basic credentials and gives REMOTE_USER to the program" {
	htpasswd -B -b -c "$T/htpasswd" alice wonderland 2>/dev/null
	start_root --auth "$T/htpasswd"
	run curl -sS -i "$U/env.sh"
	[[ "${lines[0]}" == "HTTP/1.1 401 "* ]]
	echo "$output" | grep -q '^WWW-Authenticate: Basic realm="cgid"'
	run curl -sS -o /dev/null -w '%{http_code}' -u alice:wrong "$U/env.sh"
	[ "$output" = 401 ]
	run curl -sS -o /dev/null -w '%{http_code}' -u bob:wonderland "$U/env.sh"
	[ "$output" = 401 ]
	run curl -sS -u alice:wonderland "$U/env.sh"
	echo "$output" | grep -qx 'AUTH_TYPE=Basic'
	echo "$output" | grep -qx 'REMOTE_USER=alice'
	! echo "$output" | grep -q 'HTTP_AUTHORIZATION' || false
	wait_log 'status=200 user=alice bytes_in=' "$T/cgid.log"
	wait_log 'status=401 bytes_in=[0-9]* bytes_out=[0-9]* ms=[0-9]* reason=auth$' "$T/cgid.log"
}

@test "each exchange has one access line in logfmt, in DESIGN.md's key order" {
	start_root
	curl -sS -o /dev/null --data-binary 'abc' "$U/echo.py?sum"
	curl -sS -o /dev/null "$U/nothing-here.sh"
	curl -sS -o /dev/null "$U/crash.sh"
	wait_log 'target=/crash.sh' "$T/cgid.log"
	grep -Eq 'info: conn=[0-9]+ client=127\.0\.0\.1:[0-9]+ method=POST target=/echo.py\?sum status=200 bytes_in=[0-9]+ bytes_out=[0-9]+ ms=[0-9]+ reason=done$' "$T/cgid.log"
	grep -Eq 'method=GET target=/nothing-here.sh status=404 bytes_in=[1-9][0-9]* bytes_out=[1-9][0-9]* ms=[0-9]+ reason=done$' "$T/cgid.log"
	grep -Eq 'method=GET target=/crash.sh status=502 bytes_in=[1-9][0-9]* bytes_out=[1-9][0-9]* ms=[0-9]+ reason=upstream_error$' "$T/cgid.log"
	wait_count ' client=' "$T/cgid.log" 3
	! grep -q ' error=' "$T/cgid.log" || false
}

@test "a request on a pipe is served once, the inetd way" {
	run sh -c "printf 'GET /env.sh/p HTTP/1.0\r\n\r\n' | '$GTR_BIN/cgid' --root '$T/root' 2>/dev/null"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "HTTP/1.1 200 OK"* ]]
	echo "$output" | grep -qx 'PATH_INFO=/p'
}

@test "under tcpserver each connection is one cgid, with the client's address" {
	bg tcpserver tcpserver -q -H -R -l0 127.0.0.1 "$P" \
		"$GTR_BIN/cgid" --root "$T/root"
	wait_port "$P"
	run curl -sS "$U/env.sh/t"
	echo "$output" | grep -qx 'PATH_INFO=/t'
	echo "$output" | grep -qx 'REMOTE_ADDR=127.0.0.1'
	echo "$output" | grep -qx "SERVER_PORT=$P"
	! echo "$output" | grep -q 'TCPREMOTEIP' || false
	grep -q 'target=/env.sh/t status=200' "$T/tcpserver.log"
}

@test "systemd socket activation hands cgid its listening socket" {
	bg sd systemd-socket-activate -l "127.0.0.1:$P" \
		"$GTR_BIN/cgid" --root "$T/root"
	wait_port "$P"
	run curl -sS "$U/env.sh" "$U/hello.sh"
	echo "$output" | grep -qx 'GATEWAY_INTERFACE=CGI/1.1'
	echo "$output" | grep -qx 'hello'
	! echo "$output" | grep -q 'LISTEN_' || false
}

@test "a malformed request head gets 400 and runs nothing" {
	run sh -c "printf 'GET /stderr.sh HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n' | '$GTR_BIN/cgid' --root '$T/root' 2>&1"
	[[ "${lines[0]}" == "HTTP/1.1 400 Bad Request"* ]]
	echo "$output" | grep -q 'status=400'
	! echo "$output" | grep -q 'oops from the program' || false
}

@test "bad invocations exit 64, missing files 78, --help 0" {
	run "$GTR_BIN/cgid"
	[ "$status" -eq 64 ]
	[[ "$output" == *"usage: cgid"* ]]
	run "$GTR_BIN/cgid" --root "$T/root" -- "$T/root/env.sh"
	[ "$status" -eq 64 ]
	run "$GTR_BIN/cgid" --cgi-timeout 0 --root "$T/root"
	[ "$status" -eq 64 ]
	run "$GTR_BIN/cgid" --root "$T/nope"
	[ "$status" -eq 78 ]
	run "$GTR_BIN/cgid" --auth "$T/nope" --root "$T/root"
	[ "$status" -eq 78 ]
	run "$GTR_BIN/cgid" -- no-such-program-anywhere
	[ "$status" -eq 78 ]
	run "$GTR_BIN/cgid" --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"--cgi-timeout"* ]]
}

# head32k METHOD TARGET: a request head of exactly 32768 bytes with
# "Transfer-Encoding: chunked" and a padding field, then a chunked body.
head32k() {
	python3 - "$1" "$2" <<'PY'
import sys
m, t = sys.argv[1], sys.argv[2]
start = "%s %s HTTP/1.1\r\nHost: a.example\r\nX-Pad: " % (m, t)
end = "\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
head = start + "v" * (32768 - len(start) - len(end)) + end
assert len(head) == 32768
sys.stdout.write(head + "14\r\nPOST\rforged=1\r\nxxxxx\r\n0\r\n\r\n")
PY
}

@test "a chunked body after a head of exactly 32 KiB leaves the head's strings intact" {
	start_root
	head32k POST /env.sh > "$T/req"
	run raw "$P" < "$T/req"
	[[ "${lines[0]}" == "HTTP/1.1 200 OK"* ]]
	echo "$output" | grep -qx 'REQUEST_METHOD=POST'
	echo "$output" | grep -q '^HTTP_HOST=a.example'
	echo "$output" | grep -q '^HTTP_X_PAD=vvvv'
	echo "$output" | grep -qx 'CONTENT_LENGTH=20'
	! echo "$output" | grep -q 'forged' || false
	wait_log 'method=POST target=/env.sh status=200' "$T/cgid.log"
	! grep -q 'forged' "$T/cgid.log" || false
	! grep -q $'\r' "$T/cgid.log" || false
}

@test "with an absolute-form target, its authority is SERVER_NAME and HTTP_HOST, whatever Host says" {
	start_root
	run raw "$P" < <(printf 'GET http://a.example:8080/env.sh HTTP/1.1\r\nHost: b.example\r\nConnection: close\r\n\r\n')
	[[ "${lines[0]}" == "HTTP/1.1 200 OK"* ]]
	echo "$output" | grep -qx 'SERVER_NAME=a.example'
	echo "$output" | grep -qx 'HTTP_HOST=a.example:8080'
	echo "$output" | grep -qx 'SCRIPT_NAME=/env.sh'
	! echo "$output" | grep -q 'b.example' || false
	run raw "$P" < <(printf 'GET /env.sh HTTP/1.1\r\nHost: b.example\r\nConnection: close\r\n\r\n')
	echo "$output" | grep -qx 'SERVER_NAME=b.example'
	echo "$output" | grep -qx 'HTTP_HOST=b.example'
}

@test "Transfer-Encoding: gzip, chunked gets 501 and runs nothing" {
	start_root
	run raw "$P" < <(printf 'POST /stderr.sh HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n')
	[[ "${lines[0]}" == "HTTP/1.1 501 Not Implemented"* ]]
	echo "$output" | grep -q '^Proxy-Status: gtr; error=http_request_error'
	[ "$(echo "$output" | grep -c '^HTTP/1.1')" -eq 1 ]
	wait_log 'method=POST target=/stderr.sh status=501' "$T/cgid.log"
	! grep -q 'oops from the program' "$T/cgid.log" || false
	run raw "$P" < <(printf 'POST /stderr.sh HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n')
	[[ "${lines[0]}" == "HTTP/1.1 501 Not Implemented"* ]]
	run raw "$P" < <(printf 'POST /stderr.sh HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n')
	[[ "${lines[0]}" == "HTTP/1.1 400 Bad Request"* ]]
	! grep -q 'oops from the program' "$T/cgid.log" || false
}

@test "a # in the request-target gets 400 and runs nothing" {
	start_root
	run raw "$P" < <(printf 'GET /env.sh/x#frag HTTP/1.1\r\nHost: a\r\n\r\n')
	[[ "${lines[0]}" == "HTTP/1.1 400 Bad Request"* ]]
	echo "$output" | grep -q 'fragment'
	! echo "$output" | grep -q 'REQUEST_URI' || false
	run raw "$P" < <(printf 'GET /env.sh?q=1#frag HTTP/1.1\r\nHost: a\r\n\r\n')
	[[ "${lines[0]}" == "HTTP/1.1 400 Bad Request"* ]]
	! echo "$output" | grep -q 'QUERY_STRING' || false
	wait_log 'status=400' "$T/cgid.log"
}

@test "40,000 bare CRs before a request get 400, not silence" {
	start_root
	python3 -c 'import sys; sys.stdout.write("\r" * 40000 + "GET /stderr.sh HTTP/1.1\r\nHost: a\r\n\r\n")' > "$T/req"
	run raw "$P" < "$T/req"
	[[ "${lines[0]}" == "HTTP/1.1 400 Bad Request"* ]]
	echo "$output" | grep -q 'bare CR'
	wait_log 'status=400' "$T/cgid.log"
	! grep -q 'oops from the program' "$T/cgid.log" || false
}

@test "the path is percent-decoded once; a bad escape or an encoded NUL gets 400" {
	start_root
	run curl -sS "$U/env%2esh/a%20b/%41"
	echo "$output" | grep -qx 'SCRIPT_NAME=/env.sh'
	echo "$output" | grep -qx 'PATH_INFO=/a b/A'
	echo "$output" | grep -qx 'REQUEST_URI=/env%2esh/a%20b/%41'
	run curl -sS "$U/env.sh/%2541"
	echo "$output" | grep -qx 'PATH_INFO=/%41'
	for bad in '/env.sh/a%00b' '/env.sh/%zz' '/env.sh/%4' '/env%'; do
		run curl -sS -o /dev/null -w '%{http_code}' "$U$bad"
		[ "$output" = 400 ]
	done
	run curl -sS -o /dev/null -w '%{http_code}' "$U/env.sh%2fx"
	[ "$output" = 404 ]
}
