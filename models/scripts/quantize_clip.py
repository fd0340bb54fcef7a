#!/usr/bin/env python3
"""Writes the int8 (`CLIP_DTYPE=q8`) files of a CLIP folder in the Hugging Face ONNX layout:
onnx/vision_model.onnx -> onnx/vision_model_quantized.onnx, and the same for text_model.

Why a script of our own: the Hugging Face export (Xenova) of a real CLIP ships these files, but a
model you export yourself (or the random-weight benchmark model) does not, and onnxruntime's Python
quantizer is not installable here. This does what its `quantize_dynamic` does for MatMul, with
nothing but the `onnx` package and numpy (Debian: python3-onnx):

  every MatMul whose weight B is a float initializer [K, N] becomes
      A -> DynamicQuantizeLinear -> (A_q uint8, A_scale, A_zero_point)
      MatMulInteger(A_q, B_q int8, A_zero_point, B_zero_point=0) -> int32
      Cast(float) * (A_scale * B_scale[N])
  with B quantized symmetrically per output column (B_scale[n] = max|B[:, n]| / 127).

ONNX Runtime fuses that pattern into one DynamicQuantizeMatMul kernel (int8 GEMM, VNNI where the
CPU has it). Activations are quantized per call (dynamic), so no calibration data is needed.
Attention's activation x activation MatMuls, the patch convolution, embeddings and LayerNorms stay
float32. Inputs and outputs keep their names, types and shapes.

  /usr/bin/python3 models/scripts/quantize_clip.py MODEL_DIR [--only vision|text]
"""
import argparse
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def quantize_model(src, dst):
    model = onnx.load(src)
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    # Identity nodes that forward an initializer (torch exports shared weights that way).
    forwarded = {n.output[0]: n.input[0] for n in graph.node if n.op_type == "Identity" and n.input[0] in inits}
    new_nodes = []
    new_inits = []
    done = 0
    for node in graph.node:
        b_name = node.input[1] if node.op_type == "MatMul" else None
        b_name = forwarded.get(b_name, b_name)
        b_init = inits.get(b_name) if b_name else None
        if b_init is None or b_init.data_type != TensorProto.FLOAT or len(b_init.dims) != 2:
            new_nodes.append(node)
            continue
        b = numpy_helper.to_array(b_init).astype(np.float32)
        scale = np.abs(b).max(axis=0) / 127.0
        scale[scale == 0] = 1.0
        b_q = np.clip(np.round(b / scale), -127, 127).astype(np.int8)
        p = f"{node.name or node.output[0]}_q8"
        new_inits += [
            numpy_helper.from_array(b_q, p + "_B"),
            numpy_helper.from_array(scale.astype(np.float32), p + "_B_scale"),
            numpy_helper.from_array(np.zeros(scale.shape, dtype=np.int8), p + "_B_zero_point"),
        ]
        a = node.input[0]
        new_nodes += [
            helper.make_node("DynamicQuantizeLinear", [a], [p + "_A", p + "_A_scale", p + "_A_zero_point"], name=p + "_quantize"),
            helper.make_node("MatMulInteger", [p + "_A", p + "_B", p + "_A_zero_point", p + "_B_zero_point"], [p + "_int32"], name=p + "_matmul"),
            helper.make_node("Cast", [p + "_int32"], [p + "_float"], to=TensorProto.FLOAT, name=p + "_cast"),
            helper.make_node("Mul", [p + "_A_scale", p + "_B_scale"], [p + "_scale"], name=p + "_scales"),
            helper.make_node("Mul", [p + "_float", p + "_scale"], [node.output[0]], name=p + "_rescale"),
        ]
        done += 1
    del graph.node[:]
    graph.node.extend(new_nodes)
    graph.initializer.extend(new_inits)
    # Drop float weights no node reads any more.
    used = {i for n in graph.node for i in n.input}
    kept = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    # MatMulInteger and DynamicQuantizeLinear need opset >= 11 (every CLIP export has that).
    onnx.checker.check_model(model)
    onnx.save(model, dst)
    return done


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir")
    ap.add_argument("--only", choices=["vision", "text"])
    args = ap.parse_args()
    for part in ["vision", "text"]:
        if args.only and part != args.only:
            continue
        src = os.path.join(args.model_dir, "onnx", f"{part}_model.onnx")
        dst = os.path.join(args.model_dir, "onnx", f"{part}_model_quantized.onnx")
        if not os.path.isfile(src):
            sys.exit(f"{src} is missing: expected the Hugging Face ONNX layout")
        n = quantize_model(src, dst)
        print(f"{dst}: {n} MatMul weights int8, {os.path.getsize(src) // 1024} KiB -> {os.path.getsize(dst) // 1024} KiB")


if __name__ == "__main__":
    main()
