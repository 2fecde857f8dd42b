/**
 * The `derivd` command (bin/derivd.mjs runs it): serve, one operation on a
 * request file, eval of a formula, explain. `main` takes the arguments and the
 * streams and resolves to the exit status, so tests run it in-process:
 * 0 done, 2 bad input (usage, bad JSON, a problem of the request), 1 the rest.
 */
import { readFileSync } from 'node:fs';
import { explain, type Operation } from '../api/index.js';
import { DEFAULT_CONFIG } from '../server/config.js';
import { CliError, type Command, type Output, type Overrides, parseCommand } from './args.js';
import { type Answer, inProcess, overHttp, runOperation } from './call.js';
import { evalRequest } from './formula.js';
import { parseJson, readInput } from './read.js';
import { explanationText, resultText } from './report.js';
import { HELP } from './usage.js';

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  stdin: AsyncIterable<Uint8Array | string>;
  env: Record<string, string | undefined>;
}

const processIo = (): Io => ({
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  stdin: process.stdin,
  env: process.env,
});

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function version(): string {
  // package.json is two levels up from both src/cli and dist/cli
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** The request with the flags' changes; the same object when there are none. */
function withOverrides(request: unknown, overrides: Overrides, operation?: Operation): unknown {
  if (!isObject(request) || (overrides.mode === undefined && overrides.constant === undefined && operation === undefined)) return request;
  return { ...request, ...overrides, ...(operation ? { operation } : {}) };
}

/** Reads FILE (or stdin) as a request, with the flags' changes; `text` is what to send when nothing changed. */
async function readRequest(file: string, io: Io, overrides: Overrides, operation?: Operation): Promise<{ request: unknown; text: string }> {
  const raw = await readInput(file, io.stdin, DEFAULT_CONFIG.bodyLimit);
  const parsed = parseJson(raw, file === '-' ? 'stdin' : file);
  const request = withOverrides(parsed, overrides, operation);
  // sent as read when unchanged: a number JSON.stringify cannot write (1e999) reaches the service as it was
  return { request, text: request === parsed ? raw : JSON.stringify(request) };
}

function print(io: Io, answer: Answer, out: Output, explanation = false): void {
  if (out.json) io.stdout(answer.text.endsWith('\n') ? answer.text : `${answer.text}\n`);
  else io.stdout(explanation ? explanationText(answer.value) : resultText(answer.value, out.precision));
}

async function run(cmd: Command, io: Io): Promise<number> {
  switch (cmd.kind) {
    case 'help': {
      const text = HELP[cmd.topic ?? ''];
      if (text === undefined)
        throw new CliError(2, [`no help for ${JSON.stringify(cmd.topic)}: not a command`, "run 'derivd help' for usage"]);
      io.stdout(text);
      return 0;
    }
    case 'version':
      io.stdout(`derivd ${version()}\n`);
      return 0;
    case 'serve':
      // the service reads only its environment (server/config.ts): the flags are its PORT and HOST
      if (cmd.port !== undefined) process.env.PORT = String(cmd.port);
      if (cmd.host !== undefined) process.env.HOST = cmd.host;
      await import('../server/main.js');
      return 0;
    case 'call': {
      const { request, text } = await readRequest(cmd.file, io, cmd.overrides);
      const answer = cmd.output.url
        ? await overHttp(cmd.output.url, `/v1/${cmd.operation}`, text, cmd.output, io.env)
        : await runOperation(cmd.operation, request, cmd.output);
      print(io, answer, cmd.output);
      return 0;
    }
    case 'explain': {
      const { request, text } = await readRequest(cmd.file, io, cmd.overrides, cmd.operation);
      const answer = cmd.output.url
        ? await overHttp(cmd.output.url, '/v1/explain', text, cmd.output, io.env)
        : await inProcess(explain, request, cmd.output);
      print(io, answer, cmd.output, true);
      return 0;
    }
    case 'eval': {
      const request = evalRequest(cmd);
      const answer = cmd.output.url
        ? await overHttp(cmd.output.url, `/v1/${cmd.operation}`, JSON.stringify(request), cmd.output, io.env)
        : await runOperation(cmd.operation, request, cmd.output);
      print(io, answer, cmd.output);
      return 0;
    }
  }
}

/** Runs the command line `argv` (without node and the script) and resolves to the exit status. */
export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  try {
    return await run(parseCommand(argv), io);
  } catch (caught) {
    const err = caught instanceof CliError ? caught : new CliError(1, [`internal error: ${(caught as Error)?.stack ?? String(caught)}`]);
    const [first, ...rest] = err.lines;
    io.stderr(`derivd: ${first}\n${rest.map((l) => `${l}\n`).join('')}`);
    return err.exitCode;
  }
}
