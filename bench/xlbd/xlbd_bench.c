// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xlbd's event-to-map benchmark: flips the health of an app's tasks in
 * marathon-sim, one at a time, and times each flip from just before the
 * control request (the simulator publishes the event before it answers) to
 * the moment the backend's state in the pinned xlb_backends map says so,
 * polling the map every 20 us. That is an upper bound of xlbd's own
 * event-to-map time by one loopback HTTP round trip. Prints p50/p90/p99/max
 * and a JSON line for bench/run.sh's results file. bench/xlbd/run.sh starts
 * the simulator and xlbd around it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <curl/curl.h>
#include <jansson.h>
#include <xlb/abi.h>

#define MAX_TASKS 64

struct task {
	union xlb_addr addr;
	__be16 port;
	__u32 id; /* backend id in the maps */
	bool alive;
};

struct buf {
	char *p;
	size_t len;
};

static size_t collect(char *ptr, size_t size, size_t nmemb, void *data)
{
	struct buf *b = data;
	char *n = realloc(b->p, b->len + size * nmemb + 1);

	if (!n)
		return 0;
	b->p = n;
	memcpy(b->p + b->len, ptr, size * nmemb);
	b->len += size * nmemb;
	b->p[b->len] = '\0';
	return size * nmemb;
}

static int http(CURL *c, const char *url, bool post, struct buf *out)
{
	long code = 0;

	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	if (post)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
	if (curl_easy_perform(c) != CURLE_OK)
		return -EIO;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	return code == 200 ? 0 : -EIO;
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: xlbd_bench --sim URL --pin PATH [--app ID] [--count N] [--gap-ms MS]\n"
		   "Times health flips in marathon-sim until xlbd writes them to the maps.\n");
}

/* The app's tasks as the simulator lists them (the first MAX_TASKS); returns how many. */
static int load_tasks(CURL *curl, const char *sim, const char *app, struct task *tasks)
{
	struct buf b = {};
	char url[512];
	json_t *root, *arr, *t;
	int ntasks = 0;
	size_t k;

	snprintf(url, sizeof(url), "%s/v2/apps%s", sim, app);
	if (http(curl, url, false, &b)) {
		fprintf(stderr, "xlbd_bench: GET %s failed\n", url);
		free(b.p);
		return -EIO;
	}
	root = json_loads(b.p, 0, NULL);
	free(b.p);
	arr = json_object_get(json_object_get(root, "app"), "tasks");
	json_array_foreach(arr, k, t)
	{
		if (ntasks == MAX_TASKS)
			break;
		memset(&tasks[ntasks], 0, sizeof(tasks[ntasks]));
		inet_pton(AF_INET, json_string_value(json_object_get(t, "host")),
			  &tasks[ntasks].addr.v4);
		tasks[ntasks].port =
		    htons(json_integer_value(json_array_get(json_object_get(t, "ports"), 0)));
		tasks[ntasks].alive = true;
		ntasks++;
	}
	json_decref(root);
	return ntasks;
}

/* Each task's backend id: the active entry of xlb_backends with its address and port. */
static int find_backends(int fd, __u32 max_entries, struct task *tasks, int ntasks)
{
	__u32 i;
	int c;

	for (c = 0; c < ntasks; c++) {
		for (i = 1; i < max_entries; i++) {
			struct xlb_backend be;

			if (!bpf_map_lookup_elem(fd, &i, &be) && be.state == XLB_BE_ACTIVE &&
			    be.addr.v4 == tasks[c].addr.v4 && be.port == tasks[c].port)
				break;
		}
		if (i == max_entries) {
			fprintf(stderr, "xlbd_bench: task %d has no active backend in the maps\n",
				c);
			return -ENOENT;
		}
		tasks[c].id = i;
	}
	return 0;
}

/*
 * Flips task index's health and waits for its backend state to follow. Returns
 * the milliseconds it took, -1 after 2 s without it, or -2 when the request failed.
 */
