// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target: VIP labels and the small string parsers around them.
 * Input: "KEY\nVALUE\nFRAMEWORK". The value goes through the label parser
 * (checked: port in range, a family for IP VIPs, a terminated name for named
 * ones, a terminated message on error), the DNS name builder (checked: at most
 * 253 characters of [a-z0-9.-]), the protocol list, named pool and VIP key
 * parsers and the log quoter, so every function that reads an operator's or
 * Marathon's text is fed the same bytes.
 */
#include <errno.h>
#include <stdbool.h>

#include "dp.h"
#include "fuzz.h"
#include "mara_labels.h"

static void check_dns(const char *name, const char *framework)
{
	char out[XLB_DNS_NAME_MAX], frag[64];
	int rc;
	size_t i, len;

	rc = xlb_vip_dns_name(name, framework, out, sizeof(out));
	FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ENAMETOOLONG, "dns name rc %d", rc);
	if (!rc) {
		len = strnlen(out, sizeof(out));
		FUZZ_CHECK(len < sizeof(out) && len <= 253, "dns name length %zu", len);
		for (i = 0; i < len; i++)
			FUZZ_CHECK((out[i] >= 'a' && out[i] <= 'z') ||
					   (out[i] >= '0' && out[i] <= '9') || out[i] == '.' ||
					   out[i] == '-',
				   "dns name char 0x%02x in \"%s\"", (unsigned char)out[i], out);
		FUZZ_CHECK(out[0] != '.' && out[len - 1] != '.' && !strstr(out, ".."),
			   "empty DNS label in \"%s\"", out);
	}
	/* A small buffer: must say -ENOSPC, never write past it. */
	rc = xlb_dns_domain_frag(name, frag, sizeof(frag));
	FUZZ_CHECK(rc == -EINVAL || rc == -ENOSPC || (rc > 0 && (size_t)rc == strlen(frag)),
		   "domain frag rc %d", rc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *key = fuzz_field(&data, &size, '\n');
	char *value = fuzz_field(&data, &size, '\n');
	char *framework = fuzz_str(data, size);
	struct xlb_vip_label vip;
	struct xlb_named_pool pool;
	struct xlb_vip_key vk;
	char err[256], q[64];
	unsigned int mask;
	int rc;

	memset(err, 0x55, sizeof(err));
	rc = xlb_vip_label_parse(key, value, &vip, err, sizeof(err));
	FUZZ_CHECK(rc == 0 || rc == -ENOENT || rc == -EINVAL, "label rc %d", rc);
	FUZZ_CHECK(rc != 0 || xlb_vip_key_is_vip(key), "parsed a label whose key is not VIP");
	if (rc == -EINVAL)
		FUZZ_CHECK(fuzz_terminated(err, sizeof(err)), "label error not terminated");
	if (!rc) {
		FUZZ_CHECK(vip.port >= 1, "port 0 accepted");
		if (vip.kind == XLB_VIP_IP) {
			FUZZ_CHECK(vip.family == XLB_AF_INET || vip.family == XLB_AF_INET6,
				   "IP VIP family %u", vip.family);
		} else {
			FUZZ_CHECK(vip.kind == XLB_VIP_NAMED, "kind %d", vip.kind);
			FUZZ_CHECK(fuzz_terminated(vip.name, sizeof(vip.name)) && vip.name[0],
				   "named VIP without a name");
			check_dns(vip.name, framework[0] ? framework : XLB_FRAMEWORK_DEFAULT);
		}
	}
	check_dns(value, framework);

	rc = xlb_proto_list_parse(value, &mask, err, sizeof(err));
	FUZZ_CHECK(rc || (mask && !(mask & ~(XLB_PROTO_BIT_TCP | XLB_PROTO_BIT_UDP))),
		   "protocol mask 0x%x", mask);
	rc = xlb_named_pool_parse(value, &pool, err, sizeof(err));
	if (!rc) {
		__u32 last;

		FUZZ_CHECK(pool.prefix_len >= 1 && pool.prefix_len <= 30, "prefix %u",
			   pool.prefix_len);
		FUZZ_CHECK(xlb_named_pool_capacity(&pool) >= 2, "pool capacity");
		/* Named VIPs get base+1 .. base+capacity: none of them may be multicast. */
		last = pool.base + xlb_named_pool_capacity(&pool);
		FUZZ_CHECK(pool.base + 1 > 0xefffffffu || last < 0xe0000000u,
			   "pool %08x/%u hands out multicast addresses", pool.base, pool.prefix_len);
	}
	rc = xlb_vip_key_parse(value, &vk, err, sizeof(err));
	if (!rc)
		FUZZ_CHECK((vk.family == XLB_AF_INET || vk.family == XLB_AF_INET6) &&
				   (vk.proto == XLB_PROTO_TCP || vk.proto == XLB_PROTO_UDP),
			   "vip key family %u proto %u", vk.family, vk.proto);
	xlb_mara_quote(value, 40, q, sizeof(q));
	FUZZ_CHECK(fuzz_terminated(q, sizeof(q)), "quote not terminated");

	free(key);
	free(value);
	free(framework);
	return 0;
}
