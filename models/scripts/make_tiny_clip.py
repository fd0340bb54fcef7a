#!/usr/bin/python3
"""Make a tiny, seeded CLIP test model (with its own tiny tokenizer) small enough to commit.

The weights are random, so the embeddings mean nothing: the model exists so tests can
exercise the whole pipeline (tokenizer -> ONNX text/vision graphs -> embeddings) quickly
and offline, with reference outputs to compare the JS side against.

Output layout follows the Hugging Face / transformers.js ONNX convention:
    tokenizer.json, tokenizer_config.json, config.json, preprocessor_config.json,
    onnx/{text,vision}_model.onnx, onnx/{text,vision}_model_quantized.onnx,
    reference.json, README.md

usage: /usr/bin/python3 models/scripts/make_tiny_clip.py --out models/tiny-clip

Needs torch, numpy and onnx only (no transformers, no onnxruntime). Verify the result
with `node models/scripts/check_tiny_clip.mjs`.
"""
import argparse
import json
import os
import re
import unicodedata
from collections import Counter

import numpy as np
import onnx
import torch
import torch.nn as nn
from onnx import TensorProto, helper, numpy_helper

SEED = 0
OPSET = 17  # first opset with LayerNormalization, so layer norms export as single nodes

# Model size. Small enough that each ONNX file is a few hundred KB.
HIDDEN = 32
LAYERS = 2
HEADS = 2
MLP_RATIO = 4
PROJECTION_DIM = 32
IMAGE_SIZE = 224
PATCH_SIZE = 32
MAX_POSITIONS = 77
LN_EPS = 1e-5
# torch's default Linear init keeps activations so small that every input's embedding is
# dominated by the shared CLS / end-of-text token (pairwise cosines ~0.97-0.997). Wider
# weights give sharp attention and CLIP-like spread (cosines ~0.3-0.6 between unrelated
# inputs), so tests that rank or compare embeddings have real margins.
LINEAR_GAIN = 3.0

# Tokenizer size: 512 byte symbols + up to NUM_MERGES merges + 2 special tokens.
NUM_MERGES = 800
BOS = "<|startoftext|>"
EOS = "<|endoftext|>"

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]

# Strings whose ids and embeddings go into reference.json. They cover the cases the JS
# tokenizer is most likely to get wrong: case, punctuation, digits (split one by one),
# contractions, non-ASCII (byte-level fallback), whitespace runs and the empty string.
REFERENCE_TEXTS = [
    "Replace the O-ring on pump P-200",
    "a photo of a centrifugal pump",
    "pressure gauge reads 150 psi",
    "Don't over-tighten the gland nut!",
    "naïve café 🔧 wrench",
    "  multiple   spaces\tand\ttabs\n",
    "",
    # Longer than the context: ids are truncated CLIP-style to 77 (75 + start + end),
    # which also exercises the last position embedding.
    "check the seal on the pump " * 16,
]


# --------------------------------------------------------------------------------------
# Training corpus
# --------------------------------------------------------------------------------------

