/**
 * The service's entry point, and the only module that reads the environment,
 * listens, or handles signals. On SIGTERM or SIGINT: /readyz turns 503, the
 * listener closes (new connections are refused), in-flight requests finish, queued
 * ones get 503, and the process exits 0 within SHUTDOWN_TIMEOUT_MS (shutdown.ts
 * cuts what would overrun it); exit 1 only if even that fails.
 */
import closeWithGrace from 'close-with-grace';
import { buildApp } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { loadEngineModules } from './engine-modules.js';
import { shutdown } from './shutdown.js';

let config: Config;
try {
  config = loadConfig(process.env);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`derivd: ${err.message}\n`);
  process.exit(2);
}

try {
  await loadEngineModules(config.engineModules);
} catch (err) {
  process.stderr.write(`derivd: ENGINE_MODULES: ${(err as Error).message}\n`);
  process.exit(2);
}

const { app, pool, metricsServer } = await buildApp(config);

closeWithGrace({ delay: config.shutdownTimeoutMs }, async ({ signal, err }) => {
  if (err) app.log.error({ err }, 'shutting down after an error');
  else app.log.info({ signal }, 'shutting down: draining in-flight requests');
  await shutdown({ app, pool }, config.shutdownTimeoutMs);
});

try {
  await app.listen({ port: config.port, host: config.host });
  // METRICS_PORT: /metrics on its own listener, once the service listens (app.close() closes it).
  await metricsServer?.listen({ port: config.metricsPort, host: config.host });
} catch (err) {
  app.log.error({ err }, 'could not listen');
  process.exit(1);
}
// Start the worker threads now rather than on the first heavy request.
pool?.start();
app.log.info(
  {
    workers: config.workers,
    inlineMaxCostMs: config.inlineMaxCostMs,
    computeBudgetMs: config.computeBudgetMs,
    maxQueue: config.maxQueue,
    workerHeapMb: config.workerHeapMb,
    memoryBudgetMb: config.memoryBudgetMb,
  },
  pool ? 'compute pool started' : 'compute pool off: every request runs inline',
);
