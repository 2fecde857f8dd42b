/**
 * One server of bench/http-compare.ts, in a process of its own: derivd built from
 * the tree at argv[2] (LOG_LEVEL warn, the defaults otherwise), or with argv[2]
 * "bare", the bare Fastify route of bench/http.ts. Prints one JSON line,
 * `{"origin": "http://127.0.0.1:<port>"}`, once it listens; stops on SIGTERM.
 */
import Fastify, { type FastifyInstance } from 'fastify';

const [root] = process.argv.slice(2);
let app: FastifyInstance;
if (root === 'bare') {
  app = Fastify({ logger: false });
  app.post('/v1/jacobian', async (req) => (req.body as { args: { d: number[] } }).args.d);
} else {
  const { DEFAULT_CONFIG } = await import(`${root}/src/server/config.ts`);
  const { buildApp } = await import(`${root}/src/server/app.ts`);
  ({ app } = (await buildApp({ ...DEFAULT_CONFIG, logLevel: 'warn' })) as { app: FastifyInstance });
}
const origin = await app.listen({ port: 0, host: '127.0.0.1' });
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
process.stdout.write(`${JSON.stringify({ origin })}\n`);
