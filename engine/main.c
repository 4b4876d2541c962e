/* cnperf-engine: the traffic engine. Arguments in; NDJSON events out on stdout (hello first);
 * logs on stderr. See src/engine-client/protocol.ts for the other side of the contract. */
#define _GNU_SOURCE
#include "agent.h"
#include "args.h"
#include "calib.h"
#include "dpdk.h"
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
		"       cnperf-engine rtt-server --bind IPV4:PORT [--stamps-out FILE --count N --warmup N] [--api send|xdp --dev IF] [common]\n"
		"       cnperf-engine rtt-client --server IPV4:PORT [--count N] [--warmup N]\n"
		"                    [--interval-ns NS] [--timeout-ns NS] [--size BYTES]\n"
		"                    [--pace sleep|spin] [--open-loop] [--max-consecutive-lost N] [--raw-out FILE]\n"
		"                    [--stamps-out FILE] [--api send|xdp --dev IF --dst-mac MAC --src IPV4:PORT] [common]\n"
		"       cnperf-engine rr-server --bind IPV4:PORT [--size B] [--response-size B] [common]\n"
		"       cnperf-engine rr-client --server IPV4:PORT [--crr] [--flows N] [--count N] [--warmup N] [--interval-ns NS]\n"
		"                    [--timeout-ns NS] [--size B] [--response-size B] [--max-consecutive-lost N] [--raw-out FILE] [common]\n"
		"       cnperf-engine stream-rx --bind IPV4:PORT [--api A] [--burst N] [--duration-ns NS] [--rcvbuf BYTES] [common]\n"
		"       cnperf-engine stream-tx --server IPV4:PORT [--api send|sendmmsg|raw|raw-mmsg|raw-ring|tcp|xdp]\n"
		"                    [--size B] [--burst N] [--rate PPS] [--duration-ns NS] [--pace sleep|spin]\n"
		"                    [--dev IF --dst-mac MAC --src IPV4:PORT [--qdisc-bypass]]  (raw APIs, xdp; stream-rx: --dev for raw-ring, xdp)\n"
		"                    [--xdp-frames N --xdp-ring N]  (xdp: UMEM frames, ring entries) [common]\n"
		"       cnperf-engine calibrate-clock [--count N] | calibrate-timer [--interval-ns NS] [--count N]\n"
		"                    | calibrate-noise [--duration-ns NS]   [common]\n"
		"common: [--netns NAME] [--cpu N] [--rt-prio 1..99] [--mlock] [--wait block|spin]\n"
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
	const char *cmd = argv[1];
	int is_server = strcmp(cmd, "rtt-server") == 0;
	int is_client = strcmp(cmd, "rtt-client") == 0;
	int is_tx = strcmp(cmd, "stream-tx") == 0;
	int is_rx = strcmp(cmd, "stream-rx") == 0;
	int is_rr_server = strcmp(cmd, "rr-server") == 0;
	int is_rr_client = strcmp(cmd, "rr-client") == 0;
	if (strcmp(cmd, "version") == 0) {
		hello("version");
		return 0;
	}
	if (strcmp(cmd, "pause") == 0)
		return pause_until_stopped();
	if (strcmp(cmd, "agent") == 0) {
		if (argc != 4 || strcmp(argv[2], "--port") != 0) {
			ev_error("usage", "agent takes --port DEV and nothing else");
			return 2;
		}
		return agent_main(argv[3], "/proc/self/exe", agent_hello);
	}
	const int is_calib = strncmp(cmd, "calibrate-", 10) == 0;
	if (!is_server && !is_client && !is_tx && !is_rx && !is_rr_server && !is_rr_client && strcmp(cmd, "calibrate-clock") != 0 &&
	    strcmp(cmd, "calibrate-timer") != 0 && strcmp(cmd, "calibrate-noise") != 0) {
		ev_error("usage", "unknown subcommand '%s' (expected rtt-server, rtt-client, rr-server, rr-client, stream-tx, stream-rx, calibrate-clock, calibrate-timer, calibrate-noise, version, pause, agent)", cmd);
		return 2;
	}
	hello(cmd);
	struct opts o;
	char err[256];
	opts_defaults(&o);
	if (parse_opts(argc, argv, 2, &o, err, sizeof err) < 0 || (!is_calib && opts_require_addr(&o, err, sizeof err) < 0)) {
		ev_error("usage", "%s", err);
		return 2;
	}
	if ((is_server || is_client || is_tx || is_rx) && opts_check_udp_size(&o, err, sizeof err) < 0) {
		ev_error("usage", "%s", err);
		return 2;
	}
	if ((is_rr_server || is_rr_client) && o.size > MAX_UDP_PAYLOAD) {
		ev_error("usage", "--size %u: a request is at most %u bytes", o.size, MAX_UDP_PAYLOAD);
		return 2;
	}
	if (o.wait == WAIT_YIELD && o.api != API_DPDK) {
		ev_error("usage", "--wait yield is for poll-mode engines (--api dpdk); sockets wait with block or spin");
		return 2;
	}
	install_stop_handler();
	if (strcmp(cmd, "calibrate-clock") == 0)
		return calib_clock(&o);
	if (strcmp(cmd, "calibrate-timer") == 0)
		return calib_timer(&o);
	if (strcmp(cmd, "calibrate-noise") == 0)
		return calib_noise(&o);
	if (is_rr_server)
		return rr_server(&o);
	if (is_rr_client)
		return rr_client(&o);
	if (is_tx)
		return stream_tx(&o);
	if (is_rx)
		return stream_rx(&o);
	if (o.api == API_XDP) {
		if (o.stamps_out || o.open_loop) {
			ev_error("usage", "--api xdp: %s is not built for AF_XDP (it needs the socket's kernel timestamps / the open-loop sender)", o.stamps_out ? "--stamps-out" : "--open-loop");
			return 2;
		}
		return is_server ? rtt_xdp_server(&o) : rtt_xdp_client(&o);
	}
	if (o.api == API_DPDK) {
		if (!rtt_dpdk_client) {
			ev_error("usage", "--api dpdk: this engine is built without DPDK; cnperf-engine-dpdk has it");
			return 2;
		}
		if (o.stamps_out) {
			ev_error("usage", "--api dpdk: --stamps-out needs the sockets' kernel timestamps");
			return 2;
		}
		if (o.open_loop && !o.interval_ns) {
			ev_error("usage", "--open-loop needs a periodic schedule: --interval-ns > 0");
			return 2;
		}
		return is_server ? rtt_dpdk_server(&o) : rtt_dpdk_client(&o);
	}
	if (o.api != API_SEND) {
		ev_error("usage", "rtt: --api %s: the round trip runs over send (a UDP socket), xdp (AF_XDP) or dpdk", api_name(o.api));
		return 2;
	}
	return is_server ? rtt_server(&o) : rtt_client(&o);
}
