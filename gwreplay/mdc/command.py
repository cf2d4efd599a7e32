"""``gwreplay mdc``: generate a mock-data challenge store.

gwreplay mdc STORE [--superevents N] [--seed S]
                   [--mix bns=0.4,nsbh=0.2,bbh=0.4] [--detectors H1,L1,V1]
                   [--psd MODEL | --psd H1=MODEL,V1=MODEL] [--mdc] [--era O4|O3]
                   [--jobs J] [-q]
"""

import logging
import sys
import time

from .config import DEFAULT_ERA, DEFAULTS, ERAS

CLASS_NAMES = {"bns": "BNS", "nsbh": "NSBH", "bbh": "BBH"}


def parse_mix(text):
    """``bns=0.5,nsbh=0.2,bbh=0.3`` -> {"BNS": 0.5, ...} (shares need not sum to 1)."""
    mix = dict.fromkeys(CLASS_NAMES.values(), 0.0)
    for item in text.split(","):
        name, _, value = item.partition("=")
        key = CLASS_NAMES.get(name.strip().lower())
        if key is None or not value:
            raise ValueError(f"bad --mix item {item!r}: expected bns=, nsbh= or bbh=")
        mix[key] = float(value)
        if mix[key] < 0:
            raise ValueError(f"negative share in --mix item {item!r}")
    if sum(mix.values()) <= 0:
        raise ValueError("--mix gives no class a positive share")
    return mix


def parse_detectors(text):
    """``H1,L1,V1`` -> ["H1", "L1", "V1"] (at least two distinct detectors)."""
    detectors = [ifo.strip() for ifo in text.split(",") if ifo.strip()]
    if len(set(detectors)) != len(detectors) or len(detectors) < 2:
        raise ValueError("--detectors needs two or more distinct detectors")
    known = {channel.split(":")[0] for channel in DEFAULTS["llhoft_channels"]}
    unknown = [ifo for ifo in detectors if ifo not in known]
    if unknown:
        raise ValueError(f"no state-vector channels configured for {unknown}")
    return detectors


def parse_psd(text, detectors):
    """``MODEL`` (every detector) or ``H1=MODEL,V1=MODEL`` -> {ifo: model}."""
    from .psd import available_models

    if "=" in text:
        models = {}
        for item in text.split(","):
            ifo, _, model = item.partition("=")
            models[ifo.strip()] = model.strip()
    else:
        models = dict.fromkeys(detectors, text.strip())
    known = set(available_models())
    for model in models.values():
        if model not in known:
            raise ValueError(
                f"unknown PSD model {model!r} (lalsimulation SimNoisePSD*)"
            )
    return models


def build_parser(parser):
    """Arguments of ``gwreplay mdc``."""
    parser.add_argument("store", metavar="STORE", help="directory of the new store")
    parser.add_argument(
        "--superevents",
        type=int,
        default=8,
        help="number of superevents (sources and significant noise)",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed")
    parser.add_argument(
        "--mix",
        default="bns=0.4,nsbh=0.2,bbh=0.4",
        help="shares of source classes",
    )
    parser.add_argument("--detectors", default="H1,L1,V1", help="detectors")
    parser.add_argument(
        "--psd",
        metavar="MODEL",
        help="lalsimulation noise curve for every detector, or IFO=MODEL,... "
        "(default aLIGOZeroDetHighPower for LIGO, AdVDesignSensitivityP1200087 "
        "for Virgo)",
    )
    parser.add_argument(
        "--mdc",
        action="store_true",
        help="MDC events: search 'MDC' and M-prefixed IDs (DQ check skipped)",
    )
    parser.add_argument(
        "--era",
        choices=ERAS,
        default=DEFAULT_ERA,
        help="O4 (default): gwcelery 3.0.0's names, searches, uploads, early "
        "warning, less-significant candidates, superevents and sign-offs; "
        "O3: the store of gwcelery 2.x replays",
    )
    parser.add_argument("-j", "--jobs", type=int, default=1, help="worker processes")
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing MDC in STORE (events/, frames/, truth.json...)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def main(args):
    """Generate the store; print a one-line summary."""
    from .generate import generate_store

    try:
        detectors = parse_detectors(args.detectors)
        mix = parse_mix(args.mix)
        psd_models = parse_psd(args.psd, detectors) if args.psd else None
    except ValueError as exc:
        print(f"gwreplay mdc: {exc}", file=sys.stderr)
        return 2
    if args.era == "O4" and args.mdc:
        print("gwreplay mdc: --mdc is not modelled for --era O4 yet", file=sys.stderr)
        return 2
    if args.superevents < 1 or args.jobs < 1:
        print("gwreplay mdc: --superevents and --jobs must be >= 1", file=sys.stderr)
        return 2
    logging.getLogger("BAYESTAR").setLevel(logging.ERROR)
    start = time.monotonic()
    try:
        truth = generate_store(
            args.store,
            superevents=args.superevents,
            seed=args.seed,
            mix=mix,
            detectors=detectors,
            psd_models=psd_models,
            mdc=args.mdc,
            jobs=args.jobs,
            overwrite=args.overwrite,
            progress=not args.quiet,
            era=args.era,
        )
    except FileExistsError as exc:
        print(f"gwreplay mdc: {exc}", file=sys.stderr)
        return 1
    n_events = sum(len(entry["gw_events"]) for entry in truth["sources"])
    print(
        f"gwreplay mdc: {truth['superevents']} superevents, {n_events} G-events, "
        f"{len(truth['sources'])} candidates in {args.store} "
        f"({time.monotonic() - start:.1f} s)"
    )
    return 0
