#!/usr/bin/env node
// The derivd command: install and build what is missing (as npm start does), then
// run src/cli/main.ts's build. Its exit status is the command's (0, 1 or 2).
import { ensureBuilt, ensureInstalled } from '../scripts/bootstrap.mjs';

ensureInstalled();
ensureBuilt();
const { main } = await import('../dist/cli/main.js');
process.exitCode = await main(process.argv.slice(2));
