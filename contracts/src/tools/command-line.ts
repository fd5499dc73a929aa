import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';

/**
 * Strict command-line parsing for the contracts tools. contracts is the bottom layer and imports nothing of
 * ours, so it keeps this small copy rather than reaching up to system's CLI helper. node:util.parseArgs in
 * strict mode instead of `process.argv.includes(...)`: an unknown or misspelt option (`--snapshots`) is an
 * error, usage on stderr and exit 2, instead of a silent run of something else.
 */
export function parseToolArgs<const T extends ParseArgsOptionsConfig>(
  usage: string,
  options: T,
  args: string[] = process.argv.slice(2),
): ReturnType<typeof parseArgs<{ options: T & { help: { type: 'boolean'; short: 'h' } }; strict: true; allowPositionals: false }>>['values'] {
  try {
    const { values } = parseArgs({
      args,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    });
    // The generic option set hides `help` from the type checker; it is always there, as configured above.
    if ((values as Record<string, unknown>).help === true) {
      process.stdout.write(`${usage}\n`);
      process.exit(0);
    }
    return values;
  } catch (err) {
    // parseArgs reports a bad command line with a TypeError; anything else is a bug and propagates.
    if (!(err instanceof TypeError)) throw err;
    process.stderr.write(`${err.message}\n\n${usage}\n`);
    process.exit(2);
  }
}
