/*
 * time_client: calls PRINTIME of TIMEPROG version 1 (time.x).
 *
 *   time_client <host> <tcp|udp> <message> [port]
 *
 * Without a port the host's rpcbind is asked for the address
 * (clnt_create); with one the call goes straight to <host>:<port>.
 * Prints "From the Time Server ...<result>" and exits 0, or prints the
 * RPC error on stderr and exits 1.
 */
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <rpc/rpc.h>

#include "time.h"

static int
parse_port(const char *s, unsigned short *port)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < 1 || v > 65535)
		return -1;
	*port = (unsigned short)v;
	return 0;
}

static int
resolve_ipv4(const char *host, unsigned short port, struct sockaddr_in *sin)
{
	struct addrinfo hints, *res;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_INET;
	if (getaddrinfo(host, NULL, &hints, &res) != 0 || res == NULL)
		return -1;
	memcpy(sin, res->ai_addr, sizeof *sin);
	freeaddrinfo(res);
	sin->sin_port = htons(port);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *host, *proto;
	char *message, **result;
	CLIENT *clnt;
	struct timeval total = { 5, 0 };
	struct timeval retry = { 0, 500000 };
	int udp;

	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: %s <host> <tcp|udp> <message> [port]\n", argv[0]);
		return 2;
	}
	host = argv[1];
	proto = argv[2];
	message = argv[3];
	if (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0) {
		fprintf(stderr, "%s: protocol must be tcp or udp, not %s\n", argv[0], proto);
		return 2;
	}
	udp = strcmp(proto, "udp") == 0;

	if (argc == 4) {
		clnt = clnt_create(host, TIMEPROG, PRINTIMEVERS, proto);
	} else {
		struct sockaddr_in sin;
		unsigned short port;
		int sock = RPC_ANYSOCK;

		if (parse_port(argv[4], &port) != 0) {
			fprintf(stderr, "%s: bad port %s\n", argv[0], argv[4]);
			return 2;
		}
		if (resolve_ipv4(host, port, &sin) != 0) {
			fprintf(stderr, "%s: cannot resolve %s\n", argv[0], host);
			return 1;
		}
		if (udp)
			clnt = clntudp_create(&sin, TIMEPROG, PRINTIMEVERS, retry, &sock);
		else
			clnt = clnttcp_create(&sin, TIMEPROG, PRINTIMEVERS, &sock, 0, 0);
	}
	if (clnt == NULL) {
		clnt_pcreateerror(host);
		return 1;
	}
	clnt_control(clnt, CLSET_TIMEOUT, (char *)&total);
	if (udp)
		clnt_control(clnt, CLSET_RETRY_TIMEOUT, (char *)&retry);

	result = printime_1(&message, clnt);
	if (result == NULL) {
		clnt_perror(clnt, host);
		clnt_destroy(clnt);
		return 1;
	}
	printf("From the Time Server ...%s\n", *result);
	fflush(stdout);
	clnt_freeres(clnt, (xdrproc_t)xdr_wrapstring, (caddr_t)result);
	clnt_destroy(clnt);
	return 0;
}
