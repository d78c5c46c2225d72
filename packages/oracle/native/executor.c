/*
 * mixedmap-executor — runs a mixedmap oracle program on the live Linux kernel.
 *
 * Part of @mixedmap/oracle. The TypeScript side (src/program.ts) translates a scenario into a
 * plain line-based program and reads back one JSON line per step. Written for this project; it
 * uses only documented user interfaces: mmap(2), madvise(2), memfd_create(2), /proc/self/mem,
 * /proc/self/pagemap, /proc/kpageflags, /proc/kpagecount (Documentation/admin-guide/mm/pagemap.rst).
 *
 * Program (stdin), one directive per line, tokens separated by blanks, '#' starts a comment:
 *   mixedmap-program 1            header (first line)
 *   limit BYTES                   refuse the program when its mappings exceed this in all
 *   timeout SECONDS               per step (alarm in the task + poll in the supervisor)
 *   tasks N                       task slots 0..N-1 (initial tasks and fork children)
 *   task TID                      an initial task (a process forked by the supervisor)
 *   file FID SIZE                 a memfd, created by the supervisor before any task starts
 *   mapping MID LENGTH            a mapping slot (one per mmap step), for the size limit
 *   step IDX TID OP ARGS...       a step, run by task TID:
 *     mmap MID LENGTH PROT FLAGS SRC OFFSET HINT   PROT: r,w,x letters or '-'; FLAGS: letters
 *          s(hared) p(rivate) a(nonymous) f(ixed) l(ocked) P(opulate); SRC: anon | zero (/dev/zero) |
 *          file:FID (the memfd, read-write) | rofile:FID (the memfd reopened O_RDONLY);
 *          HINT: an address (hex) tried with MAP_FIXED_NOREPLACE, or 0
 *     munmap MID OFF LEN | mprotect MID OFF LEN PROT | mlock MID OFF LEN | munlock MID OFF LEN
 *     madvise MID OFF LEN ADVICE    ADVICE: dontneed | populate_read | populate_write | random | normal |
 *                                   sequential | willneed | dontfork | dofork
 *     read MID OFF | write MID OFF | poke MID OFF | peek MID OFF   (poke/peek: /proc/self/mem)
 *     fork CHILD_TID | exit | truncate FID SIZE | fail ERRNO (a step the model side refused)
 *   end
 *
 * Output (stdout): a header line {"executor":…}, then one JSON line per step, then {"done":…}.
 * Errors in the program: {"error":"line N: …"} and exit status 2.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef PR_SET_THP_DISABLE
#define PR_SET_THP_DISABLE 41
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 1U
#endif

#define MAX_TASKS 64
#define MAX_FILES 64
#define MAX_DESCS 4096
#define MAX_MAPS 256
#define MAX_STEPS 4096
#define MAX_ARGS 8
#define PAGE 4096UL

/* kpageflags bits (include/uapi/linux/kernel-page-flags.h) */
#define KPF_ANON 12
#define KPF_THP 22
#define KPF_ZERO_PAGE 24
#define KPF_MLOCKED 33

enum op {
  OP_MMAP, OP_MUNMAP, OP_MPROTECT, OP_MLOCK, OP_MUNLOCK, OP_MADVISE, OP_READ, OP_WRITE, OP_POKE, OP_PEEK,
  OP_FORK, OP_EXIT, OP_TRUNCATE, OP_FAIL, OP_OPEN,
};
static const char *const OP_NAMES[] = {
  "mmap", "munmap", "mprotect", "mlock", "munlock", "madvise", "read", "write", "poke", "peek", "fork", "exit", "truncate", "fail", "open",
};

struct step {
  int idx, tid, op, line;
  int mid;              /* mapping the step works on (-1 none) */
  unsigned long off, len;
  int prot, flags, src, fid, desc, rdonly, advice, child, err;
  unsigned long offset, hint, size;
};

struct program {
  unsigned long limit;
  int timeout;
  int ntasks;
  int initial[MAX_TASKS];
  int ninitial;
  long filesize[MAX_FILES];
  int nfiles;
  unsigned long maplen[MAX_MAPS];
  int nmaps;
  struct step steps[MAX_STEPS];
  int nsteps;
};

static struct program P;

/* ---- output: one buffer, written with write(2) so that forked processes never duplicate it ---- */

static char obuf[1 << 16];
static size_t olen;

static void oflush(void) {
  size_t done = 0;
  while (done < olen) {
    ssize_t n = write(1, obuf + done, olen - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    done += (size_t)n;
  }
  olen = 0;
}

static void out(const char *fmt, ...) {
  va_list ap;
  if (olen > sizeof obuf - 512) oflush();
  va_start(ap, fmt);
  int n = vsnprintf(obuf + olen, sizeof obuf - olen, fmt, ap);
  va_end(ap);
  if (n > 0) olen += (size_t)n < sizeof obuf - olen ? (size_t)n : sizeof obuf - olen - 1;
}

static void outstr(const char *s) {
  out("\"");
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') out("\\%c", *s);
    else if ((unsigned char)*s < 0x20) out("\\u%04x", *s);
    else out("%c", *s);
  }
  out("\"");
}

static void fatal_program(int line, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  char full[600];
  snprintf(full, sizeof full, "line %d: %s", line, msg);
  out("{\"error\":");
  outstr(full);
  out("}\n");
  oflush();
  exit(2);
}

/* ---- parsing ---- */

static int parse_prot(const char *s, int line) {
  int p = 0;
  if (strcmp(s, "-") == 0) return PROT_NONE;
  for (; *s; s++) {
    if (*s == 'r') p |= PROT_READ;
    else if (*s == 'w') p |= PROT_WRITE;
    else if (*s == 'x') p |= PROT_EXEC;
    else fatal_program(line, "bad prot letter '%c'", *s);
  }
  return p;
}