CORPUS_SENTENCES = """
Replace the O-ring on pump P-200 before restarting the line.
Check the pressure gauge on the discharge side of the centrifugal pump.
The ball valve is stuck half open and the actuator does not respond.
Inspect the mechanical seal for leaks around the pump shaft.
Tighten the flange bolts in a star pattern to the specified torque.
The gate valve handle turns but the valve stays closed.
Close the isolation valve and bleed the pressure before removing the gauge.
The relief valve lifts at 150 psi and reseats at 140 psi.
Part number V-105 is a stainless steel check valve with a spring disc.
Order a new gasket kit, part number G-4471-B, for the heat exchanger.
The diaphragm pump is pumping air; check the suction hose and the inlet strainer.
Lubricate the bearings on the motor every three months with lithium grease.
The vibration on the pump bearing housing exceeds the alarm limit.
Align the coupling between the motor and the pump with a dial indicator.
The pressure transmitter reads zero while the local gauge reads 80 psi.
Replace the packing on the globe valve stem and adjust the gland nut.
The butterfly valve seat is worn and the valve passes water when closed.
Calibrate the temperature gauge against the reference thermometer.
The flow meter shows a steady flow of 12 gallons per minute.
Drain the condensate from the air compressor receiver tank daily.
The solenoid valve coil is burnt out; replace the coil and check the voltage.
Inspect the impeller for erosion, cavitation damage and cracked vanes.
The gear pump makes a grinding noise at high speed.
Fit a new lip seal and a new shaft sleeve to the gearbox output shaft.
Record the suction pressure, the discharge pressure and the motor current.
The control valve positioner does not follow the signal from the controller.
Lock out and tag out the breaker before opening the motor terminal box.
The hydraulic cylinder leaks oil past the rod seal.
Replace the filter element when the differential pressure gauge reads red.
The needle valve on the sample line is blocked with scale.
Check the oil level in the sight glass of the pump bearing housing.
Torque the pump casing bolts to 90 newton metres.
The pressure regulator is set to 6 bar for the instrument air supply.
Replace the worn wear ring and check the impeller clearance.
The steam trap is stuck open and blows live steam to the drain.
Inspect the hose assembly for cracks, bulges and damaged fittings.
The safety valve was tested and sealed by the inspector.
The float switch in the sump does not start the pump.
Replace the bearing on the non drive end of the motor.
The compressor discharge temperature is too high; clean the cooler.
Use a new seal washer on the drain plug and tighten it by hand.
The manifold gauge shows a slow pressure drop over ten minutes.
Measure the shaft runout and the seal face flatness.
The valve stem is bent and the packing is leaking.
Replace the O-ring and the backup ring on the cylinder piston.
The pump runs dry and the seal faces overheat.
Clean the strainer basket and replace the cover gasket.
The pressure switch cuts out at 8 bar and cuts in at 6 bar.
A photo of a rusty valve on a steel pipe.
A photo of a pressure gauge with a cracked glass.
A photo of a pump motor on a concrete base.
A photo of a leaking flange with a wet gasket.
""".strip().splitlines()

# Templates multiply a few words into many sentences, which gives the BPE trainer
# enough repeated pairs to learn a few hundred merges from a corpus this small.
THINGS = [
    "pump", "centrifugal pump", "diaphragm pump", "gear pump", "screw pump", "valve", "ball valve",
    "gate valve", "globe valve", "check valve", "relief valve", "butterfly valve", "needle valve",
    "solenoid valve", "control valve", "pressure gauge", "temperature gauge", "thermocouple",
    "flow meter", "level switch", "limit switch", "pressure switch", "seal", "mechanical seal",
    "shaft seal", "lip seal", "gasket", "o-ring", "bearing", "coupling", "impeller", "volute",
    "motor", "gearbox", "compressor", "blower", "fan", "filter", "strainer", "hose", "fitting",
    "flange", "pipe", "expansion joint", "actuator", "positioner", "transmitter", "regulator",
    "steam trap", "cylinder", "piston", "manifold", "nameplate", "tank", "sight glass",
    "drive belt", "pulley", "sprocket", "chain", "shaft", "housing", "casing", "bushing",
    "circlip", "spring", "nozzle", "orifice plate", "damper", "boiler", "burner", "chiller",
    "condenser", "evaporator", "heat exchanger", "cooling tower", "contactor", "junction box",
    "terminal block", "variable frequency drive", "bolt", "nut", "washer",
]
STATES = ["new", "old", "rusty", "leaking", "damaged", "broken", "worn", "clean", "dirty", "corroded"]
ACTIONS = [
    "inspect", "replace", "tighten", "loosen", "lubricate", "calibrate", "clean", "adjust",
    "repair", "install", "remove", "drain", "flush", "test", "align", "grease", "isolate",
    "check", "measure", "refit",
]
PROBLEMS = [
    "leaking oil", "overheating", "vibrating", "noisy", "seized", "cracked", "misaligned",
    "blocked", "corroded", "stuck open", "stuck closed", "out of calibration", "cavitating",
    "tripping the breaker", "losing pressure", "running dry",
]
LOCATIONS = [
    "in the boiler room", "at the cooling tower", "on the filling line", "in the pump house",
    "next to the chiller", "under the mezzanine", "at the water treatment plant",
    "on the compressor skid", "in the hydraulic power unit", "beside the heat exchanger",
]
MATERIALS = [
    "stainless steel", "cast iron", "bronze", "brass", "carbon steel", "nitrile rubber",
    "viton", "ptfe", "ceramic", "silicon carbide",
]
PARTS = ["P-200", "V-105", "G-4471-B", "S-12", "M-3300", "F-48", "B-6205", "R-900"]


