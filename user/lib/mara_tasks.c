// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * One task (or pod container) of the Marathon model as backends: whether it
 * serves and in which state, the health rules of docs/marathon.md §7.4 with
 * the daemon's last-known cache for leader failovers (§0.5, §7.6), the agent
 * host resolved once per build and family, and the backend added to every
 * claim of the port it serves, with a warning when its family cannot serve one.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <jansson.h>

#include "mara_build.h"

/* ------------------------------------------------------------------------------------------ */
/* Host resolution, cached per build: many tasks share an agent.                               */

int xlb_mara_resolve_getaddrinfo(void *ctx, const char *host, __u8 family_hint,
				 union xlb_addr *addr, __u8 *family)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL, *ai, *pick = NULL;
	int rc;

	(void)ctx;
	rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc)
		return rc == EAI_NONAME || rc == EAI_NODATA ? -ENOENT : -EAGAIN;
	for (ai = res; ai; ai = ai->ai_next) {
		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		if (!pick)
			pick = ai;
		if (ai->ai_family == family_hint) {
			pick = ai;
			break;
		}
	}
	if (!pick) {
		freeaddrinfo(res);
		return -ENOENT;
	}
	memset(addr, 0, sizeof(*addr));
	if (pick->ai_family == AF_INET) {
		addr->v4 = ((const struct sockaddr_in *)pick->ai_addr)->sin_addr.s_addr;
		*family = XLB_AF_INET;
	} else {
		memcpy(addr->bytes, &((const struct sockaddr_in6 *)pick->ai_addr)->sin6_addr, 16);
		*family = XLB_AF_INET6;
	}
	freeaddrinfo(res);
	return 0;
}

/* Address literal? Then no resolver is involved. */
static bool parse_literal(const char *s, union xlb_addr *addr, __u8 *family)
{
	memset(addr, 0, sizeof(*addr));
	if (inet_pton(AF_INET, s, &addr->v4) == 1) {
		*family = XLB_AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, s, addr->bytes) == 1) {
		*family = XLB_AF_INET6;
		return true;
	}
	return false;
}

/*
 * Resolves a task host for a service of family hint. Warns once per (host,
 * family) per build, naming the first task that needed it.
 */
static int resolve_host(struct build *b, const char *what, const char *task_id, const char *host,
			__u8 hint, union xlb_addr *addr, __u8 *family, bool quiet)
{
	size_t h = (size_t)((xlb_fnv1a64(host, strlen(host)) ^ hint) % HOST_BUCKETS);
	char qh[QBUF], qt[QBUF];
	struct host_entry *e;

	if (parse_literal(host, addr, family))
		return 0;
	for (e = b->hosts[h]; e; e = e->next) {
		if (e->hint == hint && !strcmp(e->host, host))
			break;
	}
	if (!e) {
		xlb_mara_resolve_fn fn =
		    b->o->resolve ? b->o->resolve : xlb_mara_resolve_getaddrinfo;

		e = calloc(1, sizeof(*e));
		if (!e || !(e->host = strdup(host))) {
			free(e);
			b->oom = -ENOMEM;
			return -ENOMEM;
		}
		e->hint = hint;
		e->rc = fn(b->o->resolve_ctx, host, hint, &e->addr, &e->family);
		if (!e->rc && e->family != XLB_AF_INET && e->family != XLB_AF_INET6)
			e->rc = -EAFNOSUPPORT;
		e->next = b->hosts[h];
		b->hosts[h] = e;
		if (e->rc && quiet)
			mara_warn(b,
				  "%s task %s: host \"%s\" does not resolve (%s): its agent is "
				  "unknown, DSR flows to it are translated as in NAT mode",
				  what, xlb_mara_quote(task_id, Q_MAX, qt, sizeof(qt)),
				  xlb_mara_quote(host, Q_MAX, qh, sizeof(qh)),
				  e->rc == -ENOENT   ? "no such host"
				  : e->rc == -EAGAIN ? "temporary resolver failure"
						     : strerror(-e->rc));
		else if (e->rc)
			mara_warn(b,
				  "%s task %s: host \"%s\" does not resolve (%s): backend skipped",
				  what, xlb_mara_quote(task_id, Q_MAX, qt, sizeof(qt)),
				  xlb_mara_quote(host, Q_MAX, qh, sizeof(qh)),
				  e->rc == -ENOENT   ? "no such host"
				  : e->rc == -EAGAIN ? "temporary resolver failure"
						     : strerror(-e->rc));
	}
	if (e->rc)
		return e->rc;
	*addr = e->addr;
	*family = e->family;
	return 0;
}

void mara_hosts_free(struct build *b)
{
	size_t i;

	for (i = 0; i < HOST_BUCKETS; i++) {
		while (b->hosts[i]) {
			struct host_entry *e = b->hosts[i];

			b->hosts[i] = e->next;
			free(e->host);
			free(e);
		}
	}
}

/*
 * The health part of §7.4 once the task is running: no checks -> active;
 * reported results decide; none reported -> the daemon's last-known cache, and
 * without one the task drains (never route before the first passing check).
 */
