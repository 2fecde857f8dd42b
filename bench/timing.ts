/**
 * Adaptive, interleaved timing. Each entry is warmed up, then timed in samples of
 * `batch` back-to-back calls (batch sized so a sample lasts ~1 ms); samples of all
 * entries are taken in rotating round-robin so they share the machine's noise. An entry
 * stops once it has run for `minMs` and `minCalls` calls; a slow one is capped at
 * `capMs` (but gets at least `minSamples` samples). The result is the median time
 * per call over its samples.
 */

export interface Entry {
  name: string;
  /** One call; may return a promise (then each call is awaited). */
  fn: () => unknown;
}

export interface Measured {
  medianUs: number;
  samples: number;
  calls: number;
}

export interface TimingOptions {
  minMs: number;
  minCalls: number;
  capMs: number;
  minSamples: number;
}

export const DEFAULT_TIMING: TimingOptions = { minMs: 200, minCalls: 20, capMs: 120_000, minSamples: 3 };

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function callN(fn: () => unknown, n: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const r = fn();
    if (r instanceof Promise) await r;
  }
  return performance.now() - t0;
}

interface State {
  entry: Entry;
  batch: number;
  target: number; // samples to take
  samples: number[]; // ms per call
}

export async function measure(entries: Entry[], opt: TimingOptions = DEFAULT_TIMING): Promise<Map<string, Measured>> {
  const states: State[] = [];
  for (const entry of entries) {
    // Warm-up: at least 3 calls and ~50 ms (or one call, if a call is slower than that).
    let spent = 0;
    let calls = 0;
    let last = 0;
    while (calls < 3 || spent < 50) {
      last = await callN(entry.fn, 1);
      spent += last;
      calls++;
      if (last > 50) break;
    }
    const perCall = Math.max(Math.min(spent / calls, last), 1e-4);
    const batch = Math.max(1, Math.round(1 / perCall));
    const wanted = Math.max(opt.minMs / perCall, opt.minCalls);
    const capped = Math.min(wanted, opt.capMs / perCall);
    states.push({ entry, batch, target: Math.max(opt.minSamples, Math.ceil(capped / batch)), samples: [] });
  }
  // Each round starts one entry later, so no entry always follows the same one (and its garbage).
  for (let round = 0; states.some((s) => s.samples.length < s.target); round++) {
    for (let k = 0; k < states.length; k++) {
      const s = states[(round + k) % states.length];
      if (s.samples.length < s.target) s.samples.push((await callN(s.entry.fn, s.batch)) / s.batch);
    }
  }
  return new Map(
    states.map((s) => [s.entry.name, { medianUs: median(s.samples) * 1000, samples: s.samples.length, calls: s.samples.length * s.batch }]),
  );
}