def training_corpus():
    lines = list(CORPUS_SENTENCES)
    for i, thing in enumerate(THINGS):
        lines.append(f"a photo of a {thing}")
        lines.append(f"a close-up photo of the {thing}")
        lines.append(f"how do i replace the {thing}?")
        lines.append(f"the {thing} is made of {MATERIALS[i % len(MATERIALS)]}")
        for state in STATES:
            lines.append(f"a photo of a {state} {thing}")
        for action in ACTIONS:
            lines.append(f"{action} the {thing}")
        for j, problem in enumerate(PROBLEMS):
            lines.append(f"the {thing} {LOCATIONS[(i + j) % len(LOCATIONS)]} is {problem}")
    for i, part in enumerate(PARTS):
        thing = THINGS[(i * 5) % len(THINGS)]
        lines.append(f"part number {part} is a spare {thing}")
        lines.append(f"order {part} from the parts store")
    return lines


# --------------------------------------------------------------------------------------
# Tokenizer (CLIP-style byte-level BPE, same pipeline as the real CLIP tokenizer.json)
# --------------------------------------------------------------------------------------

def bytes_to_unicode():
    """GPT-2/CLIP byte -> printable character table, in CLIP's vocab order.

    Printable Latin-1 bytes map to themselves; the rest are shifted to U+0100.. so that
    every byte is a visible, non-whitespace character that BPE can treat as a symbol.
    """
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


BYTE_ENCODER = bytes_to_unicode()
CONTRACTIONS = ("'s", "'t", "'re", "'ve", "'m", "'ll", "'d")


def normalize(text):
    # Mirrors the tokenizer.json normalizer: NFC, collapse whitespace runs, lowercase.
    text = unicodedata.normalize("NFC", text)
    return re.sub(r"\s+", " ", text).lower()


def _is_letter(ch):
    return unicodedata.category(ch).startswith("L")


def _is_number(ch):
    return unicodedata.category(ch).startswith("N")


def pre_tokenize(text):
    """Split normalised text like CLIP's regex
    's|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+
    (Python's `re` has no \\p{..}, hence the hand-written scanner). Alternatives are
    tried in order at each position, exactly as the regex engine does."""
    words, i, n = [], 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        c = next((c for c in CONTRACTIONS if text.startswith(c, i)), None)
        if c:
            j = i + len(c)
        elif _is_letter(ch):
            j = i + 1
            while j < n and _is_letter(text[j]):
                j += 1
        elif _is_number(ch):
            j = i + 1  # digits are always single tokens in CLIP
        else:
            j = i + 1
            while j < n and not (text[j].isspace() or _is_letter(text[j]) or _is_number(text[j])):
                j += 1
        words.append(text[i:j])
        i = j
    return words


def word_symbols(word):
    """A pre-token as byte-level symbols, the last one carrying the end-of-word suffix."""
    syms = [BYTE_ENCODER[b] for b in word.encode("utf-8")]
    syms[-1] += "</w>"
    return syms


def merge_pair(syms, a, b):
    """Replace every non-overlapping (a, b), scanning left to right."""
    out, i = [], 0
    while i < len(syms):
        if i + 1 < len(syms) and syms[i] == a and syms[i + 1] == b:
            out.append(a + b)
            i += 2
        else:
            out.append(syms[i])
            i += 1
    return out


def train_bpe(lines, num_merges):
    """Classic BPE: repeatedly merge the most frequent adjacent pair.

    Ties are broken by the pair itself (lexicographically smallest wins) so the result
    does not depend on dict or hash ordering. Stops early when no pair occurs twice.
    """
    word_counts = Counter(w for line in lines for w in pre_tokenize(normalize(line)))
    words = {w: word_symbols(w) for w in sorted(word_counts)}
    merges = []
    for _ in range(num_merges):
        pairs = Counter()
        for w, syms in words.items():
            for p in zip(syms, syms[1:]):
                pairs[p] += word_counts[w]
        if not pairs:
            break
        best, count = min(pairs.items(), key=lambda kv: (-kv[1], kv[0]))
        if count < 2:
            break
        merges.append(best)
        words = {w: merge_pair(syms, *best) if len(syms) > 1 else syms for w, syms in words.items()}
    return merges


def build_vocab(merges):
    """CLIP's id order: bytes, bytes+</w>, merge results, then BOS and EOS last.

    EOS must have the highest id because the text model pools at argmax(input_ids)."""
    base = list(BYTE_ENCODER.values())
    tokens = base + [t + "</w>" for t in base]
    seen = set(tokens)
    for a, b in merges:
        if a + b not in seen:  # two different merges can spell the same token
            seen.add(a + b)
            tokens.append(a + b)
    tokens += [BOS, EOS]
    return {t: i for i, t in enumerate(tokens)}


