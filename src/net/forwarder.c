/*
 * netfwd: the packet-level delay of ssh-bench's emulated network link.
 *
 * Two TUN devices: one in the namespace this process starts in (the
 * "client" side, the root namespace), one created inside the network
 * namespace given by --ns (the "server" side). Every IP packet read from one
 * device is held for --delay-us microseconds (RTT/2), then written to the
 * other. Packets leave in the order they came, per direction: the delay is
 * the same for every packet, so each direction is a FIFO and the only timer
 * needed is the one for the oldest packet of each queue (one timerfd, armed
 * at the earlier of the two). Optional random loss per packet (--loss-ppm,
 * parts per million).
 *
 * Control on stdin, one command per line; each answer is one JSON line on
 * stdout:
 *   p  report the delay achieved since the last reset
 *   r  the same, then reset the statistics
 *   q  quit
 * End of stdin (the owning process is gone) also quits, and so does the
 * owner's death (PR_SET_PDEATHSIG). The TUN devices are not persistent:
 * the kernel removes them when this process exits, however it exits.
 *
 * Exit codes: 0 quit, 1 set-up failure, 2 bad arguments, 3 the client-side
 * device name is taken (another link owns it: try another name).
 *
 * Build: gcc -O2 -Wall -Wextra -o build/netfwd src/net/forwarder.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

/* Largest packet read in one go: larger than any MTU a TUN device takes. */
#define MAXPKT 65536
/* Reads per device per wake-up, so that one busy direction cannot hold
 * back the other or the timer. */
#define BATCH 64

/* Delay histogram: nanoseconds, exact below 2^SUB, then 2^SUB buckets per
 * power of two (relative resolution 2^-SUB, 0.1 %), up to 2^MAXEXP ns. */
#define SUB 10
#define MAXEXP 48
#define NBUCKETS ((MAXEXP - SUB + 1) << SUB)

static unsigned bucket_of(uint64_t v) {
  if (v >= (1ULL << MAXEXP)) v = (1ULL << MAXEXP) - 1;
  if (v < (1ULL << SUB)) return (unsigned)v;
  unsigned e = 63u - (unsigned)__builtin_clzll(v);
  uint64_t m = v >> (e - SUB);
  return ((e - SUB + 1) << SUB) + (unsigned)(m - (1ULL << SUB));
}

/* Middle of a bucket's value range. */
static uint64_t bucket_value(unsigned i) {
  if (i < (1u << SUB)) return i;
  unsigned g = i >> SUB;
  uint64_t m = (i & ((1u << SUB) - 1)) + (1ULL << SUB);
  uint64_t width = 1ULL << (g - 1);
  return (m << (g - 1)) + width / 2;
}

struct stats {
  uint64_t count;    /* packets forwarded */
  uint64_t bytes;    /* their bytes */
  uint64_t lost;     /* dropped on purpose (--loss-ppm) */
  uint64_t overflow; /* dropped: queue full */
  uint64_t werr;     /* dropped: write to the device failed */
  uint64_t min_ns, max_ns;
  uint64_t qpeak; /* most packets held at once */
  uint64_t hist[NBUCKETS];
};

struct pkt {
  uint64_t t_in; /* CLOCK_MONOTONIC ns when read */
  uint32_t off;  /* in the arena */
  uint32_t len;
};

/* One direction: read from `in`, hold, write to `out`. Packets are kept in
 * a byte ring (`arena`) in arrival order, described by a ring of `pkt`. */
struct dir {
  const char *label;
  int in, out;
  struct pkt *q;
  uint32_t cap, head, n; /* cap is a power of two */
  uint8_t *arena;
  size_t acap, aw; /* arena size, next write offset */
  struct stats st;
  int procnet;         /* /proc/net/dev of the input device's namespace */
  const char *in_dev;  /* input device name, for its kernel drop count */
  uint64_t kdrop_base; /* its tx drop count at the last reset */
};

