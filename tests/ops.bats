#!/usr/bin/env bats
# ops.bats - what an operator meets on the first day (issue 10): the
# shared options each program takes and refuses, a program after -- that
# cannot be run, one wording per refusal, and --auth re-read on SIGHUP,
# also after -u has dropped the rights to open the file again.

load helpers/common
bats_require_minimum_version 1.5.0

ESTABLISHED='HTTP/1.1 200 Connection established'
MAN7=$BATS_TEST_DIRNAME/../man/man7/gtr.7
MAN8=$BATS_TEST_DIRNAME/../man/man8

# self_cert: a throwaway self-signed certificate and key in $T/cert.pem.
self_cert() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost \
		-keyout "$T/key.pem" -out "$T/crt.pem" 2>/dev/null
	cat "$T/crt.pem" "$T/key.pem" > "$T/cert.pem"
}

# cgi_root: $T/root with hello.sh, for cgid --root.
cgi_root() {
	mkdir -p "$T/root"
	printf '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\nhello\\n"\n' \
		> "$T/root/hello.sh"
	chmod 755 "$T/root/hello.sh"
	chmod go+rx "$T" "$T/root"
}

# base PROG: the arguments PROG needs to start at all, in one
# single-connection run (stdin an empty pipe): exit 0 when it starts.
base() {
	case $1 in
	cgid) echo "--root $T/root" ;;
	tlsstripd) echo "--cert $T/cert.pem -c 127.0.0.1:1" ;;
	*) echo "" ;;
	esac
}

# wait_count N PATTERN FILE: waits up to 10 s until FILE has N lines
# matching the extended regular expression PATTERN.
wait_count() {
	local i
	for i in $(seq 100); do
		[ "$(grep -cE -- "$2" "$3")" -ge "$1" ] && return 0
		sleep 0.1
	done
	echo "fewer than $1 lines matching '$2' in $3 after 10 s" >&2
	return 1
}

# one_line PROG: $output is exactly one line, PROG's "error:" line.
one_line() {
	[ "${#lines[@]}" -eq 1 ]
	[[ "${lines[0]}" =~ ^$1\[[0-9]+\]:\ error:\  ]]
}

@test "a shared option a program does not use is exit 64 with one line naming it" {
	self_cert
	cgi_root
	for args in "cgid --connect-timeout 5" "cgid --allow-port 80" \
	    "cgid --allow-dest 10.0.0.0/8" "cgid -c 127.0.0.1:80" \
	    "cgid --connect=127.0.0.1:80" "tlsstripd --allow-port 80" \
	    "tlsstripd --allow-dest=10.0.0.0/8"; do
		set -- $args
		prog=$1 opt=${2%%=*}
		# shellcheck disable=SC2046
		run timeout 10 "$GTR_BIN/$prog" $(base "$prog") "${@:2}" < <(:)
		echo "$args: $status: $output"
		[ "$status" -eq 64 ]
		one_line "$prog"
		[[ "$output" == *"error: $opt is not an option of $prog (see $prog -h)" ]]
	done
	# what they do take still starts
	run -0 timeout 10 "$GTR_BIN/cgid" --root "$T/root" --header-timeout 5 < <(:)
	run -0 timeout 10 "$GTR_BIN/tlsstripd" --cert "$T/cert.pem" \
		-c 127.0.0.1:1 --connect-timeout 5 < <(:)
}

