// read_gguf.mjs — prints, as JSON, what Hugging Face's GGUF parser (@huggingface/gguf) reads
// from a local GGUF file: the test oracle for whale's writer. Usage: node read_gguf.mjs FILE
import { gguf } from "@huggingface/gguf";

const path = process.argv[2];
const { typedMetadata, tensorInfos, tensorDataOffset } = await gguf(path, {
  allowLocalFile: true,
  typedMetadata: true,
});

// JSON has no bigint, NaN or infinity: spell those as strings.
const plain = (v) => {
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "number" && !Number.isFinite(v)) return String(v);
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === "object") {
    const out = {};
    for (const [k, x] of Object.entries(v)) out[k] = plain(x);
    return out;
  }
  return v;
};

console.log(JSON.stringify(plain({ metadata: typedMetadata, tensors: tensorInfos, tensorDataOffset })));
