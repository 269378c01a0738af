// sdk.test.mjs — `whale serve` driven by the official OpenAI SDK (npm `openai`): chat and text
// completions, streaming with reasoning_content deltas, n and seeds, reasoning formats,
// logprobs, usage, the SDK's error classes for each failure, API keys, 429, SIGTERM.
// The model has random weights, so answers are checked against the server's own solo,
// non-streaming answer for the same seed (determinism), never against hard-coded text.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, importOrSkip, modelId } from './server.mjs';

const { default: OpenAI } = await importOrSkip('openai');

let server, client, model;
const extra = (r) => r;  // whale's extra fields (reasoning_content) are plain properties

before(async () => {
  server = await startServer(['--parallel', '4', '--ctx-size', '512']);
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  model = await modelId(server.url);
});
after(async () => {
  assert.equal(await server.stop('SIGTERM'), 0, 'graceful exit code');
});

const ask = (extraBody = {}) => ({
  model, messages: [{ role: 'user', content: 'What is 2+2?' }], max_tokens: 24, seed: 11, ...extraBody,
});

function checkUsage(u, maxTokens) {
  assert.ok(u.prompt_tokens > 0);
  assert.ok(u.completion_tokens >= 1 && u.completion_tokens <= maxTokens, `completion_tokens ${u.completion_tokens}`);
  assert.equal(u.total_tokens, u.prompt_tokens + u.completion_tokens);
  assert.ok(u.completion_tokens_details.reasoning_tokens <= u.completion_tokens);
  assert.equal(typeof u.prompt_tokens_details.cached_tokens, 'number');
}

async function streamed(params) {
  const stream = await client.chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } });
  const out = { content: '', reasoning: '', finish: null, usage: null, chunks: 0, roles: [] };
  for await (const chunk of stream) {
    out.chunks++;
    if (chunk.usage) out.usage = chunk.usage;
    for (const c of chunk.choices) {
      if (c.delta.role) out.roles.push(c.delta.role);
      if (c.delta.content) out.content += c.delta.content;
      if (extra(c.delta).reasoning_content) out.reasoning += c.delta.reasoning_content;
      if (c.finish_reason) out.finish = c.finish_reason;
    }
  }
  return out;
}

test('models.list names the served model', async () => {
  const list = [];
  for await (const m of client.models.list()) list.push(m.id);
  assert.deepEqual(list, [model]);
  assert.equal((await client.models.retrieve(model)).id, model);
  await assert.rejects(client.models.retrieve('gpt-4'), (e) => e instanceof OpenAI.NotFoundError && e.param === 'model');
});

test('chat completion: shape, usage, determinism per seed', async () => {
  const a = await client.chat.completions.create(ask());
  const b = await client.chat.completions.create(ask());
  assert.equal(a.object, 'chat.completion');
  assert.equal(a.choices.length, 1);
  const m = a.choices[0].message;
  assert.equal(m.role, 'assistant');
  assert.equal(typeof m.content, 'string');
  assert.ok(['stop', 'length'].includes(a.choices[0].finish_reason));
  checkUsage(a.usage, 24);
  if (a.choices[0].finish_reason === 'length') assert.equal(a.usage.completion_tokens, 24);
  // The demo model's template opens <think>: output starts as reasoning.
  assert.ok((extra(m).reasoning_content || '').length > 0 || m.content.length > 0);
  if (extra(m).reasoning_content) assert.ok(a.usage.completion_tokens_details.reasoning_tokens > 0);
  assert.equal(b.choices[0].message.content, m.content);
  assert.equal(extra(b.choices[0].message).reasoning_content, extra(m).reasoning_content);
  // The second may reuse the first's prompt from the prefix cache; the counts are the same.
  assert.equal(b.usage.prompt_tokens, a.usage.prompt_tokens);
  assert.equal(b.usage.completion_tokens, a.usage.completion_tokens);
});

test('a shared prompt prefix is reported as cached_tokens and changes nothing else', async () => {
  const system = { role: 'system', content: 'You are a careful assistant. '.repeat(8) };
  const first = await client.chat.completions.create(ask({ messages: [system, { role: 'user', content: 'one' }] }));
  const second = await client.chat.completions.create(ask({ messages: [system, { role: 'user', content: 'two' }] }));
  assert.ok(second.usage.prompt_tokens_details.cached_tokens > 0, JSON.stringify(second.usage));
  assert.ok(second.usage.prompt_tokens_details.cached_tokens < second.usage.prompt_tokens);
  assert.ok(first.usage.prompt_tokens > 60);
});

