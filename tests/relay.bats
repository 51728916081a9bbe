#!/usr/bin/env bats
# relay.bats - the byte relay: the unit program relays real TCP and unix
# sockets, pipes and a file through relay_start() and checks every byte.

load helpers/common

@test "both directions at once, half-close, pending bytes, files and pipes, resets, idle timeouts and 300 tunnels relay byte-exact" {
	run "$GTR_BUILD/unit/relay_test"
	[ "$status" -eq 0 ]
	[[ ${lines[-1]} =~ ^[0-9]+\ passed,\ 0\ failed$ ]]
	[[ $output != *"not ok"* ]]
	[[ $output == *"ok - TCP: 64 MiB arrive upstream intact"* ]]
	[[ $output == *"ok - half-close: the answer after the client's EOF arrives whole"* ]]
	[[ $output == *'ok - an idle tunnel ends with "idle timeout"'* ]]
	[[ $output == *"ok - inetd style: upstream's EOF reaches the client"* ]]
	[[ $output == *"ok - 300 tunnels holding data use at most 128 pipes per loop"* ]]
}
