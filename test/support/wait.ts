/** Poll until a condition holds (for effects that travel over a real watch stream). */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 5000, stepMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
