#!/usr/bin/env bats
# tlswrapd: plain HTTP in, verified HTTPS out, against real HTTPS origins
# (nginx with HTTP/2, openssl s_server -WWW, a small Python origin for
# what nginx will not do) and real clients (curl, wget, socat).

load helpers/common
bats_require_minimum_version 1.5.0

# Certificates once per file: a CA, a server certificate for localhost
# and 127.0.0.1, an expired one, one for another host, one from a CA
# nobody trusts, and a client CA with its client certificate.
setup_file() {
	local d=$BATS_FILE_TMPDIR/pki
	export PKI=$d
	mkdir -p "$d"
	make_ca "$d"
	make_cert "$d" localhost "DNS:localhost,IP:127.0.0.1"
	make_cert "$d" wronghost "DNS:other.example"
	expired_cert "$d"
	mkdir -p "$d/rogue" "$d/client"
	make_ca "$d/rogue"
	make_cert "$d/rogue" localhost "DNS:localhost,IP:127.0.0.1"
	make_ca "$d/client"
	make_cert "$d/client" alice "DNS:alice.example"
	chmod -R go+rX "$d" "$BATS_FILE_TMPDIR"
}

# expired_cert DIR: DIR/expired.{crt,key}, valid for one day in 2020 and
# signed by DIR's CA (openssl ca: Debian 12's x509 has no -not_before).
expired_cert() {
	local d=$1
	mkdir -p "$d/ca.db"
	: > "$d/ca.db/index.txt"
	echo 01 > "$d/ca.db/serial"
	cat > "$d/ca.cnf" <<-EOF
	[ ca ]
	default_ca = gtr
	[ gtr ]
	database = $d/ca.db/index.txt
	new_certs_dir = $d/ca.db
	serial = $d/ca.db/serial
	default_md = sha256
	policy = any
	copy_extensions = copy
	[ any ]
	commonName = supplied
	EOF
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > "$d/expired.ext"
	openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
		-keyout "$d/expired.key" -out "$d/expired.csr" 2>/dev/null
	openssl ca -batch -config "$d/ca.cnf" -cert "$d/ca.pem" \
		-keyfile "$d/ca.key" -in "$d/expired.csr" \
		-startdate 20200101000000Z -enddate 20200102000000Z \
		-extfile "$d/expired.ext" -out "$d/expired.crt" 2>/dev/null
}

# tls_nginx [--no-h2] CERTDIR/NAME [EXTRA]: nginx on $NPORT over TLS with
# HTTP/2 offered unless --no-h2, serving $T/www; /seen answers with what
# nginx saw; the access log shows the protocol, the connection number and
# whether the TLS session was resumed.
tls_nginx() {
	local h2=http2 cert extra
	if [ "$1" = --no-h2 ]; then
		h2=
		shift
	fi
	cert=$PKI/$1
	extra=${2:-}
	NPORT=$(free_port)
	mkdir -p "$T/www/up" "$T/nginx"
	echo "hello over tls" > "$T/www/index.html"
	# nginx workers run as nobody; mktemp -d made $T 0700.
	chmod go+rx "$T" "$T/www"
	chmod 777 "$T/www/up"
	cat > "$T/nginx/nginx.conf" <<-NGINX
	daemon off;
	worker_processes 1;
	pid $T/nginx/nginx.pid;
	error_log $T/nginx/error.log;
	events { worker_connections 1024; }
	http {
		log_format t '\$request_method \$request_uri proto=\$server_protocol conn=\$connection reused=\$ssl_session_reused sni=\$ssl_server_name client=[\$ssl_client_s_dn]';
		access_log $T/nginx/access.log t;
		client_body_temp_path $T/nginx;
		proxy_temp_path $T/nginx;
		fastcgi_temp_path $T/nginx;
		uwsgi_temp_path $T/nginx;
		scgi_temp_path $T/nginx;
		client_max_body_size 0;
		server {
			listen 127.0.0.1:$NPORT ssl $h2;
			ssl_certificate $cert.crt;
			ssl_certificate_key $cert.key;
			root $T/www;
			location /up/ { dav_methods PUT; }
			location = /seen {
				default_type text/plain;
				return 200 "via=[\$http_via] x_hop=[\$http_x_hop] keep_alive=[\$http_keep_alive] te=[\$http_te] host=[\$http_host] accept=[\$http_accept]\n";
			}
			$extra
		}
	}
	NGINX
	bg nginx nginx -c "$T/nginx/nginx.conf" -e "$T/nginx/error.log"
	wait_port "$NPORT"
}

# pyorigin: a Python HTTPS origin (HTTP/1.1, no ALPN) on $OPORT for what
# nginx will not send: /echo answers "METHOD BYTES SHA256" of the body,
# /hop sends hop-by-hop fields, /chunked a chunked body with a trailer,
# /short and /cutchunk break off after the head, /hang never answers,
# /slowbig sends 5 MB after a second.
pyorigin() {
	OPORT=$(free_port)
	cat > "$T/origin.py" <<-'PY'
	import hashlib, http.server, socket, ssl, sys, time
	port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
	class H(http.server.BaseHTTPRequestHandler):
	    protocol_version = "HTTP/1.1"
	    def log_message(self, fmt, *a):
	        print("%s %s via=%s te=%s" % (self.command, self.path,
	            self.headers.get("Via"),
	            self.headers.get("Transfer-Encoding")), flush=True)
	    def body(self):
	        h, n = hashlib.sha256(), 0
	        if "chunked" in self.headers.get("Transfer-Encoding", ""):
	            while True:
	                size = int(self.rfile.readline().split(b";")[0], 16)
	                if size == 0:
	                    while self.rfile.readline() not in (b"\r\n", b""):
	                        pass
	                    return n, h.hexdigest()
	                while size:
	                    d = self.rfile.read(min(size, 65536))
	                    h.update(d); n += len(d); size -= len(d)
	                self.rfile.readline()
	        left = int(self.headers.get("Content-Length", 0))
	        while left:
	            d = self.rfile.read(min(left, 65536))
	            h.update(d); n += len(d); left -= len(d)
	        return n, h.hexdigest()
	    def cut(self):
	        self.wfile.flush()
	        self.close_connection = True
	        self.connection.shutdown(socket.SHUT_RDWR)
	    def any(self):
	        n, digest = self.body()
	        if self.path == "/echo":
	            b = ("%s %d %s\n" % (self.command, n, digest)).encode()
	            self.send_response(200)
	            self.send_header("Content-Length", str(len(b)))
	            self.end_headers()
	            self.wfile.write(b)
	        elif self.path == "/hop":
	            self.send_response(200)
	            self.send_header("Connection", "X-Resp")
	            self.send_header("X-Resp", "secret")
	            self.send_header("Keep-Alive", "timeout=9")
	            self.send_header("Upgrade", "h2c")
	            self.send_header("X-Kept", "yes")
	            self.send_header("Via", "1.1 origin")
	            self.send_header("Content-Length", "3")
	            self.end_headers()
	            self.wfile.write(b"ok\n")
	        elif self.path == "/chunked":
	            self.send_response(200)
	            self.send_header("Transfer-Encoding", "chunked")
	            self.send_header("Trailer", "X-Check")
	            self.end_headers()
	            self.wfile.write(b"6\r\nhello \r\n5\r\nworld\r\n"
	                b"0\r\nX-Check: done\r\n\r\n")
	        elif self.path == "/short":
	            self.send_response(200)
	            self.send_header("Content-Length", "100000")
	            self.end_headers()
	            self.wfile.write(b"0123456789")
	            self.cut()
	        elif self.path == "/hang":
	            time.sleep(30)
	        elif self.path == "/slowbig":
	            time.sleep(1)
	            self.send_response(200)
	            self.send_header("Content-Length", "5000000")
	            self.end_headers()
	            try:
	                self.wfile.write(b"x" * 5000000)
	            except OSError:
	                pass
	        elif self.path == "/cutchunk":
	            self.send_response(200)
	            self.send_header("Transfer-Encoding", "chunked")
	            self.end_headers()
	            self.wfile.write(b"a\r\n0123456789\r\n")
	            self.cut()
	        else:
	            self.send_error(404)
	    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = any
	ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
	ctx.load_cert_chain(cert, key)
	srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), H)
	srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
	srv.serve_forever()
	PY
	bg origin python3 "$T/origin.py" "$OPORT" "$PKI/localhost.crt" \
		"$PKI/localhost.key"
	wait_port "$OPORT"
}

