"""Synthetic ONNX graphs of any size, for scaling checks (10k, 100k, 1M nodes).

    python benchmarks/synthetic.py OUTDIR [--nodes 10000 100000 1000000] [--kind chain wide]

chain: a linear chain x -> MatMul(W) -> Add(b) -> Relu -> MatMul(W) ... on [batch, 64]
       (one shared weight: the graph is all nodes, the file stays small).
wide:  a DAG of layers 100 nodes wide; node j of a layer adds nodes j and j+1 of the
       layer before (100 tensors live at every step), then a Sum closes the last layer.
The input has a dynamic `batch` dim. Files are written as OUTDIR/synthetic_{kind}_{n}.onnx
(never committed: regenerate them).
"""

from __future__ import annotations

import argparse
import os
import sys

WIDTH = 100
FEATURES = 64


def build(kind: str, n_nodes: int):
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    g = onnx.GraphProto()
    g.name = f"synthetic_{kind}_{n_nodes}"
    g.input.append(helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", FEATURES]))
    g.initializer.append(numpy_helper.from_array(np.zeros((FEATURES, FEATURES), np.float32), "W"))
    g.initializer.append(numpy_helper.from_array(np.zeros((FEATURES,), np.float32), "b"))

    def node(op: str, inputs: list[str], output: str) -> None:
        nd = g.node.add()  # protobuf-level add: ~10x faster than helper.make_node at 1M nodes
        nd.op_type = op
        nd.name = output
        nd.input.extend(inputs)
        nd.output.append(output)

    if kind == "chain":
        prev = "x"
        cycle = (("MatMul", "W"), ("Add", "b"), ("Relu", None))
        for i in range(n_nodes):
            op, w = cycle[i % 3]
            out = f"t{i}"
            node(op, [prev, w] if w else [prev], out)
            prev = out
        last = prev
    elif kind == "wide":
        layer = [f"s{j}" for j in range(WIDTH)]
        for j in range(WIDTH):
            node("Relu", ["x"], layer[j])
        made = WIDTH
        depth = 0
        while made + WIDTH + 1 <= n_nodes:
            depth += 1
            nxt = [f"l{depth}_{j}" for j in range(WIDTH)]
            for j in range(WIDTH):
                node("Add", [layer[j], layer[(j + 1) % WIDTH]], nxt[j])
            layer, made = nxt, made + WIDTH
        while made + 1 < n_nodes:  # top up to exactly n_nodes with a short chain
            node("Relu", [layer[0]], f"pad{made}")
            layer = [f"pad{made}"] + layer[1:]
            made += 1
        node("Sum", layer, "y")
        last = "y"
    else:
        raise ValueError(f"unknown kind {kind!r}")
    g.output.append(helper.make_tensor_value_info(last, TensorProto.FLOAT, None))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m


def path_for(outdir: str, kind: str, n: int) -> str:
    return os.path.join(outdir, f"synthetic_{kind}_{n}.onnx")


def ensure(outdir: str, kind: str, n: int) -> str:
    path = path_for(outdir, kind, n)
    if not os.path.exists(path):
        os.makedirs(outdir, exist_ok=True)
        m = build(kind, n)
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(m.SerializeToString())
        os.replace(tmp, path)
    return path


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--nodes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--kind", nargs="+", default=["chain", "wide"], choices=["chain", "wide"])
    a = ap.parse_args(argv)
    for kind in a.kind:
        for n in a.nodes:
            p = ensure(a.outdir, kind, n)
            print(p, os.path.getsize(p), "bytes", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
