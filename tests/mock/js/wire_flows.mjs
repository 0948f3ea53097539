// Drives the official JS client (@inferencesh/sdk, unchanged but for its base URL) through the flows
// tests/test_official_clients.py checks, and prints one JSON object: flow name -> what it observed.
//
//   node --import ./tests/js/register.mjs tests/js/wire_flows.mjs BASE_URL [API_KEY]
//
// Every flow is bounded by FLOW_TIMEOUT_MS and the whole script by SCRIPT_TIMEOUT_MS; a flow that
// throws or times out is reported as {"error": ...} rather than ending the script.
import { inference, InferenceError } from '@inferencesh/sdk';

const FLOW_TIMEOUT_MS = 8000;
const SCRIPT_TIMEOUT_MS = 40000;
const POLL_INTERVAL_MS = 50;

const [baseUrl, apiKey = 'inf_test_key'] = process.argv.slice(2);
if (!baseUrl || !/^http:\/\/127\.0\.0\.1:\d+$/.test(baseUrl)) {
  console.error('usage: wire_flows.mjs http://127.0.0.1:PORT [API_KEY]');
  process.exit(2);
}
setTimeout(() => {
  console.error(`wire_flows.mjs: still running after ${SCRIPT_TIMEOUT_MS} ms`);
  process.exit(3);
}, SCRIPT_TIMEOUT_MS).unref();

const streaming = inference({ apiKey, baseUrl });
const polling = inference({ apiKey, baseUrl, stream: false, pollIntervalMs: POLL_INTERVAL_MS });

function withTimeout(promise, name) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${name}: no answer within ${FLOW_TIMEOUT_MS} ms`)), FLOW_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** What a rejected call looked like: the error class, its HTTP status and problem type, its message. */
function failure(error) {
  let problemType = null;
  if (error instanceof InferenceError && error.responseBody) {
    try {
      problemType = JSON.parse(error.responseBody).type ?? null;
    } catch {
      problemType = null;
    }
  }
  return {
    name: error?.name ?? null,
    isInferenceError: error instanceof InferenceError,
    statusCode: error?.statusCode ?? null,
    problemType,
    message: String(error?.message ?? error),
  };
}

async function rejectionOf(promise) {
  try {
    const value = await promise;
    return { resolved: value ?? null };
  } catch (error) {
    return failure(error);
  }
}

const flows = {
  // run and wait, the default transport (NDJSON stream of GET /tasks/{id}/stream)
  async run_wait_stream() {
    return { result: await streaming.run({ app: 'infsh/echo', input: { prompt: 'js stream' } }) };
  },

  // run and wait by polling GET /tasks/{id}/status
  async run_wait_poll() {
    return { result: await polling.run({ app: 'infsh/echo', input: { prompt: 'js poll' } }) };
  },

  async run_failed() {
    return streaming.run({ app: 'infsh/fail', input: { message: 'js boom' } }).then(
      (value) => ({ resolved: value }),
      (error) => failure(error),
    );
  },

  async run_no_wait_then_get() {
    const created = await streaming.run({ app: 'infsh/echo', input: { n: 3 } }, { wait: false });
    const fetched = await streaming.tasks.get(created.id);
    const done = await streaming.tasks.watch(created, { stream: true }).done;
    return { created, fetched: fetched.data, done };
  },

  async cancel() {
    const created = await streaming.run({ app: 'infsh/sleep', input: { seconds: 5 } }, { wait: false });
    const watching = rejectionOf(streaming.tasks.watch(created, { stream: true }).done);
    const polled = rejectionOf(polling.tasks.watch(created, { stream: false }).done);
    const cancelled = await streaming.cancel(created.id);
    const stream = await watching;
    const poll = await polled;
    const after = await streaming.tasks.get(created.id);
    return { created, cancel: cancelled.data, stream, poll, after: after.data };
  },

  async session() {
    const first = await streaming.run({ app: 'infsh/echo', input: { step: 1 }, session: 'new' });
    const sessionId = first.session_id;
    const second = await streaming.run({ app: 'infsh/echo', input: { step: 2 }, session: sessionId });
    const keepalive = await streaming.sessions.keepalive(sessionId);
    const ended = await streaming.sessions.end(sessionId);
    const info = await streaming.sessions.get(sessionId);
    const afterEnd = await rejectionOf(
      streaming.run({ app: 'infsh/echo', input: { step: 3 }, session: sessionId }, { wait: false }),
    );
    return { first, second, keepalive: keepalive.data, ended: ended.data, info: info.data, afterEnd };
  },

  async unknown_task() {
    return rejectionOf(streaming.tasks.get('zzzzzzzzzzzzzzzzzzzzzzzzzz'));
  },
};

const results = {};
for (const [name, flow] of Object.entries(flows)) {
  try {
    results[name] = await withTimeout(flow(), name);
  } catch (error) {
    results[name] = { error: failure(error) };
  }
}
process.stdout.write(JSON.stringify(results) + '\n');
process.exit(0);
