// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xlbd's event loop: one epoll set holding a timerfd (all of the daemon's
 * timers multiplexed onto it, earliest first), a signalfd (SIGTERM, SIGINT,
 * SIGHUP) and whatever fds the units add (libcurl's sockets). One thread does
 * everything that writes maps, so no write ever races another. The loop knows
 * no unit: it calls what was registered (timers, fds, one SIGHUP hook).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>

#include "log.h"
#include "xlbd.h"

#define MAX_FDS 1024

struct fd_slot {
	xlbd_fd_fn fn;
	void *arg;
	bool used;
};

/* Indexed by fd: libcurl's sockets are few and small-numbered. */
static struct fd_slot fd_slots[MAX_FDS];

__u64 xlbd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

__u64 xlbd_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

double xlbd_wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int xlbd_loop_init(struct xlbd *d)
{
	struct epoll_event ev = {.events = EPOLLIN};
	sigset_t set;
	int err;

	d->epfd = d->tfd = d->sfd = -1;
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	d->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	/* Blocked before any thread starts, so only the signalfd ever sees them. */
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (d->epfd < 0 || d->tfd < 0 || d->sfd < 0) {
		err = -errno;
		pr_err("event loop: %s", strerror(-err));
		return err;
	}
	ev.data.fd = d->tfd;
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->tfd, &ev))
		return -errno;
	ev.data.fd = d->sfd;
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->sfd, &ev))
		return -errno;
	return 0;
}

void xlbd_loop_fini(struct xlbd *d)
{
	if (d->epfd >= 0)
		close(d->epfd);
	if (d->tfd >= 0)
		close(d->tfd);
	if (d->sfd >= 0)
		close(d->sfd);
	d->epfd = d->tfd = d->sfd = -1;
}

int xlbd_timer_add(struct xlbd *d, struct xlbd_timer *t)
{
	if (d->nr_timers >= XLBD_MAX_TIMERS)
		return -ENOSPC;
	d->timers[d->nr_timers++] = t;
	return 0;
}

void xlbd_timer_set(struct xlbd_timer *t, __u64 due_ms)
{
	t->due_ms = due_ms;
}

void xlbd_timer_at_most(struct xlbd_timer *t, __u64 delay_ms)
{
	__u64 due = xlbd_now_ms() + delay_ms;

	if (!t->due_ms || t->due_ms > due)
		t->due_ms = due;
}

int xlbd_loop_fd(struct xlbd *d, int fd, __u32 events, xlbd_fd_fn fn, void *arg)
{
	struct epoll_event ev = {.events = events, .data.fd = fd};
	int op;

	if (fd < 0 || fd >= MAX_FDS)
		return -EMFILE;
	if (!events) {
		if (!fd_slots[fd].used)
			return 0;
		fd_slots[fd].used = false;
		/* libcurl may have closed it already: EBADF/ENOENT are fine. */
		epoll_ctl(d->epfd, EPOLL_CTL_DEL, fd, NULL);
		return 0;
	}
	op = fd_slots[fd].used ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(d->epfd, op, fd, &ev)) {
		if (op == EPOLL_CTL_MOD && errno == ENOENT)
			op = EPOLL_CTL_ADD;
		else if (op == EPOLL_CTL_ADD && errno == EEXIST)
			op = EPOLL_CTL_MOD;
		else
			return -errno;
		if (epoll_ctl(d->epfd, op, fd, &ev))
			return -errno;
	}
	fd_slots[fd].fn = fn;
	fd_slots[fd].arg = arg;
	fd_slots[fd].used = true;
	return 0;
}

void xlbd_loop_on_hup(struct xlbd *d, xlbd_hup_fn fn, void *arg)
{
	d->hup_fn = fn;
	d->hup_arg = fn ? arg : NULL;
}

/* Points the timerfd at the earliest armed timer. */
static void rearm(struct xlbd *d)
{
	struct itimerspec its = {};
	__u64 due = 0;
	int i;

	for (i = 0; i < d->nr_timers; i++)
		if (d->timers[i]->due_ms && (!due || d->timers[i]->due_ms < due))
			due = d->timers[i]->due_ms;
	if (due == d->armed_ms)
		return;
	d->armed_ms = due;
	if (due) {
		its.it_value.tv_sec = due / 1000;
		its.it_value.tv_nsec = (due % 1000) * 1000000;
		/* it_value of zero would disarm: the epoch of CLOCK_MONOTONIC is boot, never 0 ms
		 */
	}
	timerfd_settime(d->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void fire_timers(struct xlbd *d)
{
	__u64 now = xlbd_now_ms();
	int i;

	for (i = 0; i < d->nr_timers; i++) {
		struct xlbd_timer *t = d->timers[i];

		if (t->due_ms && t->due_ms <= now) {
			t->due_ms = 0;
			t->fn(d, t->arg);
		}
	}
}

static void on_signal(struct xlbd *d)
{
	struct signalfd_siginfo si;

	while (read(d->sfd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			pr_info("signal %s: exiting; programs stay attached and maps pinned",
				si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
			d->quit = true;
			break;
		case SIGHUP:
			/* A full resync is the only state-changing thing SIGHUP may ask for. */
			pr_info("signal SIGHUP: full resync");
			if (d->hup_fn)
				d->hup_fn(d, d->hup_arg);
			break;
		}
	}
}

int xlbd_loop_run(struct xlbd *d)
{
	struct epoll_event evs[64];
	__u64 exp;
	int n, i, fd;

	while (!d->quit) {
		rearm(d);
		n = epoll_wait(d->epfd, evs, 64, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			pr_err("epoll_wait: %s", strerror(errno));
			return -errno;
		}
		for (i = 0; i < n && !d->quit; i++) {
			fd = evs[i].data.fd;
			if (fd == d->tfd) {
				while (read(d->tfd, &exp, sizeof(exp)) == sizeof(exp))
					;
				d->armed_ms = 0;
			} else if (fd == d->sfd) {
				on_signal(d);
			} else if (fd >= 0 && fd < MAX_FDS && fd_slots[fd].used) {
				fd_slots[fd].fn(d, fd, evs[i].events, fd_slots[fd].arg);
			}
		}
		/* Timers are checked every round: a busy socket must not starve them. */
		fire_timers(d);
	}
	return 0;
}
