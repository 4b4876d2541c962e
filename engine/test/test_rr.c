/* TCP transactions (tcp_rr.c): the pure helpers, then real runs over loopback — a forked rr-server,
 * this process the client — for rr and crr with several flows, checking every transaction completed
 * once and that crr's abortive close leaves no TIME_WAIT socket behind. */
#define _GNU_SOURCE
#include "check.h"
#include "sock.h"
#include "tcp_rr.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static struct opts loopback(uint32_t size, uint32_t rsize)
{
	struct opts o;
	opts_defaults(&o);
	o.addr.v4.sin_family = AF_INET;
	o.addr.v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	o.have_addr = 1;
	o.size = size;
	o.response_size = rsize;
	return o;
}

/* Forks an rr-server on 127.0.0.1 and returns its port (read from its ready event). */
static uint16_t start_server(pid_t *pid, uint32_t size, uint32_t rsize)
{
	int fds[2];
	CHECK(pipe(fds) == 0);
	*pid = fork();
	if (*pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		install_stop_handler();
		struct opts o = loopback(size, rsize);
		_exit(rr_server(&o));
	}
	close(fds[1]);
	char buf[1024] = {0};
	size_t got = 0;
	char *p = NULL;
	while (got < sizeof buf - 1 && !(p = strstr(buf, "\"port\":"))) {
		ssize_t n = read(fds[0], buf + got, sizeof buf - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fds[0]);
	CHECK(p != NULL);
	return p ? (uint16_t)atoi(p + 7) : 0;
}

/* Runs the client with stdout captured; returns its result line (static buffer). */
static const char *run_client(struct opts *o)
{
	static char buf[1 << 16];
	FILE *tmp = tmpfile();
	int saved = dup(STDOUT_FILENO);
	dup2(fileno(tmp), STDOUT_FILENO);
	CHECK(rr_client(o) == 0);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	rewind(tmp);
	size_t n = fread(buf, 1, sizeof buf - 1, tmp);
	buf[n] = 0;
	fclose(tmp);
	const char *r = strstr(buf, "\"event\":\"result\"");
	CHECK(r != NULL);
	return r ? r : "";
}

static int count_time_wait(uint16_t port)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "ss -Htan state time-wait '( sport = :%u or dport = :%u )' | wc -l", port, port);
	FILE *p = popen(cmd, "r");
	int n = -1;
	if (p && fscanf(p, "%d", &n) != 1)
		n = -1;
	if (p)
		pclose(p);
	return n;
}

int main(void)
{
	/* whole requests from a byte stream split anywhere */
	uint64_t got = 0;
	got += 30;
	CHECK(rr_take_requests(&got, 64) == 0 && got == 30);
	got += 100;
	CHECK(rr_take_requests(&got, 64) == 2 && got == 2);
	got = 1;
	CHECK(rr_take_requests(&got, 1) == 1 && got == 0);
	/* flows spread over one interval */
	CHECK(rr_first_start(1000, 400, 0, 4) == 1000 && rr_first_start(1000, 400, 3, 4) == 1300);
	CHECK(rr_first_start(1000, 0, 3, 4) == 1000);
	struct opts d = loopback(100, 0);
	CHECK(rr_response_size(&d) == 100);
	d.response_size = 7;
	CHECK(rr_response_size(&d) == 7);

	pid_t srv;
	const uint16_t port = start_server(&srv, 32, 1000);

	/* rr: 3 flows back to back, a 32-byte request and a 1000-byte response each */
	struct opts o = loopback(32, 1000);
	o.addr.v4.sin_port = htons(port);
	o.count = 3000;
	o.interval_ns = 0;
	o.flows = 3;
	const char *r = run_client(&o);
	CHECK(strstr(r, "\"mode\":\"rr\"") &&
	      strstr(r, "\"issued\":3001,\"completed\":3001,\"attempted\":3000,\"received\":3000,\"failed\":0"));

	/* crr: a connection per transaction, closed by RST: no new TIME_WAIT socket (rr's 3
	 * connections closed normally, so the client keeps theirs) */
	const int tw_before = count_time_wait(port);
	CHECK(tw_before == 3);
	o.crr = 1;
	o.count = 2000;
	o.flows = 2;
	r = run_client(&o);
	CHECK(strstr(r, "\"mode\":\"crr\"") && strstr(r, "\"received\":2000,\"failed\":0") &&
	      strstr(r, "\"connect_errors\":0"));
	CHECK(count_time_wait(port) == tw_before);

	/* periodic: 2 flows every 2 ms for 100 transactions take about 100 ms, not back to back */
	o.crr = 0;
	o.count = 100;
	o.warmup = 0;
	o.interval_ns = 2000000;
	r = run_client(&o);
	const char *dur = strstr(r, "\"duration_ns\":");
	CHECK(dur && strstr(r, "\"received\":100,"));
	const long long ns = dur ? atoll(dur + 14) : 0;
	CHECK(ns > 90000000 && ns < 400000000);

	kill(srv, SIGTERM);
	int status = 0;
	waitpid(srv, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	/* nobody listening: every crr connect fails, counted, and the client gives up as told */
	o = loopback(32, 32);
	o.addr.v4.sin_port = htons(port);
	o.crr = 1;
	o.count = 50;
	o.interval_ns = 0;
	o.max_consecutive_lost = 5;
	r = run_client(&o);
	CHECK(strstr(r, "\"received\":0,") && strstr(r, "\"aborted\":\"peer-unresponsive\"") &&
	      !strstr(r, "\"connect_errors\":0"));
	return check_done("rr");
}
