/**
 * The command line as data: which command, its file or formula, and its flags,
 * checked here so that a wrong flag is a usage error (exit 2) before anything
 * runs. node:util's parseArgs reads the flags; unknown ones are refused.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { OPERATIONS, type Operation } from '../api/index.js';

/** A failure the CLI reports and exits on: 2 for bad input, 1 for anything else. */
export class CliError extends Error {
  constructor(
    readonly exitCode: 1 | 2,
    readonly lines: string[],
  ) {
    super(lines.join('\n'));
  }
}

export const usageError = (message: string, command?: string): CliError =>
  new CliError(2, [message, `run 'derivd help${command ? ` ${command}` : ''}' for usage`]);

/** How a call is made and its answer printed, for every command that computes. */
export interface Output {
  /** The service's base URL; absent: in this process. */
  url?: string;
  json: boolean;
  /** Significant digits in tables. */
  precision: number;
  /** Longest wait for the answer (in this process: the compute budget). */
  timeoutMs: number;
}

/** Changes to the request's own fields. */
export interface Overrides {
  mode?: string;
  constant?: string[];
}

export type Command =
  | { kind: 'help'; topic?: string }
  | { kind: 'version' }
  | { kind: 'serve'; port?: number; host?: string }
  | { kind: 'call'; operation: Operation; file: string; overrides: Overrides; output: Output }
  | { kind: 'explain'; file: string; operation?: Operation; overrides: Overrides; output: Output }
  | {
      kind: 'eval';
      formula: string;
      at: [string, string][];
      wrt?: string[];
      operation: Operation;
      vector: [string, string][];
      mode?: string;
      output: Output;
    };

export const DEFAULT_PRECISION = 6;
export const DEFAULT_TIMEOUT_MS = 60_000;

type Options = NonNullable<ParseArgsConfig['options']>;

const OUTPUT_OPTIONS = {
  url: { type: 'string' },
  json: { type: 'boolean' },
  precision: { type: 'string' },
  'timeout-ms': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} satisfies Options;

const CALL_OPTIONS = { ...OUTPUT_OPTIONS, mode: { type: 'string' }, constant: { type: 'string' } } satisfies Options;

const isOperation = (s: string): s is Operation => (OPERATIONS as readonly string[]).includes(s);

/** A whole number from `min` to `max`, or a usage error naming the flag. */
function intFlag(value: string | undefined, flag: string, min: number, max: number, command: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max)
    throw usageError(`--${flag}: expected a whole number from ${min} to ${max}, found ${JSON.stringify(value)}`, command);
  return n;
}

/** "a,b" as names; empty entries dropped, so "" is no names. */
const names = (s: string): string[] =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

function operationFlag(value: string | undefined, command: string): Operation | undefined {
  if (value === undefined) return undefined;
  if (!isOperation(value)) throw usageError(`--op: expected one of ${OPERATIONS.join(', ')}, found ${JSON.stringify(value)}`, command);
  return value;
}

function url(value: string | undefined, command: string): string | undefined {
  if (value === undefined) return undefined;
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw usageError(`--url: not a URL: ${JSON.stringify(value)}`, command);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw usageError(`--url: expected http:// or https://, found ${JSON.stringify(value)}`, command);
  return value.replace(/\/+$/, '');
}

type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

function output(v: Values, command: string): Output {
  return {
    url: url(v.url as string | undefined, command),
    json: v.json === true,
    precision: intFlag(v.precision as string | undefined, 'precision', 1, 17, command) ?? DEFAULT_PRECISION,
    timeoutMs: intFlag(v['timeout-ms'] as string | undefined, 'timeout-ms', 1, 3_600_000, command) ?? DEFAULT_TIMEOUT_MS,
  };
}

function overrides(v: Values): Overrides {
  return {
    ...(v.mode === undefined ? {} : { mode: v.mode as string }),
    ...(v.constant === undefined ? {} : { constant: names(v.constant as string) }),
  };
}