static double time_flip(CURL *curl, const char *sim, const char *app, int fd, struct task *tk,
			int index)
{
	__u8 want = tk->alive ? XLB_BE_DRAINING : XLB_BE_ACTIVE;
	struct xlb_backend be;
	struct buf b = {};
	char url[512];
	double t0, t1;
	int err;

	snprintf(url, sizeof(url), "%s/sim/health?app=%s&index=%d&alive=%s", sim, app, index,
		 tk->alive ? "false" : "true");
	t0 = now_us();
	err = http(curl, url, true, &b);
	free(b.p);
	if (err) {
		fprintf(stderr, "xlbd_bench: POST %s failed\n", url);
		return -2;
	}
	for (;;) {
		t1 = now_us();
		if (!bpf_map_lookup_elem(fd, &tk->id, &be) && be.state == want)
			break;
		if (t1 - t0 > 2e6)
			break;
		usleep(20);
	}
	tk->alive = !tk->alive;
	return t1 - t0 > 2e6 ? -1 : (t1 - t0) / 1000.0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"sim", required_argument, NULL, 's'},
	    {"pin", required_argument, NULL, 'p'},
	    {"app", required_argument, NULL, 'a'},
	    {"count", required_argument, NULL, 'n'},
	    {"gap-ms", required_argument, NULL, 'g'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	const char *sim = NULL, *pin = NULL, *app = "/minitwit";
	int count = 1000, gap_ms = 20, c, fd, ntasks, timeouts = 0, done = 0;
	struct task tasks[MAX_TASKS];
	char path[512];
	struct bpf_map_info info = {};
	__u32 info_len = sizeof(info);
	double *lat, ms;
	CURL *curl;

	while ((c = getopt_long(argc, argv, "s:p:a:n:g:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			sim = optarg;
			break;
		case 'p':
			pin = optarg;
			break;
		case 'a':
			app = optarg;
			break;
		case 'n':
			count = atoi(optarg);
			break;
		case 'g':
			gap_ms = atoi(optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!sim || !pin || count <= 0) {
		usage(stderr);
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	curl = curl_easy_init();
	lat = calloc(count, sizeof(*lat));
	if (!curl || !lat)
		return 1;
	ntasks = load_tasks(curl, sim, app, tasks);
	if (ntasks < 0)
		return 1;
	if (!ntasks) {
		fprintf(stderr, "xlbd_bench: app %s has no tasks\n", app);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/%s", pin, XLB_MAP_BACKENDS);
	fd = bpf_obj_get(path);
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &info_len)) {
		fprintf(stderr, "xlbd_bench: %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (find_backends(fd, info.max_entries, tasks, ntasks))
		return 1;
	for (c = 0; c < count; c++) {
		ms = time_flip(curl, sim, app, fd, &tasks[c % ntasks], c % ntasks);
		if (ms == -2)
			return 1;
		if (ms < 0) {
			timeouts++;
			continue;
		}
		lat[done++] = ms;
		usleep(gap_ms * 1000);
	}
	qsort(lat, done, sizeof(*lat), cmp_double);
	if (!done) {
		fprintf(stderr, "xlbd_bench: no flip reached the maps\n");
		return 1;
	}
	printf("health flips: %d, reached the maps: %d, timeouts (>2 s): %d\n", count, done,
	       timeouts);
	printf("event-to-map (ms): p50 %.2f  p90 %.2f  p99 %.2f  max %.2f\n", lat[done / 2],
	       lat[done * 9 / 10], lat[done * 99 / 100], lat[done - 1]);
	printf("{\"flips\":%d,\"timeouts\":%d,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,"
	       "\"max_ms\":%.3f}\n",
	       count, timeouts, lat[done / 2], lat[done * 9 / 10], lat[done * 99 / 100],
	       lat[done - 1]);
	free(lat);
	curl_easy_cleanup(curl);
	curl_global_cleanup();
	return timeouts ? 1 : 0;
}
