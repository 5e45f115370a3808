// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The bridge from the Marathon model (mara_model.h) to planner VIPs, apart from
 * planner.c so that the planner's diff and writer never depend on the model:
 * a static-only xlbd, and the planner's tests, link without it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mara_model.h"
#include "planner.h"

/* "/a,/b,/c": every distinct app or pod id claiming the service, in origin order. */
static void origins_str(const struct xlb_mara_service *s, char *out, size_t len)
{
	size_t i, j, used = 0;
	int n;

	out[0] = '\0';
	for (i = 0; i < s->nr_origins; i++) {
		const char *id = s->origins[i].run_id ? s->origins[i].run_id : "";

		for (j = 0; j < i; j++)
			if (s->origins[j].run_id && !strcmp(s->origins[j].run_id, id))
				break;
		if (j < i)
			continue;
		n = snprintf(out + used, len - used, "%s%s", used ? "," : "", id);
		if (n < 0 || (size_t)n >= len - used) {
			/* Mark the cut so a reader never takes a prefix for a whole id. */
			if (len > 4)
				memcpy(out + len - 4, "...", 4);
			return;
		}
		used += n;
	}
}

int xlb_plan_from_marathon(const struct xlb_mara_model *model, __u16 flags, __u8 mode,
			   struct xlb_plan_state *out)
{
	struct xlb_plan_backend *bes = NULL;
	size_t i, j, cap = 0;
	char err[160];
	int ret = 0;

	xlb_plan_state_init(out);
	for (i = 0; i < model->nr_services; i++) {
		const struct xlb_mara_service *s = &model->services[i];
		struct xlb_plan_vip v;

		memset(&v, 0, sizeof(v));
		v.key = s->key;
		v.flags = flags;
		v.mode = s->mode == XLB_MARA_MODE_DEFAULT ? mode : (__u8)s->mode;
		v.source = XLB_PLAN_SRC_MARATHON;
		if (s->dns_name)
			snprintf(v.name, sizeof(v.name), "%s", s->dns_name);
		origins_str(s, v.app, sizeof(v.app));
		if (s->nr_backends > cap) {
			free(bes);
			cap = s->nr_backends * 2;
			bes = malloc(cap * sizeof(*bes));
			if (!bes) {
				ret = -ENOMEM;
				goto cleanup;
			}
		}
		for (j = 0; j < s->nr_backends; j++) {
			memset(&bes[j], 0, sizeof(bes[j]));
			bes[j].addr = s->backends[j].addr;
			bes[j].port = s->backends[j].port;
			bes[j].family = s->backends[j].family;
			bes[j].state = s->backends[j].state;
			bes[j].weight = s->backends[j].weight;
			bes[j].agent = s->backends[j].agent;
			bes[j].agent_family = s->backends[j].agent_family;
		}
		v.backends = bes;
		v.nr_backends = s->nr_backends;
		ret = xlb_plan_state_add(out, &v);
		if (ret)
			goto cleanup;
	}
	/* The model is sorted and unique already; finishing normalises weights. */
	ret = xlb_plan_state_finish(out, err, sizeof(err));
cleanup:
	free(bes);
	if (ret)
		xlb_plan_state_free(out);
	return ret;
}