static uint8_t scratch[MAXPKT];
static uint64_t delay_ns;
static uint64_t loss_threshold; /* drop when rnd() < this; 0: never */
static uint64_t rng_state;
static uint64_t reset_at_ns, cpu_base_us, sys_base_us;
static uint64_t wakeups; /* epoll_wait returns since the last reset */

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t rnd(void) { /* xorshift64* */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545F4914F6CDD1DULL;
}

/* CPU time of this process, us: user + system, and system alone (which
 * includes the kernel's delivery of each packet written to a device). */
static uint64_t cpu_us(uint64_t *sys) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  *sys = (uint64_t)ru.ru_stime.tv_sec * 1000000ULL +
         (uint64_t)ru.ru_stime.tv_usec;
  return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000ULL +
         (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static void die(int code, const char *what) {
  fprintf(stderr, "netfwd: %s: %s\n", what, strerror(errno));
  exit(code);
}

/* A new non-persistent TUN device `name` in the current network namespace;
 * IFF_TUN_EXCL makes creation fail (EBUSY) when the name exists. */
static int open_tun(const char *name) {
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return -errno;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_TUN_EXCL;
  snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  return fd;
}

/* Transmit drops of device `dev` from a /proc/net/dev file: packets the
 * kernel could not hand to this process because the device's queue
 * (txqueuelen) was full. */
static uint64_t tx_drops(int fd, const char *dev) {
  static char buf[1 << 16];
  if (fd < 0 || lseek(fd, 0, SEEK_SET) < 0) return 0;
  size_t len = 0;
  for (;;) {
    ssize_t r = read(fd, buf + len, sizeof buf - 1 - len);
    if (r <= 0) break;
    len += (size_t)r;
    if (len >= sizeof buf - 1) break;
  }
  buf[len] = 0;
  size_t dl = strlen(dev);
  for (char *line = buf; line && *line;) {
    char *next = strchr(line, '\n');
    if (next) *next++ = 0;
    while (*line == ' ') line++;
    if (strncmp(line, dev, dl) == 0 && line[dl] == ':') {
      unsigned long long f[16] = {0};
      sscanf(line + dl + 1,
             "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
             &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7], &f[8],
             &f[9], &f[10], &f[11]);
      return f[11]; /* transmit: bytes packets errs drop -> drop */
    }
    line = next;
  }
  return 0;
}

/* Where the next packet can be read to in the arena, or NULL when it is
 * full. The live bytes run from the oldest packet to `aw`, possibly
 * wrapping round the end (then aw <= oldest). */
static uint8_t *room(struct dir *d) {
  if (d->n == 0) {
    d->aw = 0;
    return d->arena;
  }
  if (d->n == d->cap) return NULL;
  size_t oldest = d->q[d->head].off;
  if (d->aw > oldest) {
    if (d->acap - d->aw >= MAXPKT) return d->arena + d->aw;
    if (oldest >= MAXPKT) {
      d->aw = 0; /* the tail end is skipped until the queue wraps */
      return d->arena;
    }
    return NULL;
  }
  if (oldest - d->aw >= MAXPKT) return d->arena + d->aw;
  return NULL;
}

/* Reads up to BATCH packets from d->in and queues them. */
static void pull(struct dir *d) {
  for (int i = 0; i < BATCH; i++) {
    uint8_t *buf = room(d);
    int full = buf == NULL;
    ssize_t r = read(d->in, full ? scratch : buf, MAXPKT);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && errno != EAGAIN) die(1, "reading a device (was it removed?)");
    if (r <= 0) return; /* EAGAIN: nothing more for now */
    uint64_t t = now_ns();
    if (full) {
      d->st.overflow++;
      continue;
    }
    if (loss_threshold && rnd() < loss_threshold) {
      d->st.lost++;
      continue;
    }
    struct pkt *p = &d->q[(d->head + d->n) & (d->cap - 1)];
    p->t_in = t;
    p->off = (uint32_t)(buf - d->arena);
    p->len = (uint32_t)r;
    d->aw = p->off + (size_t)r;
    d->n++;
    if (d->n > d->st.qpeak) d->st.qpeak = d->n;
  }
}

