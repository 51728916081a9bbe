#!/usr/bin/env bats
# smuggling: the public request smuggling corpus (tests/smuggling/cases.tsv,
# whose header says what each field means) run against every program that
# reads request heads, each started once for the file in front of a real
# upstream: nginx (relayd, tlsstripd --forwarded, tlswrapd over HTTPS), a
# CGI program (cgid), pyftpdlib (httpftpd).  Each row is one connection:
# its bytes, then a probe request; the client sees the statuses, and the
# upstream's log and stored files show what got through.

load helpers/common

TABLE=$BATS_TEST_DIRNAME/smuggling/cases.tsv

# smuggling_nginx: nginx on $NPORT (plain) and $SPORT (TLS, a certificate
# for localhost), logging one line per request in $T/nginx/access.log:
# "METHOD URI STATUS cl=[...] te=[...] xff=[...]".  PUT /up/NAME stores
# in $T/www/up, /deny/ takes no body over 64 bytes, /ws/ answers 426.
smuggling_nginx() {
	NPORT=$(free_port)
	SPORT=$(free_port)
	mkdir -p "$T/www/up" "$T/nginx"
	chmod go+rwx "$T" "$T/www" "$T/www/up"
	chmod -R go+rX "$T/pki"
	cat > "$T/nginx/nginx.conf" <<-NGINX
	daemon off;
	worker_processes 1;
	pid $T/nginx/nginx.pid;
	error_log $T/nginx/error.log;
	events { worker_connections 1024; }
	http {
		log_format smuggle '\$request_method \$request_uri \$status cl=[\$http_content_length] te=[\$http_transfer_encoding] xff=[\$http_x_forwarded_for]';
		access_log $T/nginx/access.log smuggle;
		client_body_temp_path $T/nginx;
		proxy_temp_path $T/nginx;
		fastcgi_temp_path $T/nginx;
		uwsgi_temp_path $T/nginx;
		scgi_temp_path $T/nginx;
		keepalive_timeout 65;
		server {
			listen 127.0.0.1:$NPORT;
			listen 127.0.0.1:$SPORT ssl;
			ssl_certificate $T/pki/localhost.crt;
			ssl_certificate_key $T/pki/localhost.key;
			root $T/www;
			location /up/ { dav_methods PUT; }
			location /deny/ { client_max_body_size 64; dav_methods PUT; }
			location /ws/ { return 426; }
		}
	}
	NGINX
	bg nginx nginx -c "$T/nginx/nginx.conf" -e "$T/nginx/error.log"
	wait_port "$NPORT"
	wait_port "$SPORT"
}

setup_file() {
	common_setup
	make_ca "$T/pki"
	make_cert "$T/pki" localhost "DNS:localhost,IP:127.0.0.1"
	smuggling_nginx
	load helpers/ftpd
	FPORT=$(free_port)
	ftp_tree "$T/root"
	mkdir -p "$T/root/up" "$T/cgi/up"
	pyftpd_start "$FPORT" rw
	CG=$(free_port) HF=$(free_port) TW=$(free_port)
	RL=$(free_port) CD=$(free_port) TS=$(free_port)
	gtr_start cgid "$CG" --max-body 64 -- \
		"$BATS_TEST_DIRNAME/smuggling/store.sh" "$T/cgi"
	gtr_start httpftpd "$HF" --writable -c "ftp://127.0.0.1:$FPORT/"
	gtr_start tlswrapd "$TW" --cacert "$T/pki/ca.pem" \
		-c "https://localhost:$SPORT"
	gtr_start relayd "$RL" -c "127.0.0.1:$NPORT"
	gtr_start connectd "$CD"
	gtr_start tlsstripd "$TS" --cert "$T/pki/localhost.pem" --forwarded \
		-c "127.0.0.1:$NPORT"
	export NPORT SPORT FPORT CG HF TW RL CD TS
}

teardown_file() {
	local pid
	while read -r pid; do
		kill -TERM "$pid" 2>/dev/null
	done < "$T/pids"
	rm -rf "$T"
}