# silent_origin: a listener on $SPORT that accepts no connection and says
# nothing, so a TLS handshake with it can only time out.
silent_origin() {
	SPORT=$(free_port)
	bg silent python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8); time.sleep(60)' "$SPORT"
	wait_port "$SPORT"
}

# wrapd [ARGS...]: tlswrapd on $PORT trusting the test CA, loopback
# allowed, upstream ports $NPORT and $OPORT allowed.
wrapd() {
	PORT=$(free_port)
	gtr_start tlswrapd "$PORT" --allow-dest 127.0.0.0/8 \
		--allow-port "${NPORT:-443},${OPORT:-443}" "$@"
}

@test "a proxy-form GET goes out as verified HTTPS over HTTP/2 and comes back with Via" {
	tls_nginx localhost
	wrapd --cacert "$PKI/ca.pem"
	run -0 curl -sS -i -x "http://127.0.0.1:$PORT" \
		-w 'sizes %{size_request} %{size_header} %{size_download}\n' "http://localhost:$NPORT/"
	[[ ${lines[0]} == "HTTP/1.1 200 OK"* ]]
	[[ $output == *"Via: 1.1 tlswrapd"* ]]
	[[ $output == *"hello over tls"* ]]
	wait_log "GET / proto=HTTP/2.0" "$T/nginx/access.log"
	grep -q "sni=localhost" "$T/nginx/access.log"
	wait_log "upstream_proto=h2" "$T/tlswrapd.log"
	# the keys of DESIGN.md in order, the bytes as the client counts them
	read -r _ req hdr body <<< "${lines[-1]}"
	grep -E "info: conn=[0-9]+ client=127\.0\.0\.1:[0-9]+ method=GET target=https://localhost:$NPORT/ status=200 upstream=127\.0\.0\.1:$NPORT bytes_in=$req bytes_out=$((hdr + body)) ms=[0-9]+ reason=done upstream_proto=h2\$" "$T/tlswrapd.log"
}

@test "clients use it as http_proxy: curl and wget" {
	tls_nginx localhost
	wrapd --cacert "$PKI/ca.pem"
	run -0 env http_proxy="http://127.0.0.1:$PORT" curl -sS "http://localhost:$NPORT/index.html"
	[ "$output" = "hello over tls" ]
	run -0 env http_proxy="http://127.0.0.1:$PORT" wget -q -O - "http://localhost:$NPORT/index.html"
	[ "$output" = "hello over tls" ]
	[ "$(grep -c 'status=200' "$T/tlswrapd.log")" -eq 2 ]
}

@test "an origin-form request goes to the host its Host field names" {
	tls_nginx localhost
	wrapd --cacert "$PKI/ca.pem"
	run -0 curl -sS -H "Host: localhost:$NPORT" "http://127.0.0.1:$PORT/seen"
	[[ $output == *"host=[localhost:$NPORT]"* ]]
	run -0 curl -sS -i --http1.0 -H "Host:" "http://127.0.0.1:$PORT/seen"
	[[ ${lines[0]} == "HTTP/1.1 400 "* ]]
	[[ $output == *"no Host and no absolute target"* ]]
}

@test "with -c every request goes to the fixed origin, under its path" {
	tls_nginx localhost
	mkdir -p "$T/www/base"
	echo "under base" > "$T/www/base/f.txt"
	PORT=$(free_port)
	gtr_start tlswrapd "$PORT" --cacert "$PKI/ca.pem" -c "https://localhost:$NPORT/base/"
	run -0 curl -sS "http://127.0.0.1:$PORT/f.txt"
	[ "$output" = "under base" ]
	# the target's host is not where it goes
	run -0 curl -sS -x "http://127.0.0.1:$PORT" "http://elsewhere.example/f.txt"
	[ "$output" = "under base" ]
	grep -q "GET /base/f.txt proto=HTTP/2.0" "$T/nginx/access.log"
}

@test "http://host without a port goes to port 443 and an explicit port is kept" {
	tls_nginx localhost
	wrapd --cacert "$PKI/ca.pem"
	run -0 curl -sS -x "http://127.0.0.1:$PORT" "http://localhost:$NPORT/"
	[ "$output" = "hello over tls" ]
	run -0 curl -sS -i -x "http://127.0.0.1:$PORT" "http://127.0.0.1/"
	grep -q "target=https://127.0.0.1:443/ " "$T/tlswrapd.log"
	[[ ${lines[0]} != "HTTP/1.1 200"* ]]
}

