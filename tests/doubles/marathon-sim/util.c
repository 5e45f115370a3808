// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Small helpers for marathon-sim: clocks and Marathon's timestamp format, ids in
 * the shape Marathon uses, a seeded generator (so a scenario with a seed gives
 * the same host ports every run), the one-line stderr log and the Mesos task
 * state names.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>

#include "sim.h"

uint64_t sim_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Marathon's Timestamp.toString: ISO 8601, UTC, milliseconds, "Z". */
void sim_iso_now(char out[SIM_TS_LEN])
{
	struct timespec ts;
	struct tm tm;
	char base[24];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, SIM_TS_LEN, "%.23s.%03uZ", base, (unsigned int)(ts.tv_nsec / 1000000) % 1000);
}

/*
 * Marathon's instance ids carry time-based (version 1) UUIDs; the exact bits do
 * not matter to clients, only the 8-4-4-4-12 shape, so random bytes with the
 * version and variant nibbles set do.
 */
void sim_uuid(char out[37])
{
	unsigned char b[16];
	size_t i;

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
		for (i = 0; i < sizeof(b); i++)
			b[i] = (unsigned char)sim_rand();
	}
	b[6] = (b[6] & 0x0f) | 0x10;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
}

/* xorshift64*; callers hold sim.lock. */
uint32_t sim_rand(void)
{
	uint64_t x = sim.rng ? sim.rng : 0x9e3779b97f4a7c15ull;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	sim.rng = x;
	return (uint32_t)((x * 0x2545f4914f6cdd1dull) >> 32);
}

void sim_log(const char *fmt, ...)
{
	uint64_t t = sim_now_ms() - sim.started_ms;
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One fprintf per line so that lines from different threads do not interleave. */
	fprintf(stderr, SIM_NAME ": [%5llu.%03llu] %s\n", (unsigned long long)(t / 1000),
		(unsigned long long)(t % 1000), line);
}

static const char *const state_names[SIM_TASK_NSTATES] = {
    [SIM_TASK_STAGING] = "TASK_STAGING",
    [SIM_TASK_STARTING] = "TASK_STARTING",
    [SIM_TASK_RUNNING] = "TASK_RUNNING",
    [SIM_TASK_KILLING] = "TASK_KILLING",
    [SIM_TASK_UNREACHABLE] = "TASK_UNREACHABLE",
    [SIM_TASK_FINISHED] = "TASK_FINISHED",
    [SIM_TASK_FAILED] = "TASK_FAILED",
    [SIM_TASK_KILLED] = "TASK_KILLED",
    [SIM_TASK_ERROR] = "TASK_ERROR",
    [SIM_TASK_GONE] = "TASK_GONE",
    [SIM_TASK_DROPPED] = "TASK_DROPPED",
    [SIM_TASK_UNKNOWN] = "TASK_UNKNOWN",
    [SIM_TASK_LOST] = "TASK_LOST",
};

/* Marathon's instance Condition names, as instance_changed_event spells them. */
static const char *const condition_names[SIM_TASK_NSTATES] = {
    [SIM_TASK_STAGING] = "Staging",
    [SIM_TASK_STARTING] = "Starting",
    [SIM_TASK_RUNNING] = "Running",
    [SIM_TASK_KILLING] = "Killing",
    [SIM_TASK_UNREACHABLE] = "Unreachable",
    [SIM_TASK_FINISHED] = "Finished",
    [SIM_TASK_FAILED] = "Failed",
    [SIM_TASK_KILLED] = "Killed",
    [SIM_TASK_ERROR] = "Error",
    [SIM_TASK_GONE] = "Gone",
    [SIM_TASK_DROPPED] = "Dropped",
    [SIM_TASK_UNKNOWN] = "Unknown",
    [SIM_TASK_LOST] = "Unreachable",
};

const char *sim_state_name(enum sim_task_state s)
{
	return s < SIM_TASK_NSTATES ? state_names[s] : "TASK_UNKNOWN";
}

const char *sim_condition_name(enum sim_task_state s)
{
	return s < SIM_TASK_NSTATES ? condition_names[s] : "Unknown";
}

/* Accepts "TASK_RUNNING" and "running" alike. */
int sim_state_parse(const char *name, enum sim_task_state *out)
{
	int i;

	if (!name)
		return -EINVAL;
	for (i = 0; i < SIM_TASK_NSTATES; i++) {
		if (!strcasecmp(name, state_names[i]) || !strcasecmp(name, state_names[i] + 5)) {
			*out = (enum sim_task_state)i;
			return 0;
		}
	}
	return -EINVAL;
}

bool sim_state_terminal(enum sim_task_state s)
{
	switch (s) {
	case SIM_TASK_FINISHED:
	case SIM_TASK_FAILED:
	case SIM_TASK_KILLED:
	case SIM_TASK_ERROR:
	case SIM_TASK_GONE:
	case SIM_TASK_DROPPED:
	case SIM_TASK_UNKNOWN:
	case SIM_TASK_LOST:
		return true;
	default:
		return false;
	}
}

/* Asks the main thread to re-check whether the listener should be open. */
void sim_wake_main(void)
{
	uint64_t one = 1;

	if (sim.wake_fd >= 0 && write(sim.wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		sim_log("wake main thread: %s", strerror(errno));
}