# The table in gtr(7) is the contract: each of its cells is checked
# against the program (the option given before -h: taken, the help is
# printed and the exit is 0; refused, 64) and against its -h.
@test "gtr(7)'s table of shared options says which program takes which, as the programs and their -h do" {
	header=$(grep -E '^\.It Em option Ta ' "$MAN7")
	[ -n "$header" ]
	read -ra progs <<< "$(echo "$header" | sed -e 's/^\.It Em option Ta //' \
		-e 's/ Ta / /g' -e 's/Nm //g')"
	[ "${#progs[@]}" -eq 6 ]
	rows=$(grep -E '^\.It Fl (c|-[a-z-]+) Ta ' "$MAN7")
	[ "$(echo "$rows" | wc -l)" -ge 4 ]
	checked=0
	while read -r row; do
		opt=$(echo "$row" | sed -E 's/^\.It Fl (c|-[a-z-]+) Ta .*/-\1/')
		read -ra cells <<< "$(echo "$row" | sed -E -e 's/^\.It Fl [a-z-]+ Ta //' \
			-e 's/ Ta / /g')"
		[ "${#cells[@]}" -eq 6 ]
		for i in "${!progs[@]}"; do
			p=${progs[$i]}
			v=80
			[ "$opt" = --allow-dest ] && v=10.0.0.0/8
			run "$GTR_BIN/$p" "$opt" "$v" -h
			help=$("$GTR_BIN/$p" -h)
			echo "$p $opt: table ${cells[$i]}, exit $status"
			if [ "${cells[$i]}" = yes ]; then
				[ "$status" -eq 0 ]
				[[ "$help" =~ (^|[ ,])"$opt"[\ ,=] ]]
			else
				[ "${cells[$i]}" = '\(em' ]
				[ "$status" -eq 64 ]
				! [[ "$help" =~ (^|[ ,])"$opt"[\ ,=] ]] || false
			fi
			checked=$((checked + 1))
		done
	done <<< "$rows"
	[ "$checked" -ge 24 ]
	# connect-timeout, allow-port, allow-dest are among the rows
	for o in -c --connect-timeout --allow-port --allow-dest; do
		echo "$rows" | grep -q "^\.It Fl ${o#-} Ta "
	done
}

@test "cgid -h and tlsstripd -h leave out what they refuse; their usage lines and man pages too" {
	run -0 "$GTR_BIN/cgid" -h
	[[ "$output" != *"--connect-timeout"* ]]
	[[ "$output" != *"--allow-port"* && "$output" != *"--allow-dest"* ]]
	[[ "$output" == *"--header-timeout"* ]]
	run -0 "$GTR_BIN/tlsstripd" -h
	[[ "$output" != *"--allow-port"* && "$output" != *"--allow-dest"* ]]
	[[ "$output" == *"--connect-timeout"* ]]
	# neither the synopsis nor the option list of their pages has them
	syn() { sed -n '/^\.Sh SYNOPSIS/,/^\.Sh DESCRIPTION/p' "$MAN8/$1.8"; }
	! syn cgid | grep -qE 'Fl (c|-connect-timeout|-allow-port|-allow-dest)' || false
	! grep -qE '^\.It Fl (c|-connect-timeout|-allow-port|-allow-dest)( |$)' "$MAN8/cgid.8" || false
	! syn tlsstripd | grep -qE 'Fl -allow-(port|dest)' || false
	! grep -qE '^\.It Fl -allow-(port|dest)( |$)' "$MAN8/tlsstripd.8" || false
}

@test "a program after -- that cannot be run is exit 78 at start, with one error: line" {
	self_cert
	printf '#!/bin/sh\necho hi\n' > "$T/plain"
	chmod 644 "$T/plain"
	mkdir "$T/dir"
	for prog in relayd tlsstripd cgid; do
		for p in gtr-no-such-program "$T/plain" "$T/dir" "$T/missing"; do
			case $prog in
			tlsstripd) a=(--cert "$T/cert.pem") ;;
			*) a=() ;;
			esac
			run timeout 10 "$GTR_BIN/$prog" "${a[@]}" -- "$p" arg < <(:)
			echo "$prog -- $p: $status: $output"
			[ "$status" -eq 78 ]
			one_line "$prog"
			[[ "$output" == *"$p"* ]]
		done
	done
	# the same names found on PATH start
	cp "$T/plain" "$T/runme"
	chmod 755 "$T/runme"
	run -0 timeout 10 env PATH="$T:$PATH" "$GTR_BIN/relayd" -- runme < <(:)
	run -0 timeout 10 env PATH="$T:$PATH" "$GTR_BIN/tlsstripd" \
		--cert "$T/cert.pem" -- runme < <(:)
}

@test "tlsstripd: a program gone after start is one refused connection, with no waitpid warning" {
	self_cert
	printf '#!/bin/sh\necho hi\n' > "$T/prog"
	chmod 755 "$T/prog"
	P=$(free_port)
	gtr_start tlsstripd "$P" --cert "$T/cert.pem" -- "$T/prog"
	run -0 sh -c "timeout 20 openssl s_client -quiet -connect 127.0.0.1:$P \
		-servername localhost < /dev/null 2>/dev/null"
	[ "$output" = hi ]
	rm "$T/prog"
	run sh -c "timeout 20 openssl s_client -quiet -connect 127.0.0.1:$P \
		-servername localhost < /dev/null 2>/dev/null"
	[ -z "$output" ]
	wait_log "reason=upstream_error" "$T/tlsstripd.log"
	grep -q "conn=[0-9]*: .*$T/prog" "$T/tlsstripd.log"
	! grep -q waitpid "$T/tlsstripd.log" || false
	! grep -q "No child processes" "$T/tlsstripd.log" || false
}

