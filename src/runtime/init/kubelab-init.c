/*
 * kubelab-init: the one piece of kubelab's container runtime that must be native code, because what
 * it does (unshare, pivot_root, capset, setuid, then exec) has to happen inside the very process that
 * becomes the container, between fork and exec. runc does the same in its C "nsexec" part.
 *
 * It is deliberately dumb: the TypeScript side (src/runtime/launch.ts) computes every decision (which
 * layers, which cgroups, which user, which capabilities, which command) and passes it on the command
 * line; this program applies it in order and execs. Read it top to bottom as the life of a container:
 *
 *   parent (the "shim" the node daemon watches)
 *     1. setns into the pod's network namespace (--netns), or a network namespace of its own with
 *        only loopback, up (--new-netns: a build step's RUN, Docker's `--network none`)
 *     2. unshare mount, UTS, IPC and PID namespaces
 *     3. fork: the child is PID 1 of the new PID namespace; the parent forwards signals to it,
 *        waits, and exits with its status (128+signal when killed, as a shell reports it)
 *   child (becomes the container)
 *     4. make every mount private, so nothing we mount leaks back to the node
 *     5. make the container's cgroups, write their limits (--cgroup-set FILE=VALUE) and join them
 *        (--cgroup DIR, one per hierarchy)
 *     6. mount the overlay root (image layers read-only below, the container's own upper dir on top)
 *     7. /proc, a minimal /dev (null zero full random urandom tty, pts, shm, mqueue), /sys read-only
 *     8. bind the pod's /etc/hosts, /etc/hostname, /etc/resolv.conf (--bind SRC=DST)
 *     9. pivot_root into the new root and detach the old one
 *    10. hostname, working directory, groups, gid, uid, capability bounding/effective sets
 *    11. execvp the command with exactly the container's environment (--env)
 *
 * --pause runs steps 1-3 and then just waits for signals: the pod's sandbox holder.
 * Errors name the step and exit 127 (command not found), 126 (not executable) or 128 (setup failed).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <linux/capability.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_LIST 64

static struct {
  const char *netns, *rootfs, *lower, *upper, *work, *hostname, *cwd, *pid_file;
  const char *cgroups[MAX_LIST];
  int ncgroups;
  const char *cgroup_sets[MAX_LIST];
  int ncgroup_sets;
  const char *binds[MAX_LIST];
  int nbinds;
  const char *env[512];
  int nenv;
  uid_t uid;
  gid_t gid;
  gid_t groups[MAX_LIST];
  int ngroups;
  uint64_t caps;
  int have_caps, pause, no_pidns, new_netns;
  char **argv;
} opt;

static void die(int code, const char *fmt, ...) {
  va_list ap;
  int err = errno;
  fprintf(stderr, "kubelab-init: ");
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  if (err) fprintf(stderr, ": %s", strerror(err));
  fputc('\n', stderr);
  exit(code);
}
#define CHECK(expr, ...)                 \
  do {                                   \
    errno = 0;                           \
    if ((expr) < 0) die(128, __VA_ARGS__); \
  } while (0)

static void write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) die(128, "open %s", path);
  if (write(fd, text, strlen(text)) < 0) die(128, "write %s to %s", text, path);
  close(fd);
}

/* mkdir -p, for mount points inside the new root (the image may lack /proc or /dev). */
static void mkdirs(const char *path, mode_t mode) {
  char buf[4096];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    mkdir(buf, mode);
    *p = '/';
  }
  mkdir(buf, mode);
}

static void touch(const char *path) {
  int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
  if (fd >= 0) close(fd);
}

static char *join(const char *a, const char *b) {
  char *out;
  if (asprintf(&out, "%s%s", a, b) < 0) die(128, "out of memory");
  return out;
}

static void mount_in(const char *root, const char *target, const char *type, unsigned long flags, const char *data) {
  char *path = join(root, target);
  mkdirs(path, 0755);
  CHECK(mount(type, path, type, flags, data), "mount %s on %s", type, target);
  free(path);
}

