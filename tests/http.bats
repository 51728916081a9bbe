#!/usr/bin/env bats
# http.bats - the strict HTTP/1.1 parser of common/http.c, through its unit
# test program (tests/unit/http_test.c, built by `make units`).

load helpers/common

unit() {
	run "$GTR_BUILD/unit/http_test" -v
}

# passed NAME...: each case ran and passed.
passed() {
	local name
	for name in "$@"; do
		grep -qxF "ok $name" <<<"$output" || {
			echo "case did not pass: $name"
			return 1
		}
	done
}

@test "every HTTP parser unit case passes" {
	unit
	echo "$output" | grep '^FAIL' || true
	[ "$status" -eq 0 ]
	[[ "$output" == *", 0 failed" ]]
	[[ "$output" != *FAIL* ]]
	[[ "$output" =~ ([0-9]+)\ passed ]]
	[ "${BASH_REMATCH[1]}" -ge 250 ]
}

@test "malformed heads are rejected with 400" {
	unit
	passed "obs-fold with SP" "bare CR in a value" "NUL in a value" \
	    "space before the colon" "invalid token in the method" \
	    "an empty field name" "Transfer-Encoding with Content-Length" \
	    "two different Content-Length fields" "a target with a space" \
	    "HTTP/0.9 request line without version" \
	    "missing Host in HTTP/1.1" "two Host fields"
}

@test "size limits answer 414 and 431" {
	unit
	passed "a request line of 8193 bytes gets 414" \
	    "a head of 32769 bytes gets 431" "129 fields get 431" \
	    "a request line of 8192 bytes is accepted" \
	    "a head of exactly 32768 bytes is accepted"
}

@test "codings and versions answer 501 and 505" {
	unit
	passed "last coding not chunked gets 501" "HTTP/2.0 gets 505" \
	    "HTTP/1.2 is treated as 1.1" "chunked twice"
}

@test "bodies are de-chunked, streamed and cut short with the right status" {
	unit
	passed "non-hex chunk size (written by 1)" \
	    "missing CRLF after chunk data (written by 4096)" \
	    "short Content-Length body (written by 1)" \
	    "short body from a response gets 502 (written by 4096)" \
	    "a chunked body of 1 MiB streams through a 1000-byte buffer" \
	    "chunked body written by 1, read by 3, then the pipelined request" \
	    "a body stalled by the client gets 408"
}

@test "the access line has DESIGN.md's keys in order, escaped" {
	run "$GTR_BUILD/unit/log_test"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"4 passed, 0 failed"* ]]
}