static int parse_flags(const char *s, int line) {
  int f = 0;
  for (; *s; s++) {
    switch (*s) {
      case 's': f |= MAP_SHARED; break;
      case 'p': f |= MAP_PRIVATE; break;
      case 'a': f |= MAP_ANONYMOUS; break;
      case 'f': f |= MAP_FIXED; break;
      case 'l': f |= MAP_LOCKED; break;
      case 'P': f |= MAP_POPULATE; break;
      case '-': break;
      default: fatal_program(line, "bad map flag letter '%c'", *s);
    }
  }
  if (!!(f & MAP_SHARED) == !!(f & MAP_PRIVATE)) fatal_program(line, "a mapping is exactly one of shared (s) or private (p)");
  return f;
}

static unsigned long parse_num(const char *s, int line, const char *what) {
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 0);
  if (errno || *end || !*s || s[0] == '-') fatal_program(line, "bad %s \"%s\"", what, s);
  return v;
}

static int parse_id(const char *s, int line, const char *what, int max) {
  unsigned long v = parse_num(s, line, what);
  if (v >= (unsigned long)max) fatal_program(line, "%s %lu out of range (max %d)", what, v, max - 1);
  return (int)v;
}

static int find_op(const char *s) {
  for (unsigned i = 0; i < sizeof OP_NAMES / sizeof OP_NAMES[0]; i++)
    if (strcmp(OP_NAMES[i], s) == 0) return (int)i;
  return -1;
}

