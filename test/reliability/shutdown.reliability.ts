/**
 * Finding 7: SIGTERM under load loses nothing. About 100 connections keep sending
 * pooled gradients (about 130 ms of compute each, far more than the workers do in
 * the time) when the process gets SIGTERM. Then:
 *
 *   - every request the service had accepted is answered 200 (finished) or 503 (not
 *     started, with Retry-After), and none is reset mid-request. "Accepted": its
 *     response began, or it had been written in full at least ACCEPT_MARGIN_MS before
 *     the signal (on a connection the service was reading: it has it). A request sent
 *     after the signal may be refused (connection refused or closed) but if it is
 *     answered, the answer is 200 or 503 with Retry-After as well;
 *   - the process exits 0 within SHUTDOWN_TIMEOUT_MS plus a small bound.
 *
 * Each connection is its own node:http agent with one keep-alive socket, so the
 * test knows the fate of every request it sent. A client that gets a 503 waits about
 * 100 ms before its next request (as a client told to retry would, if less politely
 * than Retry-After asks).
 */
import { Agent, request } from 'node:http';
import { describe, expect, test } from 'vitest';
import { sizeMatmulGradient } from './helpers/calibrate.js';
import { sleep } from './helpers/http.js';
import { useServices } from './helpers/use-services.js';

const start = useServices();

const CONNECTIONS = 100;
const SHUTDOWN_TIMEOUT_MS = 5_000;
/** Exit within SHUTDOWN_TIMEOUT_MS plus this. */
const EXIT_SLACK_MS = 2_000;
/**
 * A request written this long before the signal has reached the service (its event
 * loop is not that far behind: the clients below back off after a 503, so they do not
 * keep it busy with refusals).
 */
const ACCEPT_MARGIN_MS = 100;
/** After a 503, a client waits this long (plus up to as much again) before its next request. */
const BACKOFF_MS = 100;

interface Fate {
  sentAt: number;
  /** When the whole request had been handed to the socket. */
  writtenAt?: number;
  headersAt?: number;
  status?: number;
  retryAfter?: string;
  doneAt?: number;
  error?: string;
}

function sendOne(port: number, agent: Agent, body: string, fate: Fate): Promise<void> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/v1/gradient',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        fate.headersAt = performance.now();
        fate.status = res.statusCode;
        const ra = res.headers['retry-after'];
        fate.retryAfter = Array.isArray(ra) ? ra[0] : ra;
        res.resume();
        res.once('end', () => {
          fate.doneAt = performance.now();
          resolve();
        });
        res.once('error', (err) => {
          fate.error = `${err.message} (after the response began)`;
          resolve();
        });
        res.once('aborted', () => {
          fate.error ??= 'aborted after the response began';
        });
      },
    );
    req.once('finish', () => (fate.writtenAt = performance.now()));
    req.setTimeout(30_000, () => req.destroy(new Error('no answer within 30 s')));
    req.once('error', (err: NodeJS.ErrnoException) => {
      fate.error ??= err.code ?? err.message;
      resolve();
    });
    req.end(body);
  });
}

describe('finding 7: SIGTERM under load', () => {
  test(`${CONNECTIONS} connections of pooled gradients at SIGTERM: every accepted request answered 200 or 503, exit 0 within SHUTDOWN_TIMEOUT_MS`, async () => {
    const svc = await start({ SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) });
    const sized = await sizeMatmulGradient(svc.base, 130);
    const fates: Fate[] = [];
    let stopSending = false;
    const loop = async (): Promise<void> => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        while (!stopSending) {
          const fate: Fate = { sentAt: performance.now() };
          fates.push(fate);
          await sendOne(svc.port, agent, sized.body, fate);
          // A refused or reset connection ends this client; so does a clean close during the drain (the service asked it to go).
          if (fate.error || !svc.alive) break;
          if (fate.status === 503) await sleep(BACKOFF_MS * (1 + Math.random()));
        }
      } finally {
        agent.destroy();
      }
    };
    const clients = Array.from({ length: CONNECTIONS }, loop);
    await sleep(2_000); // the queue builds up
    const signalAt = performance.now();
    svc.child.kill('SIGTERM');
    const exit = await Promise.race([svc.exited, sleep(SHUTDOWN_TIMEOUT_MS + EXIT_SLACK_MS + 5_000).then(() => undefined)]);
    const exitMs = performance.now() - signalAt;
    stopSending = true;
    await Promise.race([Promise.all(clients), sleep(35_000)]);

    const accepted = fates.filter(
      (f) => f.headersAt !== undefined || (f.writtenAt !== undefined && f.writtenAt <= signalAt - ACCEPT_MARGIN_MS),
    );
    const pendingAtSignal = accepted.filter((f) => f.doneAt === undefined || f.doneAt > signalAt);
    const lost = accepted.filter((f) => f.error !== undefined || f.doneAt === undefined);
    const answered = fates.filter((f) => f.doneAt !== undefined);
    const wrongStatus = answered.filter((f) => f.status !== 200 && f.status !== 503);
    const no503RetryAfter = answered.filter((f) => f.status === 503 && !/^\d+$/.test(f.retryAfter ?? ''));
    const count = (fs: Fate[], key: (f: Fate) => string): string => {
      const m = new Map<string, number>();
      for (const f of fs) m.set(key(f), (m.get(key(f)) ?? 0) + 1);
      return [...m].map(([k, n]) => `${k}: ${n}`).join(', ');
    };
    const afterSignal = pendingAtSignal.filter((f) => f.doneAt !== undefined && !f.error);
    console.log(
      `[finding 7] n = ${sized.n}; ${fates.length} requests sent, ${accepted.length} accepted, ${pendingAtSignal.length} of them pending at SIGTERM; ` +
        `answered after the signal: ${count(afterSignal, (f) => String(f.status)) || 'none'}; accepted but lost: ${lost.length}${lost.length ? ` (${count(lost, (f) => f.error ?? 'unanswered')})` : ''}; ` +
        `exit ${exit ? `code ${exit.code}${exit.signal ? ` signal ${exit.signal}` : ''}` : 'none'} after ${exitMs.toFixed(0)} ms`,
    );

    expect(pendingAtSignal.length, 'requests in flight at SIGTERM (else nothing was tested)').toBeGreaterThan(0);
    expect.soft(lost.length, `accepted requests reset or unanswered (${count(lost, (f) => f.error ?? 'unanswered')})`).toBe(0);
    expect.soft(wrongStatus.length, `answers other than 200/503 (${count(wrongStatus, (f) => String(f.status))})`).toBe(0);
    expect.soft(no503RetryAfter.length, '503s without Retry-After').toBe(0);
    expect.soft(exit?.code, `exit code (signal ${exit?.signal})`).toBe(0);
    expect.soft(exitMs, 'exit within SHUTDOWN_TIMEOUT_MS + 2 s').toBeLessThan(SHUTDOWN_TIMEOUT_MS + EXIT_SLACK_MS);
  }, 90_000);
});
