// `npm start`: install and build what is missing, then run the service in this
// process (so SIGTERM reaches the server's own handler).
import { ensureBuilt, ensureInstalled, ensurePlayground } from './bootstrap.mjs';

ensureInstalled();
ensureBuilt();
ensurePlayground();
await import('../dist/server/main.js');
