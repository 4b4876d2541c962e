/** The engine's stream APIs (its --api values), named once: the protocol's schema and the argv builders use them. */
export const STREAM_APIS = ['send', 'sendmmsg', 'raw', 'raw-mmsg', 'raw-ring', 'xdp', 'tcp', 'dpdk'] as const;
