"""Decode rates on the synthetic certificate photo set, per decoder.

Usage (from the repository root)::

    .venv/bin/python bench/bench_synthetic.py [--set DIR] [--samples DIR]
        [--decoders zxing-cpp,pyzbar,opencv,pipeline] [--write bench/RESULTS-synthetic.md]

Without ``--set`` the set is generated into ``bench/out/synthetic`` first.  Prints,
for each decoder, the share of images whose decoded text equals the expected text
exactly, per effect x severity x pixels per module, and the median / p95 time
per image (including JPEG decoding).
"""

from __future__ import annotations

import argparse
import collections
import datetime
import os
import platform
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import cv2

from quarantine.testing.decoders import DECODERS
from quarantine.testing.measure import (
    ImageScore,
    load_manifest,
    measure,
    median,
    percentile,
    read_count,
)
from quarantine.testing.synthetic_photos import (
    PX_PER_MODULE_SET,
    SET_LABELS,
    build_set,
    default_texts,
)

ROOT = Path(__file__).resolve().parent.parent
TARGET_PX = 2.5
TARGET_RATE = 0.97


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _pct(read: int, total: int) -> str:
    return f"{100.0 * read / total:.0f}%" if total else "–"


def _cell(scores: Sequence[ImageScore]) -> str:
    read, total = read_count(scores)
    if total == 0:
        return "–"
    return f"{read}/{total}"


def _decoder_table(scores: Sequence[ImageScore], px_values: Sequence[float]) -> list[str]:
    groups: dict[tuple[str, int], list[ImageScore]] = collections.defaultdict(list)
    for s in scores:
        groups[(s.label, s.severity)].append(s)
    order = ["clean", *SET_LABELS]
    head = "| effect | sev | " + " | ".join(f"{p:g} px" for p in px_values) + " | all | ≥2.5 px |"
    lines = [head, "|" + "---|" * (len(px_values) + 4)]
    for key in sorted(groups, key=lambda k: (order.index(k[0]) if k[0] in order else 99, k[1])):
        row = groups[key]
        cells = [_cell([s for s in row if s.px_per_module == p]) for p in px_values]
        hi = [s for s in row if s.px_per_module >= TARGET_PX]
        lines.append(
            f"| {key[0]} | {key[1]} | "
            + " | ".join(cells)
            + f" | {_cell(row)} | {_pct(*read_count(hi))} |"
        )
    by_px = [_pct(*read_count([s for s in scores if s.px_per_module == p])) for p in px_values]
    hi_all = [s for s in scores if s.px_per_module >= TARGET_PX]
    lines.append(
        "| **all** | | "
        + " | ".join(by_px)
        + f" | {_pct(*read_count(scores))} | {_pct(*read_count(hi_all))} |"
    )
    return lines


def _summary_row(name: str, scores: Sequence[ImageScore]) -> str:
    hi = [s for s in scores if s.px_per_module >= TARGET_PX]
    lo = [s for s in scores if s.px_per_module < TARGET_PX]
    read_hi, n_hi = read_count(hi)
    read_lo, n_lo = read_count(lo)
    read_all, n_all = read_count(scores)
    ms = [s.ms for s in scores]
    wrong = sum(s.wrong for s in scores)
    errors = sum(s.error is not None for s in scores)
    return (
        f"| {name} | {read_hi}/{n_hi} ({_pct(read_hi, n_hi)}) | {read_lo}/{n_lo} "
        f"({_pct(read_lo, n_lo)}) | {read_all}/{n_all} ({_pct(read_all, n_all)}) | {wrong} "
        f"| {errors} | {median(ms):.0f} | {percentile(ms, 95):.0f} |"
    )


def _misses(results: dict[str, list[ImageScore]]) -> list[str]:
    return [s.file for s in results["pipeline"] if not s.read and s.px_per_module >= TARGET_PX]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--set", type=Path, default=None, help="existing set directory")
    parser.add_argument("--samples", type=Path, default=ROOT / "samples")
    parser.add_argument(
        "--decoders", default=",".join(DECODERS), help=f"comma list of {', '.join(DECODERS)}"
    )
    parser.add_argument("--write", type=Path, default=None, help="write a Markdown report here")
    args = parser.parse_args(argv)

    names = [n.strip() for n in args.decoders.split(",") if n.strip()]
    unknown = [n for n in names if n not in DECODERS]
    if unknown:
        parser.error(f"unknown decoders {unknown}")

    set_dir: Path = args.set or ROOT / "bench" / "out" / "synthetic"
    gen_s = None
    if args.set is None:
        started = time.perf_counter()
        build_set(default_texts(args.samples), set_dir)
        gen_s = time.perf_counter() - started
    manifest = load_manifest(set_dir)
    px_values = [float(p) for p in manifest.get("px_per_module_set", PX_PER_MODULE_SET)]
    sources = manifest["sources"]
    cv2.setNumThreads(1)  # comparable single-thread timings for every decoder

    results: dict[str, list[ImageScore]] = {}
    for name in names:
        scores = measure(set_dir, DECODERS[name])
        results[name] = scores
        print(f"\n## {name}\n")
        print("\n".join(_decoder_table(scores, px_values)))
    if "pipeline" in results:
        print(f"\npipeline misses at ≥ {TARGET_PX} px/module: {', '.join(_misses(results))}")

    summary = [
        "| decoder | read ≥2.5 px/module | read < 2.5 px/module | read, all | wrong texts "
        "| errors | median ms | p95 ms |",
        "|---|---|---|---|---|---|---|---|",
        *(_summary_row(name, scores) for name, scores in results.items()),
    ]
    print("\n## summary\n")
    print("\n".join(summary))

    if "pipeline" in results:
        stages = collections.Counter(
            stage for s in results["pipeline"] if s.read for stage in s.stages[:1]
        )
        print("\npipeline stage that read the code:", dict(stages.most_common()))

    if args.write is not None:
        command = " ".join(
            [
                ".venv/bin/python",
                "bench/bench_synthetic.py",
                *map(shlex.quote, argv or sys.argv[1:]),
            ]
        )
        try:
            commit = subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=False,
            ).stdout.strip()
        except OSError:
            commit = ""
        lines = [
            "# Synthetic certificate photos: measured decode rates",
            "",
            f"- date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC",
            f"- machine: {_cpu_model()}, nproc {os.cpu_count()}, "
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}",
            f"- OpenCV {cv2.__version__} (single thread for decoding)"
            + (f", git {commit}" if commit else ""),
            f"- command: `{command}`",
            f"- set: {len(manifest['images'])} images, seed {manifest['seed']}, "
            f"{len(sources)} source texts ({', '.join(s['name'] for s in sources)})"
            + (f", generated in {gen_s:.1f} s" if gen_s is not None else ""),
            "- an image is read when a decoded text equals the expected text exactly; "
            "every other decoded text is a wrong text; times include JPEG decoding",
            "",
            "## Summary",
            "",
            *summary,
            "",
            f"Target: ≥ {TARGET_RATE:.0%} read at ≥ {TARGET_PX} px per module.",
        ]
        if "pipeline" in results:
            lines += [
                "",
                "Pipeline stage that read the code: "
                + ", ".join(f"{k} {v}" for k, v in stages.most_common())
                + ".",
            ]
            lines += [
                "",
                f"Pipeline misses at ≥ {TARGET_PX} px/module: "
                + (", ".join(f"`{f}`" for f in _misses(results)) or "none")
                + ".",
            ]
        for name, scores in results.items():
            lines += ["", f"## {name}", "", *_decoder_table(scores, px_values)]
        args.write.write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"\nwrote {args.write}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
