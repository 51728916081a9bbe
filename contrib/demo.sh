#!/bin/bash
# demo.sh - a small loopback scene that shows each gtr program doing its
# job: real servers (nginx over HTTP and HTTPS, an FTP server), gtr in
# front, curl as the client.  One line per step; everything it started is
# stopped when it ends, whatever happens.
set -u
BIN=${GTR_BIN:-$(cd "$(dirname "$0")/.." && pwd)/bin}
D=$(mktemp -d /tmp/gtr-demo.XXXXXX)
PIDS=()
FAILED=0

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	sleep 0.2
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {
	local i
	for i in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# start NAME CMD...: runs CMD in the background, logging to $D/NAME.log.
start() {
	local name=$1
	shift
	"$@" > "$D/$name.log" 2>&1 < /dev/null &
	PIDS+=($!)
}

# step WHAT EXPECTED CMD...: runs CMD, prints one line saying whether its
# output contains EXPECTED.
step() {
	local what=$1 want=$2 got
	shift 2
	got=$("$@" 2>"$D/step.err")
	if printf '%s' "$got" | grep -q -- "$want"; then
		printf '  ok   %s\n' "$what"
	else
		printf '  FAIL %s (wanted "%s", got "%s" %s)\n' "$what" "$want" \
		    "$(printf '%s' "$got" | head -c 200)" "$(head -c 300 "$D/step.err")"
		FAILED=1
	fi
}

has() { [ -x "$BIN/$1" ]; }

echo "gtr demo: a loopback scene in $D"

# The origins: nginx over HTTPS and plain HTTP, with a throwaway CA.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=gtr demo CA" \
    -keyout "$D/ca.key" -out "$D/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
    -keyout "$D/site.key" -out "$D/site.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > "$D/site.ext"
openssl x509 -req -in "$D/site.csr" -CA "$D/ca.pem" -CAkey "$D/ca.key" \
    -CAcreateserial -days 1 -extfile "$D/site.ext" -out "$D/site.crt" 2>/dev/null
cat "$D/site.crt" "$D/site.key" > "$D/site.pem"
mkdir -p "$D/www"
echo "hello from the origin" > "$D/www/index.html"
HTTPS=$(port) HTTP=$(port)
cat > "$D/nginx.conf" <<NGINX
daemon off; worker_processes 1; pid $D/nginx.pid; error_log $D/nginx.err;
events { worker_connections 256; }
http {
	access_log off; client_body_temp_path $D; proxy_temp_path $D;
	fastcgi_temp_path $D; uwsgi_temp_path $D; scgi_temp_path $D;
	server { listen 127.0.0.1:$HTTP; root $D/www; }
	server { listen 127.0.0.1:$HTTPS ssl; root $D/www;
		ssl_certificate $D/site.crt; ssl_certificate_key $D/site.key; }
}
NGINX
start nginx nginx -c "$D/nginx.conf" -e "$D/nginx.err"
wait_port "$HTTPS" || { echo "nginx did not start"; exit 1; }
echo "  --   nginx serves https://localhost:$HTTPS/ and http://127.0.0.1:$HTTP/"

if has connectd; then
	P=$(port)
	start connectd "$BIN/connectd" -l "127.0.0.1:$P" \
	    --allow-dest 127.0.0.1/32 --allow-port "$HTTPS"
	wait_port "$P"
	step "connectd: curl tunnels TLS through CONNECT to the HTTPS origin" \
	    "hello from the origin" \
	    curl -sS -p -x "http://127.0.0.1:$P" --cacert "$D/ca.pem" \
	    "https://localhost:$HTTPS/"
	step "connectd: CONNECT to a port not allowed is refused with 403" \
	    "403" \
	    curl -s -o /dev/null -w '%{http_connect}' -p -x "http://127.0.0.1:$P" \
	    "https://localhost:$HTTP/"
fi

if has relayd; then
	P=$(port) R=$(port)
	start relayd "$BIN/relayd" -l "127.0.0.1:$P" \
	    --allow-dest 127.0.0.1/32 --allow-port "$HTTP"
	start relayd-raw "$BIN/relayd" --raw -l "127.0.0.1:$R" -c "127.0.0.1:$HTTPS"
	wait_port "$P" && wait_port "$R"
	step "relayd: an HTTP proxy request is relayed to the origin, then closed" \
	    "hello from the origin" \
	    curl -sS -x "http://127.0.0.1:$P" "http://127.0.0.1:$HTTP/"
	step "relayd --raw: TLS passes through a blind TCP relay" \
	    "hello from the origin" \
	    curl -sS --cacert "$D/ca.pem" --connect-to "localhost:$HTTPS:127.0.0.1:$R" \
	    "https://localhost:$HTTPS/"
fi


if has tlsstripd; then
	P=$(port)
	start tlsstripd "$BIN/tlsstripd" -l "127.0.0.1:$P" --cert "$D/site.pem" \
	    -c "127.0.0.1:$HTTP"
	wait_port "$P"
	step "tlsstripd: HTTPS to the gateway, plain HTTP to the origin behind it" \
	    "hello from the origin" \
	    curl -sS --cacert "$D/ca.pem" --connect-to "localhost:$P:127.0.0.1:$P" \
	    "https://localhost:$P/"
fi

if has tlswrapd; then
	P=$(port)
	start tlswrapd "$BIN/tlswrapd" -l "127.0.0.1:$P" --cacert "$D/ca.pem" \
	    --allow-dest 127.0.0.1/32 --allow-port "$HTTPS"
	wait_port "$P"
	step "tlswrapd: plain HTTP from the client, verified HTTPS to the origin" \
	    "hello from the origin" \
	    curl -sS -x "http://127.0.0.1:$P" "http://localhost:$HTTPS/"
fi

if has cgid; then
	P=$(port)
	printf '#!/bin/sh\nprintf "Content-Type: text/plain\\r\\n\\r\\n"\necho "hello from CGI, $REQUEST_METHOD $SCRIPT_NAME$PATH_INFO?$QUERY_STRING"\n' \
	    > "$D/hello.cgi"
	chmod 755 "$D/hello.cgi"
	start cgid "$BIN/cgid" -l "127.0.0.1:$P" -- "$D/hello.cgi"
	wait_port "$P"
	step "cgid: each request runs a CGI program" \
	    "hello from CGI, GET /x?y=1" \
	    curl -sS "http://127.0.0.1:$P/x?y=1"
fi

if has httpftpd && /usr/bin/python3 -c 'import pyftpdlib' 2>/dev/null; then
	F=$(port) P=$(port)
	mkdir -p "$D/ftp/pub"
	echo "hello from FTP" > "$D/ftp/pub/hello.txt"
	start pyftpdlib /usr/bin/python3 -m pyftpdlib -i 127.0.0.1 -p "$F" -d "$D/ftp"
	wait_port "$F"
	start httpftpd "$BIN/httpftpd" -l "127.0.0.1:$P" \
	    -c "ftp://127.0.0.1:$F/pub/"
	wait_port "$P"
	step "httpftpd: an FTP file fetched over HTTP" \
	    "hello from FTP" \
	    curl -sS "http://127.0.0.1:$P/hello.txt"
	step "httpftpd: an FTP directory listed as HTML" \
	    'hello.txt</a>' \
	    curl -sS "http://127.0.0.1:$P/"
fi

if [ "$FAILED" -eq 0 ]; then
	echo "gtr demo: every step worked; stopping everything."
else
	echo "gtr demo: some steps failed; logs were in $D."
	for f in "$D"/*.log; do echo "--- $f"; tail -n 5 "$f"; done
fi
exit "$FAILED"
