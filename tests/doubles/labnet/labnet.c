// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * labnet: the traffic ends of xlb's network-namespace lab. `labnet serve`
 * is a backend that names itself in every answer, over TCP (an HTTP request
 * gets one HTTP response; any other line gets the name back, so a connection
 * can stay open for long-lived tests; "GET /bytes/N" gets N bytes, and an
 * upload of N bytes gets "got N NAME" once all came) and UDP. `labnet probe` is a client that
 * makes N short connections (or sends N datagrams, each from a new socket),
 * or holds M long-lived connections for a while, tallies which backend
 * answered and counts every failure by kind; it exits non-zero on failure so
 * test scripts get a clear verdict. With --log it writes one timestamped line
 * per connection (and per long-lived connection's fate), so a test can say
 * which backend took which flow when, and which flows broke. `labnet xdp-pass`
 * gives an end host's veth an XDP program that passes everything: veth only
 * flushes frames a peer sends back with XDP_TX to a device with XDP, where a
 * physical NIC takes them like any other. Only ever talks to the address given.
 * A request "peer" is answered with the name and the address the server saw the
 * client at (`probe --peer`), so a test can tell where a NAT rewrote a source.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>

#define MAX_CONNS 1024
#define MAX_NAMES 64
#define BUF_LEN 2048

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/*
 * A probe takes SIGINT/SIGTERM only between requests (and between rounds of
 * long-lived pings): a signal in the middle of one would end it with EINTR,
 * a failure the test did not cause.
 */
static void signals_hold(bool hold)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(hold ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}

static int parse_endpoint(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[128];
	const char *colon;
	struct sockaddr_in *in4 = (void *)ss;
	struct sockaddr_in6 *in6 = (void *)ss;
	unsigned long port;
	size_t hl;

	memset(ss, 0, sizeof(*ss));
	if (*s == '[') {
		colon = strstr(s, "]:");
		if (!colon)
			return -EINVAL;
		hl = colon - s - 1;
		s++;
		colon++;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		hl = colon - s;
	}
	if (hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = '\0';
	port = strtoul(colon + 1, NULL, 10);
	if (!port || port > 65535)
		return -EINVAL;
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(port);
		*len = sizeof(*in4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		*len = sizeof(*in6);
		return 0;
	}
	return -EINVAL;
}

/* Bounded copy that always terminates (truncation is fine for names). */
static void copy_str(char *dst, size_t len, const char *src)
{
	size_t n = strnlen(src, len - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Wall clock in ms, the time base of --log lines (the simulator's events use it too). */
static double wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---- serve ---- */

struct conn {
	int fd;
	size_t len;
	long long body_left; /* an upload's bytes still to come; 0: none under way */
	long long body_len;
	char peer[INET6_ADDRSTRLEN];
	char buf[BUF_LEN];
};

#define BULK_MAX (64LL << 20) /* the largest /bytes/N download or upload */

/* Writes all of buf to a non-blocking socket, waiting for room (5 s at most each time). */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		ssize_t n = write(fd, buf, len);

		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
		if (poll(&p, 1, 5000) <= 0)
			return -1;
	}
	return 0;
}

/* "GET /bytes/N": an HTTP answer of N bytes, a pattern the client can check. */
static int serve_bytes(struct conn *c, long long n)
{
	static char chunk[65536];
	char hdr[256];
	int h;

	for (size_t i = 0; i < sizeof(chunk); i++)
		chunk[i] = (char)('a' + i % 26);
	h = snprintf(hdr, sizeof(hdr),
		     "HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n"
		     "Content-Length: %lld\r\nConnection: close\r\n\r\n", n);
	if (write_all(c->fd, hdr, (size_t)h))
		return 1;
	while (n > 0) {
		size_t part = n > (long long)sizeof(chunk) ? sizeof(chunk) : (size_t)n;

		if (write_all(c->fd, chunk, part))
			return 1;
		n -= (long long)part;
	}
	return 1;
}

/* An upload (PUT or POST with Content-Length) read to its end: "got N NAME". */
static int upload_done(struct conn *c, const char *name)
{
	char out[256];
	int n = snprintf(out, sizeof(out), "got %lld %s\n", c->body_len, name);
	char hdr[160];
	int h = snprintf(hdr, sizeof(hdr),
			 "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
			 "Connection: close\r\n\r\n", n);

	if (!write_all(c->fd, hdr, (size_t)h))
		write_all(c->fd, out, (size_t)n);
	return 1;
}

/* The address of a peer, without the port (for the "peer" request). */
static void peer_str(const struct sockaddr_storage *ss, char *out, size_t len)
{
	const void *a = &((const struct sockaddr_in *)ss)->sin_addr;

	if (ss->ss_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
	if (!inet_ntop(ss->ss_family, a, out, len))
		copy_str(out, len, "?");
}

/* The answer to one request line: the name, and for "peer" the client's address. */
static int answer(char *out, size_t len, const char *name, const char *line, const char *peer)
{
	if (!strncmp(line, "peer", 4) && (line[4] == '\n' || line[4] == '\r' || !line[4]))
		return snprintf(out, len, "%s %s\n", name, peer);
	return snprintf(out, len, "%s\n", name);
}

static int listen_on(const struct sockaddr_storage *ss, socklen_t len, int type)
{
	int fd = socket(ss->ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, len) ||
	    (type == SOCK_STREAM && listen(fd, 512))) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* Answers what a connection sent so far; returns 1 when it must be closed. */
static int serve_input(struct conn *c, const char *name)
{
	char out[BUF_LEN];
	char *nl;
	int n;

	if (c->body_left > 0) { /* what came of an upload: counted, not kept */
		long long take = (long long)c->len < c->body_left ? (long long)c->len : c->body_left;

		c->body_left -= take;
		c->len = 0;
		return c->body_left ? 0 : upload_done(c, name);
	}
	if (!strncmp(c->buf, "PUT ", 4) || !strncmp(c->buf, "POST ", 5)) {
		char *end = memmem(c->buf, c->len, "\r\n\r\n", 4), *cl;
		long long len;
		size_t got;

		if (!end)
			return c->len >= sizeof(c->buf) - 1;
		*end = '\0';
		cl = strcasestr(c->buf, "\ncontent-length:");
		len = cl ? strtoll(cl + 16, NULL, 10) : -1;
		if (len < 0 || len > BULK_MAX)
			return 1;
		got = c->len - (size_t)(end + 4 - c->buf);
		c->body_len = len;
		c->body_left = len - (long long)(got < (size_t)len ? got : (size_t)len);
		c->len = 0;
		return c->body_left ? 0 : upload_done(c, name);
	}
	if (!strncmp(c->buf, "GET ", 4) || !strncmp(c->buf, "HEAD ", 5)) {
		if (!memmem(c->buf, c->len, "\r\n\r\n", 4) && !memmem(c->buf, c->len, "\n\n", 2))
			return c->len >= sizeof(c->buf) - 1;
		if (!strncmp(c->buf, "GET /bytes/", 11)) {
			long long n = strtoll(c->buf + 11, NULL, 10);

			if (n >= 0 && n <= BULK_MAX)
				return serve_bytes(c, n);
		}
		n = snprintf(out, sizeof(out),
			     "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
			     "Connection: close\r\n\r\n%s\n",
			     strlen(name) + 1, name);
		if (write(c->fd, out, n) < 0)
			return 1;
		return 1;
	}
	while ((nl = memchr(c->buf, '\n', c->len))) {
		size_t used = nl - c->buf + 1;

		n = answer(out, sizeof(out), name, c->buf, c->peer);
		if (write(c->fd, out, n) != n)
			return 1;
		memmove(c->buf, c->buf + used, c->len - used);
		c->len -= used;
	}
	return c->len >= sizeof(c->buf) - 1;
}

/* What `labnet serve` listens on and the connections it holds. */
struct server {
	const char *name;
	int nl; /* listening addresses */
	int tcp[8];
	int udp[8];
	struct conn *conns[MAX_CONNS];
};

/* One readable socket: a datagram to answer, a connection to accept, or input on one. */
static void serve_ready(struct server *sv, int fd)
{
	bool is_tcp = false, is_udp = false;
	char out[256], buf[BUF_LEN];
	int k;

	for (k = 0; k < sv->nl; k++) {
		is_tcp |= fd == sv->tcp[k];
		is_udp |= fd == sv->udp[k];
	}
	if (is_udp) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		ssize_t n = recvfrom(fd, buf, sizeof(buf) - 1, 0, (void *)&peer, &plen);

		if (n >= 0) {
			char who[INET6_ADDRSTRLEN];
			int m;

			buf[n] = '\0';
			peer_str(&peer, who, sizeof(who));
			m = answer(out, sizeof(out), sv->name, buf, who);

			sendto(fd, out, m, 0, (void *)&peer, plen);
		}
		return;
	}
	if (is_tcp) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		int cfd = accept4(fd, (void *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd < 0)
			return;
		for (k = 0; k < MAX_CONNS && sv->conns[k]; k++)
			;
		if (k == MAX_CONNS || !(sv->conns[k] = calloc(1, sizeof(struct conn)))) {
			close(cfd);
			return;
		}
		sv->conns[k]->fd = cfd;
		peer_str(&peer, sv->conns[k]->peer, sizeof(sv->conns[k]->peer));
		return;
	}
	for (k = 0; k < MAX_CONNS; k++) {
		struct conn *cn = sv->conns[k];
		ssize_t n;

		if (!cn || cn->fd != fd)
			continue;
		n = read(fd, cn->buf + cn->len, sizeof(cn->buf) - 1 - cn->len);
		if (n > 0) {
			cn->len += n;
			cn->buf[cn->len] = '\0';
		}
		if (n <= 0 || serve_input(cn, sv->name)) {
			close(fd);
			free(cn);
			sv->conns[k] = NULL;
		}
		return;
	}
}

static int cmd_serve(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "name", required_argument, NULL, 'n' }, { "listen", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },	   {},
	};
	static struct server sv;
	struct sockaddr_storage addrs[8];
	socklen_t lens[8];
	int i, c, nfds;
	struct pollfd pfd[MAX_CONNS + 16];

	while ((c = getopt_long(argc, argv, "n:l:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			sv.name = optarg;
			break;
		case 'l':
			if (sv.nl == 8 || parse_endpoint(optarg, &addrs[sv.nl], &lens[sv.nl])) {
				fprintf(stderr, "labnet serve: bad --listen '%s' (ADDR:PORT)\n", optarg);
				return 2;
			}
			sv.nl++;
			break;
		default:
			fprintf(stderr, "usage: labnet serve --name NAME --listen ADDR:PORT...\n");
			return c == 'h' ? 0 : 2;
		}
	}
	if (!sv.name || !sv.nl) {
		fprintf(stderr, "usage: labnet serve --name NAME --listen ADDR:PORT...\n");
		return 2;
	}
	for (i = 0; i < sv.nl; i++) {
		sv.tcp[i] = listen_on(&addrs[i], lens[i], SOCK_STREAM);
		sv.udp[i] = listen_on(&addrs[i], lens[i], SOCK_DGRAM);
		if (sv.tcp[i] < 0 || sv.udp[i] < 0) {
			fprintf(stderr, "labnet serve: listen: %s\n",
				strerror(-(sv.tcp[i] < 0 ? sv.tcp[i] : sv.udp[i])));
			return 1;
		}
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	printf("labnet serve: %s ready\n", sv.name);
	fflush(stdout);
	while (!stop) {
		nfds = 0;
		for (i = 0; i < sv.nl; i++) {
			pfd[nfds++] = (struct pollfd){ .fd = sv.tcp[i], .events = POLLIN };
			pfd[nfds++] = (struct pollfd){ .fd = sv.udp[i], .events = POLLIN };
		}
		for (i = 0; i < MAX_CONNS; i++)
			if (sv.conns[i])
				pfd[nfds++] = (struct pollfd){ .fd = sv.conns[i]->fd, .events = POLLIN };
		if (poll(pfd, nfds, 500) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (i = 0; i < nfds; i++)
			if (pfd[i].revents)
				serve_ready(&sv, pfd[i].fd);
	}
	for (i = 0; i < MAX_CONNS; i++)
		if (sv.conns[i]) {
			close(sv.conns[i]->fd);
			free(sv.conns[i]);
		}
	return 0;
}

/* ---- probe ---- */

struct tally {
	char names[MAX_NAMES][64];
	unsigned long counts[MAX_NAMES];
	int n;
	unsigned long refused, timeout, reset, other, ok;
};

static void tally_add(struct tally *t, const char *name)
{
	int i;

	for (i = 0; i < t->n; i++)
		if (!strcmp(t->names[i], name))
			break;
	if (i == t->n) {
		if (t->n == MAX_NAMES)
			return;
		copy_str(t->names[t->n++], sizeof(t->names[0]), name);
	}
	t->counts[i]++;
	t->ok++;
}

/* Counts a failure by kind; returns the kind's name for --log lines. */
static const char *tally_err(struct tally *t, int err)
{
	if (err == ECONNREFUSED) {
		t->refused++;
		return "refused";
	}
	if (err == ETIMEDOUT || err == EAGAIN || err == EINPROGRESS) {
		t->timeout++;
		return "timeout";
	}
	if (err == ECONNRESET || err == EPIPE) {
		t->reset++;
		return "reset";
	}
	t->other++;
	return "other";
}

static int wait_fd(int fd, short ev, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = ev };
	int r = poll(&p, 1, timeout_ms);

	if (r == 0)
		return -ETIMEDOUT;
	if (r < 0)
		return -errno;
	return 0;
}

/* Reads one answer line (or an HTTP body's line) into name; returns 0 or -errno. */
static int read_name(int fd, char *name, size_t len, int timeout_ms)
{
	char buf[BUF_LEN];
	size_t got = 0;
	char *nl;
	ssize_t n;
	int err;

	for (;;) {
		err = wait_fd(fd, POLLIN, timeout_ms);
		if (err)
			return err;
		n = read(fd, buf + got, sizeof(buf) - 1 - got);
		if (n < 0)
			return -errno;
		if (n == 0)
			return got ? -EPROTO : -ECONNRESET;
		got += n;
		buf[got] = '\0';
		if ((nl = strchr(buf, '\n'))) {
			*nl = '\0';
			copy_str(name, len, buf);
			return 0;
		}
		if (got >= sizeof(buf) - 1)
			return -EPROTO;
	}
}

static unsigned int local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (fd < 0 || getsockname(fd, (void *)&ss, &len))
		return 0;
	return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
						 ((struct sockaddr_in *)&ss)->sin_port);
}

/* --sport and --rst: a chosen source port, reusable at once because closes send a RST. */
static unsigned int opt_sport;
static bool opt_rst;
/* --peer: ask "peer" instead of "hello"; the tally is then of "NAME CLIENT-ADDRESS". */
static const char *opt_request = "hello\n";

static int bind_sport(int fd, int family)
{
	struct sockaddr_storage ss = { .ss_family = family };
	int one = 1;

	if (!opt_sport)
		return 0;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET6)
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(opt_sport);
	else
		((struct sockaddr_in *)&ss)->sin_port = htons(opt_sport);
	return bind(fd, (struct sockaddr *)&ss,
		    family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in)) ?
		       -errno :
		       0;
}

