/** One way to turn any thrown value (client-node ApiException, fetch error, Error) into one line. */
export function errorText(err: unknown): string {
  const e = err as { statusCode?: number; code?: number; body?: unknown; message?: string } | null;
  if (e && typeof e === 'object' && typeof e.body === 'string' && e.body.startsWith('{')) {
    try {
      const status = JSON.parse(e.body) as { message?: string; reason?: string; code?: number };
      if (status.message) return `${status.code ?? e.code ?? ''} ${status.reason ?? ''}: ${status.message}`.trim();
    } catch {
      /* fall through */
    }
  }
  if (err instanceof Error) return err.message.split('\n')[0] ?? err.message;
  return String(err);
}

/** HTTP status of an API error, when it has one. */
export function statusCodeOf(err: unknown): number | undefined {
  const e = err as { statusCode?: number; code?: number } | null;
  const c = e?.statusCode ?? e?.code;
  return typeof c === 'number' ? c : undefined;
}
