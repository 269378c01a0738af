// load.test.mjs — bounded load with faults: LOAD_CLIENTS (32) concurrent streaming clients for
// LOAD_SECONDS (20) with random disconnects. Every completed response must equal the solo,
// non-streaming answer for its seed (batching and cancellation never change a sequence's
// tokens), no request may fail, the engine must end idle, and the server's memory must return
// near its level after a warm-up round.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, modelId } from './server.mjs';

const CLIENTS = Number(process.env.LOAD_CLIENTS || 32);
const SECONDS = Number(process.env.LOAD_SECONDS || 20);
const SEEDS = 12;

let server, model;
before(async () => {
  server = await startServer(['--ctx-size', '512', '--parallel', '8', '--max-queued', '64']);
  model = await modelId(server.url);
});
after(async () => { assert.equal(await server.stop(), 0); });

const request = (seed) => ({
  model, messages: [{ role: 'user', content: `question ${seed % 3}` }], seed, max_tokens: 16 + (seed % 5) * 8,
});

async function solo(seed) {
  const r = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify(request(seed)) });
  assert.equal(r.status, 200);
  const m = (await r.json()).choices[0].message;
  return { content: m.content, reasoning: m.reasoning_content || '' };
}

// One streaming request; `abortAfterMs` >= 0 disconnects after that long. Resolves with the
// text, or null when it was aborted.
async function streamOnce(seed, abortAfterMs) {
  const controller = new AbortController();
  const timer = abortAfterMs >= 0 ? setTimeout(() => controller.abort(), abortAfterMs) : null;
  try {
    const r = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST', body: JSON.stringify({ ...request(seed), stream: true }), signal: controller.signal });
    if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${await r.text()}`);
    const reader = r.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '', content = '', reasoning = '', done = false;
    for (;;) {
      const { value, done: end } = await reader.read();
      if (end) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const line = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        if (!line.startsWith('data: ')) continue;
        if (line === 'data: [DONE]') { done = true; continue; }
        const chunk = JSON.parse(line.slice(6));
        if (chunk.error) throw new Error(chunk.error.message);
        const d = chunk.choices[0]?.delta || {};
        content += d.content || '';
        reasoning += d.reasoning_content || '';
      }
    }
    if (!done) throw new Error('stream ended without [DONE]');
    return { content, reasoning };
  } catch (e) {
    if (e.name === 'AbortError') return null;
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

async function round(seconds, expected, stats) {
  const end = Date.now() + seconds * 1000;
  let pick = 0;
  await Promise.all(Array.from({ length: CLIENTS }, async (_, worker) => {
    while (Date.now() < end) {
      const seed = (worker * 7 + pick++) % SEEDS;
      const abort = Math.random() < 0.3 ? Math.floor(Math.random() * 200) : -1;
      const got = await streamOnce(seed, abort);
      if (got === null) { stats.aborted++; continue; }
      stats.completed++;
      assert.deepEqual(got, expected[seed], `seed ${seed}: a streamed answer under load differs from the solo answer`);
    }
  }));
}

async function metric(name) {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)[1]);
}

test(`${CLIENTS} streaming clients for ${SECONDS} s with random disconnects`, async () => {
  const expected = [];
  for (let s = 0; s < SEEDS; s++) expected.push(await solo(s));
  const warm = { completed: 0, aborted: 0 };
  await round(Math.min(5, SECONDS / 4), expected, warm);
  await new Promise((r) => setTimeout(r, 500));
  const baseline = server.rssKiB();
  const stats = { completed: 0, aborted: 0 };
  const t0 = Date.now();
  await round(SECONDS, expected, stats);
  const elapsed = (Date.now() - t0) / 1000;
  // Idle again: no request left running or queued after the clients went away.
  let active = -1, queued = -1;
  for (let i = 0; i < 50 && (active !== 0 || queued !== 0); i++) {
    active = await metric('whale_requests_active');
    queued = await metric('whale_requests_queued');
    if (active || queued) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(active, 0);
  assert.equal(queued, 0);
  await new Promise((r) => setTimeout(r, 500));
  const after = server.rssKiB();
  console.log(`load: ${stats.completed} completed, ${stats.aborted} disconnected in ${elapsed.toFixed(1)} s ` +
    `(${(stats.completed / elapsed).toFixed(1)} responses/s); RSS ${baseline} KiB after warm-up, ${after} KiB after`);
  assert.ok(stats.completed >= CLIENTS, 'enough responses completed to mean something');
  assert.ok(stats.aborted > 0, 'some clients disconnected');
  // AddressSanitizer keeps freed memory in quarantine, so RSS says nothing about leaks there
  // (LeakSanitizer checks those at exit instead).
  if (!process.env.ASAN_OPTIONS) assert.ok(after <= baseline * 1.25 + 16 * 1024, `RSS grew from ${baseline} to ${after} KiB`);
});
