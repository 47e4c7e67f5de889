"""`costmodel batch` on Dask distributed: a 2-worker LocalCluster gives the `--jobs 1`
result for result, in input order, also when a worker is SIGKILLed mid-run (its tasks are
retried on the other worker: nothing lost, nothing duplicated)."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
from onnx import helper

from costmodel_cli.main import main
from tests.helpers import big_init, model, vi

distributed = pytest.importorskip("distributed")

N_GRAPHS = 300


def _graph(i: int):
    """MatMul [b, k] x [k, n] then Relu, with sizes varying by i so every result differs."""
    k, n = 8 + i % 17, 4 + i // 17
    return model(
        [helper.make_node("MatMul", ["x", "w"], ["y"]), helper.make_node("Relu", ["y"], ["z"])],
        [vi("x", ["batch", k])],
        [vi("z", ["batch", n])],
        [big_init("w", [k, n])],
    )


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> list[str]:
    d = tmp_path_factory.mktemp("corpus")
    paths = []
    for i in range(N_GRAPHS):
        p = d / f"g{i:03d}.onnx"
        p.write_bytes(_graph(i).SerializeToString())
        paths.append(str(p))
    return paths


@pytest.fixture(scope="module")
def cluster():
    from distributed import Client, LocalCluster

    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=50) as c,
        Client(c) as client,
    ):
        yield c, client


def _rows(capsys, *argv: str) -> tuple[int, list[dict]]:
    rc = main(list(argv))
    out = capsys.readouterr().out
    rows = json.loads(out)
    for r in rows:
        r.pop("seconds", None)  # wall time, the one field that may differ
    return rc, rows


@pytest.fixture(scope="module")
def reference(corpus) -> list[dict]:
    from costmodel.batch import analyze_many

    rows = analyze_many(corpus, jobs=1, bindings={"batch": 3})
    for r in rows:
        r.pop("seconds", None)
    return rows


def test_reference_is_exact(reference, corpus):
    assert [r["model"] for r in reference] == corpus and all(r["ok"] for r in reference)
    # graph 20: k = 8 + 20 % 17 = 11, n = 4 + 20 // 17 = 5, batch 3:
    # MatMul 2*3*11*5 = 330 FLOPs, Relu 3*5 = 15 -> 345; MACs 3*11*5 = 165; params 11*5 = 55
    assert (reference[20]["flops"], reference[20]["macs"], reference[20]["params"]) == (345, 165, 55)


def test_scheduler_equals_jobs_1(cluster, corpus, reference, capsys):
    c, _ = cluster
    rc, rows = _rows(
        capsys, "batch", *corpus, "--scheduler", c.scheduler_address, "--set", "batch=3", "--format", "json",
        "--no-progress",
    )  # fmt: skip
    assert rc == 0
    assert rows == reference


class _KillOnce(distributed.WorkerPlugin):
    """SIGKILLs the first worker that finishes `after` tasks, once (a marker file makes it
    once across the restarted worker and the other one): a worker dying mid-run, with a
    finished result it never delivered."""

    name = "costmodel-test-kill-once"

    def __init__(self, marker: str, after: int) -> None:
        self.marker = marker
        self.after = after
        self.count = 0

    def transition(self, key, start, finish, **kwargs) -> None:
        if finish != "memory":
            return
        self.count += 1
        if self.count < self.after:
            return
        try:
            fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return
        os.close(fd)
        os.kill(os.getpid(), signal.SIGKILL)


def test_a_worker_killed_mid_run_loses_and_duplicates_nothing(cluster, corpus, reference, capsys, tmp_path):
    c, client = cluster
    marker = tmp_path / "killed"
    client.register_plugin(_KillOnce(str(marker), after=40))
    try:
        rc, rows = _rows(
            capsys, "batch", *corpus, "--scheduler", c.scheduler_address, "--set", "batch=3", "--format", "json",
            "--no-progress",
        )  # fmt: skip
    finally:
        client.unregister_worker_plugin(_KillOnce.name)
    assert marker.exists(), "no worker was killed: the test did not test anything"
    assert rc == 0
    assert [r["model"] for r in rows] == corpus  # each once, in input order
    assert rows == reference


def test_streamed_outputs_match(cluster, corpus, reference, tmp_path, capsys):
    c, _ = cluster
    out = tmp_path / "r.jsonl"
    rc = main(["batch", *corpus[:50], "--scheduler", c.scheduler_address, "--set", "batch=3", "-o", str(out)])
    assert rc == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    for r in lines:
        r.pop("seconds")
    assert lines == reference[:50]
    assert "wrote 50 results" in capsys.readouterr().err


def test_local_cluster_option_with_an_error_entry(tmp_path, corpus, reference, capsys):
    bad = tmp_path / "[red]bad[bold].onnx"  # markup characters in a failing file's name
    bad.write_bytes(b"not a protobuf")
    files = [corpus[0], str(bad), corpus[1]]
    rc = main(["batch", *files, "--cluster", "local", "--jobs", "2", "--set", "batch=3", "--format", "json"])
    rows = json.loads(capsys.readouterr().out)
    assert rc == 2
    assert [r["ok"] for r in rows] == [True, False, True]
    assert rows[1]["error_type"] == "ModelLoadError"
    assert rows[2]["flops"] == reference[1]["flops"]


def test_a_scheduler_nobody_runs_is_exit_2(corpus, capsys):
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        rc = main(["batch", corpus[0], "--scheduler", "tcp://127.0.0.1:9", "--format", "json"])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("costmodel: error:") and "scheduler" in err


def test_files_from_list(tmp_path, corpus, reference, capsys):
    lst = tmp_path / "files.txt"
    lst.write_text("\n".join(corpus[:5]) + "\n\n")
    rc, rows = _rows(capsys, "batch", "--files-from", str(lst), "-j", "1", "--set", "batch=3", "--format", "json")
    assert rc == 0 and rows == reference[:5]


def test_markup_in_a_failing_name_does_not_crash_the_table(tmp_path, corpus, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    (tmp_path / "[").mkdir()
    bad = tmp_path / "[" / "].onnx"  # the path holds "[/]", rich's closing tag
    bad.write_bytes(b"junk")
    assert main(["batch", str(bad), corpus[0], "-j", "1"]) == 2
    out = capsys.readouterr().out
    assert "ModelLoadError" in out and "[/].onnx" in out  # shown as text, not parsed as markup


def test_table_with_free_dims_and_no_hardware(corpus, capsys):
    """A formula (free dim, no --hardware) is shown as text, not float()ed."""
    assert main(["batch", corpus[0], "-j", "1"]) == 0
    assert "batch" in capsys.readouterr().out


def test_csv_and_parquet_outputs(tmp_path, corpus, reference):
    out = tmp_path / "r.csv"
    assert main(["batch", *corpus[:3], "-j", "1", "--set", "batch=3", "-o", str(out)]) == 0
    text = out.read_text().splitlines()
    assert text[0].startswith("model,ok,nodes,flops") and len(text) == 4
    assert f",{reference[2]['flops']}," in text[3]
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "r.parquet"
    assert main(["batch", *corpus[:3], "-j", "1", "-o", str(out)]) == 0  # batch left free: formulas
    t = pq.read_table(out).to_pylist()
    assert [r["model"] for r in t] == corpus[:3]
    assert t[0]["params"] == 8 * 4  # graph 0: k = 8, n = 4: a concrete count, exact
    assert t[0]["flops"] is None and "batch" in json.loads(t[0]["formulas"])["flops"]


def test_output_refuses_an_input_and_unknown_suffix(tmp_path, corpus, capsys):
    also_input = tmp_path / "r.json"
    also_input.write_text("{}")
    assert main(["batch", corpus[0], str(also_input), "-j", "1", "-o", str(also_input)]) == 2
    assert "input" in capsys.readouterr().err and also_input.read_text() == "{}"
    assert main(["batch", corpus[0], "-j", "1", "-o", str(tmp_path / "r.txt")]) == 2
    assert main(["batch", corpus[0], "-j", "1", "-o", str(tmp_path / "r.csv"), "--format", "json"]) == 2
    assert not (tmp_path / "r.csv").exists()


def test_parquet_without_pyarrow_is_a_clear_error(tmp_path, corpus, capsys, monkeypatch):
    import builtins

    real = builtins.__import__

    def no_pyarrow(name, *a, **kw):
        if name.split(".")[0] == "pyarrow":
            raise ImportError("no pyarrow")
        return real(name, *a, **kw)

    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    rc = main(["batch", corpus[0], "-j", "1", "-o", str(tmp_path / "r.parquet")])
    err = capsys.readouterr().err
    assert rc == 2 and "pyarrow" in err and not Path(tmp_path / "r.parquet").exists()


def test_plan_search_on_dask_equals_here(cluster, capsys):
    """The plan search's candidates evaluated on the cluster: the same ranked list."""
    c, _ = cluster
    argv = ["plan", "train", "gpt-2", "--hardware", "h100", "--gpus", "1,2", "--batch", "16", "--seq-len", "512"]
    argv += ["--tokens", "1e9", "--format", "json"]
    assert main(argv) == 0
    here = json.loads(capsys.readouterr().out)
    assert main([*argv, "--scheduler", c.scheduler_address]) == 0
    there = json.loads(capsys.readouterr().out)
    assert main([*argv, "--jobs", "2"]) == 0
    pooled = json.loads(capsys.readouterr().out)
    assert here == there == pooled and here["evaluated"] > 20


def test_map_ordered_keeps_order_and_bounds_the_window():
    from costmodel.parallel import InlineExecutor, ProcessExecutor, map_ordered

    seen: list[int] = []
    pulled = 0

    def items():
        nonlocal pulled
        for x in range(-50, 50):
            pulled += 1
            yield x

    out = []
    for r in map_ordered(abs, items(), InlineExecutor(), window=7, on_done=lambda i, r: seen.append(i)):
        out.append(r)
        assert pulled - len(out) < 7  # never more than the window read ahead of the output
    assert out == [abs(x) for x in range(-50, 50)] and sorted(seen) == list(range(100))
    with ProcessExecutor(2) as ex:
        assert list(map_ordered(abs, range(-30, 30), ex, window=4)) == [abs(x) for x in range(-30, 30)]
    boom = list(map_ordered(_fail_on_3, range(6), InlineExecutor(), on_error=lambda item, e: -item))
    assert boom == [0, 1, 2, -3, 4, 5]


def _fail_on_3(x: int) -> int:
    if x == 3:
        raise ValueError("three")
    return x