@test "an authority the shared parser refuses gets 400 and goes nowhere; an IPv6 one keeps its brackets" {
	tls_nginx localhost
	wrapd --cacert "$PKI/ca.pem"
	# "+PORT" was a port to the old copy: the origin answered
	run -0 bash -c "printf 'GET http://localhost:+$NPORT/ HTTP/1.1\r\nHost: localhost\r\n\r\n' | socat -t 5 - TCP:127.0.0.1:$PORT"
	[[ ${lines[0]} == "HTTP/1.1 400 "* ]]
	[[ $output == *"bad host or port"* ]]
	[[ $output == *"Proxy-Status: gtr; error=http_request_error"* ]]
	[[ $output != *"hello over tls"* ]]
	run -0 curl -sS -i -H "Host: localhost:+$NPORT" "http://127.0.0.1:$PORT/"
	[[ ${lines[0]} == "HTTP/1.1 400 "* ]]
	[[ $output == *"bad host or port"* ]]
	[ ! -s "$T/nginx/access.log" ]
	[ "$(grep -c 'status=400 .*reason=bad_request' "$T/tlswrapd.log")" -eq 2 ]
	# the host comes back without its brackets: the URL has them again
	dead=$(free_port)
	kill "$tlswrapd_pid"
	PORT=$(free_port)
	gtr_start tlswrapd "$PORT" --cacert "$PKI/ca.pem" --allow-dest ::1 \
		--allow-port "$dead"
	run -0 curl -sS -i -x "http://127.0.0.1:$PORT" "http://[::1]:$dead/x"
	[[ ${lines[0]} == "HTTP/1.1 502 "* ]]
	[[ $output == *"error=connection_refused"* ]]
	grep -q "target=https://\[::1\]:$dead/x status=502 " "$T/tlswrapd.log"
}

@test "an origin signed by an unknown CA gets 502 naming the unknown CA" {
	tls_nginx rogue/localhost
	wrapd --cacert "$PKI/ca.pem"
	run -0 curl -sS -i -x "http://127.0.0.1:$PORT" "http://localhost:$NPORT/"
	[[ ${lines[0]} == "HTTP/1.1 502 "* ]]
	[[ $output == *"Proxy-Status: gtr; error=tls_certificate_error"* ]]
	[[ $output == *"unknown CA"* ]]
	[[ $output != *"hello over tls"* ]]
}

@test "the system store is used without --cacert, so the test CA is not trusted" {
	tls_nginx localhost
	# once without the variables, once as CI sets them (the system store)
	unset SSL_CERT_FILE SSL_CERT_DIR
	wrapd
	run -0 curl -sS -i -x "http://127.0.0.1:$PORT" "http://localhost:$NPORT/"
	[[ ${lines[0]} == "HTTP/1.1 502 "* ]]
	[[ $output == *"error=tls_certificate_error"* ]]
	[[ $output == *"unknown CA"* ]]
	kill "$tlswrapd_pid"
	export SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
	export SSL_CERT_DIR=/etc/ssl/certs
	wrapd
	run -0 curl -sS -i -x "http://127.0.0.1:$PORT" "http://localhost:$NPORT/"
	[[ ${lines[0]} == "HTTP/1.1 502 "* ]]
	[[ $output == *"unknown CA"* ]]
	[[ $output != *"hello over tls"* ]]
}

@test "SSL_CERT_FILE or SSL_CERT_DIR naming the test CA makes it trusted without --cacert" {
	tls_nginx localhost
	mkdir "$T/cadir"
	cp "$PKI/ca.pem" "$T/cadir/"
	openssl rehash "$T/cadir"
	unset SSL_CERT_FILE SSL_CERT_DIR
	SSL_CERT_FILE=$PKI/ca.pem
	export SSL_CERT_FILE
	wrapd
	run -0 curl -sS -i -x "http://127.0.0.1:$PORT" "http://localhost:$NPORT/"
	[[ ${lines[0]} == "HTTP/1.1 200 "* ]]
	[[ $output == *"hello over tls"* ]]
	kill "$tlswrapd_pid"
	unset SSL_CERT_FILE
	export SSL_CERT_DIR=$T/cadir
	wrapd
	run -0 curl -sS -i -x "http://127.0.0.1:$PORT" "http://localhost:$NPORT/"
	[[ ${lines[0]} == "HTTP/1.1 200 "* ]]
	[[ $output == *"hello over tls"* ]]
	kill "$tlswrapd_pid"
	# --cacert, when given, is the only file: the variables do not add to it
	unset SSL_CERT_DIR
	export SSL_CERT_FILE=$PKI/ca.pem
	wrapd --cacert "$PKI/rogue/ca.pem"
	run -0 curl -sS -i -x "http://127.0.0.1:$PORT" "http://localhost:$NPORT/"
	[[ ${lines[0]} == "HTTP/1.1 502 "* ]]
	[[ $output == *"unknown CA"* ]]
	[[ $output != *"hello over tls"* ]]
}

@test "no proxy variable redirects it: http_proxy, https_proxy, HTTPS_PROXY, ALL_PROXY, all_proxy" {
	tls_nginx localhost
	dead=$(free_port)
	unset NO_PROXY no_proxy http_proxy https_proxy HTTPS_PROXY ALL_PROXY all_proxy
	for v in http_proxy https_proxy HTTPS_PROXY ALL_PROXY all_proxy; do
		export "$v=http://127.0.0.1:$dead"
		wrapd --cacert "$PKI/ca.pem"
		run -0 env -u "$v" curl -sS -i -x "http://127.0.0.1:$PORT" "http://localhost:$NPORT/"
		echo "$v: ${lines[0]}"
		[[ ${lines[0]} == "HTTP/1.1 200 "* ]]
		[[ $output == *"hello over tls"* ]]
		[[ $output != *"connection_refused"* ]]
		kill "$tlswrapd_pid"
		unset "$v"
	done
	[ "$(grep -c 'GET / proto=' "$T/nginx/access.log")" -eq 5 ]
}

@test "a malformed status line from the origin gets 502 http_protocol_error" {
	OPORT=$(free_port)
	cat > "$T/bad.py" <<-'PY'
	import socket, ssl, sys
	port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
	lines = [b"HTTP/1.1 abc", b"HTTP/1.1 2000 OK", b"garbage garbage"]
	ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
	ctx.load_cert_chain(cert, key)
	s = socket.socket()
	s.bind(("127.0.0.1", port))
	s.listen(8)
	while True:
	    c, _ = s.accept()
	    try:
	        t = ctx.wrap_socket(c, server_side=True)
	        buf = b""
	        while b"\r\n\r\n" not in buf:
	            d = t.recv(4096)
	            if not d:
	                break
	            buf += d
	        i = int(buf.split(b" ")[1].lstrip(b"/") or 0)
	        t.sendall(lines[i] + b"\r\nContent-Length: 7\r\n\r\nnot me\n")
	        t.close()
	    except Exception as e:
	        print(e, flush=True)
	PY
	bg origin python3 "$T/bad.py" "$OPORT" "$PKI/localhost.crt" "$PKI/localhost.key"
	wait_port "$OPORT"
	wrapd --cacert "$PKI/ca.pem"
	for k in 0 1 2; do
		run -0 curl -sS -i -x "http://127.0.0.1:$PORT" "http://localhost:$OPORT/$k"
		echo "$k: $output"
		[[ ${lines[0]} == "HTTP/1.1 502 "* ]]
		[[ $output == *"Proxy-Status: gtr; error=http_protocol_error"* ]]
		[[ $output != *"destination_unavailable"* ]]
		[[ $output != *"not me"* ]]
	done
}

