/**
 * The one way to turn any thrown value into one line: the Status message the API server sent
 * (client-node's ApiException, or our own requests' `{statusCode, body}`), else the error's first
 * line, else the value itself.
 */
export function errorText(err: unknown): string {
  const e = err as { code?: unknown; statusCode?: unknown; body?: unknown } | null;
  if (e && typeof e === 'object' && 'body' in e && e.body !== undefined) {
    const body = e.body;
    try {
      const status = (typeof body === 'string' ? JSON.parse(body) : body) as { message?: unknown } | null;
      if (status && typeof status.message === 'string') return status.message;
    } catch {
      // not JSON: fall through
    }
    const code = e.code ?? e.statusCode;
    if (typeof body === 'string' && body && typeof code === 'number') return `HTTP ${code}: ${body.slice(0, 200)}`;
  }
  if (err instanceof Error) return err.message.split('\n')[0] ?? err.message;
  return typeof err === 'string' ? err : JSON.stringify(err);
}

/** HTTP status of an API error, when it has one. */
export function statusCodeOf(err: unknown): number | undefined {
  const e = err as { statusCode?: number; code?: number } | null;
  const c = e?.statusCode ?? e?.code;
  return typeof c === 'number' ? c : undefined;
}
