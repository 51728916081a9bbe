#!/usr/bin/env bats
# tlsstripd: TLS termination in front of a real nginx (keep-alive on) and
# of programs run after "--", with certificates made by the openssl CLI
# and real clients: curl, openssl s_client, socat.

load helpers/common
bats_require_minimum_version 1.5.0

# pki: a CA in $T/pki with certificates for localhost (the default),
# other.test, *.wild.test; a second CA in $T/cca with a client
# certificate (CN=alice); bob.pem is a client certificate from the
# server's CA, which --client-ca $T/cca/ca.pem does not trust.
pki() {
	make_ca "$T/pki"
	make_cert "$T/pki" localhost "DNS:localhost,IP:127.0.0.1"
	make_cert "$T/pki" other "DNS:other.test"
	make_cert "$T/pki" wild "DNS:*.wild.test"
	make_ca "$T/cca"
	make_cert "$T/cca" alice "DNS:alice.client"
	make_cert "$T/pki" bob "DNS:bob.client"
}

# expired_cert DIR NAME SAN: a certificate that expired in 2020.
expired_cert() {
	local d=$1 name=$2
	openssl req -newkey rsa:2048 -nodes -subj "/CN=$name" \
		-keyout "$d/$name.key" -out "$d/$name.csr" 2>/dev/null
	: > "$d/index.txt"
	echo 01 > "$d/serial"
	cat > "$d/ca.cnf" <<-EOF
	[ ca ]
	default_ca = def
	[ def ]
	database = $d/index.txt
	new_certs_dir = $d
	serial = $d/serial
	default_md = sha256
	policy = any
	copy_extensions = copy
	[ any ]
	commonName = supplied
	EOF
	printf 'subjectAltName=%s\n' "$3" > "$d/$name.ext"
	openssl ca -batch -config "$d/ca.cnf" -cert "$d/ca.pem" \
		-keyfile "$d/ca.key" -in "$d/$name.csr" -out "$d/$name.crt" \
		-startdate 20200101000000Z -enddate 20200102000000Z \
		-extfile "$d/$name.ext" 2>/dev/null
	cat "$d/$name.crt" "$d/$name.key" > "$d/$name.pem"
}

# origin: nginx on $NPORT; /seen answers with the forwarding headers it
# got, /hop with those and Connection, /big is 256 MiB of random bytes (made on demand), /up/ takes PUT.
origin() {
	NPORT=$(free_port)
	mkdir -p "$T/www/up"
	echo "hello from nginx" > "$T/www/index.html"
	chmod go+rwx "$T" "$T/www" "$T/www/up"
	nginx_start "$NPORT" 'location /up/ { dav_methods PUT; }
		location = /seen {
			default_type text/plain;
			return 200 "xff=[$http_x_forwarded_for] fwd=[$http_forwarded] proto=[$http_x_forwarded_proto] subject=[$http_x_client_cert_subject] body=[$content_length]\n";
		}
		location = /post { return 200 "posted\n"; }
		location = /hop {
			default_type text/plain;
			return 200 "conn=[$http_connection] xff=[$http_x_forwarded_for] fwd=[$http_forwarded] proto=[$http_x_forwarded_proto]\n";
		}'
}

# strip ARGS...: tlsstripd on $TPORT with ARGS.
strip() {
	TPORT=$(free_port)
	gtr_start tlsstripd "$TPORT" "$@"
}

# https PATH [CURL ARGS]: curl over tlsstripd, verifying localhost.
https() {
	local path=$1
	shift
	curl -sS --max-time 30 --cacert "$T/pki/ca.pem" \
		--resolve "localhost:$TPORT:127.0.0.1" "$@" \
		"https://localhost:$TPORT$path"
}

# sclient ARGS...: openssl s_client to tlsstripd with stdin closed.
sclient() {
	openssl s_client -connect "127.0.0.1:$TPORT" -CAfile "$T/pki/ca.pem" \
		"$@" < /dev/null 2>&1
}

@test "a request over TLS reaches nginx through -c, and the access line says how" {
	pki
	origin
	strip --cert "$T/pki/localhost.pem" -c "127.0.0.1:$NPORT"
	run https /
	[ "$status" -eq 0 ]
	[ "$output" = "hello from nginx" ]
	wait_log 'info: conn=[0-9]+ client=127\.0\.0\.1:[0-9]+ status=- upstream=127\.0\.0\.1:'"$NPORT"' bytes_in=[1-9][0-9]* bytes_out=[1-9][0-9]* ms=[0-9]+ reason=done sni=localhost protocol=TLSv1\.3 cipher=TLS_AES_128_GCM_SHA256 resumed=no requests=-$' "$T/tlsstripd.log"
	# Nothing happened to tell of: the access line is the only line.
	[ "$(grep -c 'conn=' "$T/tlsstripd.log")" -eq 1 ]
	grep -q '"GET / HTTP/1.1" 200' "$T/nginx/access.log"
}

