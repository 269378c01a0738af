// bundled_model.test.mjs — `whale serve` on the bundled, trained whale-r1-tiny, through the
// official OpenAI SDK: a real question gets its worked thinking in reasoning_content and the
// right sum in content, streamed and not, as DeepSeek's API returns them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { startServer, importOrSkip, modelId } from './server.mjs';

const { default: OpenAI } = await importOrSkip('openai');
const gguf = fileURLToPath(new URL('../../../models/whale-r1-tiny/whale-r1-tiny.gguf', import.meta.url));

let server, client, model;
before(async () => {
  // The CTest command line with the bundled model in place of the demo model.
  const cmd = JSON.parse(process.env.WHALE_SERVE_CMD);
  cmd[cmd.indexOf('-m') + 1] = gguf;
  server = await startServer(['--parallel', '2'], { command: cmd });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  model = await modelId(server.url);
});
after(async () => {
  assert.equal(await server.stop('SIGTERM'), 0, 'graceful exit code');
});

const [a, b] = [387, 456];
const question = { role: 'user', content: `What is ${a} + ${b}?` };

test('the bundled model thinks, then answers the sum', async () => {
  const r = await client.chat.completions.create({ model, messages: [question], temperature: 0, max_tokens: 300 });
  const m = r.choices[0].message;
  assert.equal(r.choices[0].finish_reason, 'stop');
  assert.ok(m.reasoning_content.length > 0, 'reasoning_content holds the thinking');
  assert.ok(!m.content.includes('<think>') && !m.content.includes('</think>'));
  assert.ok(m.content.includes(String(a + b)), `answer ${JSON.stringify(m.content)}`);
  assert.ok(r.usage.completion_tokens_details.reasoning_tokens > 0);
  assert.ok(r.usage.completion_tokens_details.reasoning_tokens < r.usage.completion_tokens);

  // Streamed: the deltas add up to the same thinking and answer.
  const stream = await client.chat.completions.create({ model, messages: [question], temperature: 0, max_tokens: 300, stream: true });
  let reasoning = '', content = '';
  for await (const chunk of stream) {
    const d = chunk.choices[0]?.delta ?? {};
    reasoning += d.reasoning_content ?? '';
    content += d.content ?? '';
  }
  assert.equal(reasoning, m.reasoning_content);
  assert.equal(content, m.content);
});

test('an earlier turn\'s thinking is not fed back into the prompt', async () => {
  const first = await client.chat.completions.create({ model, messages: [question], temperature: 0, max_tokens: 300 });
  const m = first.choices[0].message;
  const next = { role: 'user', content: 'What is 205 + 318?' };
  const prompt = async (assistant) => (await client.chat.completions.create({
    model, temperature: 0, max_tokens: 1, messages: [question, { role: 'assistant', content: assistant }, next],
  })).usage.prompt_tokens;
  // With or without the thinking written back inline, the model sees the same prompt.
  const withThinking = await prompt(`<think>${m.reasoning_content}</think>${m.content}`);
  const without = await prompt(m.content);
  assert.equal(withThinking, without);
});
