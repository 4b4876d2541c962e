import { randomBytes } from 'node:crypto';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
export const RUN_ID_LENGTH = 6;
export const RUN_ID_RE = /^[a-z0-9]{6}$/;

/**
 * A short run id. Six base-36 characters keep `cnp<id>-<role>` interface names inside the
 * kernel's 15-character limit with room for a 5-character role.
 */
export function newRunId(): string {
  const bytes = randomBytes(RUN_ID_LENGTH);
  let id = '';
  for (const b of bytes) id += ALPHABET[b % ALPHABET.length];
  return id;
}
