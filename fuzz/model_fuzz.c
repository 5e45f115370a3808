// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target: Marathon apps and pods documents into the desired state.
 * The first byte chooses the documents (apps only, pods only, or both, split
 * at the first NUL) and options (marathon-lb group "*", IPv6 node address, a
 * health cache); the rest is JSON. Besides not crashing or leaking, the model
 * must keep its promises: services strictly sorted and found by key, backends
 * strictly sorted, of the service's family, active or draining with weight 0
 * exactly when draining, named VIPs with a DNS name; and a second build of the
 * same input must give an equal model (every node computes the same state).
 */
#include <errno.h>

#include "fuzz.h"
#include "mara_model.h"

static void warn(void *ctx, const char *msg)
{
	(void)ctx;
	FUZZ_CHECK(msg && msg[0], "empty warning");
}

static int health_lookup(void *ctx, const char *task_id)
{
	(void)ctx;
	return task_id[0] ? (int)(strlen(task_id) & 1) : -ENOENT;
}

static void check_model(const struct xlb_mara_model *m)
{
	size_t i, j;

	for (i = 0; i < m->nr_services; i++) {
		const struct xlb_mara_service *s = &m->services[i];

		FUZZ_CHECK(s->key.family == XLB_AF_INET || s->key.family == XLB_AF_INET6,
			   "service %zu family %u", i, s->key.family);
		FUZZ_CHECK(s->key.proto == XLB_PROTO_TCP || s->key.proto == XLB_PROTO_UDP,
			   "service %zu proto %u", i, s->key.proto);
		FUZZ_CHECK(s->key.port != 0, "service %zu port 0", i);
		FUZZ_CHECK(!i || xlb_vip_key_cmp(&m->services[i - 1].key, &s->key) < 0,
			   "services %zu and %zu out of order or duplicate", i - 1, i);
		FUZZ_CHECK(xlb_mara_model_find(m, &s->key) == s, "service %zu not found by key", i);
		FUZZ_CHECK(s->kind != XLB_SVC_NAMED_VIP || (s->name && s->dns_name),
			   "named service %zu without name", i);
		FUZZ_CHECK(s->nr_origins > 0, "service %zu without origin", i);
		for (j = 0; j < s->nr_backends; j++) {
			const struct xlb_mara_backend *b = &s->backends[j];

			FUZZ_CHECK(b->family == s->key.family, "service %zu backend %zu family", i,
				   j);
			FUZZ_CHECK(b->state == XLB_BE_ACTIVE || b->state == XLB_BE_DRAINING,
				   "service %zu backend %zu state %u", i, j, b->state);
			FUZZ_CHECK((b->weight == 0) == (b->state == XLB_BE_DRAINING),
				   "service %zu backend %zu: weight %u, state %u", i, j, b->weight,
				   b->state);
			FUZZ_CHECK(!j || xlb_mara_backend_cmp(&s->backends[j - 1], b) < 0,
				   "service %zu backends %zu, %zu out of order or duplicate", i,
				   j - 1, j);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xlb_mara_model m1 = { 0 }, m2 = { 0 };
	const char *apps = NULL, *pods = NULL;
	size_t apps_len = 0, pods_len = 0;
	struct xlb_mara_opts o;
	char err[256];
	uint8_t mode;
	int rc1, rc2;

	if (!size)
		return 0;
	mode = data[0];
	data++;
	size--;
	switch (mode & 3) {
	case 0:
	case 3:
		apps = (const char *)data;
		apps_len = size;
		break;
	case 1:
		pods = (const char *)data;
		pods_len = size;
		break;
	case 2: {
		const uint8_t *z = memchr(data, '\0', size);

		apps = (const char *)data;
		apps_len = z ? (size_t)(z - data) : size;
		if (z) {
			pods = (const char *)z + 1;
			pods_len = size - apps_len - 1;
		}
		break;
	}
	}
	xlb_mara_opts_init(&o);
	o.warn = warn;
	o.resolve = fuzz_resolve;
	if (mode & 4)
		o.haproxy_group = "*";
	if (mode & 8) {
		o.node_family = XLB_AF_INET;
		o.node_addr.v4 = htonl(0xc6120001);
	} else if (mode & 16) {
		o.node_family = XLB_AF_INET6;
		o.node_addr.v6[0] = htonl(0x20010db8);
		o.node_addr.v6[3] = htonl(1);
	}
	if (mode & 32)
		o.health_lookup = health_lookup;
	if (mode & 64)
		o.default_weight = 3;
	if (mode & 128)
		xlb_named_pool_parse("198.19.0.0/30", &o.pool, err, sizeof(err)); /* 2 addresses */

	rc1 = xlb_mara_model_build(&m1, apps, apps_len, pods, pods_len, &o, err, sizeof(err));
	FUZZ_CHECK(rc1 == 0 || rc1 == -EINVAL || rc1 == -ENOSPC, "build rc %d", rc1);
	if (rc1)
		FUZZ_CHECK(fuzz_terminated(err, sizeof(err)) && m1.nr_services == 0,
			   "failed build: unterminated message or services left");
	else
		check_model(&m1);
	rc2 = xlb_mara_model_build(&m2, apps, apps_len, pods, pods_len, &o, err, sizeof(err));
	FUZZ_CHECK(rc1 == rc2, "second build rc %d, first %d", rc2, rc1);
	FUZZ_CHECK(rc1 || xlb_mara_model_equal(&m1, &m2), "second build gives another model");
	xlb_mara_model_free(&m1);
	xlb_mara_model_free(&m2);
	return 0;
}
