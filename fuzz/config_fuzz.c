// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target: the xlbd configuration file and the command-line value
 * parsers. The whole input is parsed as a config document over the defaults:
 * it must succeed, or fail with at least one terminated "PATH: message"
 * error; a success must hold static VIPs in order and interfaces with names
 * that fit. Each line of the input is also tried as an interface, URL list,
 * listen address and endpoint, as if given on the command line.
 */
#include <errno.h>

#include "addr.h"
#include "config.h"
#include "fuzz.h"

static void check_line(const char *s)
{
	struct xlb_cfg_iface ifc;
	union xlb_addr addr;
	struct xlb_cfg cfg;
	char err[256], *url;
	__be16 port;
	__u8 fam;

	if (!xlb_cfg_iface_parse(s, &ifc, err, sizeof(err)))
		FUZZ_CHECK(fuzz_terminated(ifc.name, sizeof(ifc.name)) && ifc.name[0],
			   "interface name");
	xlb_cfg_listen_check(s, err, sizeof(err));
	if (!xlb_cfg_endpoint_parse(s, &addr, &port, &fam))
		FUZZ_CHECK(fam == XLB_AF_INET || fam == XLB_AF_INET6, "endpoint family %u", fam);
	url = strdup(s);
	if (url && !xlb_cfg_url_check(url, err, sizeof(err)))
		FUZZ_CHECK(!url[0] || url[strlen(url) - 1] != '/', "URL keeps a trailing '/'");
	free(url);
	if (!xlb_cfg_init(&cfg)) {
		xlb_cfg_set_urls(&cfg, s, err, sizeof(err));
		xlb_cfg_free(&cfg);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xlb_cfg_errors errs = { 0 };
	struct xlb_cfg cfg;
	size_t i;
	int rc;

	FUZZ_CHECK(xlb_cfg_init(&cfg) == 0, "cfg init");
	rc = xlb_cfg_parse(&cfg, (const char *)data, size, "fuzz.json", &errs);
	FUZZ_CHECK(rc == 0 || rc == -EINVAL, "parse rc %d", rc);
	FUZZ_CHECK((rc == 0) == (errs.n == 0), "rc %d with %zu errors", rc, errs.n);
	for (i = 0; i < errs.n; i++)
		FUZZ_CHECK(errs.msgs[i] && errs.msgs[i][0], "empty error %zu", i);
	if (!rc) {
		for (i = 0; i < cfg.vips.nr_vips; i++) {
			const struct xlb_plan_vip *v = &cfg.vips.vips[i];
			size_t j;

			FUZZ_CHECK(!i || xlb_vip_key_cmp(&cfg.vips.vips[i - 1].key, &v->key) < 0,
				   "static VIPs %zu, %zu out of order or duplicate", i - 1, i);
			FUZZ_CHECK(xlb_plan_state_find(&cfg.vips, &v->key) == v, "VIP %zu not found",
				   i);
			for (j = 0; j < v->nr_backends; j++)
				FUZZ_CHECK(!j || xlb_plan_backend_cmp(&v->backends[j - 1],
								      &v->backends[j]) < 0,
					   "VIP %zu backends %zu, %zu out of order", i, j - 1, j);
		}
		for (i = 0; i < cfg.nr_ifaces; i++)
			FUZZ_CHECK(fuzz_terminated(cfg.ifaces[i].name, XLB_CFG_IFNAMSIZ) &&
					   cfg.ifaces[i].name[0],
				   "interface %zu name", i);
	}
	xlb_cfg_errors_free(&errs);
	xlb_cfg_free(&cfg);

	if (size <= 512) {
		while (size) {
			char *line = fuzz_field(&data, &size, '\n');

			check_line(line);
			free(line);
		}
	}
	return 0;
}