static void parse_program(FILE *in, unsigned long cli_limit) {
  char line[1024];
  int lineno = 0, header = 0, ended = 0;
  P.limit = 1UL << 30;
  P.timeout = 5;
  int task_seen[MAX_TASKS] = { 0 };
  int map_defined[MAX_MAPS] = { 0 };
  int file_defined[MAX_FILES] = { 0 };
  static int desc_defined[MAX_DESCS];
  while (fgets(line, sizeof line, in)) {
    lineno++;
    if (!strchr(line, '\n') && !feof(in)) fatal_program(lineno, "line too long");
    char *hash = strchr(line, '#');
    if (hash) *hash = 0;
    char *tok[MAX_ARGS + 6];
    int n = 0;
    for (char *t = strtok(line, " \t\r\n"); t; t = strtok(NULL, " \t\r\n")) {
      if (n == (int)(sizeof tok / sizeof tok[0])) fatal_program(lineno, "too many fields");
      tok[n++] = t;
    }
    if (n == 0) continue;
    if (ended) fatal_program(lineno, "text after end");
    if (!header) {
      if (n != 2 || strcmp(tok[0], "mixedmap-program") != 0 || strcmp(tok[1], "1") != 0)
        fatal_program(lineno, "expected the header \"mixedmap-program 1\"");
      header = 1;
      continue;
    }
#define NEED(k) do { if (n != (k)) fatal_program(lineno, "%s takes %d fields, not %d", tok[0], (k) - 1, n - 1); } while (0)
    if (strcmp(tok[0], "limit") == 0) {
      NEED(2);
      P.limit = parse_num(tok[1], lineno, "limit");
    } else if (strcmp(tok[0], "timeout") == 0) {
      NEED(2);
      P.timeout = parse_id(tok[1], lineno, "timeout", 3600);
      if (P.timeout < 1) fatal_program(lineno, "timeout must be at least 1 second");
    } else if (strcmp(tok[0], "tasks") == 0) {
      NEED(2);
      P.ntasks = parse_id(tok[1], lineno, "tasks", MAX_TASKS + 1);
    } else if (strcmp(tok[0], "task") == 0) {
      NEED(2);
      int t = parse_id(tok[1], lineno, "task id", P.ntasks ? P.ntasks : 1);
      if (task_seen[t]) fatal_program(lineno, "task %d given twice", t);
      task_seen[t] = 1;
      P.initial[P.ninitial++] = t;
    } else if (strcmp(tok[0], "file") == 0) {
      NEED(3);
      int f = parse_id(tok[1], lineno, "file id", MAX_FILES);
      if (f != P.nfiles) fatal_program(lineno, "file ids must be 0, 1, 2, … in order");
      P.filesize[f] = (long)parse_num(tok[2], lineno, "file size");
      file_defined[f] = 1;
      P.nfiles++;
    } else if (strcmp(tok[0], "mapping") == 0) {
      NEED(3);
      int m = parse_id(tok[1], lineno, "mapping id", MAX_MAPS);
      if (m != P.nmaps) fatal_program(lineno, "mapping ids must be 0, 1, 2, … in order");
      P.maplen[m] = parse_num(tok[2], lineno, "mapping length");
      map_defined[m] = 1;
      P.nmaps++;
    } else if (strcmp(tok[0], "step") == 0) {
      if (n < 4) fatal_program(lineno, "step needs IDX TID OP");
      if (P.nsteps == MAX_STEPS) fatal_program(lineno, "too many steps (max %d)", MAX_STEPS);
      struct step *s = &P.steps[P.nsteps++];
      memset(s, 0, sizeof *s);
      s->line = lineno;
      s->mid = -1;
      s->idx = (int)parse_num(tok[1], lineno, "step index");
      s->tid = parse_id(tok[2], lineno, "task id", P.ntasks ? P.ntasks : 1);
      s->op = find_op(tok[3]);
      char **a = tok + 4;
      int na = n - 4;
#define NARGS(k) do { if (na != (k)) fatal_program(lineno, "step %s takes %d arguments, not %d", tok[3], (k), na); } while (0)
#define MID(i) do { s->mid = parse_id(a[i], lineno, "mapping id", MAX_MAPS); if (!map_defined[s->mid]) fatal_program(lineno, "mapping %d is not declared", s->mid); } while (0)
      switch (s->op) {
        case OP_MMAP:
          NARGS(7);
          MID(0);
          s->len = parse_num(a[1], lineno, "length");
          if (s->len != P.maplen[s->mid]) fatal_program(lineno, "length differs from the mapping's declared length");
          s->prot = parse_prot(a[2], lineno);
          s->flags = parse_flags(a[3], lineno);
          if (strcmp(a[4], "anon") == 0) s->src = 0;
          else if (strcmp(a[4], "zero") == 0) s->src = 1;
          else if (strncmp(a[4], "file:", 5) == 0) {
            s->src = 2;
            s->fid = parse_id(a[4] + 5, lineno, "file id", MAX_FILES);
            if (!file_defined[s->fid]) fatal_program(lineno, "file %d is not declared", s->fid);
          } else if (strncmp(a[4], "rofile:", 7) == 0) {
            s->src = 3;
            s->fid = parse_id(a[4] + 7, lineno, "file id", MAX_FILES);
            if (!file_defined[s->fid]) fatal_program(lineno, "file %d is not declared", s->fid);
          } else if (strncmp(a[4], "fd:", 3) == 0) {
            s->src = 4;
            s->desc = parse_id(a[4] + 3, lineno, "descriptor id", MAX_DESCS);
            if (!desc_defined[s->desc]) fatal_program(lineno, "descriptor %d is not opened by an earlier open step", s->desc);
          } else fatal_program(lineno, "bad mapping source \"%s\" (anon, zero, file:FID, rofile:FID or fd:DESC)", a[4]);
          if ((s->src == 0) != !!(s->flags & MAP_ANONYMOUS)) fatal_program(lineno, "source anon goes with flag a, and only it");
          s->offset = parse_num(a[5], lineno, "offset");
          s->hint = parse_num(a[6], lineno, "hint");
          if (s->offset % PAGE || s->hint % PAGE) fatal_program(lineno, "offset and hint must be page aligned");
          break;
        case OP_MUNMAP: case OP_MLOCK: case OP_MUNLOCK:
          NARGS(3);
          MID(0);
          s->off = parse_num(a[1], lineno, "offset");
          s->len = parse_num(a[2], lineno, "length");
          break;
        case OP_MPROTECT:
          NARGS(4);
          MID(0);
          s->off = parse_num(a[1], lineno, "offset");
          s->len = parse_num(a[2], lineno, "length");
          s->prot = parse_prot(a[3], lineno);
          break;
        case OP_MADVISE:
          NARGS(4);
          MID(0);
          s->off = parse_num(a[1], lineno, "offset");
          s->len = parse_num(a[2], lineno, "length");
          if (strcmp(a[3], "dontneed") == 0) s->advice = MADV_DONTNEED;
          else if (strcmp(a[3], "populate_read") == 0) s->advice = MADV_POPULATE_READ;
          else if (strcmp(a[3], "populate_write") == 0) s->advice = MADV_POPULATE_WRITE;
          else if (strcmp(a[3], "random") == 0) s->advice = MADV_RANDOM;
          else if (strcmp(a[3], "normal") == 0) s->advice = MADV_NORMAL;
          else if (strcmp(a[3], "sequential") == 0) s->advice = MADV_SEQUENTIAL;
          else if (strcmp(a[3], "willneed") == 0) s->advice = MADV_WILLNEED;
          else if (strcmp(a[3], "dontfork") == 0) s->advice = MADV_DONTFORK;
          else if (strcmp(a[3], "dofork") == 0) s->advice = MADV_DOFORK;
          else fatal_program(lineno, "unknown advice \"%s\"", a[3]);
          break;
        case OP_READ: case OP_WRITE: case OP_POKE: case OP_PEEK:
          NARGS(2);
          MID(0);
          s->off = parse_num(a[1], lineno, "offset");
          if (s->off >= P.maplen[s->mid]) fatal_program(lineno, "offset 0x%lx is outside mapping %d", s->off, s->mid);
          break;
        case OP_FORK:
          NARGS(1);
          s->child = parse_id(a[0], lineno, "child task id", P.ntasks ? P.ntasks : 1);
          if (task_seen[s->child]) fatal_program(lineno, "task %d already exists", s->child);
          task_seen[s->child] = 1;
          break;
        case OP_EXIT:
          NARGS(0);
          break;
        case OP_TRUNCATE:
          NARGS(2);
          s->fid = parse_id(a[0], lineno, "file id", MAX_FILES);
          if (!file_defined[s->fid]) fatal_program(lineno, "file %d is not declared", s->fid);
          s->size = parse_num(a[1], lineno, "size");
          if (s->size > P.limit) fatal_program(lineno, "file size %lu exceeds the limit %lu", s->size, P.limit);
          break;
        case OP_OPEN:
          /* open DESC FID rw|ro SIZE: a new struct file of memfd FID in the task (SIZE > 0: it creates the file) */
          NARGS(4);
          s->desc = parse_id(a[0], lineno, "descriptor id", MAX_DESCS);
          if (desc_defined[s->desc]) fatal_program(lineno, "descriptor %d opened twice", s->desc);
          desc_defined[s->desc] = 1;
          s->fid = parse_id(a[1], lineno, "file id", MAX_FILES);
          if (!file_defined[s->fid]) fatal_program(lineno, "file %d is not declared", s->fid);
          if (strcmp(a[2], "rw") != 0 && strcmp(a[2], "ro") != 0) fatal_program(lineno, "open mode is rw or ro");
          s->rdonly = a[2][0] == 'r' && a[2][1] == 'o';
          s->size = parse_num(a[3], lineno, "size");
          if (s->size > P.limit) fatal_program(lineno, "file size %lu exceeds the limit %lu", s->size, P.limit);
          break;
        case OP_FAIL:
          NARGS(1);
          s->err = (int)parse_num(a[0], lineno, "errno");
          break;
        default:
          fatal_program(lineno, "unknown op \"%s\"", tok[3]);
      }
      if (s->mid >= 0 && s->op != OP_MMAP && s->op != OP_READ && s->op != OP_WRITE && s->op != OP_POKE && s->op != OP_PEEK) {
        if (s->off > P.maplen[s->mid] || s->len > P.maplen[s->mid] - s->off)
          fatal_program(lineno, "range 0x%lx+0x%lx is outside mapping %d", s->off, s->len, s->mid);
      }
      if (!task_seen[s->tid]) fatal_program(lineno, "task %d does not exist at this step", s->tid);
    } else if (strcmp(tok[0], "end") == 0) {
      NEED(1);
      ended = 1;
    } else {
      fatal_program(lineno, "unknown directive \"%s\"", tok[0]);
    }
  }
  if (!header) fatal_program(lineno + 1, "empty program (expected the header \"mixedmap-program 1\")");
  if (!ended) fatal_program(lineno + 1, "missing \"end\" (truncated program?)");
  if (P.ntasks == 0 || P.ninitial == 0) fatal_program(lineno, "no tasks");
  if (cli_limit && cli_limit < P.limit) P.limit = cli_limit;
  unsigned long total = 0;
  for (int m = 0; m < P.nmaps; m++) {
    if (P.maplen[m] == 0 || P.maplen[m] % PAGE) fatal_program(lineno, "mapping %d: length must be a non-zero multiple of 4096", m);
    if (P.maplen[m] > P.limit || total + P.maplen[m] > P.limit)
      fatal_program(lineno, "the mappings need %lu bytes or more in all, over the limit of %lu bytes", total + P.maplen[m], P.limit);
    total += P.maplen[m];
  }
  for (int f = 0; f < P.nfiles; f++)
    if ((unsigned long)P.filesize[f] > P.limit) fatal_program(lineno, "file %d: size over the limit", f);
}

