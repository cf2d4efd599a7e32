"""The injection table: ``STORE/injections.xml`` (a LIGO-LW sim_inspiral table).

Rows are written with igwn_ligolw directly (``bayestar-inject`` would draw a
population of its own and is too slow for this purpose); each row holds what
``bayestar-realize-coincs`` reads from an injection file.
"""

import lal
from igwn_ligolw import lsctables

from ..atomic import write_bytes
from . import ligolw_out
from .population import chirp_mass, symmetric_mass_ratio

PROGRAM = "gwreplay-mdc"


def sim_inspiral_row(source, conf, simulation_id=0, process_id=0):
    """A sim_inspiral row for ``source`` (a dict from population.draw_source)."""
    table = lsctables.SimInspiralTable
    row = table.RowType(**dict.fromkeys(table.validcolumns, None))
    end_time = lal.LIGOTimeGPS(source["geocent_end_time"])
    row.process_id = process_id
    row.simulation_id = simulation_id
    row.waveform = conf["mdc_waveform"]
    row.time_geocent = end_time
    row.end_time_gmst = lal.GreenwichMeanSiderealTime(end_time)
    row.source = source["class"]
    row.mass1 = source["mass1"]
    row.mass2 = source["mass2"]
    row.mchirp = chirp_mass(source["mass1"], source["mass2"])
    row.eta = symmetric_mass_ratio(source["mass1"], source["mass2"])
    row.distance = source["distance"]
    row.longitude = source["ra"]
    row.latitude = source["dec"]
    row.inclination = source["inclination"]
    row.coa_phase = source["coa_phase"]
    row.polarization = source["polarization"]
    row.spin1x = row.spin1y = row.spin2x = row.spin2y = 0.0
    row.spin1z = source["spin1z"]
    row.spin2z = source["spin2z"]
    row.f_lower = conf["mdc_f_low"]
    row.f_final = 0.0
    row.amp_order = -1
    row.taper = "TAPER_NONE"
    row.bandpass = 0
    row.numrel_mode_min = row.numrel_mode_max = 0
    row.numrel_data = ""
    return row


def injections_document(sources, conf):
    """The injection document: a process row and one sim_inspiral row per source.

    ``sources`` are dicts with a ``simulation_id``; rows follow their order.
    """
    xmldoc, root = ligolw_out.new_document()
    process = ligolw_out.append_process(
        root,
        PROGRAM,
        conf["mdc_start_gps"],
        username="gwreplay",
        ifos=conf["mdc_detectors"],
        comment="gwreplay mock-data challenge injections",
    )
    table = root.appendChild(lsctables.SimInspiralTable.new())
    for source in sources:
        table.append(
            sim_inspiral_row(
                source,
                conf,
                simulation_id=source["simulation_id"],
                process_id=process.process_id,
            )
        )
    return xmldoc


def write_injections(path, sources, conf):
    """Write ``injections.xml`` atomically."""
    write_bytes(path, ligolw_out.to_bytes(injections_document(sources, conf)))
