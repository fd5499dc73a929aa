import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';

/**
 * Command-line parsing shared by the system CLIs (token, parked, chaos, bench, bench:micro).
 *
 * node:util.parseArgs in strict mode rather than a hand-written parser: it knows both `--name value` and
 * `--name=value`, and rejects unknown options, options missing their value and stray positionals, which is
 * exactly what the old `args.indexOf('--name')` parsing got wrong (it silently ignored `--role=dispatcher`
 * and minted an admin token). Every mistake ends the same way: the reason and the usage on stderr, exit 2,
 * before the CLI touches anything.
 */

/** Exit code of a command line the CLI refuses (the convention of shells and most Unix tools). */
export const USAGE_EXIT_CODE = 2;

type WithHelp<T extends ParseArgsOptionsConfig> = T & { help: { type: 'boolean'; short: 'h' } };

export interface CommandLine<T extends ParseArgsOptionsConfig> {
  values: ReturnType<typeof parseArgs<{ options: WithHelp<T>; strict: true; allowPositionals: boolean }>>['values'];
  positionals: string[];
  /** Prints `message` and the usage to stderr and exits 2: for values parseArgs cannot judge (ranges, enums). */
  fail(message: string): never;
}

export function usageFailure(usage: string, message: string): never {
  process.stderr.write(`${message}\n\n${usage}\n`);
  process.exit(USAGE_EXIT_CODE);
}

/**
 * Parses `args` (default: this process's arguments) strictly against `options`. `--help`/`-h` prints the
 * usage to stdout and exits 0. Positionals are errors unless `maxPositionals` allows some.
 */
export function parseCommandLine<const T extends ParseArgsOptionsConfig>(
  usage: string,
  options: T,
  { maxPositionals = 0, args = process.argv.slice(2) }: { maxPositionals?: number; args?: string[] } = {},
): CommandLine<T> {
  const fail = (message: string): never => usageFailure(usage, message);
  const withHelp = { ...options, help: { type: 'boolean', short: 'h' } } as WithHelp<T>;
  let parsed: ReturnType<typeof parseArgs<{ options: WithHelp<T>; strict: true; allowPositionals: boolean }>>;
  try {
    // Positionals only where the CLI takes some, so parseArgs' own messages do not suggest passing any.
    parsed = parseArgs({ args, options: withHelp, strict: true, allowPositionals: maxPositionals > 0 });
  } catch (err) {
    // parseArgs throws TypeErrors with a readable message (unknown option, missing value); anything else is a bug.
    if (err instanceof TypeError) fail(err.message);
    throw err;
  }
  // The generic option set hides `help` from the type checker; it is always there, as configured above.
  if ((parsed.values as Record<string, unknown>).help === true) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  if (parsed.positionals.length > maxPositionals) {
    fail(`unexpected argument${parsed.positionals.length - maxPositionals > 1 ? 's' : ''}: ${parsed.positionals.slice(maxPositionals).join(' ')}`);
  }
  return { values: parsed.values, positionals: parsed.positionals, fail };
}

/**
 * A number option: `fallback` when absent, else a plain decimal (no `0x`, no empty string, no `1e3`) in
 * [min, max]; `integer` also refuses fractions. Out of range is an error rather than silently clamped, so
 * a run is always the run that was asked for.
 */
export function numberOption(
  cli: { fail(message: string): never },
  name: string,
  raw: string | undefined,
  {
    fallback,
    min,
    max,
    integer = false,
    minExclusive = false,
  }: { fallback: number; min: number; max: number; integer?: boolean; minExclusive?: boolean },
): number {
  if (raw === undefined) return fallback;
  const pattern = integer ? /^\d+$/ : /^\d+(\.\d+)?$/;
  const value = Number(raw);
  const range = `${minExclusive ? `more than ${min}` : `at least ${min}`} and at most ${max}`;
  if (!pattern.test(raw) || !Number.isFinite(value))
    cli.fail(`--${name} must be ${integer ? 'a whole number' : 'a number'} (${range}), not "${raw}"`);
  if ((minExclusive ? value <= min : value < min) || value > max) cli.fail(`--${name} must be ${range}, not ${raw}`);
  return value;
}

/** A string option that must be one of `choices`. */
export function choiceOption<const C extends string>(
  cli: { fail(message: string): never },
  name: string,
  raw: string | undefined,
  choices: readonly C[],
  fallback: C,
): C {
  if (raw === undefined) return fallback;
  if (!(choices as readonly string[]).includes(raw)) cli.fail(`--${name} must be one of ${choices.join(', ')}, not "${raw}"`);
  return raw as C;
}
