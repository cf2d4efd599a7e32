# MDC scorecard: request it as the target `report` (not part of `all`).
# Its figures are report() outputs, so `snakemake --report report.html`
# offers the figures of RESULTS/report/index.html with their captions.

from gwreplay.report.plots import FIGURE_CAPTIONS


localrules:
    report,


rule report:
    input:
        lambda wildcards: PLAN.targets(),
    output:
        index=f"{RESULTS}/report/index.html",
        figures=report(
            directory(f"{RESULTS}/report/figures"),
            patterns=["{name}.png"],
            caption="../docs/report/figure.rst",
            category="gwreplay report",
            labels={"figure": "{name}"},
        ),
    log:
        f"{RESULTS}/logs/report.log",
    params:
        store=STORE,
        captions=FIGURE_CAPTIONS,
    run:
        from gwreplay.report import write_report

        write_report(
            os.path.dirname(os.path.dirname(output.index)),
            store=params.store,
            quiet=True,
        )
