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
static char got[65536];
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

	master = posix_openpt(O_RDWR | O_NOCTTY);
	CHECK(master >= 0 && grantpt(master) == 0 && unlockpt(master) == 0);
	char slave[256];
	CHECK(ptsname_r(master, slave, sizeof slave) == 0);
	int s = open(slave, O_RDWR | O_NOCTTY);
	struct termios t;
	tcgetattr(s, &t);
	cfmakeraw(&t); /* a byte channel, as a virtio-serial port is */
	tcsetattr(s, TCSANOW, &t);

	pid_t agent = fork();
	if (agent == 0) {
		close(master);
		_exit(agent_main(slave, exe, fake_hello));
	}
	close(s);
	CHECK(read_until("0 out {\"event\":\"hello\",\"role\":\"agent\"}\n"));

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
	snprintf(cmd, sizeof cmd, "start 8 rtt-client\t--server\t127.0.0.1:9\t--count\t3\t--timeout-ns\t1000000\t--interval-ns\t1000000\t--raw-out\t%s\n", raw);
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
	return check_done("agent");
}
