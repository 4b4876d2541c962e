#include "args.h"
#include "check.h"
#include <arpa/inet.h>
#include <string.h>

static int parse(const char *line, struct opts *o, char *err)
{
	static char buf[512];
	char *argv[32];
	int argc = 0;
	strncpy(buf, line, sizeof buf - 1);
	for (char *t = strtok(buf, " "); t && argc < 32; t = strtok(NULL, " "))
		argv[argc++] = t;
	opts_defaults(o);
	return parse_opts(argc, argv, 0, o, err, 256);
}

int main(void)
{
	{
		/* --bind takes IPv4:PORT and [IPv6]:PORT; a bare IPv6 or a bad port is refused */
		union sockaddr_any a;
		char host[INET6_ADDRSTRLEN];
		CHECK(parse_addr_port("[2001:2::1]:9000", &a) == 0 && a.sa.sa_family == AF_INET6 && sa_port(&a) == 9000);
		CHECK(strcmp(sa_host(&a, host, sizeof host), "2001:2::1") == 0 && sa_len(&a) == sizeof a.v6);
		CHECK(parse_addr_port("198.18.0.2:7", &a) == 0 && a.sa.sa_family == AF_INET && sa_port(&a) == 7);
		CHECK(parse_addr_port("2001:2::1:9000", &a) < 0);
		CHECK(parse_addr_port("[2001:2::1]:70000", &a) < 0);
		CHECK(parse_addr_port("[2001:2::1]", &a) < 0);
		CHECK(parse_addr_port("[198.18.0.1]:1", &a) < 0);
	}

	struct opts o;
	char err[256];
	uint64_t n;
	CHECK(parse_u64("123", &n) == 0 && n == 123);
	CHECK(parse_u64("-1", &n) < 0);
	CHECK(parse_u64("12x", &n) < 0);
	CHECK(parse_u64("", &n) < 0);
	CHECK(parse_u64("99999999999999999999999", &n) < 0);

	CHECK(parse("--server 198.18.0.2:9000 --count 10 --warmup 0 --interval-ns 0 --size 100 "
		    "--wait spin --cpu 1 --rt-prio 50 --netns cnpab12cd-c",
		    &o, err) == 0);
	CHECK(o.count == 10 && o.warmup == 0 && o.interval_ns == 0 && o.size == 100);
	CHECK(o.wait == WAIT_SPIN && o.cpu == 1 && o.rt_prio == 50 && o.mlock == 1);
	CHECK(strcmp(o.netns, "cnpab12cd-c") == 0 && ntohs(o.addr.v4.sin_port) == 9000);

	CHECK(parse("--count 10", &o, err) == 0 && opts_require_addr(&o, err, sizeof err) < 0 &&
	      strstr(err, "missing --bind"));
	/* 8 bytes is a valid TCP request, too short for a UDP probe's header */
	CHECK(parse("--bind 1.2.3.4:5 --size 8", &o, err) == 0 && opts_check_udp_size(&o, err, sizeof err) < 0 &&
	      strstr(err, "--size 8"));
	CHECK(parse("--bind 1.2.3.4:5 --size 0", &o, err) < 0 && strstr(err, "--size"));
	CHECK(parse("--server 1.2.3.4:5 --crr --flows 8 --response-size 1", &o, err) == 0 && o.crr && o.flows == 8 &&
	      o.response_size == 1);
	CHECK(parse("--server 1.2.3.4:5 --flows 0", &o, err) < 0 && strstr(err, "--flows"));
	CHECK(parse("--bind 1.2.3.4:5 --wait poll", &o, err) < 0 && strstr(err, "block, spin or yield"));
	CHECK(parse("--bind 1.2.3.4:5 --wait yield", &o, err) == 0 && o.wait == WAIT_YIELD);
	CHECK(parse("--bind 1.2.3.4:5 --pace spin", &o, err) == 0 && o.pace == PACE_SPIN);
	CHECK(parse("--bind 1.2.3.4:5", &o, err) == 0 && o.pace == PACE_SLEEP);
	CHECK(parse("--bind 1.2.3.4:5 --pace busy", &o, err) < 0 && strstr(err, "sleep, spin, auto or yield"));
	CHECK(parse("--bind 1.2.3.4:5 --pace yield", &o, err) == 0 && o.pace == PACE_YIELD);
	CHECK(parse("--bind 1.2.3.4:5 --pace auto", &o, err) == 0 && o.pace == PACE_AUTO);
	CHECK(parse("--server 1.2.3.4:5 --congestion bbr", &o, err) == 0 && strcmp(o.congestion, "bbr") == 0);
	CHECK(parse("--server 1.2.3.4:5 --congestion BBR;x", &o, err) < 0 && strstr(err, "congestion control's name"));
	CHECK(parse("--server 1.2.3.4:5 --size 1048576", &o, err) == 0 && o.size == 1048576);
	CHECK(parse("--server 1.2.3.4:5 --size 1048577", &o, err) < 0);
	CHECK(parse("--bind 1.2.3.4:70000", &o, err) < 0);
	CHECK(parse("--bind nohost:5", &o, err) < 0);
	CHECK(parse("--bind 1.2.3.4:5 --netns ../etc", &o, err) < 0 && strstr(err, "namespace"));
	CHECK(parse("--bind 1.2.3.4:5 --bogus 1", &o, err) < 0 && strstr(err, "unknown option"));
	CHECK(parse("--bind 1.2.3.4:5 --count", &o, err) < 0 && strstr(err, "needs a value"));
	CHECK(parse("--bind 1.2.3.4:5 --count 0", &o, err) < 0);
	CHECK(parse("--server 1.2.3.4:5 --api raw-mmsg --burst 64 --rate 100000 --duration-ns 2000000000 "
		    "--dev cnpab12cd-c0 --dst-mac 02:AB:cd:00:00:01 --src 198.18.0.1:9 --qdisc-bypass", &o, err) == 0);
	CHECK(o.api == API_RAW_MMSG && o.burst == 64 && o.rate_pps == 100000 && o.duration_ns == 2000000000ull);
	CHECK(o.have_dst_mac && o.dst_mac[1] == 0xab && o.dst_mac[5] == 1 && o.have_src && o.qdisc_bypass);
	/* the frames' source in either family: [IPV6]:PORT as --bind takes it */
	CHECK(parse("--server [2001:2::2]:5 --api raw --src [2001:2::1]:9", &o, err) == 0 &&
	      o.src.sa.sa_family == AF_INET6 && sa_port(&o.src) == 9);
	CHECK(parse("--server 1.2.3.4:5 --api raw --src 2001:2::1", &o, err) < 0 && strstr(err, "[IPV6]:PORT"));
	CHECK(parse("--server 1.2.3.4:5 --api rdma", &o, err) < 0 && strstr(err, "raw-ring, tcp, xdp or dpdk"));
	/* dpdk: the port's socket, prefix and hugepage directory are checked (they go into EAL arguments) */
	CHECK(parse("--server 1.2.3.4:5 --api dpdk --vhost-socket /run/x.sock --vhost-server --mac 02:00:00:00:00:01 "
		"--file-prefix cnpab12cd-c --huge-dir /run/h", &o, err) == 0 &&
	      o.api == API_DPDK && o.vhost_server && o.have_mac && o.mac[5] == 1 && strcmp(o.file_prefix, "cnpab12cd-c") == 0);
	CHECK(parse("--server 1.2.3.4:5 --vhost-socket /run/a,b", &o, err) < 0 && strstr(err, "without commas"));
	CHECK(parse("--server 1.2.3.4:5 --burst 0", &o, err) < 0 && strstr(err, "--burst"));
	CHECK(parse("--server 1.2.3.4:5 --dst-mac 02:ab:cd:00:00", &o, err) < 0 && strstr(err, "--dst-mac"));
	CHECK(parse("--server 1.2.3.4:5 --dev this-is-16-chars", &o, err) < 0 && strstr(err, "--dev"));
	CHECK(strcmp(api_name(API_SENDMMSG), "sendmmsg") == 0);
	CHECK(parse("--server 1.2.3.4:5 --open-loop", &o, err) == 0 && o.open_loop == 1);
	CHECK(parse("--bind 1.2.3.4:5 --rcvbuf 16777216", &o, err) == 0 && o.rcvbuf == 16777216);
	CHECK(parse("--bind 1.2.3.4:5 --rcvbuf 100", &o, err) < 0 && strstr(err, "--rcvbuf"));
	CHECK(parse("--server 1.2.3.4:5 --sndbuf 1048576", &o, err) == 0 && o.sndbuf == 1048576 && o.rcvbuf == 0);
	CHECK(parse("--server 1.2.3.4:5 --sndbuf 100", &o, err) < 0 && strstr(err, "--sndbuf '100'"));
	CHECK(parse("--bind 1.2.3.4:5 --stamps-out /tmp/s.bin", &o, err) == 0 && strcmp(o.stamps_out, "/tmp/s.bin") == 0);
	CHECK(valid_netns_name("cnp1-x") && !valid_netns_name("a/b") && !valid_netns_name(".."));
	return check_done("args");
}
