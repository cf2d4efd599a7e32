# The O4 orchestrator (gwcelery 3.0.0, docs/policies.md): the superevent's
# state-vector check and alert sequence (a checkpoint: which notices exist is
# known once the check has run), then each notice as its own target, then its
# circular, sky-map plot, volume plot and bar charts, then alert.json, the
# superevent's record of all.
#
# All but the volume plot are sub-second steps: `run:` rules that Snakemake
# runs in a thread of its own process (--force-use-threads, which gwreplay
# passes) and on a cluster's submit host (localrules), without an
# interpreter's start-up per job (gwreplay.notice_jobs).


localrules:
    superevent,
    notice,
    notice_voevent,
    notice_circular,
    notice_plot,
    notice_chart,
    alert,


checkpoint superevent:
    input:
        unpack(sequence_inputs),
    output:
        superevent=f"{RESULTS}/superevents/{{superevent_id}}/superevent.json",
        dq=f"{RESULTS}/superevents/{{superevent_id}}/dq.json",
        sequence=f"{RESULTS}/superevents/{{superevent_id}}/sequence.json",
    log:
        main=f"{RESULTS}/logs/superevent/{{superevent_id}}.log",
        failure=f"{RESULTS}/.failures/superevent/{{superevent_id}}.json",
    params:
        superevent=lambda wildcards: PLAN.superevents[wildcards.superevent_id],
        ready=sequence_ready,
        store=STORE,
        dq_conf=overlaid_settings(config, DQ_KEYS),
        settings=sequence_settings(config),
    run:
        run_step(
            SimpleNamespace(
                rule=rule,
                input=input,
                output=output,
                params=params,
                wildcards=wildcards,
                log=log,
            )
        )


rule notice:
    input:
        unpack(notice_inputs),
    output:
        notice=f"{RESULTS}/superevents/{{superevent_id}}/{{superevent_id}}-{{number}}-{{alert_type}}.json",
        avro=f"{RESULTS}/superevents/{{superevent_id}}/{{superevent_id}}-{{number}}-{{alert_type}}.avro",
    log:
        main=f"{RESULTS}/logs/notice/{{superevent_id}}-{{number}}-{{alert_type}}.log",
        failure=f"{RESULTS}/.failures/notice/{{superevent_id}}-{{number}}-{{alert_type}}.json",
    wildcard_constraints:
        number="[0-9]+",
        alert_type="EarlyWarning|Preliminary|Initial|Retraction",
    params:
        gracedb_host=config["gracedb_host"],
    run:
        run_step(
            SimpleNamespace(
                rule=rule,
                input=input,
                output=output,
                params=params,
                wildcards=wildcards,
                log=log,
            )
        )


rule notice_voevent:
    input:
        unpack(voevent_inputs),
    output:
        voevent=f"{RESULTS}/superevents/{{superevent_id}}/{{superevent_id}}-{{number}}-Preliminary.xml",
    log:
        main=f"{RESULTS}/logs/notice_voevent/{{superevent_id}}-{{number}}.log",
        failure=f"{RESULTS}/.failures/notice_voevent/{{superevent_id}}-{{number}}.json",
    wildcard_constraints:
        number="[0-9]+",
    params:
        gracedb_host=config["gracedb_host"],
        voevent_role=config["voevent_role"],
    run:
        run_step(
            SimpleNamespace(
                rule=rule,
                input=input,
                output=output,
                params=params,
                wildcards=wildcards,
                log=log,
            )
        )


rule notice_circular:
    input:
        unpack(circular_inputs),
    output:
        circular=f"{RESULTS}/superevents/{{superevent_id}}/{{kind}}-circular-{{number}}.txt",
    log:
        main=f"{RESULTS}/logs/notice_circular/{{superevent_id}}-{{kind}}-{{number}}.log",
        failure=f"{RESULTS}/.failures/notice_circular/{{superevent_id}}-{{kind}}-{{number}}.json",
    wildcard_constraints:
        kind="earlywarning|preliminary|initial|retraction",
        number="[0-9]+",
    params:
        gracedb_host=config["gracedb_host"],
    run:
        run_step(
            SimpleNamespace(
                rule=rule,
                input=input,
                output=output,
                params=params,
                wildcards=wildcards,
                log=log,
            )
        )


rule notice_plot:
    input:
        unpack(plot_inputs),
    output:
        plot=f"{RESULTS}/superevents/{{superevent_id}}/{{skymap}}-{{number}}.png",
    log:
        main=f"{RESULTS}/logs/notice_plot/{{superevent_id}}-{{skymap}}-{{number}}.log",
        failure=f"{RESULTS}/.failures/notice_plot/{{superevent_id}}-{{skymap}}-{{number}}.json",
    wildcard_constraints:
        skymap=SKYMAP_STEM,
        number="[0-9]+",
    params:
        conf=module_settings(config, "gwreplay.skymap_plot"),
    run:
        run_step(
            SimpleNamespace(
                rule=rule,
                input=input,
                output=output,
                params=params,
                wildcards=wildcards,
                log=log,
            )
        )


rule alert:
    input:
        unpack(alert_record_inputs),
    output:
        alert=f"{RESULTS}/superevents/{{superevent_id}}/alert.json",
    log:
        main=f"{RESULTS}/logs/alert/{{superevent_id}}.log",
        failure=f"{RESULTS}/.failures/alert/{{superevent_id}}.json",
    run:
        run_step(
            SimpleNamespace(
                rule=rule,
                input=input,
                output=output,
                params=params,
                wildcards=wildcards,
                log=log,
            )
        )


rule notice_volume_plot:
    input:
        unpack(volume_plot_inputs),
    output:
        plot=f"{RESULTS}/superevents/{{superevent_id}}/{{skymap}}.volume-{{number}}.png",
    log:
        main=f"{RESULTS}/logs/notice_volume_plot/{{superevent_id}}-{{skymap}}.volume-{{number}}.log",
        failure=f"{RESULTS}/.failures/notice_volume_plot/{{superevent_id}}-{{skymap}}.volume-{{number}}.json",
    wildcard_constraints:
        skymap=SKYMAP_STEM,
        number="[0-9]+",
    conda:
        "../envs/skymap.yaml"
    threads: config["bayestar_threads"]
    params:
        conf=module_settings(config, "gwreplay.o4_skymaps"),
    script:
        "../scripts/notice_volume_plot.py"


rule notice_chart:
    input:
        unpack(chart_inputs),
    output:
        plot=f"{RESULTS}/superevents/{{superevent_id}}/{{chart}}-{{number}}.png",
    log:
        main=f"{RESULTS}/logs/notice_chart/{{superevent_id}}-{{chart}}-{{number}}.log",
        failure=f"{RESULTS}/.failures/notice_chart/{{superevent_id}}-{{chart}}-{{number}}.json",
    wildcard_constraints:
        chart=r"em_bright|(?:[a-z]+\.)?p_astro",
        number="[0-9]+",
    run:
        run_step(
            SimpleNamespace(
                rule=rule,
                input=input,
                output=output,
                params=params,
                wildcards=wildcards,
                log=log,
            )
        )
