/* The AF_XDP path end to end, where it can run (root, AF_XDP, the BPF object built): in a network
 * namespace of its own (unshare), a veth pair; the stream receiver's socket and program on one end,
 * the sender's on the other; every frame sent arrives, counted once, with its payload bytes. */
#define _GNU_SOURCE
#include "check.h"
#include "io.h"
#include "xsk.h"

#include <arpa/inet.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int mac_of(const char *dev, uint8_t mac[6])
{
	char path[128];
	snprintf(path, sizeof path, "/sys/class/net/%s/address", dev);
	FILE *f = fopen(path, "r");
	int ok = f && fscanf(f, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2], &mac[3], &mac[4], &mac[5]) == 6;
	if (f)
		fclose(f);
	return ok ? 0 : -1;
}

int main(void)
{
	if (geteuid() != 0 || access("bpf/xsk_redirect.bpf.o", R_OK) != 0) {
		printf("engine xsk: skipped (needs root and bpf/xsk_redirect.bpf.o)\n");
		return 0;
	}
	setenv("CNPERF_XSK_PROG", "bpf/xsk_redirect.bpf.o", 1);
	/* a namespace of our own: it and the veth pair go when this process exits */
	CHECK(unshare(CLONE_NEWNET) == 0);
	CHECK(system("ip link set lo up && ip link add xa type veth peer name xb && ip addr add 198.18.9.1/24 dev xa && "
		     "ip addr add 198.18.9.2/24 dev xb && ip link set xa up && ip link set xb up") == 0);
	/* /sys shows the namespace that mounted it: remount it in a private mount namespace to read xb's MAC */
	CHECK(unshare(CLONE_NEWNS) == 0);
	CHECK(system("mount --make-rprivate / && umount -l /sys && mount -t sysfs sysfs /sys") == 0);

	struct opts o;
	opts_defaults(&o);
	o.api = API_XDP;
	o.size = 18;
	o.xdp_frames = 256;
	o.xdp_ring = 128;
	o.addr.v4.sin_family = AF_INET;
	inet_pton(AF_INET, "198.18.9.2", &o.addr.v4.sin_addr);
	o.src.v4.sin_family = AF_INET;
	o.src.v4.sin_port = htons(9);
	inet_pton(AF_INET, "198.18.9.1", &o.src.v4.sin_addr);
	o.have_src = 1;
	CHECK(mac_of("xb", o.dst_mac) == 0);
	o.have_dst_mac = 1;

	const struct io_ops *ops = io_ops_of(API_XDP);
	struct io rx = {.o = &o, .fd = -1, .listen_fd = -1};
	o.dev = "xb";
	CHECK(ops->rx_open(&o, &rx) == 0);
	CHECK(strcmp(io_xdp_mode(&rx), "native") == 0);
	/* the receiver holds a port the kernel picked: the sender aims at it */
	struct sockaddr_in bound;
	socklen_t bl = sizeof bound;
	CHECK(getsockname(rx.listen_fd, (struct sockaddr *)&bound, &bl) == 0 && bound.sin_port != 0);
	o.addr.v4.sin_port = bound.sin_port;

	struct opts to = o;
	to.dev = "xa";
	struct io tx = {.o = &to, .fd = -1, .listen_fd = -1};
	CHECK(ops->tx_open(&to, &tx) == 0);
	CHECK(tx.frame_bytes == 14 + 20 + 8 + 18);

	uint64_t sent = 0, got = 0, bytes = 0, tb = 0, te = 0, drops = 0;
	for (int i = 0; i < 100 && sent < 3000; i++) {
		int n = ops->tx_burst(&tx, 30, &tb, &te);
		CHECK(n >= 0);
		sent += (uint64_t)n;
		int r;
		while ((r = ops->rx_batch(&rx, MSG_DONTWAIT, &bytes, &drops)) > 0)
			got += (uint64_t)r;
	}
	ops->tx_finish(&tx);
	for (int i = 0; i < 50 && got < sent; i++) {
		int r = ops->rx_batch(&rx, 0, &bytes, &drops);
		if (r > 0)
			got += (uint64_t)r;
	}
	CHECK(sent == 3000 && te == 0);
	CHECK(got == sent);
	CHECK(bytes == got * 18);
	CHECK(ops->rx_final_drops(&rx) == 0);
	io_xdp_close(&tx);
	io_xdp_close(&rx);
	CHECK(system("ip link show xb | grep -q xdp") != 0); /* the receiver's program is detached */
	return check_done("xsk");
}
