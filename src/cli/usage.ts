/** The help texts: `derivd help`, and `derivd help COMMAND` (or COMMAND --help) for each command. */
import { OPERATIONS } from '../api/index.js';

const OUTPUT_FLAGS = `  --url URL         send the request to a derivd service at URL (POST /v1/...) instead of
                    computing in this process (DERIVD_API_KEY: the bearer key, if it needs one)
  --json            print the result envelope as JSON, exactly as the service answers it
  --precision N     significant digits in tables (default 6)
  --timeout-ms N    longest wait for the answer; in this process, the compute budget (default 60000)`;

const CALL_FLAGS = `  --mode MODE       auto, forward, reverse, fd or a registered engine (overrides the request's mode)
  --constant a,b    the inputs not differentiated (overrides the request's constant; "" for none)
${OUTPUT_FLAGS}`;

const operationHelp = (op: string): string => `usage: derivd ${op} FILE|- [flags]

Runs ${op} on the request in FILE (- reads stdin): the JSON body of POST /v1/${op}
({"graph": ..., "args": ..., ...}; docs/graph-format.md). Prints the values and
derivative blocks as tables, then the engine, why it ran and the timings.

${CALL_FLAGS}
`;

export const HELP: Record<string, string> = {
  '': `derivd: exact derivatives of JSON expression graphs

usage:
  derivd serve [--port N] [--host ADDR]      run the HTTP service (as npm start)
  derivd OPERATION FILE|- [flags]            run one call; OPERATION is one of
                                             ${OPERATIONS.join(', ')}
  derivd eval FORMULA --at x=0.5 [--wrt x]   a formula at a point, and its derivatives
  derivd explain FILE|- [flags]              the plan of a call: engine, reason, active nodes
  derivd help [COMMAND]                      this text, or a command's
  derivd --version

Tables by default, --json for machines. Exit status: 0 done, 2 bad input (the
problem and each path: message on stderr), 1 any other failure.
`,
  serve: `usage: derivd serve [--port N] [--host ADDR]

Runs the HTTP service in this process, as npm start does. Every setting is read
from the environment (README: Configuration); --port and --host set PORT and HOST.
`,
  eval: `usage: derivd eval FORMULA --at NAME=VALUE... [--wrt a,b] [--op OPERATION] [flags]

Evaluates a formula (the graph format's define: sin(x)*exp(x), x^2 + y, ...) and
differentiates it. Each --at gives an input: a scalar (x=0.5), a vector (y=1,2,3)
or a nested JSON array (A=[[1,2],[3,4]]). --wrt names the inputs to differentiate
(the others are constant); --op picks the operation (default: evaluate, or jacobian
with --wrt). jvp, vjp and hvp take their vector as --vector NAME=VALUE (tangents per
input, cotangents for the output f, vector entries per input). The output is named f.

  --at NAME=VALUE   an input and its value (repeatable)
  --wrt a,b         the inputs to differentiate (repeatable; default with --op: all)
  --op OPERATION    ${OPERATIONS.join(', ')}
  --vector N=VALUE  jvp's tangents, vjp's cotangents or hvp's vector (repeatable)
  --mode MODE       auto, forward, reverse, fd or a registered engine
${OUTPUT_FLAGS}
`,
  explain: `usage: derivd explain FILE|- [--op OPERATION] [flags]

Explains the call in FILE (- reads stdin) without running it: the engine auto
would choose and why, how many directions it propagates, and every node with its
shape and whether it carries derivatives. --op picks the operation (default: the
library's, jacobian). With --url it asks POST /v1/explain.

  --op OPERATION    ${OPERATIONS.join(', ')}
${CALL_FLAGS}
`,
  ...Object.fromEntries(OPERATIONS.map((op) => [op, operationHelp(op)])),
};
