/**
 * The derivd command end to end: main() in this process with its output captured
 * (every operation, the flags, bad input and exit codes), --url against a real
 * listening service, the README's commands and shown output, and once the real
 * bin/derivd.mjs in a child process. Numbers are checked against the analytic
 * derivatives of y = sin(x)·exp(x): dy/dx = (cos x + sin x) eˣ, d²y/dx² = 2 cos(x) eˣ.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { buildApp } from '../src/server/app.js';
import { DEFAULT_CONFIG } from '../src/server/config.js';
import { useListening } from './helpers/server.js';
import { cli, readmeCommands, readmeOutput, words } from './helpers/cli.js';
import { expectClose } from './helpers/numeric.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const FIXTURE = 'test/fixtures/sin-exp.request.json';
const fixture = JSON.parse(readFileSync(join(root, FIXTURE), 'utf8'));

const dy = (x: number): number => (Math.cos(x) + Math.sin(x)) * Math.exp(x);
const d2y = (x: number): number => 2 * Math.cos(x) * Math.exp(x);
const y = (x: number): number => Math.sin(x) * Math.exp(x);

/** Rounding of the library's result against the formula: a few ulps per op. */
const ANALYTIC_REL = 1e-14;

/** y = sin(x)·exp(x) on a scalar x, summed to a scalar s for the scalar operations. */
const scalarRequest = (x: number, extra: object = {}) => ({
  graph: {
    inputs: [{ name: 'x', shape: [] }],
    nodes: [
      { id: 's', op: 'sin', args: ['x'] },
      { id: 'e', op: 'exp', args: ['x'] },
      { id: 'y', op: 'mul', args: ['s', 'e'] },
    ],
    outputs: ['y'],
  },
  args: { x },
  ...extra,
});

const dir = mkdtempSync(join(tmpdir(), 'derivd-cli-'));
/** A request written to a file of its own; its path. */
function file(name: string, body: unknown): string {
  const p = join(dir, name);
  writeFileSync(p, typeof body === 'string' ? body : JSON.stringify(body));
  return p;
}

/** The numbers of a table line, in order. */
const numbersIn = (line: string): number[] => (line.match(/-?\d+(?:\.\d+)?(?:e[-+]?\d+)?(?![\d\]])/g) ?? []).map(Number);