class BPETokenizer:
    """Reference encoder, independent of the JS library, used to produce the ids in
    reference.json. Matches HF tokenizers' BPE: lowest-rank pair first."""

    def __init__(self, vocab, merges):
        self.vocab = vocab
        self.ranks = {tuple(m): r for r, m in enumerate(merges)}

    def bpe(self, word):
        syms = word_symbols(word)
        while len(syms) > 1:
            pair = min(zip(syms, syms[1:]), key=lambda p: self.ranks.get(p, float("inf")))
            if pair not in self.ranks:
                break
            syms = merge_pair(syms, *pair)
        return syms

    def encode(self, text, max_length=MAX_POSITIONS):
        ids = []
        # Special tokens typed in the text are matched before normalisation, as added
        # tokens are in tokenizers; the lowercase normaliser cannot change them anyway.
        for piece in _split_special(text):
            if piece in (BOS, EOS):
                ids.append(self.vocab[piece])
                continue
            for w in pre_tokenize(normalize(piece)):
                ids.extend(self.vocab[s] for s in self.bpe(w))
        ids = ids[: max_length - 2]
        return [self.vocab[BOS]] + ids + [self.vocab[EOS]]


def _split_special(text):
    out, rest = [], text
    while rest:
        hits = [(rest.find(s), s) for s in (BOS, EOS) if s in rest]
        if not hits:
            out.append(rest)
            break
        i, s = min(hits)
        if i:
            out.append(rest[:i])
        out.append(s)
        rest = rest[i + len(s):]
    return out


def tokenizer_json(vocab, merges):
    """Same structure as openai/clip-vit-base-patch32's tokenizer.json, smaller vocab."""
    bos, eos = vocab[BOS], vocab[EOS]

    def added(token, i):
        return {"id": i, "content": token, "single_word": False, "lstrip": False, "rstrip": False,
                "normalized": True, "special": True}

    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [added(BOS, bos), added(EOS, eos)],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "NFC"},
            {"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": " "},
            {"type": "Lowercase"},
        ]},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split",
             "pattern": {"Regex": "'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+"},
             "behavior": "Removed", "invert": True},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False},
        ]},
        "post_processor": {"type": "RobertaProcessing", "sep": [EOS, eos], "cls": [BOS, bos],
                           "trim_offsets": False, "add_prefix_space": False},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {
            "type": "BPE", "dropout": None, "unk_token": EOS, "continuing_subword_prefix": "",
            "end_of_word_suffix": "</w>", "fuse_unk": False, "byte_fallback": False,
            "vocab": vocab,
            "merges": [f"{a} {b}" for a, b in merges],
        },
    }


TOKENIZER_CONFIG = {
    "model_max_length": MAX_POSITIONS,
    "do_lower_case": True,
    "bos_token": BOS,
    "eos_token": EOS,
    "unk_token": EOS,
    "pad_token": EOS,
    "tokenizer_class": "CLIPTokenizer",
}

PREPROCESSOR_CONFIG = {
    "crop_size": {"height": IMAGE_SIZE, "width": IMAGE_SIZE},
    "do_center_crop": True, "do_convert_rgb": True, "do_normalize": True, "do_rescale": True, "do_resize": True,
    "image_mean": CLIP_MEAN, "image_std": CLIP_STD, "resample": 3, "rescale_factor": 1 / 255,
    "size": {"shortest_edge": IMAGE_SIZE},
    "feature_extractor_type": "CLIPFeatureExtractor", "image_processor_type": "CLIPImageProcessor",
}

# --------------------------------------------------------------------------------------
# Model (CLIP architecture, Hugging Face parameter naming, plain torch)
# --------------------------------------------------------------------------------------

class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.head_dim = dim // heads  # a Python int, so the export does not compute it at run time
        self.q_proj = nn.Linear(dim, dim)
        self.k_proj = nn.Linear(dim, dim)
        self.v_proj = nn.Linear(dim, dim)
        self.out_proj = nn.Linear(dim, dim)

    def forward(self, x, bias=None):
        n, length, dim = x.shape
        hd = self.head_dim

        def split(t):  # [N, L, D] -> [N, H, L, D/H]
            return t.reshape(n, length, self.heads, hd).transpose(1, 2)

        q, k, v = split(self.q_proj(x)), split(self.k_proj(x)), split(self.v_proj(x))
        scores = (q @ k.transpose(-1, -2)) * hd ** -0.5
        if bias is not None:
            scores = scores + bias
        out = (scores.softmax(-1) @ v).transpose(1, 2).reshape(n, length, dim)
        return self.out_proj(out)


