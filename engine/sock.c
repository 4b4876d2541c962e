#define _GNU_SOURCE
#include "sock.h"
#include "out.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

void install_stop_handler(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a blocked recv() must return EINTR so the loop sees the request. */
	sa.sa_flags = 0;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static void sleep_until(uint64_t t)
{
	struct timespec ts = {.tv_sec = (time_t)(t / 1000000000ull), .tv_nsec = (long)(t % 1000000000ull)};
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR && !stop_requested)
		;
}

/*
 * The auto pacer's margin: how long before a slot it stops sleeping and spins. It follows the timer's
 * lateness as it goes — up at once to a wake-up later than it, down by 1/64 of the difference per
 * sleep, and a little each time the gap was too short to sleep at all (so one long stall does not keep
 * it spinning) — between 2 µs and 200 µs (beyond that a sleep saves nothing a spin would not waste).
 * One paced loop per engine process: process-wide state.
 */
#define AUTO_MARGIN_MIN_NS 2000ull
#define AUTO_MARGIN_MAX_NS 200000ull
static uint64_t auto_margin_ns = 20000;
static uint64_t spun_ns;

uint64_t pace_spun_ns(void) { return spun_ns; }

static uint64_t spin_until(uint64_t t, int yield)
{
	uint64_t now = now_ns();
	const uint64_t from = now;
	while (now < t && !stop_requested) {
		if (yield)
			sched_yield();
		now = now_ns();
	}
	spun_ns += now - from;
	return now;
}

void wait_until(uint64_t t, enum pace_mode pace)
{
	if (pace == PACE_SPIN || pace == PACE_YIELD) {
		spin_until(t, pace == PACE_YIELD);
		return;
	}
	if (pace == PACE_SLEEP) {
		sleep_until(t);
		return;
	}
	/* auto */
	const uint64_t now = now_ns();
	if (t > now + auto_margin_ns) {
		const uint64_t target = t - auto_margin_ns;
		sleep_until(target);
		const uint64_t woke = now_ns(), late = woke > target ? woke - target : 0;
		auto_margin_ns = late > auto_margin_ns ? late : auto_margin_ns - ((auto_margin_ns - late) >> 6);
	} else {
		auto_margin_ns -= auto_margin_ns >> 10;
	}
	if (auto_margin_ns < AUTO_MARGIN_MIN_NS)
		auto_margin_ns = AUTO_MARGIN_MIN_NS;
	if (auto_margin_ns > AUTO_MARGIN_MAX_NS)
		auto_margin_ns = AUTO_MARGIN_MAX_NS;
	spin_until(t, 0);
}

const char *wait_name(enum wait_mode w) { return w == WAIT_SPIN ? "spin" : w == WAIT_YIELD ? "yield" : "block"; }

int emit_ready_addr(const union sockaddr_any *a, const struct opts *o, const char *role)
{
	char host[INET6_ADDRSTRLEN];
	struct jbuf *b = ev_begin("ready");
	ev_str(b, "role", role);
	ev_str(b, "addr", sa_host(a, host, sizeof host));
	ev_u64(b, "port", sa_port(a));
	ev_str(b, "wait", wait_name(o->wait));
	ev_i64(b, "cpu", o->cpu);
	ev_u64(b, "rt_prio", (uint64_t)o->rt_prio);
	ev_end(b);
	return 0;
}

int force_buffer(int fd, int opt, uint64_t bytes)
{
	if (!bytes)
		return 0;
	const int want = (int)bytes;
	if (setsockopt(fd, SOL_SOCKET, opt, &want, sizeof want) == 0)
		return 0;
	ev_error("socket", "%s %d: %s", opt == SO_RCVBUFFORCE ? "SO_RCVBUFFORCE" : "SO_SNDBUFFORCE", want, strerror(errno));
	return -1;
}

int local_addr(int fd, union sockaddr_any *a)
{
	socklen_t al = sizeof *a;
	if (getsockname(fd, &a->sa, &al) < 0) {
		ev_error("socket", "getsockname: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int emit_ready(int fd, const struct opts *o, const char *role)
{
	union sockaddr_any a;
	return local_addr(fd, &a) < 0 ? -1 : emit_ready_addr(&a, o, role);
}

int enter_netns(const char *name)
{
	char path[128];
	snprintf(path, sizeof path, "/run/netns/%s", name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ev_error("netns", "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	/* The whole process is single-threaded, so setns() moves everything we will create. */
	if (setns(fd, CLONE_NEWNET) < 0) {
		ev_error("netns", "setns(%s): %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int prepare_process(const struct opts *o)
{
	if (o->netns && enter_netns(o->netns) < 0)
		return -1;
	if (o->cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(o->cpu, &set);
		if (sched_setaffinity(0, sizeof set, &set) < 0) {
			ev_error("affinity", "cannot pin to CPU %d: %s", o->cpu, strerror(errno));
			return -1;
		}
	}
	if (o->rt_prio > 0) {
		struct sched_param sp = {.sched_priority = o->rt_prio};
		if (sched_setscheduler(0, SCHED_FIFO, &sp) < 0) {
			ev_error("sched", "SCHED_FIFO priority %d: %s", o->rt_prio, strerror(errno));
			return -1;
		}
	}
	/*
	 * A normal thread's timers may fire up to 50 µs late (timer slack, for batching wake-ups): a
	 * paced sender sleeping to 50 µs slots then sent at ~15 of 20 kpps. Ask for none.
	 */
	if (prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0) < 0) {
		ev_error("timerslack", "prctl(PR_SET_TIMERSLACK): %s", strerror(errno));
		return -1;
	}
	/* Page faults in the measured loop would show up as latency: lock everything in. */
	if (o->mlock && mlockall(MCL_CURRENT | MCL_FUTURE) < 0) {
		ev_error("mlock", "mlockall: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int udp_socket(const struct opts *o)
{
	const int family = o->addr.sa.sa_family;
	int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ev_error("socket", "socket(%s, SOCK_DGRAM): %s", family == AF_INET6 ? "AF_INET6" : "AF_INET", strerror(errno));
		return -1;
	}
	return fd;
}

/* A UDP socket connected to o->addr. Connected, so an ICMP port-unreachable from a dead server
 * surfaces as ECONNREFUSED, and each send skips the route lookup of an unconnected sendto. */
int udp_connected(const struct opts *o)
{
	int fd = udp_socket(o);
	if (fd < 0)
		return -1;
	if (connect(fd, &o->addr.sa, sa_len(&o->addr)) < 0) {
		ev_error("connect", "connect: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int hold_udp_port(const union sockaddr_any *a, union sockaddr_any *bound)
{
	socklen_t l = sizeof *bound;
	int fd = socket(a->sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, &a->sa, sa_len(a)) < 0 || getsockname(fd, &bound->sa, &l) < 0) {
		ev_error("bind", "holding the UDP port: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int dev_mac(const char *dev, uint8_t mac[6])
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", dev);
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	const int rc = ioctl(s, SIOCGIFHWADDR, &ifr);
	const int e = errno;
	close(s);
	if (rc < 0) {
		errno = e;
		return -1;
	}
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	return 0;
}
