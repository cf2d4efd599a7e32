"""The report's HTML page, ``RESULTS/report/index.html``.

The scorecard (summary, figures, tables), then one section per superevent
(:mod:`gwreplay.report.sections`). Relative links only, no external
resource (the one script is inline: this is opened offline), and no date or
version, so the page is byte-for-byte reproducible.
"""

import html

from .notices import MISMATCHES_TABLE, NOTICES_TABLE
from .sections import notice_score_section, overview_table, superevent_sections

#: What each table holds, shown on the page next to its link.
TABLE_CAPTIONS = {
    "superevents.tsv": "one row per superevent: outcome, latency, 50%/90% areas",
    "injections.tsv": "one row per injection: ligo-skymap-stats columns",
    "outcomes.tsv": "one row per truth source: expected vs got",
    "dq_confusion.csv": "DQ outcome, expected (rows) vs got (columns)",
    "inj_confusion.csv": "INJ label, expected (rows) vs got (columns)",
    "classification.tsv": "p_astro and source classification per superevent",
    "classification_by_class.csv": "mean and median per true class",
    NOTICES_TABLE: "O4 notices per tier and type: expected, replayed, matched",
    MISMATCHES_TABLE: "O4 notices that differ from truth.json, per superevent",
    "summary.json": "the figures of this page, machine-readable",
}
#: Tables with at most this many rows are also shown on the page.
INLINE_MAX_ROWS = 50
#: Wording of the outcome counts of summary.json on the page.
OUTCOME_WORDS = {
    "superevent": "superevent formed (or not) as expected",
    "dq": "DQ outcome as expected",
    "vetoed": "vetoed as expected",
    "inj": "INJ label as expected",
    "preferred": "preferred event at the orchestrator timeout as expected",
    "final_preferred": "final preferred event as expected",
}


#: Sorts every ``table.sortable`` by the clicked column (numbers as numbers,
#: empty cells last when ascending); marks the headers with ``aria-sort``.
SORT_SCRIPT = """(function () {
  function key(cell) {
    var text = cell.textContent.trim();
    return text !== "" && isFinite(text) ? parseFloat(text) : text.toLowerCase();
  }
  function compare(a, b) {
    if (typeof a === typeof b) { return a < b ? -1 : a > b ? 1 : 0; }
    return typeof a === "number" ? -1 : 1;
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var head = table.tHead.rows[table.tHead.rows.length - 1];
    Array.prototype.forEach.call(head.cells, function (th, column) {
      th.setAttribute("aria-sort", "none");
      th.title = "click to sort";
      th.addEventListener("click", function () {
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(head.cells, function (other) {
          other.setAttribute("aria-sort", "none");
        });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var order = compare(key(a.cells[column]), key(b.cells[column]));
          return ascending ? order : -order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  });
})();"""
#: The page's style sheet (inline, like the script).
STYLE = (
    "body{font-family:sans-serif;max-width:72em;margin:auto}"
    "table{border-collapse:collapse}td,th{border:1px solid #999;padding:2px 6px}"
    "table.sortable th{cursor:pointer}"
    'th[aria-sort="ascending"]::after{content:" \\25B2"}'
    'th[aria-sort="descending"]::after{content:" \\25BC"}'
    "img{max-width:100%}section{border-top:1px solid #ccc}"
)


#: Wording of the KS tests of summary.json on the page.
KS_WORDS = {
    "ks_searched_prob": "searched probability (sky)",
    "ks_searched_prob_dist": "searched probability of distance",
    "ks_searched_prob_vol": "searched probability of volume",
}


def _html_table(frame, index=False, sortable=False):
    return frame.to_html(
        index=index,
        na_rep="",
        float_format=lambda x: f"{x:.4g}",
        classes="sortable" if sortable else None,
    )


def _summary_items(summary):
    """The summary.json figures as sentences."""
    items = [f"superevents: {summary['superevents']}"]
    items += [f"{status}: {n}" for status, n in summary["status"].items()]
    injections = summary["injections"]
    if injections["total"]:
        items.append(
            f"injections: {injections['total']}, matched to a superevent: "
            f"{injections['with_superevent']}, "
            f"with a sky map: {injections['with_skymap']}"
        )
    for key, what in KS_WORDS.items():
        ks = summary.get(key) or {}
        if ks.get("pvalue") is not None:
            items.append(
                f"KS test of {what} against U(0,1): n = {ks['n']}, "
                f"D = {ks['statistic']:.3f}, p = {ks['pvalue']:.3g}"
            )
    latency = summary["latency"]
    if latency["n"]:
        items.append(
            f"alert latency (notice_time - t_0): median {latency['median']:.1f} s, "
            f"max {latency['max']:.1f} s over {latency['n']} notices"
        )
    outcomes = summary.get("outcomes", {})
    for key, words in OUTCOME_WORDS.items():
        if key in outcomes:
            counts = outcomes[key]
            items.append(f"{words}: {counts['correct']} / {counts['n']}")
    return items


