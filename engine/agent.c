/* cnperf-engine agent: the engine's side of a VM endpoint (src/vm/agent.ts is the other side).
 *
 * In a guest, cnperf cannot spawn engines itself: this agent, started by the guest's init, reads
 * commands from a virtio-serial port and runs engines for the host, forwarding what they print.
 * Host to guest, one command a line:
 *   start <id> <arg>\t<arg>...      run `cnperf-engine <args>` (arguments never hold a tab or newline)
 *   kill <id> <signal number>       signal that engine's process group
 * Guest to host, one message a line, prefixed with the engine's id (0: the agent itself):
 *   <id> out <line>                 a line of the engine's stdout (its NDJSON events)
 *   <id> err <line>                 a line of its stderr
 *   <id> file <path> <bytes>        then `<id> data <base64>` lines: a file it wrote (--raw-out, --stamps-out)
 *   <id> exit <code> <signal>       it has ended (after its files)
 * The agent's own hello is `0 out {"event":"hello",...}`: the host's readiness signal.
 * Nothing here runs inside a measurement's loop: the engines measure, the agent only relays. */
#define _GNU_SOURCE
#include "agent.h"
#include "out.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_CHILD 16
#define MAX_ARGS 96
#define LINE_MAX_BYTES 65536
/* An engine's output line is relayed whole, whatever its length (an RTT histogram of 10^6 samples is
 * ~108 KB): a line split or truncated would be spliced into the next message on the host. Lines grow
 * their buffer up to LINE_CAP_BYTES; a longer one is dropped and said so (the guest has 256 MB). */
#define LINE_CAP_BYTES (16u << 20)

struct stream_buf {
	int fd;
	size_t len, cap;
	char *buf;
	int dropping; /* inside a line over LINE_CAP_BYTES: discarded up to its newline */
};

struct child {
	int id;
	pid_t pid;
	struct stream_buf out, err;
	char *files[4];
	int nfiles;
};

static struct child children[MAX_CHILD];
static int port_fd = -1;
static const char *engine_exe;

/* Writes everything, retrying on short writes (the port is a blocking character device). */
static void put(const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(port_fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			_exit(3); /* the host is gone: nothing left to relay to */
		}
		p += w;
		n -= (size_t)w;
	}
}

static void putf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void putf(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n > 0)
		put(line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

static void mkdirs_for(const char *path)
{
	char dir[4096];
	snprintf(dir, sizeof dir, "%s", path);
	for (char *s = dir + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		mkdir(dir, 0700);
		*s = '/';
	}
}

static void send_file(int id, const char *path)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		return; /* the engine did not write it (it failed first): its exit says why */
	}
	putf("%d file %s %lld\n", id, path, (long long)st.st_size);
	unsigned char in[3072];
	char line[4200];
	ssize_t n;
	while ((n = read(fd, in, sizeof in)) > 0) {
		size_t o = (size_t)snprintf(line, sizeof line, "%d data ", id);
		for (ssize_t i = 0; i < n; i += 3) {
			unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
			line[o++] = b64[v >> 18 & 63];
			line[o++] = b64[v >> 12 & 63];
			line[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
			line[o++] = i + 2 < n ? b64[v & 63] : '=';
		}
		line[o++] = '\n';
		put(line, o);
	}
	close(fd);
	unlink(path);
}

