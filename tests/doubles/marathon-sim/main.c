// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * marathon-sim's entry point: parses the command line, loads the scenario (or
 * the state file a previous leader left), opens the listener and runs the main
 * thread, which does only two things: wait for SIGTERM/SIGINT (exit) or SIGUSR1
 * (come back up), and open or close the listener when /sim/down?mode=close or
 * /sim/up asks for it. Closing a listener stops its MHD daemon, which joins the
 * connection threads, so it must happen here and never in a request handler.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#include "sim.h"

#ifndef XLB_VERSION
#define XLB_VERSION "unknown"
#endif

struct sim sim;

struct listener {
	struct sockaddr_in sa;
	struct MHD_Daemon *d;
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: " SIM_NAME " --listen ADDR:PORT [OPTIONS]\n"
		   "A stand-in for Marathon's REST API and event stream (a test double;\n"
		   "see tests/doubles/marathon-sim/README.md).\n"
		   "\n"
		   "  -l, --listen ADDR:PORT   IPv4 address and port to serve on; port 0 picks a\n"
		   "                           free one and prints \"listening on ADDR:PORT\"\n"
		   "  -s, --scenario FILE      apps, tasks and pods to start with (JSON)\n"
		   "  -S, --standby-of URL     be a standby of the leader at URL (302 to it)\n"
		   "  -b, --heartbeat-ms N     event stream heartbeat period (default 10000)\n"
		   "  -f, --state-file F       persist the cluster state to F, like ZooKeeper;\n"
		   "                           a leader starting with F present resumes from it\n"
		   "  -c, --control ADDR:PORT  extra listener serving only /sim/ (stays up in\n"
		   "                           /sim/down?mode=close)\n"
		   "      --tls-cert FILE      serve HTTPS with this PEM certificate (chain)...\n"
		   "      --tls-key FILE       ...and this PEM key (the control listener stays HTTP)\n"
		   "      --auth-file FILE     require credentials like Marathon behind DC/OS or\n"
		   "                           with basic auth: first line \"token=...\" or\n"
		   "                           \"user:password\" (xlbd's auth_file); 401 otherwise\n"
		   "  -h, --help               this text\n"
		   "      --version            print the version and exit\n");
}

static int parse_hostport(const char *s, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	char *end;
	long port;

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -EINVAL;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - s), s);
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 0 || port > 65535)
		return -EINVAL;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		return -EINVAL;
	return 0;
}

/* Fills in the port the kernel picked, so that a reopened listener gets it again. */
static int open_listener(struct sockaddr_in *sa)
{
	socklen_t len = sizeof(*sa);
	int fd, one = 1, err;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)sa, sizeof(*sa)) || listen(fd, 128) ||
	    getsockname(fd, (struct sockaddr *)sa, &len)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static int listener_start(struct listener *l, bool control_only)
{
	char addr[INET_ADDRSTRLEN];
	int fd = open_listener(&l->sa);

	inet_ntop(AF_INET, &l->sa.sin_addr, addr, sizeof(addr));
	if (fd < 0) {
		sim_log("listen on %s:%u: %s", addr, ntohs(l->sa.sin_port), strerror(-fd));
		return fd;
	}
	l->d = sim_http_start(fd, control_only);
	if (!l->d) {
		close(fd);
		sim_log("listen on %s:%u: cannot start HTTP server", addr, ntohs(l->sa.sin_port));
		return -EIO;
	}
	sim_log("listener %s:%u open%s", addr, ntohs(l->sa.sin_port),
		control_only ? " (control only)" : "");
	return 0;
}

static void listener_stop(struct listener *l)
{
	if (!l->d)
		return;
	/* MHD closes the listening socket too: new connections are refused. */
	MHD_stop_daemon(l->d);
	l->d = NULL;
	sim_log("listener %u closed", ntohs(l->sa.sin_port));
}

/* Opens or closes the main listener to match sim.want_listen; 0 when they match. */
static int reconcile(struct listener *l)
{
	bool want;

	pthread_mutex_lock(&sim.lock);
	want = sim.want_listen && !sim.quit;
	pthread_mutex_unlock(&sim.lock);
	if (want && !l->d)
		return listener_start(l, false);
	if (!want && l->d) {
		/* Let the answer to /sim/down leave before its connection is torn down. */
		usleep(100 * 1000);
		pthread_mutex_lock(&sim.lock);
		sim_streams_cut();
		pthread_mutex_unlock(&sim.lock);
		listener_stop(l);
	}
	return 0;
}

