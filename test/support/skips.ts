/** A skip reason, printed once as the suite loads (test/support/skip-reporter.ts lists the skipped tests at the end). */
export function said(reason: string | undefined): string | undefined {
  if (reason) console.warn(`[skip] ${reason}`);
  return reason;
}
