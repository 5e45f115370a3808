// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * lbstat: xlb's counters for operators, read straight from the pinned maps so
 * it works while xlbd is stopped or restarting. This file is the command line
 * and the sampling loop. Every printed sample carries rates over the interval
 * before it, so lbstat takes a baseline sample first: a one-shot run answers
 * after one interval (1 s unless -i says otherwise), --no-rates answers at
 * once with totals only. The maps are opened afresh for every sample, so a
 * watch survives an xlbd restart and notices maps replaced under it.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "lbstat.h"

#define LBS_CT_BUDGET_MS_DEFAULT 250

struct run {
	struct lbs_opts o;
	const char *pin_path;
	__u64 interval_ns;
	unsigned long count; /* samples to print; 0: until stopped */
	bool watch, tty, rates;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: lbstat [OPTIONS] [vips | backends | global]\n"
		"Live counters of the xlb load balancer, read from its pinned maps.\n"
		"\n"
		"Views:\n"
		"  vips (default)            one row per VIP: backends, rates and totals\n"
		"  backends, -b, --backends  each VIP with its backends below it\n"
		"  global, -g, --global      every verdict, reason and event; conntrack use\n"
		"\n"
		"Options:\n"
		"  -i, --interval SECONDS    watch: a sample every SECONDS (default 1, decimals\n"
		"                            allowed); on a terminal the screen redraws in place\n"
		"  -c, --count COUNT         stop after COUNT samples (default 1; -i: no end)\n"
		"  -s, --sort COLUMN         vip (default), name, app, conns, pps, bps, pps_out,\n"
		"                            bps_out, drops; numbers sort busiest first\n"
		"  -r, --reverse             reverse the sort\n"
		"      --vip ADDR[:PORT[/PROTO]]\n"
		"                            only this VIP (IPv6 in brackets); repeatable\n"
		"      --app ID              only VIPs of Marathon app ID or apps below it;\n"
		"                            repeatable\n"
		"  -j, --json                JSON, one object per sample (one per line)\n"
		"  -p, --pretty              indented JSON (implies -j)\n"
		"  -x, --exact               text: every digit instead of K/M/G suffixes\n"
		"      --no-rates            totals only, answered at once without a baseline\n"
		"      --pin-path PATH       maps pinned under PATH (default %s)\n"
		"      --ct-budget MS        stop counting conntrack entries after MS ms\n"
		"                            (default %d; 0: no limit)\n"
		"  -v, --verbose             timings and libbpf messages on stderr\n"
		"  -h, --help                this text\n"
		"      --version             version and ABI version\n"
		"\n"
		"Keys in watch mode on a terminal: q quit, s next sort column, r reverse,\n"
		"v next view, space sample now.\n"
		"Exit status: 0 ok, 1 error, 2 usage, 4 maps missing or of another layout.\n"
		"See lbstat(8).\n",
		XLB_PIN_PATH_DEFAULT, LBS_CT_BUDGET_MS_DEFAULT);
}

static int silent_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

/* One error message, on stderr, or on stdout as {"error": ...} in JSON mode. */
static void report(const struct run *r, const char *msg)
{
	if (r->o.json) {
		lbs_json_error(stdout, msg, r->o.pretty);
		fflush(stdout);
	} else {
		fprintf(stderr, "lbstat: %s\n", msg);
	}
}

static int usage_error(const struct run *r, const char *msg)
{
	report(r, msg);
	if (!r->o.json)
		fprintf(stderr, "Try 'lbstat --help'.\n");
	return LBS_EXIT_USAGE;
}

static int exit_code(int err)
{
	return err == -ENOENT || err == -EPROTO ? LBS_EXIT_MAPS : LBS_EXIT_ERR;
}

/* Reads one sample, with the conntrack count when the view shows it. */
static int take(const struct run *r, struct lbs_sample *s, char *err, size_t errlen)
{
	struct xlb_reader *m;
	__u64 t0 = lbs_now_ns(CLOCK_MONOTONIC);
	int e;

	e = lbs_maps_open(&m, r->pin_path, err, errlen);
	if (e)
		return e;
	e = lbs_sample_read(m, s, err, errlen);
	if (!e && r->o.view == LBS_VIEW_GLOBAL)
		e = lbs_ct_count(m, &s->ct, r->o.ct_budget_ns, err, errlen);
	if (!e && !s->have_meta && r->o.verbose)
		fprintf(stderr, "lbstat: map %s/%s missing: VIP names not shown\n", r->pin_path,
			XLB_MAP_VIP_META);
	xlb_reader_close(m);
	if (!e && r->o.verbose)
		fprintf(stderr, "lbstat: sample of %zu VIPs, %zu backends read in %.2f ms\n",
			s->nvips, s->nbes, (lbs_now_ns(CLOCK_MONOTONIC) - t0) / 1e6);
	return e;
}

