"""Run time of the O4 volume plot (gwreplay.o4_skymaps.plot_volume).

    .venv/bin/python -m bench.volume_plot --dpi 40 100 default --repeat 3

The map is the tests' Gaussian multi-order map with distance layers
(tests/builders.py). ``default`` is gwcelery's own setting (a
300-dpi grid saved at 100 dpi). Prints, per dpi, the median of the runs, each
run and the load average beside it: the figure decides whether the volume
plot can be a product of every O4 notice (docs/benchmarks.md).
"""

import argparse
import os
import statistics
import tempfile
import time

from ligo.skymap.io import write_sky_map

from gwreplay.o4_skymaps import plot_volume
from tests.builders import gaussian_multiorder


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dpi", nargs="+", default=["40", "100", "default"])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        skymap = os.path.join(tmp, "bayestar.multiorder.fits")
        write_sky_map(skymap, gaussian_multiorder(), moc=True)
        for dpi in args.dpi:
            runs = []
            for k in range(args.repeat):
                start = time.perf_counter()
                plot_volume(
                    "G1",
                    skymap,
                    os.path.join(tmp, f"volume-{dpi}-{k}.png"),
                    dpi=None if dpi == "default" else int(dpi),
                )
                runs.append(time.perf_counter() - start)
            print(
                f"dpi {dpi}: median {statistics.median(runs):.1f} s "
                f"(runs {', '.join(f'{r:.1f}' for r in runs)}; "
                f"load {os.getloadavg()[0]:.1f})"
            )


if __name__ == "__main__":
    main()