@test "relayd: a program gone after start is 502 for that request, with no waitpid warning" {
	printf '#!/bin/sh\nprintf "HTTP/1.0 200 OK\\r\\n\\r\\nhi\\n"\n' > "$T/prog"
	chmod 755 "$T/prog"
	P=$(free_port)
	gtr_start relayd "$P" -- "$T/prog"
	run -0 curl -sS "http://127.0.0.1:$P/"
	[ "$output" = hi ]
	rm "$T/prog"
	run -0 curl -sS -i "http://127.0.0.1:$P/"
	[[ "${lines[0]}" == "HTTP/1.1 502 "* ]]
	wait_log "status=502 .*reason=upstream_error" "$T/relayd.log"
	! grep -q waitpid "$T/relayd.log" || false
	! grep -q "No child processes" "$T/relayd.log" || false
}

# in_body STATUS TEXT: $output is a STATUS answer whose body says TEXT.
in_body() {
	[[ "${lines[0]}" == "HTTP/1.1 $1 "* ]]
	[[ "$output" == *$'\r\n\r\n'*"$2"* ]]
}

@test "a refused port is 'port N is not allowed' in every program that has --allow-port" {
	p=$(free_port)
	P=$(free_port)
	gtr_start connectd "$P"
	run raw "$P" < <(printf 'CONNECT 127.0.0.1:%s HTTP/1.1\r\nHost: x\r\n\r\n' "$p")
	in_body 403 "port $p is not allowed"
	R=$(free_port)
	gtr_start relayd "$R"
	run -0 curl -sS -i -x "http://127.0.0.1:$R" "http://127.0.0.1:$p/"
	in_body 403 "port $p is not allowed"
	W=$(free_port)
	gtr_start tlswrapd "$W"
	run -0 curl -sS -i -x "http://127.0.0.1:$W" "http://127.0.0.1:$p/"
	in_body 403 "port $p is not allowed"
	F=$(free_port)
	gtr_start httpftpd "$F"
	run -0 curl -sS -i -x "http://127.0.0.1:$F" "ftp://127.0.0.1:$p/x"
	in_body 403 "port $p is not allowed"
	for prog in connectd relayd tlswrapd httpftpd; do
		grep -Eq "status=403 .*reason=policy( |$)" "$T/$prog.log"
		! grep -q "refused by policy" "$T/$prog.log" || false
	done
}

@test "a refused destination is 'destination HOST is not allowed' in every program, its log line too" {
	P=$(free_port)
	gtr_start connectd "$P"
	run raw "$P" < <(printf 'CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: x\r\n\r\n')
	in_body 403 "destination 127.0.0.1 is not allowed"
	[[ "$output" != *"cannot connect"* ]]
	R=$(free_port)
	gtr_start relayd "$R"
	run -0 curl -sS -i -x "http://127.0.0.1:$R" "http://127.0.0.1/"
	in_body 403 "destination 127.0.0.1 is not allowed"
	W=$(free_port)
	gtr_start tlswrapd "$W"
	run -0 curl -sS -i -x "http://127.0.0.1:$W" "http://127.0.0.1:443/"
	in_body 403 "destination 127.0.0.1 is not allowed"
	F=$(free_port)
	gtr_start httpftpd "$F"
	run -0 curl -sS -i -x "http://127.0.0.1:$F" "ftp://127.0.0.1/x"
	in_body 403 "destination 127.0.0.1 is not allowed"
	for prog in connectd relayd tlswrapd httpftpd; do
		wait_log "status=403 .*reason=policy( |$)" "$T/$prog.log"
		! grep -q "refused by policy" "$T/$prog.log" || false
	done
	# the curl-based programs log each address they refuse, the same way
	grep -q "conn=[0-9]*: destination 127.0.0.1 is not allowed" "$T/tlswrapd.log"
	grep -q "destination 127.0.0.1 is not allowed" "$T/httpftpd.log"
}

