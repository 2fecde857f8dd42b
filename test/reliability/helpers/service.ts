/**
 * The service under test as a real child process: `node dist/server/main.js` (built
 * once by global-setup.ts), listening on 127.0.0.1 on a free port, with the
 * environment of one scenario on top of the defaults. A real process because the
 * findings are about the process: its RSS (main thread and worker threads together),
 * its event loop as seen from outside, its signal handling and exit code.
 *
 *   startService(env)        spawns it, resolves once GET /readyz answers 200
 *   service.rssMb()          VmRSS from /proc/<pid>/status (all threads), in MB
 *   service.peakRssMb()      VmHWM (peak RSS since start), in MB
 *   service.stop(boundMs)    SIGTERM, then SIGKILL if it has not exited within boundMs
 *   service.kill()           SIGKILL (clean-up after a failed scenario)
 *   watchRss(service, mb)    samples VmRSS every 50 ms: the maximum, and a promise that
 *                            resolves once it reaches mb
 *   sumMetric(text, name)    the sum of a metric's samples in Prometheus text
 *   useServices()            (use-services.ts) a startService whose processes are killed
 *                            after each test
 *
 * Nothing here imports vitest except useServices (a separate export), so scratch
 * scripts can use the module too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
export const ENTRY = join(ROOT, 'dist/server/main.js');

/** Output kept for failure messages: the last this many characters of stdout and stderr. */
const LOG_TAIL_CHARS = 256 * 1024;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Service {
  readonly pid: number;
  readonly port: number;
  /** http://127.0.0.1:<port> */
  readonly base: string;
  readonly env: Readonly<Record<string, string>>;
  readonly child: ChildProcess;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<Exit>;
  /** Whether the process has exited. */
  readonly alive: boolean;
  /** The tail of its stdout and stderr. */
  log(): string;
  /** Resident set size now, in MB (VmRSS: every thread of the process). NaN once it has exited. */
  rssMb(): number;
  /** Peak resident set size since start, in MB (VmHWM). NaN once it has exited. */
  peakRssMb(): number;
  /** SIGTERM, then SIGKILL after `boundMs`; resolves with the exit and how long it took from the signal. */
  stop(boundMs?: number): Promise<Exit & { ms: number; killed: boolean }>;
  /** SIGKILL, and wait for the exit (at most a few seconds). */
  kill(): Promise<void>;
}

export interface StartOptions {
  /** How long to wait for /readyz to answer 200 (default 20 s). */
  readyTimeoutMs?: number;
}

/** A port that was free a moment ago (the kernel picks it; the race with other processes is acceptable in tests). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** One field of /proc/<pid>/status in MB (the kernel writes kB), or NaN. */
export function procStatusMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(text);
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** GET path; resolves with the status code, or 0 on any error or after timeoutMs. */
function statusOf(url: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve) => {
    const req = get(url, { agent: false }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
      res.once('error', () => resolve(0));
    });
    req.setTimeout(timeoutMs, () => req.destroy());
    req.once('error', () => resolve(0));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Starts dist/server/main.js with `env` over the defaults (PORT and HOST are chosen
 * here; LOG_LEVEL is warn unless given, so that a load test's parent does not have
 * to read one log line per request), and waits until /readyz answers 200.
 */
export async function startService(env: Record<string, string> = {}, options: StartOptions = {}): Promise<Service> {
  if (!existsSync(ENTRY)) throw new Error(`${ENTRY} is missing: the reliability suite's global setup builds it (npx tsc -p tsconfig.json)`);
  // The free port can be taken by another process before the service binds it: then it
  // exits at once with EADDRINUSE, and a new port is tried (a CI run lost one that way).
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOn(await freePort(), env, options);
    } catch (err) {
      if (attempt >= 3 || !String((err as Error).message).includes('EADDRINUSE')) throw err;
    }
  }
}

