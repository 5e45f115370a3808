// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * synflood: the SYN flood of the lab's flood scenario (tests/e2e/test_flood.sh).
 * It sends TCP SYNs to one ADDR:PORT from random addresses of a source prefix
 * and random ports, by a raw IPv4 socket, so that a load balancer sees as many
 * new flows as it is sent packets, and prints what it sent (count, seconds,
 * rate; -j as JSON). It is bounded on purpose: a count and a duration are both
 * required and capped, the rate may be capped too, and every address it will
 * write, source or destination, must lie in the test range 198.18.0.0/15, so it
 * can only ever flood a lab built of that range. It never reads an answer: the
 * lab routes the backends' SYN-ACKs to a namespace that drops them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_COUNT 10000000UL /* 10 M packets at most... */
#define MAX_DURATION 120.0   /* ...and two minutes */
#define BATCH 64	     /* packets per sendmmsg() */
#define PKT_LEN 44	     /* IPv4 20 + TCP 20 + the MSS option 4 */

/* The only range synflood will write in an address: RFC 2544's benchmark range. */
#define TEST_NET 0xc6120000U  /* 198.18.0.0 */
#define TEST_MASK 0xfffe0000U /* /15 */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct opts {
	struct sockaddr_in dst;
	uint32_t src_net, src_mask; /* host order */
	unsigned long count;
	double duration;
	unsigned long rate; /* packets per second; 0: as fast as the socket takes them */
	uint64_t seed;
	bool json;
};

