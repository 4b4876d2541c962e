/* The guest agent (agent.c) over a pseudo-terminal standing in for the virtio-serial port: its hello,
 * an engine started, its output relayed line by line with its id, a file it wrote sent back in base64
 * and removed, its exit; a running engine killed on request; an unknown command answered. Engines are
 * the real cnperf-engine binary (built before the tests). */
#define _GNU_SOURCE
#include "../agent.h"
#include "check.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static int master;
static char got[4 << 20]; /* room for a 1 MB line and what follows */
static size_t got_len;

static void fake_hello(void)
{
	const char *h = "{\"event\":\"hello\",\"role\":\"agent\"}\n";
	if (write(STDOUT_FILENO, h, strlen(h)) < 0)
		_exit(9);
}

/* Reads until `want` appears in everything read so far, or 5 s pass. */
static int read_until(const char *want)
{
	for (int i = 0; i < 500 && !strstr(got, want); i++) {
		struct pollfd p = { .fd = master, .events = POLLIN };
		if (poll(&p, 1, 10) > 0 && got_len < sizeof got - 1) {
			ssize_t n = read(master, got + got_len, sizeof got - 1 - got_len);
			if (n > 0)
				got_len += (size_t)n;
			got[got_len] = '\0';
		}
	}
	return strstr(got, want) != NULL;
}

static void say(const char *cmd)
{
	if (write(master, cmd, strlen(cmd)) < 0)
		_exit(9);
}

/* An agent running `exe` on a fresh pseudo-terminal (master: ours), once it said hello. */
static pid_t start_agent(const char *exe)
{
	master = posix_openpt(O_RDWR | O_NOCTTY);
	CHECK(master >= 0 && grantpt(master) == 0 && unlockpt(master) == 0);
	char slave[256];
	CHECK(ptsname_r(master, slave, sizeof slave) == 0);
	int s = open(slave, O_RDWR | O_NOCTTY);
	struct termios t;
	tcgetattr(s, &t);
	cfmakeraw(&t); /* a byte channel, as a virtio-serial port is */
	tcsetattr(s, TCSANOW, &t);
	got_len = 0;
	got[0] = '\0';
	pid_t agent = fork();
	if (agent == 0) {
		close(master);
		_exit(agent_main(slave, exe, fake_hello));
	}
	close(s);
	CHECK(read_until("0 out {\"event\":\"hello\",\"role\":\"agent\"}\n"));
	return agent;
}

int main(void)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n < 0)
		return 1;
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';
	*strrchr(exe, '/') = '\0';
	strcat(exe, "/cnperf-engine");

	pid_t agent = start_agent(exe);

	/* an engine that exits by itself, relayed with its id */
	say("start 7 version\n");
	CHECK(read_until("7 exit 0 0\n"));
	CHECK(strstr(got, "7 out {\"event\":\"hello\"") != NULL);

	/* a calibration writes nothing; an rtt client's --raw-out comes back: use one that fails fast
	 * (no server: it times out after one lost packet) and still writes its raw file */
	char raw[] = "/tmp/cnperf-agent-test-XXXXXX";
	int fd = mkstemp(raw);
	close(fd);
	unlink(raw);
	char cmd[512];
	snprintf(cmd, sizeof cmd,
		 "start 8 rtt-client\t--server\t127.0.0.1:9\t--count\t3\t--timeout-ns\t1000000"
		 "\t--interval-ns\t1000000\t--raw-out\t%s\n",
		 raw);
	say(cmd);
	CHECK(read_until("8 exit "));
	char file_line[600];
	snprintf(file_line, sizeof file_line, "8 file %s ", raw);
	CHECK(strstr(got, file_line) != NULL);
	CHECK(access(raw, F_OK) != 0); /* sent, then removed in the guest */

	/* a server runs until it is killed */
	say("start 9 rtt-server\t--bind\t127.0.0.1:0\n");
	CHECK(read_until("9 out {\"event\":\"ready\""));
	say("kill 9 15\n");
	CHECK(read_until("9 exit 0 0\n") || strstr(got, "9 exit -1 15\n") != NULL);

	say("frobnicate\n");
	CHECK(read_until("0 err agent: unknown command 'frobnicate'\n"));

	kill(agent, SIGKILL);
	waitpid(agent, NULL, 0);
	close(master);

	/* a line of any length arrives whole, with one prefix and its newline (a 1 MB result line was cut
	 * at 1023 bytes without its newline, and spliced into the next message); so does a last line that
	 * lacks its newline. The "engine" here is sh, printing them. */
	agent = start_agent("/bin/sh");
	say("start 5 -c\thead -c 1048576 /dev/zero | tr '\\0' x; echo; echo after; printf tail\n");
	CHECK(read_until("5 exit 0 0\n"));
	char *line = strstr(got, "5 out x");
	CHECK(line != NULL);
	if (line) {
		size_t xs = strspn(line + 6, "x");
		CHECK(xs == 1048576);
		CHECK(strncmp(line + 6 + xs, "\n5 out after\n5 out tail\n", strlen("\n5 out after\n5 out tail\n")) == 0);
	}
	kill(agent, SIGKILL);
	waitpid(agent, NULL, 0);
	close(master);
	return check_done("agent");
}
