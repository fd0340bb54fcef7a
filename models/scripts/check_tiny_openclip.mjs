#!/usr/bin/env node
// Checks models/tiny-clip-openclip (made by make_tiny_openclip.py) with the JS libraries the
// server uses:
//   - its manifest's sizes and sha256 match the files, and its tokenizer/preprocessor files
//     are byte-identical to tiny-clip's;
//   - the graphs have the open_clip interface: visual.onnx image -> image_features,
//     textual.onnx text [N,77] int64 (no attention mask) -> text_features;
//   - textual.onnx fed [N,77] ids padded with 0 gives tiny-clip's text_model.onnx embeddings
//     (that one fed unpadded ids / EOS padding with an attention mask), cosine > 0.9999, one
//     text at a time and as a batch, and matches reference.json;
//   - visual.onnx gives vision_model.onnx's embeddings and matches reference.json.
//
// usage: node models/scripts/check_tiny_openclip.mjs [openclip-dir [tiny-clip-dir]]   (exit 1 on failure)
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from '@huggingface/tokenizers';
import ort from 'onnxruntime-node';

const MIN_COSINE = 0.9999;
const here = path.dirname(fileURLToPath(import.meta.url));
const dir = path.resolve(process.argv[2] ?? path.join(here, '..', 'tiny-clip-openclip'));
const hfDir = path.resolve(process.argv[3] ?? path.join(here, '..', 'tiny-clip'));
const readJson = (d, f) => JSON.parse(fs.readFileSync(path.join(d, f), 'utf8'));
const manifest = readJson(dir, 'fieldscope-model.json');
const ref = readJson(dir, 'reference.json');
const hfRef = readJson(hfDir, 'reference.json');
const failures = [];
const fail = (msg) => { failures.push(msg); console.log(`  FAIL ${msg}`); };
const check = (ok, msg) => { console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${msg}`); if (!ok) failures.push(msg); };

function cosine(a, b) {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
  return dot / Math.sqrt(na * nb);
}
const rows = (t) => Array.from({ length: t.dims[0] }, (_, i) => t.data.subarray(i * t.dims[1], (i + 1) * t.dims[1]));
const minCosine = (as, bs) => Math.min(...as.map((a, i) => cosine(a, bs[i])));
function report(label, min) {
  console.log(`  ${min > MIN_COSINE ? 'ok  ' : 'FAIL'} ${label}: min cosine ${min.toFixed(9)} (1 - cos = ${(1 - min).toExponential(1)})`);
  if (!(min > MIN_COSINE)) failures.push(`${label}: cosine ${min} <= ${MIN_COSINE}`);
}

// --- files -----------------------------------------------------------------------------
console.log(`files (${dir})`);
const listed = manifest.files.map((f) => f.path).sort();
const present = fs.readdirSync(dir).filter((f) => f !== 'fieldscope-model.json').sort();
check(JSON.stringify(listed) === JSON.stringify(present), `manifest lists exactly the folder's files (${present.join(', ')})`);
for (const f of manifest.files) {
  const bytes = fs.readFileSync(path.join(dir, f.path));
  const sha = crypto.createHash('sha256').update(bytes).digest('hex');
  check(bytes.length === f.size && sha === f.sha256, `${f.path}: ${bytes.length} bytes, sha256 ${sha.slice(0, 12)}... as in the manifest`);
}
for (const f of ['tokenizer.json', 'tokenizer_config.json', 'preprocessor_config.json']) {
  check(fs.readFileSync(path.join(dir, f)).equals(fs.readFileSync(path.join(hfDir, f))), `${f} is byte-identical to tiny-clip's`);
}
const total = present.concat('fieldscope-model.json').reduce((s, f) => s + fs.statSync(path.join(dir, f)).size, 0);
check(total < 1_000_000, `folder is ${total} bytes (< 1 MB)`);

// --- tokenizer: [N,77] ids padded with 0 ------------------------------------------------
const { fixedLength, padId } = manifest.text;
const tokenizer = new Tokenizer(readJson(dir, 'tokenizer.json'), readJson(dir, 'tokenizer_config.json'));
const eos = tokenizer.token_to_id('<|endoftext|>');
console.log(`tokenizer: eos ${eos}, fixed length ${fixedLength}, pad ${padId}`);
check(eos === tokenizer.get_vocab(true).size - 1 && padId < eos, 'end-of-text is the highest id, above the pad id (argmax pooling finds it)');
// Truncate to the context keeping the end token, as Fieldscope's ClipTokenizer does.
const truncate = (ids) => (ids.length > fixedLength ? [...ids.slice(0, fixedLength - 1), eos] : ids);
const texts = ref.texts.map((t) => t.text);
const idLists = texts.map((t) => truncate(tokenizer.encode(t).ids));
check(idLists.every((ids, i) => JSON.stringify(ids) === JSON.stringify(ref.texts[i].input_ids)), `js ids equal reference.json's for all ${texts.length} texts`);

function openclipFeeds(lists) {
  const ids = new BigInt64Array(lists.length * fixedLength).fill(BigInt(padId));
  lists.forEach((row, r) => row.forEach((id, c) => { ids[r * fixedLength + c] = BigInt(id); }));
  return { [manifest.text.inputIds]: new ort.Tensor('int64', ids, [lists.length, fixedLength]) };
}
function hfFeeds(lists) { // tiny-clip's way: pad to the longest row with EOS, plus an attention mask
  const len = Math.max(...lists.map((l) => l.length));
  const ids = new BigInt64Array(lists.length * len).fill(BigInt(eos));
  const mask = new BigInt64Array(lists.length * len);
  lists.forEach((row, r) => row.forEach((id, c) => { ids[r * len + c] = BigInt(id); mask[r * len + c] = 1n; }));
  return { input_ids: new ort.Tensor('int64', ids, [lists.length, len]), attention_mask: new ort.Tensor('int64', mask, [lists.length, len]) };
}

// --- graphs ------------------------------------------------------------------------------
console.log('onnx (onnxruntime-node)');
const textSession = await ort.InferenceSession.create(path.join(dir, manifest.text.file));
const visionSession = await ort.InferenceSession.create(path.join(dir, manifest.vision.file));
check(JSON.stringify(textSession.inputNames) === JSON.stringify([manifest.text.inputIds]) && JSON.stringify(textSession.outputNames) === JSON.stringify([manifest.text.output]),
  `${manifest.text.file}: inputs [${textSession.inputNames}] (no mask), outputs [${textSession.outputNames}]`);
check(JSON.stringify(visionSession.inputNames) === JSON.stringify([manifest.vision.input]) && JSON.stringify(visionSession.outputNames) === JSON.stringify([manifest.vision.output]),
  `${manifest.vision.file}: inputs [${visionSession.inputNames}], outputs [${visionSession.outputNames}]`);
// A graph with a truly fixed length must refuse anything but 77 columns.
let shortRejected = false;
try { await textSession.run({ [manifest.text.inputIds]: new ort.Tensor('int64', new BigInt64Array(5), [1, 5]) }); } catch { shortRejected = true; }
check(shortRejected, `${manifest.text.file} rejects [1,5] ids (length fixed at ${fixedLength})`);

const hfText = await ort.InferenceSession.create(path.join(hfDir, 'onnx', 'text_model.onnx'));
const hfVision = await ort.InferenceSession.create(path.join(hfDir, 'onnx', 'vision_model.onnx'));

const ocSingle = [];
const hfSingle = [];
for (const ids of idLists) {
  ocSingle.push(rows((await textSession.run(openclipFeeds([ids])))[manifest.text.output])[0]);
  hfSingle.push(rows((await hfText.run(hfFeeds([ids]))).text_embeds)[0]);
}
const ocBatch = rows((await textSession.run(openclipFeeds(idLists)))[manifest.text.output]);
const hfBatch = rows((await hfText.run(hfFeeds(idLists))).text_embeds);
report(`text: openclip [1,77] 0-padded vs tiny-clip masked, one at a time (${idLists.length} texts)`, minCosine(ocSingle, hfSingle));
report(`text: openclip [${idLists.length},77] batch vs tiny-clip padded+masked batch`, minCosine(ocBatch, hfBatch));
report('text: openclip batch vs its reference.json', minCosine(ocBatch, ref.texts.map((t) => t.text_features)));
report('text: openclip batch vs tiny-clip reference.json', minCosine(ocBatch, hfRef.texts.map((t) => t.text_embeds)));
const maxAbs = Math.max(...ocSingle.map((a, i) => Math.max(...a.map((v, j) => Math.abs(v - hfSingle[i][j])))));
console.log(`       max |openclip - tiny-clip| over all text components: ${maxAbs.toExponential(2)}`);
// Padding must not matter and different texts must differ, or the comparisons prove little.
check(cosine(ocBatch[0], ocBatch[1]) < 0.99, `different texts give different embeddings (cosine ${cosine(ocBatch[0], ocBatch[1]).toFixed(3)})`);

// Same formula as synthetic_image() in make_tiny_clip.py; exact in float32.
function syntheticImage(k) {
  const size = 224;
  const out = new Float32Array(3 * size * size);
  for (let c = 0; c < 3; c++) for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
    out[(c * size + y) * size + x] = ((x * (c + k) + y * (2 * k + 1) + ((x * y) % 7)) % 33) / 16 - 1;
  }
  return out;
}
const images = ref.images.map((im) => syntheticImage(im.k));
const pixels = new Float32Array(images.length * images[0].length);
images.forEach((im, i) => pixels.set(im, i * im.length));
const dims = [images.length, 3, 224, 224];
const ocImg = rows((await visionSession.run({ [manifest.vision.input]: new ort.Tensor('float32', pixels, dims) }))[manifest.vision.output]);
const hfImg = rows((await hfVision.run({ pixel_values: new ort.Tensor('float32', pixels, dims) })).image_embeds);
report(`image: visual.onnx vs tiny-clip vision_model.onnx (batch of ${images.length})`, minCosine(ocImg, hfImg));
report('image: visual.onnx vs its reference.json', minCosine(ocImg, ref.images.map((im) => im.image_features)));
check(ocImg[0].length === manifest.embeddingDim && ocBatch[0].length === manifest.embeddingDim, `embedding size ${ocImg[0].length} = manifest embeddingDim ${manifest.embeddingDim}`);

if (failures.length) {
  console.log(`${failures.length} check(s) failed`);
  process.exit(1);
}
console.log('all checks passed');
