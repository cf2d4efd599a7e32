# handle_superevent, second half: when not vetoed, the preliminary alert of
# the preferred event at orchestrator_timeout.


rule preliminary_alert:
    input:
        unpack(preliminary_alert_inputs),
    output:
        f"{RESULTS}/superevents/{{superevent_id}}/alert.json",
    log:
        main=f"{RESULTS}/logs/preliminary_alert/{{superevent_id}}.log",
        failure=f"{RESULTS}/.failures/preliminary_alert/{{superevent_id}}.json",
    group:
        "superevent"
    conda:
        "../envs/alerts.yaml"
    params:
        conf={
            key: config[key]
            for key in (
                "orchestrator_timeout",
                "voevent_role",
                "gracedb_host",
                "replay_bayestar_seconds",
                "preliminary_alert_far_threshold",
                "preliminary_alert_trials_factor",
            )
        },
    script:
        "../scripts/preliminary_alert.py"
