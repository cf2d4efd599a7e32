"""The superevents of the report page: the sortable overview and one section
each, and the score of their O4 notices against the truth.

Each section links, relative to ``RESULTS/report/index.html``, what the
replay wrote for that superevent (:mod:`gwreplay.report.files`): its notices
in every format, its GCN Circular drafts, its sky maps, their all-sky plots
(shown as images), volume renderings and other plots, and its records.
"""

import html
import math
from urllib.parse import quote

#: Columns of the superevent overview (superevents.tsv names).
OVERVIEW_COLUMNS = (
    "superevent_id",
    "preferred_event",
    "truth_class",
    "dq",
    "labels",
    "status",
    "latency",
    "area(90)",
)
#: Pixel width of the all-sky plots shown in a superevent's section.
SKYMAP_IMAGE_WIDTH = 480
#: Notice mismatches shown on the page at most (all are in the TSV).
MISMATCH_MAX_ROWS = 50


def cell_text(value):
    """A table value as the page shows it (4 significant digits, "" for none)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def link(href, text):
    """``<a href>`` with the path quoted and both parts escaped."""
    return f'<a href="{html.escape(quote(href))}">{html.escape(text)}</a>'


def sortable_table(columns, rows):
    """A ``table.sortable`` of pre-rendered HTML cells (the page's script
    sorts it when a header is clicked)."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows
    )
    return (
        f'<table class="sortable"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>"
    )


def overview_table(superevents):
    """Sortable table of every superevent; its ID links to its section."""
    rows = []
    for row, files in superevents:
        sid = row["superevent_id"]
        cells = [f'<a href="#{html.escape(sid)}">{html.escape(sid)}</a>']
        cells += [html.escape(cell_text(row.get(c))) for c in OVERVIEW_COLUMNS[1:]]
        notices = ", ".join(f"{n.number}-{n.type}" for n in files.notices)
        rows.append([*cells, html.escape(notices)])
    return sortable_table([*OVERVIEW_COLUMNS, "notices"], rows)


def _links(folder, names):
    return " ".join(link(f"{folder}/{name}", name) for name in names)


def _notice_items(folder, notices):
    """One list item per notice: ``N Type``, then a link per format."""
    items = []
    for notice in notices:
        formats = " ".join(
            link(f"{folder}/{name}", fmt) for fmt, name in sorted(notice.files.items())
        )
        items.append(
            f"<li>notice {notice.number} {html.escape(notice.type)}: {formats}</li>"
        )
    return items


def _facts(row):
    """One line of what the replay decided for the superevent."""
    facts = [
        f"status: {row['status']}",
        f"preferred event: {row.get('preferred_event') or 'none'}",
        f"DQ: {row['dq']}",
    ]
    if row.get("labels"):
        facts.append(f"labels: {row['labels']}")
    if row.get("latency") is not None:
        facts.append(f"latency: {row['latency']:.1f} s")
    if row.get("truth_class"):
        facts.append(f"true class: {row['truth_class']}")
    return html.escape(" · ".join(facts))


def superevent_section(row, files):
    """The ``<section id=SID>`` of one superevent."""
    sid = row["superevent_id"]
    folder = f"../superevents/{sid}"
    parts = [
        f'<section id="{html.escape(sid)}">',
        f"<h3>{html.escape(sid)}</h3>",
        f"<p>{_facts(row)}</p>",
    ]
    for name in files.skymap_plots:
        href = html.escape(quote(f"{folder}/{name}"))
        parts.append(
            f'<figure><a href="{href}"><img src="{href}" loading="lazy" '
            f'width="{SKYMAP_IMAGE_WIDTH}" alt="all-sky plot {html.escape(name)} '
            f'of {html.escape(sid)}"></a>'
            f"<figcaption>{html.escape(name)}</figcaption></figure>"
        )
    items = _notice_items(folder, files.notices)
    for label, names in (
        ("circulars", files.circulars),
        ("sky maps", files.skymaps),
        ("sky-map plots", files.skymap_plots),
        ("volume plots", files.volume_plots),
        ("other plots", files.other_plots),
        ("records", files.records),
        ("other files", files.other_files),
    ):
        if names:
            items.append(f"<li>{label}: {_links(folder, names)}</li>")
    if items:
        parts += ["<ul>", *items, "</ul>"]
    else:
        parts.append(f"<p>No files in superevents/{html.escape(sid)}/.</p>")
    parts.append("</section>")
    return "\n".join(parts)


def superevent_sections(superevents):
    """Every superevent's section, in superevent ID order."""
    return [superevent_section(row, files) for row, files in superevents]


def notice_score_section(summary, counts, mismatches):
    """The page's score of the O4 notices (:mod:`gwreplay.report.notices`):
    the counts per tier and type, then the mismatches, one row per notice,
    by superevent (each ID links to its section); or why there is no score."""
    if not summary.get("scored"):
        return f"<p>{html.escape(summary['reason'])}.</p>"
    columns = list(counts[0])
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{html.escape(cell_text(r[c]))}</td>" for c in columns)
        + "</tr>"
        for r in counts
    )
    parts = [f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"]
    if not mismatches:
        parts.append("<p>Every notice agrees with truth.json.</p>")
    elif len(mismatches) > MISMATCH_MAX_ROWS:
        parts.append(f"<p>{len(mismatches)} mismatches: see notice_mismatches.tsv.</p>")
    else:
        columns = list(mismatches[0])
        rows = []
        for r in sorted(mismatches, key=lambda r: (r["superevent_id"], r["truth_id"])):
            sid = html.escape(r["superevent_id"])
            cells = [f'<a href="#{sid}">{sid}</a>' if sid else ""]
            cells += [html.escape(cell_text(r[c])) for c in columns[1:]]
            rows.append(cells)
        parts.append(sortable_table(columns, rows))
    return "\n".join(parts)
