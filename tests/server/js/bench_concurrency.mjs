// bench_concurrency.mjs — aggregate decode throughput of `whale serve` through HTTP against the
// number of concurrent streaming clients (not a test: prints a table).
//   WHALE_SERVE_CMD='["whale","serve","-m","model.gguf"]' node bench_concurrency.mjs [TOKENS] [1,2,4,8]
// Each client asks for TOKENS tokens with the EOS token banned (BENCH_EOS, default 257 = the demo
// model's), so every stream has the same length.
import { startServer, modelId } from './server.mjs';

const tokens = Number(process.argv[2] || 256);
const levels = (process.argv[3] || '1,2,4,8').split(',').map(Number);
const eos = process.env.BENCH_EOS || '257';
const server = await startServer(['--parallel', String(Math.max(...levels)), '--ctx-size', String(tokens + 64)]);
const model = await modelId(server.url);

async function one(seed) {
  const r = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({
    model, messages: [{ role: 'user', content: `benchmark ${seed}` }], max_tokens: tokens, seed,
    logit_bias: { [eos]: -100 }, stream: true, stream_options: { include_usage: true } }) });
  const text = await r.text();
  const usage = JSON.parse(text.split('\n\n').filter((l) => l.includes('"usage":{')).at(-1).slice(6)).usage;
  return usage.completion_tokens;
}

await one(0);  // warm-up
console.log('clients  tokens  seconds  aggregate tok/s  per-client tok/s');
for (const c of levels) {
  const t0 = performance.now();
  const counts = await Promise.all(Array.from({ length: c }, (_, i) => one(i + 1)));
  const s = (performance.now() - t0) / 1000;
  const total = counts.reduce((a, b) => a + b, 0);
  console.log(`${String(c).padStart(7)}  ${String(total).padStart(6)}  ${s.toFixed(2).padStart(7)}  ` +
    `${(total / s).toFixed(1).padStart(15)}  ${(total / s / c).toFixed(1).padStart(16)}`);
}
await server.stop();