@test "two keep-alive requests share one TLS connection and one nginx connection" {
	pki
	origin
	strip --cert "$T/pki/localhost.pem" -c "127.0.0.1:$NPORT"
	run https /seen -w '%{num_connects}\n' "https://localhost:$TPORT/"
	[ "$status" -eq 0 ]
	# curl puts the URL of https() last.
	[ "${lines[0]}" = "hello from nginx" ]
	[ "${lines[1]}" = 1 ]
	[ "${lines[2]}" = "xff=[] fwd=[] proto=[] subject=[] body=[]" ]
	[ "${lines[3]}" = 0 ]
	wait_log 'reason=done' "$T/tlsstripd.log"
	[ "$(grep -c 'protocol=TLS' "$T/tlsstripd.log")" -eq 1 ]
	[ "$(grep -c 'HTTP/1.1" 200' "$T/nginx/access.log")" -eq 2 ]
}

@test "SNI picks the certificate whose subjectAltName names the host; the first is the default" {
	pki
	origin
	strip --cert "$T/pki/localhost.pem" --cert "$T/pki/other.pem" \
		--cert "$T/pki/wild.pem" -c "127.0.0.1:$NPORT"
	run curl -sS --max-time 30 --cacert "$T/pki/ca.pem" \
		--resolve "other.test:$TPORT:127.0.0.1" "https://other.test:$TPORT/"
	[ "$status" -eq 0 ]
	[ "$output" = "hello from nginx" ]
	run sclient -servername other.test
	[[ "$output" == *"subject=CN = other"* ]]
	run sclient -servername OTHER.test
	[[ "$output" == *"subject=CN = other"* ]]
	run sclient -noservername
	[[ "$output" == *"subject=CN = localhost"* ]]
	run sclient -servername unknown.test
	[[ "$output" == *"subject=CN = localhost"* ]]
	wait_log 'sni=unknown\.test' "$T/tlsstripd.log"
}

@test "a 245-byte SNI is logged whole, and the line keeps every key after it" {
	pki
	origin
	strip --cert "$T/pki/localhost.pem" -c "127.0.0.1:$NPORT"
	name=$(printf 'a%.0s' $(seq 60)).$(printf 'b%.0s' $(seq 60)).$(printf 'c%.0s' $(seq 60)).$(printf 'd%.0s' $(seq 60)).x
	[ "${#name}" -eq 245 ]
	run sclient -servername "$name"
	wait_log "sni=$name protocol=TLSv1\.3 cipher=[^ ]+ resumed=no requests=-\$" "$T/tlsstripd.log"
}

@test "a wildcard certificate matches exactly one left-most label" {
	pki
	origin
	strip --cert "$T/pki/localhost.pem" --cert "$T/pki/wild.pem" \
		-c "127.0.0.1:$NPORT"
	run sclient -servername a.wild.test
	[[ "$output" == *"subject=CN = wild"* ]]
	run sclient -servername a.b.wild.test
	[[ "$output" == *"subject=CN = localhost"* ]]
	run sclient -servername wild.test
	[[ "$output" == *"subject=CN = localhost"* ]]
	run curl -sS --max-time 30 --cacert "$T/pki/ca.pem" \
		--resolve "www.wild.test:$TPORT:127.0.0.1" "https://www.wild.test:$TPORT/"
	[ "$output" = "hello from nginx" ]
}

@test "--cert-dir adds every .pem file in it, after the --cert ones" {
	pki
	origin
	mkdir "$T/dir"
	cp "$T/pki/other.pem" "$T/pki/wild.pem" "$T/dir/"
	cp "$T/pki/ca.key" "$T/dir/notes.txt"
	strip --cert "$T/pki/localhost.pem" --cert-dir "$T/dir" \
		-c "127.0.0.1:$NPORT"
	run sclient -servername other.test
	[[ "$output" == *"subject=CN = other"* ]]
	run sclient -servername x.wild.test
	[[ "$output" == *"subject=CN = wild"* ]]
	run sclient -noservername
	[[ "$output" == *"subject=CN = localhost"* ]]
}

@test "a key in its own file is read with --key" {
	pki
	origin
	strip --cert "$T/pki/localhost.crt" --key "$T/pki/localhost.key" \
		-c "127.0.0.1:$NPORT"
	run https /
	[ "$status" -eq 0 ]
	[ "$output" = "hello from nginx" ]
}

@test "a missing certificate, a file without one, a missing key or a key that does not match exits 78 naming the file" {
	pki
	run -78 tlsstripd --cert "$T/nope.pem" -c 127.0.0.1:1
	[[ "$output" == *"$T/nope.pem"* ]]
	echo junk > "$T/junk.pem"
	run -78 tlsstripd --cert "$T/junk.pem" -c 127.0.0.1:1
	[[ "$output" == *"$T/junk.pem"* ]]
	run -78 tlsstripd --cert "$T/pki/localhost.crt" -c 127.0.0.1:1
	[[ "$output" == *"key $T/pki/localhost.crt"* ]]
	run -78 tlsstripd --cert "$T/pki/localhost.crt" --key "$T/nokey.pem" \
		-c 127.0.0.1:1
	[[ "$output" == *"$T/nokey.pem"* ]]
	run -78 tlsstripd --cert "$T/pki/localhost.crt" \
		--key "$T/pki/other.key" -c 127.0.0.1:1
	[[ "$output" == *"$T/pki/other.key does not match"* ]]
	run -78 tlsstripd --cert "$T/pki/localhost.pem" \
		--client-ca "$T/noca.pem" -c 127.0.0.1:1
	[[ "$output" == *"$T/noca.pem"* ]]
	run -78 tlsstripd --cert-dir "$T/nodir" -c 127.0.0.1:1
	[[ "$output" == *"$T/nodir"* ]]
}

@test "usage errors exit 64 and -h prints every option" {
	pki
	run -64 tlsstripd -c 127.0.0.1:1
	[[ "$output" == *"no certificate"* ]]
	run -64 tlsstripd --cert "$T/pki/localhost.pem"
	[[ "$output" == *"-c HOST:PORT or a program"* ]]
	run -64 tlsstripd --cert "$T/pki/localhost.pem" -c 127.0.0.1:1 -- cat
	run -64 tlsstripd --cert "$T/pki/localhost.pem" -c 127.0.0.1:1 \
		--proxy-protocol v3
	run -64 tlsstripd --cert "$T/pki/localhost.pem" -c 127.0.0.1:1 \
		--proxy-protocol v1 --forwarded
	run -64 tlsstripd --key "$T/pki/localhost.key" -c 127.0.0.1:1
	# -c is parsed as every program parses it (opts_connect_hostport()).
	run -64 tlsstripd --cert "$T/pki/localhost.pem" -c 127.0.0.1
	[[ "$output" == *"-c 127.0.0.1: missing port"* ]]
	run -64 tlsstripd --cert "$T/pki/localhost.pem" -c '[::1]:0'
	[[ "$output" == *"-c [::1]:0: port 0 is not a destination"* ]]
	run -0 tlsstripd -h
	for o in --cert --key --ocsp --cert-dir --client-ca --forwarded \
	    --proxy-protocol --connect --header-timeout --idle-timeout; do
		[[ "$output" == *"$o"* ]]
	done
}

@test "an expired certificate is loaded with a warning, and curl refuses it" {
	pki
	origin
	expired_cert "$T/pki" old "DNS:localhost"
	strip --cert "$T/pki/old.pem" -c "127.0.0.1:$NPORT"
	grep -q "certificate $T/pki/old.pem has expired" "$T/tlsstripd.log"
	run https /
	[ "$status" -eq 60 ]
	[[ "$output" == *"expired"* ]]
	[ ! -s "$T/nginx/access.log" ]
}

# ocsp_response DIR NAME: DIR/NAME.ocsp, a DER OCSP response saying
# NAME's certificate is good, signed by DIR's CA.
ocsp_response() {
	local d=$1 name=$2 serial
	serial=$(openssl x509 -in "$d/$name.crt" -noout -serial | cut -d= -f2)
	printf 'V\t301231000000Z\t\t%s\tunknown\t/CN=%s\n' "$serial" \
		"$name" > "$d/ocsp-index.txt"
	openssl ocsp -issuer "$d/ca.pem" -cert "$d/$name.crt" \
		-reqout "$d/$name.req" -no_nonce 2>/dev/null
	openssl ocsp -index "$d/ocsp-index.txt" -rsigner "$d/ca.pem" \
		-rkey "$d/ca.key" -CA "$d/ca.pem" -reqin "$d/$name.req" \
		-respout "$d/$name.ocsp" -ndays 1 > /dev/null 2>&1
}

@test "--ocsp staples the response for its certificate to clients that ask, and a bad file exits 78" {
	pki
	origin
	ocsp_response "$T/pki" localhost
	strip --cert "$T/pki/localhost.pem" --ocsp "$T/pki/localhost.ocsp" \
		--cert "$T/pki/other.pem" -c "127.0.0.1:$NPORT"
	run sclient -status
	[[ "$output" == *"OCSP Response Status: successful"* ]]
	[[ "$output" == *"Cert Status: good"* ]]
	run sclient -status -servername other.test
	[[ "$output" == *"subject=CN = other"* ]]
	[[ "$output" == *"OCSP response: no response sent"* ]]
	run -78 tlsstripd --cert "$T/pki/localhost.pem" --ocsp "$T/pki/ca.pem" \
		-c 127.0.0.1:1
	[[ "$output" == *"$T/pki/ca.pem: not a DER OCSP response"* ]]
	run -78 tlsstripd --cert "$T/pki/localhost.pem" --ocsp "$T/none.der" \
		-c 127.0.0.1:1
	[[ "$output" == *"$T/none.der"* ]]
}

@test "TLS 1.2 and 1.3 are served and TLS 1.1 is refused with a log line" {
	pki
	origin
	strip --cert "$T/pki/localhost.pem" -c "127.0.0.1:$NPORT"
	run sclient -tls1_2
	[[ "$output" == *"Protocol  : TLSv1.2"* ]]
	[[ "$output" == *"Verify return code: 0 (ok)"* ]]
	run sclient -tls1_3
	[[ "$output" == *"TLSv1.3, Cipher is TLS_AES_128_GCM_SHA256"* ]]
	run sclient -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'
	[[ "$output" != *"Cipher is ECDHE"* ]]
	[[ "$output" == *"alert"* ]]
	wait_log 'info: conn=[0-9]+: handshake failed: unsupported protocol$' \
		"$T/tlsstripd.log"
	wait_log 'status=- upstream=- .*reason=tls_error sni=- protocol=- cipher=- resumed=no requests=-$' \
		"$T/tlsstripd.log"
}

@test "TLS 1.2 offers forward-secret AEAD ciphers only, in the server's order" {
	pki
	origin
	strip --cert "$T/pki/localhost.pem" -c "127.0.0.1:$NPORT"
	run sclient -tls1_2 -cipher AES128-GCM-SHA256
	[[ "$output" != *"Cipher is AES128"* ]]
	run sclient -tls1_2 -cipher ECDHE-RSA-AES128-SHA
	[[ "$output" != *"Cipher is ECDHE-RSA-AES128-SHA"* ]]
	run sclient -tls1_2 -cipher \
		'ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256'
	[[ "$output" == *"Cipher is ECDHE-RSA-AES128-GCM-SHA256"* ]]
	wait_log 'conn=[0-9]+: handshake failed: no shared cipher$' "$T/tlsstripd.log"
	wait_log 'reason=tls_error ' "$T/tlsstripd.log"
}

@test "ALPN picks http/1.1, and a client offering only h2 still gets through without ALPN" {
	pki
	origin
	strip --cert "$T/pki/localhost.pem" -c "127.0.0.1:$NPORT"
	run sclient -alpn h2,http/1.1
	[[ "$output" == *"ALPN protocol: http/1.1"* ]]
	run sclient -alpn h2
	[[ "$output" == *"No ALPN negotiated"* ]]
	[[ "$output" == *"Verify return code: 0 (ok)"* ]]
	run https / --http2
	[ "$status" -eq 0 ]
	[ "$output" = "hello from nginx" ]
}

@test "renegotiation is refused and the connection ends with a log line" {
	pki
	origin
	strip --cert "$T/pki/localhost.pem" -c "127.0.0.1:$NPORT"
	run sh -c "printf 'R\n' | timeout 20 openssl s_client -tls1_2 \
		-connect 127.0.0.1:$TPORT -CAfile $T/pki/ca.pem 2>&1"
	[[ "$output" == *"RENEGOTIATING"* ]]
	[[ "$output" == *"no renegotiation"* ]]
	wait_log 'conn=[0-9]+: reading from the client: ' \
		"$T/tlsstripd.log"
	wait_log 'reason=tls_error .*protocol=TLSv1\.2 ' "$T/tlsstripd.log"
}

@test "a saved session is resumed, with TLS 1.3 tickets and with TLS 1.2" {
	pki
	origin
	strip --cert "$T/pki/localhost.pem" -c "127.0.0.1:$NPORT"
	for v in -tls1_3 -tls1_2; do
		rm -f "$T/sess"
		run sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | openssl s_client \
			$v -ign_eof -connect 127.0.0.1:$TPORT -CAfile $T/pki/ca.pem \
			-sess_out $T/sess 2>&1"
		[[ "$output" == *"hello from nginx"* ]]
		[[ "$output" == *"New, TLSv1."* ]]
		run sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | openssl s_client \
			$v -ign_eof -connect 127.0.0.1:$TPORT -CAfile $T/pki/ca.pem \
			-sess_in $T/sess 2>&1"
		[[ "$output" == *"Reused, TLSv1."* ]]
		[[ "$output" == *"hello from nginx"* ]]
	done
	wait_log 'protocol=TLSv1.2 .*resumed=yes' "$T/tlsstripd.log"
	grep -q 'protocol=TLSv1.3 .*resumed=yes' "$T/tlsstripd.log"
}

@test "a client certificate from --client-ca reaches the program as SSL_CLIENT_S_DN, with the other SSL_ variables" {
	pki
	cat > "$T/env.sh" <<-'EOF'
	#!/bin/sh
	sed '/^\r*$/q' > /dev/null
	printf 'HTTP/1.0 200 OK\r\n\r\n'
	env | grep -E '^(SSL_|TCPREMOTEIP|PROTO)' | sort
	EOF
	chmod +x "$T/env.sh"
	SSL_CLIENT_S_DN=spoofed strip --cert "$T/pki/localhost.pem" \
		--client-ca "$T/cca/ca.pem" -- "$T/env.sh"
	run https / --cert "$T/cca/alice.pem"
	[ "$status" -eq 0 ]
	[[ "$output" == *"SSL_CLIENT_S_DN=CN=alice"* ]]
	[[ "$output" == *"SSL_CLIENT_VERIFY=SUCCESS"* ]]
	[[ "$output" == *"SSL_PROTOCOL=TLSv1.3"* ]]
	[[ "$output" == *"SSL_CIPHER=TLS_AES_128_GCM_SHA256"* ]]
	[[ "$output" == *"SSL_TLS_SNI=localhost"* ]]
	[[ "$output" == *"TCPREMOTEIP=127.0.0.1"* ]]
	[[ "$output" == *"PROTO=TCP"* ]]
	[[ "$output" != *spoofed* ]]
	# The verified subject is the access line's user.
	wait_log 'status=- user="CN=alice" upstream=program .*reason=done ' \
		"$T/tlsstripd.log"
}

@test "without a client certificate, or with one from another CA, the handshake ends with a log line" {
	pki
	origin
	strip --cert "$T/pki/localhost.pem" --client-ca "$T/cca/ca.pem" \
		-c "127.0.0.1:$NPORT"
	run https /
	[ "$status" -ne 0 ]
	[[ "$output" != *"hello"* ]]
	wait_log 'conn=[0-9]+: handshake failed: peer did not return a certificate$' \
		"$T/tlsstripd.log"
	wait_log 'reason=tls_error ' "$T/tlsstripd.log"
	run https / --cert "$T/pki/bob.pem"
	[ "$status" -ne 0 ]
	[[ "$output" != *"hello"* ]]
	# Both test CAs are named alike: OpenSSL may report either.
	wait_log 'conn=[0-9]+: handshake failed: (unable to get local issuer certificate|self-signed certificate in certificate chain)$' \
		"$T/tlsstripd.log"
	[ ! -s "$T/nginx/access.log" ]
	run https / --cert "$T/cca/alice.pem"
	[ "$output" = "hello from nginx" ]
}

@test "--forwarded sets Forwarded, X-Forwarded-For and X-Forwarded-Proto on every request, and drops the client's" {
	pki
	origin
	strip --cert "$T/pki/localhost.pem" --forwarded -c "127.0.0.1:$NPORT"
	run https /seen -H 'X-Forwarded-For: 6.6.6.6' -H 'Forwarded: for=6.6.6.6' \
		-H 'X-Forwarded-Proto: http' -H 'X-Client-Cert-Subject: CN=root' \
		"https://localhost:$TPORT/seen" -H 'x-forwarded-for: 7.7.7.7'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "xff=[127.0.0.1] fwd=[for=127.0.0.1;proto=https] proto=[https] subject=[] body=[]" ]
	[ "${lines[1]}" = "${lines[0]}" ]
	[[ "$output" != *6.6.6.6* ]]
	[[ "$output" != *7.7.7.7* ]]
	[[ "$output" != *root* ]]
	wait_log 'status=- .*reason=done .*resumed=no requests=2$' "$T/tlsstripd.log"
}

