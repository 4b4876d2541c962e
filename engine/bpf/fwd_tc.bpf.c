/* The `tcx` datapath's forwarding (src/datapaths/ebpf/tcx.ts), the way Cilium routes between pods: a
 * program at the tcx ingress of every node-side veth end (and of the node's NIC, across nodes) looks
 * the destination address up in `endpoints` (IPv4) or `endpoints6` (IPv6) and
 *  - for a container of this node, rewrites the MACs and hands the packet with bpf_redirect_peer
 *    straight to the ingress of the container's own end, in the container's namespace: no second
 *    pass through the node's stack, no backlog queue;
 *  - for a container of another node, hands it to bpf_redirect_neigh on the NIC towards that node's
 *    underlay address: the kernel's neighbour table fills in the MACs (Cilium's native routing). The
 *    next hop is the plan's (the other node's address in the packet's family), so no FIB lookup is
 *    needed: the plan is the routing table here.
 * Anything else (ARP for the gateway, the node's own traffic) goes on up the node's stack. The node
 * does not forward (no ip_forward, no routes to containers): without this program nothing arrives. */
#include "common.bpf.h"
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>

#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif

#include "counters.h"

#define EP_LOCAL 1

struct endpoint {
	__u32 ifindex;  /* local: the container's node-side end; remote: the NIC */
	__u32 flags;    /* EP_LOCAL */
	__u32 nexthop;  /* remote, IPv4: the other node's underlay address (network order) */
	__u8 dmac[6];   /* local: the container's MAC */
	__u8 smac[6];   /* local: the node-side end's MAC */
	__u32 nexthop6[4]; /* remote, IPv6: the other node's underlay address */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32); /* IPv4 destination, network order */
	__type(value, struct endpoint);
	__uint(max_entries, 4096);
} endpoints SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct in6_addr); /* IPv6 destination */
	__type(value, struct endpoint);
	__uint(max_entries, 4096);
} endpoints6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, TC_COUNTERS);
} tc_actions SEC(".maps");

SEC("tc")
int tc_fwd(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct endpoint *ep = NULL;
	int v6 = 0;
	if ((void *)(eth + 1) > end) {
		count(&tc_actions, TC_FWD_PASS);
		return TC_ACT_OK;
	}
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		if ((void *)(ip + 1) <= end) {
			__u32 dst = ip->daddr;
			ep = bpf_map_lookup_elem(&endpoints, &dst);
		}
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		if ((void *)(ip6 + 1) <= end) {
			struct in6_addr dst = ip6->daddr;
			ep = bpf_map_lookup_elem(&endpoints6, &dst);
			v6 = 1;
		}
	}
	/* not a container's (neighbour discovery for the gateway, the node's own traffic): the node's stack */
	if (!ep) {
		count(&tc_actions, TC_FWD_PASS);
		return TC_ACT_OK;
	}
	if (ep->flags & EP_LOCAL) {
		__builtin_memcpy(eth->h_dest, ep->dmac, ETH_ALEN);
		__builtin_memcpy(eth->h_source, ep->smac, ETH_ALEN);
		count(&tc_actions, TC_FWD_PEER);
		return bpf_redirect_peer(ep->ifindex, 0);
	}
	struct bpf_redir_neigh nh = {.nh_family = AF_INET, .ipv4_nh = ep->nexthop};
	if (v6) {
		nh.nh_family = AF_INET6;
		__builtin_memcpy(nh.ipv6_nh, ep->nexthop6, 16);
	}
	count(&tc_actions, TC_FWD_NEIGH);
	return bpf_redirect_neigh(ep->ifindex, &nh, sizeof nh, 0);
}

CNPERF_LICENSE;