test('streaming gives the same text, reasoning and usage as the whole response', async () => {
  const whole = await client.chat.completions.create(ask({ seed: 5 }));
  const s = await streamed(ask({ seed: 5 }));
  assert.deepEqual(s.roles, ['assistant']);
  assert.equal(s.content, whole.choices[0].message.content);
  assert.equal(s.reasoning, extra(whole.choices[0].message).reasoning_content || '');
  assert.equal(s.finish, whole.choices[0].finish_reason);
  for (const k of ['prompt_tokens', 'completion_tokens', 'total_tokens']) assert.equal(s.usage[k], whole.usage[k]);
  assert.equal(s.usage.completion_tokens_details.reasoning_tokens, whole.usage.completion_tokens_details.reasoning_tokens);
});

test('n choices run with seeds seed, seed+1, …', async () => {
  const both = await client.chat.completions.create(ask({ n: 2, seed: 20 }));
  assert.equal(both.choices.length, 2);
  for (const i of [0, 1]) {
    const solo = await client.chat.completions.create(ask({ seed: 20 + i }));
    assert.equal(both.choices[i].index, i);
    assert.equal(both.choices[i].message.content, solo.choices[0].message.content);
    assert.equal(extra(both.choices[i].message).reasoning_content, extra(solo.choices[0].message).reasoning_content);
  }
});

test('reasoning formats: separate, inline, none', async () => {
  const sep = (await client.chat.completions.create(ask({ seed: 8 }))).choices[0].message;
  const inl = (await client.chat.completions.create(ask({ seed: 8, reasoning_format: 'inline' }))).choices[0].message;
  const none = (await client.chat.completions.create(ask({ seed: 8, reasoning_format: 'none' }))).choices[0].message;
  const r = extra(sep).reasoning_content || '';
  // Inline keeps the raw text; apart, the newlines R1 writes after </think> are not content.
  const prefix = r ? `<think>${r}</think>` : '';
  assert.ok(inl.content.startsWith(prefix));
  assert.equal(r ? inl.content.slice(prefix.length).replace(/^[\r\n]+/, '') : inl.content, sep.content);
  assert.equal(extra(inl).reasoning_content, undefined);
  assert.equal(none.content, sep.content);
  assert.equal(extra(none).reasoning_content, undefined);
});

test('max_thinking_tokens closes the thinking and the model answers', async () => {
  const r = await client.chat.completions.create(ask({ max_tokens: 40, max_thinking_tokens: 5, logit_bias: { 257: -100 } }));
  // 5 thinking tokens, then whale feeds "\n</think>\n\n" (counted as generated, not reasoning).
  assert.ok(r.usage.completion_tokens_details.reasoning_tokens <= 5 + 4, JSON.stringify(r.usage));
  const content = r.choices[0].message.content;
  assert.ok(content.length > 0, 'an answer follows the closed thinking');
  assert.ok(!content.startsWith('\n'), 'the newlines after </think> are not part of the answer');
  await assert.rejects(client.chat.completions.create(ask({ max_thinking_tokens: -1 })),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'max_thinking_tokens');
});

test('response_format json_object: the answer parses as one JSON object', async () => {
  let parsedCount = 0;
  for (const seed of [1, 2, 3]) {
    const r = await client.chat.completions.create(ask({
      seed, max_tokens: 400, max_thinking_tokens: 4, response_format: { type: 'json_object' } }));
    const c = r.choices[0];
    if (c.finish_reason !== 'stop') continue;  // ran out of tokens mid-object: nothing to parse
    const parsed = JSON.parse(c.message.content);
    assert.equal(typeof parsed, 'object');
    assert.ok(parsed !== null && !Array.isArray(parsed), c.message.content);
    parsedCount++;
  }
  assert.ok(parsedCount >= 1, 'at least one answer completed its object');
});

test('earlier reasoning is not fed back: the same prompt with or without it', async () => {
  const history = (assistant) => [
    { role: 'user', content: 'hi' }, assistant, { role: 'user', content: 'and now?' }];
  const plain = await client.chat.completions.create(ask({ messages: history({ role: 'assistant', content: 'hello' }) }));
  const withThinking = await client.chat.completions.create(ask({
    messages: history({ role: 'assistant', content: '<think>long private thoughts</think>hello', reasoning_content: 'more' }),
  }));
  assert.equal(withThinking.usage.prompt_tokens, plain.usage.prompt_tokens);
  assert.equal(withThinking.choices[0].message.content, plain.choices[0].message.content);
});

