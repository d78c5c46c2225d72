/*
 * mm-fault-bench: the live-kernel column of mixedmap-bench's fault-throughput table.
 *
 * Measures one fault kind on the running Linux kernel, the same kinds the model benchmark runs:
 *   read-zero       read fault on untouched private anonymous memory (maps the zero page)
 *   write-anon      write fault on untouched private anonymous memory (new anonymous page)
 *   write-after-read  write fault after a read fault (COW of the zero page)
 *   cow-copy        write fault on a page a forked child still maps (COW copy)
 *   cow-reuse       write fault on a write-protected page whose fork child exited (COW reuse)
 *   fork            fork() of a process with N populated pages, per pte
 *   exit            exit of a process with N populated pages, per pte (exit_mmap's zap)
 *   gup             get_user_pages over N present pages: madvise(MADV_POPULATE_READ), which walks
 *                   them with __get_user_pages (follow_page) and takes no pins
 * in sequential or random page order, pinned to one CPU (sched_setaffinity), with transparent huge
 * pages off for the mapping (MADV_NOHUGEPAGE) so that every fault is a 4 KiB one. Fault counts are
 * confirmed with getrusage(RUSAGE_SELF).ru_minflt around the timed loop.
 *
 * usage: mm-fault-bench KIND seq|rand PAGES [REPS] [CPU]
 * prints one JSON object: {"kind":…,"order":…,"pages":…,"reps":…,"ns_per_op":median,
 *   "ns_min":…,"ns_max":…,"minflt_per_op":…,"cpu":…,"kernel":"uname -r"}
 * Built by mixedmap-bench with the system C compiler at bench time; never committed as a binary.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

#define PAGE 4096UL

static uint64_t now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static long minflt(void) {
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

static void die(const char *what) {
	fprintf(stderr, "mm-fault-bench: %s: %s\n", what, strerror(errno));
	exit(2);
}

static uint32_t *order_of(size_t n, int random) {
	uint32_t *o = malloc(n * sizeof *o);
	if (!o) die("malloc");
	for (size_t i = 0; i < n; i++) o[i] = (uint32_t)i;
	if (random) {
		uint32_t x = 0x9e3779b9u; /* xorshift32 Fisher–Yates: the same permutation as the model's (src/lib/model.ts) */
		for (size_t i = n - 1; i > 0; i--) {
			x ^= x << 13; x ^= x >> 17; x ^= x << 5;
			size_t j = (size_t)(x % (uint32_t)(i + 1));
			uint32_t t = o[i]; o[i] = o[j]; o[j] = t;
		}
	}
	return o;
}

static char *map(size_t n) {
	char *p = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) die("mmap");
	madvise(p, n * PAGE, MADV_NOHUGEPAGE);
	return p;
}

static volatile char sink;

static void touch_read(char *p, const uint32_t *o, size_t n) {
	char s = 0;
	for (size_t i = 0; i < n; i++) s += ((volatile char *)p)[(size_t)o[i] * PAGE];
	sink = s;
}

static void touch_write(char *p, const uint32_t *o, size_t n) {
	for (size_t i = 0; i < n; i++) ((volatile char *)p)[(size_t)o[i] * PAGE] = 1;
}