@test "a destination that is the program's own listener is named, in the same words everywhere" {
	P=$(free_port)
	gtr_start connectd "$P" --allow-dest 127.0.0.1/32 --allow-port "$P"
	run raw "$P" < <(printf 'CONNECT 127.0.0.1:%s HTTP/1.1\r\nHost: x\r\n\r\n' "$P")
	in_body 403 "destination 127.0.0.1:$P is this program's own listener"
	W=$(free_port)
	gtr_start tlswrapd "$W" --allow-dest 127.0.0.1/32 --allow-port "$W"
	run -0 curl -sS -i -x "http://127.0.0.1:$W" "http://127.0.0.1:$W/"
	in_body 403 "destination 127.0.0.1:$W is this program's own listener"
}

@test "missing credentials are 'credentials required', wrong ones 'credentials rejected' (cgid, connectd)" {
	cgi_root
	htpasswd -B -b -c "$T/pw" alice wonderland 2>/dev/null
	C=$(free_port)
	gtr_start cgid "$C" --root "$T/root" --auth "$T/pw"
	run -0 curl -sS -i "http://127.0.0.1:$C/hello.sh"
	in_body 401 "credentials required"
	run -0 curl -sS -i -u alice:wrong "http://127.0.0.1:$C/hello.sh"
	in_body 401 "credentials rejected"
	run -0 curl -sS -i -u bob:wonderland "http://127.0.0.1:$C/hello.sh"
	in_body 401 "credentials rejected"
	P=$(free_port)
	gtr_start connectd "$P" --auth "$T/pw"
	run raw "$P" < <(printf 'CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: x\r\n\r\n')
	in_body 407 "credentials required"
	run raw "$P" < <(printf 'CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Basic %s\r\n\r\n' \
		"$(printf alice:wrong | base64)")
	in_body 407 "credentials rejected"
}

# keepalive PORT PATH CRED1 CRED2: one HTTP/1.1 connection; GET PATH with
# Basic CRED1, then (once $T/go exists) again with CRED2.  Prints each
# status and whether the same socket carried both.  $T/ready appears
# after the first answer.
keepalive() {
	python3 - "$@" <<'PY'
import base64, http.client, os, sys, time
port, path, c1, c2 = sys.argv[1:5]
t = os.environ["T"]
c = http.client.HTTPConnection("127.0.0.1", int(port), timeout=20)
def get(cred):
    h = {"Authorization": "Basic " + base64.b64encode(cred.encode()).decode()}
    c.request("GET", path, headers=h)
    r = c.getresponse()
    r.read()
    return r.status
s1 = get(c1)
first = c.sock.getsockname()
open(t + "/ready", "w").close()
for _ in range(200):
    if os.path.exists(t + "/go"):
        break
    time.sleep(0.05)
sock = c.sock
s2 = get(c2)
print(s1, s2, "same" if c.sock is sock and sock.getsockname() == first else "new")
PY
}

@test "cgid re-reads --auth on SIGHUP in listen mode; an open keep-alive connection goes on" {
	cgi_root
	htpasswd -B -b -c "$T/pw" alice wonderland 2>/dev/null
	C=$(free_port)
	gtr_start cgid "$C" --root "$T/root" --auth "$T/pw"
	keepalive "$C" /hello.sh alice:wonderland bob:builder > "$T/ka.out" &
	ka=$!
	wait_file "$T/ready"
	htpasswd -B -b -c "$T/pw" bob builder 2>/dev/null
	kill -HUP "$cgid_pid"
	wait_log "info: reloaded --auth $T/pw" "$T/cgid.log"
	run -0 curl -sS -u bob:builder "http://127.0.0.1:$C/hello.sh"
	[ "$output" = hello ]
	run -0 curl -sS -o /dev/null -w '%{http_code}' -u alice:wonderland "http://127.0.0.1:$C/hello.sh"
	[ "$output" = 401 ]
	touch "$T/go"
	wait "$ka"
	[ "$(cat "$T/ka.out")" = "200 200 same" ]
	kill -0 "$cgid_pid"
	# a file that no longer loads keeps the users read before
	echo 'carol:$apr1$xyz$abc' > "$T/pw"
	kill -HUP "$cgid_pid"
	wait_log "unable to reload --auth $T/pw.*keeping the users read before" "$T/cgid.log"
	run -0 curl -sS -u bob:builder "http://127.0.0.1:$C/hello.sh"
	[ "$output" = hello ]
}