@test "--forwarded follows chunked and sized bodies, so a request after a body is rewritten too" {
	pki
	origin
	strip --cert "$T/pki/localhost.pem" --forwarded -c "127.0.0.1:$NPORT"
	# A chunked body that looks like a request head must stay a body.
	body=$(printf 'GET /seen HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n')
	run https /post -H 'Transfer-Encoding: chunked' --data-binary "$body" \
		"https://localhost:$TPORT/seen" -H 'X-Forwarded-For: 6.6.6.6' \
		--data-binary "$body" "https://localhost:$TPORT/seen"
	[ "$status" -eq 0 ]
	# curl puts the URL of https() last.
	[[ "${lines[0]}" == "xff=[127.0.0.1] fwd=[for=127.0.0.1;proto=https]"* ]]
	[[ "${lines[1]}" == "xff=[127.0.0.1] fwd=[for=127.0.0.1;proto=https]"* ]]
	[ "${lines[2]}" = "posted" ]
	[[ "$output" != *6.6.6.6* ]]
	[ "$(grep -c 'HTTP/1.1" 200' "$T/nginx/access.log")" -eq 3 ]
	! grep -q '6.6.6.6' "$T/nginx/access.log" || false
}

@test "--forwarded rewrites pipelined requests sent in one record" {
	pki
	origin
	strip --cert "$T/pki/localhost.pem" --forwarded -c "127.0.0.1:$NPORT"
	req='GET /seen HTTP/1.1\r\nHost: localhost\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n'
	run sh -c "printf '$req$req${req/1.1/1.0}' | openssl s_client -quiet \
		-ign_eof -connect 127.0.0.1:$TPORT -CAfile $T/pki/ca.pem 2>/dev/null"
	[ "$(echo "$output" | grep -c 'xff=\[127.0.0.1\]')" -eq 3 ]
	[[ "$output" != *6.6.6.6* ]]
}

@test "--forwarded answers a malformed head with 400 after the responses before it" {
	pki
	origin
	strip --cert "$T/pki/localhost.pem" --forwarded -c "127.0.0.1:$NPORT"
	req='GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'
	bad='GET / HTTP/1.1\r\nHost: localhost\r\nBad Field: x\r\n\r\n'
	run sh -c "printf '$req$bad$req' | openssl s_client -quiet \
		-ign_eof -connect 127.0.0.1:$TPORT -CAfile $T/pki/ca.pem 2>/dev/null"
	[[ "$output" == "HTTP/1.1 200 OK"*"hello from nginx"*"HTTP/1.1 400 Bad Request"* ]]
	[ "$(echo "$output" | grep -c 'hello from nginx')" -eq 1 ]
	wait_log 'conn=[0-9]+: bad request head from the client \(400\)$' \
		"$T/tlsstripd.log"
	wait_log 'status=400 .*reason=bad_request .*requests=1$' "$T/tlsstripd.log"
}

@test "--forwarded drops the client's Connection tokens that name the fields it sets, and keeps the others" {
	pki
	origin
	strip --cert "$T/pki/localhost.pem" --forwarded -c "127.0.0.1:$NPORT"
	run https /hop -H 'Connection: X-Forwarded-For, Forwarded, keep-alive, x-forwarded-proto, X-Client-Cert-Subject'
	[ "$status" -eq 0 ]
	[ "$output" = "conn=[keep-alive] xff=[127.0.0.1] fwd=[for=127.0.0.1;proto=https] proto=[https]" ]
	run https /hop -H 'Connection: Forwarded,X-Forwarded-For ,X-Forwarded-Proto'
	[ "$status" -eq 0 ]
	[ "$output" = "conn=[] xff=[127.0.0.1] fwd=[for=127.0.0.1;proto=https] proto=[https]" ]
	run https /hop -H 'Connection: Upgrade, X-Other'
	[ "$output" = "conn=[Upgrade, X-Other] xff=[127.0.0.1] fwd=[for=127.0.0.1;proto=https] proto=[https]" ]
}

# switcher PORT: a backend on PORT that answers a request with
# "Upgrade: echo" 101 and then echoes every byte, as a WebSocket server
# does after its handshake (no WebSocket server is installed here), and
# any other request 426 with keep-alive; it writes each request head it
# gets to $T/heads.
switcher() {
	cat > "$T/switch.py" <<-'EOF'
	import socket, sys, threading
	def serve(c):
	    buf = b""
	    while True:
	        while b"\r\n\r\n" not in buf:
	            d = c.recv(65536)
	            if not d:
	                return
	            buf += d
	        head, buf = buf.split(b"\r\n\r\n", 1)
	        with open(sys.argv[2], "ab") as f:
	            f.write(head + b"\r\n\r\n")
	        if b"\r\nupgrade: echo" in head.lower():
	            c.sendall(b"HTTP/1.1 101 Switching Protocols\r\n"
	                b"Upgrade: echo\r\nConnection: Upgrade\r\n\r\n" + buf)
	            while (d := c.recv(65536)):
	                c.sendall(d)
	            return
	        c.sendall(b"HTTP/1.1 426 Upgrade Required\r\n"
	            b"Upgrade: echo\r\nContent-Length: 5\r\n\r\nno!\r\n")
	        if b"\r\nconnection: close" in head.lower():
	            return
	ls = socket.socket()
	ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
	ls.bind(("127.0.0.1", int(sys.argv[1])))
	ls.listen(16)
	while True:
	    c, _ = ls.accept()
	    threading.Thread(target=lambda c=c: (serve(c), c.close())).start()
	EOF
	bg switcher python3 "$T/switch.py" "$1" "$T/heads"
	wait_port "$1"
}

# upclient: $T/up.py PORT CA: sends an Upgrade request with bytes that
# are not HTTP right behind it, reads the 101 and their echo, sends more
# of them and reads those; prints what it read, then closes.
upclient() {
	cat > "$T/up.py" <<-'EOF'
	import socket, ssl, sys
	ctx = ssl.create_default_context(cafile=sys.argv[2])
	s = ctx.wrap_socket(socket.create_connection(("127.0.0.1",
	    int(sys.argv[1]))), server_hostname="localhost")
	s.settimeout(20)
	def upto(want, got=b""):
	    while want not in got:
	        d = s.recv(65536)
	        if not d:
	            break
	        got += d
	    return got
	s.sendall(b"GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: echo\r\n"
	    b"Connection: Upgrade\r\n\r\n\x81\x05early \x01\x02\r\n\r\n")
	out = upto(b"early \x01\x02\r\n\r\n")
	s.sendall(b"GET /x HTTP/1.1\r\nX-Forwarded-For: 6.6.6.6\r\n\r\nlate")
	out = upto(b"late", out)
	sys.stdout.write(out.decode("latin-1"))
	EOF
	timeout 60 python3 "$T/up.py" "$TPORT" "$T/pki/ca.pem"
}

@test "--forwarded: after an Upgrade answered 101 the bytes both ways pass as they are" {
	pki
	B=$(free_port)
	switcher "$B"
	strip --cert "$T/pki/localhost.pem" --forwarded -c "127.0.0.1:$B"
	run upclient
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "HTTP/1.1 101 Switching Protocols"* ]]
	# Not HTTP after the switch: echoed, not refused, and not rewritten.
	[[ "$output" == *$'\x81\x05early \x01\x02\r\n\r\n'* ]]
	[[ "$output" == *"GET /x HTTP/1.1"*"X-Forwarded-For: 6.6.6.6"*"late" ]]
	[[ "$output" != *"400 Bad Request"* ]]
	# The one head the backend parsed was rewritten.
	[ "$(grep -c '^GET' "$T/heads")" -eq 1 ]
	grep -q '^X-Forwarded-For: 127.0.0.1' "$T/heads"
	wait_log 'status=- .*reason=(done|client_closed) .*requests=1$' "$T/tlsstripd.log"
	run ! grep -q 'bad request' "$T/tlsstripd.log"
}