static void start(int id, char *args)
{
	char *argv[MAX_ARGS + 2];
	int argc = 0;
	struct child *c = NULL;
	for (int i = 0; i < MAX_CHILD; i++)
		if (children[i].pid == 0) {
			c = &children[i];
			break;
		}
	argv[argc++] = "cnperf-engine";
	for (char *tok = strtok(args, "\t"); tok && argc < MAX_ARGS; tok = strtok(NULL, "\t"))
		argv[argc++] = tok;
	argv[argc] = NULL;
	int out[2], err[2];
	if (!c || pipe2(out, O_CLOEXEC) < 0) {
		putf("%d err agent: cannot start another engine (%d running at most)\n%d exit 127 0\n", id, MAX_CHILD, id);
		return;
	}
	if (pipe2(err, O_CLOEXEC) < 0) {
		close(out[0]);
		close(out[1]);
		putf("%d exit 127 0\n", id);
		return;
	}
	memset(c, 0, sizeof *c);
	c->id = id;
	for (int i = 1; i + 1 < argc; i++)
		if ((strcmp(argv[i], "--raw-out") == 0 || strcmp(argv[i], "--stamps-out") == 0) && c->nfiles < 4) {
			mkdirs_for(argv[i + 1]);
			c->files[c->nfiles++] = strdup(argv[i + 1]);
		}
	pid_t pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		dup2(out[1], STDOUT_FILENO);
		dup2(err[1], STDERR_FILENO);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execv(engine_exe, argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	c->pid = pid < 0 ? 0 : pid;
	c->out.fd = out[0];
	c->err.fd = err[0];
	if (pid < 0) {
		close(out[0]);
		close(err[0]);
		putf("%d exit 127 0\n", id);
	}
}

/* One whole line of a child's output, with its id and stream: `ID out|err LINE\n`. */
static void relay_line(const struct child *c, const char *kind, const char *line, size_t n)
{
	char prefix[32];
	int pn = snprintf(prefix, sizeof prefix, "%d %s ", c->id, kind);
	put(prefix, (size_t)pn);
	put(line, n);
	if (n == 0 || line[n - 1] != '\n')
		put("\n", 1);
}

/* Reads what is there; relays every whole line, whole. Returns 0 at end of file. */
static int relay(struct child *c, struct stream_buf *s, const char *kind)
{
	if (s->cap - s->len < LINE_MAX_BYTES && s->cap < LINE_CAP_BYTES) {
		size_t cap = s->cap ? s->cap * 2 : LINE_MAX_BYTES;
		char *b = realloc(s->buf, cap);
		if (b) {
			s->buf = b;
			s->cap = cap;
		}
	}
	ssize_t n = s->cap > s->len ? read(s->fd, s->buf + s->len, s->cap - s->len) : 0;
	if (n <= 0) {
		if (s->len > 0 && !s->dropping) /* a last line without its newline */
			relay_line(c, kind, s->buf, s->len);
		free(s->buf);
		s->buf = NULL;
		s->len = s->cap = 0;
		s->dropping = 0;
		close(s->fd);
		s->fd = -1;
		return 0;
	}
	s->len += (size_t)n;
	char *start = s->buf, *nl;
	while ((nl = memchr(start, '\n', s->len - (size_t)(start - s->buf)))) {
		if (!s->dropping)
			relay_line(c, kind, start, (size_t)(nl - start) + 1);
		s->dropping = 0;
		start = nl + 1;
	}
	s->len -= (size_t)(start - s->buf);
	memmove(s->buf, start, s->len);
	if (s->len == s->cap && s->cap >= LINE_CAP_BYTES) {
		if (!s->dropping)
			putf("%d err agent: a line of over %u bytes from the engine was dropped\n", c->id, LINE_CAP_BYTES);
		s->dropping = 1;
		s->len = 0;
	}
	return 1;
}

static void finish(struct child *c)
{
	int status = 0;
	while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
		;
	for (int i = 0; i < c->nfiles; i++) {
		send_file(c->id, c->files[i]);
		free(c->files[i]);
	}
	putf("%d exit %d %d\n", c->id, WIFEXITED(status) ? WEXITSTATUS(status) : -1,
	     WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	c->pid = 0;
}

static void command(char *line)
{
	int id = 0, sig = 0, off = 0;
	if (sscanf(line, "start %d %n", &id, &off) == 1 && off > 0 && id > 0) {
		start(id, line + off);
	} else if (sscanf(line, "kill %d %d", &id, &sig) == 2) {
		for (int i = 0; i < MAX_CHILD; i++)
			if (children[i].pid > 0 && children[i].id == id)
				kill(-children[i].pid, sig);
	} else {
		putf("0 err agent: unknown command '%.200s'\n", line);
	}
}

int agent_main(const char *port, const char *exe, void (*hello)(void))
{
	engine_exe = exe;
	port_fd = open(port, O_RDWR | O_CLOEXEC);
	if (port_fd < 0) {
		ev_error("agent", "cannot open %s: %s", port, strerror(errno));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	/* Until the host connects, the port polls as hung up and writes would fail: wait for it. */
	for (;;) {
		struct pollfd w = { .fd = port_fd, .events = POLLIN };
		if (poll(&w, 1, 100) >= 0 && !(w.revents & POLLHUP))
			break;
		usleep(50000);
	}
	/* The hello goes out through the port, behind the agent's own id. */
	dup2(port_fd, STDOUT_FILENO);
	put("0 out ", 6);
	hello();
	static char cmd[LINE_MAX_BYTES];
	size_t cmd_len = 0;
	for (;;) {
		struct pollfd p[1 + 2 * MAX_CHILD];
		struct child *owner[1 + 2 * MAX_CHILD];
		int np = 0;
		p[np++] = (struct pollfd){ .fd = port_fd, .events = POLLIN };
		for (int i = 0; i < MAX_CHILD; i++) {
			struct child *c = &children[i];
			if (c->pid <= 0)
				continue;
			if (c->out.fd < 0 && c->err.fd < 0) {
				finish(c);
				continue;
			}
			if (c->out.fd >= 0) {
				owner[np] = c;
				p[np++] = (struct pollfd){ .fd = c->out.fd, .events = POLLIN };
			}
			if (c->err.fd >= 0) {
				owner[np] = c;
				p[np++] = (struct pollfd){ .fd = c->err.fd, .events = POLLIN };
			}
		}
		if (poll(p, (nfds_t)np, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		for (int i = 1; i < np; i++) {
			if (!p[i].revents)
				continue;
			struct child *c = owner[i];
			if (p[i].fd == c->out.fd)
				relay(c, &c->out, "out");
			else
				relay(c, &c->err, "err");
		}
		if (p[0].revents & POLLIN) {
			ssize_t n = read(port_fd, cmd + cmd_len, sizeof cmd - cmd_len - 1);
			if (n < 0 && errno != EINTR && errno != EAGAIN)
				return 1;
			if (n > 0)
				cmd_len += (size_t)n;
			char *s = cmd, *nl;
			while ((nl = memchr(s, '\n', cmd_len - (size_t)(s - cmd)))) {
				*nl = '\0';
				command(s);
				s = nl + 1;
			}
			cmd_len -= (size_t)(s - cmd);
			memmove(cmd, s, cmd_len);
			if (cmd_len == sizeof cmd - 1)
				cmd_len = 0; /* a command longer than any we send: drop it */
		} else if (p[0].revents & (POLLHUP | POLLERR)) {
			/* No host on the other end (between connections): wait rather than spin. */
			usleep(100000);
		}
	}
}
