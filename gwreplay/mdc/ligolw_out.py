"""Reproducible LIGO-LW documents: process rows without wall-clock or host data.

igwn_ligolw's ``register_process`` stamps the current time, user name, host
and process ID into the process table; an MDC store must be byte-identical
for a given seed, so we fill the process row ourselves with values taken from
the replay clock and fixed names, and we restart row IDs at 0 in every
document.
"""

import io

from igwn_ligolw import ligolw, lsctables
from igwn_ligolw import utils as ligolw_utils

from .. import __version__

#: Host name written in process rows.
NODE = "gwreplay-mdc"


def new_document():
    """An empty LIGO-LW document and its root LIGO_LW element.

    igwn_ligolw numbers rows with per-class counters that live as long as the
    process; they are reset here so that a document's row IDs start at 0
    whatever was built before it (in this process or another worker).
    """
    for table_class in ligolw.Table.TableByName.values():
        table_class.reset_next_id()
    xmldoc = ligolw.Document()
    root = xmldoc.appendChild(ligolw.LIGO_LW())
    return xmldoc, root


def append_process(root, program, gps_time, username, ifos=None, comment=None):
    """Append a process table with one row dated ``gps_time``; return the row."""
    table = root.appendChild(lsctables.ProcessTable.new())
    row = table.RowType(
        program=program,
        version=__version__,
        cvs_repository=None,
        cvs_entry_time=None,
        comment=comment,
        is_online=True,
        node=NODE,
        username=username,
        unix_procid=0,
        start_time=int(gps_time),
        end_time=int(gps_time),
        jobid=0,
        domain=None,
        process_id=table.get_next_id(),
    )
    row.instruments = ifos
    table.append(row)
    return row


def to_bytes(xmldoc):
    """Serialise a document to bytes (UTF-8 XML, uncompressed)."""
    buffer = io.BytesIO()
    ligolw_utils.write_fileobj(xmldoc, buffer)
    return buffer.getvalue()