void mara_decide_health(struct build *b, const char *task_id, bool has_checks, int reported,
			struct task_state *ts)
{
	int cached;

	if (!has_checks) {
		ts->health = XLB_HEALTH_NONE;
		return;
	}
	if (reported >= 0) {
		ts->health = reported ? XLB_HEALTH_ALIVE : XLB_HEALTH_FAILED;
		ts->draining = !reported;
		if (b->o->health_store && task_id)
			b->o->health_store(b->o->health_ctx, task_id, reported);
		return;
	}
	cached = b->o->health_lookup && task_id ? b->o->health_lookup(b->o->health_ctx, task_id)
						: -ENOENT;
	if (cached == 1) {
		ts->health = XLB_HEALTH_CACHED_ALIVE;
	} else if (cached == 0) {
		ts->health = XLB_HEALTH_CACHED_FAILED;
		ts->draining = true;
	} else {
		ts->health = XLB_HEALTH_UNKNOWN;
		ts->draining = true;
	}
}

static struct xlb_mara_backend *claim_add_backend(struct build *b, struct claim *c,
						  const union xlb_addr *addr, __u8 family,
						  __u16 port, const struct task_state *ts,
						  __u16 weight, const char *task_id)
{
	struct xlb_mara_backend *be;

	if (!mara_grow(b, (void **)&c->bes, &c->cap_bes, c->nr_bes + 1, sizeof(*be)))
		return NULL;
	be = &c->bes[c->nr_bes++];
	memset(be, 0, sizeof(*be));
	be->addr = *addr;
	be->family = family;
	be->port = htons(port);
	be->weight = ts->draining ? 0 : weight;
	be->state = be->weight ? XLB_BE_ACTIVE : XLB_BE_DRAINING;
	be->health = ts->health;
	be->task_id = mara_strdup(b, task_id);
	return be;
}

/*
 * Adds one task's backend on endpoint ep to the claims of a port. EP_HOST
 * resolves host for each claim's family; EP_CONTAINER takes the first address
 * of that family from ips (Marathon's ipAddresses or a pod network's
 * addresses), else the first one, and a family mismatch is reported.
 */
void mara_task_backends(struct build *b, const char *what, int i, const struct port_claims *pc,
			const struct endpoint *ep, const struct task_addrs *ta,
			const struct task_state *ts, __u16 weight, const char *task_id)
{
	char qt[QBUF], as[INET6_ADDRSTRLEN], ks[INET6_ADDRSTRLEN + 16];
	struct xlb_mara_backend *be;
	union xlb_addr agent = {};
	__u8 agent_family = 0;
	size_t k, j;

	for (k = 0; k < pc->n; k++) {
		struct claim *c = &b->claims[pc->first + k];
		union xlb_addr addr;
		__u8 family = 0;
		bool found = false;

		if (ep->kind == EP_HOST) {
			if (!ta->host || !*ta->host) {
				mara_warn(b, "%s task %s: no host: backend skipped", what,
					  xlb_mara_quote(task_id, Q_MAX, qt, sizeof(qt)));
				return;
			}
			if (resolve_host(b, what, task_id, ta->host, c->family, &addr, &family,
					 false))
				continue;
		} else {
			for (j = 0; j < ta->nr_ips && !found; j++) {
				if (parse_literal(ta->ips[j], &addr, &family) &&
				    family == c->family)
					found = true;
			}
			if (!found && !(ta->nr_ips && parse_literal(ta->ips[0], &addr, &family))) {
				mara_warn(
				    b,
				    "%s port %d task %s: no container IP address yet: backend "
				    "skipped",
				    what, i, xlb_mara_quote(task_id, Q_MAX, qt, sizeof(qt)));
				return;
			}
		}
		if (family != c->family) {
			struct xlb_vip_key key = {.family = c->family, .port = htons(c->port)};

			key.addr = c->addr;
			key.proto = c->protos & XLB_PROTO_BIT_TCP ? XLB_PROTO_TCP : XLB_PROTO_UDP;
			mara_warn(
			    b, "%s port %d task %s: backend %s is %s, %s %s is %s: backend skipped",
			    what, i, xlb_mara_quote(task_id, Q_MAX, qt, sizeof(qt)),
			    mara_addr_str(&addr, family, as, sizeof(as)), mara_family_str(family),
			    c->kind == XLB_SVC_NAMED_VIP ? "named VIP" : "service",
			    c->kind == XLB_SVC_NAMED_VIP ? c->dns
							 : xlb_vip_key_str(&key, ks, sizeof(ks)),
			    mara_family_str(c->family));
			continue;
		}
		be = claim_add_backend(b, c, &addr, family, ep->port, ts, weight, task_id);
		if (!be)
			return;
		/* DSR's agent: the host itself, or the container's host as it resolves. */
		if (ep->kind == EP_HOST) {
			agent = addr;
			agent_family = family;
		} else if (!agent_family && ta->host && *ta->host &&
			   resolve_host(b, what, task_id, ta->host, c->family, &agent,
					&agent_family, true)) {
			agent_family = 0;
		}
		be->agent = agent;
		be->agent_family = agent_family;
	}
}
