// bench.mjs — llama.cpp's speed on a GGUF, measured the way `whale bench` measures whale's:
// prefill P prompt tokens, then decode N tokens greedily, each repeat in a fresh context;
// prints the medians as one JSON object. llama.cpp comes from node-llama-cpp's prebuilt CPU
// libraries (ggml picks the variant for this CPU at run time), so no compiler or download of
// sources is needed: `npm ci` in this folder.
//
// usage: node bench.mjs MODEL.gguf [P=128] [N=32] [REPEATS=3] [THREADS=2]
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

const [modelPath, P = "128", N = "32", R = "3", T = "2"] = process.argv.slice(2);
if (!modelPath) {
  console.error("usage: node bench.mjs MODEL.gguf [P] [N] [REPEATS] [THREADS]");
  process.exit(2);
}
const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error});
const model = await llama.loadModel({modelPath, gpuLayers: 0, useMmap: true});
const prefill = [], decode = [];
for (let r = 0; r < Number(R); ++r) {
  const context = await model.createContext({contextSize: Number(P) + Number(N) + 16,
                                             batchSize: Number(P), threads: Number(T)});
  const sequence = context.getSequence();
  // Fixed ids spread over the vocabulary: speed does not depend on the text.
  const prompt = Array.from({length: Number(P)}, (_, i) => 100 + (i * 7919) % 5000);
  let t0 = performance.now();
  await sequence.evaluateWithoutGeneratingNewTokens(prompt);
  prefill.push(Number(P) / ((performance.now() - t0) / 1000));
  let n = 0;
  t0 = performance.now();
  for await (const token of sequence.evaluate([prompt[0]], {temperature: 0})) {
    void token;
    if (++n >= Number(N)) break;
  }
  decode.push(n / ((performance.now() - t0) / 1000));
  await context.dispose();
}
const median = a => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
console.log(JSON.stringify({engine: "llama.cpp (node-llama-cpp 3.22.1)", model: modelPath, threads: Number(T),
                            prefill: {tokens: Number(P), tokens_per_s: median(prefill), runs: prefill},
                            decode: {tokens: Number(N), tokens_per_s: median(decode), runs: decode}}));
process.exit(0);
