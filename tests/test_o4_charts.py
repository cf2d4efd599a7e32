"""Tests of the p_astro and em_bright charts (gwreplay.o4_charts)."""

import io
import json

import numpy as np
import pytest

from gwreplay.errors import EventInputError
from gwreplay.o4_charts import format_probability, plot_em_bright, plot_p_astro

P_ASTRO = {"Terrestrial": 0.001, "BNS": 0.65, "NSBH": 0.20, "BBH": 0.149}
EM_BRIGHT = {"HasNS": 0.9137, "HasRemnant": 0.0, "HasMassGap": 0.005}


def decode(path):
    from PIL import Image

    with Image.open(path) as image:
        image.load()
        assert image.format == "PNG"
        assert not {"Software", "Title"} & set(image.info)
        return image.size, np.asarray(image.convert("RGB"))


def write_json(path, obj):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))
    return path


@pytest.mark.parametrize(
    ("plot", "content", "other", "name", "size"),
    [
        (
            plot_p_astro,
            P_ASTRO,
            {**P_ASTRO, "BNS": 0.05, "Terrestrial": 0.601},
            "p_astro",
            (250, 200),
        ),
        (
            plot_em_bright,
            EM_BRIGHT,
            {**EM_BRIGHT, "HasNS": 0.2},
            "em_bright",
            (300, 100),
        ),
    ],
)
def test_chart(tmp_path, plot, content, other, name, size):
    import matplotlib

    source = write_json(tmp_path / "in" / f"{name}.json", content)
    first, second = tmp_path / "a" / f"{name}.png", tmp_path / "b" / f"{name}.png"
    # Another module (gwpy.plot) may have changed the process's settings.
    font_size = matplotlib.rcParams["font.size"]
    assert plot("S1", source, first) == content
    # The caller's rcParams change nothing.
    with matplotlib.rc_context({"font.size": 30, "axes.facecolor": "red"}):
        plot("S1", source, second)
    assert first.read_bytes() == second.read_bytes()
    assert matplotlib.rcParams["font.size"] == font_size  # left as found
    got_size, pixels = decode(first)
    assert got_size == size
    blue = (pixels[..., 2] > 150) & (pixels[..., 0] < 80)  # the bars (C0)
    assert blue.mean() > 0.02
    assert (pixels.sum(axis=-1) < 200).any()  # dark text: labels, percentages
    # Another classification is another picture.
    plot("S1", write_json(tmp_path / "other.json", other), tmp_path / "other.png")
    assert (tmp_path / "other.png").read_bytes() != first.read_bytes()


def test_bars_in_gwcelerys_order(tmp_path):
    """p_astro: the most probable class on top; em_bright: names reversed
    (HasRemnant, HasNS, HasMassGap from the top)."""
    source = write_json(tmp_path / "p_astro.json", P_ASTRO)
    plot_p_astro("S1", source, tmp_path / "p_astro.png")
    _, pixels = decode(tmp_path / "p_astro.png")
    bars = (pixels[..., 2] > 150) & (pixels[..., 0] < 80)
    rows = np.flatnonzero(bars.any(axis=1))
    widths = [bars[row].sum() for row in rows]
    # Top rows belong to the widest bar (BNS 65%), the bottom ones to BBH.
    assert widths[0] > widths[-1] > 0


def test_format_probability():
    cases = {0: "0%", 0.004: "<1%", 0.2: "20%", 0.425: "42%", 0.995: ">99%", 1: "100%"}
    assert {p: format_probability(p) for p in cases} == cases


def test_bad_input_makes_no_chart(tmp_path):
    bad = tmp_path / "p_astro.json"
    bad.write_text('{"BNS": NaN, "NSBH": 0, "BBH": 0, "Terrestrial": 1}')
    with pytest.raises(EventInputError, match=r"^S1: p_astro\.json: not valid JSON"):
        plot_p_astro("S1", bad, tmp_path / "p_astro.png")
    bad = write_json(tmp_path / "em_bright.json", {"HasNS": 2, "HasMassGap": 0})
    with pytest.raises(EventInputError, match=r"HasNS is 2\.0, not in \[0, 1\]"):
        plot_em_bright("S1", bad, tmp_path / "em_bright.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "em_bright.json",
        "p_astro.json",
    ]


def test_decode_helper_sees_metadata():
    """decode() would notice a version stamp (so test_chart can fail)."""
    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Software", "matplotlib")
    buffer = io.BytesIO()
    Image.new("RGB", (2, 2)).save(buffer, format="png", pnginfo=info)
    buffer.seek(0)
    with pytest.raises(AssertionError):
        decode(buffer)
