"""Run the benchmarks and print one table of figures, targets and ratios.

    python -m bench                      every benchmark (about 5-8 minutes on 2 cores)
    python -m bench write summary        only these (names: write, summary, push, scale, pwa)
    python -m bench --quick              a short smoke run (under a minute)
    python -m bench compare [OLD NEW]    two saved runs side by side (default: the last two)

Each figure is set against a baseline measured in the same run. Results are saved to
bench/results/<timestamp>.json. The exit status is 1 when a benchmark failed to run; a missed
target is shown in the table, not in the exit status.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import shutil
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench import harness, report
from bench.harness import Options, Skip
from bench.report import Figure

# In the order they run: the browser goes last, it is the heaviest on the machine.
BENCHMARKS = {
    "write": "bench.write_path",
    "summary": "bench.summary",
    "push": "bench.push_dispatch",
    "scale": "bench.scale",
    "pwa": "bench.pwa_load",
}
# Wall-clock limits per benchmark (full, quick), in seconds: a stuck one is stopped and reported.
LIMITS = {
    "write": (150, 40),
    "summary": (180, 40),
    "push": (180, 40),
    "scale": (480, 90),
    "pwa": (120, 40),
}


async def run_one(name: str, options: Options) -> list[Figure]:
    limit = LIMITS[name][1 if options.quick else 0]
    started = time.monotonic()
    print(f"[bench] {name} ...", flush=True)
    try:
        module = importlib.import_module(BENCHMARKS[name])
        run: Callable[[Options], Awaitable[list[Figure]]] = module.run
        async with asyncio.timeout(limit):
            figures = await run(options)
    except Skip as exc:
        figures = [Figure(name, "(benchmark)", None, "", status="skip", note=str(exc))]
    except TimeoutError:
        figures = [
            Figure(name, "(benchmark)", None, "", status="error", note=f"over {limit} s: stopped")
        ]
    except Exception as exc:
        traceback.print_exc()
        text = " ".join(str(exc).split())[:400]
        figures = [
            Figure(
                name, "(benchmark)", None, "", status="error", note=f"{type(exc).__name__}: {text}"
            )
        ]
    print(f"[bench] {name} done in {time.monotonic() - started:.0f} s", flush=True)
    return figures


async def run_all(names: list[str], options: Options) -> list[Figure]:
    figures: list[Figure] = []
    for name in names:
        figures += await run_one(name, options)
    return figures


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["compare"]:
        return compare(argv[1:])
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help=f"benchmarks to run: {', '.join(BENCHMARKS)} (default: all)",
    )
    parser.add_argument("--quick", action="store_true", help="short smoke run, under a minute")
    parser.add_argument(
        "--keep-logs", action="store_true", help="keep the servers' logs (their folder is printed)"
    )
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    names = [n for n in BENCHMARKS if n in args.names] if args.names else list(BENCHMARKS)
    logging.basicConfig(level=logging.WARNING)
    options = Options(quick=args.quick, keep_logs=args.keep_logs)
    started = harness.utc_stamp()
    clock = time.monotonic()
    try:
        figures = asyncio.run(run_all(names, options))
    finally:
        if args.keep_logs:
            print(f"[bench] logs in {options.workdir}")
        else:
            shutil.rmtree(options.workdir, ignore_errors=True)
    seconds = time.monotonic() - clock
    path = report.save(figures, options, started, seconds)
    mode = "quick" if options.quick else "full"
    print(f"\nAfterglow benchmarks ({mode}, {seconds:.0f} s, {report.machine()['cpus']} cores)\n")
    print(report.table(figures))
    if options.quick:
        print("\n(--quick: smaller data and shorter runs; verdicts are indicative only)")
    print(f"\nsaved {path.relative_to(harness.ROOT)}")
    return 1 if any(f.status == "error" for f in figures) else 0


def compare(paths: list[str]) -> int:
    if len(paths) == 2:
        old, new = Path(paths[0]), Path(paths[1])
    elif not paths:
        saved = sorted(report.RESULTS_DIR.glob("*.json"))
        if len(saved) < 2:
            print("compare needs two saved runs in bench/results/", file=sys.stderr)
            return 2
        old, new = saved[-2], saved[-1]
    else:
        print("usage: python -m bench compare [OLD.json NEW.json]", file=sys.stderr)
        return 2
    print(report.compare(old, new))
    return 0


if __name__ == "__main__":
    sys.exit(main())