static void make_dev(const char *root) {
  static const struct { const char *name; unsigned maj, min; } nodes[] = {
      {"/dev/null", 1, 3}, {"/dev/zero", 1, 5}, {"/dev/full", 1, 7},
      {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0},
  };
  mount_in(root, "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
  for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
    char *path = join(root, nodes[i].name);
    CHECK(mknod(path, S_IFCHR | 0666, makedev(nodes[i].maj, nodes[i].min)), "mknod %s", nodes[i].name);
    chmod(path, 0666); /* mknod is subject to the umask */
    free(path);
  }
  static const char *links[][2] = {
      {"/proc/self/fd", "/dev/fd"}, {"/proc/self/fd/0", "/dev/stdin"}, {"/proc/self/fd/1", "/dev/stdout"},
      {"/proc/self/fd/2", "/dev/stderr"}, {"/proc/kcore", "/dev/core"}, {"pts/ptmx", "/dev/ptmx"},
  };
  for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
    char *path = join(root, links[i][1]);
    CHECK(symlink(links[i][0], path), "symlink %s", links[i][1]);
    free(path);
  }
  mount_in(root, "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620");
  mount_in(root, "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k");
  mount_in(root, "/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
}

static void bind_files(const char *root) {
  for (int i = 0; i < opt.nbinds; i++) {
    char *spec = strdup(opt.binds[i]);
    char *eq = strchr(spec, '=');
    if (!eq) die(128, "--bind %s: expected SRC=DST", spec);
    *eq = 0;
    char *dst = eq + 1;
    int ro = 0;
    size_t n = strlen(dst);
    if (n > 3 && strcmp(dst + n - 3, ":ro") == 0) ro = 1, dst[n - 3] = 0;
    char *target = join(root, dst);
    struct stat st;
    if (stat(spec, &st) < 0) die(128, "bind source %s", spec);
    if (S_ISDIR(st.st_mode)) mkdirs(target, 0755);
    else {
      char *parent = strdup(target);
      *strrchr(parent, '/') = 0;
      mkdirs(parent, 0755);
      free(parent);
      /* Only a missing mount point is made: opening an image's file for writing would copy it up
         into the container's layer (a build step's diff would then show an untouched file). */
      if (access(target, F_OK) != 0) touch(target);
    }
    CHECK(mount(spec, target, NULL, MS_BIND | MS_REC, NULL), "bind %s on %s", spec, dst);
    if (ro) CHECK(mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL), "remount %s read-only", dst);
    free(target);
    free(spec);
  }
}

static void enter_root(void) {
  const char *root = opt.rootfs;
  CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), "make mounts private");
  if (opt.lower) {
    char *data;
    if (opt.upper)
      data = NULL, asprintf(&data, "lowerdir=%s,upperdir=%s,workdir=%s", opt.lower, opt.upper, opt.work);
    else
      data = NULL, asprintf(&data, "lowerdir=%s", opt.lower); /* read-only root: no upper */
    CHECK(mount("overlay", root, "overlay", 0, data), "mount overlay root on %s", root);
    free(data);
  } else {
    CHECK(mount(root, root, NULL, MS_BIND | MS_REC, NULL), "bind root %s", root);
  }
  mount_in(root, "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  make_dev(root);
  mount_in(root, "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL);
  bind_files(root);
  CHECK(chdir(root), "chdir %s", root);
  /* pivot_root(".", "."): the old root ends up stacked on the new one, then is detached. */
  CHECK(syscall(SYS_pivot_root, ".", "."), "pivot_root %s", root);
  CHECK(umount2(".", MNT_DETACH), "detach the old root");
  CHECK(chdir("/"), "chdir /");
}

static void drop_privileges(void) {
  if (opt.have_caps) {
    for (int cap = 0; cap <= 63; cap++) {
      if (opt.caps & (1ULL << cap)) continue;
      if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) die(128, "drop capability %d from the bounding set", cap);
    }
  }
  CHECK(setgroups(opt.ngroups, opt.groups), "setgroups");
  CHECK(setresgid(opt.gid, opt.gid, opt.gid), "setgid %u", opt.gid);
  CHECK(setresuid(opt.uid, opt.uid, opt.uid), "setuid %u", opt.uid);
  if (opt.have_caps && opt.uid == 0) {
    /* Root keeps exactly the container's set as permitted, effective and inheritable; a non-root
       user lost its permitted set at setuid, as in Docker (the bounding set still limits it). */
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    for (int i = 0; i < 2; i++) {
      uint32_t word = (uint32_t)(opt.caps >> (32 * i));
      data[i].effective = data[i].permitted = data[i].inheritable = word;
    }
    CHECK(syscall(SYS_capset, &hdr, data), "capset");
  }
}

