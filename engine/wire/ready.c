/* Readiness on netlink events: see ready.h. Every namespace involved gets a socket subscribed to link
 * events BEFORE its current state is dumped, so no change falls between the two; a condition once
 * met stays met (nothing takes a device down while a datapath is being built). */
#define _GNU_SOURCE
#include "ready.h"
#include "ns.h"
#include <errno.h>
#include <linux/if_bridge.h>
#include <net/if.h>
#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP (1 << 16) /* linux/if.h: the driver signals L1 up (carrier) */
#endif
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_WANTS 8192
#define MAX_WATCH 4096
#define MAX_PORTS 2048

struct want {
	enum want_kind kind;
	int watch; /* index into watches */
	char dev[IFNAMSIZ];
	int met;
	char why[40];
};

/* bridge ports seen in a namespace, for WANT_ALL_PORTS (the CNI plugin made them, cnperf did not) */
struct port {
	int watch;
	char dev[IFNAMSIZ];
	int forwarding;
};

struct watch {
	struct ns *ns;
	int sub; /* subscribed to RTNLGRP_LINK */
	int all_ports;
};

static struct want wants[MAX_WANTS];
static int nwants;
static struct watch watches[MAX_WATCH];
static int nwatches;
static struct port ports[MAX_PORTS];
static int nports;

static int watch_of(struct ns *n)
{
	for (int i = 0; i < nwatches; i++)
		if (watches[i].ns == n)
			return i;
	if (nwatches == MAX_WATCH)
		return -1;
	watches[nwatches] = (struct watch){.ns = n, .sub = -1};
	return nwatches++;
}

int ready_want(enum want_kind kind, const char *netns, const char *dev, char err[NL_ERR])
{
	struct ns *n = ns_get(netns, err);
	if (!n)
		return -ENOENT;
	int w = watch_of(n);
	if (w < 0 || nwants == MAX_WANTS) {
		snprintf(err, NL_ERR, "too many readiness conditions (at most %d in %d namespaces)", MAX_WANTS, MAX_WATCH);
		return -E2BIG;
	}
	if (kind == WANT_ALL_PORTS)
		watches[w].all_ports = 1;
	wants[nwants] = (struct want){.kind = kind, .watch = w, .why = "absent"};
	snprintf(wants[nwants].dev, IFNAMSIZ, "%s", dev ? dev : "");
	if (kind == WANT_CARRIER)
		snprintf(wants[nwants].why, sizeof(wants[nwants].why), "no carrier yet");
	nwants++;
	return 0;
}

static const char *port_state_name(int s)
{
	static const char *const names[] = {"disabled", "listening", "learning", "forwarding", "blocking"};
	return s >= 0 && s <= 4 ? names[s] : "unknown";
}

/* A bridge port's STP state from an AF_BRIDGE link message: nested IFLA_BRPORT_STATE, or the old
 * bare u8. -1 if the message carries none. */
static int bridge_port_state(struct nlattr *protinfo)
{
	if (!(protinfo->nla_type & NLA_F_NESTED))
		return NLA_PAYLOAD(protinfo) >= 1 ? *(uint8_t *)NLA_DATA(protinfo) : -1;
	int len = NLA_PAYLOAD(protinfo);
	NLA_FOR_EACH(a, NLA_DATA(protinfo), len)
	{
		if (NLA_TYPE(a) == IFLA_BRPORT_STATE && NLA_PAYLOAD(a) >= 1)
			return *(uint8_t *)NLA_DATA(a);
	}
	return -1;
}

static void note_port(int w, const char *dev, int forwarding)
{
	for (int i = 0; i < nports; i++)
		if (ports[i].watch == w && strcmp(ports[i].dev, dev) == 0) {
			ports[i].forwarding = forwarding;
			return;
		}
	if (nports < MAX_PORTS) {
		ports[nports] = (struct port){.watch = w, .forwarding = forwarding};
		snprintf(ports[nports].dev, IFNAMSIZ, "%s", dev);
		nports++;
	}
}

/* One link message (from a dump or an event) of namespace w. */
static void observe(const struct nlmsghdr *h, void *ctx)
{
	int w = (int)(long)ctx;
	if (h->nlmsg_type != RTM_NEWLINK)
		return;
	const struct ifinfomsg *ifi = NLMSG_DATA(h);
	int len = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*ifi));
	const char *name = NULL;
	int state = -1;
	NLA_FOR_EACH(a, (char *)ifi + NLMSG_ALIGN(sizeof(*ifi)), len)
	{
		if (NLA_TYPE(a) == IFLA_IFNAME)
			name = NLA_DATA(a);
		else if (NLA_TYPE(a) == IFLA_PROTINFO)
			state = bridge_port_state(a);
	}
	if (!name)
		return;
	int bridge_msg = ifi->ifi_family == AF_BRIDGE;
	if (bridge_msg && state >= 0 && watches[w].all_ports)
		note_port(w, name, state == BR_STATE_FORWARDING);
	for (int i = 0; i < nwants; i++) {
		struct want *x = &wants[i];
		if (x->met || x->watch != w || strcmp(x->dev, name) != 0)
			continue;
		if (x->kind == WANT_CARRIER && !bridge_msg)
			x->met = (ifi->ifi_flags & IFF_LOWER_UP) != 0;
		else if (x->kind == WANT_PORT && bridge_msg && state >= 0) {
			x->met = state == BR_STATE_FORWARDING;
			snprintf(x->why, sizeof(x->why), "%s", port_state_name(state));
		}
	}
}