static void close_conn(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (opt_rst)
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/* Connects with a timeout; *sport (if given) gets the source port, also on failure. */
static int tcp_connect(const struct sockaddr_storage *ss, socklen_t len, int timeout_ms,
		       unsigned int *sport)
{
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), err;
	socklen_t el = sizeof(err);

	if (fd < 0)
		return -errno;
	err = bind_sport(fd, ss->ss_family);
	if (err || (connect(fd, (const struct sockaddr *)ss, len) && errno != EINPROGRESS)) {
		err = err ?: -errno;
		close_conn(fd);
		return err;
	}
	err = wait_fd(fd, POLLOUT, timeout_ms);
	if (!err && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err)
		err = -err;
	if (sport)
		*sport = local_port(fd);
	if (err) {
		close_conn(fd);
		return err;
	}
	return fd;
}

static void tally_print(const struct tally *t, bool json, double secs, long alive)
{
	int i;

	if (json) {
		printf("{\"ok\":%lu,\"refused\":%lu,\"timeout\":%lu,\"reset\":%lu,\"other\":%lu,"
		       "\"long_alive\":%ld,\"seconds\":%.3f,\"backends\":{",
		       t->ok, t->refused, t->timeout, t->reset, t->other, alive, secs);
		for (i = 0; i < t->n; i++)
			printf("%s\"%s\":%lu", i ? "," : "", t->names[i], t->counts[i]);
		printf("}}\n");
		return;
	}
	for (i = 0; i < t->n; i++)
		printf("%-24s %lu\n", t->names[i], t->counts[i]);
	printf("ok %lu, refused %lu, timeout %lu, reset %lu, other %lu", t->ok, t->refused,
	       t->timeout, t->reset, t->other);
	if (alive >= 0)
		printf(", long-lived alive %ld", alive);
	printf(" (%.2f s)\n", secs);
}

