/**
 * The real entry point (src/server/main.ts) in a child process, for what only a
 * process shows: signals, exit codes, shutdown timing.
 *   startService(env)   resolves with its base URL once it listens; `exited` resolves with the exit code
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface Service {
  child: ChildProcess;
  base: string;
  exited: Promise<number | null>;
  /** Everything it wrote to stdout and stderr so far. */
  log: () => string;
}

/** Starts src/server/main.ts on a free port of 127.0.0.1 with `env` on top of this environment. */
export function startService(env: Record<string, string>): Promise<Service> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server/main.ts'], {
    cwd: root,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`service did not start:\n${out}`)), 20_000);
    const onData = (chunk: Buffer): void => {
      out += chunk.toString();
      const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, base: m[1], exited, log: () => out });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', () => reject(new Error(`service exited early:\n${out}`)));
  });
}