static int dump(int w, int family, char err[NL_ERR])
{
	struct nlreq r;
	struct ifinfomsg *ifi = nl_begin(&r, RTM_GETLINK, 0, sizeof(*ifi));
	ifi->ifi_family = (uint8_t)family;
	if (family == AF_UNSPEC)
		nla_put_u32(&r, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	return nl_dump(watches[w].ns->nl, &r, observe, (void *)(long)w, err);
}

/* The current state of namespace w: links for carrier, bridge ports for port states. */
static int refresh(int w, char err[NL_ERR])
{
	int rc = dump(w, AF_UNSPEC, err);
	return rc < 0 ? rc : dump(w, AF_BRIDGE, err);
}

static int open_subscribed(void *arg)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	int rcvbuf = 1 << 20;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK};
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	*(int *)arg = fd;
	return 0;
}

static int all_met(void)
{
	for (int i = 0; i < nwants; i++) {
		struct want *x = &wants[i];
		if (x->kind == WANT_ALL_PORTS && !x->met) {
			x->met = 1;
			for (int p = 0; p < nports; p++)
				if (ports[p].watch == x->watch && !ports[p].forwarding)
					x->met = 0;
		}
		if (!x->met)
			return 0;
	}
	return 1;
}

static long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Reads what a subscribed socket has; a lost event (ENOBUFS) means: ask the kernel again. */
static int drain(int w, char err[NL_ERR])
{
	static char rx[65536];
	for (;;) {
		ssize_t n = recv(watches[w].sub, rx, sizeof(rx), 0);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == ENOBUFS) {
				int rc = refresh(w, err);
				if (rc < 0)
					return rc;
				continue;
			}
			if (errno == EINTR)
				continue;
			snprintf(err, NL_ERR, "reading link events in %s: %s", watches[w].ns->name, strerror(errno));
			return -errno;
		}
		int len = (int)n;
		for (struct nlmsghdr *h = (struct nlmsghdr *)rx; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len))
			observe(h, (void *)(long)w);
	}
}

long ready_wait(long timeout_ms, void (*report)(const char *what, const char *why), char err[NL_ERR])
{
	long start = now_ms();
	static struct pollfd pfd[MAX_WATCH];
	for (int w = 0; w < nwatches; w++) {
		int rc = ns_run_in(watches[w].ns, open_subscribed, &watches[w].sub, err);
		if (rc < 0) {
			snprintf(err, NL_ERR, "cannot watch link events in %s: %s", watches[w].ns->name, strerror(-rc));
			return rc;
		}
		pfd[w] = (struct pollfd){.fd = watches[w].sub, .events = POLLIN};
	}
	for (int w = 0; w < nwatches; w++) {
		int rc = refresh(w, err);
		if (rc < 0)
			return rc;
	}
	long rc = 0;
	while (!all_met()) {
		long left = timeout_ms - (now_ms() - start);
		if (left <= 0) {
			rc = -ETIMEDOUT;
			break;
		}
		if (poll(pfd, (nfds_t)nwatches, (int)left) < 0 && errno != EINTR) {
			snprintf(err, NL_ERR, "poll: %s", strerror(errno));
			rc = -errno;
			break;
		}
		for (int w = 0; w < nwatches && rc == 0; w++)
			if (pfd[w].revents & POLLIN)
				rc = drain(w, err);
	}
	if (rc == -ETIMEDOUT) {
		char what[300];
		for (int i = 0; i < nwants; i++) {
			struct want *x = &wants[i];
			const char *ns = watches[x->watch].ns->name;
			if (x->met)
				continue;
			if (x->kind == WANT_ALL_PORTS) {
				for (int p = 0; p < nports; p++)
					if (ports[p].watch == x->watch && !ports[p].forwarding) {
						snprintf(what, sizeof(what), "bridge port %s in %s", ports[p].dev, ns);
						report(what, "not forwarding");
					}
				continue;
			}
			snprintf(what, sizeof(what), x->kind == WANT_PORT ? "bridge port %s in %s" : "%s in %s", x->dev, ns);
			report(what, x->why);
		}
	}
	for (int w = 0; w < nwatches; w++)
		close(watches[w].sub);
	nwatches = nwants = nports = 0;
	return rc < 0 ? rc : now_ms() - start;
}
