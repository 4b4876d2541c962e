#include "check.h"
#include "stream.h"

int main(void)
{
	/* Captured from /proc/net/snmp on the development machine (IcmpMsg lines removed). */
	const char *snmp =
		"Ip: Forwarding DefaultTTL InReceives InHdrErrors\n"
		"Ip: 1 64 162531 0\n"
		"Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors\n"
		"Udp: 78952 6 12 78959 34 0 0 0 0\n"
		"UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors\n"
		"UdpLite: 0 0 0 0 0 0 0 0 0\n";
	uint64_t rcvbuf = 0, inerr = 0;
	CHECK(parse_snmp_udp(snmp, &rcvbuf, &inerr) == 0 && rcvbuf == 34 && inerr == 12);
	CHECK(parse_snmp_udp("Ip: a b\nIp: 1 2\n", &rcvbuf, &inerr) < 0);

	/* 1000 pps in bursts of 10: a burst every 10 ms, exactly, even far into a run. */
	CHECK(burst_time(5, 0, 10, 1000) == 5);
	CHECK(burst_time(5, 1, 10, 1000) == 5 + 10000000ull);
	CHECK(burst_time(0, 360000, 10, 1000) == 3600ull * 1000000000ull);
	/* 3 pps: no cumulative rounding drift */
	CHECK(burst_time(0, 3, 1, 3) == 1000000000ull);
	CHECK(burst_time(0, 3000000, 1, 3) == 1000000ull * 1000000000ull);
	return check_done("stream");
}
