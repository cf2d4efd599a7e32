"""gwreplay: replay gwcelery's orchestrator over an event store.

    snakemake --cores 2 --config store=STORE results=RESULTS

The flow chart and the file targets are described in docs/flowchart.md.
"""

from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "rules/common.smk"
include: "rules/cbc_event.smk"
include: "rules/superevent.smk"
include: "rules/preliminary_alert.smk"
include: "rules/report.smk"


# Snakemake runs no hook when there is nothing to do, so the tables are also
# written here, from the results as they stand; the hooks below rewrite them
# once the jobs of this run have finished.
if main_run():
    write_run_summary()


rule all:
    default_target: True
    input:
        PLAN.targets(),


onstart:
    record_provenance()


onsuccess:
    write_run_summary(final=True)


onerror:
    write_run_summary(final=True)
