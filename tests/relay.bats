#!/usr/bin/env bats
# relay.bats - the byte relay: the unit program relays real TCP and unix
# sockets, pipes and a file through relay_start() and checks every byte
# (tests/unit/relay_test.c; each test runs one of its groups).

load helpers/common

# unit GROUP: runs that group; it must pass whole and say so.
unit() {
	run "$GTR_BUILD/unit/relay_test" "$1"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ ${lines[-1]} =~ ^[1-9][0-9]*\ passed,\ 0\ failed$ ]]
	[[ $output != *"not ok"* ]]
}

@test "64 MiB cross a TCP tunnel both ways at once, byte-exact, and done counts them" {
	unit tcp
	[[ $output == *"ok - TCP: 64 MiB arrive upstream intact"* ]]
	[[ $output == *'(67108864 67108864 done)'* ]]
}

@test "64 MiB cross a unix socketpair tunnel both ways at once, byte-exact" {
	unit unix
	[[ $output == *"ok - unix socketpair: 64 MiB arrive at the client intact"* ]]
}

@test "after the client's EOF the upstream still gets EOF and its 32 MiB answer arrives whole" {
	unit half-close
	[[ $output == *"ok - half-close: the answer after the client's EOF arrives whole (33554555 bytes)"* ]]
}

@test "bytes the client sent after its head go upstream before anything else" {
	unit pending
}

@test "a pipe in and a file out relay with read and write, and the file holds every byte" {
	unit file
}

@test "with pipes on the client side, upstream's EOF closes the client's write pipe" {
	unit pipes
}

@test "an upstream reset ends the tunnel with reason reset" {
	unit reset
	[[ $output == *'(reset)'* ]]
}

@test "a tunnel where nothing moves ends with idle timeout, one moving bytes lives on" {
	unit idle
}

@test "300 tunnels at once each move their own bytes and report their own counts" {
	unit many
}

@test "inetd style fds (two fds on one socket) half-close through the write fd" {
	unit inetd
}

@test "more tunnels holding data than pooled pipes fall back to buffers and lose nothing" {
	unit pool
	[[ $output == *"ok - 300 tunnels holding data use at most 256 pipes"* ]]
}

@test "an unknown group name is an error, so a typo cannot pass" {
	run "$GTR_BUILD/unit/relay_test" no-such-group
	[ "$status" -ne 0 ]
	[[ $output == *"not ok - test group no-such-group exists"* ]]
}

@test "small writes to an upstream that reads late all arrive, in order" {
	unit small
	[[ $output == *"ok - small writes to a late reader: 131072 of 131072 bytes, in order"* ]]
}
