#!/usr/bin/python3
"""Write the tiny test CLIP in the open_clip / clip-as-service ONNX export layout.

Same seeded weights and tokenizer as models/tiny-clip (built by importing
make_tiny_clip.py, not by copying it), exported the way open_clip exports are laid out:

    visual.onnx    image float32 [N, 3, 224, 224]          -> image_features float32 [N, 32]
    textual.onnx   text  int64   [N, 77] (fixed, 0-padded) -> text_features  float32 [N, 32]
                   no attention mask: the causal mask is enough because padding only ever
                   follows the end-of-text token, and pooling is at text.argmax(-1), which is
                   the end-of-text token because it has the highest id (0 is a byte symbol).
    tokenizer.json, tokenizer_config.json, preprocessor_config.json   (same bytes as tiny-clip)
    reference.json, README.md
    fieldscope-model.json   the manifest Fieldscope needs for this layout (written last,
                            with the real size and sha256 of every other file)

Because the weights are tiny-clip's, every embedding equals tiny-clip's for the same input
(up to float rounding), which is what the tests compare.

usage: /usr/bin/python3 models/scripts/make_tiny_openclip.py --out models/tiny-clip-openclip

Verify with `node models/scripts/check_tiny_openclip.mjs`.
"""
import argparse
import hashlib
import os

import torch

import make_tiny_clip as base

NAME = "tiny-clip-openclip"
CONTEXT_LENGTH = base.MAX_POSITIONS  # 77
PAD_ID = 0  # open_clip pads with 0 (a byte symbol here, like "!" in the real CLIP vocab)
# Placeholders: this model is generated locally, it is not downloadable from anywhere.
PLACEHOLDER_REVISION = "0" * 40
PLACEHOLDER_BASE_URL = f"https://example.invalid/{NAME}/"

VISION_FILE, VISION_INPUT, VISION_OUTPUT = "visual.onnx", "image", "image_features"
TEXT_FILE, TEXT_INPUT, TEXT_OUTPUT = "textual.onnx", "text", "text_features"


def pad(ids):
    """[start, ..., end] (at most 77 ids) -> exactly 77 ids, padded with 0 like open_clip."""
    assert len(ids) <= CONTEXT_LENGTH
    return ids + [PAD_ID] * (CONTEXT_LENGTH - len(ids))


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help=f"output folder, e.g. models/{NAME}")
    out = ap.parse_args().out
    os.makedirs(out, exist_ok=True)
    base.set_deterministic()

    vocab, merges, tok = base.build_tokenizer()
    vocab_size = len(vocab)
    eos_id = vocab[base.EOS]
    # Pooling at argmax(text) relies on this, and padding with 0 on 0 being below it.
    assert eos_id == vocab_size - 1 and PAD_ID < eos_id
    base.write_json(os.path.join(out, "tokenizer.json"), base.tokenizer_json(vocab, merges))
    base.write_json(os.path.join(out, "tokenizer_config.json"), base.TOKENIZER_CONFIG)
    base.write_json(os.path.join(out, "preprocessor_config.json"), base.PREPROCESSOR_CONFIG)

    vision, text = base.build_models(vocab_size)
    doc = (f"Tiny CLIP with random weights (seed {base.SEED}), for tests only; embeddings are meaningless. "
           "open_clip export layout; same weights as tiny-clip.")
    vision_path, text_path = os.path.join(out, VISION_FILE), os.path.join(out, TEXT_FILE)
    with torch.no_grad():
        base.export(vision, (torch.stack([base.synthetic_image(1), base.synthetic_image(2)]),), vision_path,
                    [VISION_INPUT], [VISION_OUTPUT],
                    {VISION_INPUT: {0: "batch_size"}, VISION_OUTPUT: {0: "batch_size"}}, doc)
        # Text: called without a mask (TextModel then applies the causal mask only). Traced
        # with batch 2 of different lengths so nothing is specialised to one row; only the
        # batch axis is dynamic, the length is fixed at 77 as in open_clip exports.
        ids = torch.tensor([pad(tok.encode("a photo of a pump")), pad(tok.encode("valve"))])
        base.export(text, (ids,), text_path, [TEXT_INPUT], [TEXT_OUTPUT],
                    {TEXT_INPUT: {0: "batch_size"}, TEXT_OUTPUT: {0: "batch_size"}}, doc)

    # Reference outputs: the open_clip way (77 ids, 0-padded, no mask), each checked
    # against the Hugging Face way (unpadded ids with an all-ones mask, what tiny-clip's
    # reference.json holds) so the claim "same embeddings as tiny-clip" is tested here too.
    ref = {
        "description": "PyTorch outputs of the tiny CLIP in the open_clip layout, unnormalised. "
                       "input_ids are the unpadded ids (start and end tokens, longer texts truncated "
                       f"to {CONTEXT_LENGTH} keeping the end token); the graph gets them padded with "
                       f"{PAD_ID} to exactly {CONTEXT_LENGTH}. Same weights as tiny-clip: its "
                       "reference.json has the same embeddings for the same inputs.",
        "vocab_size": vocab_size, "bos_token_id": vocab[base.BOS], "eos_token_id": eos_id,
        "context_length": CONTEXT_LENGTH, "pad_id": PAD_ID, "projection_dim": base.PROJECTION_DIM,
        "texts": [], "images": [],
    }
    worst = 0.0
    with torch.no_grad():
        for s in base.REFERENCE_TEXTS:
            ids = tok.encode(s)
            emb = text(torch.tensor([pad(ids)]))[0]
            hf = text(torch.tensor([ids]), torch.ones(1, len(ids), dtype=torch.long))[0]
            worst = max(worst, float((emb - hf).abs().max()))
            ref["texts"].append({"text": s, "input_ids": ids, TEXT_OUTPUT: base.f32(emb.tolist())})
        for k in (1, 2):
            emb = vision(base.synthetic_image(k)[None])[0].tolist()
            ref["images"].append({"k": k, "formula": base.SYNTHETIC_IMAGE_FORMULA, VISION_OUTPUT: base.f32(emb)})
    assert worst < 1e-4, f"0-padded/no-mask text embeddings differ from the masked ones by {worst}"
    base.write_json(os.path.join(out, "reference.json"), ref)

    write_readme(out, vocab_size)

    # The manifest lists every file in the folder except itself, with measured sizes and hashes.
    files = sorted(f for f in os.listdir(out) if f != "fieldscope-model.json")
    manifest = {
        "name": NAME,
        "description": "Test-only tiny CLIP with random weights (same weights as tiny-clip) in the open_clip / "
                       "clip-as-service ONNX layout. Generated locally by models/scripts/make_tiny_openclip.py: "
                       "source.revision and source.baseUrl are placeholders (example.invalid), nothing can be "
                       "pulled from them.",
        "embeddingDim": base.PROJECTION_DIM,
        "source": {"repo": "local/" + NAME, "revision": PLACEHOLDER_REVISION, "baseUrl": PLACEHOLDER_BASE_URL},
        "files": [{"path": f, "size": os.path.getsize(os.path.join(out, f)), "sha256": sha256_of(os.path.join(out, f))}
                  for f in files],
        "vision": {"file": VISION_FILE, "input": VISION_INPUT, "output": VISION_OUTPUT},
        "text": {"file": TEXT_FILE, "inputIds": TEXT_INPUT, "attentionMask": None, "output": TEXT_OUTPUT,
                 "fixedLength": CONTEXT_LENGTH, "padId": PAD_ID},
        "tokenizer": "tokenizer.json",
        "preprocessor": "preprocessor_config.json",
    }
    base.write_json(os.path.join(out, "fieldscope-model.json"), manifest)

    print(f"vocab {vocab_size}, embedding dim {base.PROJECTION_DIM}, "
          f"max |padded - masked| text difference {worst:.1e}")
    total = 0
    for f in files + ["fieldscope-model.json"]:
        size = os.path.getsize(os.path.join(out, f))
        total += size
        print(f"  {f}: {size / 1024:.1f} KiB")
    print(f"  total: {total / 1024:.1f} KiB")


