// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The terminal side of watch mode, like top: keys are read one at a time
 * without echo, each frame is drawn over the last one (cursor home, every line
 * cleared to its end, the rest of the screen cleared) and clipped to the
 * window so a long table never scrolls the screen. The terminal is put back
 * however lbstat ends: normal exit, q, SIGINT/SIGTERM/SIGHUP, and around a
 * Ctrl-Z suspension. Without the alternate screen the last frame stays
 * visible after exit, as top leaves it.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include "lbstat.h"

#define ESC "\033"

static struct termios saved;
static bool raw_on, screen_on;
static volatile sig_atomic_t quit_sig, redraw;

static void raw_enter(void)
{
	struct termios t = saved;

	/* ISIG stays on: Ctrl-C and Ctrl-Z keep working and reach the handlers below. */
	t.c_lflag &= ~(ICANON | ECHO);
	t.c_cc[VMIN] = 0;
	t.c_cc[VTIME] = 0;
	tcsetattr(STDIN_FILENO, TCSANOW, &t);
}

static void on_quit(int sig)
{
	quit_sig = sig;
}

static void on_winch(int sig)
{
	redraw = 1;
}

static void on_tstp(int sig);

static void handlers(void)
{
	struct sigaction sa = { 0 };

	/* No SA_RESTART: a signal must cut the wait for the next sample short. */
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_quit;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = on_winch;
	sigaction(SIGWINCH, &sa, NULL);
	sa.sa_handler = on_tstp;
	sigaction(SIGTSTP, &sa, NULL);
}

/* Ctrl-Z: give the shell its terminal back, stop, and take it again on SIGCONT. */
static void on_tstp(int sig)
{
	static const char show[] = ESC "[?25h";
	int saved_errno = errno;
	sigset_t set;

	if (raw_on)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	if (write(STDOUT_FILENO, show, sizeof(show) - 1) < 0) {
		/* nothing to do about it in a signal handler */
	}
	signal(SIGTSTP, SIG_DFL);
	/* The handler runs with SIGTSTP blocked: unblock it, or raise() would only queue it. */
	sigemptyset(&set);
	sigaddset(&set, SIGTSTP);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(SIGTSTP);
	/* Continued. */
	handlers();
	if (raw_on)
		raw_enter();
	redraw = 1;
	errno = saved_errno;
}

int lbs_term_begin(void)
{
	if (isatty(STDIN_FILENO) && !tcgetattr(STDIN_FILENO, &saved)) {
		raw_on = true;
		raw_enter();
	}
	handlers();
	screen_on = true;
	atexit(lbs_term_end);
	fputs(ESC "[?25l" ESC "[H" ESC "[2J", stdout);
	fflush(stdout);
	return 0;
}

void lbs_term_end(void)
{
	if (screen_on) {
		fputs(ESC "[?25h", stdout);
		fflush(stdout);
		screen_on = false;
	}
	if (raw_on) {
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
		raw_on = false;
	}
}

bool lbs_term_quit_requested(void)
{
	return quit_sig != 0;
}

int lbs_term_wait(__u64 timeout_ns)
{
	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	struct timespec ts = { .tv_sec = timeout_ns / LBS_NSEC_PER_SEC,
			       .tv_nsec = timeout_ns % LBS_NSEC_PER_SEC };
	unsigned char buf[32];
	ssize_t n;
	int rc;

	if (quit_sig)
		return -1;
	if (redraw) {
		redraw = 0;
		return '\f';
	}
	rc = ppoll(&pfd, raw_on ? 1 : 0, &ts, NULL);
	if (quit_sig)
		return -1;
	if (rc < 0) {
		if (errno != EINTR)
			return -1;
		if (redraw) {
			redraw = 0;
			return '\f'; /* the window changed: draw the same sample again */
		}
		return 0;
	}
	if (!rc)
		return 0;
	n = read(STDIN_FILENO, buf, sizeof(buf));
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		return -1; /* the terminal went away */
	if (n < 0)
		return 0;
	/* Escape sequences (arrow keys and the like) mean nothing here. */
	if (buf[0] == 0x1b)
		return 0;
	return buf[0];
}

void lbs_term_draw(const char *body, size_t len)
{
	struct winsize ws = { 0 };
	size_t rows = 24, cols = 80, row = 0, l;
	const char *p = body, *end = body + len, *nl;

	if (!ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_row && ws.ws_col) {
		rows = ws.ws_row;
		cols = ws.ws_col;
	}
	fputs(ESC "[H", stdout);
	while (p < end && row < rows) {
		nl = memchr(p, '\n', end - p);
		l = nl ? (size_t)(nl - p) : (size_t)(end - p);
		fwrite(p, 1, l < cols ? l : cols, stdout);
		fputs(ESC "[K", stdout);
		row++;
		/* No newline after the last row: it would scroll the frame up by one. */
		if (row < rows && nl)
			fputs("\n", stdout);
		p = nl ? nl + 1 : end;
	}
	fputs(ESC "[J", stdout);
	fflush(stdout);
}
