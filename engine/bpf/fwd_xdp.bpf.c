/* The `xdp` datapath's forwarding (src/datapaths/ebpf/xdp.ts): an XDP program on every node-side veth end
 * that switches frames by destination MAC straight into the destination's node-side end with
 * bpf_redirect_map on a DEVMAP: no bridge, no skb, no backlog queue on the node. Broadcasts (ARP)
 * are flooded to every port but the one they came in on. The MAC table is static: the plan gives
 * every container its MAC, and cnperf-bpf fills `fdb` before traffic starts (no learning).
 *
 * A frame redirected into a veth end is transmitted to its peer, the container's end, which must
 * take XDP frames: the kernel allows that only when the peer has an XDP program or GRO on
 * (drivers/net/veth.c). `xdp_peer` is that program: it passes every frame up the container's stack,
 * counting them. */
#include "common.bpf.h"
#include <linux/if_ether.h>

#include "counters.h"

/* destination MAC (6 bytes, in the low bytes of a u64) -> ifindex of the node-side end that leads to it */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u64);
	__type(value, __u32);
	__uint(max_entries, 4096);
} fdb SEC(".maps");

/* every node-side end, keyed by its ifindex: where frames may be redirected and floods go */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 4096);
} ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, XDP_COUNTERS);
} xdp_actions SEC(".maps");

/* "xdp.frags": GSO-sized frames from the container's stack arrive as several buffers, not dropped. */
SEC("xdp.frags")
int xdp_fwd(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end) {
		count(&xdp_actions, XDP_FWD_DROP);
		return XDP_DROP;
	}
	if (eth->h_dest[0] & 1) {
		count(&xdp_actions, XDP_FWD_FLOOD);
		return bpf_redirect_map(&ports, 0, BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS);
	}
	__u64 key = 0;
	__builtin_memcpy(&key, eth->h_dest, ETH_ALEN);
	__u32 *port = bpf_map_lookup_elem(&fdb, &key);
	if (!port) {
		/* Not a container of this node: the node's own stack decides (it drops it: no route). */
		count(&xdp_actions, XDP_FWD_PASS);
		return XDP_PASS;
	}
	count(&xdp_actions, XDP_FWD_REDIRECT);
	return bpf_redirect_map(&ports, *port, XDP_DROP);
}

SEC("xdp.frags")
int xdp_peer(struct xdp_md *ctx)
{
	(void)ctx;
	count(&xdp_actions, XDP_PEER_PASS);
	return XDP_PASS;
}

CNPERF_LICENSE;