test('text completions, with logprobs', async () => {
  const r = await client.completions.create({ model, prompt: 'Once upon a time', max_tokens: 6, seed: 3, logprobs: 2 });
  assert.equal(r.object, 'text_completion');
  assert.equal(typeof r.choices[0].text, 'string');
  checkUsage(r.usage, 6);
  const lp = r.choices[0].logprobs;
  assert.equal(lp.tokens.length, r.usage.completion_tokens);
  assert.equal(lp.token_logprobs.length, lp.tokens.length);
  for (const v of lp.token_logprobs) assert.ok(v <= 0, `logprob ${v}`);
  for (const t of lp.top_logprobs) assert.ok(Object.keys(t).length <= 2);
});

test('chat logprobs: one entry per token, top alternatives sorted', async () => {
  const r = await client.chat.completions.create(ask({ logprobs: true, top_logprobs: 3, max_tokens: 8 }));
  const content = r.choices[0].logprobs.content;
  assert.equal(content.length, r.usage.completion_tokens);
  for (const t of content) {
    assert.ok(t.logprob <= 0);
    assert.ok(Array.isArray(t.bytes));
    assert.equal(t.top_logprobs.length, 3);
    for (let k = 1; k < t.top_logprobs.length; k++) assert.ok(t.top_logprobs[k - 1].logprob >= t.top_logprobs[k].logprob);
  }
});

test('errors arrive as the SDK error classes with status, param and message', async () => {
  await assert.rejects(client.chat.completions.create(ask({ model: 'no-such-model' })),
    (e) => e instanceof OpenAI.NotFoundError && e.status === 404 && e.param === 'model');
  await assert.rejects(client.chat.completions.create(ask({ temperature: 7 })),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'temperature' && /temperature/.test(e.message));
  await assert.rejects(client.chat.completions.create(ask({ temperature: 'warm' })),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'temperature');
  await assert.rejects(client.chat.completions.create(ask({ messages: [{ role: 'user', content: 'x '.repeat(5000) }] })),
    (e) => e instanceof OpenAI.BadRequestError && e.code === 'context_length_exceeded' && /\d+ tokens/.test(e.message));
  await assert.rejects(client.chat.completions.create(ask({ messages: [] })),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'messages');
  // Still healthy afterwards.
  const ok = await client.chat.completions.create(ask({ max_tokens: 2 }));
  assert.equal(ok.choices.length, 1);
});

test('API key: 401 without it or with a wrong one, served with it', async () => {
  const keyed = await startServer(['--api-key', 'sesame']);
  try {
    const m = await modelId(keyed.url).catch(() => null);  // /v1/models needs the key too
    assert.equal(m, null);
    const wrong = new OpenAI({ baseURL: `${keyed.url}/v1`, apiKey: 'open', maxRetries: 0 });
    await assert.rejects(wrong.models.list(), (e) => e instanceof OpenAI.AuthenticationError && e.status === 401);
    const right = new OpenAI({ baseURL: `${keyed.url}/v1`, apiKey: 'sesame', maxRetries: 0 });
    const list = [];
    for await (const x of right.models.list()) list.push(x.id);
    assert.equal(list.length, 1);
  } finally {
    assert.equal(await keyed.stop('SIGINT'), 0);
  }
});

test('a full queue answers 429 with Retry-After', async () => {
  const busy = await startServer(['--parallel', '1', '--max-queued', '0']);
  try {
    const c = new OpenAI({ baseURL: `${busy.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const long = c.chat.completions.create({ ...ask(), max_tokens: 100000, stream: true });
    const first = await long;
    const it = first[Symbol.asyncIterator]();
    await it.next();  // the first request holds the only slot now
    await assert.rejects(c.chat.completions.create(ask()),
      (e) => e instanceof OpenAI.RateLimitError && e.status === 429 && Number(e.headers.get('retry-after')) >= 1);
    first.controller.abort();
  } finally {
    assert.equal(await busy.stop(), 0);
  }
});

test('SIGTERM: an in-flight stream ends with an error event, the server exits 0', async () => {
  const s = await startServer(['--parallel', '2']);
  const c = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'x', maxRetries: 0 });
  const stream = await c.chat.completions.create({ ...ask(), max_tokens: 100000, stream: true });
  const it = stream[Symbol.asyncIterator]();
  await it.next();
  const exit = s.stop('SIGTERM');
  await assert.rejects((async () => { for (;;) { const { done } = await it.next(); if (done) return; } })(),
    (e) => /shutting down|cancelled/.test(e.message));
  assert.equal(await exit, 0);
});