struct result {
	unsigned long sent, dropped; /* dropped: the socket's queue was full (ENOBUFS) */
	double seconds;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool in_test_net(uint32_t a, uint32_t mask)
{
	return (a & TEST_MASK) == TEST_NET && (mask & TEST_MASK) == TEST_MASK;
}

/* "A.B.C.D/LEN" in the test range; the prefix is kept in host order. */
static int parse_prefix(const char *s, uint32_t *net, uint32_t *mask)
{
	char buf[32], *slash, *end;
	struct in_addr a;
	long len;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (!slash)
		return -EINVAL;
	*slash = '\0';
	len = strtol(slash + 1, &end, 10);
	if (*end || len < 15 || len > 32 || inet_pton(AF_INET, buf, &a) != 1)
		return -EINVAL;
	*mask = len == 32 ? 0xffffffffU : ~(0xffffffffU >> len);
	*net = ntohl(a.s_addr) & *mask;
	return in_test_net(*net, *mask) ? 0 : -ERANGE;
}

/* "A.B.C.D:PORT" in the test range. */
static int parse_dst(const char *s, struct sockaddr_in *in)
{
	char buf[32], *colon, *end;
	unsigned long port;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	colon = strrchr(buf, ':');
	if (!colon)
		return -EINVAL;
	*colon = '\0';
	port = strtoul(colon + 1, &end, 10);
	memset(in, 0, sizeof(*in));
	in->sin_family = AF_INET;
	if (*end || !port || port > 65535 || inet_pton(AF_INET, buf, &in->sin_addr) != 1)
		return -EINVAL;
	in->sin_port = htons(port);
	return in_test_net(ntohl(in->sin_addr.s_addr), 0xffffffffU) ? 0 : -ERANGE;
}

/* xorshift64*: fast, and the same flood again for the same --seed. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

static uint32_t csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons(~sum & 0xffff);
}

/*
 * One SYN from a random source of the prefix. The kernel fills the IPv4
 * checksum and total length of an IPPROTO_RAW packet; the TCP checksum, over
 * the pseudo-header, is ours.
 */
static void build_syn(uint8_t *p, const struct opts *o, uint64_t *seed)
{
	uint64_t r = rnd(seed);
	uint32_t src = htonl(o->src_net | ((uint32_t)r & ~o->src_mask));
	uint16_t sport = htons(1024 + (r >> 32) % (65536 - 1024));
	uint32_t seq = htonl(r >> 16), sum;
	uint8_t pseudo[12];
	uint16_t csum;
	uint8_t *tcp = p + 20;

	memset(p, 0, PKT_LEN);
	p[0] = 0x45; /* IPv4, 20-byte header */
	p[6] = 0x40; /* DF */
	p[8] = 64;   /* TTL */
	p[9] = IPPROTO_TCP;
	memcpy(p + 12, &src, 4);
	memcpy(p + 16, &o->dst.sin_addr, 4);
	memcpy(tcp, &sport, 2);
	memcpy(tcp + 2, &o->dst.sin_port, 2);
	memcpy(tcp + 4, &seq, 4);
	tcp[12] = 6 << 4; /* data offset: 24 bytes */
	tcp[13] = 0x02;	  /* SYN */
	tcp[14] = 0xff;	  /* window 65535 */
	tcp[15] = 0xff;
	tcp[20] = 2; /* MSS 1460, as a real client's SYN */
	tcp[21] = 4;
	tcp[22] = 1460 >> 8;
	tcp[23] = 1460 & 0xff;
	memcpy(pseudo, p + 12, 8);
	pseudo[8] = 0;
	pseudo[9] = IPPROTO_TCP;
	pseudo[10] = 0;
	pseudo[11] = PKT_LEN - 20;
	sum = csum_add(0, pseudo, sizeof(pseudo));
	sum = csum_add(sum, tcp, PKT_LEN - 20);
	csum = csum_fold(sum);
	memcpy(tcp + 16, &csum, 2);
}

/* Waits until `done` packets are due at the --rate, or the run is over. */
static void pace(const struct opts *o, double t0, unsigned long done)
{
	double due, wait;

	if (!o->rate)
		return;
	due = t0 + (double)done / o->rate;
	wait = due - now_s();
	if (wait > 0.0005) {
		struct timespec ts = {.tv_sec = (time_t)wait,
				      .tv_nsec = (long)((wait - (time_t)wait) * 1e9)};

		nanosleep(&ts, NULL);
	}
}

/* Sends until the count, the duration or a signal; returns 0 or -errno. */
static int flood(int fd, const struct opts *o, struct result *res)
{
	static uint8_t pkts[BATCH][PKT_LEN];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	uint64_t seed = o->seed;
	double t0 = now_s();
	unsigned long left;
	int i, n, err = 0;

	for (i = 0; i < BATCH; i++) {
		iov[i].iov_base = pkts[i];
		iov[i].iov_len = PKT_LEN;
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_name = (void *)&o->dst;
		msgs[i].msg_hdr.msg_namelen = sizeof(o->dst);
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	while (!stop && res->sent + res->dropped < o->count && now_s() - t0 < o->duration) {
		left = o->count - res->sent - res->dropped;
		n = left < BATCH ? (int)left : BATCH;
		for (i = 0; i < n; i++)
			build_syn(pkts[i], o, &seed);
		i = sendmmsg(fd, msgs, n, 0);
		if (i < 0 && errno == ENOBUFS) {
			/* the device queue is full: count the first as lost, let it drain */
			res->dropped++;
			usleep(100);
		} else if (i < 0 && errno != EINTR) {
			err = -errno;
			fprintf(stderr, "synflood: send: %s\n", strerror(errno));
			break;
		} else if (i > 0) {
			res->sent += i;
		}
		pace(o, t0, res->sent + res->dropped);
	}
	res->seconds = now_s() - t0;
	return err;
}

static const char usage[] =
    "usage: synflood --to ADDR:PORT --from PREFIX --count N --duration S\n"
    "                [--rate PPS] [--seed N] [-j]\n"
    "Sends N TCP SYNs (at most %lu) to ADDR:PORT for at most S seconds (at most\n"
    "%.0f), each from a random address of PREFIX and a random port, by a raw\n"
    "socket; --rate caps the packets per second. Both ADDR and PREFIX must lie\n"
    "in 198.18.0.0/15. Prints the packets sent, those the socket refused (queue\n"
    "full), the seconds and the rate; -j as one JSON object. SIGINT/SIGTERM end\n"
    "it early, with the summary. Needs CAP_NET_RAW.\n";

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lopts[] = {
	    {"to", required_argument, NULL, 't'},
	    {"from", required_argument, NULL, 'f'},
	    {"count", required_argument, NULL, 'n'},
	    {"duration", required_argument, NULL, 'd'},
	    {"rate", required_argument, NULL, 'r'},
	    {"seed", required_argument, NULL, 's'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	bool have_dst = false, have_src = false;
	int c;

	memset(o, 0, sizeof(*o));
	o->duration = -1;
	o->seed = 0x9e3779b97f4a7c15ULL;
	while ((c = getopt_long(argc, argv, "t:f:n:d:r:s:jh", lopts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (parse_dst(optarg, &o->dst)) {
				fprintf(
				    stderr,
				    "synflood: --to %s: not an IPv4 ADDR:PORT in 198.18.0.0/15\n",
				    optarg);
				return -EINVAL;
			}
			have_dst = true;
			break;
		case 'f':
			if (parse_prefix(optarg, &o->src_net, &o->src_mask)) {
				fprintf(stderr,
					"synflood: --from %s: not a prefix inside 198.18.0.0/15\n",
					optarg);
				return -EINVAL;
			}
			have_src = true;
			break;
		case 'n':
			o->count = strtoul(optarg, NULL, 10);
			break;
		case 'd':
			o->duration = atof(optarg);
			break;
		case 'r':
			o->rate = strtoul(optarg, NULL, 10);
			break;
		case 's':
			o->seed =
			    strtoull(optarg, NULL, 0) | 1; /* xorshift needs a non-zero state */
			break;
		case 'j':
			o->json = true;
			break;
		default:
			fprintf(stderr, usage, MAX_COUNT, MAX_DURATION);
			return c == 'h' ? 1 : -EINVAL;
		}
	}
	if (optind != argc || !have_dst || !have_src || !o->count || o->count > MAX_COUNT ||
	    !(o->duration > 0) || o->duration > MAX_DURATION) {
		fprintf(stderr,
			"synflood: need --to, --from, --count (1..%lu) and --duration "
			"(0..%.0f s): see --help\n",
			MAX_COUNT, MAX_DURATION);
		return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct result res = {};
	char dst[INET_ADDRSTRLEN], src[INET_ADDRSTRLEN];
	struct in_addr net;
	struct opts o;
	int fd, err, len;

	err = parse_opts(argc, argv, &o);
	if (err)
		return err == 1 ? 0 : 2;
	fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (fd < 0) {
		fprintf(stderr, "synflood: raw socket: %s\n", strerror(errno));
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	err = flood(fd, &o, &res);
	close(fd);
	inet_ntop(AF_INET, &o.dst.sin_addr, dst, sizeof(dst));
	net.s_addr = htonl(o.src_net);
	inet_ntop(AF_INET, &net, src, sizeof(src));
	len = __builtin_popcount(o.src_mask);
	if (o.json)
		printf("{\"to\": \"%s:%u\", \"from\": \"%s/%d\", \"sent\": %lu, \"dropped\": %lu, "
		       "\"seconds\": %.3f, \"rate_pps\": %.0f}\n",
		       dst, ntohs(o.dst.sin_port), src, len, res.sent, res.dropped, res.seconds,
		       res.seconds > 0 ? res.sent / res.seconds : 0);
	else
		printf(
		    "%lu SYNs to %s:%u from %s/%d in %.3f s (%.0f/s), %lu refused by the socket\n",
		    res.sent, dst, ntohs(o.dst.sin_port), src, len, res.seconds,
		    res.seconds > 0 ? res.sent / res.seconds : 0, res.dropped);
	return err ? 1 : 0;
}