# tunnel_hup PORT: through connectd on PORT with bob's credentials, a
# tunnel to $EPORT that sends "one", waits for $T/go, sends "two"; prints
# what came back.  $T/ready appears once "one" is back.
tunnel_hup() {
	python3 - "$1" "$EPORT" <<'PY'
import base64, os, socket, sys, time
port, eport = sys.argv[1:3]
t = os.environ["T"]
s = socket.create_connection(("127.0.0.1", int(port)), timeout=20)
cred = base64.b64encode(b"alice:wonderland").decode()
s.sendall(("CONNECT 127.0.0.1:%s HTTP/1.1\r\nHost: x\r\n"
           "Proxy-Authorization: Basic %s\r\n\r\none" % (eport, cred)).encode())
got = b""
while not got.endswith(b"one"):
    d = s.recv(4096)
    if not d:
        break
    got += d
open(t + "/ready", "w").close()
for _ in range(200):
    if os.path.exists(t + "/go"):
        break
    time.sleep(0.05)
s.sendall(b"two")
while not got.endswith(b"two"):
    d = s.recv(4096)
    if not d:
        break
    got += d
print(got.split(b"\r\n\r\n", 1)[-1].decode())
PY
}

@test "connectd -u nobody: SIGHUP re-reads a 0600 root-owned --auth edited in place; an open tunnel goes on" {
	[ "$(id -u)" = 0 ] || skip "needs root to drop privileges"
	echo_origin
	htpasswd -B -b -c "$T/pw" alice wonderland 2>/dev/null
	chmod 600 "$T/pw"
	ino=$(stat -c %i "$T/pw")
	P=$(free_port)
	gtr_start connectd "$P" -u nobody --allow-dest 127.0.0.1/32 \
		--allow-port "$EPORT" --auth "$T/pw"
	tunnel_hup "$P" > "$T/tunnel.out" &
	tu=$!
	wait_file "$T/ready"
	htpasswd -B -b "$T/pw" bob builder 2>/dev/null
	[ "$(stat -c %i "$T/pw")" = "$ino" ]
	kill -HUP "$connectd_pid"
	wait_log "reload.* --auth $T/pw" "$T/connectd.log"
	! grep -q "unable to reload" "$T/connectd.log" || false
	printf -v head 'CONNECT 127.0.0.1:%s HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Basic %s\r\n\r\nping' \
		"$EPORT" "$(printf bob:builder | base64)"
	run raw "$P" < <(printf '%s' "$head")
	[ "$output" = "$ESTABLISHED"$'\r\n\r\n'ping ]
	touch "$T/go"
	wait "$tu"
	[ "$(cat "$T/tunnel.out")" = onetwo ]
	kill -0 "$connectd_pid"
}

@test "cgid -u nobody: SIGHUP re-reads a 0600 root-owned --auth; one replaced by a file it cannot open is a clear warning" {
	[ "$(id -u)" = 0 ] || skip "needs root to drop privileges"
	cgi_root
	mkdir "$T/etc"
	htpasswd -B -b -c "$T/etc/pw" alice wonderland 2>/dev/null
	chmod 600 "$T/etc/pw"
	C=$(free_port)
	gtr_start cgid "$C" -u nobody --root "$T/root" --auth "$T/etc/pw"
	htpasswd -B -b "$T/etc/pw" bob builder 2>/dev/null
	kill -HUP "$cgid_pid"
	wait_log "info: reloaded --auth $T/etc/pw" "$T/cgid.log"
	run -0 curl -sS -u bob:builder "http://127.0.0.1:$C/hello.sh"
	[ "$output" = hello ]
	# a new file renamed over the old one: nobody cannot open it, and
	# the descriptor kept from the start holds the old one
	htpasswd -B -b -c "$T/etc/pw.new" carol secret 2>/dev/null
	chmod 600 "$T/etc/pw.new"
	mv "$T/etc/pw.new" "$T/etc/pw"
	kill -HUP "$cgid_pid"
	wait_log "unable to reload --auth $T/etc/pw" "$T/cgid.log"
	grep "unable to reload --auth" "$T/cgid.log" | grep -q "replaced"
	grep "unable to reload --auth" "$T/cgid.log" | grep -q "keeping the users read before"
	run -0 curl -sS -o /dev/null -w '%{http_code}' -u carol:secret "http://127.0.0.1:$C/hello.sh"
	[ "$output" = 401 ]
	run -0 curl -sS -u bob:builder "http://127.0.0.1:$C/hello.sh"
	[ "$output" = hello ]
	# made readable to the user it runs as, the new file is read by its path
	chown nobody "$T/etc/pw"
	kill -HUP "$cgid_pid"
	wait_count 2 "info: reloaded --auth $T/etc/pw" "$T/cgid.log"
	[ "$(grep -c "info: reloaded --auth $T/etc/pw\$" "$T/cgid.log")" -eq 1 ]
	run -0 curl -sS -u carol:secret "http://127.0.0.1:$C/hello.sh"
	[ "$output" = hello ]
}