@test "--forwarded: an Upgrade answered otherwise keeps the requests after it parsed and rewritten" {
	pki
	origin
	B=$(free_port)
	switcher "$B"
	# nginx answers 200 and ignores the Upgrade; the switcher answers
	# 426 to an Upgrade it does not speak.  Either way the pipelined
	# request after it is HTTP again, its X-Forwarded-For replaced.
	up='GET /seen HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'
	next='GET /seen HTTP/1.1\r\nHost: localhost\r\nX-Forwarded-For: 6.6.6.6\r\nConnection: close\r\n\r\n'
	strip --cert "$T/pki/localhost.pem" --forwarded -c "127.0.0.1:$NPORT"
	run sh -c "printf '$up$next' | openssl s_client -quiet \
		-ign_eof -connect 127.0.0.1:$TPORT -CAfile $T/pki/ca.pem 2>/dev/null"
	[ "$(echo "$output" | grep -c '^xff=\[127.0.0.1\] ')" -eq 2 ]
	[[ "$output" != *6.6.6.6* ]]
	wait_log 'status=- .*reason=done .*requests=2$' "$T/tlsstripd.log"
	strip --cert "$T/pki/localhost.pem" --forwarded -c "127.0.0.1:$B"
	run sh -c "printf '$up$next' | openssl s_client -quiet \
		-ign_eof -connect 127.0.0.1:$TPORT -CAfile $T/pki/ca.pem 2>/dev/null"
	[ "$(echo "$output" | grep -c '^HTTP/1.1 426 ')" -eq 2 ]
	[ "$(grep -c '^GET /seen' "$T/heads")" -eq 2 ]
	[ "$(grep -c '^X-Forwarded-For: 127.0.0.1' "$T/heads")" -eq 2 ]
	run ! grep -q '6.6.6.6' "$T/heads"
}