class EncoderLayer(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.layer_norm1 = nn.LayerNorm(dim, eps=LN_EPS)
        self.self_attn = Attention(dim, heads)
        self.layer_norm2 = nn.LayerNorm(dim, eps=LN_EPS)
        self.fc1 = nn.Linear(dim, dim * MLP_RATIO)
        self.fc2 = nn.Linear(dim * MLP_RATIO, dim)

    def forward(self, x, bias=None):
        x = x + self.self_attn(self.layer_norm1(x), bias)
        h = self.fc1(self.layer_norm2(x))
        h = h * torch.sigmoid(1.702 * h)  # quick_gelu, CLIP's activation
        return x + self.fc2(h)


class VisionModel(nn.Module):
    def __init__(self):
        super().__init__()
        num_positions = (IMAGE_SIZE // PATCH_SIZE) ** 2 + 1
        self.patch_embedding = nn.Conv2d(3, HIDDEN, PATCH_SIZE, PATCH_SIZE, bias=False)
        self.class_embedding = nn.Parameter(torch.randn(HIDDEN) * HIDDEN ** -0.5)
        self.position_embedding = nn.Parameter(torch.randn(num_positions, HIDDEN) * 0.02)
        self.pre_layrnorm = nn.LayerNorm(HIDDEN, eps=LN_EPS)  # sic: HF's spelling
        self.layers = nn.ModuleList(EncoderLayer(HIDDEN, HEADS) for _ in range(LAYERS))
        self.post_layernorm = nn.LayerNorm(HIDDEN, eps=LN_EPS)
        self.visual_projection = nn.Linear(HIDDEN, PROJECTION_DIM, bias=False)

    def forward(self, pixel_values):
        x = self.patch_embedding(pixel_values).flatten(2).transpose(1, 2)  # [N, patches, D]
        cls = self.class_embedding.expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], dim=1) + self.position_embedding
        x = self.pre_layrnorm(x)
        for layer in self.layers:
            x = layer(x)
        # Unnormalised on purpose: the server L2-normalises.
        return self.visual_projection(self.post_layernorm(x[:, 0]))


class TextModel(nn.Module):
    def __init__(self, vocab_size):
        super().__init__()
        self.token_embedding = nn.Embedding(vocab_size, HIDDEN)
        self.position_embedding = nn.Parameter(torch.randn(MAX_POSITIONS, HIDDEN) * 0.02)
        self.layers = nn.ModuleList(EncoderLayer(HIDDEN, HEADS) for _ in range(LAYERS))
        self.final_layer_norm = nn.LayerNorm(HIDDEN, eps=LN_EPS)
        self.text_projection = nn.Linear(HIDDEN, PROJECTION_DIM, bias=False)

    def forward(self, input_ids, attention_mask=None):
        length = input_ids.shape[1]
        x = self.token_embedding(input_ids) + self.position_embedding[:length]
        # Causal mask plus key padding mask as one additive bias. A large finite value
        # rather than -inf so that a fully masked row cannot turn into NaN. Without a
        # mask (open_clip layout) the causal mask alone suffices: padding only ever
        # follows the end-of-text token, which therefore never attends to it.
        pos = torch.arange(length)
        allowed = (pos[None, :] <= pos[:, None])[None, None]
        if attention_mask is not None:
            allowed = allowed & attention_mask[:, None, None, :].bool()
        bias = (~allowed).to(x.dtype) * -1e9
        for layer in self.layers:
            x = layer(x, bias)
        x = self.final_layer_norm(x)
        # Pool at the end-of-text token, found as the highest id (CLIP's trick; EOS is
        # the last vocab entry). Cast to int32 first as HF does: ArgMax on int64 is
        # not implemented by every ONNX runtime. argmax returns the first maximum, so
        # padding with EOS after the real EOS is harmless.
        eot = input_ids.to(torch.int32).argmax(-1)
        idx = eot.view(-1, 1, 1).expand(-1, 1, x.shape[-1])
        # [:, 0] rather than squeeze(1): squeeze on a dynamic shape exports as an If node.
        return self.text_projection(x.gather(1, idx)[:, 0])


