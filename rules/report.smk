# MDC scorecard: request it as the target `report` (not part of `all`).


localrules:
    report,


rule report:
    input:
        PLAN.targets(),
    output:
        f"{RESULTS}/report/index.html",
    params:
        store=STORE,
    run:
        from gwreplay.report import write_report

        write_report(RESULTS, store=params.store)