# The programs and servers outlive each test: only their logs are shown
# when one fails.
setup() { :; }
teardown() {
	local f
	[ -n "${BATS_TEST_COMPLETED:-}" ] && return 0
	for f in "$T"/*.log "$T/nginx/access.log" "$T/cgi/cgi.log"; do
		[ -f "$f" ] || continue
		echo "--- $f"
		tail -n 30 "$f"
	done
}

# applies PROGRAMS PROG: 0 if the row's program list takes in PROG.
applies() {
	local list=",$1," prog=$2
	[[ $list == *",-$prog,"* ]] && return 1
	[[ $list == *",all,"* || $list == *",$prog,"* ]]
}

# client PROG: sends stdin to PROG as its clients do, prints the answer.
client() {
	case $1 in
	tlsstripd)
		timeout 30 openssl s_client -quiet -connect "127.0.0.1:$TS" \
			-servername localhost -CAfile "$T/pki/ca.pem" 2>/dev/null
		;;
	*)
		timeout 30 socat -t 10 - "TCP:127.0.0.1:$(port_of "$1")"
		;;
	esac
}

port_of() {
	case $1 in
	cgid) echo "$CG" ;; httpftpd) echo "$HF" ;; tlswrapd) echo "$TW" ;;
	relayd) echo "$RL" ;; connectd) echo "$CD" ;; tlsstripd) echo "$TS" ;;
	esac
}

# abbr PROG: the two letters of the program in a row's id.
abbr() {
	case $1 in
	cgid) echo cg ;; httpftpd) echo hf ;; tlswrapd) echo tw ;;
	relayd) echo rl ;; connectd) echo cd ;; tlsstripd) echo ts ;;
	esac
}

# upstream_log PROG: the file where PROG's upstream logs what reached it.
upstream_log() {
	case $1 in
	cgid) echo "$T/cgi/cgi.log" ;;
	httpftpd) echo "$T/pyftpd.log" ;;
	connectd) echo /dev/null ;;	# it never connects for these rows
	*) echo "$T/nginx/access.log" ;;
	esac
}

# stored_file PROG ID: where PROG's upstream stores the body of PUT /up/ID.
stored_file() {
	case $1 in
	cgid) echo "$T/cgi/up/$2" ;;
	httpftpd) echo "$T/root/up/$2" ;;
	*) echo "$T/www/up/$2" ;;
	esac
}

# status_ok WANT GOT: 0 if the status GOT is what WANT (a code, a class
# such as 4xx, or ok) asks for.
status_ok() {
	case $1 in
	ok) [[ $2 == 2?? ]] ;;
	?xx) [[ $2 == "${1:0:1}"?? ]] ;;
	*) [ "$1" = "$2" ] ;;
	esac
}

# run_table PROG: sends every row of the table that applies to PROG, one
# connection each, then checks what reached its upstream.  Prints one
# line per row that failed and returns 1 if any did.
run_table() {
	local prog=$1 n=0 id name status close stage absent stored seen
	local progs req got i log file line fails=0
	local -a ids=() rows=() sts want_sts
	mkdir -p "$T/rows"
	log=$(upstream_log "$prog")
	while IFS=$'\t' read -r name status close stage absent stored seen \
	    progs req; do
		[[ -z $name || $name == \#* ]] && continue
		n=$((n + 1))
		applies "$progs" "$prog" || continue
		id=$(printf '%s%02d' "$(abbr "$prog")" "$n")
		# connectd refuses whatever it does not refuse on the head.
		if [ "$prog" = connectd ] && [ "$stage" != head ]; then
			status=405 close=close stage=head stored=- seen=-
		fi
		# relayd: one exchange, then the relay.
		[ "$prog" = relayd ] && [ "$close" = keep ] && close=close
		printf '%b' "${req//@ID@/$id}" > "$T/rows/$id.req"
		printf 'GET /probe-%s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' \
			"$id" >> "$T/rows/$id.req"
		client "$prog" < "$T/rows/$id.req" > "$T/rows/$id.out"
		mapfile -t sts < <(grep -aoE '^HTTP/1\.[01] [2-5][0-9]{2}' \
			"$T/rows/$id.out" | cut -d' ' -f2)
		read -r -a want_sts <<< "$status"
		got="${sts[*]}"
		for ((i = 0; i < ${#want_sts[@]}; i++)); do
			status_ok "${want_sts[i]}" "${sts[i]:-none}" && continue
			echo "$id $name: wanted statuses '$status', got '$got'"
			fails=1
			break
		done
		case $close in
		close) [ "${#sts[@]}" -eq "${#want_sts[@]}" ] ;;
		keep) [ "${#sts[@]}" -eq $((${#want_sts[@]} + 1)) ] ;;
		any) [ "${#sts[@]}" -le $((${#want_sts[@]} + 1)) ] ;;
		esac || {
			echo "$id $name: wanted $close, got statuses '$got'"
			fails=1
		}
		# Every refusal a program makes says it is the program's.
		if [ "$stage" != - ] && ! grep -aq '^Proxy-Status: gtr; error=' \
		    "$T/rows/$id.out"; then
			echo "$id $name: a refusal without Proxy-Status"
			fails=1
		fi
		ids+=("$id")
		rows+=("$name	$close	$stage	$absent	$stored	$seen")
	done < "$TABLE"
	[ "${#ids[@]}" -gt 0 ] || { echo "no row for $prog"; return 1; }
	# The upstream logs in order: once the last probe is there, so is
	# everything before it.
	printf 'GET /probe-%s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' \
		"$(abbr "$prog")zz" | client "$prog" > /dev/null
	[ "$prog" = connectd ] ||
		wait_log "probe-$(abbr "$prog")zz" "$log" || return 1
	for ((i = 0; i < ${#ids[@]}; i++)); do
		id=${ids[i]}
		IFS=$'\t' read -r name close stage absent stored seen <<< "${rows[i]}"
		file=$(stored_file "$prog" "$id")
		if [ "$stage" = head ] && grep -q "$id" "$log"; then
			echo "$id $name: refused on its head, yet reached the upstream:"
			grep "$id" "$log"
			fails=1
		fi
		if [ "$absent" != - ] && grep -qE "${absent//@ID@/$id}" "$log"; then
			echo "$id $name: reached the upstream: $(grep -E "${absent//@ID@/$id}" "$log")"
			fails=1
		fi
		if [ "$close" = close ] && grep -q "probe-$id" "$log"; then
			echo "$id $name: the request after the row reached the upstream"
			fails=1
		elif [ "$close" = keep ] && ! grep -q "probe-$id" "$log"; then
			echo "$id $name: the request after the row did not reach the upstream"
			fails=1
		fi
		if [ "$stored" = - ] && [ "$stage" = body ] &&
		    [ "$prog" = httpftpd ]; then
			# A STOR once begun cannot be taken back: the file
			# may keep the data before the bad framing, a prefix
			# of the rows' "hello", never more.
			if [ -e "$file" ] && [[ hello != "$(cat "$file")"* ]]; then
				echo "$id $name: a body was stored: $(od -c "$file" | head -3)"
				fails=1
			fi
		elif [ "$stored" = - ]; then
			if [ -e "$file" ]; then
				echo "$id $name: a body was stored: $(od -c "$file" | head -3)"
				fails=1
			fi
		elif ! cmp -s "$file" <(printf '%b' "${stored//@ID@/$id}"); then
			echo "$id $name: stored body differs: $(od -c "$file" 2>&1 | head -3)"
			fails=1
		fi
		if [ "$seen" != - ] && { [ "$prog" = relayd ] ||
		    [ "$prog" = tlsstripd ]; }; then
			line=$(grep " /up/$id " "$log")
			if ! grep -qE "$seen" <<< "$line"; then
				echo "$id $name: the backend was told '$line', not /$seen/"
				fails=1
			fi
		fi
	done
	echo "$prog: ${#ids[@]} rows"
	return "$fails"
}

@test "the table is well formed: nine fields, known values, one name each" {
	run awk -F'\t' '
		/^#/ || /^$/ { next }
		NF != 9 { print NR ": " NF " fields"; next }
		{ for (i = 1; i <= 9; i++) if ($i == "") print NR ": field " i " empty" }
		$2 !~ /^((ok|[1-5]xx|[1-5][0-9][0-9]) ?)+$/ { print NR ": status " $2 }
		$3 !~ /^(close|keep|any)$/ { print NR ": close " $3 }
		$4 !~ /^(head|body|-)$/ { print NR ": stage " $4 }
		$4 != "-" && $3 != "close" { print NR ": a refusal that keeps" }
		$4 != "-" && $6 != "-" { print NR ": a refusal that stores" }
		seen[$1]++ { print NR ": " $1 " twice" }
		{ rows++ }
		END { if (rows < 50 || rows > 99) print rows " rows" }' "$TABLE"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "relayd: every row of the smuggling table" {
	run_table relayd
}

@test "tlsstripd --forwarded: every row of the smuggling table" {
	run_table tlsstripd
}

@test "tlswrapd: every row of the smuggling table" {
	run_table tlswrapd
}

@test "cgid: every row of the smuggling table" {
	run_table cgid
}

@test "httpftpd: every row of the smuggling table" {
	run_table httpftpd
}

@test "connectd: every row of the smuggling table" {
	run_table connectd
}