/* one repetition: ns for the timed part, and the minor faults it took */
static uint64_t one(const char *kind, const uint32_t *o, size_t n, long *faults) {
	char *p = map(n);
	uint64_t t0 = 0, t1 = 0;
	long f0 = 0, f1 = 0;
	*faults = 0;
	if (!strcmp(kind, "read-zero")) {
		f0 = minflt(); t0 = now_ns();
		touch_read(p, o, n);
		t1 = now_ns(); f1 = minflt();
	} else if (!strcmp(kind, "write-anon")) {
		f0 = minflt(); t0 = now_ns();
		touch_write(p, o, n);
		t1 = now_ns(); f1 = minflt();
	} else if (!strcmp(kind, "write-after-read")) {
		touch_read(p, o, n);
		f0 = minflt(); t0 = now_ns();
		touch_write(p, o, n);
		t1 = now_ns(); f1 = minflt();
	} else if (!strcmp(kind, "cow-copy") || !strcmp(kind, "cow-reuse")) {
		int keep = !strcmp(kind, "cow-copy");
		int fds[2];
		touch_write(p, o, n);
		if (pipe(fds)) die("pipe");
		pid_t c = fork();
		if (c < 0) die("fork");
		if (c == 0) { /* the child keeps its mapping until the parent is done (cow-copy) or leaves at once */
			char b;
			if (keep) (void)!read(fds[0], &b, 1);
			_exit(0);
		}
		if (!keep) waitpid(c, NULL, 0);
		f0 = minflt(); t0 = now_ns();
		touch_write(p, o, n);
		t1 = now_ns(); f1 = minflt();
		if (keep) { (void)!write(fds[1], "x", 1); waitpid(c, NULL, 0); }
		close(fds[0]); close(fds[1]);
	} else if (!strcmp(kind, "fork")) {
		touch_write(p, o, n);
		t0 = now_ns();
		pid_t c = fork();
		if (c == 0) _exit(0);
		t1 = now_ns();
		if (c < 0) die("fork");
		waitpid(c, NULL, 0);
		f1 = f0 + (long)n; /* no faults to count: the ptes copied are the work */
	} else if (!strcmp(kind, "exit")) {
		int fds[2];
		if (pipe(fds)) die("pipe");
		pid_t c = fork();
		if (c < 0) die("fork");
		if (c == 0) {
			touch_write(p, o, n);
			uint64_t t = now_ns();
			(void)!write(fds[1], &t, sizeof t);
			_exit(0);
		}
		close(fds[1]);
		fds[1] = -1;
		if (read(fds[0], &t0, sizeof t0) != sizeof t0) die("read");
		waitpid(c, NULL, 0);
		t1 = now_ns();
		close(fds[0]);
		f1 = f0 + (long)n;
	} else if (!strcmp(kind, "gup")) {
		touch_write(p, o, n);
		f0 = minflt(); t0 = now_ns();
		if (madvise(p, n * PAGE, MADV_POPULATE_READ)) die("madvise(MADV_POPULATE_READ)");
		t1 = now_ns(); f1 = minflt();
		f1 += (long)n; /* present pages: gup walks them without faulting (f1 - f0 is 0) */
	} else {
		fprintf(stderr, "mm-fault-bench: unknown kind %s\n", kind);
		exit(2);
	}
	*faults = f1 - f0;
	munmap(p, n * PAGE);
	return t1 - t0;
}

static int cmp(const void *a, const void *b) {
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
	if (argc < 4) {
		fprintf(stderr, "usage: %s KIND seq|rand PAGES [REPS] [CPU]\n", argv[0]);
		return 2;
	}
	const char *kind = argv[1];
	int random = !strcmp(argv[2], "rand");
	size_t n = strtoul(argv[3], NULL, 0);
	int reps = argc > 4 ? atoi(argv[4]) : 3;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int cpu = argc > 5 ? atoi(argv[5]) : (int)(ncpu > 0 ? ncpu - 1 : 0);
	if (n == 0 || reps <= 0) return 2;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof set, &set)) die("sched_setaffinity");
	uint32_t *o = order_of(n, random);
	uint64_t *ns = malloc((size_t)reps * sizeof *ns);
	long faults = 0, worst = (long)n;
	{ /* warm-up: code paths, the allocator's per-cpu lists */
		size_t w = n < 4096 ? n : 4096;
		uint32_t *wo = order_of(w, random);
		one(kind, wo, w, &faults);
		free(wo);
	}
	for (int r = 0; r < reps; r++) {
		ns[r] = one(kind, o, n, &faults);
		if (faults < worst) worst = faults;
	}
	qsort(ns, (size_t)reps, sizeof *ns, cmp);
	struct utsname u;
	uname(&u);
	printf("{\"kind\":\"%s\",\"order\":\"%s\",\"pages\":%zu,\"reps\":%d,\"ns_per_op\":%.2f,\"ns_min\":%.2f,\"ns_max\":%.2f,"
	       "\"minflt_per_op\":%.4f,\"cpu\":%d,\"kernel\":\"%s %s\"}\n",
	       kind, random ? "rand" : "seq", n, reps, (double)ns[reps / 2] / (double)n, (double)ns[0] / (double)n,
	       (double)ns[reps - 1] / (double)n, (double)worst / (double)n, cpu, u.sysname, u.release);
	return 0;
}