static void become_container(void) {
  prctl(PR_SET_PDEATHSIG, SIGKILL); /* the container never outlives the shim the daemon watches */
  /* The cgroup is made here rather than by a separate command: one process less per start. */
  for (int i = 0; i < opt.ncgroups; i++) mkdirs(opt.cgroups[i], 0755);
  for (int i = 0; i < opt.ncgroup_sets; i++) {
    char *spec = strdup(opt.cgroup_sets[i]);
    char *eq = strrchr(spec, '=');
    if (!eq) errno = 0, die(128, "--cgroup-set %s: expected FILE=VALUE", spec);
    *eq = 0;
    write_file(spec, eq + 1);
    free(spec);
  }
  for (int i = 0; i < opt.ncgroups; i++) {
    char *procs = join(opt.cgroups[i], "/cgroup.procs");
    write_file(procs, "0");
    free(procs);
  }
  if (opt.rootfs) enter_root();
  if (opt.hostname) CHECK(sethostname(opt.hostname, strlen(opt.hostname)), "sethostname %s", opt.hostname);
  if (opt.cwd) {
    mkdirs(opt.cwd, 0755); /* as Docker: a WorkingDir that does not exist is created */
    CHECK(chdir(opt.cwd), "chdir %s", opt.cwd);
  }
  drop_privileges();
  clearenv();
  for (int i = 0; i < opt.nenv; i++) putenv((char *)opt.env[i]);
  if (!getenv("PATH")) putenv("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  execvp(opt.argv[0], opt.argv);
  int code = errno == ENOENT ? 127 : 126;
  die(code, "exec %s", opt.argv[0]);
}

/* A new network namespace has lo down: bring it up, as `ip link set lo up` would. */
static void loopback_up(void) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die(128, "socket for lo");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
  CHECK(ioctl(fd, SIOCGIFFLAGS, &ifr), "read the flags of lo");
  ifr.ifr_flags |= IFF_UP;
  CHECK(ioctl(fd, SIOCSIFFLAGS, &ifr), "bring lo up");
  close(fd);
}

static pid_t child;
static void forward(int sig) {
  if (child > 0) kill(child, sig);
}

static void pause_forever(void) {
  /* The sandbox holder: PID 1 of its own PID namespace, it reaps and waits to be told to stop. */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM), sigaddset(&set, SIGINT), sigaddset(&set, SIGCHLD);
  sigprocmask(SIG_BLOCK, &set, NULL);
  for (;;) {
    int sig;
    sigwait(&set, &sig);
    if (sig == SIGCHLD) while (waitpid(-1, NULL, WNOHANG) > 0) {}
    else exit(0);
  }
}

static void parse_ids(const char *spec) {
  char *end;
  opt.uid = strtoul(spec, &end, 10);
  opt.gid = *end == ':' ? strtoul(end + 1, &end, 10) : 0;
}

static void parse_groups(const char *spec) {
  char *copy = strdup(spec), *save = NULL;
  for (char *tok = strtok_r(copy, ",", &save); tok && opt.ngroups < MAX_LIST; tok = strtok_r(NULL, ",", &save))
    opt.groups[opt.ngroups++] = strtoul(tok, NULL, 10);
}

