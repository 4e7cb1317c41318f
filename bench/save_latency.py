"""Save-to-diagnostics latency of the real server on examples/demo.

Starts `greenloop serve` as a subprocess (one per configuration), opens a private copy of examples/demo, and
repeatedly edits and saves `shop/pricing.py`: the time from didSave to the first publishDiagnostics for
`tests/test_cart.py` (the failing tests' diagnostics) is one sample; the time until the type checker's results
are published as well is another. Configurations run interleaved, round by round, so that a noisy machine
affects them alike. Prints a Markdown table and writes JSON next to it when asked.

    python bench/save_latency.py --runs 15 [--json docs/bench-save-latency.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import shutil
import logging
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient
from pygls.uris import from_fs_path

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "examples" / "demo"
CONFIGS = {"tests only (type_checker=off)": "off", "tests + basedpyright": "basedpyright"}


class Probe:
    """One server and one demo copy; records when diagnostics for each file arrive."""

    def __init__(self, root: Path, checker: str) -> None:
        self.root = root
        self.checker = checker
        self.client = LanguageClient("greenloop-bench", "1")
        self.arrivals: list[tuple[float, str, list[types.Diagnostic]]] = []
        self.version = 0

        @self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def on_diagnostics(_client: LanguageClient, params: types.PublishDiagnosticsParams) -> None:
            self.arrivals.append((time.monotonic(), params.uri, list(params.diagnostics)))

        @self.client.feature(types.WINDOW_LOG_MESSAGE)
        def on_log(_client: LanguageClient, params: types.LogMessageParams) -> None:
            if params.message.startswith("check done"):  # the server's end-of-check line
                self.arrivals.append((time.monotonic(), "<done>", []))

    async def start(self) -> None:
        await self.client.start_io(sys.executable, "-m", "greenloop", "serve")
        uri = from_fs_path(str(self.root)) or ""
        await self.client.initialize_async(types.InitializeParams(
            capabilities=types.ClientCapabilities(),
            root_uri=uri,
            workspace_folders=[types.WorkspaceFolder(uri=uri, name="demo")],
            initialization_options={"type_checker": self.checker, "watch": False},
        ))
        self.client.initialized(types.InitializedParams())

    async def save_once(self, timeout: float = 60) -> tuple[float, float]:
        """Edit pricing.py (a changing comment), save, and time the diagnostics."""
        path = self.root / "shop" / "pricing.py"
        self.version += 1
        text = path.read_text().split("\n# bench")[0] + f"\n# bench {self.version}\n"
        path.write_text(text)
        tests_uri = from_fs_path(str(self.root / "tests" / "test_cart.py"))
        source_uri = from_fs_path(str(path))
        self.arrivals.clear()
        started = time.monotonic()
        self.client.text_document_did_save(types.DidSaveTextDocumentParams(
            text_document=types.TextDocumentIdentifier(uri=source_uri or "")))
        while time.monotonic() - started < timeout:
            arrivals = list(self.arrivals)
            tests = [at for at, uri, diagnostics in arrivals if uri == tests_uri and diagnostics]
            done = [at for at, uri, _ in arrivals if uri == "<done>"]
            if tests and done:
                return tests[0] - started, done[0] - started
            await asyncio.sleep(0.005)
        raise RuntimeError(f"no diagnostics within {timeout} s")


    async def stop(self) -> None:
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await self.client.stop()


def bare_pytest(root: Path) -> float:
    """The floor: plain pytest on the file greenloop selects, in the same interpreter, no greenloop at all."""
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_cart.py"],
                   cwd=root, capture_output=True, check=False)
    return time.monotonic() - started


async def measure(runs: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="greenloop-bench-") as scratch:
        probes = {}
        for name, checker in CONFIGS.items():
            root = Path(scratch) / checker
            shutil.copytree(DEMO, root)
            probes[name] = Probe(root, checker)
            await probes[name].start()
        samples: dict[str, dict[str, list[float]]] = {n: {"tests": [], "all": []} for n in probes}
        floor = "plain `pytest tests/test_cart.py` (no greenloop)"
        samples[floor] = {"tests": [], "all": []}
        for probe in probes.values():  # warm-up: the first save builds the import graph, caches, etc.
            await probe.save_once()
        for _ in range(runs):
            for name, probe in probes.items():
                tests, everything = await probe.save_once()
                samples[name]["tests"].append(tests)
                samples[name]["all"].append(everything)
            elapsed = await asyncio.to_thread(bare_pytest, next(iter(probes.values())).root)
            samples[floor]["tests"].append(elapsed)
            samples[floor]["all"].append(elapsed)
        for probe in probes.values():
            await probe.stop()
    return {
        "runs": runs,
        "machine": f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}",
        "results": {
            name: {kind: {"median_s": statistics.median(v), "min_s": min(v), "max_s": max(v)} for kind, v in s.items()}
            for name, s in samples.items()
        },
    }


def table(data: dict) -> str:
    lines = [f"Save → diagnostics on examples/demo, {data['runs']} saves per configuration, interleaved "
             f"({data['machine']}).", "",
             "| configuration | test diagnostics, median (min–max) | all diagnostics, median (min–max) |",
             "|---|---|---|"]
    for name, result in data["results"].items():
        t, a = result["tests"], result["all"]
        lines.append(f"| {name} | {t['median_s']:.2f} s ({t['min_s']:.2f}–{t['max_s']:.2f}) "
                     f"| {a['median_s']:.2f} s ({a['min_s']:.2f}–{a['max_s']:.2f}) |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args()
    logging.getLogger("pygls").setLevel(logging.ERROR)
    data = asyncio.run(measure(args.runs))
    print(table(data))
    if args.json:
        args.json.write_text(json.dumps(data, indent=2) + "\n")


if __name__ == "__main__":
    main()