/* One --log line: wall-clock ms, what, which connection, its source port, the outcome. */
static void log_line(FILE *log, double t_ms, const char *what, unsigned long idx,
		     unsigned int sport, const char *result, const char *detail)
{
	if (!log)
		return;
	fprintf(log, "%.3f %s %lu %u %s %s\n", t_ms, what, idx, sport, result,
		detail && *detail ? detail : "-");
}

/* One short request (a TCP connection or a datagram from a new socket); logs it. */
static void probe_one(struct tally *t, const struct sockaddr_storage *ss, socklen_t len,
		      bool udp, int timeout_ms, FILE *log, unsigned long idx)
{
	double t0 = wall_ms();
	size_t req_len = strlen(opt_request);
	unsigned int sport = 0;
	const char *kind;
	char name[128];
	int fd, err;

	if (udp) {
		fd = socket(ss->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || bind_sport(fd, ss->ss_family) || connect(fd, (void *)ss, len) ||
		    send(fd, opt_request, req_len, 0) != (ssize_t)req_len)
			err = -errno;
		else
			err = read_name(fd, name, sizeof(name), timeout_ms);
		sport = local_port(fd);
	} else {
		fd = tcp_connect(ss, len, timeout_ms, &sport);
		err = fd < 0 ? fd : 0;
		if (!err)
			err = write(fd, opt_request, req_len) == (ssize_t)req_len ? 0 : -errno;
		if (!err)
			err = read_name(fd, name, sizeof(name), timeout_ms);
	}
	if (err) {
		kind = tally_err(t, -err);
		log_line(log, t0, udp ? "dgram" : "conn", idx, sport, kind, strerror(-err));
	} else {
		tally_add(t, name);
		log_line(log, t0, udp ? "dgram" : "conn", idx, sport, "ok", name);
	}
	if (fd >= 0)
		close_conn(fd);
}

