/** The engine's stream APIs (its --api values), named once: the protocol's schema and the argv builders use them. */
export const STREAM_APIS = ['send', 'sendmmsg', 'gso', 'raw', 'raw-mmsg', 'raw-ring', 'xdp', 'tcp', 'dpdk'] as const;

/** UDP GSO: one send carries at most 64 segments (the kernel's UDP_MAX_SEGMENTS) and one UDP payload's bytes. */
export const GSO_MAX_SEGMENTS = 64;

/** The engine's size limits: a UDP payload (rtt, rr/crr requests, UDP streams), a TCP stream's write. */
export const MAX_UDP_PAYLOAD = 65507;
export const MAX_TCP_WRITE = 1 << 20;
/** A TCP stream's write without --size: iperf3's 128 KiB (the UDP default, 64 B, would measure syscalls). */
export const TCP_DEFAULT_WRITE = 128 * 1024;
