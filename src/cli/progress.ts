// Progress of long CLI work on a TTY (SPEC §1): drawn on stderr, and only when stdout is
// piped or redirected — the output itself is never mixed with it.

export interface Progress {
  tick(n?: number): void;
  done(): void;
}

const SILENT: Progress = { tick() {}, done() {} };

export function progress(label: string, total: number | null = null, stream: NodeJS.WriteStream = process.stderr, outIsTTY = process.stdout.isTTY === true): Progress {
  if (!stream.isTTY || outIsTTY) return SILENT;
  let count = 0;
  let last = 0;
  const draw = () => {
    const width = 30;
    const bar = total ? '[' + '#'.repeat(Math.min(width, Math.round((count / total) * width))).padEnd(width, '.') + '] ' : '';
    stream.write(`\r${bar}${label}: ${count}${total ? `/${total}` : ''}`);
  };
  return {
    tick(n = 1) {
      count += n;
      const now = Date.now();
      if (now - last >= 100) {
        last = now;
        draw();
      }
    },
    done() {
      draw();
      stream.write('\n');
    },
  };
}
