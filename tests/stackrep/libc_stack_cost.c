/* libc_stack_cost.c: measures the stack that library calls use, for the LIBRARY table of stack_report.py.
 *
 * Not part of the runtime build.  Each call runs on its own 64 KiB stack
 * (makecontext; slow, fine for a measurement) painted with a pattern; the
 * deepest byte no longer holding the pattern gives the stack used.  The
 * harness's own use (an empty call) is subtracted, so a figure is what the
 * call adds below its caller's frame, return address included.
 *
 *   gcc -O2 -Wall -Wextra -o build/libc_stack_cost tests/stackrep/libc_stack_cost.c $(pkg-config --cflags --libs bdw-gc) -pthread
 *   build/libc_stack_cost 2>/dev/null
 */
#include <errno.h>
#define GC_THREADS 1
#include <gc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#define STACK (64 * 1024)
#define PAINT 0xa5

static ucontext_t main_ctx, run_ctx;
static void (*current)(void);
static char bufa[4096], bufb[4096];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

static void trampoline(void)
{
	current();
}

/* Bytes of a painted stack that fn's run touched. */
static size_t measure(void (*fn)(void))
{
	char *stack = mmap(NULL, STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (stack == MAP_FAILED)
		abort();
	memset(stack, PAINT, STACK);
	getcontext(&run_ctx);
	run_ctx.uc_stack.ss_sp = stack;
	run_ctx.uc_stack.ss_size = STACK;
	run_ctx.uc_link = &main_ctx;
	current = fn;
	makecontext(&run_ctx, trampoline, 0);
	swapcontext(&main_ctx, &run_ctx);
	size_t i = 0;
	while (i < STACK && (unsigned char)stack[i] == PAINT)
		i++;
	munmap(stack, STACK);
	return STACK - i;
}

static void nothing(void) {}
static void c_mutex(void)
{
	pthread_mutex_lock(&mu);
	pthread_mutex_unlock(&mu);
}
static void c_cond_signal(void) { pthread_cond_signal(&cv); }
static void c_cond_timedwait(void)
{
	struct timespec ts = {0, 0}; /* in the past: times out at once */
	pthread_mutex_lock(&mu);
	pthread_cond_timedwait(&cv, &mu, &ts);
	pthread_mutex_unlock(&mu);
}
static void c_clock_gettime(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
}
static void c_write(void) { (void)!write(2, bufa, 100); }
static void c_mmap(void)
{
	void *p = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(p, 65536);
}
static void c_mprotect(void) { mprotect(bufa + 4096 - ((uintptr_t)bufa % 4096), 0, PROT_READ); }
static void c_memcpy(void) { memcpy(bufa, bufb, sizeof bufa); }
static void c_memset(void) { memset(bufa, 1, sizeof bufa); }
static void c_memcmp(void) { (void)!memcmp(bufa, bufb, sizeof bufa); }
static void c_strlen(void) { bufa[4000] = 0; (void)!strlen(bufa); }
static void c_fprintf(void) { fprintf(stderr, "fatal error: %s %lld\n", "measure", 12345LL); }
static void c_fputs(void) { fputs("fatal error: measure\n", stderr); }
static void c_fwrite(void) { fwrite(bufa, 1, 100, stderr); }
static void c_strerror(void) { (void)!strerror(ENOMEM); }
static void c_errno(void) { errno = 0; }
static void c_sysconf(void) { (void)!sysconf(_SC_NPROCESSORS_ONLN); }
static void c_malloc(void) { free(malloc(100)); }
static void c_calloc(void) { free(calloc(1, 100)); }
static void *idle(void *arg) { return arg; }
static pthread_t made;
static void c_pthread_create(void) { GC_pthread_create(&made, NULL, idle, NULL); }
static void c_madvise(void) { madvise(bufa + 4096 - ((uintptr_t)bufa % 4096), 0, MADV_DONTNEED); }
static void c_gc_malloc(void) { (void)!GC_malloc_uncollectable(64); }

static const struct {
	const char *name;
	void (*fn)(void);
} calls[] = {
	{"pthread_mutex_lock+unlock", c_mutex},
	{"pthread_cond_signal", c_cond_signal}, {"pthread_cond_timedwait", c_cond_timedwait},
	{"clock_gettime", c_clock_gettime}, {"write", c_write}, {"mmap+munmap", c_mmap},
	{"mprotect", c_mprotect}, {"memcpy", c_memcpy}, {"memset", c_memset},
	{"memcmp", c_memcmp}, {"strlen", c_strlen}, {"fprintf(stderr)", c_fprintf},
	{"fputs(stderr)", c_fputs}, {"fwrite(stderr)", c_fwrite}, {"strerror", c_strerror},
	{"__errno_location", c_errno}, {"sysconf", c_sysconf}, {"malloc+free", c_malloc},
	{"calloc+free", c_calloc}, {"GC_malloc_uncollectable", c_gc_malloc}, {"madvise", c_madvise},
};

int main(void)
{
	GC_INIT();
	size_t base = measure(nothing);
	printf("harness: %zu bytes (subtracted)\n", base);
	for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
		measure(calls[i].fn); /* first run: lazy binding, one-time set-up */
		size_t used = measure(calls[i].fn);
		printf("%-26s %6zu\n", calls[i].name, used > base ? used - base : 0);
	}
	measure(c_pthread_create);
	GC_pthread_join(made, NULL);
	size_t used = measure(c_pthread_create);
	GC_pthread_join(made, NULL);
	printf("%-26s %6zu\n", "GC_pthread_create", used > base ? used - base : 0);
	return 0;
}