@test "an expired origin certificate gets 502 saying it expired" {
	tls_nginx expired
	wrapd --cacert "$PKI/ca.pem"
	run -0 curl -sS -i -x "http://127.0.0.1:$PORT" "http://localhost:$NPORT/"
	[[ ${lines[0]} == "HTTP/1.1 502 "* ]]
	[[ $output == *"error=tls_certificate_error"* ]]
	[[ $output == *"certificate expired"* ]]
	[[ $output != *"hello over tls"* ]]
}

@test "a certificate for another host gets 502 saying so" {
	tls_nginx wronghost
	wrapd --cacert "$PKI/ca.pem"
	run -0 curl -sS -i -x "http://127.0.0.1:$PORT" "http://localhost:$NPORT/"
	[[ ${lines[0]} == "HTTP/1.1 502 "* ]]
	[[ $output == *"error=tls_certificate_error"* ]]
	[[ $output == *"certificate is for another host"* ]]
	[[ $output != *"hello over tls"* ]]
}

@test "--insecure reaches an untrusted origin and warns at start and on every exchange" {
	tls_nginx rogue/localhost
	wrapd --insecure
	run -0 curl -sS -x "http://127.0.0.1:$PORT" "http://localhost:$NPORT/"
	[ "$output" = "hello over tls" ]
	run -0 curl -sS -x "http://127.0.0.1:$PORT" "http://localhost:$NPORT/index.html"
	grep -q "warning: --insecure: origin certificates are NOT verified" "$T/tlswrapd.log"
	[ "$(grep -c "warning: conn=.*--insecure: .* is not verified" "$T/tlswrapd.log")" -eq 2 ]
}

@test "a target with a quote, an = and a high byte is escaped in the access line and the --insecure warning" {
	tls_nginx rogue/localhost
	wrapd --insecure
	python3 -c 'import sys; sys.stdout.buffer.write(b"GET http://localhost:%s/x\"y=z\xff HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n" % sys.argv[1].encode())' "$NPORT" > "$T/req"
	run -0 raw "$PORT" < "$T/req"
	[[ ${lines[0]} == "HTTP/1.1 "* ]]
	wait_log "status=" "$T/tlswrapd.log"
	grep -F -- "--insecure: \"http://localhost:$NPORT/x\\\"y=z\\xff\" is not verified" "$T/tlswrapd.log"
	grep -F "target=\"https://localhost:$NPORT/x\\\"y=z\\xff\" status=" "$T/tlswrapd.log"
	# the raw byte and the bare quote never reach the log
	! grep -q $'\xff' "$T/tlswrapd.log" || false
	! grep -q 'x"y' "$T/tlswrapd.log" || false
}

@test "mutual TLS: the client certificate is presented, and without it the origin refuses" {
	tls_nginx localhost "ssl_client_certificate $PKI/client/ca.pem; ssl_verify_client on;"
	wrapd --cacert "$PKI/ca.pem" --client-cert "$PKI/client/alice.crt" --client-key "$PKI/client/alice.key"
	run -0 curl -sS -x "http://127.0.0.1:$PORT" "http://localhost:$NPORT/"
	[ "$output" = "hello over tls" ]
	grep -q "client=\[CN=alice\]" "$T/nginx/access.log"
	kill "$tlswrapd_pid"
	wrapd --cacert "$PKI/ca.pem"
	run -0 curl -sS -i -x "http://127.0.0.1:$PORT" "http://localhost:$NPORT/"
	[[ ${lines[0]} == "HTTP/1.1 400 "* ]]
	[[ $output == *"No required SSL certificate was sent"* ]]
	[[ $output != *"hello over tls"* ]]
}

@test "a missing certificate file exits 78 naming it" {
	run -78 "$GTR_BIN/tlswrapd" -l 127.0.0.1:0 --client-cert "$T/nope.pem"
	[[ $output == *"--client-cert $T/nope.pem"* ]]
	run -64 "$GTR_BIN/tlswrapd" -c http://plain.example/
	[[ $output == *"not an https:// URL"* ]]
}

@test "one upstream connection serves two client connections in a row" {
	tls_nginx localhost
	wrapd --cacert "$PKI/ca.pem"
	run -0 curl -sS -x "http://127.0.0.1:$PORT" "http://localhost:$NPORT/"
	run -0 curl -sS -x "http://127.0.0.1:$PORT" "http://localhost:$NPORT/index.html"
	wait_log "GET /index.html" "$T/nginx/access.log"
	conns=$(sed -n 's/.* conn=\([0-9]*\) .*/\1/p' "$T/nginx/access.log" | sort -u | wc -l)
	[ "$conns" -eq 1 ]
}

@test "a new upstream connection resumes the TLS session of the last one" {
	# HTTP/1.1 and no keep-alive: every request needs a new connection
	tls_nginx --no-h2 localhost "keepalive_timeout 0; ssl_session_cache shared:gtr:1m;"
	wrapd --cacert "$PKI/ca.pem"
	for f in / /index.html /index.html; do
		run -0 curl -sS -x "http://127.0.0.1:$PORT" "http://localhost:$NPORT$f"
		[ "$output" = "hello over tls" ]
	done
	[ "$(grep -c 'proto=HTTP/1.1' "$T/nginx/access.log")" -eq 3 ]
	[ "$(sed -n 's/.* conn=\([0-9]*\) .*/\1/p' "$T/nginx/access.log" | sort -u | wc -l)" -eq 3 ]
	grep -q "GET /index.html .* reused=r" "$T/nginx/access.log"
	grep -q "upstream_proto=http/1.1" "$T/tlswrapd.log"
}

@test "hop-by-hop request fields stay behind and Via is added" {
	tls_nginx localhost
	wrapd --cacert "$PKI/ca.pem"
	run -0 curl -sS -x "http://127.0.0.1:$PORT" -H "Connection: X-Hop" \
		-H "X-Hop: secret" -H "Keep-Alive: timeout=5" -H "TE: trailers" \
		-H "Proxy-Authorization: Basic Zm9vOmJhcg==" "http://localhost:$NPORT/seen"
	[[ $output == *"via=[1.1 tlswrapd]"* ]]
	[[ $output == *"x_hop=[]"* ]]
	[[ $output == *"keep_alive=[]"* ]]
	[[ $output == *"te=[]"* ]]
	[[ $output != *"secret"* ]]
	# no Accept the client did not send
	run -0 curl -sS -x "http://127.0.0.1:$PORT" -H "Accept:" "http://localhost:$NPORT/seen"
	[[ $output == *"accept=[]"* ]]
}

