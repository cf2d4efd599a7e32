"""What a CBC event's O4 products cost per detector network: the real G211117.

    .venv/bin/python -m bench.network_cost
    .venv/bin/python -m bench.network_cost --disabled "" V1 L1,V1 --dpi 40

For each set of disabled detectors (``bayestar_disabled_detectors``), in a
process of its own, one after the other: BAYESTAR on G211117's coinc.xml and
PSDs (``gwreplay.bayestar.localize_event`` with config/config.yaml's
settings, one OpenMP thread), the finest
HEALPix order of its multi-order map, then the flattening
(``o4_skymaps.flatten``) and one volume plot (``o4_skymaps.plot_volume``) of
that map. CPU seconds of each step (``time.process_time``). It explains
what the tests' choice of network costs (tests/builders.py,
``ONE_DETECTOR_BAYESTAR``; docs/benchmarks.md, "Session 9"). Needs
``../shared/data/reference/G211117``.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
G211117 = os.path.join(REPO, "..", "shared", "data", "reference", "G211117")


def measure(disabled, dpi, workdir):
    """One network in this process: {step: CPU seconds, "order": int}."""
    import numpy as np
    from astropy.io import fits

    from gwreplay.bayestar import localize_event
    from gwreplay.config import defaults, module_settings
    from gwreplay.o4_skymaps import flatten, plot_volume

    conf = module_settings(defaults(), "gwreplay.bayestar")
    conf["bayestar_disabled_detectors"] = disabled

    out = os.path.join(workdir, "bayestar.multiorder.fits")
    start = time.process_time()
    localize_event(
        "G211117",
        os.path.join(G211117, "coinc.xml"),
        os.path.join(G211117, "psd.xml.gz"),
        out,
        **conf,
    )
    figures = {"bayestar": time.process_time() - start}
    with fits.open(out) as hdus:
        uniq = hdus[1].data["UNIQ"]
    figures["order"] = int(np.log2(uniq.max() // 4) // 2)
    start = time.process_time()
    flatten("G211117", out, os.path.join(workdir, "bayestar.fits.gz"))
    figures["flatten"] = time.process_time() - start
    start = time.process_time()
    plot_volume("G211117", out, os.path.join(workdir, "volume.png"), dpi=dpi)
    figures["volume_plot"] = time.process_time() - start
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--disabled",
        nargs="+",
        default=["", "V1", "L1,V1"],
        help="comma-separated disabled detectors per run ('' for none)",
    )
    parser.add_argument("--dpi", type=int, default=40, help="volume plot dpi")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        disabled = [d for d in args.child.split(",") if d]
        with tempfile.TemporaryDirectory() as workdir:
            print(json.dumps(measure(disabled, args.dpi, workdir)))
        return
    if not os.path.isdir(G211117):
        sys.exit(f"reference data {G211117} not found")
    print("disabled  | BAYESTAR CPU | order | flatten CPU | volume plot CPU")
    for disabled in args.disabled:
        proc = subprocess.run(
            [sys.executable, "-m", "bench.network_cost", "--child", disabled]
            + ["--dpi", str(args.dpi)],
            capture_output=True,
            text=True,
            check=True,
        )
        f = json.loads(proc.stdout.strip().splitlines()[-1])
        print(
            f"{disabled or '-':9} | {f['bayestar']:10.1f} s | {f['order']:5d} "
            f"| {f['flatten']:9.1f} s | {f['volume_plot']:13.1f} s",
            flush=True,
        )


if __name__ == "__main__":
    main()
