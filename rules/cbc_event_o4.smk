# handle_cbc_event as gwcelery 3.0.0 runs it (O4 policy, docs/policies.md):
# BAYESTAR's multi-order map and its flattened copy, em_bright.json, and a
# p_astro only for the searches gwcelery computes one for (the others upload
# their own: gwreplay.products).


rule bayestar:
    input:
        unpack(event_inputs("bayestar.multiorder.fits")),
    output:
        f"{RESULTS}/events/{{graceid}}/bayestar.multiorder.fits",
    log:
        main=f"{RESULTS}/logs/bayestar/{{graceid}}.log",
        failure=f"{RESULTS}/.failures/bayestar/{{graceid}}.json",
    conda:
        "../envs/skymap.yaml"
    threads: config["bayestar_threads"]
    resources:
        mem_mb=config["bayestar_mem_mb"],
        runtime=config["bayestar_runtime_min"],
    params:
        conf=module_settings(config, "gwreplay.bayestar"),
        creation_gps=annotation_ready_gps("bayestar.multiorder.fits"),
    script:
        "../scripts/bayestar.py"


rule flatten_skymap:
    input:
        multiorder=f"{RESULTS}/events/{{graceid}}/bayestar.multiorder.fits",
    output:
        f"{RESULTS}/events/{{graceid}}/bayestar.fits.gz",
    log:
        main=f"{RESULTS}/logs/flatten_skymap/{{graceid}}.log",
        failure=f"{RESULTS}/.failures/flatten_skymap/{{graceid}}.json",
    conda:
        "../envs/skymap.yaml"
    script:
        "../scripts/flatten_skymap.py"


rule em_bright:
    input:
        unpack(event_inputs("em_bright.json")),
    output:
        f"{RESULTS}/events/{{graceid}}/em_bright.json",
    log:
        main=f"{RESULTS}/logs/em_bright/{{graceid}}.log",
        failure=f"{RESULTS}/.failures/em_bright/{{graceid}}.json",
    conda:
        "../envs/skymap.yaml"
    params:
        conf=module_settings(config, "gwreplay.em_bright"),
    script:
        "../scripts/source_classification.py"


# One rule per pipeline, so that each job's logs are named by its GraceID
# alone, as every other annotation's (gwreplay.products: stock_p_astro_<pipeline>).
for pipeline in STOCK_P_ASTRO_PIPELINES:

    rule:
        name:
            f"stock_p_astro_{pipeline}"
        input:
            event_json=lambda wildcards: store_file(wildcards.graceid, "event.json"),
        output:
            f"{RESULTS}/events/{{graceid}}/{pipeline}.p_astro.json",
        log:
            main=f"{RESULTS}/logs/stock_p_astro_{pipeline}/{{graceid}}.log",
            failure=f"{RESULTS}/.failures/stock_p_astro_{pipeline}/{{graceid}}.json",
        conda:
            "../envs/p_astro.yaml"
        script:
            "../scripts/p_astro_stock.py"
