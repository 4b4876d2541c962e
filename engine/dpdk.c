/* EAL and the one port of cnperf-engine-dpdk (dpdk.h). The EAL's arguments come from the engine's
 * own options, so cnperf passes what it passes to every engine plus the socket, prefix and hugepage
 * directory of the run: no PCI scan, the run's own --file-prefix (its runtime files under
 * /var/run/dpdk/<prefix>, removed by cnperf), --single-file-segments (vhost-user maps each memory
 * segment's file: with one file per page the switch runs out of memory regions), one lcore. */
#define _GNU_SOURCE
#include "dpdk.h"
#include "out.h"
#include "sock.h"

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#define POOL_MBUFS 8191u
#define LINK_WAIT_NS 10000000000ull

int dpdk_open(const struct opts *o, struct dport *d)
{
	if (!o->vhost_socket || !o->file_prefix || !o->huge_dir) {
		ev_error("usage", "--api dpdk needs --vhost-socket, --file-prefix and --huge-dir");
		return -1;
	}
	char lcores[64], vdev[512], mac[32] = "";
	if (o->cpu >= 0)
		snprintf(lcores, sizeof lcores, "0@%d", o->cpu);
	else
		snprintf(lcores, sizeof lcores, "0@(0-%ld)", sysconf(_SC_NPROCESSORS_ONLN) - 1);
	if (o->have_mac)
		snprintf(mac, sizeof mac, ",mac=%02x:%02x:%02x:%02x:%02x:%02x", o->mac[0], o->mac[1], o->mac[2], o->mac[3], o->mac[4],
			 o->mac[5]);
	snprintf(vdev, sizeof vdev, "net_virtio_user0,path=%s,queues=1,queue_size=%u%s%s", o->vhost_socket, DPDK_RING_SIZE,
		 o->vhost_server ? ",server=1" : "", mac);
	char *eal[] = {"cnperf-engine-dpdk", "--no-pci",
		       "--file-prefix", (char *)o->file_prefix,
		       "--huge-dir", (char *)o->huge_dir,
		       "-m", "64", "--single-file-segments", "--lcores", lcores, "--vdev", vdev, "--log-level", "error", NULL};
	/* DPDK logs to stdout by default: stdout is the NDJSON channel, so its logs go to stderr. */
	rte_openlog_stream(stderr);
	if (rte_eal_init((int)(sizeof eal / sizeof *eal) - 1, eal) < 0) {
		ev_error("dpdk-eal", "rte_eal_init failed: %s (hugepages in %s? prefix %s?)", rte_strerror(rte_errno), o->huge_dir,
			 o->file_prefix);
		return -1;
	}
	if (rte_eth_dev_count_avail() != 1) {
		ev_error("dpdk-port", "expected one port (the virtio-user on %s), found %u", o->vhost_socket,
			 rte_eth_dev_count_avail());
		return -1;
	}
	d->port = 0;
	d->pool = rte_pktmbuf_pool_create("cnperf", POOL_MBUFS, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (!d->pool) {
		ev_error("dpdk-mempool", "no mbuf pool of %u buffers: %s", POOL_MBUFS, rte_strerror(rte_errno));
		return -1;
	}
	struct rte_eth_conf conf;
	memset(&conf, 0, sizeof conf);
	int rc;
	if ((rc = rte_eth_dev_configure(d->port, 1, 1, &conf)) < 0 ||
	    (rc = rte_eth_rx_queue_setup(d->port, 0, DPDK_RING_SIZE, (unsigned)rte_socket_id(), NULL, d->pool)) < 0 ||
	    (rc = rte_eth_tx_queue_setup(d->port, 0, DPDK_RING_SIZE, (unsigned)rte_socket_id(), NULL)) < 0 ||
	    (rc = rte_eth_dev_start(d->port)) < 0) {
		ev_error("dpdk-port", "setting up the virtio-user port on %s: %s", o->vhost_socket, rte_strerror(-rc));
		return -1;
	}
	struct rte_ether_addr a;
	rte_eth_macaddr_get(d->port, &a);
	memcpy(d->mac, a.addr_bytes, 6);
	/* The switch's side must be there: the link is up once the vhost-user connection is. */
	const uint64_t give_up = now_ns() + LINK_WAIT_NS;
	struct rte_eth_link link;
	do {
		memset(&link, 0, sizeof link);
		rte_eth_link_get_nowait(d->port, &link);
		if (link.link_status == RTE_ETH_LINK_UP)
			return 0;
		usleep(10000);
	} while (now_ns() < give_up && !stop_requested);
	ev_error("dpdk-link", "the port on %s has no link after %llu s: no switch on the other end of the socket",
		 o->vhost_socket, LINK_WAIT_NS / 1000000000ull);
	return -1;
}

void dpdk_close(struct dport *d)
{
	rte_eth_dev_stop(d->port);
	rte_eth_dev_close(d->port);
	rte_eal_cleanup();
}

uint64_t dpdk_drops(const struct dport *d)
{
	struct rte_eth_stats st;
	if (rte_eth_stats_get(d->port, &st) != 0)
		return 0;
	return st.imissed + st.rx_nombuf;
}

void dpdk_idle(const struct opts *o)
{
	if (o->wait == WAIT_YIELD)
		sched_yield();
}
