"""Benchmark: 200 random tiles read through the dicom-microscopy plugin and through
wsidicom directly, in the same run, on the corpus' whole slide files.

Prints the time of each way and their ratio (plugin / wsidicom); the plugin's overhead
target is at most 10 %. Two modes: ``decode`` clears wsidicom's frame cache before
every read (each tile is decoded), ``cached`` keeps it (a viewer panning over tiles it
has seen). Run as ``python benchmarks/bench_dicom_microscopy.py [--rounds N]``.
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

SLIDES = (
    ("toolmade", "sm", "wsidicom_pyramid_cmu1"),
    ("toolmade", "sm", "wsidicom_pyramid_camelyon"),
    ("sm", "wsi2dcm_jpeg2000.dcm"),
    ("sm", "highdicom_sm_image_jpegls.dcm"),
)
TILES = 200
SEED = 20240601


def _corpus() -> Path:
    from displaysets.testing import corpus_dir

    return corpus_dir()


def _open_plugin(paths: list[Path]) -> Any:
    import displaysets_dicom_microscopy.plugin as plugin
    from displaysets import PluginHost, scan

    host = PluginHost(autoload=False, allow=(), block=(), handler_order=())
    host.register(
        plugin, "dicom-microscopy", distribution="displaysets-dicom-microscopy"
    )
    contents = []
    for path in paths:
        service = scan([path], host=host)
        [slide] = [d for d in service.display_sets if d.plugin == "microscopy"]
        contents.append((slide, service.load(slide)))
    return contents


def _tiles(contents: list[Any]) -> list[tuple[int, int, int, int]]:
    """(slide, level, column, row) of 200 random tiles, the same in every round."""
    choices = []
    for number, (slide, _) in enumerate(contents):
        for level in slide.attributes["levels"]:
            for row in range(level["tileGridRows"]):
                for column in range(level["tileGridColumns"]):
                    choices.append((number, level["level"], column, row))
    generator = random.Random(SEED)
    return [generator.choice(choices) for _ in range(TILES)]


def _time_interleaved(
    first: list[Callable[..., Any]],
    second: list[Callable[..., Any]],
    clear: list[Callable[..., Any]] | None,
) -> tuple[float, float]:
    """Total time of each list of reads, read tile by tile in turn (alternating which
    goes first) so that both ways meet the same load on a shared machine."""
    totals = [0.0, 0.0]
    for index, pair in enumerate(zip(first, second, strict=True)):
        order = (0, 1) if index % 2 == 0 else (1, 0)
        if clear is not None:
            clear[index]()
        for side in order:
            start = time.perf_counter()
            pair[side]()
            totals[side] += time.perf_counter() - start
    return totals[0], totals[1]


def run(rounds: int) -> dict[str, tuple[float, float, list[float]]]:
    from wsidicom import WsiDicom

    corpus = _corpus()
    paths = [corpus.joinpath(*parts) for parts in SLIDES]
    missing = [p for p in paths if not p.exists()]
    if missing:
        sys.exit(f"corpus files missing: {', '.join(map(str, missing))}")

    results: dict[str, tuple[float, float, list[float]]] = {}
    for mode in ("decode", "cached"):
        plugin_times, direct_times = [], []
        for _ in range(rounds):
            contents = _open_plugin(paths)
            direct = [WsiDicom.open(p) for p in paths]
            tiles = _tiles(contents)
            numbers = []
            for (slide, _), wsi in zip(contents, direct, strict=True):
                by_size = {
                    (lv.size.width, lv.size.height): lv.level for lv in wsi.levels
                }
                numbers.append(
                    [
                        by_size[
                            (lv["totalPixelMatrixColumns"], lv["totalPixelMatrixRows"])
                        ]
                        for lv in slide.attributes["levels"]
                    ]
                )
            plugin_reads = [
                (lambda c=contents[s][1], lv=lv, x=x, y=y: c.read_tile(lv, x, y))
                for s, lv, x, y in tiles
            ]
            direct_reads = [
                (lambda w=direct[s], n=numbers[s][lv], x=x, y=y: w.read_tile(n, (x, y)))
                for s, lv, x, y in tiles
            ]
            for content in contents:  # open wsidicom behind the plugin, untimed
                content[1].wsi  # noqa: B018
            clear: list[Callable[..., Any]] | None = None
            if mode == "decode":
                clear = [
                    (
                        lambda c=contents[s][1].wsi, w=direct[s]: (
                            c.clear_cache(),
                            w.clear_cache(),
                        )
                    )
                    for s, *_ in tiles
                ]
            plugin_time, direct_time = _time_interleaved(
                plugin_reads, direct_reads, clear
            )
            plugin_times.append(plugin_time)
            direct_times.append(direct_time)
            for _, content in contents:
                content.close()
            for wsi in direct:
                wsi.close()
        ratios = [p / d for p, d in zip(plugin_times, direct_times, strict=True)]
        results[mode] = (
            statistics.median(plugin_times),
            statistics.median(direct_times),
            ratios,
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    import wsidicom

    print(
        f"{TILES} random tiles (seed {SEED}) over {len(SLIDES)} slides, median of "
        f"{args.rounds} rounds, Python {sys.version.split()[0]}, "
        f"wsidicom {wsidicom.__version__}"
    )
    for mode, (plugin_time, direct_time, ratios) in run(args.rounds).items():
        ratio = statistics.median(ratios)
        print(
            f"{mode:7s} plugin {plugin_time * 1000:8.2f} ms  wsidicom "
            f"{direct_time * 1000:8.2f} ms  ratio {ratio:.3f} "
            f"(overhead {100 * (ratio - 1):+.1f} %; rounds {min(ratios):.3f} to "
            f"{max(ratios):.3f})"
        )


if __name__ == "__main__":
    main()
