/*
 * rich_client: calls every procedure of RICHPROG (rich.x) with fixed
 * inputs, prints one line per call and checks every result itself.
 *
 *   rich_client <host> <tcp|udp> <port|0> <1|2|badvers|badproc|badargs>
 *
 * A port of 0 asks the host's rpcbind for the address (clnt_create);
 * any other port is called directly. The output format is described in
 * README.md; expected_v1.txt and expected_v2.txt hold the output of a
 * passing run. Exits 0 only if every call succeeded with the expected
 * result.
 */
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <rpc/rpc.h>

#include "rich.h"

#ifndef RICH_PASSTHROUGH
#error "the % line of rich.x did not reach rich.h"
#endif

static CLIENT *clnt;
static int vers, udp;
static int calls, failures;
static struct timeval call_timeout = { 5, 0 };

/* ---- a growing string ---- */

typedef struct {
	char *p;
	size_t len, cap;
} sbuf;

static void
sb_printf(sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			perror("vsnprintf");
			exit(1);
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		b->cap = (b->cap + (size_t)n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		if (b->p == NULL) {
			perror("realloc");
			exit(1);
		}
	}
}

static void
sb_reset(sbuf *b)
{
	b->len = 0;
	if (b->p)
		b->p[0] = '\0';
	else
		sb_printf(b, "%s", "");
}

/* ---- the text format of values (README.md, "Output format") ---- */

static void
f_int(sbuf *b, int v)
{
	sb_printf(b, "%d", v);
}

static void
f_hyper(sbuf *b, quad_t v)
{
	sb_printf(b, "%" PRId64, (int64_t)v);
}

static void
f_uhyper(sbuf *b, u_quad_t v)
{
	sb_printf(b, "%" PRIu64, (uint64_t)v);
}

static void
f_double(sbuf *b, double v)
{
	sb_printf(b, "%.17g", v);
}

static void
f_float(sbuf *b, float v)
{
	sb_printf(b, "%.9g", (double)v);
}

static void
f_string(sbuf *b, const char *s)
{
	sb_printf(b, "\"%s\"", s ? s : "");
}

static void
f_opaque(sbuf *b, const char *p, unsigned n)
{
	unsigned i;

	sb_printf(b, "0x");
	for (i = 0; i < n; i++)
		sb_printf(b, "%02x", (unsigned char)p[i]);
}

static void
f_kind(sbuf *b, shape_kind k)
{
	switch (k) {
	case SHAPE_NONE: sb_printf(b, "SHAPE_NONE"); break;
	case SHAPE_CIRCLE: sb_printf(b, "SHAPE_CIRCLE"); break;
	case SHAPE_SQUARE: sb_printf(b, "SHAPE_SQUARE"); break;
	case SHAPE_RECT: sb_printf(b, "SHAPE_RECT"); break;
	case SHAPE_TEXT: sb_printf(b, "SHAPE_TEXT"); break;
	case SHAPE_CUSTOM: sb_printf(b, "SHAPE_CUSTOM"); break;
	default: sb_printf(b, "%d", (int)k); break;
	}
}

static void
f_point(sbuf *b, const point *p)
{
	sb_printf(b, "{x=%d,y=%d}", p->x, p->y);
}

static void
f_box(sbuf *b, const box *x)
{
	sb_printf(b, "{min=");
	f_point(b, &x->min);
	sb_printf(b, ",max=");
	f_point(b, &x->max);
	sb_printf(b, "}");
}

static void
f_shape(sbuf *b, const shape *s)
{
	sb_printf(b, "{kind=");
	f_kind(b, s->kind);
	switch (s->kind) {
	case SHAPE_CIRCLE:
		sb_printf(b, ",radius=%d", s->shape_u.radius);
		break;
	case SHAPE_SQUARE:
	case SHAPE_RECT:
		sb_printf(b, ",bounds=");
		f_box(b, &s->shape_u.bounds);
		break;
	case SHAPE_NONE:
		break;
	default:
		sb_printf(b, ",label=");
		f_string(b, s->shape_u.label);
		break;
	}
	sb_printf(b, "}");
}

static void
f_list(sbuf *b, const node *n)
{
	sb_printf(b, "[");
	for (; n != NULL; n = n->next)
		sb_printf(b, "%d%s", n->value, n->next ? "," : "");
	sb_printf(b, "]");
}

