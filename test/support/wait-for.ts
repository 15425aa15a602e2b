// The one way a test waits: poll `probe` until it yields a value (anything but undefined or false), or fail after
// `timeoutMs`. Tests never sleep a fixed time before asserting (scripts/check-shape.mjs flags a timer-driven
// promise in a test file outside test/support); they wait for the state they assert, or use fake timers.
export async function waitFor<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