/* A sample taken in another view lacks the conntrack count the global view shows. */
static int ct_fill(const struct run *r, struct lbs_sample *s, char *err, size_t errlen)
{
	struct xlb_reader *m;
	int e;

	if (r->o.view != LBS_VIEW_GLOBAL || s->ct.counted)
		return 0;
	e = lbs_maps_open(&m, r->pin_path, err, errlen);
	if (e)
		return e;
	e = lbs_ct_count(m, &s->ct, r->o.ct_budget_ns, err, errlen);
	xlb_reader_close(m);
	return e;
}

static void draw(const struct run *r, const struct lbs_sample *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return;
	fprintf(f, "every %.1f s   q quit  s sort  r reverse  v view (%s)  space sample now\n",
		(double)r->interval_ns / LBS_NSEC_PER_SEC, lbs_view_name(r->o.view));
	lbs_text_print(f, s, &r->o);
	if (!s->prev)
		fprintf(f, "\nrates in %.1f s\n", (double)r->interval_ns / LBS_NSEC_PER_SEC);
	fclose(f);
	lbs_term_draw(buf, len);
	free(buf);
}

static int output(const struct run *r, const struct lbs_sample *s, bool last)
{
	if (r->tty) {
		draw(r, s);
		return 0;
	}
	if (r->o.json)
		lbs_json_print(stdout, s, &r->o);
	else
		lbs_text_print(stdout, s, &r->o);
	/* The separator right away, so a reader knows this block is complete. */
	if (!r->o.json && !last)
		fputc('\n', stdout);
	fflush(stdout);
	return ferror(stdout) ? -EIO : 0;
}

/*
 * Waits for the deadline; on a terminal, handles keys meanwhile (redrawing
 * shown with the new settings). Returns 1 to sample, 0 to quit.
 */
static int wait_next(struct run *r, __u64 deadline, const struct lbs_sample *shown, char *err,
		     size_t errlen, int *e)
{
	__u64 now;
	int key;

	for (;;) {
		now = lbs_now_ns(CLOCK_MONOTONIC);
		if (now >= deadline)
			return 1;
		if (!r->tty) {
			struct timespec ts = { .tv_sec = deadline / LBS_NSEC_PER_SEC,
					       .tv_nsec = deadline % LBS_NSEC_PER_SEC };

			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
			continue;
		}
		key = lbs_term_wait(deadline - now);
		switch (key) {
		case -1:
		case 'q':
		case 'Q':
			return 0;
		case ' ':
			return 1;
		case 's':
			r->o.sort = (r->o.sort + 1) % LBS_SORT_MAX;
			break;
		case 'r':
			r->o.reverse = !r->o.reverse;
			break;
		case 'v':
			r->o.view = (r->o.view + 1) % LBS_VIEW_MAX;
			break;
		case 'b':
			r->o.view = LBS_VIEW_BACKENDS;
			break;
		case 'g':
			r->o.view = LBS_VIEW_GLOBAL;
			break;
		case '\f':
			break;
		default:
			continue;
		}
		if (shown) {
			*e = ct_fill(r, (struct lbs_sample *)shown, err, errlen);
			if (*e)
				return 0;
			draw(r, shown);
		}
	}
}

static int run_loop(struct run *r)
{
	struct lbs_sample *older = NULL, *cur = NULL, *next;
	unsigned long printed = 0;
	char err[PATH_MAX + 256] = "";
	__u64 deadline = 0;
	int e = 0, rc = LBS_EXIT_OK;

	if (r->tty)
		lbs_term_begin();
	if (r->rates) {
		cur = calloc(1, sizeof(*cur));
		if (!cur)
			return LBS_EXIT_ERR;
		e = take(r, cur, err, sizeof(err));
		if (e)
			goto out;
		deadline = cur->mono_ns + r->interval_ns;
		/* On a terminal the totals show at once, while the first interval runs. */
		if (r->tty)
			draw(r, cur);
	}
	while (!r->count || printed < r->count) {
		if (cur && !wait_next(r, deadline, cur, err, sizeof(err), &e))
			break;
		next = calloc(1, sizeof(*next));
		if (!next) {
			e = -ENOMEM;
			snprintf(err, sizeof(err), "out of memory");
			break;
		}
		e = take(r, next, err, sizeof(err));
		if (e) {
			free(next);
			break;
		}
		if (r->rates)
			lbs_sample_link(next, cur);
		/* Keep the sample next's rates point into; the one before it can go. */
		if (older) {
			lbs_sample_free(older);
			free(older);
		}
		older = cur;
		cur = next;
		printed++;
		if (output(r, cur, r->count && printed == r->count)) {
			rc = LBS_EXIT_ERR; /* stdout closed: nobody to tell */
			goto out;
		}
		deadline += r->interval_ns;
		if (!r->rates || deadline <= lbs_now_ns(CLOCK_MONOTONIC))
			deadline = lbs_now_ns(CLOCK_MONOTONIC) + r->interval_ns;
	}
out:
	if (r->tty)
		lbs_term_end();
	if (e) {
		report(r, err);
		rc = exit_code(e);
	}
	if (older)
		lbs_sample_free(older);
	if (cur)
		lbs_sample_free(cur);
	free(older);
	free(cur);
	return rc;
}