static void
f_ints(sbuf *b, const int *v, unsigned n)
{
	unsigned i;

	sb_printf(b, "[");
	for (i = 0; i < n; i++)
		sb_printf(b, "%s%d", i ? "," : "", v[i]);
	sb_printf(b, "]");
}

static void
f_uints(sbuf *b, const u_int *v, unsigned n)
{
	unsigned i;

	sb_printf(b, "[");
	for (i = 0; i < n; i++)
		sb_printf(b, "%s%u", i ? "," : "", v[i]);
	sb_printf(b, "]");
}

static void
f_record(sbuf *b, const record *r)
{
	sb_printf(b, "{id=");
	f_opaque(b, r->id, sizeof r->id);
	sb_printf(b, ",title=");
	f_string(b, r->title);
	sb_printf(b, ",blob=");
	f_opaque(b, r->blob.blob_val, r->blob.blob_len);
	sb_printf(b, ",small=");
	f_ints(b, r->small.small_val, r->small.small_len);
	sb_printf(b, ",counts=");
	f_uints(b, r->counts.counts_val, r->counts.counts_len);
	sb_printf(b, ",triple=");
	f_ints(b, r->triple, 3);
	sb_printf(b, ",big=");
	f_hyper(b, r->big);
	sb_printf(b, ",ubig=");
	f_uhyper(b, r->ubig);
	sb_printf(b, ",flag=%s", r->flag ? "true" : "false");
	sb_printf(b, ",ratio=");
	f_double(b, r->ratio);
	sb_printf(b, ",weight=");
	f_float(b, r->weight);
	sb_printf(b, ",mask=%u", r->mask);
	sb_printf(b, ",kind=");
	f_kind(b, r->kind);
	sb_printf(b, ",s=");
	f_shape(b, &r->s);
	sb_printf(b, ",area=");
	f_box(b, &r->area);
	sb_printf(b, ",origin=");
	if (r->origin)
		f_point(b, r->origin);
	else
		sb_printf(b, "null");
	sb_printf(b, "}");
}

/* ---- checking ---- */

static sbuf args_text, want_text, got_text;

/*
 * One call done: ok says whether the RPC succeeded; got_text holds the
 * result, want_text the expected one and args_text the arguments.
 */
static void
report(const char *proc, int ok)
{
	calls++;
	if (!ok) {
		failures++;
		printf("FAIL %s: %s\n", proc, clnt_sperror(clnt, "call failed"));
		return;
	}
	printf("%s(%s) = %s\n", proc, args_text.p, got_text.p);
	if (strcmp(want_text.p, got_text.p) != 0) {
		failures++;
		printf("FAIL %s: expected %s\n", proc, want_text.p);
	}
}

static void
start(void)
{
	sb_reset(&args_text);
	sb_reset(&want_text);
	sb_reset(&got_text);
}

/* Version 1 and version 2 stubs of the procedures both versions share. */
#define SHARED(fn, ...) (vers == 1 ? fn##_1(__VA_ARGS__, clnt) : fn##_RICHVERS2(__VA_ARGS__, clnt))

static void
test_null(void)
{
	enum clnt_stat st;

	start();
	st = clnt_call(clnt, NULLPROC, (xdrproc_t)xdr_void, NULL, (xdrproc_t)xdr_void, NULL,
	    call_timeout);
	sb_printf(&want_text, "void");
	sb_printf(&got_text, "void");
	report("NULL", st == RPC_SUCCESS);
}

static void
test_echo_int(int v)
{
	int *r;

	start();
	f_int(&args_text, v);
	f_int(&want_text, v);
	r = SHARED(echo_int, v);
	if (r)
		f_int(&got_text, *r);
	report("ECHO_INT", r != NULL);
}

static void
test_echo_hyper(quad_t v)
{
	quad_t *r;

	start();
	f_hyper(&args_text, v);
	f_hyper(&want_text, v);
	r = SHARED(echo_hyper, v);
	if (r)
		f_hyper(&got_text, *r);
	report("ECHO_HYPER", r != NULL);
}

static void
test_echo_string(const char *v)
{
	name *r;

	start();
	f_string(&args_text, v);
	f_string(&want_text, v);
	r = SHARED(echo_string, (name)v);
	if (r) {
		f_string(&got_text, *r);
		clnt_freeres(clnt, (xdrproc_t)xdr_name, (caddr_t)r);
	}
	report("ECHO_STRING", r != NULL);
}

