/* The kernel steps: see ops.h. Fields arrive validated as names (see wire.c); "-" means absent. */
#define _GNU_SOURCE
#include "ops.h"
#include "ns.h"
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_link.h>
#include <linux/veth.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int absent(const char *f) { return strcmp(f, "-") == 0; }

/* A decimal field within [lo, hi]; -1 with err filled otherwise. */
static long number(const char *f, long lo, long hi, const char *what, char err[NL_ERR])
{
	char *end;
	errno = 0;
	long v = strtol(f, &end, 10);
	if (errno || *end || end == f || v < lo || v > hi) {
		snprintf(err, NL_ERR, "%s '%s' is not a number in %ld..%ld", what, f, lo, hi);
		return -1;
	}
	return v;
}

struct inaddr {
	int family;
	int bytes;
	unsigned char data[16];
};

static int parse_addr(const char *s, struct inaddr *a, char err[NL_ERR])
{
	if (inet_pton(AF_INET, s, a->data) == 1)
		a->family = AF_INET, a->bytes = 4;
	else if (inet_pton(AF_INET6, s, a->data) == 1)
		a->family = AF_INET6, a->bytes = 16;
	else {
		snprintf(err, NL_ERR, "'%s' is not an IPv4 or IPv6 address", s);
		return -EINVAL;
	}
	return 0;
}

/* "198.18.0.1/24": address and prefix length. */
static int parse_cidr(const char *s, struct inaddr *a, int *plen, char err[NL_ERR])
{
	char buf[64];
	snprintf(buf, sizeof(buf), "%s", s);
	char *slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	int rc = parse_addr(buf, a, err);
	if (rc < 0)
		return rc;
	*plen = a->bytes * 8;
	if (slash && (*plen = (int)number(slash + 1, 0, a->bytes * 8, "prefix length", err)) < 0)
		return -EINVAL;
	return 0;
}

#define NS_OR_FAIL(var, name)                    \
	struct ns *var = ns_get((name), err);    \
	if (!var)                                \
		return -ENOENT

static int talk(struct ns *n, struct nlreq *r, char err[NL_ERR])
{
	int rc = nl_talk(n->nl, r, err);
	return rc < 0 ? rc : 1;
}

/* RTM_NEWLINK creating a link of `kind` named `name`; the caller adds its data and sends. */
static struct ifinfomsg *new_link(struct nlreq *r, const char *name, const char *mtu, char err[NL_ERR])
{
	struct ifinfomsg *ifi = nl_begin(r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof(*ifi));
	nla_put_str(r, IFLA_IFNAME, name);
	if (!absent(mtu)) {
		long v = number(mtu, 68, 65535, "mtu", err);
		if (v < 0)
			return NULL;
		nla_put_u32(r, IFLA_MTU, (uint32_t)v);
	}
	return ifi;
}

/* netns-add NAME */
static int op_netns_add(char **f, char err[NL_ERR])
{
	int rc = ns_add(f[0], err);
	return rc < 0 ? rc : 1;
}

/* netns-del NAME */
static int op_netns_del(char **f, char err[NL_ERR]) { return ns_del(f[0], err); }

