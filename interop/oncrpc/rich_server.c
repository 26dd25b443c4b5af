/*
 * rich_server: serves RICHPROG versions 1 and 2 (rich.x) on TCP and UDP.
 *
 *   rich_server [port]
 *
 * Same behaviour as time_server: with a port, 127.0.0.1:<port> and no
 * portmapper; without, ephemeral ports registered with the local
 * rpcbind/portmapper. Prints "listening tcp=<port> udp=<port>", serves
 * until SIGTERM or SIGINT, then unregisters (if it had registered) and
 * exits 0.
 *
 * The dispatch functions richprog_1 and richprog_RICHVERS2 are generated
 * by "rpcgen -N -m rich.x"; rpcgen names version 2's functions after the
 * constant RICHVERS2 that rich.x gives as its number.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rpc/rpc.h>
#include <rpc/pmap_clnt.h>

#include "rich.h"

#ifndef RICH_PASSTHROUGH
#error "the % line of rich.x did not reach rich.h"
#endif

void richprog_1(struct svc_req *, SVCXPRT *);
void richprog_RICHVERS2(struct svc_req *, SVCXPRT *);

static int registered;

/*
 * The procedures. Results live in static storage, as the generated
 * dispatch sends the reply before it frees the arguments, a result may
 * point into its argument.
 */

static int *
do_echo_int(int v)
{
	static int r;

	r = v;
	return &r;
}

static quad_t *
do_echo_hyper(quad_t v)
{
	static quad_t r;

	r = v;
	return &r;
}

static name *
do_echo_string(name v)
{
	static name r;

	r = v;
	return &r;
}

/* a + b modulo 2^32 */
static int *
do_sum(int a, int b)
{
	static int r;

	r = (int)(uint32_t)((uint32_t)a + (uint32_t)b);
	return &r;
}

static char **
do_describe(shape s)
{
	static char buf[160];
	static char *r = buf;
	const box *b = &s.shape_u.bounds;

	switch (s.kind) {
	case SHAPE_NONE:
		snprintf(buf, sizeof buf, "nothing");
		break;
	case SHAPE_CIRCLE:
		snprintf(buf, sizeof buf, "circle of radius %d", s.shape_u.radius);
		break;
	case SHAPE_SQUARE:
	case SHAPE_RECT:
		snprintf(buf, sizeof buf, "%s from (%d,%d) to (%d,%d)",
		    s.kind == SHAPE_SQUARE ? "square" : "rect",
		    b->min.x, b->min.y, b->max.x, b->max.y);
		break;
	default:
		snprintf(buf, sizeof buf, "other shape %d named %s", (int)s.kind,
		    s.shape_u.label);
		break;
	}
	return &r;
}

/* Version 1 */

int *
echo_int_1_svc(int v, struct svc_req *req)
{
	(void)req;
	return do_echo_int(v);
}

quad_t *
echo_hyper_1_svc(quad_t v, struct svc_req *req)
{
	(void)req;
	return do_echo_hyper(v);
}

name *
echo_string_1_svc(name v, struct svc_req *req)
{
	(void)req;
	return do_echo_string(v);
}

int *
sum_1_svc(int a, int b, struct svc_req *req)
{
	(void)req;
	return do_sum(a, b);
}

char **
describe_1_svc(shape s, struct svc_req *req)
{
	(void)req;
	return do_describe(s);
}

/* Version 2: version 1's procedures and more */

int *
echo_int_RICHVERS2_svc(int v, struct svc_req *req)
{
	(void)req;
	return do_echo_int(v);
}

quad_t *
echo_hyper_RICHVERS2_svc(quad_t v, struct svc_req *req)
{
	(void)req;
	return do_echo_hyper(v);
}

name *
echo_string_RICHVERS2_svc(name v, struct svc_req *req)
{
	(void)req;
	return do_echo_string(v);
}

int *
sum_RICHVERS2_svc(int a, int b, struct svc_req *req)
{
	(void)req;
	return do_sum(a, b);
}

char **
describe_RICHVERS2_svc(shape s, struct svc_req *req)
{
	(void)req;
	return do_describe(s);
}

u_quad_t *
echo_uhyper_RICHVERS2_svc(u_quad_t v, struct svc_req *req)
{
	static u_quad_t r;

	(void)req;
	r = v;
	return &r;
}

double *
echo_double_RICHVERS2_svc(double v, struct svc_req *req)
{
	static double r;

	(void)req;
	r = v;
	return &r;
}

shape *
echo_shape_RICHVERS2_svc(shape v, struct svc_req *req)
{
	static shape r;

	(void)req;
	r = v;
	return &r;
}

record *
echo_record_RICHVERS2_svc(record v, struct svc_req *req)
{
	static record r;

	(void)req;
	r = v;
	return &r;
}

