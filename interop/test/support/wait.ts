/**
 * Waiting for a condition the way every interop test does: poll, with a deadline generous enough
 * for a loaded machine, and say what was awaited when it runs out.
 */

/** Resolves with the first value of `probe` that is neither `undefined` nor `false`; fails after `deadlineMs`. */
export async function waitUntil<T>(what: string, probe: () => T | undefined | false, deadlineMs = 20_000): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