def write_readme(out, vocab_size):
    text = f"""# {NAME}: the test-only CLIP in the open_clip ONNX layout

**Random weights. The embeddings mean nothing.** This is `models/tiny-clip` (same seed,
same weights, same tokenizer) exported in the layout of open_clip / clip-as-service ONNX
exports, so tests can exercise a model folder that is *not* in the Hugging Face layout and
that Fieldscope loads only through its manifest, `fieldscope-model.json`.

- `{VISION_FILE}`: `{VISION_INPUT}` float32 `[batch, 3, {base.IMAGE_SIZE}, {base.IMAGE_SIZE}]` -> `{VISION_OUTPUT}` float32 `[batch, {base.PROJECTION_DIM}]`.
- `{TEXT_FILE}`: `{TEXT_INPUT}` int64 `[batch, {CONTEXT_LENGTH}]`, **fixed length**: start token, ids, end
  token, then padded with `{PAD_ID}`; **no attention mask** input -> `{TEXT_OUTPUT}` float32 `[batch, {base.PROJECTION_DIM}]`.
  The causal mask keeps the end-of-text token from seeing the padding after it, and the
  embedding is pooled at `argmax(text)`, the end-of-text token ({vocab_size - 1}, the highest id).
- Embeddings are **not** L2-normalised, and equal `tiny-clip`'s for the same input (the
  unpadded ids with an all-ones `attention_mask` there).
- `tokenizer.json`, `tokenizer_config.json`, `preprocessor_config.json`: byte-identical to `tiny-clip`'s.
- `reference.json`: PyTorch outputs for the same strings and synthetic images as
  `tiny-clip/reference.json` (unpadded `input_ids`; pad them with `{PAD_ID}` to {CONTEXT_LENGTH}).
- `fieldscope-model.json`: the manifest (docs/model-manifest.md) with the tensor names above,
  `fixedLength: {CONTEXT_LENGTH}`, `padId: {PAD_ID}`, `attentionMask: null`, and the size and sha256 of
  every other file in this folder, measured by the script. Its `source.revision`
  (`{PLACEHOLDER_REVISION[:8]}...`) and `source.baseUrl` (`{PLACEHOLDER_BASE_URL}`) are
  **placeholders**: the model is generated, never pulled.

Tensor and initializer names are not open_clip's own parameter names; only the graph
interface (file names, input/output names, shapes, padding) follows the open_clip layout.

## How it was made

    /usr/bin/python3 models/scripts/make_tiny_openclip.py --out models/{NAME}
    node models/scripts/check_tiny_openclip.mjs

The script imports `make_tiny_clip.py` for the tokenizer, weights and export settings, so the
two folders cannot drift apart; the output is byte-reproducible. Editing any file here makes
the manifest's size/sha256 stale: regenerate instead.
"""
    with open(os.path.join(out, "README.md"), "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    main()
