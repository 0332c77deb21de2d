/**
 * Text a user or a pod supplied, made safe to show: control and other non-printable characters
 * escaped, and cut to a length (a pasted file must not flood a terminal or an Event).
 */

/** Longest message printed; the rest is cut with a note (a pasted file must not flood the terminal). */
export const MAX_MESSAGE_CHARS = 400;

/** Control and other non-printable characters as \xNN / \uNNNN, and at most `max` characters. */
export function printable(text: string, max = MAX_MESSAGE_CHARS): string {
  // eslint-disable-next-line no-control-regex
  const escaped = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\ufffd]/g, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
  return escaped.length <= max ? escaped : `${escaped.slice(0, max)}… (${escaped.length - max} more characters)`;
}