/*
 * Long-lived: each connection sends a line per interval and must get an answer
 * from the same backend. A connection that fails is logged with the backend it
 * was on and not reopened. Returns how many are still alive at the end.
 */
static long probe_long(struct tally *t, const struct sockaddr_storage *ss, socklen_t len,
		       unsigned long nlong, double duration, int interval_ms, int timeout_ms,
		       FILE *log)
{
	static int fds[MAX_CONNS];
	static char last[MAX_CONNS][64];
	static unsigned int sport[MAX_CONNS];
	double t0 = now_s();
	unsigned long i;
	char name[128];
	long alive = 0;
	int err;

	signals_hold(true);
	for (i = 0; i < nlong; i++) {
		fds[i] = tcp_connect(ss, len, timeout_ms, &sport[i]);
		last[i][0] = '\0';
		if (fds[i] < 0)
			log_line(log, wall_ms(), "long", i, sport[i], tally_err(t, -fds[i]),
				 strerror(-fds[i]));
	}
	signals_hold(false);
	while (!stop && now_s() - t0 < duration) {
		signals_hold(true);
		for (i = 0; i < nlong; i++) {
			if (fds[i] < 0)
				continue;
			err = write(fds[i], "ping\n", 5) == 5 ? 0 : -errno;
			if (!err)
				err = read_name(fds[i], name, sizeof(name), timeout_ms);
			if (err) {
				log_line(log, wall_ms(), "long", i, sport[i], tally_err(t, -err),
					 last[i]);
				close(fds[i]);
				fds[i] = -1;
				continue;
			}
			if (!last[i][0]) {
				log_line(log, wall_ms(), "long", i, sport[i], "up", name);
			} else if (strcmp(last[i], name)) {
				t->other++; /* a flow that changed backend mid-connection */
				log_line(log, wall_ms(), "long", i, sport[i], "moved", name);
			}
			copy_str(last[i], sizeof(last[i]), name);
			tally_add(t, name);
		}
		signals_hold(false);
		usleep(interval_ms * 1000);
	}
	for (i = 0; i < nlong; i++) {
		if (fds[i] < 0)
			continue;
		log_line(log, wall_ms(), "long", i, sport[i], "alive", last[i]);
		alive++;
		close(fds[i]);
	}
	return alive;
}