/* A MAC address "02:00:00:00:00:01" as IFLA_ADDRESS, unless absent ("-"). */
static int put_mac(struct nlreq *r, const char *mac, char err[NL_ERR])
{
	if (absent(mac))
		return 0;
	uint8_t a[6];
	char tail;
	if (sscanf(mac, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx%c", &a[0], &a[1], &a[2], &a[3], &a[4], &a[5], &tail) != 6) {
		snprintf(err, NL_ERR, "Error: \"%s\" is not a MAC address (expected xx:xx:xx:xx:xx:xx).", mac);
		return -EINVAL;
	}
	nla_put(r, IFLA_ADDRESS, a, sizeof a);
	return 0;
}

/* veth-add NS NAME PEERNS PEER MTU MAC PEERMAC: both ends created directly in their namespaces,
 * with the MAC addresses the plan gives them (datapaths that switch by MAC in BPF need them known). */
static int op_veth_add(char **f, char err[NL_ERR])
{
	NS_OR_FAIL(n, f[0]);
	NS_OR_FAIL(peer, f[2]);
	struct nlreq r;
	if (!new_link(&r, f[1], f[4], err) || put_mac(&r, f[5], err) < 0)
		return -EINVAL;
	nla_nest_begin(&r, IFLA_LINKINFO);
	nla_put_str(&r, IFLA_INFO_KIND, "veth");
	nla_nest_begin(&r, IFLA_INFO_DATA);
	nla_nest_begin(&r, VETH_INFO_PEER);
	struct ifinfomsg pifi = {0};
	nl_put_raw(&r, &pifi, sizeof(pifi));
	nla_put_str(&r, IFLA_IFNAME, f[3]);
	nla_put_u32(&r, IFLA_NET_NS_FD, (uint32_t)peer->fd);
	if (!absent(f[4]))
		nla_put_u32(&r, IFLA_MTU, (uint32_t)atol(f[4]));
	if (put_mac(&r, f[6], err) < 0)
		return -EINVAL;
	nla_nest_end(&r);
	nla_nest_end(&r);
	nla_nest_end(&r);
	return talk(n, &r, err);
}

/* bridge-add NS NAME MTU */
static int op_bridge_add(char **f, char err[NL_ERR])
{
	NS_OR_FAIL(n, f[0]);
	struct nlreq r;
	if (!new_link(&r, f[1], f[2], err))
		return -EINVAL;
	nla_nest_begin(&r, IFLA_LINKINFO);
	nla_put_str(&r, IFLA_INFO_KIND, "bridge");
	nla_nest_end(&r);
	return talk(n, &r, err);
}

/* macvlan-add / ipvlan-add LOWERNS LOWER NS NAME MODE MTU: created on the lower device and moved
 * into the container's namespace in the same request, as a container runtime does. */
static int lower_add(char **f, const char *kind, char err[NL_ERR])
{
	static const char *const macvlan_modes[] = {"private", "vepa", "bridge", "passthru"};
	static const uint32_t macvlan_values[] = {MACVLAN_MODE_PRIVATE, MACVLAN_MODE_VEPA, MACVLAN_MODE_BRIDGE,
						  MACVLAN_MODE_PASSTHRU};
	static const char *const ipvlan_modes[] = {"l2", "l3", "l3s"};
	int is_mac = strcmp(kind, "macvlan") == 0;
	int mode = -1;
	for (int i = 0; i < (is_mac ? 4 : 3); i++)
		if (strcmp(f[4], is_mac ? macvlan_modes[i] : ipvlan_modes[i]) == 0)
			mode = i;
	if (mode < 0) {
		snprintf(err, NL_ERR, "%s mode '%s' is not one of %s", kind, f[4],
			 is_mac ? "private, vepa, bridge, passthru" : "l2, l3, l3s");
		return -EINVAL;
	}
	NS_OR_FAIL(lower_ns, f[0]);
	NS_OR_FAIL(n, f[2]);
	int lower = nl_ifindex(lower_ns->nl, f[1], err);
	if (lower < 0)
		return lower;
	struct nlreq r;
	if (!new_link(&r, f[3], f[5], err))
		return -EINVAL;
	nla_put_u32(&r, IFLA_LINK, (uint32_t)lower);
	if (n != lower_ns)
		nla_put_u32(&r, IFLA_NET_NS_FD, (uint32_t)n->fd);
	nla_nest_begin(&r, IFLA_LINKINFO);
	nla_put_str(&r, IFLA_INFO_KIND, kind);
	nla_nest_begin(&r, IFLA_INFO_DATA);
	if (is_mac)
		nla_put_u32(&r, IFLA_MACVLAN_MODE, macvlan_values[mode]);
	else
		nla_put_u16(&r, IFLA_IPVLAN_MODE, (uint16_t)mode); /* IPVLAN_MODE_L2, _L3, _L3S */
	nla_nest_end(&r);
	nla_nest_end(&r);
	return talk(lower_ns, &r, err);
}
static int op_macvlan_add(char **f, char err[NL_ERR]) { return lower_add(f, "macvlan", err); }
static int op_ipvlan_add(char **f, char err[NL_ERR]) { return lower_add(f, "ipvlan", err); }

/* vxlan-add NS NAME VNI PORT LOCAL REMOTE DEV MTU */
static int op_vxlan_add(char **f, char err[NL_ERR])
{
	NS_OR_FAIL(n, f[0]);
	long vni = number(f[2], 0, (1 << 24) - 1, "vni", err);
	long port = number(f[3], 1, 65535, "port", err);
	struct inaddr local, remote;
	if (vni < 0 || port < 0 || parse_addr(f[4], &local, err) < 0 || parse_addr(f[5], &remote, err) < 0)
		return -EINVAL;
	int dev = nl_ifindex(n->nl, f[6], err);
	if (dev < 0)
		return dev;
	struct nlreq r;
	if (!new_link(&r, f[1], f[7], err))
		return -EINVAL;
	nla_nest_begin(&r, IFLA_LINKINFO);
	nla_put_str(&r, IFLA_INFO_KIND, "vxlan");
	nla_nest_begin(&r, IFLA_INFO_DATA);
	nla_put_u32(&r, IFLA_VXLAN_ID, (uint32_t)vni);
	nla_put(&r, remote.family == AF_INET ? IFLA_VXLAN_GROUP : IFLA_VXLAN_GROUP6, remote.data, (size_t)remote.bytes);
	nla_put(&r, local.family == AF_INET ? IFLA_VXLAN_LOCAL : IFLA_VXLAN_LOCAL6, local.data, (size_t)local.bytes);
	nla_put_u32(&r, IFLA_VXLAN_LINK, (uint32_t)dev);
	nla_put_u16(&r, IFLA_VXLAN_PORT, htons((uint16_t)port));
	nla_nest_end(&r);
	nla_nest_end(&r);
	return talk(n, &r, err);
}

/* A change to an existing link, addressed by name. */
static struct ifinfomsg *set_link(struct nlreq *r, const char *dev)
{
	struct ifinfomsg *ifi = nl_begin(r, RTM_NEWLINK, 0, sizeof(*ifi));
	nla_put_str(r, IFLA_IFNAME, dev);
	return ifi;
}

/* link-alias NS DEV TEXT */
static int op_link_alias(char **f, char err[NL_ERR])
{
	NS_OR_FAIL(n, f[0]);
	struct nlreq r;
	set_link(&r, f[1]);
	nla_put(&r, IFLA_IFALIAS, f[2], strlen(f[2])); /* as ip sends it: no terminating NUL */
	return talk(n, &r, err);
}

/* link-addrgenmode-none NS DEV: no IPv6 link-local address, so no DAD, RS or MLD on the path */
static int op_link_addrgenmode_none(char **f, char err[NL_ERR])
{
	NS_OR_FAIL(n, f[0]);
	struct nlreq r;
	set_link(&r, f[1]);
	nla_nest_begin(&r, IFLA_AF_SPEC);
	nla_nest_begin(&r, AF_INET6);
	nla_put_u8(&r, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
	nla_nest_end(&r);
	nla_nest_end(&r);
	return talk(n, &r, err);
}

/* link-master NS DEV MASTER */
static int op_link_master(char **f, char err[NL_ERR])
{
	NS_OR_FAIL(n, f[0]);
	int master = nl_ifindex(n->nl, f[2], err);
	if (master < 0)
		return master;
	struct nlreq r;
	set_link(&r, f[1]);
	nla_put_u32(&r, IFLA_MASTER, (uint32_t)master);
	return talk(n, &r, err);
}

/* link-up NS DEV */
static int op_link_up(char **f, char err[NL_ERR])
{
	NS_OR_FAIL(n, f[0]);
	struct nlreq r;
	struct ifinfomsg *ifi = set_link(&r, f[1]);
	ifi->ifi_change = IFF_UP;
	ifi->ifi_flags = IFF_UP;
	return talk(n, &r, err);
}

/* link-del NS DEV: gone already when its namespace or the device is */
static int op_link_del(char **f, char err[NL_ERR])
{
	struct ns *n = ns_get(f[0], err);
	if (!n)
		return 0;
	struct nlreq r;
	nl_begin(&r, RTM_DELLINK, 0, sizeof(struct ifinfomsg));
	nla_put_str(&r, IFLA_IFNAME, f[1]);
	int rc = nl_talk(n->nl, &r, err);
	return rc == -ENODEV ? 0 : rc < 0 ? rc : 1;
}

/* addr-add NS DEV CIDR */
static int op_addr_add(char **f, char err[NL_ERR])
{
	NS_OR_FAIL(n, f[0]);
	struct inaddr a;
	int plen;
	if (parse_cidr(f[2], &a, &plen, err) < 0)
		return -EINVAL;
	int dev = nl_ifindex(n->nl, f[1], err);
	if (dev < 0)
		return dev;
	struct nlreq r;
	struct ifaddrmsg *ifa = nl_begin(&r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)a.family;
	ifa->ifa_prefixlen = (uint8_t)plen;
	ifa->ifa_index = (uint32_t)dev;
	nla_put(&r, IFA_LOCAL, a.data, (size_t)a.bytes);
	nla_put(&r, IFA_ADDRESS, a.data, (size_t)a.bytes);
	if (a.family == AF_INET6) {
		/* usable at once: no duplicate address detection (~1 s "tentative", packets on the path) */
		const uint32_t flags = IFA_F_NODAD;
		nla_put(&r, IFA_FLAGS, &flags, sizeof flags);
	}
	return talk(n, &r, err);
}

/* route-add NS DST VIA DEV ONLINK: DST is "default" or a prefix; VIA, DEV "-" when absent; ONLINK
 * "onlink" or "-". Without a gateway the route is link-scoped, as `ip route add` makes it. */
static int op_route_add(char **f, char err[NL_ERR])
{
	NS_OR_FAIL(n, f[0]);
	struct inaddr dst = {0}, via = {0};
	int plen = 0;
	int is_default = strcmp(f[1], "default") == 0;
	if (!is_default && parse_cidr(f[1], &dst, &plen, err) < 0)
		return -EINVAL;
	if (!absent(f[2]) && parse_addr(f[2], &via, err) < 0)
		return -EINVAL;
	int family = !is_default ? dst.family : !absent(f[2]) ? via.family : AF_INET;
	int dev = 0;
	if (!absent(f[3]) && (dev = nl_ifindex(n->nl, f[3], err)) < 0)
		return dev;
	struct nlreq r;
	struct rtmsg *rt = nl_begin(&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, sizeof(*rt));
	rt->rtm_family = (uint8_t)family;
	rt->rtm_dst_len = (uint8_t)plen;
	rt->rtm_table = RT_TABLE_MAIN;
	rt->rtm_protocol = RTPROT_BOOT;
	rt->rtm_scope = absent(f[2]) ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
	rt->rtm_type = RTN_UNICAST;
	if (strcmp(f[4], "onlink") == 0)
		rt->rtm_flags |= RTNH_F_ONLINK;
	if (!is_default)
		nla_put(&r, RTA_DST, dst.data, (size_t)dst.bytes);
	if (!absent(f[2]))
		nla_put(&r, RTA_GATEWAY, via.data, (size_t)via.bytes);
	if (dev)
		nla_put_u32(&r, RTA_OIF, (uint32_t)dev);
	return talk(n, &r, err);
}

const struct op OPS[] = {
	{"netns-add", 1, op_netns_add, "NAME"},
	{"netns-del", 1, op_netns_del, "NAME"},
	{"veth-add", 7, op_veth_add, "NS NAME PEER-NS PEER MTU|- MAC|- PEER-MAC|-"},
	{"bridge-add", 3, op_bridge_add, "NS NAME MTU|-"},
	{"macvlan-add", 6, op_macvlan_add, "LOWER-NS LOWER NS NAME MODE MTU|-"},
	{"ipvlan-add", 6, op_ipvlan_add, "LOWER-NS LOWER NS NAME MODE MTU|-"},
	{"vxlan-add", 8, op_vxlan_add, "NS NAME VNI PORT LOCAL REMOTE DEV MTU|-"},
	{"link-alias", 3, op_link_alias, "NS DEV TEXT"},
	{"link-addrgenmode-none", 2, op_link_addrgenmode_none, "NS DEV"},
	{"link-master", 3, op_link_master, "NS DEV MASTER"},
	{"link-up", 2, op_link_up, "NS DEV"},
	{"link-del", 2, op_link_del, "NS DEV"},
	{"addr-add", 3, op_addr_add, "NS DEV CIDR"},
	{"route-add", 5, op_route_add, "NS DST VIA|- DEV|- onlink|-"},
	{NULL, 0, NULL, NULL},
};

const struct op *op_find(const char *name)
{
	for (const struct op *o = OPS; o->name; o++)
		if (strcmp(o->name, name) == 0)
			return o;
	return NULL;
}