static void
test_sum(int a, int b, int want)
{
	int *r;

	start();
	sb_printf(&args_text, "%d,%d", a, b);
	f_int(&want_text, want);
	r = SHARED(sum, a, b);
	if (r)
		f_int(&got_text, *r);
	report("SUM", r != NULL);
}

static void
test_describe(shape s, const char *want)
{
	char **r;

	start();
	f_shape(&args_text, &s);
	f_string(&want_text, want);
	r = SHARED(describe, s);
	if (r) {
		f_string(&got_text, *r);
		clnt_freeres(clnt, (xdrproc_t)xdr_wrapstring, (caddr_t)r);
	}
	report("DESCRIBE", r != NULL);
}

static void
test_echo_uhyper(u_quad_t v)
{
	u_quad_t *r;

	start();
	f_uhyper(&args_text, v);
	f_uhyper(&want_text, v);
	r = echo_uhyper_RICHVERS2(v, clnt);
	if (r)
		f_uhyper(&got_text, *r);
	report("ECHO_UHYPER", r != NULL);
}

static void
test_echo_double(double v)
{
	double *r;

	start();
	f_double(&args_text, v);
	f_double(&want_text, v);
	r = echo_double_RICHVERS2(v, clnt);
	if (r)
		f_double(&got_text, *r);
	report("ECHO_DOUBLE", r != NULL);
}

static void
test_echo_shape(shape s)
{
	shape *r;

	start();
	f_shape(&args_text, &s);
	f_shape(&want_text, &s);
	r = echo_shape_RICHVERS2(s, clnt);
	if (r) {
		f_shape(&got_text, r);
		clnt_freeres(clnt, (xdrproc_t)xdr_shape, (caddr_t)r);
	}
	report("ECHO_SHAPE", r != NULL);
}

static void
test_echo_record(record v)
{
	record *r;

	start();
	f_record(&args_text, &v);
	f_record(&want_text, &v);
	r = echo_record_RICHVERS2(v, clnt);
	if (r) {
		f_record(&got_text, r);
		clnt_freeres(clnt, (xdrproc_t)xdr_record, (caddr_t)r);
	}
	report("ECHO_RECORD", r != NULL);
}

static void
test_reverse(const int *values, unsigned n)
{
	node *nodes = n ? calloc(n, sizeof *nodes) : NULL;
	int *reversed = n ? calloc(n, sizeof *reversed) : NULL;
	list *r;
	unsigned i;

	if (n && (nodes == NULL || reversed == NULL)) {
		perror("calloc");
		exit(1);
	}
	for (i = 0; i < n; i++) {
		nodes[i].value = values[i];
		nodes[i].next = i + 1 < n ? &nodes[i + 1] : NULL;
		reversed[i] = values[n - 1 - i];
	}
	start();
	f_list(&args_text, n ? nodes : NULL);
	f_ints(&want_text, reversed, n);
	r = reverse_RICHVERS2(n ? nodes : NULL, clnt);
	if (r) {
		f_list(&got_text, *r);
		clnt_freeres(clnt, (xdrproc_t)xdr_list, (caddr_t)r);
	}
	report("REVERSE", r != NULL);
	free(nodes);
	free(reversed);
}

static void
test_set(int v)
{
	void *r;

	start();
	f_int(&args_text, v);
	sb_printf(&want_text, "void");
	r = set_RICHVERS2(v, clnt);
	if (r)
		sb_printf(&got_text, "void");
	report("SET", r != NULL);
}

static void
test_get(int want)
{
	int *r;

	start();
	f_int(&want_text, want);
	r = get_RICHVERS2(clnt);
	if (r)
		f_int(&got_text, *r);
	report("GET", r != NULL);
}

static void
test_bounds(void)
{
	box want = { { -10, -20 }, { 30, 40 } };
	box *r;

	start();
	f_box(&want_text, &want);
	r = bounds_RICHVERS2(clnt);
	if (r)
		f_box(&got_text, r);
	report("BOUNDS", r != NULL);
}

