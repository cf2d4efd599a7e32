# MDC scorecard: request it as the target `report` (not part of `all`).


localrules:
    report,


rule report:
    input:
        lambda wildcards: PLAN.targets(),
    output:
        f"{RESULTS}/report/index.html",
    log:
        f"{RESULTS}/logs/report.log",
    params:
        store=STORE,
    run:
        from gwreplay.report import write_report

        write_report(
            os.path.dirname(os.path.dirname(output[0])), store=params.store
        )
