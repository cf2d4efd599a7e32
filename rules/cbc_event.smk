# handle_cbc_event: annotations made when files are added to a CBC G-event.


rule bayestar:
    input:
        unpack(event_inputs("bayestar.fits.gz")),
    output:
        f"{RESULTS}/events/{{graceid}}/bayestar.fits.gz",
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
        creation_gps=annotation_ready_gps("bayestar.fits.gz"),
    script:
        "../scripts/bayestar.py"


rule source_classification:
    input:
        unpack(event_inputs("source_classification.json")),
    output:
        f"{RESULTS}/events/{{graceid}}/source_classification.json",
    log:
        main=f"{RESULTS}/logs/source_classification/{{graceid}}.log",
        failure=f"{RESULTS}/.failures/source_classification/{{graceid}}.json",
    conda:
        "../envs/skymap.yaml"
    params:
        conf=module_settings(config, "gwreplay.em_bright"),
    script:
        "../scripts/source_classification.py"


rule p_astro_gstlal:
    input:
        unpack(event_inputs("p_astro_gstlal.json")),
    output:
        f"{RESULTS}/events/{{graceid}}/p_astro_gstlal.json",
    log:
        main=f"{RESULTS}/logs/p_astro_gstlal/{{graceid}}.log",
        failure=f"{RESULTS}/.failures/p_astro_gstlal/{{graceid}}.json",
    conda:
        "../envs/p_astro.yaml"
    params:
        conf=module_settings(config, "gwreplay.p_astro"),
    script:
        "../scripts/p_astro_gstlal.py"
