import { describe, expect, test } from 'vitest';
import { CliError, DEFAULT_PRECISION, DEFAULT_TIMEOUT_MS, parseCommand } from './args.js';

/** The usage error parseCommand throws for `argv`: its exit code and first line. */
function refused(argv: string[]): { exitCode: number; message: string } {
  try {
    parseCommand(argv);
  } catch (err) {
    if (err instanceof CliError) return { exitCode: err.exitCode, message: err.lines[0] };
    throw err;
  }
  throw new Error(`${argv.join(' ')} was accepted`);
}

describe('parseCommand', () => {
  test('an operation takes a file and the call flags; defaults when none are given', () => {
    expect(parseCommand(['jacobian', 'r.json'])).toEqual({
      kind: 'call',
      operation: 'jacobian',
      file: 'r.json',
      overrides: {},
      output: { url: undefined, json: false, precision: DEFAULT_PRECISION, timeoutMs: DEFAULT_TIMEOUT_MS },
    });
    const c = parseCommand([
      'hvp',
      '-',
      '--url',
      'http://h:8080/',
      '--mode',
      'reverse',
      '--constant',
      'a, b',
      '--json',
      '--precision',
      '3',
    ]);
    expect(c).toEqual({
      kind: 'call',
      operation: 'hvp',
      file: '-',
      overrides: { mode: 'reverse', constant: ['a', 'b'] },
      output: { url: 'http://h:8080', json: true, precision: 3, timeoutMs: DEFAULT_TIMEOUT_MS },
    });
    // "" is no constant inputs at all, not "leave the request's"
    expect(parseCommand(['gradient', 'r.json', '--constant', ''])).toMatchObject({ overrides: { constant: [] } });
  });

  test('eval: --at pairs, --wrt lists (repeatable), the operation from --op or from --wrt', () => {
    expect(parseCommand(['eval', 'sin(x)', '--at', 'x=0.5'])).toMatchObject({
      kind: 'eval',
      formula: 'sin(x)',
      at: [['x', '0.5']],
      operation: 'evaluate',
    });
    const c = parseCommand(['eval', 'x*y', '--at', 'x=1,2', '--at', 'y=[3,4]', '--wrt', 'x', '--wrt', 'y']);
    expect(c).toMatchObject({
      at: [
        ['x', '1,2'],
        ['y', '[3,4]'],
      ],
      wrt: ['x', 'y'],
      operation: 'jacobian',
    });
    expect(parseCommand(['eval', 'x*x', '--at', 'x=1', '--op', 'hessian'])).toMatchObject({ operation: 'hessian' });
    expect(parseCommand(['eval', 'x', '--at', 'x=1', '--op', 'jvp', '--vector', 'x=2'])).toMatchObject({ vector: [['x', '2']] });
  });

  test('explain takes --op; serve takes --port and --host', () => {
    expect(parseCommand(['explain', 'r.json', '--op', 'hessian', '--constant', 'd'])).toMatchObject({
      kind: 'explain',
      operation: 'hessian',
      overrides: { constant: ['d'] },
    });
    expect(parseCommand(['serve', '--port', '0', '--host', '127.0.0.1'])).toEqual({ kind: 'serve', port: 0, host: '127.0.0.1' });
    expect(parseCommand(['serve'])).toEqual({ kind: 'serve' });
  });

  test('help, --help on any command, and --version', () => {
    expect(parseCommand(['--help'])).toEqual({ kind: 'help' });
    expect(parseCommand(['help', 'eval'])).toEqual({ kind: 'help', topic: 'eval' });
    expect(parseCommand(['jacobian', '--help'])).toEqual({ kind: 'help', topic: 'jacobian' });
    expect(parseCommand(['serve', '-h'])).toEqual({ kind: 'help', topic: 'serve' });
    expect(parseCommand(['--version'])).toEqual({ kind: 'version' });
  });

  test('every wrong command line is a usage error (exit 2) that says what is wrong', () => {
    const cases: [string[], RegExp][] = [
      [[], /expected a command/],
      [['differentiate', 'r.json'], /unknown command "differentiate"/],
      [['jacobian'], /jacobian: expected a request file/],
      [['jacobian', 'a.json', 'b.json'], /expected a request file \(or - for stdin\) only, found 2 arguments/],
      [['jacobian', 'r.json', '--frobnicate'], /Unknown option '--frobnicate'/],
      [['jacobian', 'r.json', '--mode'], /--mode/],
      [['jacobian', 'r.json', '--precision', '0'], /--precision: expected a whole number from 1 to 17, found "0"/],
      [['jacobian', 'r.json', '--timeout-ms', '1.5'], /--timeout-ms: expected a whole number/],
      [['jacobian', 'r.json', '--url', 'localhost:8080'], /--url: expected http:\/\/ or https:\/\//],
      [['jacobian', 'r.json', '--url', 'not a url'], /--url: not a URL/],
      [['serve', '--port', '70000'], /--port: expected a whole number from 0 to 65535/],
      [['serve', 'now'], /serve: unexpected argument "now"/],
      [['eval'], /eval: expected a formula/],
      [['eval', 'x', '--at', 'x'], /--at: expected NAME=VALUE, found "x"/],
      [['eval', 'x', '--at', '=1'], /--at: expected NAME=VALUE/],
      [['eval', 'x', '--at', 'x=1', '--op', 'integrate'], /--op: expected one of evaluate, jacobian/],
      [['explain', 'r.json', '--op', 'nope'], /--op: expected one of/],
    ];
    for (const [argv, message] of cases) {
      const r = refused(argv);
      expect(r.exitCode, argv.join(' ')).toBe(2);
      expect(r.message, argv.join(' ')).toMatch(message);
    }
  });
});
