// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xlbdump: prints what the pinned maps hold (VIPs, their names, backends and
 * Maglev tables) as sorted, stable text, read-only (the maps are opened with
 * BPF_F_RDONLY through libxlb's read side, which checks their layout) and
 * without loading any program, so tests can compare two dumps with diff. By
 * default everything local to one node (ids, generations, table slots) is
 * left out and a table is shown as a hash of the backend addresses in its
 * slots: two xlb nodes given the same state print the same lines. --raw adds
 * the local ids, generations and backend flags (which of the backends
 * sharing an endpoint record reply entries depends on the order they came
 * in) and the kernel ids of the live table maps, so two dumps of
 * one node differ if anything at all was rewritten. -j prints the same as
 * one JSON object.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include <bpf/libbpf.h>
#include <xlb/abi.h>

#include "addr.h"
#include "dp_read.h"
#include "xlbdump.h"

/* The maps as read once: VIPs in key order, the backend array, backends grouped by VIP. */
struct dump {
	const struct xlbdump_opts *o;
	const struct xlb_reader *r;
	struct xlb_vip_entry *vips;
	size_t nvips;
	struct xlb_backend *bes;
	__u32 max_be;
	__u32 *by_vip; /* ids of live backends, by VIP id */
	size_t nby;
	json_t *json; /* the "vips" array with -j */
};

/* A backend's line, and the order both outputs list backends in. */
struct be_line {
	char text[160];
	__u32 id;
};

static int line_cmp(const void *a, const void *b)
{
	return strcmp(((const struct be_line *)a)->text, ((const struct be_line *)b)->text);
}

static __u64 fnv(__u64 h, const void *p, size_t n)
{
	const unsigned char *c = p;

	while (n--) {
		h ^= *c++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static const char *state_name(__u8 state)
{
	return state == XLB_BE_ACTIVE ? "active" : "draining";
}

static void json_addr(json_t *o, const union xlb_addr *a, __u8 family, __be16 port)
{
	char buf[INET6_ADDRSTRLEN];

	inet_ntop(family == XLB_AF_INET6 ? AF_INET6 : AF_INET, a, buf, sizeof(buf));
	json_object_set_new(o, "address", json_string(buf));
	json_object_set_new(o, "port", json_integer(ntohs(port)));
	json_object_set_new(o, "family", json_string(family == XLB_AF_INET6 ? "ipv6" : "ipv4"));
}

static const struct xlb_backend *dump_be(const struct dump *d, __u32 id)
{
	return &d->bes[id];
}

static int by_vip_cmp(const void *a, const void *b, void *ctx)
{
	const struct dump *d = ctx;
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;
	__u32 vx = dump_be(d, x)->vip_id, vy = dump_be(d, y)->vip_id;

	if (vx != vy)
		return vx < vy ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* Reads the VIPs and the backend array, and groups live backends by their VIP id. */
static int dump_read(struct dump *d)
{
	int err;
	__u32 i;

	err = xlb_reader_vips(d->r, &d->vips, &d->nvips);
	if (!err)
		err = xlb_reader_backends(d->r, &d->bes, &d->max_be);
	if (err) {
		xlbdump_error(d->o, "%s: read: %s", xlb_reader_pin_path(d->r), strerror(-err));
		return err;
	}
	d->by_vip = calloc(d->max_be ? d->max_be : 1, sizeof(*d->by_vip));
	if (!d->by_vip) {
		xlbdump_error(d->o, "out of memory");
		return -ENOMEM;
	}
	for (i = 1; i < d->max_be; i++)
		if (d->bes[i].state != XLB_BE_REMOVED)
			d->by_vip[d->nby++] = i;
	qsort_r(d->by_vip, d->nby, sizeof(*d->by_vip), by_vip_cmp, d);
	return 0;
}

/* The backends of a VIP, as sorted lines; returns how many (lines has room for all). */
static size_t vip_backends(const struct dump *d, __u32 vip_id, struct be_line *lines)
{
	size_t lo = 0, hi = d->nby, n = 0;
	char es[80];

	while (lo < hi) { /* the first backend of vip_id */
		size_t mid = (lo + hi) / 2;

		if (dump_be(d, d->by_vip[mid])->vip_id < vip_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < d->nby && dump_be(d, d->by_vip[lo])->vip_id == vip_id; lo++) {
		const struct xlb_backend *b = dump_be(d, d->by_vip[lo]);
		struct be_line *l = &lines[n++];
		int o;

		l->id = d->by_vip[lo];
		o = snprintf(l->text, sizeof(l->text), "  backend %s state %s weight %u",
			     xlb_endpoint_str(&b->addr, b->port, b->family, es, sizeof(es)),
			     state_name(b->state), b->weight);
		if (d->o->raw && o > 0 && (size_t)o < sizeof(l->text))
			snprintf(l->text + o, sizeof(l->text) - o, " id %u gen %u flags %u", l->id,
				 b->gen, b->flags);
	}
	qsort(lines, n, sizeof(*lines), line_cmp);
	return n;
}

static json_t *backends_json(const struct dump *d, const struct be_line *lines, size_t n)
{
	json_t *a = json_array();
	char es[80];
	size_t i;

	for (i = 0; i < n; i++) {
		const struct xlb_backend *b = dump_be(d, lines[i].id);
		json_t *o = json_object();

		xlb_endpoint_str(&b->addr, b->port, b->family, es, sizeof(es));
		json_object_set_new(o, "backend", json_string(es));
		json_addr(o, &b->addr, b->family, b->port);
		json_object_set_new(o, "state", json_string(state_name(b->state)));
		json_object_set_new(o, "weight", json_integer(b->weight));
		if (d->o->raw) {
			json_object_set_new(o, "id", json_integer(lines[i].id));
			json_object_set_new(o, "gen", json_integer(b->gen));
			json_object_set_new(o, "flags", json_integer(b->flags));
		}
		json_array_append_new(a, o);
	}
	return a;
}

/* What a slot names, as text: the backend's address, "?" for an id out of range. */
static const char *slot_str(const struct dump *d, __u32 id, char *buf, size_t len)
{
	const struct xlb_backend *b;

	if (id >= d->max_be)
		return "?";
	b = dump_be(d, id);
	return xlb_endpoint_str(&b->addr, b->port, b->family, buf, len);
}

/*
 * A VIP's live table: its size and a hash of the backend address in each
 * slot (not of the local ids, so two nodes with the same state agree).
 */
static void vip_table(const struct dump *d, const struct xlb_vip *vip, json_t *jv)
{
	__u32 map_id = 0, *table, j, v;
	__u64 h = 0xcbf29ce484222325ULL;
	char es[80], hash[24];
	json_t *jt, *js;
	int ifd;

	if (!vip->table_size) {
		if (jv)
			json_object_set_new(jv, "table", json_null());
		else
			printf("  table none\n");
		return;
	}
	ifd = xlb_reader_table_open(d->r, vip->table_id, &map_id, NULL);
	table = calloc(vip->table_size, sizeof(*table));
	if (ifd < 0 || !table) {
		if (jv)
			json_object_set_new(jv, "table", json_pack("{s:i, s:b}", "size",
								   (json_int_t)vip->table_size,
								   "readable", 0));
		else
			printf("  table size %u UNREADABLE\n", vip->table_size);
		free(table);
		if (ifd >= 0)
			close(ifd);
		return;
	}
	if (xlb_table_slots_read(ifd, vip->table_size, table))
		memset(table, 0, vip->table_size * sizeof(*table));
	close(ifd);
	for (j = 0; j < vip->table_size; j++) {
		v = table[j];
		if (v < d->max_be) {
			h = fnv(h, &d->bes[v].family, 1);
			h = fnv(h, &d->bes[v].addr, sizeof(d->bes[v].addr));
			h = fnv(h, &d->bes[v].port, sizeof(d->bes[v].port));
		}
	}
	snprintf(hash, sizeof(hash), "%016llx", (unsigned long long)h);
	if (jv) {
		jt = json_pack("{s:i, s:b, s:s}", "size", (json_int_t)vip->table_size, "readable",
			       1, "hash", hash);
		if (d->o->raw)
			json_object_set_new(jt, "map_id", json_integer(map_id));
		json_object_set_new(jv, "table", jt);
		if (d->o->slots) {
			js = json_array();
			for (j = 0; j < vip->table_size; j++)
				json_array_append_new(js, json_string(slot_str(d, table[j], es,
									       sizeof(es))));
			json_object_set_new(jv, "slots", js);
		}
	} else {
		printf("  table size %u hash %s", vip->table_size, hash);
		if (d->o->raw)
			printf(" map_id %u", map_id);
		printf("\n");
		if (d->o->slots)
			for (j = 0; j < vip->table_size; j++)
				printf("  slot %u %s\n", j, slot_str(d, table[j], es, sizeof(es)));
	}
	free(table);
}

/* One VIP: its line (or object), its backends, its table. */
static void vip_dump(const struct dump *d, const struct xlb_vip_entry *e, struct be_line *lines)
{
	const struct xlb_vip *vip = &e->vip;
	struct xlb_vip_meta meta = {};
	json_t *jv = NULL;
	char ks[96];
	size_t nl;

	xlb_vip_key_str(&e->key, ks, sizeof(ks));
	xlb_reader_vip_meta(d->r, vip->vip_id, &meta);
	nl = vip_backends(d, vip->vip_id, lines);
	if (d->json) {
		jv = json_object();
		json_object_set_new(jv, "vip", json_string(ks));
		json_addr(jv, &e->key.addr, e->key.family, e->key.port);
		json_object_set_new(jv, "protocol",
				    json_string(e->key.proto == XLB_PROTO_TCP   ? "tcp"
						: e->key.proto == XLB_PROTO_UDP ? "udp"
										: "unknown"));
		json_object_set_new(jv, "flags", json_integer(vip->flags));
		json_object_set_new(jv, "mode", json_integer(vip->mode));
		json_object_set_new(jv, "name", json_string(meta.name));
		json_object_set_new(jv, "app", json_string(meta.app));
		if (d->o->raw) {
			json_object_set_new(jv, "vip_id", json_integer(vip->vip_id));
			json_object_set_new(jv, "table_id", json_integer(vip->table_id));
		}
		json_object_set_new(jv, "backends", backends_json(d, lines, nl));
	} else {
		printf("vip %s flags %u mode %u name \"%s\" app \"%s\"", ks, vip->flags, vip->mode,
		       meta.name, meta.app);
		if (d->o->raw)
			printf(" id %u table_id %u", vip->vip_id, vip->table_id);
		printf("\n");
		for (size_t j = 0; j < nl; j++)
			printf("%s\n", lines[j].text);
	}
	vip_table(d, vip, jv);
	if (jv)
		json_array_append_new(d->json, jv);
}

static int dump(const struct xlbdump_opts *o)
{
	struct dump d = { .o = o };
	struct xlb_reader *r;
	struct be_line *lines = NULL;
	json_t *top = NULL;
	int ret = XLBDUMP_EXIT_ERR;
	size_t i;

	if (xlbdump_open(o, &r))
		return XLBDUMP_EXIT_ERR;
	d.r = r;
	if (dump_read(&d))
		goto cleanup;
	lines = calloc(d.nby ? d.nby : 1, sizeof(*lines));
	if (!lines) {
		xlbdump_error(o, "out of memory");
		goto cleanup;
	}
	if (o->json) {
		top = json_object();
		d.json = json_array();
		json_object_set_new(top, "pin_path", json_string(xlb_reader_pin_path(r)));
		json_object_set_new(top, "vips_total", json_integer(d.nvips));
		json_object_set_new(top, "vips", d.json);
	}
	for (i = 0; i < d.nvips; i++)
		vip_dump(&d, &d.vips[i], lines);
	ret = XLBDUMP_EXIT_OK;
	if (top && xlbdump_json_print(o, top))
		ret = XLBDUMP_EXIT_ERR;
	fflush(stdout);
	if (ferror(stdout))
		ret = XLBDUMP_EXIT_ERR;
cleanup:
	free(lines);
	free(d.vips);
	free(d.bes);
	free(d.by_vip);
	xlb_reader_close(r);
	return ret;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: xlbdump [-p PIN_PATH] [--raw] [--slots] [-j] | --check [--strict] [-j]\n"
		   "Prints the VIPs, backends and Maglev tables in the pinned maps, sorted.\n"
		   "  -p, --pin-path P  default " XLB_PIN_PATH_DEFAULT "\n"
		   "      --raw         also local ids, generations, backend flags and table\n"
		   "                    map ids\n"
		   "      --slots       every table slot, as the backend address in it\n"
		   "      --check       verify the maps are consistent for the programs;\n"
		   "                    exit 0 (consistent), 1 (errors), 2 (cannot read)\n"
		   "      --strict      with --check: leftovers of interrupted writes\n"
		   "                    (which xlbd repairs on start) count as errors\n"
		   "  -j, --json        one JSON object; errors as {\"error\": ...}\n"
		   "      --pretty      indented JSON (implies -j)\n"
		   "  -h, --help        this text\n"
		   "      --version     version and ABI version\n");
}

static int silent_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

static void version(const struct xlbdump_opts *o)
{
	if (o->json)
		xlbdump_json_print(o, json_pack("{s:s, s:i}", "version", XLB_VERSION, "abi_version",
						XLB_ABI_VERSION));
	else
		printf("xlbdump %s (xlb ABI %d)\n", XLB_VERSION, XLB_ABI_VERSION);
}

enum { OPT_RAW = 256, OPT_SLOTS, OPT_CHECK, OPT_STRICT, OPT_PRETTY, OPT_VERSION };

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pin-path", required_argument, NULL, 'p' },
		{ "raw", no_argument, NULL, OPT_RAW },
		{ "slots", no_argument, NULL, OPT_SLOTS },
		{ "check", no_argument, NULL, OPT_CHECK },
		{ "strict", no_argument, NULL, OPT_STRICT },
		{ "json", no_argument, NULL, 'j' },
		{ "pretty", no_argument, NULL, OPT_PRETTY },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct xlbdump_opts o = { .pin = XLB_PIN_PATH_DEFAULT };
	bool show_version = false, bad = false;
	int c, i;

	/* -j anywhere on the line makes even a usage error JSON. */
	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json") ||
		    !strcmp(argv[i], "--pretty"))
			o.json = true;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":p:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			o.pin = optarg;
			break;
		case OPT_RAW:
			o.raw = true;
			break;
		case OPT_SLOTS:
			o.slots = true;
			break;
		case OPT_CHECK:
			o.check = true;
			break;
		case OPT_STRICT:
			o.strict = true;
			break;
		case 'j':
			o.json = true;
			break;
		case OPT_PRETTY:
			o.json = o.pretty = true;
			break;
		case OPT_VERSION:
			show_version = true;
			break;
		case 'h':
			usage(stdout);
			return XLBDUMP_EXIT_OK;
		case ':':
			xlbdump_error(&o, "option '%s' needs a value", argv[optind - 1]);
			bad = true;
			break;
		default:
			xlbdump_error(&o, "unknown option '%s'", argv[optind - 1]);
			bad = true;
			break;
		}
	}
	if (!bad && optind < argc) {
		xlbdump_error(&o, "unexpected argument '%s'", argv[optind]);
		bad = true;
	}
	if (bad) {
		if (!o.json)
			usage(stderr);
		return XLBDUMP_EXIT_USAGE;
	}
	if (show_version) {
		version(&o);
		return XLBDUMP_EXIT_OK;
	}
	libbpf_set_print(silent_libbpf);
	return o.check ? xlbdump_check(&o) : dump(&o);
}
