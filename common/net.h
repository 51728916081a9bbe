/*
 * net.h - addresses, the destination policy, and connecting with a timeout.
 *
 * As redis's anet: functions take an error buffer or return an error
 * kind, and never print or exit.
 */
#ifndef GTR_NET_H
#define GTR_NET_H

#include <sys/socket.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"
#include "log.h"

#define NET_HOSTLEN	256
#define NET_PORTLEN	8
#define NET_IPLEN	46	/* INET6_ADDRSTRLEN */
#define POLICY_MAX_PORTS 64
#define POLICY_MAX_DESTS 64

/* A parsed -l or -c address: "PORT", "HOST:PORT", "[V6]:PORT", "unix:PATH". */
struct net_addr {
	int	 is_unix;
	char	 host[NET_HOSTLEN];	/* without brackets */
	char	 port[NET_PORTLEN];
	char	 path[108];		/* sun_path, for unix: */
};

/*
 * Parses s into *a.  A bare PORT gets default_host.  A missing port, with
 * default_port non-NULL, gets that port.  Returns 0, or -1 with a reason
 * in err.
 */
int	net_addr_parse(const char *s, const char *default_host,
	    const char *default_port, struct net_addr *a, char *err,
	    size_t errlen);

/*
 * The one parser of an authority as requests carry it (a CONNECT target,
 * an absolute URI's authority, Host): "host", "host:port" or
 * "[v6]:port", len bytes of s, nothing else.  A host is letters, digits,
 * '-', '.' and '_', not starting with '-' or '.', or an IPv6 address in
 * brackets; a port is 1-65535 in decimal.  Without a port, default_port
 * is used (NULL: a port is required).  Writes host without brackets
 * (NET_HOSTLEN) and port in plain decimal (NET_PORTLEN).  Returns 0, or
 * -1 if anything is wrong.
 */
int	net_parse_authority(const char *s, size_t len,
	    const char *default_port, char *host, char *port);

/*
 * Writes "host:port", or "[host]:port" for an IPv6 address, into buf.
 * Returns 0, or -1 if it was cut to fit.
 */
int	net_format_authority(char *buf, size_t len, const char *host,
	    const char *port);

/* One range of ports, inclusive. */
struct port_range {
	uint16_t lo, hi;
};

/* One CIDR block; family AF_INET or AF_INET6, addr in network order. */
struct cidr {
	int	 family;
	uint8_t	 addr[16];
	int	 bits;
};

struct policy {
	struct port_range ports[POLICY_MAX_PORTS];
	int	 nports;
	struct cidr dests[POLICY_MAX_DESTS];	/* --allow-dest */
	int	 ndests;
};

/* Replaces the port list with "443,8443,9000-9100"; 0 or -1 (err). */
int	policy_set_ports(struct policy *, const char *list, char *err,
	    size_t errlen);
/* Adds each CIDR (or bare address) of a comma list; 0 or -1 (err). */
int	policy_add_dests(struct policy *, const char *list, char *err,
	    size_t errlen);
int	policy_port_ok(const struct policy *, unsigned port);

/*
 * Adds each CIDR (or bare address) of a comma list to v, which holds *n
 * of at most max (and at most POLICY_MAX_DESTS at once); what names the
 * option in messages.  Returns 0, or -1 with err set and v unchanged.
 */
int	net_cidr_add(struct cidr *v, int *n, int max, const char *what,
	    const char *list, char *err, size_t errlen);
/*
 * Returns 1 if sa's address is in one of the n blocks; an IPv4-mapped
 * address is the IPv4 address it maps.  0 for a family other than IP.
 */
