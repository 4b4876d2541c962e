/* Network namespaces: see ns.h. */
#define _GNU_SOURCE
#include "ns.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* Open addressing on the name's hash: a build asks for the same few hundred namespaces thousands of
 * times. 4096 slots: four times the namespaces of 512 pairs and their nodes. */
#define SLOTS 4096
static struct ns *slots[SLOTS];
static int home_fd = -1;
static int dir_ready;
/* guards slots: namespaces may be created by several threads (ns_add_many) */
static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;

static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static struct ns **slot_of(const char *name)
{
	for (uint32_t i = hash(name), k = 0; k < SLOTS; k++, i++) {
		struct ns **s = &slots[i % SLOTS];
		if (!*s || strcmp((*s)->name, name) == 0)
			return s;
	}
	return NULL;
}

int ns_init(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	home_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	return home_fd < 0 ? -errno : 0;
}

static int fail(char err[NL_ERR], int e, const char *what, const char *name)
{
	snprintf(err, NL_ERR, "%s \"%s\": %s", what, name, strerror(e));
	return -e;
}

/* A namespace name becomes a file under /run/netns: never a path of its own. */
static int bad_name(const char *name, char err[NL_ERR])
{
	if (*name && strlen(name) < 256 && !strchr(name, '/') && strcmp(name, ".") != 0 && strcmp(name, "..") != 0)
		return 0;
	snprintf(err, NL_ERR, "invalid namespace name \"%s\"", name);
	return -EINVAL;
}

/* /run/netns as `ip netns add` leaves it: a shared mount, so that namespaces mounted under it are
 * seen by every mount namespace that later copies this one. */
static int prepare_dir(char err[NL_ERR])
{
	if (dir_ready)
		return 0;
	if (mkdir(NETNS_DIR, 0755) < 0 && errno != EEXIST)
		return fail(err, errno, "cannot create directory", NETNS_DIR);
	while (mount("", NETNS_DIR, "none", MS_SHARED | MS_REC, NULL) < 0) {
		if (errno != EINVAL)
			return fail(err, errno, "cannot make shared", NETNS_DIR);
		/* not a mount point yet: make it one, then share it */
		if (mount(NETNS_DIR, NETNS_DIR, "none", MS_BIND | MS_REC, NULL) < 0)
			return fail(err, errno, "cannot bind-mount", NETNS_DIR);
	}
	dir_ready = 1;
	return 0;
}

static struct ns *remember(const char *name, int fd, int nl)
{
	pthread_mutex_lock(&slots_lock);
	struct ns **s = slot_of(name);
	struct ns *n = s ? calloc(1, sizeof(*n)) : NULL;
	if (n) {
		snprintf(n->name, sizeof(n->name), "%s", name);
		n->fd = fd;
		n->nl = nl;
		*s = n;
	}
	pthread_mutex_unlock(&slots_lock);
	return n;
}

int ns_add(const char *name, char err[NL_ERR])
{
	char path[300];
	snprintf(path, sizeof(path), NETNS_DIR "/%s", name);
	int rc = bad_name(name, err);
	if (rc == 0)
		rc = prepare_dir(err);
	if (rc < 0)
		return rc;
	int f = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
	if (f < 0)
		return fail(err, errno, "cannot create namespace file", path);
	close(f);
	int e = 0, nl = -1, fd = -1;
	if (unshare(CLONE_NEWNET) < 0) {
		e = errno;
		snprintf(err, NL_ERR, "cannot create namespace \"%s\": %s", name, strerror(e));
	} else {
		if (mount("/proc/thread-self/ns/net", path, "none", MS_BIND, NULL) < 0) {
			e = errno;
			snprintf(err, NL_ERR, "cannot bind /proc/thread-self/ns/net to %s: %s", path, strerror(e));
		} else {
			/* a socket opened here lives here: every later request for this namespace uses it */
			nl = nl_open();
			fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
			if (nl < 0 || fd < 0) {
				e = nl < 0 ? -nl : errno;
				snprintf(err, NL_ERR, "cannot open namespace \"%s\": %s", name, strerror(e));
			}
		}
		if (setns(home_fd, CLONE_NEWNET) < 0) {
			/* no way back: nothing later could be trusted to happen in the right namespace */
			fprintf(stderr, "cnperf-wire: cannot return to the original namespace: %s\n", strerror(errno));
			_exit(3);
		}
	}
	if (e == 0 && !remember(name, fd, nl))
		e = ENOMEM, snprintf(err, NL_ERR, "out of memory remembering \"%s\"", name);
	if (e) {
		if (nl >= 0)
			close(nl);
		if (fd >= 0)
			close(fd);
		umount2(path, MNT_DETACH);
		unlink(path);
		return -e;
	}
	return 0;
}

