#!/usr/bin/env node
// Checks models/tiny-clip (made by make_tiny_clip.py) against its reference.json, using
// the same JS libraries the server uses:
//   - @huggingface/tokenizers must produce exactly the ids of the Python BPE;
//   - onnxruntime-node must reproduce the PyTorch embeddings (cosine > 0.9999), one input
//     at a time and as a padded batch (padding must not change any row);
//   - the *_quantized graphs must load, run and stay close to the float ones.
//
// usage: node models/scripts/check_tiny_clip.mjs [model-dir]   (exit code 1 on failure)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from '@huggingface/tokenizers';
import ort from 'onnxruntime-node';

const FLOAT_MIN_COSINE = 0.9999;
// Weight-only int8 with per-channel scales; anything below this means the quantizer broke.
const QUANTIZED_MIN_COSINE = 0.99;

const dir = path.resolve(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'tiny-clip'));
const readJson = (f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
const ref = readJson('reference.json');
const failures = [];
const fail = (msg) => { failures.push(msg); console.log(`  FAIL ${msg}`); };

function cosine(a, b) {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
  return dot / Math.sqrt(na * nb);
}

function rows(tensor) {
  const [n, d] = tensor.dims;
  return Array.from({ length: n }, (_, i) => tensor.data.subarray(i * d, (i + 1) * d));
}

// --- tokenizer -------------------------------------------------------------------------
console.log(`tokenizer (${dir})`);
const tokenizer = new Tokenizer(readJson('tokenizer.json'), readJson('tokenizer_config.json'));
const vocabSize = tokenizer.get_vocab(true).size;
const bos = tokenizer.token_to_id('<|startoftext|>');
const eos = tokenizer.token_to_id('<|endoftext|>');
console.log(`  vocab ${vocabSize}, bos ${bos}, eos ${eos}`);
// The text graph pools at argmax(input_ids), which only finds EOS if it is the top id.
if (vocabSize !== ref.vocab_size || eos !== vocabSize - 1 || bos !== vocabSize - 2 || eos !== ref.eos_token_id) {
  fail(`special ids: expected bos ${ref.bos_token_id}, eos ${ref.eos_token_id} = last of ${ref.vocab_size}`);
}
// tokenizer.json has no truncation (like the real CLIP one); callers cut to 77 ids
// keeping the end token, as reference.json does.
const MAX_LENGTH = 77;
const truncate = (ids) => (ids.length > MAX_LENGTH ? [...ids.slice(0, MAX_LENGTH - 1), eos] : ids);
const show = (s) => JSON.stringify(s.length > 40 ? `${s.slice(0, 37)}...` : s);
for (const t of ref.texts) {
  const ids = truncate(tokenizer.encode(t.text).ids);
  const ok = JSON.stringify(ids) === JSON.stringify(t.input_ids);
  console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${show(t.text)} -> ${ids.length} ids`);
  if (!ok) fail(`ids for ${JSON.stringify(t.text)}: js ${JSON.stringify(ids)} vs python ${JSON.stringify(t.input_ids)}`);
}

// --- text graphs -----------------------------------------------------------------------
function textFeeds(idLists) {
  const len = Math.max(...idLists.map((ids) => ids.length));
  const inputIds = new BigInt64Array(idLists.length * len).fill(BigInt(eos)); // pad with EOS, as CLIP does
  const mask = new BigInt64Array(idLists.length * len);
  idLists.forEach((ids, r) => ids.forEach((id, c) => { inputIds[r * len + c] = BigInt(id); mask[r * len + c] = 1n; }));
  return {
    input_ids: new ort.Tensor('int64', inputIds, [idLists.length, len]),
    attention_mask: new ort.Tensor('int64', mask, [idLists.length, len]),
  };
}

async function checkText(file, minCos) {
  const session = await ort.InferenceSession.create(path.join(dir, 'onnx', file));
  const idLists = ref.texts.map((t) => t.input_ids);
  const single = [];
  for (const ids of idLists) single.push(rows((await session.run(textFeeds([ids]))).text_embeds)[0]);
  const batched = rows((await session.run(textFeeds(idLists))).text_embeds);
  const report = (label, outs) => {
    const min = Math.min(...outs.map((e, i) => cosine(e, ref.texts[i].text_embeds)));
    console.log(`  ${file} ${label}: min cosine ${min.toFixed(9)} (1 - cos = ${(1 - min).toExponential(1)})`);
    if (!(min > minCos)) fail(`${file} ${label}: cosine ${min} <= ${minCos}`);
  };
  report('one at a time', single);
  report(`padded batch of ${idLists.length}`, batched);
}

// --- vision graphs ---------------------------------------------------------------------
// Same formula as synthetic_image() in make_tiny_clip.py; exact in float32.
function syntheticImage(k) {
  const size = 224;
  const out = new Float32Array(3 * size * size);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        out[(c * size + y) * size + x] = ((x * (c + k) + y * (2 * k + 1) + ((x * y) % 7)) % 33) / 16 - 1;
      }
    }
  }
  return out;
}

async function checkVision(file, minCos) {
  const session = await ort.InferenceSession.create(path.join(dir, 'onnx', file));
  const images = ref.images.map((im) => syntheticImage(im.k));
  const data = new Float32Array(images.length * images[0].length);
  images.forEach((im, i) => data.set(im, i * im.length));
  const out = rows((await session.run({ pixel_values: new ort.Tensor('float32', data, [images.length, 3, 224, 224]) })).image_embeds);
  const min = Math.min(...out.map((e, i) => cosine(e, ref.images[i].image_embeds)));
  console.log(`  ${file} batch of ${images.length}: min cosine ${min.toFixed(9)} (1 - cos = ${(1 - min).toExponential(1)})`);
  if (!(min > minCos)) fail(`${file}: cosine ${min} <= ${minCos}`);
  // Random weights could in principle map everything to one direction; the tests need
  // different inputs to give different embeddings.
  if (out.length > 1 && cosine(out[0], out[1]) > 0.999) fail(`${file}: different images give the same embedding`);
}

console.log('onnx (onnxruntime-node)');
await checkText('text_model.onnx', FLOAT_MIN_COSINE);
await checkText('text_model_quantized.onnx', QUANTIZED_MIN_COSINE);
await checkVision('vision_model.onnx', FLOAT_MIN_COSINE);
await checkVision('vision_model_quantized.onnx', QUANTIZED_MIN_COSINE);

if (failures.length) {
  console.log(`${failures.length} check(s) failed`);
  process.exit(1);
}
console.log('all checks passed');
