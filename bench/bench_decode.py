"""Benchmark the scan pipeline against the raw QR decoders, in one run.

Usage (from the repository root)::

    .venv/bin/python bench/bench_decode.py [--repeats 3] [--big-runs 30]
        [--corpus ../shared/corpus/qr-photos] [--out bench/RESULTS-decode.md]

Every decoder runs in its own child process (so its peak RSS is its own) over the
shared photo corpus: the image file is read and decoded to gray by the same loader
for every decoder (``quarantine.imaging.load.load_image``), then the decoder runs;
times include both.  A second child, pinned to one CPU with one OpenCV/BLAS thread,
times the pipeline on 12 MP (4000×3000) JPEG photos.

Counting follows ``tests/imaging/test_imaging_corpus.py``: an image is read when a
returned text equals its ``.txt`` (bytes, or text as UTF-8); the four
structured-append parts of ``zxing-cpp/qrcode-7`` count when each yields one code
and the texts joined in file-name order equal ``01.txt``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = REPO / ".." / "shared" / "corpus" / "qr-photos"
SUBSETS = ("zxing-cpp", "zxing-java")
EXTENSIONS = {".png", ".jpg", ".jpeg", ".webp"}
STRUCTURED_APPEND = "zxing-cpp/qrcode-7"
DECODERS = ("zxing-cpp", "pyzbar", "opencv", "opencv-aruco", "pipeline")

# (bytes, text) pairs returned by one decoder for one gray image
Reads = list[tuple[bytes, str]]
# one entry per decoder call that raised (counted per image and repeat)
_ERRORS: list[str] = []


# --- worker side -------------------------------------------------------------


def _peak_rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _raw_decoder(name: str) -> Callable[[Any], Reads]:
    """A function gray image → reads, for one raw decoder."""
    import cv2
    import zxingcpp
    from pyzbar import pyzbar

    if name == "zxing-cpp":
        qr_only = zxingcpp.BarcodeFormats([zxingcpp.BarcodeFormat.QRCode])
        plain = zxingcpp.TextMode.Plain  # the default (HRI) rewrites control characters

        def zx(gray: Any) -> Reads:
            found = zxingcpp.read_barcodes(gray, formats=qr_only, text_mode=plain)
            return [(bytes(b.bytes), str(b.text)) for b in found]

        return zx
    if name == "pyzbar":

        def zb(gray: Any) -> Reads:
            try:
                found = pyzbar.decode(gray, symbols=[pyzbar.ZBarSymbol.QRCODE])
            except ValueError:  # pyzbar issue #139: the whole image is lost
                _ERRORS.append(name)
                return []
            return [(bytes(s.data), bytes(s.data).decode("utf-8", "replace")) for s in found]

        return zb
    detector = cv2.QRCodeDetector() if name == "opencv" else cv2.QRCodeDetectorAruco()

    def ocv(gray: Any) -> Reads:
        # detectAndDecode() raises UnicodeDecodeError on non-UTF-8 data; the Bytes
        # variant returns the payload as OpenCV holds it.
        try:
            data, _points, _ = detector.detectAndDecodeBytes(gray)
        except cv2.error:  # e.g. "mode 13 not implemented" (structured append)
            _ERRORS.append(name)
            return []
        raw = bytes(data)
        return [(raw, raw.decode("utf-8", "replace"))] if raw else []

    return ocv


def _corpus_images(corpus: Path) -> list[tuple[str, Path]]:
    out: list[tuple[str, Path]] = []
    for subset in SUBSETS:
        out.extend(
            (subset, p)
            for p in sorted((corpus / subset).rglob("*"))
            if p.suffix.lower() in EXTENSIONS
        )
    return out


def _matches(read: tuple[bytes, str], expected: bytes) -> bool:
    return read[0] == expected or read[1].encode("utf-8") == expected


def _const(img: Any) -> Callable[[], Any] | None:
    """A ``load_colour`` for a context: the channel-maximum image, or None (gray)."""
    return None if img is None else (lambda: img)


def worker_corpus(decoder: str, corpus: Path, repeats: int) -> dict[str, Any]:
    import numpy as np

    from quarantine.imaging import decode_image_bytes
    from quarantine.imaging.limits import ImageLimits
    from quarantine.imaging.load import load_image
    from quarantine.imaging.stages import STAGES, Context, Frame

    limits = ImageLimits()
    raw = None if decoder == "pipeline" else _raw_decoder(decoder)

    def run(data: bytes) -> tuple[Reads, list[str]]:
        if raw is None:
            result = decode_image_bytes(data, limits)
            return [(c.raw, c.text) for c in result.codes], [c.stage for c in result.codes]
        return raw(load_image(data, limits).gray), []

    counts = dict.fromkeys(SUBSETS, 0)
    first_stage: dict[str, int] = {}
    alone: dict[str, int] = {}
    times: list[float] = []
    sa_parts: list[Reads] = []
    for subset, path in _corpus_images(corpus):
        data = path.read_bytes()
        per: list[float] = []
        reads: Reads = []
        stages: list[str] = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            reads, stages = run(data)
            per.append((time.perf_counter() - t0) * 1000.0)
        times.append(statistics.median(per))
        rel = path.relative_to(corpus).as_posix()
        if rel.startswith(STRUCTURED_APPEND):
            sa_parts.append(reads)
            continue
        expected = path.with_suffix(".txt").read_bytes()
        hit = [i for i, r in enumerate(reads) if _matches(r, expected)]
        if hit:
            counts[subset] += 1
            if stages:
                first_stage[stages[hit[0]]] = first_stage.get(stages[hit[0]], 0) + 1
        if decoder == "pipeline":
            loaded = load_image(data, limits)
            colour = load_image(data, limits, channel_max=True).gray if loaded.colour else None
            for stage in STAGES:
                ctx = Context(Frame(loaded.gray, 1.0), load_colour=_const(colour))
                if stage.applies(ctx) and any(
                    _matches((c.raw, c.text), expected) for c in stage.run(ctx)
                ):
                    alone[stage.name] = alone.get(stage.name, 0) + 1
    joined = (corpus / STRUCTURED_APPEND / "01.txt").read_bytes()
    if all(len(p) == 1 for p in sa_parts) and b"".join(p[0][0] for p in sa_parts) == joined:
        counts["zxing-cpp"] += len(sa_parts)
        if decoder == "pipeline":
            first_stage["zxing (structured append)"] = len(sa_parts)
    arr = np.array(times)
    return {
        "decoder": decoder,
        "counts": counts,
        "images": len(times),
        "median_ms": float(np.median(arr)),
        "p95_ms": float(np.percentile(arr, 95)),
        "mean_ms": float(arr.mean()),
        "peak_rss_mb": _peak_rss_mb(),
        "raised": len(_ERRORS) // max(1, repeats),
        "first_stage": first_stage,
        "stage_alone": alone,
    }


def _big_frames(corpus: Path) -> dict[str, bytes]:
    """4000×3000 JPEG photos: a generated code, a corpus photo, and no code."""
    import cv2
    import numpy as np
    import qrcode
    from PIL import Image

    rng = np.random.default_rng(12)
    h, w = 3000, 4000

    def background() -> Any:
        low = cv2.resize(rng.normal(0, 1, (30, 40)), (w, h), interpolation=cv2.INTER_CUBIC)
        yy, xx = np.mgrid[0:h, 0:w]
        light = 150 + 40 * (xx / w) - 30 * (yy / h)  # uneven lighting
        texture = cv2.GaussianBlur(rng.normal(0, 18, (h, w)), (0, 0), 1.5)
        return light + 10 * low + texture

    def finish(img: Any) -> bytes:
        img = img + rng.normal(0, 6, img.shape)  # sensor noise
        gray = np.clip(img, 0, 255).astype(np.uint8)
        rgb = np.dstack([gray, np.clip(gray.astype(np.int16) + 6, 0, 255).astype(np.uint8), gray])
        buf = io.BytesIO()
        Image.fromarray(rgb).save(buf, "JPEG", quality=90)
        return buf.getvalue()

    def place(frame: Any, symbol: Any, at: tuple[int, int], tilt: float) -> Any:
        sh, sw = symbol.shape
        src = np.array([[0, 0], [sw, 0], [sw, sh], [0, sh]], dtype=np.float32)
        x, y = at
        d = tilt * sw
        corners = [[x, y], [x + sw, y + d], [x + sw - d, y + sh], [x + d / 2, y + sh - d]]
        dst = np.array(corners, dtype=np.float32)
        m = cv2.getPerspectiveTransform(src, dst)
        warped = cv2.warpPerspective(symbol.astype(np.float32), m, (w, h), borderValue=-1)
        mask = warped >= 0
        out = frame.copy()
        out[mask] = 0.85 * warped[mask] + 0.15 * frame[mask]
        return out

    code = qrcode.QRCode(border=4, box_size=14)
    code.add_data("HTTPS://QR.EXAMPLE.CN/C/3201000020240001/" + "0123456789" * 5)
    code.make(fit=True)
    symbol = np.asarray(code.make_image().get_image().convert("L"), dtype=np.float64)
    symbol = 25 + symbol * (215 / 255)  # printed black is not 0, paper not 255
    small = Image.open(corpus / "zxing-cpp" / "qrcode-3" / "01.webp").convert("L")
    photo = np.asarray(
        cv2.resize(np.asarray(small), None, fx=4, fy=4, interpolation=cv2.INTER_CUBIC),
        dtype=np.float64,
    )
    return {
        "generated code, 14 px modules, tilted": finish(
            cv2.GaussianBlur(place(background(), symbol, (1500, 900), 0.08), (0, 0), 1.2)
        ),
        "corpus photo (qrcode-3/01) ×4": finish(place(background(), photo, (2200, 1300), 0.0)),
        "no code (failure path)": finish(background()),
    }


def worker_big_frames(corpus: Path, folder: Path) -> dict[str, Any]:
    """Write the 12 MP test frames as JPEG files (a separate process: building them
    takes far more memory than decoding them)."""
    names = []
    for i, (name, data) in enumerate(_big_frames(corpus).items()):
        (folder / f"{i}.jpg").write_bytes(data)
        names.append(name)
    (folder / "names.json").write_text(json.dumps(names), encoding="utf-8")
    return {"frames": len(names)}


def worker_big(folder: Path, runs: int) -> dict[str, Any]:
    import cv2
    import numpy as np

    from quarantine.imaging import decode_image_bytes

    cv2.setNumThreads(1)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    names: list[str] = json.loads((folder / "names.json").read_text(encoding="utf-8"))
    frames = {name: (folder / f"{i}.jpg").read_bytes() for i, name in enumerate(names)}
    out: dict[str, Any] = {"cases": {}, "rss_after_setup_mb": _peak_rss_mb()}
    for name, data in frames.items():
        decode_image_bytes(data)  # warm-up
        times: list[float] = []
        codes = 0
        stages: set[str] = set()
        hints: set[str] = set()
        for _ in range(runs):
            t0 = time.perf_counter()
            result = decode_image_bytes(data)
            times.append((time.perf_counter() - t0) * 1000.0)
            codes = len(result.codes)
            stages.update(c.stage for c in result.codes)
            hints.update(result.hints)
        arr = np.array(times)
        out["cases"][name] = {
            "bytes": len(data),
            "codes": codes,
            "stages": sorted(stages),
            "hints": sorted(hints),
            "median_ms": float(np.median(arr)),
            "p95_ms": float(np.percentile(arr, 95)),
            "max_ms": float(arr.max()),
        }
    out["peak_rss_mb"] = _peak_rss_mb()
    return out


# --- driver side -------------------------------------------------------------


def _child(args: list[str]) -> dict[str, Any]:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", PYTHONHASHSEED="0")
    cmd = [sys.executable, str(Path(__file__).resolve()), *args]
    done = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"benchmark child failed: {' '.join(args)}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _machine() -> dict[str, str]:
    model = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    from importlib.metadata import version

    import cv2
    from PIL import __version__ as pil_version

    try:
        with open("/proc/loadavg", encoding="ascii") as fh:
            load = " ".join(fh.read().split()[:3])
    except OSError:
        load = "unknown"
    return {
        "loadavg": load,
        "nproc": str(os.cpu_count()),
        "cpu": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "zxing-cpp": version("zxing-cpp"),
        "pyzbar": version("pyzbar"),
        "opencv": str(cv2.__version__),
        "pillow": pil_version,
    }


def _report(
    corpus_rows: list[dict[str, Any]],
    big: dict[str, Any],
    command: str,
    repeats: int,
    runs: int,
    load_before: str,
) -> str:
    m = _machine()
    by = {r["decoder"]: r for r in corpus_rows}
    ratio = by["pipeline"]["median_ms"] / by["zxing-cpp"]["median_ms"]
    lines = [
        "# Scan pipeline benchmark (`bench/bench_decode.py`)",
        "",
        f"- date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- command: `{command}`",
        f"- machine: nproc={m['nproc']}, CPU: {m['cpu']}; {m['platform']}",
        f"- load average (1/5/15 min) before / after the run: {load_before} / {m['loadavg']} "
        "(other work on the machine inflates times, the 12 MP p95 most)",
        f"- software: Python {m['python']}, zxing-cpp {m['zxing-cpp']}, pyzbar {m['pyzbar']}, "
        f"OpenCV {m['opencv']}, Pillow {m['pillow']}",
        f"- corpus: `../shared/corpus/qr-photos`, times are the median of {repeats} runs per "
        "image and include reading the image file to gray with the pipeline's loader; "
        "each decoder runs in its own process (peak RSS = VmHWM of that process).",
        "",
        "## Shared photo corpus",
        "",
        "| decoder | zxing-cpp set /141 | zxing-java set /179 | median ms | p95 ms | "
        "mean ms | peak RSS MB | images where the call raised |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in corpus_rows:
        lines.append(
            f"| {r['decoder']} | {r['counts']['zxing-cpp']} | {r['counts']['zxing-java']} | "
            f"{r['median_ms']:.2f} | {r['p95_ms']:.2f} | {r['mean_ms']:.2f} | "
            f"{r['peak_rss_mb']:.0f} | {r['raised']} |"
        )
    pipe = by["pipeline"]
    lines += [
        "",
        f"Pipeline median / raw zxing-cpp median = **{ratio:.2f}×** (target ≤ 2×: "
        f"{'met' if ratio <= 2 else 'MISSED'}).",
        "",
        "Pipeline: which stage read each image first (both sets), and what each stage reads "
        "when run alone:",
        "",
        "| stage | first read | read alone |",
        "|---|---|---|",
    ]
    names = list(dict.fromkeys([*pipe["stage_alone"], *pipe["first_stage"]]))
    for name in names:
        lines.append(
            f"| {name} | {pipe['first_stage'].get(name, 0)} | {pipe['stage_alone'].get(name, '-')} |"
        )
    lines += [
        "",
        "## 12 MP photos, one core",
        "",
        f"4000×3000 JPEG (quality 90) frames: smooth uneven lighting, paper texture, sensor "
        f"noise; {runs} timed runs each after one warm-up, one CPU (affinity), "
        "`cv2.setNumThreads(1)`, `OMP_NUM_THREADS=1`, `OPENBLAS_NUM_THREADS=1`. Times are "
        "`decode_image_bytes` end to end (JPEG decoding included).",
        "",
        "| case | JPEG bytes | codes | stage / hints | median ms | p95 ms | max ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, c in big["cases"].items():
        how = ", ".join(c["stages"]) or ", ".join(c["hints"])
        lines.append(
            f"| {name} | {c['bytes']:,} | {c['codes']} | {how} | {c['median_ms']:.1f} | "
            f"{c['p95_ms']:.1f} | {c['max_ms']:.1f} |"
        )
    photo_p95 = max(c["p95_ms"] for n, c in big["cases"].items() if not n.startswith("no code"))
    peak = max([big["peak_rss_mb"], *(r["peak_rss_mb"] for r in corpus_rows)])
    lines += [
        "",
        f"Peak RSS of the 12 MP timing process: {big['peak_rss_mb']:.0f} MB "
        f"(after importing and reading the JPEG files, before decoding: "
        f"{big['rss_after_setup_mb']:.0f} MB). The frames are built in another process.",
        "",
        "## Targets",
        "",
        f"- median time ≤ 2× raw zxing-cpp: {ratio:.2f}× — {'met' if ratio <= 2 else 'MISSED'}",
        f"- 12 MP photo ≤ 150 ms p95 on one core: {photo_p95:.1f} ms — "
        f"{'met' if photo_p95 <= 150 else f'MISSED by {photo_p95 - 150:.1f} ms'}",
        f"- peak RSS ≤ 400 MB: {peak:.0f} MB — {'met' if peak <= 400 else 'MISSED'}",
        "",
        "## Notes",
        "",
        "- A 12 MP JPEG is decoded by the JPEG decoder at ½ size (DCT scaling) for the "
        "first pass; entropy decoding of the ≈ 3.4 MB file still dominates the time of a "
        "photo whose code is read at once. The full-resolution decode happens only when "
        "the reduced passes find nothing.",
        "- The no-code 12 MP case runs every stage plus the hints; the time budget "
        "(2000 ms by default) is checked between stages.",
        "- Raw zxing-cpp here is `read_barcodes(formats=QRCode, text_mode=Plain)` (the "
        "QR family includes Micro QR and rMQR); the pipeline asks for QR Model 1/2 only, "
        "which is why its first stage can be slightly faster than the raw call.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--big-runs", type=int, default=30)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "RESULTS-decode.md")
    parser.add_argument("--worker", choices=["corpus", "big-frames", "big"], help=argparse.SUPPRESS)
    parser.add_argument("--frames", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--decoder", choices=DECODERS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    corpus = args.corpus.resolve()

    if args.worker == "corpus":
        print(json.dumps(worker_corpus(args.decoder, corpus, args.repeats)))
        return 0
    if args.worker == "big-frames":
        print(json.dumps(worker_big_frames(corpus, args.frames)))
        return 0
    if args.worker == "big":
        print(json.dumps(worker_big(args.frames, args.big_runs)))
        return 0

    if not corpus.is_dir():
        print(f"corpus not found: {corpus}", file=sys.stderr)
        return 2
    load_before = _machine()["loadavg"]
    common = ["--corpus", str(corpus), "--repeats", str(args.repeats)]
    rows = []
    for decoder in DECODERS:
        print(f"corpus: {decoder} …", file=sys.stderr)
        rows.append(_child(["--worker", "corpus", "--decoder", decoder, *common]))
    print("12 MP frames …", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="bench-decode-") as tmp:
        _child(["--worker", "big-frames", "--frames", tmp, *common])
        big = _child(["--worker", "big", "--frames", tmp, "--big-runs", str(args.big_runs)])
    exe = Path(sys.executable)
    shown = exe.relative_to(REPO).as_posix() if exe.is_relative_to(REPO) else str(exe)
    command = " ".join([shown, "bench/bench_decode.py", *(argv or sys.argv[1:])])
    report = _report(rows, big, command, args.repeats, args.big_runs, load_before)
    args.out.write_text(report, encoding="utf-8")
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