@test "hop-by-hop response fields stay behind, end-to-end ones and the origin's Via pass" {
	pyorigin
	wrapd --cacert "$PKI/ca.pem"
	run -0 curl -sS -i -x "http://127.0.0.1:$PORT" "http://localhost:$OPORT/hop"
	[[ $output == *"X-Kept: yes"* ]]
	[[ $output == *"Via: 1.1 origin"* ]]
	[[ $output == *"Via: 1.1 tlswrapd"* ]]
	[[ $output != *"X-Resp"* ]]
	[[ $output != *"secret"* ]]
	[[ $output != *"Keep-Alive"* ]]
	[[ $output != *"Upgrade"* ]]
	[[ $output == *"ok"* ]]
}

@test "an HTTP/1.1 origin without a length is sent chunked, with its trailer" {
	pyorigin
	wrapd --cacert "$PKI/ca.pem"
	run -0 curl -sS -i --raw -x "http://127.0.0.1:$PORT" "http://localhost:$OPORT/chunked"
	[[ $output == *"Transfer-Encoding: chunked"* ]]
	[[ $output == *"X-Check: done"* ]]
	run -0 curl -sS -x "http://127.0.0.1:$PORT" "http://localhost:$OPORT/chunked"
	[ "$output" = "hello world" ]
	run -0 curl -sS -i --http1.0 -x "http://127.0.0.1:$PORT" "http://localhost:$OPORT/chunked"
	[[ $output == *"Connection: close"* ]]
	[[ $output != *"Transfer-Encoding"* ]]
	[[ $output == *"hello world" ]]
	grep -q "upstream_proto=http/1.1" "$T/tlswrapd.log"
}

@test "openssl s_server -WWW as the origin: an HTTP/1.0 body until close goes out chunked" {
	mkdir -p "$T/www"
	echo "from s_server" > "$T/www/page.txt"
	OPORT=$(free_port)
	(cd "$T/www" && bg s_server openssl s_server -quiet -WWW -accept "127.0.0.1:$OPORT" \
		-cert "$PKI/localhost.crt" -key "$PKI/localhost.key")
	wait_port "$OPORT"
	wrapd --cacert "$PKI/ca.pem"
	run -0 curl -sS -i -x "http://127.0.0.1:$PORT" "http://localhost:$OPORT/page.txt"
	[[ ${lines[0]} == "HTTP/1.1 200 "* ]]
	[[ $output == *"Transfer-Encoding: chunked"* ]]
	[[ $output == *"from s_server"* ]]
	wait_log "upstream_proto=http/1.0" "$T/tlswrapd.log"
}

@test "every method carries its body: POST, PUT, PATCH, DELETE, OPTIONS, chunked or not" {
	pyorigin
	wrapd --cacert "$PKI/ca.pem"
	head -c 100000 /dev/urandom > "$T/body"
	sum=$(sha256sum < "$T/body" | cut -d' ' -f1)
	for m in POST PUT PATCH DELETE OPTIONS; do
		run -0 curl -sS -x "http://127.0.0.1:$PORT" -X "$m" --data-binary @"$T/body" \
			"http://localhost:$OPORT/echo"
		[ "$output" = "$m 100000 $sum" ]
	done
	run -0 curl -sS -x "http://127.0.0.1:$PORT" -H "Transfer-Encoding: chunked" \
		--data-binary @"$T/body" "http://localhost:$OPORT/echo"
	[ "$output" = "POST 100000 $sum" ]
	grep -q "POST /echo via=1.1 tlswrapd te=chunked" "$T/origin.log"
	run -0 curl -sS -x "http://127.0.0.1:$PORT" -X DELETE "http://localhost:$OPORT/echo"
	[[ $output == "DELETE 0 "* ]]
}

@test "a head of exactly 32 KiB then a chunked body: the head is not overwritten, the origin gets the body" {
	pyorigin
	wrapd --cacert "$PKI/ca.pem"
	# the head fills tlswrapd's buffer, so the body is read after it; the
	# body would forge the access line if it landed on the head's strings
	python3 - "$OPORT" > "$T/req" <<-'PY'
	import sys
	start = ("POST http://localhost:%s/echo HTTP/1.1\r\nHost: localhost\r\n"
	    "Transfer-Encoding: chunked\r\nConnection: close\r\nX-Pad: "
	    % sys.argv[1]).encode()
	head = start + b"a" * (32768 - len(start) - 4) + b"\r\n\r\n"
	assert len(head) == 32768
	data = b"GET\r\n forged=yes status=200\r\n"
	sys.stdout.buffer.write(head + b"%x\r\n" % len(data) + data +
	    b"\r\n0\r\n\r\n")
	PY
	sum=$(printf 'GET\r\n forged=yes status=200\r\n' | sha256sum | cut -d' ' -f1)
	run -0 raw "$PORT" < "$T/req"
	[[ ${lines[0]} == "HTTP/1.1 200 "* ]]
	[[ $output == *"POST 29 $sum"* ]]
	wait_log "status=200" "$T/tlswrapd.log"
	grep -q "method=POST target=https://localhost:$OPORT/echo status=200 " "$T/tlswrapd.log"
	! grep -q forged "$T/tlswrapd.log" || false
	! grep -q $'\r' "$T/tlswrapd.log" || false
}

@test "bare CRs before a request get 400 and the request is not served; a few empty lines before it are skipped, more get 400" {
	pyorigin
	wrapd --cacert "$PKI/ca.pem"
	python3 - "$OPORT" "$T" <<-'PY'
	import sys
	req = (b"GET http://localhost:%s/echo HTTP/1.1\r\nHost: localhost\r\n"
	    b"Connection: close\r\n\r\n" % sys.argv[1].encode())
	for name, data in (("crs", b"\r" * 40000), ("crs-req", b"\r" * 40000 + req),
	    ("cr-crlf", b"\r\r\n" + req), ("empty", b"\r\n\n" * 8 + req),
	    ("many", b"\r\n\n" * 8 + b"\n" + req)):
	    open(sys.argv[2] + "/" + name, "wb").write(data)
	PY
	run -0 raw "$PORT" < "$T/crs-req"
	[[ ${lines[0]} == "HTTP/1.1 400 "* ]]
	[[ $output == *"bare CR"* ]]
	[[ $output != *"GET 0 "* ]]
	# the CRs alone, and a CR that does not end a line, are as bad
	run -0 raw "$PORT" < "$T/crs"
	[[ ${lines[0]} == "HTTP/1.1 400 "* ]]
	run -0 raw "$PORT" < "$T/cr-crlf"
	[[ ${lines[0]} == "HTTP/1.1 400 "* ]]
	! grep -q "GET /echo" "$T/origin.log" || false
	# CRLFs and LFs before a request line are empty lines (RFC 9112 2.2)
	run -0 raw "$PORT" < "$T/empty"
	[[ ${lines[0]} == "HTTP/1.1 200 "* ]]
	[[ $output == *"GET 0 "* ]]
	# but at most 16 of them, as in every program (gtr(7))
	run -0 raw "$PORT" < "$T/many"
	[[ ${lines[0]} == "HTTP/1.1 400 "* ]]
	[[ $output == *"too many empty lines before the request line"* ]]
	[[ $output != *"GET 0 "* ]]
	[ "$(grep -c "GET /echo" "$T/origin.log")" -eq 1 ]
}