def synthetic_image(k):
    """A deterministic pixel_values tensor [3, 224, 224] that JS can rebuild exactly:
    integer arithmetic, then /16 (a power of two) so every value is exact in float32.
    Values lie in [-1, 1], roughly the range of normalised real images."""
    c, y, x = np.meshgrid(np.arange(3), np.arange(IMAGE_SIZE), np.arange(IMAGE_SIZE), indexing="ij")
    v = (x * (c + k) + y * (2 * k + 1) + (x * y) % 7) % 33
    return torch.from_numpy((v.astype(np.float32) / 16) - 1)


SYNTHETIC_IMAGE_FORMULA = ("pixel_values[0][c][y][x] = ((x*(c+k) + y*(2*k+1) + (x*y) % 7) % 33) / 16 - 1, "
                           "for c in 0..2, y and x in 0..223")


# --------------------------------------------------------------------------------------
# Export and weight-only int8 quantisation
# --------------------------------------------------------------------------------------

def export(model, args, path, input_names, output_names, dynamic_axes, doc):
    torch.onnx.export(model, args, path, input_names=input_names, output_names=output_names,
                      dynamic_axes=dynamic_axes, opset_version=OPSET, do_constant_folding=True)
    m = onnx.load(path)
    m.doc_string = doc
    onnx.checker.check_model(m)
    onnx.save(m, path)


def quantize_weights(src, dst):
    """Store every float32 MatMul/Gemm weight initializer as int8 plus a per-output-
    channel scale, with a DequantizeLinear node rebuilding the float weight under its
    original name. Activations stay float, so every runtime can run it (unlike
    MatMulInteger-style dynamic quantisation); it only shrinks the file.

    Symmetric (zero point 0, range -127..127) because random weights are centred."""
    m = onnx.load(src)
    g = m.graph
    inits = {t.name: t for t in g.initializer}

    # Which axis of each candidate weight indexes output channels; None = don't touch.
    axis_of = {}
    for node in g.node:
        for pos, name in enumerate(node.input):
            if name not in inits:
                continue
            axis = None
            if pos == 1 and node.op_type == "MatMul":
                axis = 1  # x[.., K] @ W[K, N]
            elif pos == 1 and node.op_type == "Gemm":
                trans_b = next((a.i for a in node.attribute if a.name == "transB"), 0)
                axis = 0 if trans_b else 1
            # A weight also used elsewhere, or by two nodes with different layouts, is
            # left alone rather than guessed at.
            axis_of[name] = axis if axis_of.get(name, axis) == axis else None

    dq_nodes, replaced = [], 0
    for name, axis in sorted(axis_of.items()):
        t = inits[name]
        if axis is None or t.data_type != TensorProto.FLOAT or len(t.dims) != 2:
            continue
        w = numpy_helper.to_array(t)
        reduce_axis = 1 - axis
        scale = np.abs(w).max(axis=reduce_axis) / 127.0
        scale[scale == 0] = 1.0  # an all-zero channel would otherwise divide by zero
        scale = scale.astype(np.float32)
        q = np.clip(np.round(w / np.expand_dims(scale, reduce_axis)), -127, 127).astype(np.int8)
        g.initializer.remove(t)
        g.initializer.extend([
            numpy_helper.from_array(q, name + "_quantized"),
            numpy_helper.from_array(scale, name + "_scale"),
            numpy_helper.from_array(np.zeros_like(q, shape=scale.shape), name + "_zero_point"),
        ])
        dq_nodes.append(helper.make_node(
            "DequantizeLinear", [name + "_quantized", name + "_scale", name + "_zero_point"], [name],
            name=name + "_DequantizeLinear", axis=axis))
        replaced += 1

    # Dequantize nodes depend only on initializers, so putting them first keeps the
    # node list topologically sorted.
    nodes = dq_nodes + list(g.node)
    del g.node[:]
    g.node.extend(nodes)
    m.doc_string += f" Weight-only int8 quantisation of {replaced} MatMul/Gemm weights."
    onnx.checker.check_model(m)
    onnx.save(m, dst)
    return replaced


# --------------------------------------------------------------------------------------

def f32(values):
    # 9 significant digits round-trip any float32, and keep reference.json stable.
    return [float(f"{v:.9g}") for v in values]


def write_json(path, obj):
    text = json.dumps(obj, indent=2, ensure_ascii=False)
    # Lists of numbers on one line each, so reference.json stays short and diffable.
    text = re.sub(r"\[\s+([-+0-9.eE,\s]+?)\s+\]", lambda m: "[" + " ".join(m.group(1).split()) + "]", text)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text + "\n")


def file_size(path):
    return os.path.getsize(path)


