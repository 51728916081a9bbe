# common.bash - shared by every bats file: load 'helpers/common'
#
# Each test gets a fresh directory ($T) and everything started with
# bg_start is killed when the test ends.  Logs of the servers are printed
# when a test fails (bats shows output of failed tests only).

GTR_BIN=${GTR_BIN:-$BATS_TEST_DIRNAME/../bin}
GTR_BUILD=${GTR_BUILD:-$BATS_TEST_DIRNAME/../build}
HELPERS=$BATS_TEST_DIRNAME/helpers
PATH=$GTR_BIN:$PATH

common_setup() {
	T=$(mktemp -d "${BATS_TMPDIR:-/tmp}/gtr.XXXXXX")
	export T
	: > "$T/pids"
}

common_teardown() {
	local pid
	if [ -f "$T/pids" ]; then
		while read -r pid; do
			kill -TERM "$pid" 2>/dev/null
		done < "$T/pids"
		sleep 0.1
		while read -r pid; do
			kill -KILL "$pid" 2>/dev/null
		done < "$T/pids"
	fi
	if [ -n "${BATS_TEST_COMPLETED:-}" ] || [ -z "$T" ]; then
		rm -rf "$T"
		return 0
	fi
	for f in "$T"/*.log; do
		[ -f "$f" ] || continue
		echo "--- $f"
		tail -n 40 "$f"
	done
	rm -rf "$T"
}

setup() { common_setup; }
teardown() { common_teardown; }

# free_port: prints a TCP port nobody listens on right now.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_port PORT [HOST]: waits up to 10 s until something listens there.
wait_port() {
	local port=$1 host=${2:-127.0.0.1} i
	for i in $(seq 100); do
		if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	echo "nothing listens on $host:$port after 10 s" >&2
	return 1
}

# wait_log PATTERN FILE: waits up to 10 s until FILE has a line matching
# the extended regular expression PATTERN.
wait_log() {
	local i
	for i in $(seq 100); do
		grep -qE -- "$1" "$2" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "no line matching '$1' in $2 after 10 s" >&2
	return 1
}

# wait_count PATTERN FILE N: waits up to 10 s until FILE has N lines
# matching the extended regular expression PATTERN; fails if it has more.
wait_count() {
	local i n
	for i in $(seq 100); do
		n=$(grep -cE -- "$1" "$2" 2>/dev/null)
		[ "${n:-0}" -ge "$3" ] && break
		sleep 0.1
	done
	[ "${n:-0}" -eq "$3" ] && return 0
	echo "$n lines matching '$1' in $2, not $3" >&2
	return 1
}

# wait_file PATH: waits up to 10 s until PATH exists.
wait_file() {
	local i
	for i in $(seq 100); do
		[ -e "$1" ] && return 0
		sleep 0.1
	done
	echo "$1 did not appear after 10 s" >&2
	return 1
}

# bg NAME CMD...: starts CMD in the background with its output in
# $T/NAME.log, and remembers it for teardown.  fd 3 is closed so bats
# does not wait for it.
bg() {
	local name=$1
	shift
	"$@" > "$T/$name.log" 2>&1 3>&- < /dev/null &
	echo $! >> "$T/pids"
	eval "${name//-/_}_pid=$!"
}

# gtr_start NAME PORT ARGS...: starts bin/NAME listening on 127.0.0.1:PORT
# with ARGS, waits until it listens.
gtr_start() {
	local name=$1 port=$2
	shift 2
	bg "$name" "$GTR_BIN/$name" -l "127.0.0.1:$port" "$@"
	wait_port "$port"
}

# nginx_start PORT [EXTRA_SERVER_DIRECTIVES]: a real nginx serving $T/www
# on 127.0.0.1:PORT with keep-alive on.  Files: put them in $T/www.
nginx_start() {
	local port=$1 extra=${2:-}
	mkdir -p "$T/www" "$T/nginx"
	# nginx workers run as nobody: they must reach the files under $T.
	chmod go+rx "$T" "$T/www"
	cat > "$T/nginx/nginx.conf" <<NGINX
daemon off;
worker_processes 1;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log;
events { worker_connections 1024; }
http {
	access_log $T/nginx/access.log;
	client_body_temp_path $T/nginx;
	proxy_temp_path $T/nginx;
	fastcgi_temp_path $T/nginx;
	uwsgi_temp_path $T/nginx;
	scgi_temp_path $T/nginx;
	keepalive_timeout 65;
	client_max_body_size 0;
	server {
		listen 127.0.0.1:$port;
		root $T/www;
		$extra
	}
}
NGINX
	bg nginx nginx -c "$T/nginx/nginx.conf" -e "$T/nginx/error.log"
	wait_port "$port"
}

# make_ca DIR: a throwaway CA (DIR/ca.pem, DIR/ca.key).
make_ca() {
	local d=$1
	mkdir -p "$d"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=gtr test CA" \
		-keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null
}

# make_cert DIR NAME SAN...: a certificate for NAME signed by DIR's CA,
# with the SANs given ("DNS:localhost,IP:127.0.0.1"); DIR/NAME.pem holds
# the certificate and the key.
make_cert() {
	local d=$1 name=$2 san=$3 days=${4:-2}
	openssl req -newkey rsa:2048 -nodes -subj "/CN=$name" \
		-keyout "$d/$name.key" -out "$d/$name.csr" 2>/dev/null
	printf 'subjectAltName=%s\n' "$san" > "$d/$name.ext"
	openssl x509 -req -in "$d/$name.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
		-CAcreateserial -days "$days" -extfile "$d/$name.ext" \
		-out "$d/$name.crt" 2>/dev/null
	cat "$d/$name.crt" "$d/$name.key" > "$d/$name.pem"
}

# child_count PID: how many processes have PID as parent.
child_count() {
	ps -o pid= --ppid "$1" | wc -l
}

# https_origin: nginx serving $T/www over TLS on $SPORT (and plain HTTP on
# $HPORT), with a certificate for localhost from the CA in $T/pki.
https_origin() {
	HPORT=$(free_port)
	SPORT=$(free_port)
	make_ca "$T/pki"
	make_cert "$T/pki" localhost "DNS:localhost,IP:127.0.0.1"
	mkdir -p "$T/www"
	echo "hello over tls" > "$T/www/index.html"
	# nginx workers run as nobody; mktemp -d made $T 0700.
	chmod go+rx "$T" "$T/www"
	nginx_start "$HPORT" "listen 127.0.0.1:$SPORT ssl;
		ssl_certificate $T/pki/localhost.crt;
		ssl_certificate_key $T/pki/localhost.key;"
	wait_port "$SPORT"
}

# echo_origin: an upstream on $EPORT that sends back what it receives.
echo_origin() {
	EPORT=$(free_port)
	bg echo socat TCP-LISTEN:"$EPORT",bind=127.0.0.1,reuseaddr,fork EXEC:cat
	wait_port "$EPORT"
}

# raw PORT: sends stdin to 127.0.0.1:PORT, half-closes, prints the answer.
raw() {
	socat -t 20 - TCP:127.0.0.1:"$1"
}