int main(int argc, char **argv) {
  static const struct option longs[] = {
      {"netns", 1, 0, 'n'}, {"rootfs", 1, 0, 'r'}, {"lower", 1, 0, 'l'}, {"upper", 1, 0, 'u'},
      {"work", 1, 0, 'w'}, {"hostname", 1, 0, 'h'}, {"cwd", 1, 0, 'c'}, {"pid-file", 1, 0, 'p'},
      {"cgroup", 1, 0, 'g'}, {"bind", 1, 0, 'b'}, {"env", 1, 0, 'e'}, {"user", 1, 0, 'U'},
      {"groups", 1, 0, 'G'}, {"cgroup-set", 1, 0, 'S'}, {"caps", 1, 0, 'C'}, {"pause", 0, 0, 'P'}, {"no-pidns", 0, 0, 'N'},
      {"new-netns", 0, 0, 'E'},
      {0, 0, 0, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "+", longs, NULL)) != -1) {
    switch (c) {
      case 'n': opt.netns = optarg; break;
      case 'r': opt.rootfs = optarg; break;
      case 'l': opt.lower = optarg; break;
      case 'u': opt.upper = optarg; break;
      case 'w': opt.work = optarg; break;
      case 'h': opt.hostname = optarg; break;
      case 'c': opt.cwd = optarg; break;
      case 'p': opt.pid_file = optarg; break;
      case 'g': if (opt.ncgroups < MAX_LIST) opt.cgroups[opt.ncgroups++] = optarg; break;
      case 'b': if (opt.nbinds < MAX_LIST) opt.binds[opt.nbinds++] = optarg; break;
      case 'e': if (opt.nenv < 511) opt.env[opt.nenv++] = optarg; break;
      case 'U': parse_ids(optarg); break;
      case 'G': parse_groups(optarg); break;
      case 'S': if (opt.ncgroup_sets < MAX_LIST) opt.cgroup_sets[opt.ncgroup_sets++] = optarg; break;
      case 'C': opt.caps = strtoull(optarg, NULL, 16), opt.have_caps = 1; break;
      case 'P': opt.pause = 1; break;
      case 'N': opt.no_pidns = 1; break;
      case 'E': opt.new_netns = 1; break;
      default: errno = 0, die(128, "usage: kubelab-init [options] -- COMMAND [ARG...]");
    }
  }
  opt.argv = argv + optind;
  if (!opt.pause && !opt.argv[0]) errno = 0, die(128, "no command given");
  if (opt.upper && !opt.work) errno = 0, die(128, "--upper needs --work");

  if (opt.netns) {
    int fd = open(opt.netns, O_RDONLY | O_CLOEXEC);
    if (fd < 0) die(128, "open network namespace %s", opt.netns);
    CHECK(setns(fd, CLONE_NEWNET), "join network namespace %s", opt.netns);
    close(fd);
  }
  if (opt.new_netns) {
    CHECK(unshare(CLONE_NEWNET), "unshare a network namespace");
    loopback_up();
  }
  int flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | (opt.no_pidns ? 0 : CLONE_NEWPID);
  CHECK(unshare(flags), "unshare mount/uts/ipc/pid namespaces");

  /* Signals that arrive while we fork are held, then forwarded to the container. */
  static const int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
  struct sigaction sa = {.sa_handler = forward};
  sigemptyset(&sa.sa_mask);
  for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++) sigaction(forwarded[i], &sa, NULL);

  child = fork();
  if (child < 0) die(128, "fork");
  if (child == 0) {
    sa.sa_handler = SIG_DFL;
    for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++) sigaction(forwarded[i], &sa, NULL);
    if (opt.pause) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (opt.hostname) sethostname(opt.hostname, strlen(opt.hostname));
      pause_forever();
    }
    become_container();
  }
  if (opt.pid_file) {
    char buf[32];
    snprintf(buf, sizeof buf, "%d\n", child);
    char *tmp = join(opt.pid_file, ".tmp");
    int fd = open(tmp, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
    if (fd >= 0 && write(fd, buf, strlen(buf)) > 0) rename(tmp, opt.pid_file);
    if (fd >= 0) close(fd);
    free(tmp);
  }
  int status;
  for (;;) {
    pid_t r = waitpid(child, &status, 0);
    if (r == child) break;
    if (r < 0 && errno != EINTR) die(128, "wait for the container");
  }
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}
