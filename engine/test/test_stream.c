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
	/* /proc/net/snmp6's lines, as this kernel prints them (Udp6InErrors before Udp6RcvbufErrors) */
	const char *snmp6 = "Udp6InDatagrams                 	5\nUdp6NoPorts                     	0\n"
			    "Udp6InErrors                    	7\nUdp6OutDatagrams                	5\n"
			    "Udp6RcvbufErrors                	3\nUdp6SndbufErrors                	0\n";
	CHECK(parse_snmp6_udp(snmp6, &rcvbuf, &inerr) == 0 && rcvbuf == 3 && inerr == 7);
	CHECK(parse_snmp6_udp("Ip6InReceives 1\n", &rcvbuf, &inerr) < 0);

	/* 1000 pps in bursts of 10: a burst every 10 ms, exactly, even far into a run. */
	CHECK(burst_time(5, 0, 10, 1000) == 5);
	CHECK(burst_time(5, 1, 10, 1000) == 5 + 10000000ull);
	CHECK(burst_time(0, 360000, 10, 1000) == 3600ull * 1000000000ull);
	/* 3 pps: no cumulative rounding drift */
	CHECK(burst_time(0, 3, 1, 3) == 1000000000ull);
	CHECK(burst_time(0, 3000000, 1, 3) == 1000000ull * 1000000000ull);
	/* On time, or less than a period late: the slot itself, nothing missed. */
	uint64_t missed = 0;
	CHECK(next_slot(0, 5, 5000000, 1, 1000, &missed) == 5 && missed == 0);
	CHECK(next_slot(0, 5, 5900000, 1, 1000, &missed) == 5 && missed == 0);
	/* A 100 ms stall at 1000 pps: slots 5..104 are past; the sender resumes with slot 105, the one
	 * due now, and counts 100 missed — never 100 sends back to back. */
	CHECK(next_slot(0, 5, 105000000, 1, 1000, &missed) == 105 && missed == 100);
	/* Bursts of 10 at 1000 pps: a slot every 10 ms. */
	missed = 0;
	CHECK(next_slot(0, 2, 55000000, 10, 1000, &missed) == 5 && missed == 3);
	return check_done("stream");
}