static void
test_muladd(quad_t a, int b, int c, quad_t want)
{
	quad_t *r;

	start();
	sb_printf(&args_text, "%" PRId64 ",%d,%d", (int64_t)a, b, c);
	f_hyper(&want_text, want);
	r = muladd_RICHVERS2(a, b, c, clnt);
	if (r)
		f_hyper(&got_text, *r);
	report("MULADD", r != NULL);
}

/* ---- the fixed inputs ---- */

static shape
mk_none(void)
{
	shape s;

	memset(&s, 0, sizeof s);
	s.kind = SHAPE_NONE;
	return s;
}

static shape
mk_circle(int r)
{
	shape s = mk_none();

	s.kind = SHAPE_CIRCLE;
	s.shape_u.radius = r;
	return s;
}

static shape
mk_box(shape_kind k, int x0, int y0, int x1, int y1)
{
	shape s = mk_none();

	s.kind = k;
	s.shape_u.bounds.min.x = x0;
	s.shape_u.bounds.min.y = y0;
	s.shape_u.bounds.max.x = x1;
	s.shape_u.bounds.max.y = y1;
	return s;
}

static shape
mk_label(shape_kind k, const char *label)
{
	shape s = mk_none();

	s.kind = k;
	s.shape_u.label = (char *)label;
	return s;
}

#define NSHAPES 6
static shape shapes[NSHAPES];
static const char *descriptions[NSHAPES] = {
	"nothing",
	"circle of radius 5",
	"square from (0,0) to (2,2)",
	"rect from (-3,-4) to (5,6)",
	"other shape 8 named hello world",
	"other shape 32 named my custom shape",
};

static void
init_shapes(void)
{
	shapes[0] = mk_none();
	shapes[1] = mk_circle(5);
	shapes[2] = mk_box(SHAPE_SQUARE, 0, 0, 2, 2);
	shapes[3] = mk_box(SHAPE_RECT, -3, -4, 5, 6);
	shapes[4] = mk_label(SHAPE_TEXT, "hello world");
	shapes[5] = mk_label(SHAPE_CUSTOM, "my custom shape");
}

#define NCOUNTS 300

static record
full_record(void)
{
	static char id[8] = { (char)0xde, (char)0xad, (char)0xbe, (char)0xef, 0x00, 0x01, 0x7f,
		(char)0x80 };
	static char blob[MAXBLOB] = { 0x00, 0x01, 0x02, 0x7f, (char)0x80, (char)0xfe, (char)0xff,
		0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x0a, 0x0d };
	static int small[MAXV] = { INT32_MIN, -1, 0, 1, 2, 3, 5, 8, 13, 21, 34, INT32_MAX };
	static u_int counts[NCOUNTS];
	static point origin = { -5, 7 };
	record r;
	unsigned i;

	for (i = 0; i < NCOUNTS; i++)
		counts[i] = (u_int)(i * 2654435761u);
	memset(&r, 0, sizeof r);
	memcpy(r.id, id, sizeof r.id);
	r.title = "a title of 32 bytes, with spaces";
	r.blob.blob_len = MAXBLOB;
	r.blob.blob_val = blob;
	r.small.small_len = MAXV;
	r.small.small_val = small;
	r.counts.counts_len = NCOUNTS;
	r.counts.counts_val = counts;
	r.triple[0] = -1;
	r.triple[1] = 0;
	r.triple[2] = INT32_MAX;
	r.big = -9007199254740993LL;
	r.ubig = UINT64_MAX;
	r.flag = TRUE;
	r.ratio = -1234.5625;
	r.weight = 3.25f;
	r.mask = 0xdeadbeefu;
	r.kind = SHAPE_TEXT;
	r.s = mk_box(SHAPE_RECT, -1, -2, 3, 4);
	r.area.min.x = INT32_MIN;
	r.area.min.y = -1;
	r.area.max.x = 1;
	r.area.max.y = INT32_MAX;
	r.origin = &origin;
	return r;
}

static record
empty_record(void)
{
	record r;

	memset(&r, 0, sizeof r);
	r.title = "";
	r.flag = FALSE;
	r.ratio = 0.1;
	r.weight = -0.1f;
	r.kind = SHAPE_NONE;
	r.s = mk_none();
	r.origin = NULL;
	return r;
}