/* Does this argument ask for JSON: --json, --pretty, or j or p in a cluster like -xj? */
static bool wants_json(const char *a)
{
	if (!strcmp(a, "--json") || !strcmp(a, "--pretty"))
		return true;
	if (a[0] != '-' || a[1] == '-')
		return false;
	for (a++; *a; a++) {
		if (*a == 'j' || *a == 'p')
			return true;
		if (strchr("ics", *a))
			return false; /* the rest is that option's value */
	}
	return false;
}

static int add_filter(void **arr, size_t *n, size_t size)
{
	void *p = realloc(*arr, (*n + 1) * size);

	if (!p)
		return -ENOMEM;
	*arr = p;
	(*n)++;
	return 0;
}

enum {
	OPT_VIP = 256,
	OPT_APP,
	OPT_PIN_PATH,
	OPT_NO_RATES,
	OPT_CT_BUDGET,
	OPT_VERSION,
};

static const struct option lopts[] = {
	{ "backends", no_argument, NULL, 'b' },
	{ "global", no_argument, NULL, 'g' },
	{ "interval", required_argument, NULL, 'i' },
	{ "count", required_argument, NULL, 'c' },
	{ "sort", required_argument, NULL, 's' },
	{ "reverse", no_argument, NULL, 'r' },
	{ "vip", required_argument, NULL, OPT_VIP },
	{ "app", required_argument, NULL, OPT_APP },
	{ "json", no_argument, NULL, 'j' },
	{ "pretty", no_argument, NULL, 'p' },
	{ "exact", no_argument, NULL, 'x' },
	{ "no-rates", no_argument, NULL, OPT_NO_RATES },
	{ "pin-path", required_argument, NULL, OPT_PIN_PATH },
	{ "ct-budget", required_argument, NULL, OPT_CT_BUDGET },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{},
};

/* What the command line says besides struct run. */
struct cli {
	bool have_interval, have_count, version, view_set;
	enum lbs_view view_opt;
};

/* One option into r or cl; a problem goes into msg. Returns an exit code to stop with, or -1. */
static int parse_opt(int c, struct run *r, struct cli *cl, char **argv, char *msg, size_t len)
{
	struct lbs_vip_filter f;
	char ferr[256];
	double d;
	char *end;

	switch (c) {
	case 'b':
	case 'g': {
		enum lbs_view v = c == 'b' ? LBS_VIEW_BACKENDS : LBS_VIEW_GLOBAL;

		if (cl->view_set && cl->view_opt != v)
			snprintf(msg, len, "-b and -g: choose one view");
		cl->view_opt = v;
		cl->view_set = true;
		break;
	}
	case 'i':
		errno = 0;
		d = strtod(optarg, &end);
		if (errno || end == optarg || *end || !isfinite(d) || d < 0.1 || d > 86400)
			snprintf(msg, len,
				 "-i '%s': interval must be 0.1 to 86400 seconds", optarg);
		else
			r->interval_ns = (__u64)llround(d * LBS_NSEC_PER_SEC);
		cl->have_interval = true;
		break;
	case 'c':
		errno = 0;
		r->count = strtoul(optarg, &end, 10);
		if (errno || end == optarg || *end || !r->count || *optarg == '-')
			snprintf(msg, len,
				 "-c '%s': count must be a positive integer", optarg);
		cl->have_count = true;
		break;
	case 's':
		if (lbs_sort_parse(optarg, &r->o.sort))
			snprintf(msg, len,
				 "-s '%s': sort by vip, name, app, conns, pps, bps, "
				 "pps_out, bps_out or drops", optarg);
		break;
	case 'r':
		r->o.reverse = true;
		break;
	case OPT_VIP:
		if (lbs_vip_filter_parse(optarg, &f, ferr, sizeof(ferr))) {
			snprintf(msg, len, "%s", ferr);
			break;
		}
		if (add_filter((void **)&r->o.vip_filters, &r->o.n_vip_filters, sizeof(f)))
			return LBS_EXIT_ERR;
		r->o.vip_filters[r->o.n_vip_filters - 1] = f;
		break;
	case OPT_APP:
		if (!*optarg) {
			snprintf(msg, len, "--app: empty app id");
			break;
		}
		if (add_filter((void **)&r->o.app_filters, &r->o.n_app_filters,
			       sizeof(*r->o.app_filters)))
			return LBS_EXIT_ERR;
		r->o.app_filters[r->o.n_app_filters - 1] = optarg;
		break;
	case 'j':
		r->o.json = true;
		break;
	case 'p':
		r->o.json = r->o.pretty = true;
		break;
	case 'x':
		r->o.exact = true;
		break;
	case OPT_NO_RATES:
		r->rates = false;
		break;
	case OPT_PIN_PATH:
		if (!*optarg)
			snprintf(msg, len, "--pin-path: empty path");
		r->pin_path = optarg;
		break;
	case OPT_CT_BUDGET:
		errno = 0;
		d = strtod(optarg, &end);
		if (errno || end == optarg || *end || !isfinite(d) || d < 0 || d > 3600000)
			snprintf(msg, len,
				 "--ct-budget '%s': milliseconds, 0 or more", optarg);
		else
			r->o.ct_budget_ns = (__u64)llround(d * 1e6);
		break;
	case 'v':
		r->o.verbose++;
		break;
	case 'h':
		usage(stdout);
		return LBS_EXIT_OK;
	case OPT_VERSION:
		cl->version = true;
		break;
	case ':':
		snprintf(msg, len, "option '%s' needs a value", argv[optind - 1]);
		break;
	default:
		if (optopt && optopt < 256)
			snprintf(msg, len, "unknown option '-%c'", optopt);
		else
			snprintf(msg, len, "unknown option '%s'", argv[optind - 1]);
		break;
	}
	return -1;
}

