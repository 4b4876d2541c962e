/* The engine's AF_XDP receiver (engine/io_xdp.c): on the endpoint's own device, UDP to the
 * measured port goes to the AF_XDP socket of the receive queue it arrived on, over IPv4 (without
 * options) or IPv6 (without extension headers: the engine's own frames, and what the stacks send for
 * it); everything else (ARP, neighbour discovery, other traffic) goes on up the stack. */
#include "common.bpf.h"
#include "counters.h"
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 64);
} xsks SEC(".maps");

/* slot 0: the UDP destination port to redirect (network order), set by the engine */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1);
} xsk_port SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, XSK_COUNTERS);
} xsk_actions SEC(".maps");

SEC("xdp")
int xsk_redirect(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct udphdr *udp = NULL;
	if ((void *)(eth + 1) <= end && eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		if ((void *)(ip + 1) <= end && ip->ihl == 5 && ip->protocol == IPPROTO_UDP)
			udp = (void *)(ip + 1);
	} else if ((void *)(eth + 1) <= end && eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		if ((void *)(ip6 + 1) <= end && ip6->nexthdr == IPPROTO_UDP)
			udp = (void *)(ip6 + 1);
	}
	__u32 zero = 0;
	__u32 *port = bpf_map_lookup_elem(&xsk_port, &zero);
	if (!udp || (void *)(udp + 1) > end || !port || udp->dest != *port) {
		count(&xsk_actions, XSK_PASS);
		return XDP_PASS;
	}
	count(&xsk_actions, XSK_REDIRECT);
	return bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);
}

CNPERF_LICENSE;