describe('in this process', () => {
  test('jacobian FILE: values and dy/dx as tables, checked against the formula to 6 digits', async () => {
    const r = await cli(['jacobian', join(root, FIXTURE)]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    const xs = fixture.args.x as number[];
    expect(lines.slice(0, 2)).toEqual(['values', '  y [3]']);
    expectClose(numbersIn(lines[2]), xs.map(y), 5e-6);
    expect(lines[4]).toBe('  dy/dx [3,3]');
    // the diagonal, row by row
    for (let i = 0; i < 3; i++) {
      const row = numbersIn(lines[5 + i].replace(/^\s*\[\d+\]/, ''));
      expectClose(
        row,
        [0, 1, 2].map((j) => (i === j ? dy(xs[i]) : 0)),
        5e-6,
        { label: `row ${i}` },
      );
    }
    expect(lines[8]).toMatch(/^mode: (forward|reverse), 1 direction \(3 active input elements vs 3 output elements/);
    expect(lines[9]).toMatch(/^time: [\d.]+ ms \(validate [\d.]+, plan [\d.]+, evaluate [\d.]+, differentiate [\d.]+\)$/);
  });

  test('--json prints the envelope; --precision sets the digits of tables', async () => {
    const r = await cli(['jacobian', file('scalar.json', scalarRequest(0.5)), '--json']);
    expect(r.code).toBe(0);
    expect(r.out.endsWith('}\n')).toBe(true);
    const env = JSON.parse(r.out);
    expect(Object.keys(env)).toEqual(['values', 'jacobian', 'mode', 'reason', 'stats', 'timings']);
    expectClose([env.values.y, env.jacobian.y.x], [y(0.5), dy(0.5)], ANALYTIC_REL);
    const short = await cli(['jacobian', file('scalar.json', scalarRequest(0.5)), '--precision', '3']);
    expect(short.out).toContain(`  dy/dx = ${Number(dy(0.5).toPrecision(3))}\n`);
  });

  test('- reads stdin; every operation prints its own block', async () => {
    const x = 0.7;
    const cases: [string, object, RegExp, number][] = [
      ['evaluate', {}, /^values\n {2}y = (\S+)\ntime: /, y(x)],
      ['gradient', {}, /\ngradient\n {2}dy\/dx = (\S+)\n/, dy(x)],
      ['hessian', {}, /\nhessian \(shape input \+\+ input\)\n {2}d2y\/dx dx = (\S+)\n/, d2y(x)],
      ['jvp', { tangents: { x: 2 } }, /\njvp \(Jacobian times tangents, per output\)\n {2}y = (\S+)\n/, 2 * dy(x)],
      ['vjp', { cotangents: { y: -3 } }, /\nvjp \(cotangents times Jacobian, per input\)\n {2}x = (\S+)\n/, -3 * dy(x)],
      ['hvp', { vector: { x: 0.5 } }, /\nhvp \(Hessian times vector, per input\)\n {2}x = (\S+)\n/, 0.5 * d2y(x)],
    ];
    for (const [op, extra, shown, want] of cases) {
      const r = await cli([op, '-', '--precision', '10'], JSON.stringify(scalarRequest(x, extra)));
      expect(r.code, `${op}: ${r.err}`).toBe(0);
      const m = shown.exec(r.out);
      expect(m, `${op}:\n${r.out}`).not.toBeNull();
      expectClose([Number(m![1])], [want], 1e-9, { label: op });
    }
  });

  test('--mode and --constant override the request', async () => {
    const xy = {
      graph: {
        inputs: [
          { name: 'x', shape: [] },
          { name: 'w', shape: [] },
        ],
        nodes: [{ id: 'p', op: 'mul', args: ['x', 'w'] }],
        outputs: ['p'],
      },
      args: { x: 2, w: 3 },
      constant: ['w'],
    };
    const f = file('xy.json', xy);
    const asIs = JSON.parse((await cli(['jacobian', f, '--json'])).out);
    expect(Object.keys(asIs.jacobian.p)).toEqual(['x']);
    const both = JSON.parse((await cli(['jacobian', f, '--json', '--constant', '', '--mode', 'reverse'])).out);
    expect(both.jacobian.p).toEqual({ x: 3, w: 2 }); // d(xw)/dx = w, d(xw)/dw = x
    expect(both.mode).toBe('reverse');
    const onlyW = await cli(['jacobian', f, '--constant', 'x', '--mode', 'fd']);
    expect(onlyW.out).toMatch(/\n {2}dp\/dw = 2\n/);
    expect(onlyW.out).toMatch(/\nmode: fd, /);
  });

  test('a large Jacobian is summarised: first and last rows and columns, the rest counted', async () => {
    const n = 300;
    const x = Array.from({ length: n }, (_, i) => i / n);
    const req = { ...scalarRequest(0), graph: { ...scalarRequest(0).graph, inputs: [{ name: 'x', shape: [n] }] }, args: { x } };
    const r = await cli(['jacobian', '-'], JSON.stringify(req));
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines.length).toBeLessThan(40);
    expect(r.out).toContain(`  dy/dx [${n},${n}]\n`);
    expect(r.out).toContain(`(${n - 12} rows and ${n - 8} columns not shown; --json prints everything)`);
    const last = lines.find((l) => l.trimStart().startsWith(`[${n - 1}]`))!;
    expectClose([numbersIn(last.replace(/^\s*\[\d+\]/, '')).at(-1)!], [dy(x[n - 1])], 5e-6);
  });

  test('bad input exits 2 with the problem title and each path: message on stderr', async () => {
    const cases: [string[], string, string[]][] = [
      [['jacobian', '-'], '{"graph":', ['derivd: The body is not valid JSON', '  stdin: ']],
      [['jacobian', '-', '--frobnicate'], '{}', ["derivd: Unknown option '--frobnicate'"]],
      [['jacobian', join(dir, 'missing.json')], '', [`derivd: cannot read ${join(dir, 'missing.json')}: no such file`]],
      [
        ['jacobian', '-'],
        JSON.stringify({ ...scalarRequest(1), graph: { ...scalarRequest(1).graph, nodes: [{ id: 'y', op: 'sine', args: ['x'] }] } }),
        ['derivd: The request does not match the schema (400)', '  graph.nodes[0].op: '],
      ],
      [
        ['jacobian', '-'],
        JSON.stringify({ ...scalarRequest(1), graph: { ...scalarRequest(1).graph, nodes: [{ id: 'y', op: 'sin', args: ['q'] }] } }),
        ['derivd: The graph or the call is not valid (422)', '  graph.nodes[0].args[0]: '],
      ],
      [
        ['gradient', '-', '--mode', 'psychic'],
        JSON.stringify(scalarRequest(1)),
        ['derivd: The request does not match the schema (400)', '  mode: '],
      ],
      [['jvp', '-'], JSON.stringify(scalarRequest(1)), ['derivd: The request does not match the schema (400)', '  tangents: ']],
    ];
    for (const [argv, stdin, starts] of cases) {
      const r = await cli(argv, stdin);
      expect(r.code, `${argv.join(' ')}: ${r.err}`).toBe(2);
      expect(r.out).toBe('');
      const lines = r.err.split('\n');
      starts.forEach((s, i) => expect(lines[i], argv.join(' ')).toContain(s));
    }
  });

  test('a request over a limit is a 413 problem (exit 2)', async () => {
    const n = DEFAULT_CONFIG.maxElements + 1;
    const req = { graph: { inputs: [], nodes: [{ id: 'z', op: 'fill', shape: [n], value: 1 }], outputs: ['z'] }, args: {} };
    const r = await cli(['evaluate', '-'], JSON.stringify(req));
    expect(r.code).toBe(2);
    expect(r.err.split('\n')[0]).toBe('derivd: The request is over a configured limit (413)');
  });

  test('help for every command, --version from package.json', async () => {
    const top = await cli(['help']);
    expect([top.code, top.err]).toEqual([0, '']);
    for (const c of ['serve', 'evaluate', 'jacobian', 'gradient', 'jvp', 'vjp', 'hessian', 'hvp', 'eval', 'explain']) {
      expect(top.out).toContain(c);
      const h = await cli([c, '--help']);
      expect([h.code, h.out.split('\n')[0]]).toEqual([0, expect.stringMatching(new RegExp(`^usage: derivd ${c} `))]);
      expect((await cli(['help', c])).out).toBe(h.out);
    }
    expect((await cli(['help', 'nothing'])).code).toBe(2);
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    expect((await cli(['--version'])).out).toBe(`derivd ${pkg.version}\n`);
    expect(pkg.bin).toEqual({ derivd: 'bin/derivd.mjs' });
  });
});

describe('--url: a real listening service', () => {
  const service = useListening();

  test("the answer is the service's: --json prints its body as sent, tables read it", async () => {
    const req = JSON.stringify(scalarRequest(0.5));
    const r = await cli(['jacobian', '-', '--url', service.url(), '--json'], req);
    expect(r.code).toBe(0);
    const direct = await fetch(`${service.url()}/v1/jacobian`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: req,
    });
    const body = await direct.text();
    // the same text but for the timings, which differ from call to call
    const noTimings = (s: string) => s.replace(/"timings":\{[^}]*\}/, '"timings":{}').replace(/"cache":"(hit|miss)"/, '"cache":""');
    expect(noTimings(r.out)).toBe(`${noTimings(body)}\n`);
    expectClose([JSON.parse(r.out).jacobian.y.x], [dy(0.5)], ANALYTIC_REL);
    const table = await cli(['gradient', '-', '--url', `${service.url()}/`, '--precision', '10'], req);
    expect(table.code).toBe(0);
    expectClose([Number(/dy\/dx = (\S+)/.exec(table.out)![1])], [dy(0.5)], 1e-9);
  });

  test('the flags reach the service; its problems exit 2 with title and paths', async () => {
    const r = await cli(['jacobian', '-', '--url', service.url(), '--json', '--mode', 'fd'], JSON.stringify(scalarRequest(0.5)));
    expect(JSON.parse(r.out).mode).toBe('fd');
    const bad = await cli(['jacobian', '-', '--url', service.url()], JSON.stringify({ ...scalarRequest(1), constant: ['nope'] }));
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/^derivd: The graph or the call is not valid \(422\)\n {2}constant\[0\]: .*nope/);
    const notJson = await cli(['jacobian', '-', '--url', service.url()], '{"graph": ');
    expect([notJson.code, notJson.err.split('\n')[0]]).toEqual([2, 'derivd: The body is not valid JSON']);
  });

  test('a service that cannot be reached is exit 1, naming the URL', async () => {
    const gone = await buildApp({ ...DEFAULT_CONFIG, logLevel: 'silent', workers: 0 });
    const url = await gone.app.listen({ port: 0, host: '127.0.0.1' });
    await gone.app.close();
    const r = await cli(['jacobian', '-', '--url', url], JSON.stringify(scalarRequest(1)));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(new RegExp(`^derivd: cannot reach ${url}/v1/jacobian: .*ECONNREFUSED`));
  });

  test("the README's operation commands run, and the first prints what the README shows", async () => {
    const commands = readmeCommands('derivd serve');
    expect(commands.length).toBe(4);
    for (const line of commands) {
      const { argv, stdinFile } = words(line.replace('http://127.0.0.1:8080', service.url()));
      if (argv[1] === 'serve') continue; // the bin test below runs the service
      const r = await cli(argv.slice(1), stdinFile ? readFileSync(join(root, stdinFile), 'utf8') : '');
      expect(r.code, `${line}\n${r.err}`).toBe(0);
    }
    const first = await cli(words(commands[0]).argv.slice(1));
    const shown = readmeOutput('The first prints');
    const timeLine = /^time: .*$/m;
    expect(first.out.replace(timeLine, 'time: …')).toBe(shown.replace(timeLine, 'time: …'));
  });
});

