#!/usr/bin/env node
// The derivd command: install and build what is missing (as npm start does), then
// run src/cli/main.ts's build. Its exit status is the command's (0, 1 or 2).
import { ensureBuilt, ensureInstalled } from '../scripts/bootstrap.mjs';

ensureInstalled();
ensureBuilt();
const argv = process.argv.slice(2);
// A reader that stops early (derivd jacobian r.json | head) is not a failure; the service's log is another matter.
if (argv[0] !== 'serve') process.stdout.on('error', (err) => (err.code === 'EPIPE' ? process.exit(0) : Promise.reject(err)));
const { main } = await import('../dist/cli/main.js');
process.exitCode = await main(argv);