@test "a 30 KiB head dripped in 300 small writes is served whole" {
	pyorigin
	wrapd --cacert "$PKI/ca.pem"
	run -0 python3 - "$PORT" "$OPORT" <<-'PY'
	import socket, sys, time
	port, oport = int(sys.argv[1]), sys.argv[2]
	head = ("GET http://localhost:%s/echo HTTP/1.1\r\nHost: localhost\r\n"
	    "Connection: close\r\n" % oport).encode()
	for i in range(4):
	    head += b"X-Pad-%d: %s\r\n" % (i, b"p" * 7600)
	head += b"\r\n"
	s = socket.create_connection(("127.0.0.1", port))
	s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
	step = len(head) // 300 + 1
	for i in range(0, len(head), step):
	    s.sendall(head[i:i + step])
	    time.sleep(0.002)
	out = b""
	while True:
	    d = s.recv(65536)
	    if not d:
	        break
	    out += d
	print(len(head))
	sys.stdout.write(out.decode())
	PY
	[ "${lines[0]}" -gt 30000 ]
	[[ ${lines[1]} == "HTTP/1.1 200 "* ]]
	[[ $output == *"GET 0 "* ]]
	grep -q "GET /echo via=1.1 tlswrapd" "$T/origin.log"
}

@test "the access line counts every byte the client sent and got, and says why each exchange ended" {
	pyorigin
	dead=$(free_port)
	PORT=$(free_port)
	gtr_start tlswrapd "$PORT" --cacert "$PKI/ca.pem" --allow-dest 127.0.0.0/8 \
		--allow-port "$OPORT,$dead"
	python3 - "$OPORT" "$T/req" <<-'PY'
	import sys
	body = b"".join(b"%x\r\n%s\r\n" % (n, b"b" * n) for n in (5, 300, 7000))
	open(sys.argv[2], "wb").write(b"POST http://localhost:%s/echo HTTP/1.1\r\n"
	    b"Host: localhost\r\nTransfer-Encoding: chunked\r\n"
	    b"Connection: close\r\n\r\n" % sys.argv[1].encode() + body +
	    b"0\r\n\r\n")
	PY
	raw "$PORT" > "$T/resp" < "$T/req"
	grep -q "POST 7305 " "$T/resp"
	wait_log "reason=done" "$T/tlswrapd.log"
	grep -E "method=POST target=https://localhost:$OPORT/echo status=200 upstream=127\.0\.0\.1:$OPORT bytes_in=$(wc -c < "$T/req") bytes_out=$(wc -c < "$T/resp") ms=[0-9]+ reason=done upstream_proto=http/1\.1\$" "$T/tlswrapd.log"
	# refusals: by policy, of a bad head, of CONNECT; and an origin refusing
	curl -sS -o /dev/null -x "http://127.0.0.1:$PORT" "http://localhost:1/"
	wait_log "target=https://localhost:1/ status=403 upstream=localhost:1 .* reason=policy upstream_proto=-\$" "$T/tlswrapd.log"
	printf 'GET / HTTP/1.1\r\nHost: x\r\rn\r\n' | raw "$PORT" > /dev/null
	wait_log "method=- target=- status=400 upstream=- bytes_in=28 bytes_out=[1-9][0-9]* ms=[0-9]+ reason=bad_request " "$T/tlswrapd.log"
	printf 'CONNECT localhost:443 HTTP/1.1\r\nHost: x\r\n\r\n' | raw "$PORT" > /dev/null
	wait_log "method=CONNECT target=localhost:443 status=405 upstream=- .* reason=policy " "$T/tlswrapd.log"
	curl -sS -o /dev/null -x "http://127.0.0.1:$PORT" "http://127.0.0.1:$dead/"
	wait_log "target=https://127\.0\.0\.1:$dead/ status=502 upstream=127\.0\.0\.1:$dead .* reason=upstream_error " "$T/tlswrapd.log"
	# every line has the keys of DESIGN.md in their order
	[ "$(grep -cE ' info: conn=[0-9]+ ' "$T/tlswrapd.log")" -eq 5 ]
	! grep -E ' info: conn=[0-9]+ ' "$T/tlswrapd.log" | grep -vE '^tlswrapd\[[0-9]+\]: info: conn=[0-9]+ client=[^ ]+ method=[^ ]+ target=[^ ]+ status=[^ ]+ upstream=[^ ]+ bytes_in=[0-9]+ bytes_out=[0-9]+ ms=[0-9]+ reason=[a-z_]+ upstream_proto=[^ ]+$' || false
}

@test "a client that goes away while the response is written is logged reason=client_closed" {
	pyorigin
	wrapd --cacert "$PKI/ca.pem"
	python3 - "$PORT" "$OPORT" <<-'PY'
	import socket, sys, time
	s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
	s.sendall(b"GET http://localhost:%s/slowbig HTTP/1.1\r\nHost: x\r\n\r\n" % sys.argv[2].encode())
	time.sleep(0.3)
	s.close()
	PY
	wait_log "reason=client_closed" "$T/tlswrapd.log"
	grep -E "target=https://localhost:$OPORT/slowbig status=200 upstream=127\.0\.0\.1:$OPORT .* reason=client_closed " "$T/tlswrapd.log"
	! grep -q "reason=done" "$T/tlswrapd.log" || false
	! grep -q "result=" "$T/tlswrapd.log" || false
}

@test "a response broken after its head does not look complete" {
	pyorigin
	wrapd --cacert "$PKI/ca.pem"
	run curl -sS -x "http://127.0.0.1:$PORT" -o "$T/out" "http://localhost:$OPORT/short"
	[ "$status" -ne 0 ]
	[ "$(cat "$T/out")" = "0123456789" ]
	run curl -sS -x "http://127.0.0.1:$PORT" -o "$T/out2" "http://localhost:$OPORT/cutchunk"
	[ "$status" -ne 0 ]
	grep -q "response broken after" "$T/tlswrapd.log"
}

