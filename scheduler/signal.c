/* signal.c: what greenvm does when it is told to stop (SIGQUIT, SIGINT, SIGTERM).
 *
 * A hung program must be diagnosable and a killed one must not lose what
 * it wrote, so:
 *
 *   SIGQUIT  prints every goroutine (its wait reason and, if it is parked,
 *            its VM traceback) and the state of every M and P, as Go's
 *            runtime does on SIGQUIT, then ends the program: exit status 2.
 *   SIGINT,  end the program with status 128+signal, as a shell reports a
 *   SIGTERM  process killed by the signal.
 *
 * Beyond Go: either way, the world is stopped, the program's buffered
 * output is flushed and, with --trace, the trace is finished (every P's
 * buffer, the stack and string tables), so a run killed because it hung
 * leaves a trace that go tool trace reads.
 *
 * How: the handler does only what is async-signal-safe: it records the
 * signal and posts a semaphore.  It runs on the M's signal stack
 * (SA_ONSTACK), never on a small g0, and with every other signal blocked,
 * so the collector's stop signal cannot land on that stack (Boehm would
 * then scan from there).  A thread of its own, which is not an M (Go's
 * signal-receiving goroutine plays that part), waits on the semaphore and
 * does the work with ordinary calls.
 */
#include <errno.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "scheduler/runtime.h"

static sem_t sigsem;
/* the signals received and not yet handled, as a bit mask */
static _Atomic uint32_t sigs_received;

static void handler(int sig)
{
	int saved = errno;
	atomic_fetch_or(&sigs_received, 1u << sig);
	sem_post(&sigsem);
	errno = saved;
}

static const char *gstatus_string(uint32_t s)
{
	switch (s) {
	case G_IDLE: return "idle";
	case G_RUNNABLE: return "runnable";
	case G_RUNNING: return "running";
	case G_SYSCALL: return "syscall";
	case G_WAITING: return "waiting";
	default: return "dead";
	}
}

/* Every goroutine, then every M and P (Go's SIGQUIT output with
 * GODEBUG=scheddetail=1, in a small form).  Others are still running as
 * this reads them: the figures are a snapshot, perhaps a torn one.  The
 * scheduler's lock keeps allgs still, but a hung M may hold it: then,
 * after a second, the dump goes on without it. */
static void dump_all(FILE *out)
{
	bool locked = sched_trylock_sched(1000);
	if (!locked)
		fputs("(the scheduler's lock is held: reading without it)\n", out);
	for (uint32_t i = 0; i < sched.nallgs; i++) {
		sched_g *g = sched.allgs[i];
		uint32_t st = atomic_load(&g->status);
		if (st == G_DEAD || st == G_IDLE)
			continue;
		fprintf(out, "\ngoroutine %lld [%s]:\n", (long long)g->goid,
			st == G_WAITING ? sched_waitreason_string((int)g->waitreason)
					: gstatus_string(st));
		/* A running G's registers are in its M's interpreter loop, not
		 * saved: as in Go, its stack is not shown.  The others saved
		 * theirs when they parked, yielded, were created or called C. */
		if (st == G_RUNNING)
			fputs("\tgoroutine running on other thread; stack unavailable\n", out);
		else if (sched.cfg.hooks.traceback)
			sched.cfg.hooks.traceback(g);
	}
	fputc('\n', out);
	sched_schedtrace(out, (sched_nanotime() - sched.start_ns) / 1000000, true);
	if (locked)
		sched_unlock_sched();
}

static void *sigthread(void *arg)
{
	(void)arg;
	for (;;) {
		while (sem_wait(&sigsem) != 0)
			;
		uint32_t got = atomic_exchange(&sigs_received, 0);
		int status;
		if (got & (1u << SIGQUIT)) {
			fflush(stderr);
			fputs("SIGQUIT: quit\n", stderr);
			dump_all(stderr);
			status = 2;
		} else if (got & (1u << SIGINT)) {
			status = 128 + SIGINT;
		} else if (got & (1u << SIGTERM)) {
			status = 128 + SIGTERM;
		} else {
			continue;
		}
		sched_end_program(NULL, status);
	}
	return NULL;
}

void sched_signals_start(void)
{
	if (sem_init(&sigsem, 0, 0) != 0)
		sched_throw("sem_init failed");
	pthread_attr_t a;
	pthread_t t; /* detached: it lives as long as the program */
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &a, sigthread, NULL) != 0)
		sched_throw("cannot start the signal thread");
	pthread_attr_destroy(&a);

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = handler;
	sa.sa_flags = SA_ONSTACK | SA_RESTART;
	sigfillset(&sa.sa_mask);
	sigaction(SIGQUIT, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}
