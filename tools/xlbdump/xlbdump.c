// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xlbdump: prints what the pinned maps hold (VIPs, their names, backends and
 * Maglev tables) as sorted, stable text, read-only and without loading any
 * program, so tests can compare two dumps with diff. By default everything
 * local to one node (ids, generations, table slots) is left out and a table
 * is shown as a hash of the backend addresses in its slots: two xlb nodes
 * given the same state print the same lines. --raw adds the local ids and
 * the kernel ids of the live table maps, so two dumps of one node differ if
 * anything at all was rewritten.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <xlb/abi.h>

#include "xlbdump.h"

struct row {
	struct xlb_vip_key key;
	struct xlb_vip vip;
};

int xlbdump_table_read(int ifd, __u32 size, __u32 *out)
{
	struct xlb_table_entry e;
	__u32 i, j, k;

	for (i = 0; i < size; i += XLB_TABLE_SLOTS) {
		k = i / XLB_TABLE_SLOTS;
		if (bpf_map_lookup_elem(ifd, &k, &e))
			return -errno;
		for (j = 0; j < XLB_TABLE_SLOTS && i + j < size; j++)
			out[i + j] = e.slot[j];
	}
	return 0;
}

int xlbdump_fd(const char *pin, const char *name)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", pin, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		fprintf(stderr, "xlbdump: %s: %s\n", path, strerror(errno));
	return fd;
}

const char *xlbdump_ep_str(const union xlb_addr *a, __be16 port, __u8 family, char *buf,
			   size_t len)
{
	char s[INET6_ADDRSTRLEN];

	if (family == XLB_AF_INET6) {
		inet_ntop(AF_INET6, a, s, sizeof(s));
		snprintf(buf, len, "[%s]:%u", s, ntohs(port));
	} else {
		inet_ntop(AF_INET, &a->v4, s, sizeof(s));
		snprintf(buf, len, "%s:%u", s, ntohs(port));
	}
	return buf;
}

static int key_cmp(const void *pa, const void *pb)
{
	const struct xlb_vip_key *a = &((const struct row *)pa)->key;
	const struct xlb_vip_key *b = &((const struct row *)pb)->key;
	int r;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	r = memcmp(&a->addr, &b->addr, sizeof(a->addr));
	if (r)
		return r;
	if (a->port != b->port)
		return ntohs(a->port) < ntohs(b->port) ? -1 : 1;
	return (int)a->proto - (int)b->proto;
}

