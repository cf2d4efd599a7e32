# handle_superevent: the superevent as the manager formed it, the state-vector
# check of its detectors and, when not vetoed, the preliminary alert of the
# preferred event at orchestrator_timeout. One job per superevent: the three
# steps take a second or two together, and a job each would triple the DAG
# that Snakemake builds and checks on every run (docs/benchmarks.md).


rule superevent:
    input:
        unpack(superevent_inputs),
    output:
        superevent=f"{RESULTS}/superevents/{{superevent_id}}/superevent.json",
        dq=f"{RESULTS}/superevents/{{superevent_id}}/dq.json",
        alert=f"{RESULTS}/superevents/{{superevent_id}}/alert.json",
    log:
        main=f"{RESULTS}/logs/superevent/{{superevent_id}}.log",
        failure=f"{RESULTS}/.failures/superevent/{{superevent_id}}.json",
    group:
        "superevent"
    conda:
        "../envs/alerts.yaml"
    params:
        superevent=lambda wildcards: PLAN.superevents[wildcards.superevent_id],
        blocked=lambda wildcards: PLAN.blocked_alerts.get(wildcards.superevent_id, ""),
        store=STORE,
        dq_conf=module_settings(config, "gwreplay.dq"),
        alert_conf=module_settings(config, "gwreplay.orchestrator"),
    script:
        "../scripts/superevent.py"