static void
run_version(void)
{
	static const int seven[] = { 1, -2, 3, -4, 5, INT32_MAX, INT32_MIN };
	static const int one[] = { 42 };
	int hundred[100];
	record rec;
	int i;

	init_shapes();

	test_null();

	test_echo_int(INT32_MIN);
	test_echo_int(INT32_MAX);
	test_echo_int(0);
	test_echo_int(-1);

	test_echo_hyper(INT64_MIN);
	test_echo_hyper(INT64_MAX);
	test_echo_hyper(9007199254740993LL);
	test_echo_hyper(-9007199254740993LL);

	test_echo_string("");
	test_echo_string("hello, ONC RPC world");
	test_echo_string("gr\xc3\xbc\xc3\x9f" "e, \xe4\xb8\x96\xe7\x95\x8c");
	test_echo_string("0123456789 abcdefghij ABCDEFGHIJ"); /* 32 bytes, the maximum */

	test_sum(-7, 12, 5);
	test_sum(-100, -23, -123);
	test_sum(INT32_MAX, 1, INT32_MIN);
	test_sum(INT32_MIN, -1, INT32_MAX);

	for (i = 0; i < NSHAPES; i++)
		test_describe(shapes[i], descriptions[i]);

	if (vers == 1)
		return;

	test_echo_uhyper(0);
	test_echo_uhyper(9223372036854775809ULL);
	test_echo_uhyper(UINT64_MAX);

	test_echo_double(-1234.5625);
	test_echo_double(0.1);
	test_echo_double(1e300);
	test_echo_double(-0.0);
	test_echo_double(5e-324);

	for (i = 0; i < NSHAPES; i++)
		test_echo_shape(shapes[i]);

	rec = full_record();
	test_echo_record(rec);
	rec = empty_record();
	test_echo_record(rec);

	for (i = 0; i < 100; i++)
		hundred[i] = i * 3 - 150;
	test_reverse(seven, sizeof seven / sizeof seven[0]);
	test_reverse(NULL, 0);
	test_reverse(one, 1);
	test_reverse(hundred, 100);

	test_set(-123456789);
	test_get(-123456789);

	test_bounds();

	test_muladd(4294967296LL, -3, 7, -12884901881LL);
	test_muladd(9007199254740993LL, 1, 0, 9007199254740993LL);
	test_muladd(-1, INT32_MAX, INT32_MIN, -4294967295LL);
	test_muladd(1000000000000LL, 1000000, 1, 1000000000000000001LL);
	test_muladd(4611686018427387904LL, 2, 0, INT64_MIN); /* wraps modulo 2^64 */
}

/* ---- the error cases ---- */

static int
run_badvers(void)
{
	rpcvers_t bad = 9;
	struct rpc_err err;
	enum clnt_stat st;

	clnt_control(clnt, CLSET_VERS, (char *)&bad);
	st = clnt_call(clnt, NULLPROC, (xdrproc_t)xdr_void, NULL, (xdrproc_t)xdr_void, NULL,
	    call_timeout);
	if (st != RPC_PROGVERSMISMATCH) {
		printf("FAIL badvers: %s\n", clnt_sperror(clnt, "expected RPC_PROGVERSMISMATCH"));
		return 1;
	}
	clnt_geterr(clnt, &err);
	printf("PROG_MISMATCH low=%lu high=%lu\n", (unsigned long)err.re_vers.low,
	    (unsigned long)err.re_vers.high);
	if (err.re_vers.low != RICHVERS || err.re_vers.high != RICHVERS_2) {
		printf("FAIL badvers: expected low=%d high=%d\n", RICHVERS, RICHVERS_2);
		return 1;
	}
	return 0;
}

static int
run_badproc(void)
{
	enum clnt_stat st;

	st = clnt_call(clnt, 99, (xdrproc_t)xdr_void, NULL, (xdrproc_t)xdr_void, NULL,
	    call_timeout);
	if (st != RPC_PROCUNAVAIL) {
		printf("FAIL badproc: %s\n", clnt_sperror(clnt, "expected RPC_PROCUNAVAIL"));
		return 1;
	}
	printf("PROC_UNAVAIL\n");
	return 0;
}

/* A string written without a maximum, to send more than MAXNAME bytes. */
static bool_t
xdr_long_string(XDR *xdrs, char **s)
{
	return xdr_string(xdrs, s, ~0u);
}