@test "requests pipelined on one connection are answered in order" {
	tls_nginx localhost
	echo two > "$T/www/two.txt"
	wrapd --cacert "$PKI/ca.pem"
	run -0 bash -c "printf 'GET http://localhost:$NPORT/ HTTP/1.1\r\nHost: localhost\r\n\r\nGET http://localhost:$NPORT/two.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' |
		socat -t 20 - TCP:127.0.0.1:$PORT"
	[[ $output == *"hello over tls"*"two"* ]]
	[ "$(grep -c '^HTTP/1.1 200 OK' <<< "$output")" -eq 2 ]
}

@test "pipe mode serves requests from a file on fd 0 and from a pipe, bodies included" {
	tls_nginx localhost
	echo two > "$T/www/two.txt"
	printf 'GET http://localhost:%s/ HTTP/1.1\r\nHost: localhost\r\n\r\nPUT http://localhost:%s/up/put.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nput!\nGET http://localhost:%s/two.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' \
		"$NPORT" "$NPORT" "$NPORT" > "$T/requests"
	run -0 timeout 20 "$GTR_BIN/tlswrapd" --cacert "$PKI/ca.pem" \
		--allow-dest 127.0.0.0/8 --allow-port "$NPORT" < "$T/requests"
	[[ $output == *"hello over tls"*"201 Created"*"two"* ]]
	[ "$(cat "$T/www/up/put.txt")" = "put!" ]
	rm "$T/www/up/put.txt"
	run -0 bash -c "cat '$T/requests' | timeout 20 '$GTR_BIN/tlswrapd' --cacert '$PKI/ca.pem' --allow-dest 127.0.0.0/8 --allow-port $NPORT 2>/dev/null"
	[ "$(grep -c '^HTTP/1.1 20[01] ' <<< "$output")" -eq 3 ]
	[[ $output == *"two"* ]]
	[ "$(cat "$T/www/up/put.txt")" = "put!" ]
	# more than a pipe holds: the body is read as the pipe refills
	head -c 4194304 /dev/urandom > "$T/big"
	run -0 bash -c "{ printf 'PUT http://localhost:$NPORT/up/big HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4194304\r\nConnection: close\r\n\r\n'; cat '$T/big'; } | timeout 20 '$GTR_BIN/tlswrapd' --cacert '$PKI/ca.pem' --allow-dest 127.0.0.0/8 --allow-port $NPORT 2>/dev/null"
	[[ ${lines[0]} == "HTTP/1.1 201 "* ]]
	cmp "$T/big" "$T/www/up/big"
}

@test "CONNECT gets 405: tunnels are connectd's job" {
	wrapd --cacert "$PKI/ca.pem"
	run -0 bash -c "printf 'CONNECT localhost:443 HTTP/1.1\r\nHost: localhost:443\r\n\r\n' | socat -t 5 - TCP:127.0.0.1:$PORT"
	[[ ${lines[0]} == "HTTP/1.1 405 "* ]]
	[[ $output == *"Proxy-Status: gtr; error=http_request_error"* ]]
	[[ $output == *"Allow: GET"* ]]
}

@test "loopback is refused without --allow-dest and other ports without --allow-port" {
	tls_nginx localhost
	PORT=$(free_port)
	gtr_start tlswrapd "$PORT" --cacert "$PKI/ca.pem" --allow-port "$NPORT"
	run -0 curl -sS -i -x "http://127.0.0.1:$PORT" "http://localhost:$NPORT/"
	[[ ${lines[0]} == "HTTP/1.1 403 "* ]]
	[[ $output == *"error=destination_ip_prohibited"* ]]
	[[ $output != *"hello over tls"* ]]
	kill "$tlswrapd_pid"
	PORT=$(free_port)
	gtr_start tlswrapd "$PORT" --cacert "$PKI/ca.pem" --allow-dest 127.0.0.0/8
	run -0 curl -sS -i -x "http://127.0.0.1:$PORT" "http://localhost:$NPORT/"
	[[ ${lines[0]} == "HTTP/1.1 403 "* ]]
	[[ $output == *"port $NPORT is not allowed"* ]]
	[ ! -s "$T/nginx/access.log" ]
}

@test "a refused connection is 502 connection_refused and a silent origin 504 connection_timeout" {
	dead=$(free_port)
	silent_origin
	PORT=$(free_port)
	gtr_start tlswrapd "$PORT" --cacert "$PKI/ca.pem" --allow-dest 127.0.0.0/8 \
		--allow-port "$dead,$SPORT" --connect-timeout 1
	run -0 curl -sS -i -x "http://127.0.0.1:$PORT" "http://127.0.0.1:$dead/"
	[[ ${lines[0]} == "HTTP/1.1 502 "* ]]
	[[ $output == *"error=connection_refused"* ]]
	run -0 curl -sS -i -x "http://127.0.0.1:$PORT" "http://127.0.0.1:$SPORT/"
	[[ ${lines[0]} == "HTTP/1.1 504 "* ]]
	[[ $output == *"error=connection_timeout"* ]]
}

# wrapd_hosts ARGS...: tlswrapd on $PORT in a mount namespace of its own
# whose /etc/hosts gives gtr-multi.test both ::1 and 127.0.0.1, and whose
# resolv.conf names 127.0.0.1 (where nothing answers).
wrapd_hosts() {
	printf '127.0.0.1 localhost\n::1 gtr-multi.test\n127.0.0.1 gtr-multi.test\n' > "$T/hosts"
	echo 'nameserver 127.0.0.1' > "$T/resolv.conf"
	PORT=$(free_port)
	bg tlswrapd unshare -m sh -c 'mount --bind "$1" /etc/resolv.conf &&
		mount --bind "$2" /etc/hosts && shift 2 && exec "$@"' \
		sh "$T/resolv.conf" "$T/hosts" "$GTR_BIN/tlswrapd" -l "127.0.0.1:$PORT" "$@"
	wait_port "$PORT"
}