static const char probe_usage[] =
	"usage: labnet probe [--udp] [-n COUNT] [--timeout MS] [--interval MS]\n"
	"                    [--duration S] [--log FILE] [--sport P [--rst]] [--peer] [-j]\n"
	"                    ADDR:PORT\n"
	"       labnet probe --long N --duration S [--interval MS] [--log FILE] ADDR:PORT\n"
	"Short mode: COUNT requests, one every --interval ms (default: back to back),\n"
	"for at most --duration s. Long mode: N connections held for --duration s\n"
	"(default 1), each asked every --interval ms (default 100). SIGINT/SIGTERM\n"
	"end either early, with the summary. --log: one line per request or per\n"
	"long-lived connection's fate: WALL_MS conn|dgram|long INDEX SPORT\n"
	"ok|up|moved|alive|refused|timeout|reset|other BACKEND-OR-ERROR.\n"
	"--sport: every request from source port P; --rst: close with a RST (no\n"
	"TIME_WAIT), so the next request can reuse the port and its tuple at once.\n"
	"--peer: each answer is \"NAME ADDRESS\", the client's address as the server\n"
	"saw it (after any NAT), tallied as one name.\n";

static int cmd_probe(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "udp", no_argument, NULL, 'u' },	  { "count", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' }, { "long", required_argument, NULL, 'L' },
		{ "duration", required_argument, NULL, 'd' }, { "interval", required_argument, NULL, 'i' },
		{ "json", no_argument, NULL, 'j' },	  { "quiet", no_argument, NULL, 'q' },
		{ "log", required_argument, NULL, 'o' },	  { "help", no_argument, NULL, 'h' },
		{ "sport", required_argument, NULL, 's' }, { "rst", no_argument, NULL, 'R' },
		{ "peer", no_argument, NULL, 'P' },	  {},
	};
	unsigned long count = 1, nlong = 0, i;
	int timeout_ms = 2000, interval_ms = -1, c;
	double duration = -1, t0, next;
	bool udp = false, json = false, quiet = false;
	const char *log_path = NULL;
	struct sockaddr_storage ss;
	struct tally t = {};
	long alive = -1;
	FILE *log = NULL;
	socklen_t len;

	while ((c = getopt_long(argc, argv, "un:t:L:d:i:jqo:s:Rh", lopts, NULL)) != -1) {
		switch (c) {
		case 'u':
			udp = true;
			break;
		case 'n':
			count = strtoul(optarg, NULL, 10);
			break;
		case 't':
			timeout_ms = atoi(optarg);
			break;
		case 'L':
			nlong = strtoul(optarg, NULL, 10);
			break;
		case 'd':
			duration = atof(optarg);
			break;
		case 'i':
			interval_ms = atoi(optarg);
			break;
		case 'j':
			json = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'o':
			log_path = optarg;
			break;
		case 's':
			opt_sport = strtoul(optarg, NULL, 10);
			break;
		case 'R':
			opt_rst = true;
			break;
		case 'P':
			opt_request = "peer\n";
			break;
		default:
			fprintf(stderr, "%s", probe_usage);
			return c == 'h' ? 0 : 2;
		}
	}
	if (optind != argc - 1 || parse_endpoint(argv[optind], &ss, &len) || timeout_ms <= 0 ||
	    nlong > MAX_CONNS || (nlong && udp) || opt_sport > 65535 || (nlong && opt_sport)) {
		fprintf(stderr, "labnet probe: need one ADDR:PORT (and sane options)\n");
		return 2;
	}
	if (log_path && !(log = fopen(log_path, "w"))) {
		fprintf(stderr, "labnet probe: %s: %s\n", log_path, strerror(errno));
		return 2;
	}
	if (log)
		setvbuf(log, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	t0 = now_s();
	if (nlong) {
		alive = probe_long(&t, &ss, len, nlong, duration < 0 ? 1 : duration,
				   interval_ms < 0 ? 100 : interval_ms, timeout_ms, log);
	} else {
		for (i = 0, next = t0; i < count && !stop; i++) {
			if (duration >= 0 && now_s() - t0 >= duration)
				break;
			if (interval_ms > 0) {
				double wait = next - now_s();

				if (wait > 0)
					usleep(wait * 1e6);
				next += interval_ms / 1e3;
			}
			signals_hold(true);
			probe_one(&t, &ss, len, udp, timeout_ms, log, i);
			signals_hold(false);
		}
	}
	if (log)
		fclose(log);
	if (!quiet)
		tally_print(&t, json, now_s() - t0, alive);
	return t.refused || t.timeout || t.reset || t.other ? 1 : 0;
}