/** parseArgs for one command, its errors (unknown flag, missing value) turned into usage errors. */
function parse(command: string, args: string[], options: Options): { values: Values; positionals: string[] } {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true }) as { values: Values; positionals: string[] };
  } catch (err) {
    throw usageError((err as Error).message.split('\n')[0], command);
  }
}

/** One positional argument (a file, a formula), or a usage error. */
function one(positionals: string[], what: string, command: string): string {
  if (positionals.length === 0) throw usageError(`${command}: expected ${what}`, command);
  if (positionals.length > 1) throw usageError(`${command}: expected ${what} only, found ${positionals.length} arguments`, command);
  return positionals[0];
}

/** `name=value` pairs of a repeated flag, names checked non-empty. */
function pairs(values: unknown, flag: string, command: string): [string, string][] {
  return ((values as string[] | undefined) ?? []).map((s) => {
    const eq = s.indexOf('=');
    if (eq <= 0) throw usageError(`--${flag}: expected NAME=VALUE, found ${JSON.stringify(s)}`, command);
    return [s.slice(0, eq).trim(), s.slice(eq + 1).trim()];
  });
}

export function parseCommand(argv: string[]): Command {
  const [command, ...rest] = argv;
  if (command === undefined) throw usageError('expected a command');
  if (command === '--help' || command === '-h') return { kind: 'help' };
  if (command === 'help') return { kind: 'help', topic: rest[0] };
  if (command === '--version' || command === '-v') return { kind: 'version' };

  if (command === 'serve') {
    const { values: v, positionals } = parse(command, rest, {
      port: { type: 'string' },
      host: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    });
    if (v.help) return { kind: 'help', topic: command };
    if (positionals.length > 0) throw usageError(`serve: unexpected argument ${JSON.stringify(positionals[0])}`, command);
    const port = intFlag(v.port as string | undefined, 'port', 0, 65535, command);
    if (v.host === '') throw usageError('--host: expected an address', command);
    return { kind: 'serve', ...(port === undefined ? {} : { port }), ...(v.host === undefined ? {} : { host: v.host as string }) };
  }

  if (isOperation(command)) {
    const { values: v, positionals } = parse(command, rest, CALL_OPTIONS);
    if (v.help) return { kind: 'help', topic: command };
    return {
      kind: 'call',
      operation: command,
      file: one(positionals, 'a request file (or - for stdin)', command),
      overrides: overrides(v),
      output: output(v, command),
    };
  }

  if (command === 'explain') {
    const { values: v, positionals } = parse(command, rest, { ...CALL_OPTIONS, op: { type: 'string' } });
    if (v.help) return { kind: 'help', topic: command };
    const operation = operationFlag(v.op as string | undefined, command);
    return {
      kind: 'explain',
      file: one(positionals, 'a request file (or - for stdin)', command),
      ...(operation ? { operation } : {}),
      overrides: overrides(v),
      output: output(v, command),
    };
  }

  if (command === 'eval') {
    const { values: v, positionals } = parse(command, rest, {
      ...OUTPUT_OPTIONS,
      at: { type: 'string', multiple: true },
      wrt: { type: 'string', multiple: true },
      op: { type: 'string' },
      vector: { type: 'string', multiple: true },
      mode: { type: 'string' },
    });
    if (v.help) return { kind: 'help', topic: command };
    const wrt = v.wrt === undefined ? undefined : (v.wrt as string[]).flatMap(names);
    // evaluate unless asked for derivatives; --wrt alone asks for the Jacobian
    const operation = operationFlag(v.op as string | undefined, command) ?? (wrt ? 'jacobian' : 'evaluate');
    return {
      kind: 'eval',
      formula: one(positionals, 'a formula', command),
      at: pairs(v.at, 'at', command),
      ...(wrt ? { wrt } : {}),
      operation,
      vector: pairs(v.vector, 'vector', command),
      ...(v.mode === undefined ? {} : { mode: v.mode as string }),
      output: output(v, command),
    };
  }

  throw usageError(`unknown command ${JSON.stringify(command)}`);
}
