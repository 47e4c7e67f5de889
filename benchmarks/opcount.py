"""Python bytecodes executed by one warm analysis: a noise-free cost measure for a shared,
noisy machine (wall time there varies by 2x from run to run; this count does not vary).
It leaves out time spent in C (numpy, protobuf parsing), so it complements timings.

    python benchmarks/opcount.py MODEL [--set NAME=INT ...] [--top N] [--root CHECKOUT] [--warm]

--root times another checkout of costmodel (e.g. a `git worktree` of an older commit).
Counted cold (the rule outcomes the analysis keeps between analyses forgotten first)
unless --warm.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=INT")
    ap.add_argument("--top", type=int, default=0, help="list the N functions executing the most bytecodes")
    ap.add_argument("--warm", action="store_true", help="keep the rule outcomes of the warm-up analysis")
    ap.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    a = ap.parse_args(argv)
    sys.path.insert(0, os.path.abspath(a.root))
    import costmodel

    bindings = {k: int(v) for k, v in (s.split("=", 1) for s in a.set)} or None
    costmodel.analyze(a.model, bindings=bindings)  # warm: rule modules imported, caches filled
    if not a.warm:  # the graph's first analysis in this thread: every distinct signature runs its rule
        from costmodel import analysis

        getattr(analysis, "clear_memo", lambda: None)()
    counts: collections.Counter = collections.Counter()

    def tracer(frame, event, arg):
        if event == "call":
            frame.f_trace_opcodes = True
            return tracer
        if event == "opcode":
            co = frame.f_code
            counts[(co.co_filename, co.co_firstlineno, co.co_name)] += 1
        return tracer

    sys.settrace(tracer)
    costmodel.analyze(a.model, bindings=bindings)
    sys.settrace(None)
    total = sum(counts.values())
    print(f"{os.path.basename(a.model)} {bindings or 'no bindings'}: {total} bytecodes")
    for (f, line, name), n in counts.most_common(a.top):
        print(f"{n:10d} {n / total * 100:5.1f}%  {f}:{line} {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
