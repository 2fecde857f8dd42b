/**
 * Debian's Chromium for the tests in a real browser (.ci/run installs it; without it
 * those tests are skipped and say so):
 *   CHROMIUM            its path, or undefined
 *   CHROMIUM_FLAGS      headless, no sandbox, no GPU, no background traffic
 *   dumpDom(url, profile, extra?)   the page's DOM once its scripts ran, and Chromium's log
 * (playwright-core tests launch it with `executablePath: CHROMIUM, args: CHROMIUM_FLAGS`).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

export const CHROMIUM: string | undefined = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
];

/** Says, once per file, that `what` is skipped for want of Chromium. */
export function noteMissingChromium(what: string): void {
  if (!CHROMIUM) console.log(`Chromium was not found (/usr/bin/chromium): skipping ${what} (apt-get install chromium)`);
}

/**
 * Loads `url` in headless Chromium with the profile directory `profile`, lets its
 * scripts run (10 s of virtual time) and resolves with the DOM it printed and the log
 * it wrote (console messages and CSP refusals); killed after 45 s.
 */
export function dumpDom(url: string, profile: string, extraFlags: readonly string[] = []): Promise<{ dom: string; log: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      CHROMIUM as string,
      [
        ...CHROMIUM_FLAGS,
        '--no-first-run',
        '--disable-sync',
        `--user-data-dir=${profile}`,
        '--enable-logging=stderr',
        ...extraFlags,
        '--virtual-time-budget=10000',
        '--dump-dom',
        url,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('exit', () => {
      clearTimeout(timer);
      resolve({ dom: out, log: err });
    });
  });
}