/* Attaches a program that returns XDP_PASS to IFACE (native mode): see the top. */
static int cmd_xdp_pass(int argc, char **argv)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int ifindex, fd, err;

	if (argc != 2) {
		fprintf(stderr, "usage: labnet xdp-pass IFACE\n");
		return 2;
	}
	ifindex = if_nametoindex(argv[1]);
	if (!ifindex) {
		fprintf(stderr, "labnet xdp-pass: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "labnet_pass", "GPL", insns, 2, NULL);
	if (fd < 0) {
		fprintf(stderr, "labnet xdp-pass: load: %s\n", strerror(-fd));
		return 1;
	}
	err = bpf_xdp_attach(ifindex, fd, XDP_FLAGS_DRV_MODE, NULL);
	close(fd);
	if (err) {
		fprintf(stderr, "labnet xdp-pass: attach to %s: %s\n", argv[1], strerror(-err));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		printf("usage: labnet serve --name NAME --listen ADDR:PORT...\n"
		       "       labnet probe [--udp] [-n COUNT] [--timeout MS] [-j] ADDR:PORT\n"
		       "       labnet probe --long N --duration S [--interval MS] ADDR:PORT\n"
		       "       labnet xdp-pass IFACE\n"
		       "`labnet probe --help` for the rest.\n"
		       "The two ends of xlb's test lab: a backend that names itself, and a client\n"
		       "that tallies who answered and how connections failed.\n");
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "serve"))
		return cmd_serve(argc - 1, argv + 1);
	if (!strcmp(argv[1], "probe"))
		return cmd_probe(argc - 1, argv + 1);
	if (!strcmp(argv[1], "xdp-pass"))
		return cmd_xdp_pass(argc - 1, argv + 1);
	fprintf(stderr, "labnet: unknown command '%s' (serve, probe, xdp-pass)\n", argv[1]);
	return 2;
}
