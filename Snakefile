"""gwreplay: replay gwcelery's orchestrator over an event store.

    snakemake --cores 2 --config store=STORE results=RESULTS

The flow chart and the file targets are described in docs/flowchart.md.
"""

from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "rules/common.smk"


# The orchestrator of the replayed era (docs/policies.md): the flow chart's
# annotations and single preliminary (2018, O3), or gwcelery 3.0.0's
# annotations and alert sequence (O4).
if follows_sequence(config):

    include: "rules/cbc_event_o4.smk"
    include: "rules/superevent_o4.smk"

else:

    include: "rules/cbc_event.smk"
    include: "rules/superevent.smk"


include: "rules/report.smk"


rule all:
    default_target: True
    input:
        # A function, so that runs of explicit targets (the watcher) do not
        # build the list of every target of the store.
        lambda wildcards: PLAN.targets(),


# `gwreplay run` does the bookkeeping (gwreplay.bookkeeping: lock, provenance,
# tables, stamp) itself, around Snakemake; these hooks run the same code for
# plain `snakemake` runs (and the watcher's), after which `gwreplay run` no
# longer trusts its stamp of the last complete run (gwreplay.stamp).
onstart:
    if not driven_by_gwreplay_run():
        begin_run_bookkeeping()


onsuccess:
    if not driven_by_gwreplay_run():
        end_run_bookkeeping()


onerror:
    if not driven_by_gwreplay_run():
        end_run_bookkeeping()
