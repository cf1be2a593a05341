"""Sentence splitting time against the length of one line, with and without bounded chunks.

One line of a scraped page can hold a whole article. pysbd's abbreviation pass grows faster
than linearly with the length of what it is given, so ``corpus.segment`` hands it pieces of at
most ``corpus.MAX_CHUNK`` characters. This prints, for lines of growing length, the time of
``segment`` and of pysbd on the whole line (the old way, measured only up to --unbounded-max,
since it takes minutes beyond), and their ratio.

    .venv/bin/python bench/segment.py [--lengths 25600 102400 204800 2000000] [--unbounded-max 102400]
"""

from __future__ import annotations

import argparse
import time

from newsevents.corpus import MAX_CHUNK, _segmenter, segment
from newsevents.schema import Article

PROSE = ("The minister arrived in Lima on Monday for talks with Mr. Castillo, officials said. "
         "Troops shelled positions near the U.S.-backed base at 3 p.m., the army reported. ")


def line_of(length: int) -> str:
    return (PROSE * (length // len(PROSE) + 1))[:length]


def seconds(fn, *args) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[25_600, 102_400, 204_800, 2_000_000])
    parser.add_argument("--unbounded-max", type=int, default=102_400)
    args = parser.parse_args()
    print(f"chunk limit: {MAX_CHUNK:,} characters")
    print(f"{'line length':>12} {'sentences':>9} {'segment s':>10} {'µs/char':>8} {'pysbd whole s':>14} {'ratio':>7}")
    for length in args.lengths:
        text = line_of(length)
        bounded, sentences = seconds(segment, Article("bench", text))
        whole = ratio = "-"
        if length <= args.unbounded_max:
            t, _ = seconds(_segmenter().segment, text)
            whole, ratio = f"{t:.2f}", f"{t / bounded:.1f}x"
        print(f"{length:>12,} {len(sentences):>9,} {bounded:>10.2f} {1e6 * bounded / length:>8.2f} {whole:>14} {ratio:>7}")


if __name__ == "__main__":
    main()
