/**
 * The promise's value, or `timedOut` if it has not settled within ms. The timer is cleared either way:
 * a forgotten timer keeps Node running (a TCP run once lingered 5 s after its result this way).
 */
export async function within<T, U>(promise: Promise<T>, ms: number, timedOut: U): Promise<T | U> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<U>((resolve) => (timer = setTimeout(() => resolve(timedOut), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