static int load_json_file(const char *path, bool fresh_leader)
{
	char err[512] = "";
	json_error_t jerr;
	json_t *root;
	int rc;

	root = json_load_file(path, 0, &jerr);
	if (!root) {
		fprintf(stderr, SIM_NAME ": %s:%d: %s\n", path, jerr.line, jerr.text);
		return -EINVAL;
	}
	pthread_mutex_lock(&sim.lock);
	rc = sim_scenario_load(root, fresh_leader, err, sizeof(err));
	pthread_mutex_unlock(&sim.lock);
	json_decref(root);
	if (rc)
		fprintf(stderr, SIM_NAME ": %s: %s\n", path, err);
	return rc;
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, n;
	char chunk[4096];

	if (!f)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		char *nb = realloc(buf, len + n + 1);

		if (!nb) {
			free(buf);
			fclose(f);
			return NULL;
		}
		buf = nb;
		memcpy(buf + len, chunk, n);
		len += n;
		buf[len] = '\0';
	}
	fclose(f);
	return buf;
}

static void base64(const unsigned char *in, size_t len, char *out)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	for (i = 0; i + 2 < len; i += 3) {
		*out++ = tab[in[i] >> 2];
		*out++ = tab[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
		*out++ = tab[((in[i + 1] & 15) << 2) | (in[i + 2] >> 6)];
		*out++ = tab[in[i + 2] & 63];
	}
	if (i < len) {
		*out++ = tab[in[i] >> 2];
		*out++ = tab[((in[i] & 3) << 4) | (i + 1 < len ? in[i + 1] >> 4 : 0)];
		*out++ = i + 1 < len ? tab[(in[i + 1] & 15) << 2] : '=';
		*out++ = '=';
	}
	*out = '\0';
}

/* The Authorization value a client must send, from a file in xlbd's auth_file format. */
static int auth_load(const char *path)
{
	char *line = read_file(path);
	size_t n;

	if (!line || !*line) {
		free(line);
		fprintf(stderr, SIM_NAME ": --auth-file %s: cannot read it, or it is empty\n", path);
		return -EINVAL;
	}
	line[strcspn(line, "\r\n")] = '\0';
	if (!strncmp(line, "token=", 6)) {
		sim.auth_want = line;
		return 0;
	}
	if (!strchr(line, ':')) {
		free(line);
		fprintf(stderr, SIM_NAME ": --auth-file %s: want token=... or user:password\n", path);
		return -EINVAL;
	}
	n = strlen(line);
	sim.auth_want = malloc(6 + (n + 2) / 3 * 4 + 1);
	if (!sim.auth_want) {
		free(line);
		return -ENOMEM;
	}
	memcpy(sim.auth_want, "Basic ", 6);
	base64((const unsigned char *)line, n, sim.auth_want + 6);
	free(line);
	return 0;
}