/* Writes every queued packet whose time has come, oldest first. */
static void push(struct dir *d) {
  while (d->n) {
    struct pkt *p = &d->q[d->head];
    uint64_t t = now_ns();
    if (t < p->t_in + delay_ns) return;
    ssize_t w;
    do {
      w = write(d->out, d->arena + p->off, p->len);
    } while (w < 0 && errno == EINTR);
    if (w < 0) {
      d->st.werr++;
    } else {
      uint64_t held = t - p->t_in;
      d->st.count++;
      d->st.bytes += p->len;
      d->st.hist[bucket_of(held)]++;
      if (held > d->st.max_ns) d->st.max_ns = held;
      if (d->st.min_ns == 0 || held < d->st.min_ns) d->st.min_ns = held;
    }
    d->head = (d->head + 1) & (d->cap - 1);
    d->n--;
  }
}

static uint64_t percentile(const uint64_t *h, uint64_t count, double q) {
  if (count == 0) return 0;
  uint64_t rank = (uint64_t)(q * (double)count);
  if ((double)rank < q * (double)count) rank++;
  if (rank == 0) rank = 1;
  uint64_t seen = 0;
  for (unsigned i = 0; i < NBUCKETS; i++) {
    seen += h[i];
    if (seen >= rank) return bucket_value(i);
  }
  return 0;
}

static int stats_json(char *out, size_t size, const struct stats *s,
                      uint64_t kdrop) {
  return snprintf(out, size,
                  "{\"count\":%llu,\"bytes\":%llu,\"lost\":%llu,"
                  "\"overflow\":%llu,\"werr\":%llu,\"kdrop\":%llu,"
                  "\"p50_ns\":%llu,\"p99_ns\":%llu,\"min_ns\":%llu,"
                  "\"max_ns\":%llu,\"qpeak\":%llu}",
                  (unsigned long long)s->count, (unsigned long long)s->bytes,
                  (unsigned long long)s->lost, (unsigned long long)s->overflow,
                  (unsigned long long)s->werr, (unsigned long long)kdrop,
                  (unsigned long long)percentile(s->hist, s->count, 0.50),
                  (unsigned long long)percentile(s->hist, s->count, 0.99),
                  (unsigned long long)s->min_ns, (unsigned long long)s->max_ns,
                  (unsigned long long)s->qpeak);
}

static void report(struct dir *dirs, int reset) {
  static struct stats all;
  static char line[4096];
  uint64_t kd[2];
  memset(&all, 0, sizeof all);
  for (int i = 0; i < 2; i++) {
    const struct stats *s = &dirs[i].st;
    uint64_t k = tx_drops(dirs[i].procnet, dirs[i].in_dev);
    kd[i] = k >= dirs[i].kdrop_base ? k - dirs[i].kdrop_base : 0;
    all.count += s->count;
    all.bytes += s->bytes;
    all.lost += s->lost;
    all.overflow += s->overflow;
    all.werr += s->werr;
    if (s->max_ns > all.max_ns) all.max_ns = s->max_ns;
    if (s->min_ns && (all.min_ns == 0 || s->min_ns < all.min_ns))
      all.min_ns = s->min_ns;
    if (s->qpeak > all.qpeak) all.qpeak = s->qpeak;
    for (unsigned b = 0; b < NBUCKETS; b++) all.hist[b] += s->hist[b];
  }
  uint64_t sys, t = now_ns(), cpu = cpu_us(&sys);
  int n = snprintf(line, sizeof line,
                   "{\"delay_ns\":%llu,\"elapsed_ns\":%llu,\"cpu_us\":%llu,"
                   "\"sys_us\":%llu,\"cpu_total_us\":%llu,\"wakeups\":%llu,"
                   "\"held\":%u,\"up\":",
                   (unsigned long long)delay_ns,
                   (unsigned long long)(t - reset_at_ns),
                   (unsigned long long)(cpu - cpu_base_us),
                   (unsigned long long)(sys - sys_base_us),
                   (unsigned long long)cpu, (unsigned long long)wakeups,
                   dirs[0].n + dirs[1].n);
  n += stats_json(line + n, sizeof line - (size_t)n, &dirs[0].st, kd[0]);
  n += snprintf(line + n, sizeof line - (size_t)n, ",\"down\":");
  n += stats_json(line + n, sizeof line - (size_t)n, &dirs[1].st, kd[1]);
  n += snprintf(line + n, sizeof line - (size_t)n, ",\"all\":");
  n += stats_json(line + n, sizeof line - (size_t)n, &all, kd[0] + kd[1]);
  n += snprintf(line + n, sizeof line - (size_t)n, "}\n");
  for (size_t done = 0; done < (size_t)n;) {
    ssize_t w = write(1, line + done, (size_t)n - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) exit(0); /* the owner stopped listening */
    done += (size_t)w;
  }
  if (reset) {
    for (int i = 0; i < 2; i++) {
      memset(&dirs[i].st, 0, sizeof dirs[i].st);
      dirs[i].st.qpeak = dirs[i].n;
      dirs[i].kdrop_base = tx_drops(dirs[i].procnet, dirs[i].in_dev);
    }
    reset_at_ns = t;
    cpu_base_us = cpu;
    sys_base_us = sys;
    wakeups = 0;
  }
}

