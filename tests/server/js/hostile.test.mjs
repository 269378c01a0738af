// hostile.test.mjs — malformed and hostile traffic against `whale serve` over raw sockets:
// fuzzed JSON, huge numbers, invalid UTF-8, broken HTTP, slowloris-style stalled bodies.
// Every request is answered with a 4xx (or a 2xx for a mutation that is still valid) or
// dropped — never a 5xx, never a crash — and normal clients are served throughout.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServer, modelId } from './server.mjs';

let server, model, port;
before(async () => {
  server = await startServer(['--ctx-size', '256', '--timeout', '2', '--max-body', '65536']);
  model = await modelId(server.url);
  port = Number(new URL(server.url).port);
});
after(async () => {
  assert.equal(server.proc.exitCode, null, 'the server is still running');
  assert.equal(await server.stop(), 0);
});

// Sends raw bytes; resolves with the status code (0 when the server closed without answering).
function raw(bytes, { waitMs = 10_000 } = {}) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let got = Buffer.alloc(0);
    const done = () => {
      sock.destroy();
      const m = /^HTTP\/1\.1 (\d{3})/.exec(got.toString('latin1'));
      resolve({ status: m ? Number(m[1]) : 0, text: got.toString('utf8') });
    };
    sock.setTimeout(waitMs, done);
    sock.on('data', (d) => {
      got = Buffer.concat([got, d]);
      if (/\r\n\r\n/.test(got.toString('latin1'))) {
        const head = got.toString('latin1');
        const len = /content-length: (\d+)/i.exec(head);
        if (len && got.length >= head.indexOf('\r\n\r\n') + 4 + Number(len[1])) done();
      }
    });
    sock.on('error', done);
    sock.on('end', done);
    sock.write(bytes);
  });
}

const post = (body, extraHeaders = '') => {
  const b = Buffer.isBuffer(body) ? body : Buffer.from(body);
  return Buffer.concat([Buffer.from(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${b.length}\r\nConnection: close\r\n${extraHeaders}\r\n`), b]);
};

async function stillServes() {
  const r = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST',
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'ok?' }], max_tokens: 2, seed: 1 }) });
  assert.equal(r.status, 200);
}

// A small seeded generator, so a failure names a reproducible case.
function rng(seed) {
  let s = seed >>> 0;
  return () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32; };
}

test('fuzzed JSON bodies: 2xx or 4xx, never 5xx', async () => {
  const valid = JSON.stringify({ model: 'MODEL', messages: [{ role: 'user', content: 'hello' }], max_tokens: 3,
    temperature: 0.5, stop: ['x'], logit_bias: { 5: 1 }, n: 1, seed: 3 });
  const rand = rng(12345);
  const alphabet = '{}[]",:0123456789.eE+-truefalsnul\\u\u00ff\u0000 ';
  for (let i = 0; i < 300; i++) {
    let body = valid.replace('MODEL', model);
    const edits = 1 + Math.floor(rand() * 4);
    for (let k = 0; k < edits; k++) {
      const at = Math.floor(rand() * body.length);
      const op = rand();
      if (op < 0.3) body = body.slice(0, at) + body.slice(at + 1);
      else if (op < 0.6) body = body.slice(0, at) + alphabet[Math.floor(rand() * alphabet.length)] + body.slice(at);
      else if (op < 0.8) body = body.slice(0, at);
      else body = body.slice(0, at) + body.slice(at, at + 8).repeat(3) + body.slice(at + 8);
    }
    const r = await raw(post(body));
    assert.ok((r.status >= 200 && r.status < 300) || (r.status >= 400 && r.status < 500),
      `case ${i}: ${JSON.stringify(body)} -> ${r.status}`);
    if (r.status >= 400) assert.match(r.text, /"error":\{/, `case ${i}: error body`);
  }
  await stillServes();
});

test('huge numbers, wrong types and invalid UTF-8 are 400', async () => {
  const base = `"model":"${model}","messages":[{"role":"user","content":"x"}]`;
  const bodies = [
    `{${base},"max_tokens":1e308}`, `{${base},"max_tokens":99999999999999999999999999}`,
    `{${base},"seed":1e30}`, `{${base},"temperature":-1e308}`, `{${base},"temperature":1e999}`,
    `{${base},"n":100000000000}`, `{${base},"logit_bias":{"1":1e400}}`, `{${base},"top_k":-9223372036854775809}`,
    `{${base},"top_logprobs":1e3,"logprobs":true}`, `{${base},"stop":[${'"a",'.repeat(1000)}"a"]}`,
    `{${base},"messages":{"role":"user"}}`, `{"model":["${model}"]}`, `{${base},"stream":null,"n":"2"}`,
    '[' .repeat(100000), '{"a":' .repeat(20000), '',
  ];
  for (const b of bodies) {
    const r = await raw(post(b));
    assert.ok(r.status === 400 || r.status === 413, `${b.slice(0, 80)} -> ${r.status}`);
  }
  for (const bad of [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]]) {
    const body = Buffer.concat([Buffer.from(`{"model":"${model}","messages":[{"role":"user","content":"a`),
      Buffer.from(bad), Buffer.from('b"}]}')]);
    const r = await raw(post(body));
    assert.equal(r.status, 400, `invalid UTF-8 ${bad}`);
  }
  await stillServes();
});

test('oversized bodies get 413; broken HTTP gets 4xx or a closed socket', async () => {
  const big = JSON.stringify({ model, messages: [{ role: 'user', content: 'x'.repeat(100_000) }] });
  assert.equal((await raw(post(big))).status, 413);
  const cases = [
    'GARBAGE\r\n\r\n', 'POST /v1/chat/completions HTTP/1.1\r\nContent-Length: -5\r\n\r\n',
    'POST /v1/chat/completions HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n',
    'POST /v1/chat/completions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n',
    `GET /${'a'.repeat(20000)} HTTP/1.1\r\n\r\n`, 'POST /v1/chat/completions HTTP/9.9\r\n\r\n',
  ];
  for (const c of cases) {
    const r = await raw(Buffer.from(c), { waitMs: 5000 });
    assert.ok(r.status === 0 || (r.status >= 400 && r.status < 500), `${c.slice(0, 60)} -> ${r.status}`);
  }
  await stillServes();
});

test('slowloris: stalled partial requests are dropped while others are served', async () => {
  const stalled = [];
  for (let i = 0; i < 16; i++) {
    const head = `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n{"model":`;
    stalled.push(raw(Buffer.from(i % 2 ? head : head.slice(0, 30)), { waitMs: 15_000 }));
  }
  await stillServes();  // not blocked by the stalled connections
  const started = Date.now();
  const results = await Promise.all(stalled);
  for (const r of results) assert.ok(r.status === 0 || (r.status >= 400 && r.status < 500), `stalled -> ${r.status}`);
  assert.ok(Date.now() - started < 12_000, 'stalled connections are dropped after --timeout');
  await stillServes();
});