def build_tokenizer():
    """The tiny BPE tokenizer: (vocab, merges, reference encoder)."""
    merges = train_bpe(training_corpus(), NUM_MERGES)
    vocab = build_vocab(merges)
    return vocab, merges, BPETokenizer(vocab, merges)


def build_models(vocab_size):
    """The seeded (vision, text) models in eval mode. Seeds torch itself and builds
    vision first, then text: that order fixes which random numbers each gets, so every
    caller (this script, make_tiny_openclip.py) gets the very same weights."""
    torch.manual_seed(SEED)
    vision = VisionModel().eval()
    text = TextModel(vocab_size).eval()
    with torch.no_grad():
        for module in (*vision.modules(), *text.modules()):
            if isinstance(module, nn.Linear):
                module.weight.mul_(LINEAR_GAIN)
    return vision, text


def set_deterministic():
    # Determinism: fixed seed, single thread (so float reductions in the reference
    # outputs happen in one order), deterministic kernels only.
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="output folder, e.g. models/tiny-clip")
    a = ap.parse_args()
    out = a.out
    os.makedirs(os.path.join(out, "onnx"), exist_ok=True)

    set_deterministic()

    # Tokenizer
    vocab, merges, tok = build_tokenizer()
    write_json(os.path.join(out, "tokenizer.json"), tokenizer_json(vocab, merges))
    write_json(os.path.join(out, "tokenizer_config.json"), TOKENIZER_CONFIG)
    vocab_size = len(vocab)
    bos_id, eos_id = vocab[BOS], vocab[EOS]
    assert eos_id == vocab_size - 1 and bos_id == vocab_size - 2

    # Configs
    write_json(os.path.join(out, "config.json"), {
        "model_type": "clip",
        "architectures": ["CLIPModel"],
        "projection_dim": PROJECTION_DIM,
        "logit_scale_init_value": 2.6592,
        "text_config": {
            "model_type": "clip_text_model", "hidden_size": HIDDEN, "intermediate_size": HIDDEN * MLP_RATIO,
            "num_hidden_layers": LAYERS, "num_attention_heads": HEADS, "hidden_act": "quick_gelu",
            "layer_norm_eps": LN_EPS, "vocab_size": vocab_size, "max_position_embeddings": MAX_POSITIONS,
            "bos_token_id": bos_id, "eos_token_id": eos_id, "pad_token_id": eos_id,
        },
        "vision_config": {
            "model_type": "clip_vision_model", "hidden_size": HIDDEN, "intermediate_size": HIDDEN * MLP_RATIO,
            "num_hidden_layers": LAYERS, "num_attention_heads": HEADS, "hidden_act": "quick_gelu",
            "layer_norm_eps": LN_EPS, "image_size": IMAGE_SIZE, "patch_size": PATCH_SIZE,
        },
    })
    write_json(os.path.join(out, "preprocessor_config.json"), PREPROCESSOR_CONFIG)

    vision, text = build_models(vocab_size)
    doc = "Tiny CLIP with random weights (seed %d), for tests only; embeddings are meaningless." % SEED
    paths = {k: os.path.join(out, "onnx", k + ".onnx") for k in
             ("vision_model", "text_model", "vision_model_quantized", "text_model_quantized")}
    with torch.no_grad():
        # Trace with batch 2 and a padded row so nothing gets specialised to batch 1 or
        # to an all-ones mask.
        export(vision, (torch.stack([synthetic_image(1), synthetic_image(2)]),), paths["vision_model"],
               ["pixel_values"], ["image_embeds"],
               {"pixel_values": {0: "batch_size"}, "image_embeds": {0: "batch_size"}}, doc)
        a_ids = tok.encode("a photo of a pump")
        b_ids = tok.encode("valve")
        b_ids += [eos_id] * (len(a_ids) - len(b_ids))
        ids = torch.tensor([a_ids, b_ids])
        mask = (torch.arange(len(a_ids))[None] < torch.tensor([[len(a_ids)], [3]])).long()
        export(text, (ids, mask), paths["text_model"], ["input_ids", "attention_mask"], ["text_embeds"],
               {"input_ids": {0: "batch_size", 1: "sequence_length"},
                "attention_mask": {0: "batch_size", 1: "sequence_length"},
                "text_embeds": {0: "batch_size"}}, doc)
    n_vq = quantize_weights(paths["vision_model"], paths["vision_model_quantized"])
    n_tq = quantize_weights(paths["text_model"], paths["text_model_quantized"])

    # Reference outputs from PyTorch, one input at a time (no padding involved).
    ref = {
        "description": "PyTorch outputs of the tiny CLIP, unnormalised; input_ids from the "
                       "script's own BPE implementation (with start/end tokens, no padding; "
                       "longer texts truncated to 77 ids, keeping the end token).",
        "vocab_size": vocab_size, "bos_token_id": bos_id, "eos_token_id": eos_id,
        "projection_dim": PROJECTION_DIM,
        "texts": [], "images": [],
    }
    with torch.no_grad():
        for s in REFERENCE_TEXTS:
            ids = tok.encode(s)
            t = torch.tensor([ids])
            emb = text(t, torch.ones_like(t))[0].tolist()
            ref["texts"].append({"text": s, "input_ids": ids, "text_embeds": f32(emb)})
        for k in (1, 2):
            emb = vision(synthetic_image(k)[None])[0].tolist()
            ref["images"].append({"k": k, "formula": SYNTHETIC_IMAGE_FORMULA, "image_embeds": f32(emb)})
    write_json(os.path.join(out, "reference.json"), ref)

    sizes = {os.path.relpath(p, out): file_size(p) for p in paths.values()}
    sizes["tokenizer.json"] = file_size(os.path.join(out, "tokenizer.json"))
    write_readme(out, vocab_size, len(merges), n_vq, n_tq, sizes)
    print(f"vocab {vocab_size} ({len(merges)} merges), embedding dim {PROJECTION_DIM}")
    for name, size in sorted(sizes.items()):
        print(f"  {name}: {size / 1024:.1f} KiB")