int	net_cidr_match(const struct cidr *v, int n, const struct sockaddr *sa);
/*
 * Returns 1 if the address may be connected to: not special (every entry
 * of IANA's IPv4 and IPv6 special-purpose registries, multicast,
 * site-local, and every IPv6 form that carries an IPv4 address), or
 * named by an --allow-dest block.  A form that carries an IPv4 address is
 * named by an IPv6 block or, when it is that address (mapped,
 * compatible, SIIT, NAT64), by an IPv4 block; and the IPv4 address it
 * carries must pass too, so naming 2002::/16 does not open 6to4 of
 * 127.0.0.1.
 */
int	policy_dest_ok(const struct policy *, const struct sockaddr *);

enum net_error {
	NET_OK = 0,
	NET_DNS,	/* name does not resolve: 502 dns_error */
	NET_REFUSED,	/* connection refused: 502 connection_refused */
	NET_UNREACH,	/* network/host unreachable: 502 */
	NET_TIMEOUT,	/* connect timed out: 504 connection_timeout */
	NET_POLICY,	/* every address refused by policy: 403 */
	NET_LOOP,	/* as NET_POLICY, one address our own listener: 403 */
	NET_SYSTEM	/* socket(), out of fds...: 502 */
};

/*
 * How a failed connection is answered and logged, in one place for every
 * program that connects: a short English reason for logs and response
 * bodies; the RFC 9209 error type (PE_NONE for NET_OK), and its token
 * for a caller that writes the field itself; the HTTP status (502, 504
 * or 403); the access line's reason (upstream_error, upstream_timeout
 * or policy).
 */
const char *net_strerror(enum net_error);
enum proxy_error net_proxy_error(enum net_error);
const char *net_proxy_status(enum net_error);
int	net_http_status(enum net_error);
enum log_reason net_log_reason(enum net_error);

/*
 * The one wording of each refusal by the destination policy, for a 403's
 * body and for the log lines of every program alike, naming what was
 * refused: "port 47080 is not allowed"; for a destination host (as the
 * client named it, or an address tried) every address of which the
 * policy refused, NET_POLICY, "destination 10.0.0.1 is not allowed";
 * for one that is the program's own listener, NET_LOOP, "destination
 * 127.0.0.1:8080 is this program's own listener".  Write into buf;
 * return buf.
 */
const char *policy_port_refusal(char *buf, size_t len, unsigned port);
const char *policy_dest_refusal(char *buf, size_t len, enum net_error,
	    const char *host, const char *port);

/*
 * Resolves host and connects to port, trying every address in turn
 * (IPv6 and IPv4) within timeout_ms in all.  With a policy, each address
 * is checked first and refused ones skipped; with own non-NULL, addresses
 * for which own(sa) returns 1 are refused as loops.  Returns a connected
 * blocking TCP socket, or -1 with *err set: NET_POLICY or NET_LOOP only
 * when every address was refused so, else the error of the last address
 * tried.  The address connected to is written to ip (NET_IPLEN) when ip
 * is non-NULL.
 */
int	net_connect(const char *host, const char *port,
	    const struct policy *, int (*own)(const struct sockaddr *),
	    int timeout_ms, enum net_error *err, char *ip);

/* Connects to a unix socket path; -1 with *err set. */
int	net_connect_unix(const char *path, enum net_error *err);

/*
 * Connects where an exchange goes: to fixed (-c, a unix path or
 * HOST:PORT, trusted as given) or, when fixed is NULL, to host:port
 * under the policy and own, as net_connect().  On success writes the
 * address connected to, for the access line, into upstream
 * ("ADDR:PORT", "[V6]:PORT" or "unix").  Returns the socket, or -1 with
 * *err set.
 */
int	net_connect_to(const struct net_addr *fixed, const char *host,
	    const char *port, const struct policy *,
	    int (*own)(const struct sockaddr *), int timeout_ms,
	    enum net_error *err, char *upstream, size_t ulen);

/* Formats sa as ip and port strings; either may be NULL. */
void	net_ntop(const struct sockaddr *, char *ip, char *port);

/* Returns 1 if the two addresses have the same family, address and port. */
int	net_same_addr(const struct sockaddr *, const struct sockaddr *);

#endif
