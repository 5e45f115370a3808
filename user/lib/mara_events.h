/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Marathon's event stream, one event at a time: which type it is and whether
 * it can change what the load balancer serves (docs/marathon.md §4.3). This is
 * the source's side of Marathon, next to the SSE reader: the model never sees
 * events, only the snapshots an event makes the source fetch again.
 */
#ifndef XLB_MARA_EVENTS_H
#define XLB_MARA_EVENTS_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Reads "eventType" from one event's data (the first JSON value; old Marathons
 * sent several per event) into type (truncated to typelen). Returns 0, or
 * -EINVAL when the data is not a JSON object with a string eventType.
 */
int xlb_mara_event_type(const char *data, size_t len, char *type, size_t typelen);

/* True for event types after which the load balancer state must be re-read. */
bool xlb_mara_event_relevant(const char *event_type);

#endif /* XLB_MARA_EVENTS_H */