@test "a name with ::1 and 127.0.0.1, only 127.0.0.0/8 allowed: a refused or silent 127.0.0.1 is 502 or 504, not 403" {
	[ "$(id -u)" = 0 ] || skip "needs a mount namespace (root)"
	dead=$(free_port)
	silent_origin
	wrapd_hosts --cacert "$PKI/ca.pem" --allow-dest 127.0.0.0/8 \
		--allow-port "$dead,$SPORT" --connect-timeout 1
	run -0 curl -sS -i -x "http://127.0.0.1:$PORT" "http://gtr-multi.test:$dead/"
	[[ ${lines[0]} == "HTTP/1.1 502 "* ]]
	[[ $output == *"error=connection_refused"* ]]
	[[ $output != *"destination_ip_prohibited"* ]]
	run -0 curl -sS -i -x "http://127.0.0.1:$PORT" "http://gtr-multi.test:$SPORT/"
	[[ ${lines[0]} == "HTTP/1.1 504 "* ]]
	[[ $output == *"error=connection_timeout"* ]]
	# libcurl gives localhost both addresses itself
	run -0 curl -sS -i -x "http://127.0.0.1:$PORT" "http://localhost:$dead/"
	[[ ${lines[0]} == "HTTP/1.1 502 "* ]]
	[[ $output == *"error=connection_refused"* ]]
	# every address refused is still the policy's 403
	kill "$tlswrapd_pid"
	wrapd_hosts --cacert "$PKI/ca.pem" --allow-port "$dead"
	run -0 curl -sS -i -x "http://127.0.0.1:$PORT" "http://gtr-multi.test:$dead/"
	[[ ${lines[0]} == "HTTP/1.1 403 "* ]]
	[[ $output == *"error=destination_ip_prohibited"* ]]
	grep -q "destination ::1 is not allowed" "$T/tlswrapd.log"
	grep -q "destination 127.0.0.1 is not allowed" "$T/tlswrapd.log"
}

@test "an origin that never answers gets 504 connection_read_timeout after --idle-timeout" {
	pyorigin
	wrapd --cacert "$PKI/ca.pem" --idle-timeout 1
	run -0 curl -sS -i -x "http://127.0.0.1:$PORT" "http://localhost:$OPORT/hang"
	[[ ${lines[0]} == "HTTP/1.1 504 "* ]]
	[[ $output == *"error=connection_read_timeout"* ]]
}

@test "many clients at once share the upstream connections and each gets its own answer" {
	tls_nginx localhost
	for i in $(seq 40); do
		echo "file $i" > "$T/www/f$i"
	done
	wrapd --cacert "$PKI/ca.pem"
	run -0 bash -c "seq 40 | xargs -P 20 -I{} sh -c 'curl -sS -x http://127.0.0.1:$PORT http://localhost:$NPORT/f{} http://localhost:$NPORT/f{} | sed \"s/^/{}: /\"'"
	[ "${#lines[@]}" -eq 80 ]
	for i in $(seq 40); do
		[ "$(grep -c "^$i: file $i\$" <<< "$output")" -eq 2 ]
	done
	[ "$(grep -c 'status=200' "$T/tlswrapd.log")" -eq 80 ]
	# fewer upstream connections than requests
	[ "$(sed -n 's/.* conn=\([0-9]*\) .*/\1/p' "$T/nginx/access.log" | sort -u | wc -l)" -lt 80 ]
}

@test "fifty clients at once, three rounds, each get their own bytes and no connection is shared" {
	tls_nginx localhost
	for i in $(seq 50); do
		head -c $((i * 20011)) /dev/urandom > "$T/www/r$i"
	done
	wrapd --cacert "$PKI/ca.pem"
	mkdir -p "$T/got"
	for round in 1 2 3; do
		run -0 bash -c "seq 50 | xargs -P 50 -I{} curl -sS -o $T/got/r{} -x http://127.0.0.1:$PORT http://localhost:$NPORT/r{}"
		for i in $(seq 50); do
			cmp "$T/www/r$i" "$T/got/r$i"
		done
		rm -f "$T/got"/r*
	done
	[ "$(grep -c 'status=200' "$T/tlswrapd.log")" -eq 150 ]
	! grep -E 'Sanitizer|runtime error' "$T/tlswrapd.log" || false
	# later rounds take the first round's connections back from the pool
	[ "$(sed -n 's/.* conn=\([0-9]*\) .*/\1/p' "$T/nginx/access.log" | sort -u | wc -l)" -lt 150 ]
}

@test "one client alternating two origins gets each origin's answer on its own connection" {
	tls_nginx localhost
	pyorigin
	wrapd --cacert "$PKI/ca.pem"
	run -0 curl -sS -x "http://127.0.0.1:$PORT" "http://localhost:$NPORT/" \
		"http://localhost:$OPORT/echo" "http://localhost:$NPORT/" \
		"http://localhost:$OPORT/echo"
	[ "${lines[0]}" = "hello over tls" ]
	[[ ${lines[1]} == "GET 0 "* ]]
	[ "${lines[2]}" = "hello over tls" ]
	[[ ${lines[3]} == "GET 0 "* ]]
	[ "$(grep -c 'GET / ' "$T/nginx/access.log")" -eq 2 ]
	[ "$(sed -n 's/.* conn=\([0-9]*\) .*/\1/p' "$T/nginx/access.log" | sort -u | wc -l)" -eq 1 ]
}

@test "a name that does not resolve is 502 dns_error" {
	[ "$(id -u)" = 0 ] || skip "needs a mount namespace (root)"
	echo 'nameserver 127.0.0.1' > "$T/resolv.conf"
	PORT=$(free_port)
	bg tlswrapd unshare -m sh -c 'mount --bind "$1" /etc/resolv.conf && shift && exec "$@"' \
		sh "$T/resolv.conf" "$GTR_BIN/tlswrapd" -l "127.0.0.1:$PORT"
	wait_port "$PORT"
	run -0 curl -sS -i -x "http://127.0.0.1:$PORT" "http://no-such-host.invalid/"
	[[ ${lines[0]} == "HTTP/1.1 502 "* ]]
	[[ $output == *"error=dns_error"* ]]
}

@test "256 MiB down and up keep their checksums and tlswrapd's memory bounded" {
	tls_nginx localhost
	head -c 268435456 /dev/urandom > "$T/www/big"
	# AddressSanitizer builds would hold 256 MiB of freed memory
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16 \
		wrapd --cacert "$PKI/ca.pem"
	sum=$(sha256sum < "$T/www/big")
	run -0 bash -c "curl -sS -x http://127.0.0.1:$PORT http://localhost:$NPORT/big | sha256sum"
	[ "$output" = "$sum" ]
	run -0 curl -sS -o /dev/null -w '%{http_code}' -x "http://127.0.0.1:$PORT" \
		-T "$T/www/big" "http://localhost:$NPORT/up/big"
	[ "$output" = 201 ]
	[ "$(sha256sum < "$T/www/up/big")" = "$sum" ]
	rm -f "$T/www/up/big"
	run -0 curl -sS -o /dev/null -w '%{http_code}' -x "http://127.0.0.1:$PORT" \
		-H "Transfer-Encoding: chunked" --data-binary @"$T/www/big" -X PUT \
		"http://localhost:$NPORT/up/big"
	[ "$output" = 201 ]
	[ "$(sha256sum < "$T/www/up/big")" = "$sum" ]
	hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$tlswrapd_pid/status")
	echo "VmHWM ${hwm} kB"
	[ "$hwm" -lt 65536 ]
}
