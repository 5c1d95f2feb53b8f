// Secrets stay out of logs, status and errors: a broker URL may carry user:password@.

/** The URL without credentials. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return '<unparsable url>';
  }
}
