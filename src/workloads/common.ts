/** What every workload reads the same way from the parsed options. */
import type { OptionValues } from '../options/options.js';
import type { PaceMode, WaitMode } from '../engine-client/protocol.js';
import { MAX_TCP_WRITE, MAX_UDP_PAYLOAD } from '../engine-client/apis.js';
import { UserError } from '../util/errors.js';

export interface CommonParams {
  size: number;
  wait: WaitMode;
  pace: PaceMode;
  /** [client, server] CPUs; undefined: not pinned */
  cpus?: [number, number];
  rtPrio?: number;
  /** --api xdp: UMEM frames and ring entries (the engine's defaults 4096 and 2048 when absent) */
  xdp?: { frames?: number; ring?: number };
}

/**
 * The shared options over a workload's defaults; `minSize`: UDP payloads carry the engine's 16-byte
 * header; `maxSize`: a UDP payload's (a stream checks its TCP writes, up to 1 MiB, per API).
 */
export function commonParams<D extends CommonParams>(
  v: OptionValues,
  defaults: D,
  minSize = 16,
  maxSize = MAX_UDP_PAYLOAD,
): D {
  const out: D = { ...defaults };
  if (v.size !== undefined && v.size < minSize)
    throw new UserError(
      `--size ${v.size}: a UDP payload carries cnperf's 16-byte header: allowed ` +
        `${minSize}..${MAX_UDP_PAYLOAD} (rr and crr take 1..)`,
    );
  if (v.size !== undefined && v.size > maxSize)
    throw new UserError(
      `--size ${v.size}: a UDP payload (and an rr/crr request) is at most ${MAX_UDP_PAYLOAD} bytes`,
      `a TCP stream (--workload stream --api tcp) writes up to ${MAX_TCP_WRITE} bytes at a time`,
    );
  if (v.size !== undefined) out.size = v.size;
  if (v.wait !== undefined) out.wait = v.wait;
  if (v.pace !== undefined) out.pace = v.pace;
  if (v.cpus !== undefined) out.cpus = v.cpus;
  if (v['rt-prio'] !== undefined) out.rtPrio = v['rt-prio'];
  if (v['xdp-frames'] !== undefined || v['xdp-ring'] !== undefined) {
    out.xdp = {
      ...(v['xdp-frames'] !== undefined ? { frames: v['xdp-frames'] } : {}),
      ...(v['xdp-ring'] !== undefined ? { ring: v['xdp-ring'] } : {}),
    };
    const frames = out.xdp.frames ?? 4096;
    const ring = out.xdp.ring ?? 2048;
    if (ring >= frames)
      throw new UserError(
        `--xdp-ring ${ring} must be smaller than --xdp-frames ${frames}`,
        'the receiver stocks its fill ring with ring-many frames and keeps the rest to send',
      );
  }
  return out;
}

/** The shared options as stored and printed in --json (snake_case). */
export function commonRecord(p: CommonParams): Record<string, unknown> {
  return {
    size: p.size,
    wait: p.wait,
    pace: p.pace,
    cpus: p.cpus ?? null,
    rt_prio: p.rtPrio ?? 0,
    ...(p.xdp ? { xdp: p.xdp } : {}),
  };
}