def _frame(report, name):
    import pandas as pd

    if name in report.frames:
        return report.frames[name]
    if name in report.tables:
        rows, columns = report.tables[name]
        return pd.DataFrame(rows, columns=columns)
    return None


def _inline_sections(report):
    """(heading, html) of the tables shown on the page."""
    sections = []
    for name in ("dq_confusion.csv", "inj_confusion.csv"):
        frame = _frame(report, name)
        if frame is not None:
            sections.append((TABLE_CAPTIONS[name], _html_table(frame, index=True)))
    outcomes = _frame(report, "outcomes.tsv")
    if outcomes is not None and len(outcomes):
        checks = [c for c in outcomes.columns if c.endswith("_correct")]
        wrong = outcomes[~outcomes[checks].all(axis=1)]
        if len(wrong) == 0:
            body = "<p>Every outcome agrees with truth.json.</p>"
        elif len(wrong) <= INLINE_MAX_ROWS:
            body = _html_table(wrong, sortable=True)
        else:
            body = f"<p>{len(wrong)} truth sources: see outcomes.tsv.</p>"
        sections.append(("Outcomes that differ from truth.json", body))
    if report.summary.get("notices"):
        counts = report.tables.get(NOTICES_TABLE, (None,))[0]
        mismatches = report.tables.get(MISMATCHES_TABLE, (None,))[0]
        body = notice_score_section(report.summary["notices"], counts, mismatches)
        sections.append(("O4 notices against truth.json", body))
    by_class = _frame(report, "classification_by_class.csv")
    if by_class is not None and len(by_class):
        pivot = by_class.pivot(
            index="quantity", columns="truth_class", values=["mean", "median"]
        )
        pivot = pivot.swaplevel(axis=1).sort_index(axis=1)
        sections.append(
            (
                "p_astro and source classification per true class",
                _html_table(pivot, True),
            )
        )
    return sections


def _head():
    return [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>gwreplay report</title>",
        # An empty icon: no favicon.ico request to a server that has none.
        '<link rel="icon" href="data:,">',
        f"<style>{STYLE}</style>",
        "</head><body>",
        "<h1>gwreplay report</h1>",
    ]


def _figure_parts(figures):
    esc = html.escape
    parts = ["<h2>Figures</h2>"] if figures else []
    for name, caption in figures.items():
        parts.append(
            f'<figure><a href="{esc(name)}"><img src="{esc(name)}" '
            f'alt="{esc(caption)}"></a><figcaption>{esc(caption)}</figcaption>'
            "</figure>"
        )
    return parts


def _table_links(report):
    names = sorted(list(report.tables) + list(report.frames)) + ["summary.json"]
    parts = ["<h2>Tables</h2><ul>"]
    for name in names:
        caption = TABLE_CAPTIONS.get(name, "")
        parts.append(
            f'<li><a href="{html.escape(name)}">{html.escape(name)}</a>: '
            f"{html.escape(caption)}</li>"
        )
    parts.append("</ul>")
    return parts


def render_html(report, figures):
    """The page: summary, figures, linked tables, small tables inline, the
    superevents (overview and one section each), skips.

    Everything is relative links to files beside it or in the results
    folder; no date or version is written, so the page is byte-for-byte
    reproducible.
    """
    esc = html.escape
    parts = _head() + ["<h2>Summary</h2><ul>"]
    parts += [f"<li>{esc(item)}</li>" for item in _summary_items(report.summary)]
    parts.append("</ul>")
    parts += _figure_parts(figures)
    parts += _table_links(report)
    for heading, body in _inline_sections(report):
        parts += [f"<h3>{esc(heading)}</h3>", body]
    if report.superevents:
        parts += ["<h2>Superevents</h2>", overview_table(report.superevents)]
        parts += superevent_sections(report.superevents)
    if report.skipped:
        parts.append("<h2>Skipped</h2><ul>")
        parts += [f"<li>{esc(item)}</li>" for item in report.skipped]
        parts.append("</ul>")
    parts += [f"<script>{SORT_SCRIPT}</script>", "</body></html>"]
    return "\n".join(parts) + "\n"