@test "--forwarded: a CONNECT answered 200 is a tunnel, and TLS inside it passes" {
	https_origin
	CP=$(free_port)
	gtr_start connectd "$CP" --allow-dest 127.0.0.1/32 --allow-port "$SPORT"
	strip --cert "$T/pki/localhost.pem" --forwarded -c "127.0.0.1:$CP"
	run curl -sS --max-time 30 -p --proxy "https://localhost:$TPORT" \
		--proxy-cacert "$T/pki/ca.pem" --cacert "$T/pki/ca.pem" \
		--resolve "localhost:$TPORT:127.0.0.1" "https://127.0.0.1:$SPORT/"
	[ "$status" -eq 0 ]
	[ "$output" = "hello over tls" ]
	# curl 8 may end its side with a reset once it has its answer.
	wait_log 'status=- .*reason=(done|client_closed) .*requests=1$' \
	    "$T/tlsstripd.log"
	wait_log 'connectd.* method=CONNECT .*status=200 ' "$T/connectd.log"
}

# tlsclient: $T/tls.py PORT CA [drip SECONDS | keepalive PAUSE]: a
# python3 ssl client.  drip sends a request head a byte every SECONDS,
# stops as soon as an answer comes, and prints what it read; keepalive
# sends two quick requests PAUSE seconds apart on one connection and
# prints each status line.
tlsclient() {
	cat > "$T/tls.py" <<-'EOF'
	import select, socket, ssl, sys, time
	port, ca, mode, arg = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])
	ctx = ssl.create_default_context(cafile=ca)
	s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)),
	    server_hostname="localhost")
	def early():
	    # Session tickets make the socket readable: only data counts.
	    s.setblocking(False)
	    try:
	        b = s.recv(65536)
	    except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
	        b = None
	    s.setblocking(True)
	    return b
	def rest(out=b""):
	    s.settimeout(20)
	    while True:
	        try:
	            b = s.recv(65536)
	        except (ssl.SSLError, OSError):
	            break
	        if not b:
	            break
	        out += b
	    return out
	if mode == "drip":
	    head = b"GET /drip HTTP/1.1\r\nHost: localhost\r\nX-Drip: 1234567890\r\n\r\n"
	    got = None
	    for i in range(len(head)):
	        if select.select([s], [], [], 0)[0] and (got := early()) is not None:
	            break
	        s.sendall(head[i:i + 1])
	        time.sleep(arg)
	    sys.stdout.write(rest(got or b"").decode("latin-1"))
	else:
	    f = s.makefile("rb")
	    for i in range(2):
	        if i:
	            time.sleep(arg)
	        s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
	        status = f.readline().decode().strip()
	        length = 0
	        while True:
	            line = f.readline()
	            if line in (b"\r\n", b""):
	                break
	            if line.lower().startswith(b"content-length:"):
	                length = int(line.split(b":")[1])
	        f.read(length)
	        print(status)
	EOF
	timeout 60 python3 "$T/tls.py" "$TPORT" "$T/pki/ca.pem" "$@"
}

@test "--forwarded answers a request head dripped past --header-timeout with 408, and the backend gets none of it" {
	pki
	B=$(free_port)
	# The backend records every byte it is sent.
	bg backend socat "TCP-LISTEN:$B,bind=127.0.0.1,reuseaddr,fork" \
		"SYSTEM:cat >> $T/got"
	wait_port "$B"
	: > "$T/got"
	strip --cert "$T/pki/localhost.pem" --forwarded --header-timeout 2 \
		-c "127.0.0.1:$B"
	run tlsclient drip 0.3
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "HTTP/1.1 408 Request Timeout"* ]]
	[[ "$output" == *"Proxy-Status: gtr; error=http_request_error"* ]]
	[[ "$output" == *"Connection: close"* ]]
	[[ "$output" == *"408 Request Timeout: "* ]]
	wait_log 'conn=[0-9]+: request head not received within --header-timeout$' \
		"$T/tlsstripd.log"
	wait_log 'status=408 .*reason=header_timeout .*requests=0$' "$T/tlsstripd.log"
	[ ! -s "$T/got" ]
}