def write_readme(out, vocab_size, n_merges, n_vq, n_tq, sizes):
    rows = "\n".join(f"| `{n}` | {s / 1024:.0f} KiB |" for n, s in sorted(sizes.items()))
    text = f"""# tiny-clip: a test-only CLIP model

**Random weights. The embeddings mean nothing.** Use this model for tests and plumbing
only (tokenizer -> ONNX -> embeddings, batching, padding, quantized loading), never to
judge search quality.

It has the CLIP architecture and the Hugging Face / transformers.js file layout, so the
code that loads a real CLIP (e.g. `Xenova/clip-vit-base-patch32`) loads this one too:

- `onnx/text_model.onnx`: `input_ids`, `attention_mask` (int64 `[batch, seq]`, seq <= {MAX_POSITIONS})
  -> `text_embeds` float32 `[batch, {PROJECTION_DIM}]`, pooled at the end-of-text token (argmax of `input_ids`).
- `onnx/vision_model.onnx`: `pixel_values` float32 `[batch, 3, {IMAGE_SIZE}, {IMAGE_SIZE}]` -> `image_embeds` float32 `[batch, {PROJECTION_DIM}]`.
- `onnx/*_quantized.onnx`: the same graphs with the {n_tq} (text) / {n_vq} (vision) MatMul weights
  stored as per-channel int8 and a `DequantizeLinear` in front (weight-only; the patch
  convolution and token embedding stay float32).
- Embeddings are **not** L2-normalised; the caller normalises.
- `tokenizer.json`: CLIP's byte-level BPE pipeline (same normalizer, pre-tokenizer,
  post-processor and decoder as the real CLIP tokenizer) with a small vocabulary:
  512 byte symbols, {n_merges} merges learnt from a built-in corpus about industrial
  equipment, then `<|startoftext|>` ({vocab_size - 2}) and `<|endoftext|>` ({vocab_size - 1}): {vocab_size} tokens.
- `reference.json`: PyTorch outputs and token ids for a few strings and two synthetic
  images (formula inside), to check the ONNX export and the JS tokenizer against.

Model: hidden {HIDDEN}, {LAYERS} layers, {HEADS} heads, MLP {HIDDEN * MLP_RATIO}, patch {PATCH_SIZE}, image {IMAGE_SIZE},
projection {PROJECTION_DIM}, opset {OPSET}, seed {SEED}.

## How it was made

    /usr/bin/python3 models/scripts/make_tiny_clip.py --out models/tiny-clip
    node models/scripts/check_tiny_clip.mjs

The first needs torch, numpy and onnx (Debian: `python3-torch python3-onnx`); the second
checks the graphs with onnxruntime-node and the tokenizer with `@huggingface/tokenizers`
against `reference.json`.

## Sizes

| file | size |
| --- | --- |
{rows}
"""
    with open(os.path.join(out, "README.md"), "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    main()