struct be_line {
	char text[160];
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

static void usage(FILE *f)
{
	fprintf(f, "Usage: xlbdump [-p PIN_PATH] [--raw] [--slots] | --check [--strict]\n"
		   "Prints the VIPs, backends and Maglev tables in the pinned maps, sorted.\n"
		   "  -p, --pin-path P  default " XLB_PIN_PATH_DEFAULT "\n"
		   "      --raw         also local ids, generations and table map ids\n"
		   "      --slots       every table slot, as the backend address in it\n"
		   "      --check       verify the maps are consistent for the programs;\n"
		   "                    exit 0 (consistent), 1 (errors), 2 (cannot read)\n"
		   "      --strict      with --check: leftovers of interrupted writes\n"
		   "                    (which xlbd repairs on start) count as errors\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"pin-path", required_argument, NULL, 'p'},
	    {"raw", no_argument, NULL, 'r'},
	    {"slots", no_argument, NULL, 's'},
	    {"check", no_argument, NULL, 'C'},
	    {"strict", no_argument, NULL, 'S'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	const char *pin = XLB_PIN_PATH_DEFAULT;
	int fd_vips, fd_be, fd_tab, fd_meta, c, ret = 1;
	bool raw = false, slots = false, check = false, strict = false;
	struct xlb_vip_key key, next, *prev = NULL;
	struct bpf_map_info info = {};
	__u32 info_len = sizeof(info), max_be, i, j;
	struct xlb_backend *bes = NULL;
	struct row *rows = NULL;
	struct be_line *lines = NULL;
	size_t n = 0, cap = 0, nl;
	char ks[96], es[80];

	while ((c = getopt_long(argc, argv, "p:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			pin = optarg;
			break;
		case 'r':
			raw = true;
			break;
		case 's':
			slots = true;
			break;
		case 'C':
			check = true;
			break;
		case 'S':
			strict = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (check)
		return xlbdump_check(pin, strict);
	fd_vips = xlbdump_fd(pin, XLB_MAP_VIPS);
	fd_be = xlbdump_fd(pin, XLB_MAP_BACKENDS);
	fd_tab = xlbdump_fd(pin, XLB_MAP_TABLES);
	fd_meta = xlbdump_fd(pin, XLB_MAP_VIP_META);
	if (fd_vips < 0 || fd_be < 0 || fd_tab < 0 || fd_meta < 0)
		return 1;
	if (bpf_obj_get_info_by_fd(fd_be, &info, &info_len))
		return 1;
	max_be = info.max_entries;
	bes = calloc(max_be, sizeof(*bes));
	lines = calloc(max_be, sizeof(*lines));
	if (!bes || !lines)
		goto cleanup;
	for (i = 0; i < max_be; i++)
		bpf_map_lookup_elem(fd_be, &i, &bes[i]);
	while (!bpf_map_get_next_key(fd_vips, prev, &next)) {
		key = next;
		prev = &key;
		if (n == cap) {
			struct row *nr;

			cap = cap ? cap * 2 : 64;
			nr = realloc(rows, cap * sizeof(*rows));
			if (!nr)
				goto cleanup;
			rows = nr;
		}
		rows[n].key = key;
		if (!bpf_map_lookup_elem(fd_vips, &key, &rows[n].vip))
			n++;
	}
	qsort(rows, n, sizeof(*rows), key_cmp);
	for (i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		struct xlb_vip_meta meta = {};
		__u32 inner_id = 0, *table = NULL, v;
		__u64 h = 0xcbf29ce484222325ULL;
		int ifd = -1;

		xlbdump_ep_str(&r->key.addr, r->key.port, r->key.family, es, sizeof(es));
		snprintf(ks, sizeof(ks), "%s/%s", es,
			 r->key.proto == XLB_PROTO_UDP ? "udp" : "tcp");
		bpf_map_lookup_elem(fd_meta, &r->vip.vip_id, &meta);
		meta.name[sizeof(meta.name) - 1] = meta.app[sizeof(meta.app) - 1] = '\0';
		printf("vip %s flags %u mode %u name \"%s\" app \"%s\"", ks, r->vip.flags,
		       r->vip.mode, meta.name, meta.app);
		if (raw)
			printf(" id %u table_id %u", r->vip.vip_id, r->vip.table_id);
		printf("\n");
		nl = 0;
		for (j = 1; j < max_be; j++) {
			const struct xlb_backend *b = &bes[j];
			int o;

			if (b->state == XLB_BE_REMOVED || b->vip_id != r->vip.vip_id)
				continue;
			o = snprintf(lines[nl].text, sizeof(lines[nl].text),
				     "  backend %s state %s weight %u",
				     xlbdump_ep_str(&b->addr, b->port, b->family, es, sizeof(es)),
				     b->state == XLB_BE_ACTIVE ? "active" : "draining", b->weight);
			if (raw && o > 0 && (size_t)o < sizeof(lines[nl].text))
				snprintf(lines[nl].text + o, sizeof(lines[nl].text) - o,
					 " id %u gen %u", j, b->gen);
			nl++;
		}
		qsort(lines, nl, sizeof(*lines), line_cmp);
		for (j = 0; j < nl; j++)
			printf("%s\n", lines[j].text);
		if (!r->vip.table_size) {
			printf("  table none\n");
			continue;
		}
		if (!bpf_map_lookup_elem(fd_tab, &r->vip.table_id, &inner_id))
			ifd = bpf_map_get_fd_by_id(inner_id);
		table = calloc(r->vip.table_size, sizeof(*table));
		if (ifd < 0 || !table) {
			printf("  table size %u UNREADABLE\n", r->vip.table_size);
			free(table);
			if (ifd >= 0)
				close(ifd);
			continue;
		}
		if (xlbdump_table_read(ifd, r->vip.table_size, table))
			memset(table, 0, r->vip.table_size * sizeof(*table));
		for (j = 0; j < r->vip.table_size; j++) {
			v = table[j];
			/* hash the address in the slot, not the local id */
			if (v < max_be) {
				h = fnv(h, &bes[v].family, 1);
				h = fnv(h, &bes[v].addr, sizeof(bes[v].addr));
				h = fnv(h, &bes[v].port, sizeof(bes[v].port));
			}
		}
		close(ifd);
		printf("  table size %u hash %016llx", r->vip.table_size, (unsigned long long)h);
		if (raw)
			printf(" map_id %u", inner_id);
		printf("\n");
		if (slots)
			for (j = 0; j < r->vip.table_size; j++)
				printf("  slot %u %s\n", j,
				       table[j] < max_be
					   ? xlbdump_ep_str(&bes[table[j]].addr, bes[table[j]].port,
						    bes[table[j]].family, es, sizeof(es))
					   : "?");
		free(table);
	}
	ret = 0;
cleanup:
	free(rows);
	free(bes);
	free(lines);
	return ret;
}
