# handle_superevent, first half: the superevent as the manager formed it, and
# the state-vector check of its detectors.


localrules:
    superevent,


rule superevent:
    input:
        superevent_event_jsons,
    output:
        f"{RESULTS}/superevents/{{superevent_id}}/superevent.json",
    log:
        f"{RESULTS}/logs/superevent/{{superevent_id}}.log",
    group:
        "superevent"
    params:
        superevent=lambda wildcards: PLAN.superevents[wildcards.superevent_id],
    run:
        from gwreplay.atomic import write_json

        write_json(output[0], params.superevent)


rule check_vectors:
    input:
        superevent=f"{RESULTS}/superevents/{{superevent_id}}/superevent.json",
        event_json=lambda wildcards: store_file(
            preferred_event_id(wildcards), "event.json"
        ),
    output:
        f"{RESULTS}/superevents/{{superevent_id}}/dq.json",
    log:
        main=f"{RESULTS}/logs/check_vectors/{{superevent_id}}.log",
        failure=f"{RESULTS}/.failures/check_vectors/{{superevent_id}}.json",
    group:
        "superevent"
    conda:
        "../envs/detchar.yaml"
    params:
        conf={
            key: config[key]
            for key in (
                "llhoft_glob",
                "llhoft_channels",
                "check_vector_prepost",
                "uses_gatedhoft",
            )
        },
        store=STORE,
    script:
        "../scripts/check_vectors.py"
