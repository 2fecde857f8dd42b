/**
 * PyTorch beside derivd on P4 (issue 11): runs bench/torch_p4.py with Debian's
 * python3 when it has torch (`apt-get install python3-torch libopenblas0-pthread`),
 * and says so plainly when it does not. One thread, float64.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

export interface TorchRecord {
  problem: 'P4';
  torch: string;
  threads: number;
  gradientUs: number;
  lossUs: number;
  checksum: number;
}

const PYTHON = '/usr/bin/python3';

/** The torch figures, or why there are none. */
export function runTorch(): TorchRecord | { skipped: string } {
  const r = spawnSync(PYTHON, [new URL('./torch_p4.py', import.meta.url).pathname], { encoding: 'utf8', timeout: 120_000 });
  if (r.error || r.status !== 0) {
    const why = r.error?.message ?? r.stderr.trim().split('\n').pop() ?? `exit ${r.status}`;
    return { skipped: `PyTorch not measured (${why}); install python3-torch and libopenblas0-pthread` };
  }
  return JSON.parse(r.stdout.trim().split('\n').pop() as string) as TorchRecord;
}

/** A line for the report: torch's P4 gradient against derivd's median (µs). */
export function torchLine(t: TorchRecord | { skipped: string }, derivdUs: number | null): string {
  if ('skipped' in t) return t.skipped;
  const ratio = derivdUs === null ? '' : `; derivd ${derivdUs.toFixed(0)} µs, ${(derivdUs / t.gradientUs).toFixed(2)}× torch`;
  return `P4 in PyTorch ${t.torch} (float64, ${t.threads} thread): gradient ${t.gradientUs.toFixed(0)} µs, loss ${t.lossUs.toFixed(0)} µs${ratio}`;
}

/** Adds the torch line to results.md and the record to results.json (written by report.ts first). */
export function appendTorch(t: TorchRecord | { skipped: string }, line: string): void {
  const dir = new URL('./', import.meta.url);
  const json = JSON.parse(readFileSync(new URL('results.json', dir), 'utf8')) as unknown[];
  writeFileSync(new URL('results.json', dir), `${JSON.stringify([...json, t], null, 2)}\n`);
  const md = readFileSync(new URL('results.md', dir), 'utf8');
  writeFileSync(new URL('results.md', dir), `${md}\n## PyTorch\n\n- ${line}\n`);
}