struct add_job {
	char *const *names;
	int *rc;
	char (*err)[NL_ERR];
	int from, to;
};

static void *add_range(void *arg)
{
	struct add_job *j = arg;
	for (int i = j->from; i < j->to; i++)
		j->rc[i] = ns_add(j->names[i], j->err[i]) < 0 ? -1 : 1;
	return NULL;
}

void ns_add_many(char *const *names, int n, int threads, int *rc, char (*err)[NL_ERR])
{
	enum { MAX_THREADS = 8 };
	if (threads > MAX_THREADS)
		threads = MAX_THREADS;
	/* the shared directory once, before any thread races to prepare it */
	int prep = prepare_dir(err[0]);
	struct add_job jobs[MAX_THREADS];
	pthread_t tids[MAX_THREADS];
	int started = 0;
	for (int t = 0; t < threads && prep == 0; t++) {
		jobs[t] = (struct add_job){names, rc, err, n * t / threads, n * (t + 1) / threads};
		if (t > 0 && pthread_create(&tids[t], NULL, add_range, &jobs[t]) == 0)
			started |= 1 << t;
		else if (t > 0)
			add_range(&jobs[t]); /* no thread: do its share here */
	}
	if (prep == 0)
		add_range(&jobs[0]);
	else
		for (int i = 0; i < n; i++) /* every one refused, for the reason err[0] holds */
			rc[i] = -1, i > 0 ? (void)snprintf(err[i], NL_ERR, "%s", err[0]) : (void)0;
	for (int t = 1; t < threads; t++)
		if (started & (1 << t))
			pthread_join(tids[t], NULL);
}

struct ns *ns_get(const char *name, char err[NL_ERR])
{
	if (bad_name(name, err))
		return NULL;
	struct ns **s = slot_of(name);
	if (s && *s)
		return *s;
	char path[300];
	snprintf(path, sizeof(path), NETNS_DIR "/%s", name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fail(err, errno, "cannot open network namespace", name);
		return NULL;
	}
	if (setns(fd, CLONE_NEWNET) < 0) {
		fail(err, errno, "cannot enter network namespace", name);
		close(fd);
		return NULL;
	}
	int nl = nl_open();
	if (setns(home_fd, CLONE_NEWNET) < 0) {
		fprintf(stderr, "cnperf-wire: cannot return to the original namespace: %s\n", strerror(errno));
		_exit(3);
	}
	if (nl < 0) {
		fail(err, -nl, "cannot open a netlink socket in", name);
		close(fd);
		return NULL;
	}
	struct ns *n = remember(name, fd, nl);
	if (!n) {
		snprintf(err, NL_ERR, "out of memory remembering \"%s\"", name);
		close(fd);
		close(nl);
	}
	return n;
}

int ns_del(const char *name, char err[NL_ERR])
{
	if (bad_name(name, err))
		return -EINVAL;
	char path[300];
	snprintf(path, sizeof(path), NETNS_DIR "/%s", name);
	struct ns **s = slot_of(name);
	if (s && *s) { /* our own references would keep it alive */
		close((*s)->fd);
		close((*s)->nl);
		/* a tombstone: the slot stays taken so that names probed past it are still found */
		(*s)->name[0] = '\0';
		(*s)->fd = (*s)->nl = -1;
	}
	if (access(path, F_OK) < 0)
		return errno == ENOENT ? 0 : fail(err, errno, "cannot access", path);
	if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL)
		return fail(err, errno, "cannot unmount", path);
	if (unlink(path) < 0)
		return fail(err, errno, "cannot remove namespace file", path);
	return 1;
}

int ns_run_in(struct ns *n, int (*fn)(void *), void *arg, char err[NL_ERR])
{
	if (setns(n->fd, CLONE_NEWNET) < 0)
		return fail(err, errno, "cannot enter network namespace", n->name);
	int rc = fn(arg);
	if (setns(home_fd, CLONE_NEWNET) < 0) {
		fprintf(stderr, "cnperf-wire: cannot return to the original namespace: %s\n", strerror(errno));
		_exit(3);
	}
	return rc;
}