/* The view named as an argument, which must agree with -b or -g. Returns an exit code, or -1. */
static int view_arg(struct run *r, const struct cli *cl, int argc, char **argv, char *msg,
		    size_t len)
{
	enum lbs_view v;

	r->o.view = cl->view_opt;
	if (optind >= argc)
		return -1;
	if (!strcmp(argv[optind], "help")) {
		usage(stdout);
		return LBS_EXIT_OK;
	}
	if (lbs_view_parse(argv[optind], &v)) {
		snprintf(msg, len, "unknown view '%s': vips, backends or global", argv[optind]);
		return usage_error(r, msg);
	}
	if (cl->view_set && v != cl->view_opt) {
		snprintf(msg, len, "view '%s' contradicts -%c", argv[optind],
			 cl->view_opt == LBS_VIEW_BACKENDS ? 'b' : 'g');
		return usage_error(r, msg);
	}
	r->o.view = v;
	if (optind + 1 < argc) {
		snprintf(msg, len, "unexpected argument '%s'", argv[optind + 1]);
		return usage_error(r, msg);
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct run r = {
		.o = { .view = LBS_VIEW_VIPS,
		       .sort = LBS_SORT_VIP,
		       .ct_budget_ns = LBS_CT_BUDGET_MS_DEFAULT * 1000000ULL },
		.pin_path = XLB_PIN_PATH_DEFAULT,
		.interval_ns = LBS_NSEC_PER_SEC,
		.rates = true,
	};
	struct cli cl = { .view_opt = LBS_VIEW_VIPS };
	char msg[512] = "";
	int c, rc;

	/* -j changes how errors are reported, including errors in options before it. */
	for (c = 1; c < argc && strcmp(argv[c], "--"); c++)
		if (wants_json(argv[c]))
			r.o.json = true;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":bgi:c:s:rjpxvh", lopts, NULL)) != -1) {
		rc = parse_opt(c, &r, &cl, argv, msg, sizeof(msg));
		if (rc >= 0)
			return rc;
		if (*msg)
			return usage_error(&r, msg);
	}
	if (cl.version) {
		if (r.o.json)
			lbs_json_version(stdout, r.o.pretty);
		else
			printf("lbstat %s (xlb ABI %d)\n", XLB_VERSION, XLB_ABI_VERSION);
		return LBS_EXIT_OK;
	}
	rc = view_arg(&r, &cl, argc, argv, msg, sizeof(msg));
	if (rc >= 0)
		return rc;
	r.watch = cl.have_interval || (cl.have_count && r.count > 1);
	if (!cl.have_count)
		r.count = r.watch ? 0 : 1;
	r.tty = r.watch && !r.o.json && isatty(STDOUT_FILENO);
	/* libbpf's default printer (warnings and info) only with -v. */
	if (!r.o.verbose)
		libbpf_set_print(silent_libbpf);

	rc = run_loop(&r);
	free(r.o.vip_filters);
	free(r.o.app_filters);
	return rc;
}
