// sse_curl.test.mjs — the raw bytes of `whale serve`'s server-sent events as curl receives them:
// headers, "data: <json>\n\n" framing, the closing "data: [DONE]\n\n", no compression of
// the stream even when the client accepts it, and error bodies for curl's default form posts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startServer, missingPrerequisite, modelId } from './server.mjs';

const run = promisify(execFile);
try { await run('curl', ['--version']); } catch { missingPrerequisite('curl is not installed'); }

let server, model;
before(async () => {
  server = await startServer(['--ctx-size', '512']);
  model = await modelId(server.url);
});
after(async () => { assert.equal(await server.stop(), 0); });

async function curl(path, body, extra = []) {
  const { stdout } = await run('curl', ['-sS', '-N', '-D', '-', ...extra, '-H', 'Content-Type: application/json',
    '--data-binary', JSON.stringify(body), `${server.url}${path}`], { maxBuffer: 1 << 26, encoding: 'latin1' });
  const split = stdout.indexOf('\r\n\r\n');
  return { head: stdout.slice(0, split), body: Buffer.from(stdout.slice(split + 4), 'latin1').toString('utf8') };
}

function checkFraming(body) {
  assert.ok(body.endsWith('data: [DONE]\n\n'), `ends with [DONE]: ${JSON.stringify(body.slice(-80))}`);
  const events = body.split('\n\n');
  assert.equal(events.pop(), '');  // the text ends with a blank line
  assert.equal(events.pop(), 'data: [DONE]');
  const out = [];
  for (const e of events) {
    if (e.startsWith(':')) continue;  // keep-alive comment
    assert.match(e, /^data: \{/, `event: ${JSON.stringify(e.slice(0, 80))}`);
    assert.ok(!e.includes('\n'), 'one data line per event');
    out.push(JSON.parse(e.slice(6)));
  }
  return out;
}

test('chat stream: headers, framing, [DONE], usage chunk last', async () => {
  const { head, body } = await curl('/v1/chat/completions', {
    model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 12, seed: 1, stream: true,
    stream_options: { include_usage: true } }, ['--compressed']);
  assert.match(head, /^HTTP\/1\.1 200/);
  assert.match(head, /\r\nContent-Type: text\/event-stream/i);
  assert.match(head, /\r\nTransfer-Encoding: chunked/i);
  assert.match(head, /\r\nCache-Control: no-cache/i);
  assert.doesNotMatch(head, /Content-Encoding/i, 'a compressed stream would arrive in bursts');
  const events = checkFraming(body);
  assert.ok(events.length >= 3);
  const id = events[0].id;
  for (const e of events) {
    assert.equal(e.id, id);
    assert.equal(e.object, 'chat.completion.chunk');
  }
  const usage = events.at(-1);
  assert.deepEqual(usage.choices, []);
  assert.ok(usage.usage.completion_tokens >= 1 && usage.usage.completion_tokens <= 12);
  const finishes = events.flatMap((e) => e.choices.map((c) => c.finish_reason)).filter((f) => f !== null);
  assert.equal(finishes.length, 1);
});

test('text completion stream and n=2 interleaved choices', async () => {
  const { body } = await curl('/v1/completions', { model, prompt: 'abc', max_tokens: 8, seed: 2, n: 2, stream: true });
  const events = checkFraming(body);
  const text = ['', ''];
  for (const e of events) {
    assert.equal(e.object, 'text_completion');
    for (const c of e.choices) text[c.index] += c.text;
  }
  const solo = async (seed) => (await (await fetch(`${server.url}/v1/completions`, {
    method: 'POST', body: JSON.stringify({ model, prompt: 'abc', max_tokens: 8, seed }) })).json()).choices[0].text;
  assert.equal(text[0], await solo(2));
  assert.equal(text[1], await solo(3));
});

test('curl form posts and bad bodies get OpenAI-shaped 4xx', async () => {
  const { stdout } = await run('curl', ['-sS', '-w', '\n%{http_code}', '-d', 'hello=world', `${server.url}/v1/chat/completions`]);
  const [json, code] = stdout.split('\n');
  assert.equal(code, '400');
  assert.equal(JSON.parse(json).error.code, 'invalid_json');
  const { stdout: nf } = await run('curl', ['-sS', '-w', '\n%{http_code}', `${server.url}/v2/nothing`]);
  assert.equal(nf.split('\n')[1], '404');
  assert.match(JSON.parse(nf.split('\n')[0]).error.message, /\/v2\/nothing/);
});
