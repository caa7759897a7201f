"""How DAG parsing time grows with the number of providers (method and figures: DAG_PARSE.md).

`python -m benchmarks.dag_parse` generates N provider YAMLs (copies of the demo ones, formats mixed) into a temporary
MEDIA_PROVIDERS_DIR and parses every file of dags/ as Airflow's DAG processor does: one fresh interpreter per file,
Airflow imported first (the processor forks from a process that has it), then the file's DagBag (what counts against
`dagbag_import_timeout`) and the serialisation of its DAGs. A task start is measured too: the worker parses the DAG's
file again, with Airflow's parsing context naming the DAG.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DAGS_DIR = PROJECT_ROOT / "dags"
DEMO_PROVIDERS = sorted((PROJECT_ROOT / "include" / "providers").glob("demo_*.yaml"))
PARSING_CONTEXT_DAG_ID_ENV = "_AIRFLOW_PARSING_CONTEXT_DAG_ID"  # what the task runner sets while it parses

# Run in the child: Airflow first (untimed, as in the forked processor), then the file's DagBag and serialisation.
_CHILD = """
import json, sys, time
from airflow.dag_processing.dagbag import BundleDagBag
from airflow.serialization.serialized_objects import DagSerialization

path, bundle = sys.argv[1], sys.argv[2]
start = time.perf_counter()
bag = BundleDagBag(dag_folder=path, bundle_path=bundle, bundle_name="dags-folder", load_op_links=False)
parsed = time.perf_counter()
for dag in bag.dags.values():
    DagSerialization.to_dict(dag)
done = time.perf_counter()
print(json.dumps({"import_s": parsed - start, "serialize_s": done - parsed, "dags": len(bag.dags),
                  "tasks": sum(len(dag.tasks) for dag in bag.dags.values()), "import_errors": len(bag.import_errors)}))
"""


def write_providers(folder: Path, count: int) -> list[str]:
    """`count` provider YAMLs in `folder`: the demo providers in turn, each with a new id (its file name)."""
    folder.mkdir(parents=True, exist_ok=True)
    ids = []
    for index in range(count):
        template = DEMO_PROVIDERS[index % len(DEMO_PROVIDERS)]
        provider_id = f"bench_{index:05d}_{template.stem.removeprefix('demo_')}"
        text = re.sub(r"^provider_id: .*$", f"provider_id: {provider_id}", template.read_text(), flags=re.MULTILINE)
        (folder / f"{provider_id}.yaml").write_text(text)
        ids.append(provider_id)
    return ids


def parse_file(path: Path, env: dict[str, str]) -> dict[str, Any]:
    """Parse one dags/ file in a fresh interpreter; its timings and what it found."""
    done = subprocess.run(  # noqa: S603 - this interpreter, the project's own DAG files
        [sys.executable, "-c", _CHILD, str(path), str(DAGS_DIR)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"parsing {path.name} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def measure(count: int, repeat: int, execution_mode: str) -> dict[str, Any]:
    """Every repetition for `count` providers: each dags/ file parsed on its own, then one task start."""
    files = sorted(DAGS_DIR.glob("*.py"))
    with tempfile.TemporaryDirectory(prefix="dag-parse-") as tmp:
        ids = write_providers(Path(tmp), count)
        env = {**os.environ, "MEDIA_PROVIDERS_DIR": tmp, "MEDIA_EXECUTION_MODE": execution_mode}
        env.pop(PARSING_CONTEXT_DAG_ID_ENV, None)
        runs = []
        for _ in range(repeat):
            per_file = {path.name: parse_file(path, env) for path in files}
            task_start = parse_file(
                DAGS_DIR / "provider_dags.py", {**env, PARSING_CONTEXT_DAG_ID_ENV: f"ingest_{ids[0]}"}
            )
            runs.append(
                {
                    "files": per_file,
                    "import_s": sum(entry["import_s"] for entry in per_file.values()),
                    "serialize_s": sum(entry["serialize_s"] for entry in per_file.values()),
                    "slowest_file_import_s": max(entry["import_s"] for entry in per_file.values()),
                    "task_start_import_s": task_start["import_s"],
                    "task_start_dags": task_start["dags"],
                    "dags": sum(entry["dags"] for entry in per_file.values()),
                    "tasks": sum(entry["tasks"] for entry in per_file.values()),
                    "import_errors": sum(entry["import_errors"] for entry in per_file.values()),
                }
            )
    return {"providers": count, "execution_mode": execution_mode, "runs": runs, **summarise(runs)}


def summarise(runs: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Min and median of each timing over the repetitions."""
    keys = ("import_s", "serialize_s", "slowest_file_import_s", "task_start_import_s")
    figures = {}
    for key in keys:
        values = [run[key] for run in runs]
        figures[f"{key}_min"] = min(values)
        figures[f"{key}_median"] = statistics.median(values)
    return figures


def report(results: Sequence[dict[str, Any]]) -> str:
    """The table of figures per N, the per-provider cost and the ratios between consecutive N."""
    lines = [
        f"{'providers':>9} {'dags':>5} {'tasks':>6}  {'parse min':>9} {'median':>7}  {'per provider':>12}"
        f"  {'+serialise':>10}  {'slowest file':>12}  {'task start':>10}",
    ]
    for result in results:
        run = result["runs"][0]
        lines.append(
            f"{result['providers']:>9} {run['dags']:>5} {run['tasks']:>6}  {result['import_s_min']:>8.2f}s"
            f" {result['import_s_median']:>6.2f}s  {result['import_s_median'] / result['providers'] * 1000:>10.2f}ms"
            f"  {result['serialize_s_median']:>9.2f}s  {result['slowest_file_import_s_median']:>11.2f}s"
            f"  {result['task_start_import_s_median']:>9.2f}s"
        )
    ordered = sorted(results, key=lambda result: result["providers"])
    for small, large in zip(ordered, ordered[1:], strict=False):
        added = large["providers"] - small["providers"]
        lines.append(
            f"{large['providers']}/{small['providers']} providers: parse ratio"
            f" {large['import_s_min'] / small['import_s_min']:.1f} (min), "
            f"{large['import_s_median'] / small['import_s_median']:.1f} (median); proportional growth is"
            f" {large['providers'] / small['providers']:.0f}; per added provider"
            f" {(large['import_s_min'] - small['import_s_min']) / added * 1000:.2f} ms (min),"
            f" {(large['import_s_median'] - small['import_s_median']) / added * 1000:.2f} ms (median)"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark for each --providers count and print the figures; --json-out also writes them."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.dag_parse", description=__doc__)
    parser.add_argument("--providers", type=int, nargs="+", default=[5, 100, 1000], help="provider counts to parse")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions per count (fresh interpreters each)")
    parser.add_argument("--execution-mode", choices=("local", "kubernetes"), default="local", help="extract_load kind")
    parser.add_argument("--json-out", type=Path, help="also write every repetition's figures here")
    args = parser.parse_args(argv)
    results = []
    for count in args.providers:
        result = measure(count, args.repeat, args.execution_mode)
        if result["runs"][0]["import_errors"]:
            raise SystemExit(f"{count} providers: the DAG files had import errors")
        print(f"{count} providers: parse {result['import_s_median']:.2f}s (median of {args.repeat})", file=sys.stderr)
        results.append(result)
    print(f"DAG parsing, extract_load in {args.execution_mode} mode, {args.repeat} repetitions per count")
    print(report(results))
    if args.json_out:
        args.json_out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
