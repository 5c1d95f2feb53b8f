// `edgebus check`: validate the config (later also every device profile and rule).
import { loadConfig } from '../config/load.js';
import { SchemaError } from '../config/validate.js';
import { EXIT_OK, EXIT_USAGE, type Io } from './args.js';

export function runCheck(opts: { config?: string }, io: Io): number {
  try {
    const { file, warnings } = loadConfig({ file: opts.config });
    for (const w of warnings) io.err(`warning: ${w}\n`);
    io.out(`${file ?? 'built-in defaults'}: ok\n`);
    return EXIT_OK;
  } catch (err) {
    if (err instanceof SchemaError) {
      io.err(err.message + '\n');
      return EXIT_USAGE;
    }
    throw err;
  }
}