async function startOn(port: number, env: Record<string, string>, options: StartOptions): Promise<Service> {
  const fullEnv: Record<string, string> = { LOG_LEVEL: 'warn', ...env, PORT: String(port), HOST: '127.0.0.1' };
  // The parent's environment minus any derivd setting, so a developer's exported
  // variables cannot change a scenario; then the scenario's own.
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) =>
        !/^(PORT|HOST|LOG_LEVEL|BODY_LIMIT|MAX_|CORS_|SHUTDOWN_|KEEP_ALIVE_|WORKERS|INLINE_|COMPUTE_|CACHE_|QUEUE_|MEMORY_|WORKER_|REQUEST_TIMEOUT|CONNECTION_TIMEOUT|API_KEYS|RATE_LIMIT|REDIS_|METRICS_)/.test(
          k,
        ),
    ),
  );
  const child = spawn(process.execPath, [ENTRY], { cwd: ROOT, env: { ...inherited, ...fullEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const onData = (chunk: Buffer): void => {
    out += chunk.toString();
    if (out.length > 2 * LOG_TAIL_CHARS) out = out.slice(-LOG_TAIL_CHARS);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  let exit: Exit | undefined;
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve((exit = { code, signal }))));
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not spawn the service');
  const base = `http://127.0.0.1:${port}`;

  const kill = async (): Promise<void> => {
    if (exit) return;
    child.kill('SIGKILL');
    await Promise.race([exited, sleep(5_000)]);
  };

  const service: Service = {
    pid,
    port,
    base,
    env: fullEnv,
    child,
    exited,
    get alive() {
      return exit === undefined;
    },
    log: () => out.slice(-LOG_TAIL_CHARS),
    rssMb: () => (exit ? NaN : procStatusMb(pid, 'VmRSS')),
    peakRssMb: () => (exit ? NaN : procStatusMb(pid, 'VmHWM')),
    async stop(boundMs = 10_000) {
      const t0 = performance.now();
      if (exit) return { ...exit, ms: 0, killed: false };
      child.kill('SIGTERM');
      const done = await Promise.race([exited, sleep(boundMs).then(() => undefined)]);
      if (done) return { ...done, ms: performance.now() - t0, killed: false };
      await kill();
      return { ...(exit ?? { code: null, signal: 'SIGKILL' as const }), ms: performance.now() - t0, killed: true };
    },
    kill,
  };

  const deadline = performance.now() + (options.readyTimeoutMs ?? 20_000);
  for (;;) {
    if (exit) throw new Error(`the service exited during start-up (code ${exit.code}, signal ${exit.signal}):\n${out}`);
    if ((await statusOf(`${base}/readyz`, 1_000)) === 200) return service;
    if (performance.now() > deadline) {
      await kill();
      throw new Error(`the service did not answer /readyz with 200 within ${options.readyTimeoutMs ?? 20_000} ms:\n${out}`);
    }
    await sleep(50);
  }
}

export interface RssWatch {
  /** Highest VmRSS sampled so far, in MB. */
  readonly maxMb: number;
  /** Resolves (with the sample) the first time VmRSS is at or over limitMb; never rejects. */
  readonly exceeded: Promise<number>;
  stop(): number;
}

/**
 * Samples the service's VmRSS every `everyMs` (default 50) from the test process.
 * `exceeded` lets a scenario stop as soon as the budget is broken instead of
 * driving the machine into swap (today's code reaches gigabytes).
 */
export function watchRss(svc: Service, limitMb: number, everyMs = 50): RssWatch {
  let maxMb = svc.rssMb();
  let hit: ((mb: number) => void) | undefined;
  const exceeded = new Promise<number>((resolve) => (hit = resolve));
  const sample = (): void => {
    const mb = svc.rssMb();
    if (!(mb <= maxMb)) maxMb = Number.isNaN(mb) ? maxMb : mb;
    if (mb >= limitMb) hit?.(mb);
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    get maxMb() {
      return maxMb;
    },
    exceeded,
    stop() {
      clearInterval(timer);
      sample();
      return maxMb;
    },
  };
}

/** The sum of every sample of metric `name` in the service's /metrics text (NaN when it has none). */
export function sumMetric(text: string, name: string): number {
  let sum = NaN;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m && m[1] === name) sum = (Number.isNaN(sum) ? 0 : sum) + Number(m[2]);
  }
  return sum;
}
