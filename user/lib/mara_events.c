// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Marathon's event stream, classified one event at a time for the source
 * (user/xlbd/marathon.c): the event's type and whether it can change what the
 * load balancer serves. An event only makes the source fetch the snapshots
 * again; the model never reads events.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "mara_events.h"

static const char *jstr(const json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

int xlb_mara_event_type(const char *data, size_t len, char *type, size_t typelen)
{
	json_error_t jerr;
	const char *t;
	json_t *root;

	if (!data || !type || !typelen)
		return -EINVAL;
	type[0] = '\0';
	/* Old Marathons put several JSON values in one event; the first one tells the type. */
	root = json_loadb(data, len, JSON_DISABLE_EOF_CHECK, &jerr);
	if (!root)
		return -EINVAL;
	t = jstr(root, "eventType");
	if (!t) {
		json_decref(root);
		return -EINVAL;
	}
	snprintf(type, typelen, "%s", t);
	json_decref(root);
	return 0;
}

bool xlb_mara_event_relevant(const char *event_type)
{
	/* docs/marathon.md §4.3 "Relevant filter": anything that can change VIPs, tasks or health.
	 */
	static const char *const relevant[] = {
	    "status_update_event",
	    "instance_changed_event",
	    "instance_health_changed_event",
	    "health_status_changed_event",
	    "unhealthy_instance_kill_event",
	    "unhealthy_task_kill_event",
	    "api_post_event",
	    "app_terminated_event",
	    "pod_created_event",
	    "pod_updated_event",
	    "pod_deleted_event",
	    "deployment_success",
	    "deployment_step_success",
	};
	size_t i;

	if (!event_type)
		return false;
	for (i = 0; i < sizeof(relevant) / sizeof(relevant[0]); i++) {
		if (!strcmp(event_type, relevant[i]))
			return true;
	}
	return false;
}
