/* cnperf-engine: the traffic engine. Arguments in; NDJSON events out on stdout (hello first);
 * logs on stderr. See src/engine-client/protocol.ts for the other side of the contract. */
#define _GNU_SOURCE
#include "agent.h"
#include "args.h"
#include "calib.h"
#include "out.h"
#include "rtt.h"
#include "sock.h"
#include "stream.h"
#include "tcp_rr.h"
#include "version.h"
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static void usage(void)
{
	fprintf(stderr,
		"usage: cnperf-engine version\n"
		"       cnperf-engine rtt-server --bind ADDR:PORT [--stamps-out FILE --count N --warmup N]\n"
		"                    [--api send|xdp|dpdk --dev IF] [common]\n"
		"       cnperf-engine rtt-client --server ADDR:PORT [--count N] [--warmup N]\n"
		"                    [--interval-ns NS] [--timeout-ns NS] [--size BYTES]\n"
		"                    [--pace sleep|spin|auto] [--open-loop] [--max-consecutive-lost N] [--raw-out FILE]\n"
		"                    [--stamps-out FILE] [--api send|xdp|dpdk --dev IF --dst-mac MAC --src IPV4:PORT] [common]\n"
		"       cnperf-engine rr-server --bind ADDR:PORT [--size B] [--response-size B] [common]\n"
		"       cnperf-engine rr-client --server ADDR:PORT [--crr] [--flows N] [--count N] [--warmup N]\n"
		"                    [--interval-ns NS] [--timeout-ns NS] [--size B] [--response-size B]\n"
		"                    [--max-consecutive-lost N] [--raw-out FILE] [common]\n"
		"       cnperf-engine stream-rx --bind ADDR:PORT [--api A] [--burst N] [--duration-ns NS] [--rcvbuf BYTES]\n"
		"                    [common]\n"
		"       cnperf-engine stream-tx --server ADDR:PORT [--api send|sendmmsg|gso|raw|raw-mmsg|raw-ring|tcp|xdp]\n"
		"                    [--size B] [--burst N] [--rate PPS] [--duration-ns NS] [--pace sleep|spin|auto]\n"
		"                    [--dev IF --dst-mac MAC --src IPV4:PORT [--qdisc-bypass]]\n"
		"                    (raw APIs, xdp; stream-rx: --dev for raw-ring, xdp)\n"
		"                    [--xdp-frames N --xdp-ring N]  (xdp: UMEM frames, ring entries)\n"
		"                    [--sndbuf BYTES] [--congestion NAME --zerocopy] (tcp) [common]\n"
		"       cnperf-engine calibrate-clock [--count N] | calibrate-timer [--interval-ns NS] [--count N]\n"
		"                    | calibrate-noise [--duration-ns NS]   [common]\n"
		"common: [--netns NAME] [--cpu N] [--rt-prio 1..99] [--mlock] [--wait block|spin|yield]\n"
		"ADDR:PORT: 198.18.0.2:9000 or [2001:2::2]:9000 (the raw-frame APIs build IPv4 frames only)\n"
		"       cnperf-engine pause   (a container's main process: holds its namespaces until SIGTERM or SIGINT)\n"
		"       cnperf-engine agent --port DEV   (a VM guest's init starts it: runs engines for the host over DEV)\n"
		"This binary is driven by cnperf; run 'cnperf quick --help' instead.\n");
}

static void hello(const char *role)
{
	struct jbuf *b = ev_begin("hello");
	ev_str(b, "version", CNPERF_ENGINE_VERSION);
	ev_u64(b, "proto", CNPERF_ENGINE_PROTO);
	ev_str(b, "role", role);
	ev_i64(b, "pid", getpid());
	ev_end(b);
}

static void agent_hello(void)
{
	hello("agent");
}

/* A container's main process (cnperf's podman datapath), as Kubernetes' pause container: it holds the
 * namespaces that the measuring engines enter, and does nothing else. As PID 1 of a PID namespace it
 * would ignore SIGTERM with the default disposition, so it waits for it explicitly. */
static int pause_until_stopped(void)
{
	sigset_t set;
	int sig;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	hello("pause");
	fflush(stdout);
	return sigwait(&set, &sig) == 0 ? 0 : 1;
}

