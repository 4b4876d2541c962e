import { partKey } from '../../topology/parts.js';
import { ownOptions } from '../types.js';

/** What the user named (--client, --server: netns:NAME, pid:PID, podman:NAME, docker:NAME), found at attach. */
export interface ExistingPlan {
  client: string;
  server: string;
  /** --server-address: else the server's first global address of the family measured on its default-route device */
  serverAddress?: string;
}

/** The existing datapath's part of a topology. */
export const EXISTING_PART = partKey<ExistingPlan>('existing');

/** What its options said (readOptions), or undefined where none was given. */
export function existingOptions(ctx: { own?: Record<string, unknown> }): Partial<ExistingPlan> | undefined {
  return ownOptions<Partial<ExistingPlan>>(ctx, 'existing');
}