/* ---- the task side ---- */

struct cmd {
  int kind; /* 1 step, 2 snapshot, 3 quit */
  int step;
};

struct reply {
  int kind; /* 1 step done, 2 snapshot done, 4 ready (a fork child), 5 timeout */
  int sig;
  int err;
  long ret;
  long minflt;
  long value;
  int pid;
};

static int cmd_rd[MAX_TASKS], cmd_wr[MAX_TASKS], rep_rd[MAX_TASKS], rep_wr[MAX_TASKS];
static int memfds[MAX_FILES];
/* per process (inherited on fork like the kernel's fd table): the struct file each open step made */
static int descs[MAX_DESCS];
static int my_tid = -1;
static unsigned long map_addr[MAX_MAPS]; /* per process: where each mapping is (0: never mapped here) */
static int map_live[MAX_MAPS];           /* per process: not unmapped as a whole */
static int task_pid[MAX_TASKS];
static int selfmem_fd = -1, pagemap_fd = -1, kflags_fd = -1, kcount_fd = -1;
static sigjmp_buf step_jb;
static volatile sig_atomic_t in_access;
static volatile unsigned char sink;
static long rus_before;
static uint64_t pm_buf[4096];

static void write_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n) {
    ssize_t k = write(fd, c, n);
    if (k < 0) {
      if (errno == EINTR) continue;
      _exit(3);
    }
    c += k;
    n -= (size_t)k;
  }
}