/* REVERSE: a new list with the same values in the opposite order. */
list *
reverse_RICHVERS2_svc(list l, struct svc_req *req)
{
	static list r;
	node *n;

	(void)req;
	while (r != NULL) { /* the previous call's result */
		n = r->next;
		free(r);
		r = n;
	}
	for (; l != NULL; l = l->next) {
		n = malloc(sizeof *n);
		if (n == NULL) {
			while (r != NULL) {
				n = r->next;
				free(r);
				r = n;
			}
			return NULL; /* no reply; the client times out */
		}
		n->value = l->value;
		n->next = r;
		r = n;
	}
	return &r;
}

static int stored; /* SET's value, 0 until the first SET */

void *
set_RICHVERS2_svc(int v, struct svc_req *req)
{
	static char done;

	(void)req;
	stored = v;
	return &done; /* non-NULL: reply (void) */
}

int *
get_RICHVERS2_svc(struct svc_req *req)
{
	static int r;

	(void)req;
	r = stored;
	return &r;
}

box *
bounds_RICHVERS2_svc(struct svc_req *req)
{
	static box r;

	(void)req;
	r.min.x = -10;
	r.min.y = -20;
	r.max.x = 30;
	r.max.y = 40;
	return &r;
}

/* a * b + c modulo 2^64 */
quad_t *
muladd_RICHVERS2_svc(quad_t a, int b, int c, struct svc_req *req)
{
	static quad_t r;

	(void)req;
	r = (quad_t)((uint64_t)a * (uint64_t)(int64_t)b + (uint64_t)(int64_t)c);
	return &r;
}

/* The server around them */

static void
unregister(void)
{
	if (registered) {
		pmap_unset(RICHPROG, RICHVERS);
		pmap_unset(RICHPROG, RICHVERS_2);
		registered = 0;
	}
}

static void *
signal_thread(void *arg)
{
	sigset_t *set = arg;
	int sig;

	if (sigwait(set, &sig) == 0) {
		unregister();
		exit(0);
	}
	return NULL;
}

static int
bound_socket(int type, unsigned short port, unsigned short *bound)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;
	int one = 1;
	int fd = socket(AF_INET, type, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	if (bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 64) < 0) ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	*bound = ntohs(sin.sin_port);
	return fd;
}

int
main(int argc, char **argv)
{
	static sigset_t set;
	unsigned short port = 0, tcp_port, udp_port;
	int tcp_fd, udp_fd, use_pmap, tcp_proto, udp_proto;
	SVCXPRT *tcp, *udp;
	pthread_t tid;

	if (argc > 2) {
		fprintf(stderr, "usage: %s [port]\n", argv[0]);
		return 2;
	}
	if (argc == 2) {
		char *end;
		long v = strtol(argv[1], &end, 10);

		if (*argv[1] == '\0' || *end != '\0' || v < 1 || v > 65535) {
			fprintf(stderr, "%s: bad port %s\n", argv[0], argv[1]);
			return 2;
		}
		port = (unsigned short)v;
	}
	use_pmap = port == 0;
	tcp_proto = use_pmap ? IPPROTO_TCP : 0;
	udp_proto = use_pmap ? IPPROTO_UDP : 0;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (pthread_create(&tid, NULL, signal_thread, &set) != 0) {
		fprintf(stderr, "%s: cannot start the signal thread\n", argv[0]);
		return 1;
	}

	tcp_fd = bound_socket(SOCK_STREAM, port, &tcp_port);
	if (tcp_fd < 0) {
		fprintf(stderr, "%s: tcp 127.0.0.1:%u: %s\n", argv[0], port, strerror(errno));
		return 1;
	}
	udp_fd = bound_socket(SOCK_DGRAM, port, &udp_port);
	if (udp_fd < 0) {
		fprintf(stderr, "%s: udp 127.0.0.1:%u: %s\n", argv[0], port, strerror(errno));
		return 1;
	}
	tcp = svctcp_create(tcp_fd, 0, 0);
	udp = svcudp_create(udp_fd);
	if (tcp == NULL || udp == NULL) {
		fprintf(stderr, "%s: cannot create the tcp/udp service\n", argv[0]);
		return 1;
	}

	if (use_pmap) {
		pmap_unset(RICHPROG, RICHVERS);
		pmap_unset(RICHPROG, RICHVERS_2);
		registered = 1;
	}
	if (!svc_register(tcp, RICHPROG, RICHVERS, richprog_1, tcp_proto) ||
	    !svc_register(udp, RICHPROG, RICHVERS, richprog_1, udp_proto) ||
	    !svc_register(tcp, RICHPROG, RICHVERS_2, richprog_RICHVERS2, tcp_proto) ||
	    !svc_register(udp, RICHPROG, RICHVERS_2, richprog_RICHVERS2, udp_proto)) {
		fprintf(stderr, "%s: unable to register RICHPROG%s\n", argv[0],
		    use_pmap ? " with the portmapper: is rpcbind running?" : "");
		unregister();
		return 1;
	}

	printf("listening tcp=%u udp=%u\n", tcp_port, udp_port);
	fflush(stdout);

	svc_run();
	fprintf(stderr, "%s: svc_run returned\n", argv[0]);
	unregister();
	return 1;
}