@test "--forwarded: quick requests on a keep-alive connection that outlives --header-timeout are not cut" {
	pki
	origin
	strip --cert "$T/pki/localhost.pem" --forwarded --header-timeout 2 \
		-c "127.0.0.1:$NPORT"
	run tlsclient keepalive 3
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "HTTP/1.1 200 OK" ]
	[ "${lines[1]}" = "HTTP/1.1 200 OK" ]
	wait_log 'reason=done .*requests=2$' "$T/tlsstripd.log"
	[ "$(grep -c 'requests=[0-9]' "$T/tlsstripd.log")" -eq 1 ]
	[ "$(grep -c 'HTTP/1.1" 200' "$T/nginx/access.log")" -eq 2 ]
}

@test "--forwarded passes the verified client subject as X-Client-Cert-Subject" {
	pki
	origin
	strip --cert "$T/pki/localhost.pem" --forwarded \
		--client-ca "$T/cca/ca.pem" -c "127.0.0.1:$NPORT"
	run https /seen --cert "$T/cca/alice.pem" \
		-H 'X-Client-Cert-Subject: CN=root'
	[ "$status" -eq 0 ]
	[[ "$output" == *"subject=[CN=alice]"* ]]
	[[ "$output" != *root* ]]
}

@test "--proxy-protocol v1 and v2 give nginx the client's address first" {
	pki
	NPORT=$(free_port)
	PP=$(free_port)
	mkdir -p "$T/www"
	chmod go+rx "$T" "$T/www"
	# A second server block, listening with proxy_protocol.
	nginx_start "$NPORT" "}
	server {
		listen 127.0.0.1:$PP proxy_protocol;
		location = /pp { default_type text/plain;
			return 200 \"pp=[\$proxy_protocol_addr:\$proxy_protocol_port]\n\"; }"
	wait_port "$PP"
	for v in v1 v2; do
		TPORT=$(free_port)
		bg "strip$v" tlsstripd -l "127.0.0.1:$TPORT" \
			--cert "$T/pki/localhost.pem" --proxy-protocol "$v" \
			-c "127.0.0.1:$PP"
		wait_port "$TPORT"
		run https /pp -w '%{local_port}\n'
		[ "$status" -eq 0 ]
		[ "${lines[0]}" = "pp=[127.0.0.1:${lines[1]}]" ]
	done
	# Without the header nginx refuses: the header is what it read.
	run curl -sS --max-time 10 "http://127.0.0.1:$PP/pp"
	[[ "$output" != pp=* ]]
}

@test "SIGHUP swaps the certificate for new handshakes while an open connection goes on" {
	pki
	origin
	cp "$T/pki/localhost.pem" "$T/live.pem"
	strip --cert "$T/live.pem" -c "127.0.0.1:$NPORT"
	mkfifo "$T/in"
	bg held sh -c "exec openssl s_client -quiet -connect 127.0.0.1:$TPORT \
		-CAfile $T/pki/ca.pem < $T/in > $T/held.out 2>&1"
	exec 5> "$T/in"
	printf 'GET / HTTP/1.1\r\nHost: localhost\r\n\r\n' >&5
	wait_log 'hello from nginx' "$T/held.out"
	make_cert "$T/pki" renewed "DNS:localhost"
	cp "$T/pki/renewed.pem" "$T/live.pem"
	kill -HUP "$tlsstripd_pid"
	wait_log 'SIGHUP: reloaded 1 certificate' "$T/tlsstripd.log"
	run sclient
	[[ "$output" == *"subject=CN = renewed"* ]]
	echo "second answer" > "$T/www/two.html"
	printf 'GET /two.html HTTP/1.1\r\nHost: localhost\r\n\r\n' >&5
	exec 5>&-
	# -quiet keeps the connection open past its input: wait for the answer.
	wait_log 'second answer' "$T/held.out"
	[ "$(grep -c 'hello from nginx' "$T/held.out")" -eq 1 ]
	run ! grep -E 'bytes_in=[1-9].*reason=' "$T/tlsstripd.log"
}

@test "SIGHUP with a broken certificate file logs it and keeps the old certificates" {
	pki
	origin
	cp "$T/pki/localhost.pem" "$T/live.pem"
	strip --cert "$T/live.pem" -c "127.0.0.1:$NPORT"
	echo broken > "$T/live.pem"
	kill -HUP "$tlsstripd_pid"
	wait_log "error: SIGHUP: unable to read certificate $T/live.pem.*keeping" \
		"$T/tlsstripd.log"
	run https /
	[ "$status" -eq 0 ]
	[ "$output" = "hello from nginx" ]
	run sclient
	[[ "$output" == *"subject=CN = localhost"* ]]
}

@test "SIGHUP re-reads --client-ca: the new CA's clients get in, and a session from a dropped CA is not resumed" {
	pki
	origin
	cp "$T/cca/ca.pem" "$T/clients.pem"
	strip --cert "$T/pki/localhost.pem" --client-ca "$T/clients.pem" \
		-c "127.0.0.1:$NPORT"
	run sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | openssl s_client \
		-ign_eof -connect 127.0.0.1:$TPORT -CAfile $T/pki/ca.pem \
		-cert $T/cca/alice.pem -sess_out $T/sess 2>&1"
	[[ "$output" == *"hello from nginx"* ]]
	run https / --cert "$T/pki/bob.pem"
	[ "$status" -ne 0 ]
	cp "$T/pki/ca.pem" "$T/clients.pem"
	kill -HUP "$tlsstripd_pid"
	wait_log 'SIGHUP: reloaded 1 certificate and the client CAs' \
		"$T/tlsstripd.log"
	run https / --cert "$T/pki/bob.pem"
	[ "$output" = "hello from nginx" ]
	run https / --cert "$T/cca/alice.pem"
	[ "$status" -ne 0 ]
	[[ "$output" != *"hello"* ]]
	run sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | openssl s_client \
		-ign_eof -connect 127.0.0.1:$TPORT -CAfile $T/pki/ca.pem \
		-cert $T/cca/alice.pem -sess_in $T/sess 2>&1"
	[[ "$output" != *"Reused"* ]]
	[[ "$output" != *"hello from nginx"* ]]
}

@test "a TCP health check that connects and closes is logged only with -v" {
	pki
	origin
	# strip's wait_port connects and closes too: a second check.
	strip --cert "$T/pki/localhost.pem" -c "127.0.0.1:$NPORT"
	socat -u /dev/null "TCP:127.0.0.1:$TPORT"
	run https /
	[ "$output" = "hello from nginx" ]
	wait_log 'reason=done' "$T/tlsstripd.log"
	[ "$(grep -c 'client=' "$T/tlsstripd.log")" -eq 1 ]
	run ! grep 'closed before\|handshake failed' "$T/tlsstripd.log"
	VPORT=$(free_port)
	bg verbose "$GTR_BIN/tlsstripd" -v --cert "$T/pki/localhost.pem" \
		-l "127.0.0.1:$VPORT" -c "127.0.0.1:$NPORT"
	wait_port "$VPORT"
	wait_log 'debug: conn=[0-9]+: closed before the handshake$' "$T/verbose.log"
	wait_log 'debug: conn=[0-9]+ client=127\.0\.0\.1:[0-9]+ status=- upstream=- .*reason=client_closed sni=- protocol=- ' \
		"$T/verbose.log"
	run ! grep 'handshake failed' "$T/verbose.log"
}

@test "plain HTTP sent to the TLS port gets a 400 in clear text and is closed, with or without --forwarded" {
	pki
	origin
	strip --cert "$T/pki/localhost.pem" -c "127.0.0.1:$NPORT"
	run curl -sS --max-time 20 -D "$T/h" "http://127.0.0.1:$TPORT/"
	[ "$status" -eq 0 ]
	[ "$output" = "400 Bad Request: plain HTTP request sent to the HTTPS port" ]
	grep -q '^HTTP/1.1 400 Bad Request' "$T/h"
	grep -q '^Proxy-Status: gtr; error=http_request_error' "$T/h"
	grep -q '^Connection: close' "$T/h"
	wait_log 'conn=[0-9]+: plain HTTP sent to the TLS port$' "$T/tlsstripd.log"
	wait_log 'status=400 upstream=- bytes_in=0 bytes_out=197 .*reason=bad_request .*protocol=- ' \
		"$T/tlsstripd.log"
	# Neither TLS nor HTTP: closed without an answer, as before.
	run sh -c "printf 'hello\r\n' | socat -t 10 - TCP:127.0.0.1:$TPORT"
	[ -z "$output" ]
	run https /
	[ "$output" = "hello from nginx" ]
	[ "$(grep -c 'HTTP/1.1" 200' "$T/nginx/access.log")" -eq 1 ]
	[ "$(wc -l < "$T/nginx/access.log")" -eq 1 ]
	TPORT=$(free_port)
	bg fwd "$GTR_BIN/tlsstripd" -l "127.0.0.1:$TPORT" --forwarded \
		--cert "$T/pki/localhost.pem" -c "127.0.0.1:$NPORT"
	wait_port "$TPORT"
	run curl -sS --max-time 20 "http://127.0.0.1:$TPORT/"
	[ "$output" = "400 Bad Request: plain HTTP request sent to the HTTPS port" ]
	[ "$(wc -l < "$T/nginx/access.log")" -eq 1 ]
}

@test "--forwarded answers 502 with Proxy-Status when the backend cannot be reached, and closes" {
	pki
	B=$(free_port)
	strip --cert "$T/pki/localhost.pem" --forwarded -c "127.0.0.1:$B"
	run https / -D "$T/h" -w '%{num_connects}\n' "https://localhost:$TPORT/x"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "502 Bad Gateway: unable to connect to the backend: connection refused" ]
	[ "${lines[1]}" = 1 ]
	[ "${lines[3]}" = 1 ]
	grep -q '^HTTP/1.1 502 Bad Gateway' "$T/h"
	grep -q '^Proxy-Status: gtr; error=connection_refused' "$T/h"
	grep -q '^Connection: close' "$T/h"
	wait_log 'warning: conn=[0-9]+: unable to connect to 127\.0\.0\.1:'"$B"': connection refused$' \
		"$T/tlsstripd.log"
	wait_log 'status=502 upstream=- .*reason=upstream_error .*requests=1$' \
		"$T/tlsstripd.log"
	# Without --forwarded there is no HTTP to answer with: it closes.
	TPORT=$(free_port)
	bg plain "$GTR_BIN/tlsstripd" -l "127.0.0.1:$TPORT" \
		--cert "$T/pki/localhost.pem" -c "127.0.0.1:$B"
	wait_port "$TPORT"
	run https /
	echo "curl: $status $output"
	[ "$status" -eq 52 ]
}

@test "a session still open at the end of --grace is cut, logged with reason=grace, and tlsstripd exits 0" {
	pki
	B=$(free_port)
	# A backend that holds its connection, whatever it is sent.
	bg backend socat -t 60 "TCP-LISTEN:$B,bind=127.0.0.1,reuseaddr,fork" \
		"SYSTEM:head -n 1 >> $T/got; exec sleep 60"
	wait_port "$B"
	strip --cert "$T/pki/localhost.pem" --grace 1 -c "127.0.0.1:$B"
	# A client that says hello, then stays.
	bg client sh -c "(echo hello; sleep 60) | openssl s_client -quiet \
		-connect 127.0.0.1:$TPORT -CAfile $T/pki/ca.pem"
	wait_log hello "$T/got"
	kill -TERM "$tlsstripd_pid"
	rc=0
	wait "$tlsstripd_pid" || rc=$?
	[ "$rc" -eq 0 ]
	grep -q 'grace period over: closing 1 open connection$' "$T/tlsstripd.log"
	grep -qE 'info: conn=[0-9]+ client=127\.0\.0\.1:[0-9]+ status=- upstream=127\.0\.0\.1:'"$B"' .*reason=grace sni=- protocol=TLSv1\.3 ' \
		"$T/tlsstripd.log"
	[ "$(grep -c 'client=' "$T/tlsstripd.log")" -eq 1 ]
}

@test "a truncated ClientHello closes that connection with a log line" {
	pki
	origin
	strip --cert "$T/pki/localhost.pem" -c "127.0.0.1:$NPORT"
	run sh -c "printf '\026\003\001\002\000\001\000\001\374\003\003abc' |
		socat -t 10 - TCP:127.0.0.1:$TPORT"
	[ -z "$output" ]
	wait_log 'conn=[0-9]+: handshake failed: the client closed$' \
		"$T/tlsstripd.log"
	wait_log 'reason=tls_error .*protocol=- ' "$T/tlsstripd.log"
	[ ! -s "$T/nginx/access.log" ]
}

@test "a handshake that never finishes is closed at --header-timeout, and other clients are served meanwhile" {
	pki
	origin
	strip --cert "$T/pki/localhost.pem" --header-timeout 2 \
		-c "127.0.0.1:$NPORT"
	# ignoreeof: the partial ClientHello, then neither more nor a FIN.
	printf '\026\003\001\002\000\001\000\001\374\003\003abc' > "$T/hello"
	bg stall socat -u "OPEN:$T/hello,ignoreeof" "TCP:127.0.0.1:$TPORT"
	run https /
	[ "$output" = "hello from nginx" ]
	wait_log 'conn=[0-9]+: handshake not done within --header-timeout$' \
		"$T/tlsstripd.log"
	wait_log 'reason=header_timeout .*protocol=- ' "$T/tlsstripd.log"
	run https /
	[ "$output" = "hello from nginx" ]
}

@test "an idle connection is closed after --idle-timeout" {
	pki
	origin
	strip --cert "$T/pki/localhost.pem" --idle-timeout 1 \
		-c "127.0.0.1:$NPORT"
	# The fifo stays open for writing: s_client never sees its EOF.
	mkfifo "$T/in"
	exec 5<> "$T/in"
	run timeout 20 openssl s_client -quiet -connect "127.0.0.1:$TPORT" \
		-CAfile "$T/pki/ca.pem" < "$T/in"
	exec 5>&-
	[ "$status" -ne 124 ]
	wait_log 'reason=idle_timeout ' "$T/tlsstripd.log"
}

@test "the client's close_notify reaches the program as EOF, and the answer after it arrives whole" {
	pki
	strip --cert "$T/pki/localhost.pem" -- sh -c \
		'n=$(wc -c); seq 1 200000; echo "read $n bytes"'
	head -c 3000000 /dev/urandom > "$T/up.bin"
	run sh -c "socat -t 30 - OPENSSL:127.0.0.1:$TPORT,cafile=$T/pki/ca.pem,commonname=localhost < $T/up.bin > $T/down"
	[ "$status" -eq 0 ]
	[ "$(tail -n 1 "$T/down")" = "read 3000000 bytes" ]
	seq 1 200000 | cmp - <(head -n 200000 "$T/down")
	wait_log 'upstream=program bytes_in=3000000 bytes_out=1288914 .*reason=done ' \
		"$T/tlsstripd.log"
}

@test "the backend's FIN becomes a close_notify: a body without a length ends cleanly" {
	pki
	strip --cert "$T/pki/localhost.pem" -- sh -c \
		"sed '/^\r*\$/q' > /dev/null; printf 'HTTP/1.0 200 OK\r\n\r\nuntil close\n'"
	run https /
	[ "$status" -eq 0 ]
	[ "$output" = "until close" ]
	wait_log 'reason=done' "$T/tlsstripd.log"
}

@test "a backend's TCP urgent byte reaches the client in its place" {
	pki
	B=$(free_port)
	bg greeter python3 "$BATS_TEST_DIRNAME/helpers/urgent.py" greeter "$B"
	wait_port "$B"
	strip --cert "$T/pki/localhost.pem" -c "127.0.0.1:$B"
	run timeout 30 python3 "$BATS_TEST_DIRNAME/helpers/urgent.py" tls "$TPORT"
	[ "$output" = "before ! after" ]
}

@test "a backend's FIN after 8 MiB without a length still delivers every byte, then a close_notify" {
	pki
	head -c 8388608 /dev/urandom > "$T/body"
	cat > "$T/backend.sh" <<-EOF
	#!/bin/sh
	sed '/^\r*\$/q' > /dev/null
	printf 'HTTP/1.0 200 OK\r\n\r\n'
	exec cat "$T/body"
	EOF
	chmod +x "$T/backend.sh"
	BPORT=$(free_port)
	bg backend socat "TCP-LISTEN:$BPORT,bind=127.0.0.1,reuseaddr,fork" \
		"EXEC:$T/backend.sh"
	wait_port "$BPORT"
	strip --cert "$T/pki/localhost.pem" -c "127.0.0.1:$BPORT"
	run https / -o "$T/got"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ "$(sha256sum < "$T/got")" = "$(sha256sum < "$T/body")" ]
	wait_log 'bytes_out=8388627 .*reason=done ' "$T/tlsstripd.log"
}

@test "256 MiB go each way intact: a download from nginx and an upload to it" {
	pki
	origin
	head -c 268435456 /dev/urandom > "$T/www/big"
	strip --cert "$T/pki/localhost.pem" -c "127.0.0.1:$NPORT"
	want=$(sha256sum < "$T/www/big")
	got=$(https /big | sha256sum)
	[ "$got" = "$want" ]
	run https /up/copy -T "$T/www/big" -w '%{http_code}'
	[ "$output" = 201 ]
	[ "$(sha256sum < "$T/www/up/copy")" = "$want" ]
	wait_log 'bytes_in=26843[0-9]{4} ' "$T/tlsstripd.log"
}

@test "256 MiB upload to a program after -- is checksummed by it" {
	pki
	strip --cert "$T/pki/localhost.pem" -- sha256sum
	head -c 268435456 /dev/urandom > "$T/big"
	want=$(sha256sum < "$T/big")
	run sh -c "socat -t 60 - OPENSSL:127.0.0.1:$TPORT,cafile=$T/pki/ca.pem,commonname=localhost < $T/big"
	[ "$output" = "$want" ]
}

@test "a program still running after its EOF gets SIGTERM, logged with conn=, and tlsstripd exits 0 after it" {
	pki
	# It answers, then lets go of the socket and stays.
	strip --cert "$T/pki/localhost.pem" -- \
		sh -c 'head -n 1 >/dev/null; echo answer; exec sleep 60 <&- >&-'
	run sh -c "echo hi | socat -t 20 - OPENSSL:127.0.0.1:$TPORT,cafile=$T/pki/ca.pem,commonname=localhost"
	[ "$output" = answer ]
	wait_log 'conn=[0-9]+ client=.*upstream=program .*reason=done ' "$T/tlsstripd.log"
	wait_log 'warning: conn=[0-9]+: pid [0-9]+ killed by signal 15 ' "$T/tlsstripd.log"
	run ! pgrep -P "$tlsstripd_pid"
	kill -TERM "$tlsstripd_pid"
	rc=0
	wait "$tlsstripd_pid" || rc=$?
	[ "$rc" -eq 0 ]
}

@test "tlsstripd -- connectd is an HTTPS proxy for curl" {
	pki
	origin
	strip --cert "$T/pki/localhost.pem" -- connectd \
		--allow-dest 127.0.0.1/32 --allow-port "$NPORT"
	run curl -sS --max-time 30 -p --proxy "https://localhost:$TPORT" \
		--proxy-cacert "$T/pki/ca.pem" \
		--resolve "localhost:$TPORT:127.0.0.1" "http://127.0.0.1:$NPORT/"
	[ "$status" -eq 0 ]
	[ "$output" = "hello from nginx" ]
	wait_log 'upstream=program .*reason=done ' "$T/tlsstripd.log"
	grep -q 'connectd.*client=127.0.0.1' "$T/tlsstripd.log"
}

@test "tlsstripd -- relayd is an HTTPS relay for curl" {
	pki
	origin
	strip --cert "$T/pki/localhost.pem" -- relayd \
		--allow-dest 127.0.0.1/32 --allow-port "$NPORT"
	run curl -sS --max-time 30 --proxy "https://localhost:$TPORT" \
		--proxy-cacert "$T/pki/ca.pem" \
		--resolve "localhost:$TPORT:127.0.0.1" "http://127.0.0.1:$NPORT/seen"
	[ "$status" -eq 0 ]
	[[ "$output" == "xff=[]"* ]]
	wait_log 'relayd.*target=http://127.0.0.1:'"$NPORT"'/seen' "$T/tlsstripd.log"
}

@test "tlsstripd -- httpftpd serves an FTP tree over HTTPS" {
	load helpers/ftpd
	pki
	FP=$(free_port)
	pyftpd_start "$FP"
	strip --cert "$T/pki/localhost.pem" -- httpftpd -c "ftp://127.0.0.1:$FP/"
	run https /a.txt
	[ "$status" -eq 0 ]
	[ "$output" = "hello" ]
	run https /sub/b.txt
	[ "$output" = "inside" ]
}

@test "under socat, one connection is served on fd 0 and the program exits" {
	pki
	origin
	TPORT=$(free_port)
	# socat would split EXEC's arguments at the colon of HOST:PORT.
	printf '#!/bin/sh\nexec "%s/tlsstripd" --cert "%s" -c 127.0.0.1:%s\n' \
		"$GTR_BIN" "$T/pki/localhost.pem" "$NPORT" > "$T/one.sh"
	chmod +x "$T/one.sh"
	bg socat socat "TCP-LISTEN:$TPORT,bind=127.0.0.1,reuseaddr,fork" \
		"EXEC:$T/one.sh"
	wait_port "$TPORT"
	run https /
	[ "$status" -eq 0 ]
	[ "$output" = "hello from nginx" ]
	run https /
	[ "$output" = "hello from nginx" ]
}