describe('the real bin/derivd.mjs', () => {
  test('serve --port 0 listens, and a call through --url gets its answer (both spawned)', { timeout: 300_000 }, async () => {
    // the bin builds a stale dist/ itself; doing it first keeps the build out of the waits below
    execFileSync(process.execPath, ['scripts/bootstrap.mjs', 'build'], { cwd: root, stdio: 'ignore', timeout: 240_000 });
    const bin = join(root, 'bin/derivd.mjs');
    const server = spawn(process.execPath, [bin, 'serve', '--port', '0', '--host', '127.0.0.1'], {
      cwd: root,
      env: { ...process.env, WORKERS: '0', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => server.on('exit', (code) => resolve(code)));
    try {
      let log = '';
      const base = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no listening line:\n${log}`)), 30_000);
        const onData = (c: Buffer) => {
          log += c.toString();
          const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(log);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        };
        server.stdout.on('data', onData);
        server.stderr.on('data', onData);
      });
      const client = spawn(process.execPath, [bin, 'hessian', '-', '--url', base, '--json'], {
        cwd: root,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let out = '';
      client.stdout.on('data', (c: Buffer) => (out += c.toString()));
      client.stdin.end(JSON.stringify(scalarRequest(0.3)));
      const code = await new Promise<number | null>((resolve) => client.on('exit', (c) => resolve(c)));
      expect(code).toBe(0);
      expectClose([JSON.parse(out).hessian.x.x], [d2y(0.3)], 1e-12);
    } finally {
      server.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