static int
run_badargs(void)
{
	char *too_long = "0123456789 abcdefghij ABCDEFGHIJK"; /* 33 bytes */
	int one = 1, result = 0, bad = 0;
	char *sresult = NULL;
	enum clnt_stat st;

	/* ECHO_STRING with 33 bytes, one more than name<MAXNAME> allows */
	st = clnt_call(clnt, ECHO_STRING, (xdrproc_t)xdr_long_string, (caddr_t)&too_long,
	    (xdrproc_t)xdr_wrapstring, (caddr_t)&sresult, call_timeout);
	if (st == RPC_CANTDECODEARGS) {
		printf("GARBAGE_ARGS ECHO_STRING(\"%s\")\n", too_long);
	} else {
		printf("FAIL badargs ECHO_STRING: %s\n",
		    clnt_sperror(clnt, "expected GARBAGE_ARGS"));
		bad = 1;
	}

	/*
	 * SUM with one of its two ints, over TCP only: libtirpc's UDP server
	 * decodes from its whole receive buffer, not from the datagram it
	 * got, so it takes the missing int from whatever the buffer held.
	 */
	if (!udp) {
		st = clnt_call(clnt, SUM, (xdrproc_t)xdr_int, (caddr_t)&one, (xdrproc_t)xdr_int,
		    (caddr_t)&result, call_timeout);
		if (st == RPC_CANTDECODEARGS) {
			printf("GARBAGE_ARGS SUM(1)\n");
		} else {
			printf("FAIL badargs SUM: %s\n",
			    clnt_sperror(clnt, "expected GARBAGE_ARGS"));
			bad = 1;
		}
	}
	return bad;
}

/* ---- main ---- */

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

static void
usage(const char *argv0)
{
	fprintf(stderr, "usage: %s <host> <tcp|udp> <port|0> <1|2|badvers|badproc|badargs>\n",
	    argv0);
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *host, *proto, *mode;
	struct timeval retry = { 0, 500000 };
	unsigned short port;
	char *end;
	long v;
	int rc;

	if (argc != 5)
		usage(argv[0]);
	host = argv[1];
	proto = argv[2];
	mode = argv[4];
	if (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0)
		usage(argv[0]);
	udp = strcmp(proto, "udp") == 0;
	v = strtol(argv[3], &end, 10);
	if (*argv[3] == '\0' || *end != '\0' || v < 0 || v > 65535)
		usage(argv[0]);
	port = (unsigned short)v;
	if (strcmp(mode, "1") == 0)
		vers = RICHVERS;
	else if (strcmp(mode, "2") == 0)
		vers = RICHVERS_2;
	else if (strcmp(mode, "badvers") == 0 || strcmp(mode, "badproc") == 0 ||
	    strcmp(mode, "badargs") == 0)
		vers = RICHVERS;
	else
		usage(argv[0]);

	if (port == 0) {
		clnt = clnt_create(host, RICHPROG, vers, proto);
	} else {
		struct sockaddr_in sin;
		int sock = RPC_ANYSOCK;

		if (resolve_ipv4(host, port, &sin) != 0) {
			fprintf(stderr, "%s: cannot resolve %s\n", argv[0], host);
			return 1;
		}
		if (udp)
			clnt = clntudp_create(&sin, RICHPROG, vers, retry, &sock);
		else /* 1024-byte send buffer: long calls go out in several record fragments */
			clnt = clnttcp_create(&sin, RICHPROG, vers, &sock, 1024, 0);
	}
	if (clnt == NULL) {
		clnt_pcreateerror(host);
		return 1;
	}
	clnt_control(clnt, CLSET_TIMEOUT, (char *)&call_timeout);
	if (udp)
		clnt_control(clnt, CLSET_RETRY_TIMEOUT, (char *)&retry);

	if (strcmp(mode, "badvers") == 0) {
		rc = run_badvers();
	} else if (strcmp(mode, "badproc") == 0) {
		rc = run_badproc();
	} else if (strcmp(mode, "badargs") == 0) {
		rc = run_badargs();
	} else {
		run_version();
		if (failures == 0)
			printf("PASS %d calls\n", calls);
		else
			printf("FAIL %d of %d calls\n", failures, calls);
		rc = failures != 0;
	}
	fflush(stdout);
	clnt_destroy(clnt);
	return rc;
}