static int read_all(int fd, void *p, size_t n) {
  char *c = p;
  while (n) {
    ssize_t k = read(fd, c, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return -1;
    c += k;
    n -= (size_t)k;
  }
  return 0;
}

static void on_fault(int sig) {
  if (in_access) {
    in_access = 0;
    siglongjmp(step_jb, sig);
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

static void on_alarm(int sig) {
  (void)sig;
  struct reply r = { 5, SIGALRM, 0, 0, 0, 0, 0 };
  write_all(rep_wr[my_tid], &r, sizeof r);
  _exit(4);
}

static long minflt_now(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_minflt;
}

static int is_scenario_addr(unsigned long lo, unsigned long hi) {
  for (int m = 0; m < P.nmaps; m++)
    if (map_addr[m] && map_live[m] && lo < map_addr[m] + P.maplen[m] && map_addr[m] < hi) return 1;
  return 0;
}

/*
 * Make the executor's own memory present and private to this process (text faulted in, COW broken
 * after a fork, stack pages below the current frame), so that the ru_minflt delta of a step counts
 * only the faults on the scenario's mappings.
 */
static void self_populate(void) {
  static char maps[65536];
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  size_t n = 0;
  ssize_t k;
  while (n < sizeof maps - 1 && (k = read(fd, maps + n, sizeof maps - 1 - n)) > 0) n += (size_t)k;
  close(fd);
  maps[n] = 0;
  {
    volatile char stack[64 * 1024];
    for (size_t i = 0; i < sizeof stack; i += 512) stack[i] = 0;
  }
  for (char *l = maps; l && *l;) {
    char *nl = strchr(l, '\n');
    if (nl) *nl = 0;
    unsigned long lo, hi;
    char perms[8] = "";
    if (sscanf(l, "%lx-%lx %7s", &lo, &hi, perms) == 3 && !is_scenario_addr(lo, hi) && !strstr(l, "[vvar") &&
        !strstr(l, "[vsyscall]") && perms[0] == 'r') {
      unsigned long from = lo;
      if (strstr(l, "[stack]") && hi - lo > 256 * 1024) from = hi - 256 * 1024;
      int adv = perms[1] == 'w' && perms[3] == 'p' ? MADV_POPULATE_WRITE : MADV_POPULATE_READ;
      madvise((void *)from, hi - from, adv);
    }
    l = nl ? nl + 1 : NULL;
  }
}

/*
 * Start every step with a cold TLB. The kernel upgrades a pte to writable in place, without a TLB
 * flush, when a gup write fault (mlock/MAP_POPULATE/MADV_POPULATE_WRITE populate, a poke) reuses an
 * anonymous page; if the task had read that page before, its read-only TLB entry is stale and the
 * next store takes a spurious minor fault (x86 ptep_set_access_flags leaves it to the fault path).
 * Whether that entry survives the context switches between steps is timing, not mm state, so each
 * step starts from a full TLB flush of the task's mm: zapping a populated dummy range wider than
 * x86's single-page flush ceiling (33 pages) makes the munmap-style flush a full one.
 */
#define TLB_DUMMY_PAGES 128
static char *tlb_dummy;

static void flush_tlb_mm(void) {
  if (!tlb_dummy) {
    void *p = mmap(NULL, TLB_DUMMY_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return;
    tlb_dummy = p;
  }
  madvise(tlb_dummy, TLB_DUMMY_PAGES * PAGE, MADV_POPULATE_WRITE);
  madvise(tlb_dummy, TLB_DUMMY_PAGES * PAGE, MADV_DONTNEED);
}

/*
 * Drain this CPU's per-CPU folio batches before a snapshot. munlock_folio (a COW in a VM_LOCKED vma,
 * a zap without an mmu_gather flush) only queues the folio on the CPU's mlock_fbatch; PG_mlocked is
 * cleared when that batch is processed, which is timing. lru_add_drain() processes it (with
 * mlock_drain_local), and MADV_COLD calls lru_add_drain() first thing (madvise_cold), even on a range
 * with nothing mapped: the dummy range. Every task of the program runs on the supervisor's CPU
 * (pin_cpu), so a local drain covers every batch a step filled. Without MADV_COLD (before 5.4)
 * mlock+munlock of the dummy does the same (mlock_vma_pages_range drains).
 */
#ifndef MADV_COLD
#define MADV_COLD 20
#endif
static void drain_cpu_batches(void) {
  if (!tlb_dummy) {
    void *p = mmap(NULL, TLB_DUMMY_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return;
    tlb_dummy = p;
  }
  if (madvise(tlb_dummy, PAGE, MADV_COLD) != 0 && mlock(tlb_dummy, PAGE) == 0) munlock(tlb_dummy, PAGE);
}

static void open_self_files(void) {
  if (selfmem_fd >= 0) close(selfmem_fd);
  if (pagemap_fd >= 0) close(pagemap_fd);
  selfmem_fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
  pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (kflags_fd < 0) kflags_fd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
  if (kcount_fd < 0) kcount_fd = open("/proc/kpagecount", O_RDONLY | O_CLOEXEC);
}

static void task_start(int tid) {
  my_tid = tid;
  signal(SIGCHLD, SIG_IGN); /* fork children are reaped by the kernel */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_fault;
  sa.sa_flags = SA_NODEFER;
  sigaction(SIGSEGV, &sa, NULL);
  sigaction(SIGBUS, &sa, NULL);
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  open_self_files();
  self_populate();
}

/*
 * The address of a step. Safety: the executor only touches its own mappings. An address whose
 * mapping was unmapped is used only while nothing else is mapped there (mincore: ENOMEM), so the
 * access ends in SIGSEGV as the scenario expects; otherwise the step fails with EFAULT untouched.
 */
static unsigned long addr_of(const struct step *s, volatile int *err) {
  unsigned long a = map_addr[s->mid] + s->off;
  if (!map_addr[s->mid]) {
    *err = EFAULT;
    return 0;
  }
  unsigned long pg = a & ~(PAGE - 1);
  for (int m = 0; m < P.nmaps; m++)
    if (map_addr[m] && map_live[m] && pg >= map_addr[m] && pg < map_addr[m] + P.maplen[m]) return a;
  unsigned char vec;
  if (mincore((void *)pg, PAGE, &vec) == 0 || errno != ENOMEM) {
    *err = EFAULT; /* something that is not the scenario's is mapped there now */
    return 0;
  }
  return a;
}

static void run_loop(void);

/* a new struct file for memfd FID: reopen it through /proc/self/fd */
static int reopen_memfd(int fid, int rdonly) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", memfds[fid]);
  return open(path, (rdonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
}

static void do_step(const struct step *s, struct reply *r) {
  volatile unsigned long a = 0;
  volatile int err = 0;
  volatile long ret = 0;
  r->kind = 1;
  if (s->mid >= 0 && s->op != OP_MMAP) {
    a = addr_of(s, &err);
    if (err) {
      r->err = err;
      r->ret = -1;
      return;
    }
  }
  self_populate();
  flush_tlb_mm();
  alarm((unsigned)P.timeout);
  int sig = sigsetjmp(step_jb, 1);
  if (sig) {
    r->sig = sig;
    r->minflt = minflt_now() - rus_before;
    alarm(0);
    return;
  }
  rus_before = minflt_now();
  switch (s->op) {
    case OP_MMAP: {
      int fd = -1, flags = s->flags;
      /* file:/rofile: an open of its own for this mmap (a new struct file, as the scenario's
         `file:` opens the path), closed after the mmap; fd: the struct file of an open step */
      if (s->src == 1) fd = open("/dev/zero", O_RDWR | O_CLOEXEC);
      else if (s->src == 2 || s->src == 3) fd = reopen_memfd(s->fid, s->src == 3);
      else if (s->src == 4) fd = descs[s->desc];
      void *hint = (void *)s->hint;
      if (s->hint && !(flags & MAP_FIXED)) flags |= MAP_FIXED_NOREPLACE;
      void *p = mmap(hint, s->len, s->prot, flags, fd, (off_t)s->offset);
      if (p == MAP_FAILED && s->hint && (flags & MAP_FIXED_NOREPLACE) && errno == EEXIST)
        p = mmap(NULL, s->len, s->prot, s->flags, fd, (off_t)s->offset);
      if (p == MAP_FAILED) err = errno, ret = -1;
      else {
        map_addr[s->mid] = (unsigned long)p;
        map_live[s->mid] = 1;
        ret = (long)p;
        /* no MADV_NOHUGEPAGE here: it sets VM_NOHUGEPAGE on this range only, so the mapping would
           not merge with its neighbour at mmap time as the model's does (and once both have an
           anon_vma, never again); PR_SET_THP_DISABLE (main) keeps THP out of the whole process */
      }
      if ((s->src == 1 || s->src == 2 || s->src == 3) && fd >= 0) close(fd);
      break;
    }
    case OP_MUNMAP:
      ret = munmap((void *)a, s->len);
      if (ret) err = errno;
      else if (s->off == 0 && s->len == P.maplen[s->mid]) map_live[s->mid] = 0;
      break;
    case OP_MPROTECT:
      ret = mprotect((void *)a, s->len, s->prot);
      if (ret) err = errno;
      break;
    case OP_MLOCK:
      ret = mlock((void *)a, s->len);
      if (ret) err = errno;
      break;
    case OP_MUNLOCK:
      ret = munlock((void *)a, s->len);
      if (ret) err = errno;
      break;
    case OP_MADVISE:
      ret = madvise((void *)a, s->len, s->advice);
      if (ret) err = errno;
      break;
    case OP_READ:
      in_access = 1;
      sink = *(volatile unsigned char *)a;
      in_access = 0;
      r->value = sink;
      break;
    case OP_WRITE:
      in_access = 1;
      *(volatile unsigned char *)a = (unsigned char)(s->idx + 1);
      in_access = 0;
      r->value = (unsigned char)(s->idx + 1);
      break;
    case OP_POKE: {
      unsigned char v = (unsigned char)(s->idx + 1);
      ret = pwrite(selfmem_fd, &v, 1, (off_t)a);
      if (ret < 0) err = errno;
      r->value = v;
      break;
    }
    case OP_PEEK: {
      unsigned char v = 0;
      ret = pread(selfmem_fd, &v, 1, (off_t)a);
      if (ret < 0) err = errno;
      r->value = v;
      break;
    }
    case OP_TRUNCATE:
      ret = ftruncate(memfds[s->fid], (off_t)s->size);
      if (ret) err = errno;
      break;
    case OP_OPEN:
      descs[s->desc] = reopen_memfd(s->fid, s->rdonly);
      if (descs[s->desc] < 0) err = errno, ret = -1;
      else if (s->size && ftruncate(memfds[s->fid], (off_t)s->size)) err = errno, ret = -1;
      break;
    case OP_FAIL:
      err = s->err;
      ret = -1;
      break;
    case OP_EXIT:
      break;
    case OP_FORK: {
      oflush();
      pid_t pid = fork();
      if (pid < 0) {
        err = errno;
        ret = -1;
        break;
      }
      if (pid == 0) {
        alarm(0);
        task_start(s->child);
        struct reply ready = { 4, 0, 0, 0, 0, 0, getpid() };
        write_all(rep_wr[my_tid], &ready, sizeof ready);
        run_loop();
        _exit(0);
      }
      ret = pid;
      break;
    }
  }
  r->minflt = minflt_now() - rus_before;
  alarm(0);
  r->err = err;
  r->ret = ret;
  if (s->op == OP_FORK) self_populate(); /* the parent's pages are COW-shared now */
}

static void snapshot(void) {
  drain_cpu_batches(); /* PG_mlocked as the mm state has it, not as the batches left it */
  out("{\"task\":%d,\"maps\":[", my_tid);
  int first = 1;
  for (int m = 0; m < P.nmaps; m++) {
    if (!map_addr[m] || !map_live[m]) continue;
    out("%s{\"mid\":%d,\"addr\":\"0x%lx\",\"pages\":[", first ? "" : ",", m, map_addr[m]);
    first = 0;
    unsigned long npages = P.maplen[m] / PAGE;
    for (unsigned long i = 0; i < npages; i += 4096) {
      unsigned long chunk = npages - i < 4096 ? npages - i : 4096;
      ssize_t got = pread(pagemap_fd, pm_buf, chunk * 8, (off_t)((map_addr[m] / PAGE + i) * 8));
      if (got < 0) got = 0;
      for (unsigned long j = 0; j < chunk; j++) {
        uint64_t e = j * 8 < (unsigned long)got ? pm_buf[j] : 0;
        int present = (int)(e >> 63 & 1), excl = (int)(e >> 56 & 1), file = (int)(e >> 61 & 1);
        uint64_t pfn = present ? (e & ((1ULL << 55) - 1)) : 0;
        uint64_t kf = 0, kc = 0;
        int kinfo = 0;
        if (pfn && kflags_fd >= 0 && pread(kflags_fd, &kf, 8, (off_t)(pfn * 8)) == 8) kinfo = 1;
        if (pfn && kcount_fd >= 0 && pread(kcount_fd, &kc, 8, (off_t)(pfn * 8)) != 8) kc = 0;
        /* [present, exclusive, file/shared-anon, pfn, zero, anon, mlocked, thp, count] (-1: unknown) */
        out("%s[%d,%d,%d,%llu,%d,%d,%d,%d,%lld]", i + j ? "," : "", present, excl, file, (unsigned long long)pfn,
            kinfo ? (int)(kf >> KPF_ZERO_PAGE & 1) : -1, kinfo ? (int)(kf >> KPF_ANON & 1) : -1,
            kinfo ? (int)(kf >> KPF_MLOCKED & 1) : -1, kinfo ? (int)(kf >> KPF_THP & 1) : -1, pfn && kcount_fd >= 0 ? (long long)kc : -1LL);
      }
    }
    out("]}");
  }
  out("]}");
  oflush();
}

static void run_loop(void) {
  for (;;) {
    struct cmd c;
    if (read_all(cmd_rd[my_tid], &c, sizeof c)) _exit(0);
    if (c.kind == 3) _exit(0);
    struct reply r;
    memset(&r, 0, sizeof r);
    if (c.kind == 1) {
      do_step(&P.steps[c.step], &r);
      write_all(rep_wr[my_tid], &r, sizeof r);
      if (P.steps[c.step].op == OP_EXIT) _exit(0);
    } else if (c.kind == 2) {
      snapshot();
      r.kind = 2;
      write_all(rep_wr[my_tid], &r, sizeof r);
    }
  }
}

/* ---- the supervisor: forks the tasks, drives the steps, prints the lines ---- */

static int await_reply(int tid, struct reply *r) {
  struct pollfd pfd = { rep_rd[tid], POLLIN, 0 };
  int n;
  do n = poll(&pfd, 1, P.timeout * 1000 + 1000);
  while (n < 0 && errno == EINTR);
  if (n <= 0) return -1;
  return read_all(rep_rd[tid], r, sizeof *r);
}

/* Waits until an exited task is gone (its mm released): pidfd readable, else /proc/PID/stat state Z or gone. */
static void wait_gone(int pid, int pidfd) {
  if (pidfd >= 0) {
    struct pollfd pfd = { pidfd, POLLIN, 0 };
    int n;
    do n = poll(&pfd, 1, P.timeout * 1000);
    while (n < 0 && errno == EINTR);
    close(pidfd);
    if (n > 0) {
      if (pid > 0) waitpid(pid, NULL, WNOHANG); /* reap it if it is ours */
      return;
    }
  }
  for (int i = 0; i < P.timeout * 1000; i++) {
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return;
    buf[n] = 0;
    char *rp = strrchr(buf, ')');
    if (rp && (rp[2] == 'Z' || rp[2] == 'X')) return;
    struct timespec ts = { 0, 1000 * 1000 };
    nanosleep(&ts, NULL);
  }
}

static const char *sig_name(int sig) {
  return sig == SIGSEGV ? "SIGSEGV" : sig == SIGBUS ? "SIGBUS" : sig == SIGALRM ? "timeout" : "signal";
}

static void supervisor(void) {
  int alive[MAX_TASKS] = { 0 };
  for (int f = 0; f < P.nfiles; f++) {
    char name[32];
    snprintf(name, sizeof name, "mixedmap-f%d", f);
    memfds[f] = (int)syscall(SYS_memfd_create, name, 0);
    if (memfds[f] < 0 || ftruncate(memfds[f], P.filesize[f])) {
      out("{\"fatal\":\"memfd_create: %s\"}\n", strerror(errno));
      oflush();
      _exit(3);
    }
  }
  for (int t = 0; t < P.ntasks; t++) {
    int a[2], b[2];
    if (pipe2(a, O_CLOEXEC) || pipe2(b, O_CLOEXEC)) {
      out("{\"fatal\":\"pipe: %s\"}\n", strerror(errno));
      oflush();
      _exit(3);
    }
    cmd_rd[t] = a[0], cmd_wr[t] = a[1], rep_rd[t] = b[0], rep_wr[t] = b[1];
  }
  for (int i = 0; i < P.ninitial; i++) {
    int t = P.initial[i];
    oflush();
    pid_t pid = fork();
    if (pid < 0) {
      out("{\"fatal\":\"fork: %s\"}\n", strerror(errno));
      oflush();
      _exit(3);
    }
    if (pid == 0) {
      task_start(t);
      run_loop();
      _exit(0);
    }
    task_pid[t] = pid;
    alive[t] = 1;
  }
  for (int i = 0; i < P.nsteps; i++) {
    const struct step *s = &P.steps[i];
    struct cmd c = { 1, i };
    struct reply r;
    if (!alive[s->tid]) {
      out("{\"fatal\":\"step %d: task %d is not alive\"}\n", s->idx, s->tid);
      oflush();
      break;
    }
    /* an exiting task answers before its mm is torn down: watch it with a pidfd opened now */
    int pidfd = s->op == OP_EXIT ? (int)syscall(SYS_pidfd_open, task_pid[s->tid], 0) : -1;
    write_all(cmd_wr[s->tid], &c, sizeof c);
    if (await_reply(s->tid, &r) || r.kind == 5) {
      out("{\"step\":%d,\"task\":%d,\"op\":\"%s\",\"outcome\":\"timeout\",\"fatal\":\"the step did not finish within %d s\"}\n", s->idx, s->tid,
          OP_NAMES[s->op], P.timeout);
      oflush();
      return;
    }
    if (s->op == OP_FORK && r.ret > 0) {
      struct reply ready;
      if (await_reply(s->child, &ready) || ready.kind != 4) {
        out("{\"fatal\":\"step %d: the fork child did not start\"}\n", s->idx);
        oflush();
        return;
      }
      alive[s->child] = 1;
      task_pid[s->child] = ready.pid;
    }
    if (s->op == OP_EXIT) {
      alive[s->tid] = 0;
      wait_gone(task_pid[s->tid], pidfd);
    }
    const char *outcome = r.sig ? sig_name(r.sig) : r.err ? "error" : "ok";
    out("{\"step\":%d,\"task\":%d,\"op\":\"%s\",\"outcome\":\"%s\",\"errno\":%d,\"errname\":", s->idx, s->tid, OP_NAMES[s->op], outcome, r.err);
    outstr(r.err ? strerrorname_np(r.err) ? strerrorname_np(r.err) : "E?" : "");
    out(",\"ret\":%ld,\"minflt\":%ld,\"value\":%ld,\"tasks\":[", s->op == OP_MMAP || s->op == OP_FORK ? (r.ret < 0 ? -1L : 0L) : r.ret, r.minflt,
        r.value);
    oflush();
    int first = 1;
    for (int t = 0; t < P.ntasks; t++) {
      if (!alive[t]) continue;
      if (!first) out(",");
      first = 0;
      oflush();
      struct cmd sc = { 2, 0 };
      struct reply sr;
      write_all(cmd_wr[t], &sc, sizeof sc);
      if (await_reply(t, &sr)) {
        out("]}\n{\"fatal\":\"task %d did not answer the snapshot\"}\n", t);
        oflush();
        return;
      }
    }
    out("]}\n");
    oflush();
  }
  for (int t = 0; t < P.ntasks; t++) {
    if (!alive[t]) continue;
    struct cmd q = { 3, 0 };
    write_all(cmd_wr[t], &q, sizeof q);
  }
}

static void pin_cpu(void) {
  cpu_set_t set;
  int cpu = sched_getcpu();
  CPU_ZERO(&set);
  CPU_SET(cpu < 0 ? 0 : cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) {
    /* the current CPU may be outside an inherited mask: take the first allowed one */
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof allowed, &allowed) == 0)
      for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &allowed)) {
          CPU_ZERO(&set);
          CPU_SET(c, &set);
          sched_setaffinity(0, sizeof set, &set);
          break;
        }
  }
}

static unsigned long zero_pfn(void) {
  /* the pfn a private anonymous read fault maps: the shared zero page */
  void *p = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return 0;
  sink = *(volatile unsigned char *)p;
  uint64_t e = 0;
  int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    if (pread(fd, &e, 8, (off_t)((unsigned long)p / PAGE * 8)) != 8) e = 0;
    close(fd);
  }
  munmap(p, PAGE);
  return e >> 63 ? (unsigned long)(e & ((1ULL << 55) - 1)) : 0;
}

int main(int argc, char **argv) {
  unsigned long cli_limit = 0;
  int check_only = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc) cli_limit = parse_num(argv[++i], 0, "--limit");
    else if (strcmp(argv[i], "--check") == 0) check_only = 1;
    else if (strcmp(argv[i], "--version") == 0) {
      puts("mixedmap-executor 1");
      return 0;
    } else {
      fprintf(stderr, "usage: mixedmap-executor [--limit BYTES] [--check] < program\n");
      return 2;
    }
  }
  parse_program(stdin, cli_limit);
  if (check_only) {
    out("{\"ok\":true,\"steps\":%d}\n", P.nsteps);
    oflush();
    return 0;
  }
  pin_cpu();
  /* THP is what the model does not have: off for the whole process tree (MMF_DISABLE_THP is
     inherited by fork), without touching any vma's flags */
  if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) != 0) {
    out("{\"error\":");
    outstr("PR_SET_THP_DISABLE failed: the live kernel could map transparent huge pages, which the model does not show");
    out("}\n");
    oflush();
    return 3;
  }
  unsigned long zp = zero_pfn();
  struct utsname_like { char s[256]; } rel = { "" };
  int fd = open("/proc/sys/kernel/osrelease", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ssize_t n = read(fd, rel.s, sizeof rel.s - 1);
    if (n > 0) rel.s[n - (rel.s[n - 1] == '\n')] = 0;
    close(fd);
  }
  out("{\"executor\":1,\"kernel\":");
  outstr(rel.s);
  out(",\"root\":%s,\"pfns\":%s,\"zeroPfn\":%lu,\"cpu\":%d,\"limit\":%lu,\"timeout\":%d}\n", geteuid() == 0 ? "true" : "false",
      zp ? "true" : "false", zp, sched_getcpu(), P.limit, P.timeout);
  oflush();

  pid_t root = fork();
  if (root < 0) {
    perror("fork");
    return 3;
  }
  if (root == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    supervisor();
    oflush();
    _exit(0);
  }
  setpgid(root, root);
  /* the whole scenario may take (steps + 2) step timeouts; then everything is killed */
  time_t deadline = time(NULL) + (time_t)P.timeout * (P.nsteps + 2) + 2;
  int status = 0;
  for (;;) {
    pid_t w = waitpid(root, &status, WNOHANG);
    if (w == root) break;
    if (time(NULL) > deadline) {
      kill(-root, SIGKILL);
      waitpid(root, &status, 0);
      out("{\"fatal\":\"the scenario did not finish in time; killed\"}\n");
      oflush();
      return 3;
    }
    struct timespec ts = { 0, 10 * 1000 * 1000 };
    nanosleep(&ts, NULL);
  }
  kill(-root, SIGKILL); /* tasks still around (a fork child whose parent exited) */
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    out("{\"fatal\":\"the scenario process ended abnormally (status 0x%x)\"}\n", status);
    oflush();
    return 3;
  }
  out("{\"done\":true}\n");
  oflush();
  return 0;
}
