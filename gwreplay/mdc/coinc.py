"""coinc.xml of a simulated CBC candidate, shaped like the pipelines' uploads.

The document has the tables ``bayestar-realize-coincs`` writes for one
coincidence (process, time_slide, coinc_definer, coinc_event, coinc_inspiral,
coinc_event_map, sngl_inspiral and a COMPLEX8TimeSeries SNR series per
trigger), holding exactly one coinc_event as GraceDB uploads do, plus the
pipeline's ranking statistic (``coinc_event.likelihood``) and FAR
(``coinc_inspiral.combined_far``). Pipelines that embed their PSDs get them
appended as a ``psd`` LIGO_LW element (lal.series layout).

The process ``program`` is the name ligo.skymap knows for the pipeline, and
SNR phases follow that program's convention
(``ligo.skymap.io.events.ligolw.LigoLWEventSource._invert_phases``): the
simulation produces them in bayestar-realize-coincs' (inverted) convention,
so they are conjugated for pipelines that use the other one (PyCBC).
"""

import copy

import lal
import lal.series
from igwn_ligolw import lsctables
from igwn_ligolw.ligolw import Param
from lalinspiral.thinca import InspiralCoincDef

from . import ligolw_out
from .population import chirp_mass, symmetric_mass_ratio
from .psd import append_psds

#: process.program written by each pipeline (as ligo.skymap recognises them).
PIPELINE_PROGRAMS = {
    "gstlal": "gstlal_inspiral",
    "pycbc": "pycbc",
    "MBTAOnline": "MBTAOnline",
    # O4's GraceDB name of MBTA; its coinc.xml keeps the program MBTAOnline.
    "MBTA": "MBTAOnline",
    "spiir": "gstlal_inspiral_postcohspiir_online",
}

#: GraceDB account that uploads each pipeline's events.
PIPELINE_SUBMITTERS = {
    "gstlal": "gstlalcbc",
    "pycbc": "pycbclive",
    "MBTAOnline": "mbtaalert",
    "MBTA": "mbtaalert",
    "spiir": "spiir",
    "CWB": "cwb",
}

#: Strain channel each detector's triggers are computed from.
STRAIN_CHANNELS = {"H1": "GDS-CALIB_STRAIN", "L1": "GDS-CALIB_STRAIN"}
DEFAULT_STRAIN_CHANNEL = "Hrec_hoft_16384Hz"


def inverts_phases(program):
    """Whether ligo.skymap inverts the phases of ``program``'s triggers."""
    from ligo.skymap.io.events.ligolw import LigoLWEventSource

    return LigoLWEventSource._phase_convention(program)


def _sngl_row(process_id, event_id, trigger, template, template_id, invert):
    table = lsctables.SnglInspiralTable
    row = table.RowType(**dict.fromkeys(table.validcolumns, None))
    mass1, mass2 = template["mass1"], template["mass2"]
    row.process_id = process_id
    row.event_id = event_id
    row.ifo = trigger.ifo
    row.channel = STRAIN_CHANNELS.get(trigger.ifo, DEFAULT_STRAIN_CHANNEL)
    row.end = lal.LIGOTimeGPS(trigger.end_seconds, trigger.end_nanoseconds)
    row.snr = trigger.snr
    row.coa_phase = trigger.phase if invert else -trigger.phase
    row.eff_distance = trigger.horizon / trigger.snr
    row.mass1, row.mass2 = mass1, mass2
    row.mchirp = chirp_mass(mass1, mass2)
    row.mtotal = mass1 + mass2
    row.eta = symmetric_mass_ratio(mass1, mass2)
    row.spin1x = row.spin1y = row.spin2x = row.spin2y = 0.0
    row.spin1z, row.spin2z = template["spin1z"], template["spin2z"]
    row.chisq, row.chisq_dof = 1.0, 1
    row.Gamma0 = float(template_id)
    return row


def _snr_series_element(trigger, event_id, invert):
    series = trigger.snr_series()
    if not invert:
        series.data.data = series.data.data.conj()
    element = lal.series.build_COMPLEX8TimeSeries(series, encoding="base64")
    element.appendChild(Param.from_pyvalue("event_id", event_id))
    return element


def coinc_document(
    pipeline,
    realization,
    template,
    *,
    far,
    ln_likelihood_ratio,
    created,
    template_id,
    psds=None,
):
    """The coinc.xml document of one pipeline's candidate.

    ``template`` has mass1, mass2, spin1z, spin2z; ``psds`` (detector ->
    REAL8FrequencySeries) are embedded when given.
    """
    program = PIPELINE_PROGRAMS[pipeline]
    invert = inverts_phases(program)
    instruments = realization.instruments
    xmldoc, root = ligolw_out.new_document()
    process = ligolw_out.append_process(
        root, program, created, PIPELINE_SUBMITTERS[pipeline], ifos=instruments
    )

    time_slides = root.appendChild(lsctables.TimeSlideTable.new())
    time_slide_id = time_slides.get_time_slide_id(
        dict.fromkeys(instruments, 0.0), create_new=process
    )
    coinc_defs = root.appendChild(lsctables.CoincDefTable.new())
    coinc_def = copy.copy(InspiralCoincDef)
    coinc_def.coinc_def_id = coinc_defs.get_next_id()
    coinc_defs.append(coinc_def)

    coincs = root.appendChild(lsctables.CoincTable.new())
    coinc = coincs.appendRow(
        process_id=process.process_id,
        coinc_def_id=coinc_def.coinc_def_id,
        coinc_event_id=coincs.get_next_id(),
        time_slide_id=time_slide_id,
        insts=instruments,
        nevents=len(instruments),
        likelihood=ln_likelihood_ratio,
    )

    mass1, mass2 = template["mass1"], template["mass2"]
    coinc_inspirals = root.appendChild(lsctables.CoincInspiralTable.new())
    coinc_inspirals.appendRow(
        coinc_event_id=coinc.coinc_event_id,
        instruments=instruments,
        end=realization.end_time,
        mass=mass1 + mass2,
        mchirp=chirp_mass(mass1, mass2),
        minimum_duration=None,
        snr=realization.network_snr,
        false_alarm_rate=far,
        combined_far=far,
    )

    coinc_map = root.appendChild(lsctables.CoincMapTable.new())
    sngls = root.appendChild(lsctables.SnglInspiralTable.new())
    for trigger in realization.triggers:
        event_id = sngls.get_next_id()
        sngls.append(
            _sngl_row(
                process.process_id, event_id, trigger, template, template_id, invert
            )
        )
        coinc_map.appendRow(
            coinc_event_id=coinc.coinc_event_id,
            table_name=sngls.tableName,
            event_id=event_id,
        )
        root.appendChild(_snr_series_element(trigger, event_id, invert))

    if psds is not None:
        append_psds(root, psds)
    return xmldoc
