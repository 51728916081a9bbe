#!/usr/bin/env bats
# parsers.bats - the programs' own parsers of bytes a server, a client or
# a file controls, through unit test programs (built by `make units`);
# among their cases, each one the fuzz harnesses (tests/fuzz/) found.

load helpers/common

# unit NAME: runs build/unit/NAME; every case must pass.
unit() {
	run "$GTR_BUILD/unit/$1"
	echo "$output" | grep '^FAIL' || true
	[ "$status" -eq 0 ]
	[[ ${lines[-1]} =~ ^[0-9]+\ passed,\ 0\ failed$ ]]
	[[ $output != *FAIL* ]]
}

@test "httpftpd's LIST, MLSD, target and Basic unit cases pass" {
	unit ftpparse_test
}
