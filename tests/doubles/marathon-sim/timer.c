// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The clock of the simulated cluster: one thread runs due timers (a task
 * leaving staging, a first health probe, a kill grace ending, a down period
 * ending) in deadline order under sim.lock. Timers name their task by serial,
 * so a timer whose task or app is gone by then is a harmless no-op, and nothing
 * ever has to cancel one.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "sim.h"

int sim_timer_add(uint64_t delay_ms, enum sim_timer_kind kind, uint64_t serial, uint64_t gen)
{
	struct sim_timer *t = calloc(1, sizeof(*t));
	struct sim_timer **pp;

	if (!t) {
		sim_log("timer: out of memory");
		return -ENOMEM;
	}
	t->due = sim_now_ms() + delay_ms;
	t->kind = kind;
	t->serial = serial;
	t->gen = gen;
	/* Equal deadlines fire in the order they were set. */
	for (pp = &sim.timers; *pp && (*pp)->due <= t->due; pp = &(*pp)->next)
		;
	t->next = *pp;
	*pp = t;
	pthread_cond_signal(&sim.timer_cond);
	return 0;
}

void sim_timers_clear(void)
{
	struct sim_timer *t, *n;

	for (t = sim.timers; t; t = n) {
		n = t->next;
		free(t);
	}
	sim.timers = NULL;
}

int sim_timer_count(void)
{
	struct sim_timer *t;
	int n = 0;

	for (t = sim.timers; t; t = t->next)
		n++;
	return n;
}

void *sim_timer_thread(void *arg)
{
	struct timespec ts;
	struct sim_timer *t;
	uint64_t now;
	bool changed = false;

	(void)arg;
	pthread_mutex_lock(&sim.lock);
	while (!sim.quit) {
		now = sim_now_ms();
		t = sim.timers;
		if (t && t->due <= now) {
			sim.timers = t->next;
			sim_timer_fire(t);
			free(t);
			changed = true;
			continue;
		}
		/* Persist once per burst of timers rather than after each one. */
		if (changed) {
			sim_state_save();
			changed = false;
		}
		if (!t) {
			pthread_cond_wait(&sim.timer_cond, &sim.lock);
			continue;
		}
		ts.tv_sec = (time_t)(t->due / 1000);
		ts.tv_nsec = (long)(t->due % 1000) * 1000000;
		pthread_cond_timedwait(&sim.timer_cond, &sim.lock, &ts);
	}
	pthread_mutex_unlock(&sim.lock);
	return NULL;
}
