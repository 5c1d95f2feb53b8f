// How a Command reaches a serial device: the profile's `commands.encode` template filled
// from the command's payload. `{payload}` is the command as the cloud or a local client
// sent it (its text); `{payload.x}` is a field of it when it is a JSON object.
const PLACEHOLDER = /\{(payload(?:\.[A-Za-z0-9_-]+)*)\}/g;

function fieldOf(obj: unknown, path: readonly string[]): unknown {
  let node = obj;
  for (const key of path) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

const text = (v: unknown): string => (typeof v === 'string' ? v : v === undefined ? '' : JSON.stringify(v));

export function encodeCommand(template: string, payload: Buffer): Buffer {
  const raw = payload.toString('utf8');
  let parsed: unknown;
  let parsedOnce = false;
  const json = (): unknown => {
    if (!parsedOnce) {
      parsedOnce = true;
      try {
        parsed = JSON.parse(raw);
      } catch {
        parsed = undefined;
      }
    }
    return parsed;
  };
  return Buffer.from(template.replace(PLACEHOLDER, (_, name: string) => {
    if (name === 'payload') return raw;
    return text(fieldOf(json(), name.split('.').slice(1)));
  }));
}