@test "connectd's -h and man page agree: --auth is re-read on SIGHUP; cgid's too" {
	run -0 "$GTR_BIN/connectd" -h
	[[ "$output" == *"re-read on SIGHUP"* ]]
	run -0 "$GTR_BIN/cgid" -h
	[[ "$output" == *"re-read on SIGHUP"* ]]
	for p in connectd cgid; do
		txt=$(MANWIDTH=200 mandoc -Tascii "$MAN8/$p.8" | col -b)
		[[ "$txt" != *"read once"* ]]
		[[ "$txt" != *"not re-read"* ]]
		[[ "$txt" =~ SIGHUP[^.]*(--auth|file) ]] || [[ "$txt" =~ --auth[^.]*SIGHUP ]]
	done
}

@test "tlsstripd: --cert-dir alone is enough, as its usage says; -h and the man page agree on --header-timeout" {
	self_cert
	mkdir "$T/certs"
	cp "$T/cert.pem" "$T/certs/localhost.pem"
	run -0 timeout 10 "$GTR_BIN/tlsstripd" --cert-dir "$T/certs" -c 127.0.0.1:1 < <(:)
	run -0 "$GTR_BIN/tlsstripd" -h
	[[ "${lines[0]}" == *"(--cert FILE | --cert-dir DIR)"* ]]
	line=$(echo "$output" | grep -e '--header-timeout')
	[[ "$line" == *"handshake"* ]]
	run -64 "$GTR_BIN/tlsstripd" -c 127.0.0.1:1 < <(:)
	[[ "$output" == *"give --cert FILE or --cert-dir DIR"* ]]
	# the man page's synopsis: neither is required on its own
	syn=$(mandoc -Tascii "$MAN8/tlsstripd.8" | col -b | sed -n '/^SYNOPSIS/,/^DESCRIPTION/p')
	[[ "$syn" == *"[--cert file [--key file] [--ocsp file]]"* ]]
	[[ "$syn" == *"[--cert-dir dir]"* ]]
	man=$(MANWIDTH=200 mandoc -Tascii "$MAN8/tlsstripd.8" | col -b |
		sed -n '/^ *--header-timeout seconds/,/^ *--/p')
	[[ "$man" == *"handshake"* ]]
}

@test "cgid --auth on a single connection: SIGHUP ends nothing and re-reads nothing" {
	cgi_root
	htpasswd -B -b -c "$T/pw" alice wonderland 2>/dev/null
	printf -v req 'GET /hello.sh HTTP/1.1\r\nHost: x\r\nAuthorization: Basic %s\r\n' \
		"$(printf alice:wonderland | base64)"
	(printf '%s' "$req"; sleep 1; printf 'Connection: close\r\n\r\n') |
		"$GTR_BIN/cgid" --root "$T/root" --auth "$T/pw" > "$T/out" 2> "$T/cgid.log" 3>&- &
	echo $! >> "$T/pids"
	for i in $(seq 50); do
		pid=$(pgrep -n -f "cgid --root $T/root --auth") && break
		sleep 0.1
	done
	[ -n "$pid" ]
	sleep 0.3	# past start-up, where SIGHUP is not yet ignored
	kill -HUP "$pid"
	wait_log "status=200 user=alice" "$T/cgid.log"
	grep -q '^hello' "$T/out"
	! grep -q "reload" "$T/cgid.log" || false
}
