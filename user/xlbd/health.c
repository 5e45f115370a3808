// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Last known health per Marathon task (docs/marathon.md §0.5, §7.6). Marathon keeps
 * health results in the leader's memory, so right after a leader failover the
 * tasks of every app with health checks come without results. Draining them
 * all would empty the load balancer for nothing; instead each task's last
 * reported verdict is kept and used for hold_s after it was last reported,
 * after which the task counts as unknown (draining) as the model says. A hash
 * table keyed by task id; entries not reported for longer than the hold time
 * are dropped at the end of each model pass, so memory follows the cluster.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mara_labels.h"
#include "xlbd.h"

struct entry {
	struct entry *next;
	__u64 seen_ms; /* when a result was last reported */
	bool alive;
	char id[];
};

struct xlbd_health {
	struct entry **buckets;
	size_t nbuckets, count;
	__u64 hold_ms, now_ms;
	__u64 used;	       /* lookups answered from the cache in this pass */
	__u64 earliest_expiry; /* of the entries used in this pass */
};

static __u64 hash_str(const char *s)
{
	return xlb_fnv1a64(s, strlen(s));
}

int xlbd_health_new(struct xlbd_health **out, __u32 hold_s)
{
	struct xlbd_health *h = calloc(1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	h->nbuckets = 4096;
	h->buckets = calloc(h->nbuckets, sizeof(*h->buckets));
	if (!h->buckets) {
		free(h);
		return -ENOMEM;
	}
	h->hold_ms = (__u64)hold_s * 1000;
	*out = h;
	return 0;
}

void xlbd_health_free(struct xlbd_health *h)
{
	struct entry *e, *n;
	size_t i;

	if (!h)
		return;
	for (i = 0; i < h->nbuckets; i++)
		for (e = h->buckets[i]; e; e = n) {
			n = e->next;
			free(e);
		}
	free(h->buckets);
	free(h);
}

static void grow(struct xlbd_health *h)
{
	size_t nb = h->nbuckets * 2, i;
	struct entry **b = calloc(nb, sizeof(*b)), *e, *n;

	if (!b)
		return; /* longer chains, still correct */
	for (i = 0; i < h->nbuckets; i++)
		for (e = h->buckets[i]; e; e = n) {
			n = e->next;
			e->next = b[hash_str(e->id) & (nb - 1)];
			b[hash_str(e->id) & (nb - 1)] = e;
		}
	free(h->buckets);
	h->buckets = b;
	h->nbuckets = nb;
}

static struct entry *find(struct xlbd_health *h, const char *id)
{
	struct entry *e;

	for (e = h->buckets[hash_str(id) & (h->nbuckets - 1)]; e; e = e->next)
		if (!strcmp(e->id, id))
			return e;
	return NULL;
}

int xlbd_health_lookup(void *ctx, const char *task_id)
{
	struct xlbd_health *h = ctx;
	struct entry *e;

	if (!h || !task_id)
		return -ENOENT;
	e = find(h, task_id);
	if (!e || h->now_ms > e->seen_ms + h->hold_ms)
		return -ENOENT;
	h->used++;
	if (!h->earliest_expiry || e->seen_ms + h->hold_ms < h->earliest_expiry)
		h->earliest_expiry = e->seen_ms + h->hold_ms;
	return e->alive ? 1 : 0;
}

void xlbd_health_store(void *ctx, const char *task_id, bool alive)
{
	struct xlbd_health *h = ctx;
	struct entry *e;
	size_t len, b;

	if (!h || !task_id)
		return;
	e = find(h, task_id);
	if (!e) {
		len = strlen(task_id);
		e = malloc(sizeof(*e) + len + 1);
		if (!e)
			return;
		memcpy(e->id, task_id, len + 1);
		b = hash_str(task_id) & (h->nbuckets - 1);
		e->next = h->buckets[b];
		h->buckets[b] = e;
		if (++h->count > h->nbuckets * 2)
			grow(h);
	}
	e->seen_ms = h->now_ms;
	e->alive = alive;
}

void xlbd_health_begin(struct xlbd_health *h, __u64 now_ms)
{
	h->now_ms = now_ms;
	h->used = 0;
	h->earliest_expiry = 0;
}

__u64 xlbd_health_end(struct xlbd_health *h, __u64 *used, __u64 *entries)
{
	struct entry **pp, *e;
	size_t i;

	for (i = 0; i < h->nbuckets; i++) {
		pp = &h->buckets[i];
		while ((e = *pp)) {
			if (h->now_ms > e->seen_ms + h->hold_ms) {
				*pp = e->next;
				free(e);
				h->count--;
			} else {
				pp = &e->next;
			}
		}
	}
	if (used)
		*used = h->used;
	if (entries)
		*entries = h->count;
	return h->earliest_expiry;
}