static int run_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	hello("version");
	return 0;
}

static int run_pause(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return pause_until_stopped();
}

static int run_agent(int argc, char **argv)
{
	if (argc != 4 || strcmp(argv[2], "--port") != 0) {
		ev_error("usage", "agent takes --port DEV and nothing else");
		return 2;
	}
	return agent_main(argv[3], "/proc/self/exe", agent_hello);
}

/* What a measuring command's options must hold before it runs. */
enum {
	NEEDS_ADDR = 1,     /* --bind or --server */
	UDP_PAYLOAD = 2,    /* --size is one UDP datagram's payload */
	RR_REQUEST = 4,     /* --size is a request (TCP: up to one datagram's worth, as the UDP ones) */
};

/* The subcommands: those of the process's own (version, pause, agent) take argv; the measuring ones
 * parsed options, after the hello event. */
struct command {
	const char *name;
	int (*own)(int argc, char **argv);
	int (*measure)(const struct opts *o);
	unsigned checks;
};

static const struct command commands[] = {
	{"version", run_version, NULL, 0},
	{"pause", run_pause, NULL, 0},
	{"agent", run_agent, NULL, 0},
	{"rtt-server", NULL, rtt_server, NEEDS_ADDR | UDP_PAYLOAD},
	{"rtt-client", NULL, rtt_client, NEEDS_ADDR | UDP_PAYLOAD},
	{"rr-server", NULL, rr_server, NEEDS_ADDR | RR_REQUEST},
	{"rr-client", NULL, rr_client, NEEDS_ADDR | RR_REQUEST},
	{"stream-tx", NULL, stream_tx, NEEDS_ADDR | UDP_PAYLOAD},
	{"stream-rx", NULL, stream_rx, NEEDS_ADDR | UDP_PAYLOAD},
	{"calibrate-clock", NULL, calib_clock, 0},
	{"calibrate-timer", NULL, calib_timer, 0},
	{"calibrate-noise", NULL, calib_noise, 0},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static const struct command *command_named(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* The options a measuring command is refused with before it starts: 0, or -1 with err filled. */
static int check_opts(const struct command *c, const struct opts *o, char *err, size_t cap)
{
	if ((c->checks & NEEDS_ADDR) && opts_require_addr(o, err, cap) < 0)
		return -1;
	if ((c->checks & UDP_PAYLOAD) && opts_check_udp_size(o, err, cap) < 0)
		return -1;
	if ((c->checks & RR_REQUEST) && o->size > MAX_UDP_PAYLOAD) {
		snprintf(err, cap, "--size %u: a request is at most %u bytes", o->size, MAX_UDP_PAYLOAD);
		return -1;
	}
	/* the raw APIs write both addresses into one IP header */
	if (o->have_src && o->have_addr && o->src.sa.sa_family != o->addr.sa.sa_family) {
		snprintf(err, cap, "--src and the peer's address are of different families (IPv4 and IPv6): a frame has one");
		return -1;
	}
	if (o->wait == WAIT_YIELD && o->api != API_DPDK) {
		snprintf(err, cap, "--wait yield is for poll-mode engines (--api dpdk); sockets wait with block or spin");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	/* Never outlive the cnperf process that started us, whatever way it dies. */
	pid_t parent = getppid();
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		return 1;

	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		usage();
		return 2;
	}
	const struct command *c = command_named(argv[1]);
	if (!c) {
		char names[256] = "";
		for (size_t i = 0; i < NCOMMANDS; i++)
			snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "", commands[i].name);
		ev_error("usage", "unknown subcommand '%s' (expected %s)", argv[1], names);
		return 2;
	}
	if (c->own)
		return c->own(argc, argv);
	hello(c->name);
	struct opts o;
	char err[256];
	opts_defaults(&o);
	if (parse_opts(argc, argv, 2, &o, err, sizeof err) < 0 || check_opts(c, &o, err, sizeof err) < 0) {
		ev_error("usage", "%s", err);
		return 2;
	}
	install_stop_handler();
	return c->measure(&o);
}
