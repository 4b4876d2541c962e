/**
 * Where a client sends and where its server listens. Without a Service: the server's address and the
 * port its engine reports. With one (--service-proxy): the client sends to the ClusterIP and the
 * Service's port, and the server binds the Service's target port, which the rules DNAT to — on every
 * address when the measured Service has several endpoints (all of them the server's addresses).
 */
import type { Endpoint, ServicePath } from '../topology/model.js';

export function destinationOf(
  service: ServicePath | undefined,
  server: Endpoint,
  reportedPort: number,
): { ip: string; port: number } {
  return service ? { ip: service.cluster_ip, port: service.port } : { ip: server.ip, port: reportedPort };
}

/** The port the server's engine binds: 0 (the kernel picks) unless a Service's rules name it. */
export function serverPortOf(service: ServicePath | undefined): number {
  return service?.target_port ?? 0;
}

/** The address the server's engine binds: its own, or every one (0.0.0.0) when it is several endpoints. */
export function serverBindOf(service: ServicePath | undefined, server: Endpoint): string {
  return service && service.endpoints.length > 1 ? (server.ip.includes(':') ? '::' : '0.0.0.0') : server.ip;
}