static int sim_init(void)
{
	pthread_condattr_t ca;
	char uuid[37];

	sim.started_ms = sim_now_ms();
	sim.heartbeat_ms = 10000;
	sim.staging_ms = 1000;
	sim.health_delay_ms = 2000;
	sim.kill_grace_ms = -1;
	sim.want_listen = true;
	sim.wake_fd = -1;
	sim.rng = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	sim.agents = json_array();
	sim.subnets = json_object();
	sim.next_container_ip = 0;
	sim.next_bridge_ip = 0;
	sim_uuid(uuid);
	snprintf(sim.cluster_id, sizeof(sim.cluster_id), "%s", uuid);
	snprintf(sim.framework_id, sizeof(sim.framework_id), "%s-0000", sim.cluster_id);

	pthread_mutex_init(&sim.lock, NULL);
	/* Deadlines are monotonic; a wall clock step must not stall a grace period. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&sim.stream_cond, &ca);
	pthread_cond_init(&sim.timer_cond, &ca);
	pthread_condattr_destroy(&ca);
	return sim.agents && sim.subnets ? 0 : -ENOMEM;
}

/* What the command line names beyond the sim's own settings. */
struct sim_args {
	const char *listen;
	const char *scenario;
	const char *control; /* NULL: no control listener */
};

/* Options into sim and a; returns -1 to go on, or the exit status (help, usage error). */
static int parse_args(int argc, char **argv, struct sim_args *a)
{
	static const struct option longopts[] = {
	    {"listen", required_argument, NULL, 'l'},
	    {"scenario", required_argument, NULL, 's'},
	    {"standby-of", required_argument, NULL, 'S'},
	    {"heartbeat-ms", required_argument, NULL, 'b'},
	    {"state-file", required_argument, NULL, 'f'},
	    {"control", required_argument, NULL, 'c'},
	    {"tls-cert", required_argument, NULL, 'T'},
	    {"tls-key", required_argument, NULL, 'K'},
	    {"auth-file", required_argument, NULL, 'A'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	int opt;
	long hb;
	char *end;

	while ((opt = getopt_long(argc, argv, "l:s:S:b:f:c:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'l':
			a->listen = optarg;
			break;
		case 's':
			a->scenario = optarg;
			break;
		case 'S':
			if (strncmp(optarg, "http://", 7) && strncmp(optarg, "https://", 8)) {
				fprintf(stderr, SIM_NAME ": --standby-of wants http://HOST:PORT\n");
				return SIM_EXIT_USAGE;
			}
			snprintf(sim.standby_of, sizeof(sim.standby_of), "%s", optarg);
			while (sim.standby_of[strlen(sim.standby_of) - 1] == '/')
				sim.standby_of[strlen(sim.standby_of) - 1] = '\0';
			break;
		case 'b':
			hb = strtol(optarg, &end, 10);
			if (*end || hb < 1 || hb > 3600000) {
				fprintf(stderr, SIM_NAME ": --heartbeat-ms: 1..3600000\n");
				return SIM_EXIT_USAGE;
			}
			sim.heartbeat_ms = (int)hb;
			break;
		case 'f':
			sim.state_file = optarg;
			break;
		case 'c':
			a->control = optarg;
			break;
		case 'T':
		case 'K':
			if (!(*(opt == 'T' ? &sim.tls_cert : &sim.tls_key) = read_file(optarg))) {
				fprintf(stderr, SIM_NAME ": cannot read %s\n", optarg);
				return SIM_EXIT_USAGE;
			}
			break;
		case 'A':
			if (auth_load(optarg))
				return SIM_EXIT_USAGE;
			break;
		case 'h':
			usage(stdout);
			return SIM_EXIT_OK;
		case 'V':
			printf(SIM_NAME " %s (Marathon %s API)\n", XLB_VERSION,
			       SIM_MARATHON_VERSION);
			return SIM_EXIT_OK;
		default:
			usage(stderr);
			return SIM_EXIT_USAGE;
		}
	}
	if (!sim.tls_cert != !sim.tls_key) {
		fprintf(stderr, SIM_NAME ": --tls-cert and --tls-key go together\n");
		return SIM_EXIT_USAGE;
	}
	if (optind < argc || !a->listen) {
		usage(stderr);
		return SIM_EXIT_USAGE;
	}
	return -1;
}

/*
 * The main thread's life once serving: it reopens the listener when /sim/up
 * asks (woken through sim.wake_fd) and takes the signals, SIGUSR1 meaning "up".
 * Returns when SIGINT or SIGTERM comes, or poll fails.
 */
static void serve_signals(int sfd, struct listener *main_l)
{
	struct pollfd pfd[2];
	int rc;

	pfd[0] = (struct pollfd){.fd = sfd, .events = POLLIN};
	pfd[1] = (struct pollfd){.fd = sim.wake_fd, .events = POLLIN};
	for (;;) {
		struct signalfd_siginfo si;
		uint64_t cnt;

		/* A failed reopen (port still taken) is retried every 200 ms. */
		rc = reconcile(main_l);
		if (poll(pfd, 2, rc ? 200 : -1) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents & POLLIN && read(sim.wake_fd, &cnt, sizeof(cnt)) < 0)
			cnt = 0;
		if (!(pfd[0].revents & POLLIN) || read(sfd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo == SIGUSR1) {
			pthread_mutex_lock(&sim.lock);
			sim_log("SIGUSR1: up");
			sim.down = SIM_UP;
			sim.want_listen = true;
			pthread_mutex_unlock(&sim.lock);
			continue;
		}
		sim_log("signal %d: exiting", (int)si.ssi_signo);
		break;
	}
}

int main(int argc, char **argv)
{
	struct sim_args a = {0};
	struct listener main_l = {0}, ctl_l = {0};
	pthread_t timer_tid;
	bool timer_started = false;
	sigset_t sigs;
	int rc, sfd = -1, ret = SIM_EXIT_FAIL;
	char addr[INET_ADDRSTRLEN];

	if (sim_init()) {
		fprintf(stderr, SIM_NAME ": out of memory\n");
		return SIM_EXIT_FAIL;
	}
	rc = parse_args(argc, argv, &a);
	if (rc >= 0)
		return rc;
	if (parse_hostport(a.listen, &main_l.sa) ||
	    (a.control && parse_hostport(a.control, &ctl_l.sa))) {
		fprintf(stderr, SIM_NAME ": want IPv4ADDR:PORT, e.g. 127.0.0.1:0\n");
		return SIM_EXIT_USAGE;
	}

	/* A leader resumes from what the previous leader persisted; health is lost. */
	if (sim.state_file && !sim.standby_of[0] && access(sim.state_file, R_OK) == 0) {
		sim_log("resuming from state file %s", sim.state_file);
		if (load_json_file(sim.state_file, true))
			return SIM_EXIT_FAIL;
	} else if (a.scenario && load_json_file(a.scenario, false)) {
		return SIM_EXIT_FAIL;
	}

	/* Signals are taken synchronously by this thread only. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	sim.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (sfd < 0 || sim.wake_fd < 0) {
		fprintf(stderr, SIM_NAME ": signalfd/eventfd: %s\n", strerror(errno));
		goto out;
	}

	if (listener_start(&main_l, false))
		goto out;
	inet_ntop(AF_INET, &main_l.sa.sin_addr, addr, sizeof(addr));
	snprintf(sim.listen_host, sizeof(sim.listen_host), "%s", addr);
	sim.port = ntohs(main_l.sa.sin_port);
	snprintf(sim.self_url, sizeof(sim.self_url), "%s://%s:%d", sim.tls_cert ? "https" : "http",
		 addr, sim.port);
	if (a.control && listener_start(&ctl_l, true))
		goto out;
	pthread_mutex_lock(&sim.lock);
	sim_state_save();
	pthread_mutex_unlock(&sim.lock);

	if (pthread_create(&timer_tid, NULL, sim_timer_thread, NULL)) {
		fprintf(stderr, SIM_NAME ": cannot start the timer thread\n");
		goto out;
	}
	timer_started = true;

	printf("listening on %s:%d\n", addr, sim.port);
	if (a.control) {
		inet_ntop(AF_INET, &ctl_l.sa.sin_addr, addr, sizeof(addr));
		printf("control on %s:%u\n", addr, ntohs(ctl_l.sa.sin_port));
	}
	fflush(stdout);
	sim_log("%s on %s%s%s", sim.standby_of[0] ? "standby" : "leader", sim.self_url,
		sim.standby_of[0] ? ", leader " : "", sim.standby_of);

	serve_signals(sfd, &main_l);
	ret = SIM_EXIT_OK;
out:
	pthread_mutex_lock(&sim.lock);
	sim.quit = true;
	sim_streams_cut();
	pthread_cond_broadcast(&sim.timer_cond);
	pthread_mutex_unlock(&sim.lock);
	listener_stop(&main_l);
	listener_stop(&ctl_l);
	if (timer_started)
		pthread_join(timer_tid, NULL);
	pthread_mutex_lock(&sim.lock);
	sim_model_clear();
	json_decref(sim.agents);
	json_decref(sim.subnets);
	free(sim.tls_cert);
	free(sim.tls_key);
	free(sim.auth_want);
	pthread_mutex_unlock(&sim.lock);
	if (sfd >= 0)
		close(sfd);
	if (sim.wake_fd >= 0)
		close(sim.wake_fd);
	return ret;
}