/* Handles the commands in stdin's pending bytes; returns 0 to quit. */
static int control(struct dir *dirs) {
  static char buf[256];
  ssize_t r = read(0, buf, sizeof buf);
  if (r < 0) return errno == EINTR || errno == EAGAIN;
  if (r == 0) return 0;
  for (ssize_t i = 0; i < r; i++) {
    if (buf[i] == 'p') report(dirs, 0);
    else if (buf[i] == 'r') report(dirs, 1);
    else if (buf[i] == 'q') return 0;
  }
  return 1;
}

static void usage(void) {
  fprintf(stderr,
          "usage: netfwd --ns PATH --dev NAME --delay-us N [--loss-ppm N] "
          "[--slots N] [--arena-mb N] [--parent PID] [--rt PRIO] "
          "[--seed N]\n");
  exit(2);
}

static void setup_dir(struct dir *d, const char *label, uint32_t slots,
                      size_t arena) {
  d->label = label;
  d->cap = slots;
  d->q = calloc(slots, sizeof *d->q);
  d->acap = arena;
  /* Pages are only touched as the ring reaches them; the ring restarts at
   * offset 0 whenever the queue empties, so light traffic stays small. */
  d->arena = mmap(NULL, arena, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (!d->q || d->arena == MAP_FAILED) die(1, "out of memory");
}

int main(int argc, char **argv) {
  const char *ns = NULL, *dev = NULL;
  long long delay_us = -1, loss_ppm = 0, parent = 0, rt = 0, seed = 0;
  long long slots = 65536, arena_mb = 32;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v) usage();
    i++;
    if (!strcmp(a, "--ns")) ns = v;
    else if (!strcmp(a, "--dev")) dev = v;
    else if (!strcmp(a, "--delay-us")) delay_us = atoll(v);
    else if (!strcmp(a, "--loss-ppm")) loss_ppm = atoll(v);
    else if (!strcmp(a, "--slots")) slots = atoll(v);
    else if (!strcmp(a, "--arena-mb")) arena_mb = atoll(v);
    else if (!strcmp(a, "--parent")) parent = atoll(v);
    else if (!strcmp(a, "--rt")) rt = atoll(v);
    else if (!strcmp(a, "--seed")) seed = atoll(v);
    else usage();
  }
  if (!ns || !dev || strlen(dev) >= IFNAMSIZ || delay_us < 0 ||
      loss_ppm < 0 || loss_ppm > 1000000 || slots < 2 ||
      (slots & (slots - 1)) || slots > (1 << 24) || arena_mb < 1 ||
      arena_mb > 4095)
    usage();

  /* Die with the owner: SIGKILL when it exits (checked once for an owner
   * that died before this line), and end of stdin below. */
  if (parent > 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != (pid_t)parent) return 0;
  }
  signal(SIGPIPE, SIG_IGN);
  prctl(PR_SET_TIMERSLACK, 1UL);
  delay_ns = (uint64_t)delay_us * 1000ULL;
  loss_threshold = (uint64_t)((double)loss_ppm / 1e6 * 18446744073709551615.0);
  if (loss_ppm == 1000000) loss_threshold = UINT64_MAX;
  rng_state = seed ? (uint64_t)seed : (now_ns() ^ ((uint64_t)getpid() << 32));
  if (!rng_state) rng_state = 1;

  struct dir dirs[2];
  memset(dirs, 0, sizeof dirs);
  setup_dir(&dirs[0], "up", (uint32_t)slots, (size_t)arena_mb << 20);
  setup_dir(&dirs[1], "down", (uint32_t)slots, (size_t)arena_mb << 20);

  int home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (home < 0) die(1, "open /proc/self/ns/net");
  int nsfd = open(ns, O_RDONLY | O_CLOEXEC);
  if (nsfd < 0) die(1, ns);
  int client = open_tun(dev);
  if (client < 0) {
    errno = -client;
    die(client == -EBUSY ? 3 : 1, dev);
  }
  int root_procnet = open("/proc/self/net/dev", O_RDONLY | O_CLOEXEC);
  if (setns(nsfd, CLONE_NEWNET) < 0) die(1, "setns into the link's namespace");
  int server = open_tun(dev);
  if (server < 0) {
    errno = -server;
    die(1, "the device inside the namespace");
  }
  int ns_procnet = open("/proc/self/net/dev", O_RDONLY | O_CLOEXEC);
  if (setns(home, CLONE_NEWNET) < 0) die(1, "setns back");
  close(home);
  /* nsfd stays open: it keeps the namespace, and so the device inside,
   * alive while this process runs, even if its name is deleted. */

  if (rt > 0) {
    struct sched_param sp = {.sched_priority = (int)rt};
    if (sched_setscheduler(0, SCHED_FIFO, &sp) < 0) rt = 0;
  }

  dirs[0].in = client;
  dirs[0].out = server;
  dirs[0].procnet = root_procnet;
  dirs[0].in_dev = dev;
  dirs[1].in = server;
  dirs[1].out = client;
  dirs[1].procnet = ns_procnet;
  dirs[1].in_dev = dev;

  int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (tfd < 0 || ep < 0) die(1, "timerfd/epoll");
  int fds[4] = {client, server, tfd, 0};
  for (int i = 0; i < 4; i++) {
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev) < 0) die(1, "epoll_ctl");
  }

  reset_at_ns = now_ns();
  cpu_base_us = cpu_us(&sys_base_us);
  printf("ready %s rt=%lld\n", dev, rt);
  fflush(stdout);

  uint64_t armed = 0;
  for (;;) {
    uint64_t next = UINT64_MAX;
    for (int i = 0; i < 2; i++)
      if (dirs[i].n) {
        uint64_t due = dirs[i].q[dirs[i].head].t_in + delay_ns;
        if (due < next) next = due;
      }
    if (next != armed) {
      struct itimerspec its;
      memset(&its, 0, sizeof its);
      if (next != UINT64_MAX) {
        its.it_value.tv_sec = (time_t)(next / 1000000000ULL);
        its.it_value.tv_nsec = (long)(next % 1000000000ULL);
      }
      timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
      armed = next;
    }
    struct epoll_event evs[4];
    int k = epoll_wait(ep, evs, 4, -1);
    if (k < 0) {
      if (errno == EINTR) continue;
      die(1, "epoll_wait");
    }
    wakeups++;
    for (int i = 0; i < k; i++) {
      switch (evs[i].data.u32) {
        case 0: pull(&dirs[0]); break;
        case 1: pull(&dirs[1]); break;
        case 2: {
          uint64_t x;
          if (read(tfd, &x, sizeof x) < 0) { /* nothing to clear */ }
          armed = 0;
          break;
        }
        case 3:
          if (!control(dirs)) return 0;
          break;
      }
    }
    push(&dirs[0]);
    push(&dirs[1]);
  }
}
