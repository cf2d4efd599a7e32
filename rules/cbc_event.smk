# handle_cbc_event: annotations made when files are added to a CBC G-event.


rule bayestar:
    input:
        unpack(bayestar_inputs),
    output:
        f"{RESULTS}/events/{{graceid}}/bayestar.fits.gz",
    log:
        f"{RESULTS}/logs/bayestar/{{graceid}}.log",
    params:
        disabled_detectors=config["bayestar_disabled_detectors"],
        waveform=config["bayestar_waveform"],
        f_low=config["bayestar_f_low"],
        creation_gps=lambda wildcards: annotation_ready_gps(
            wildcards.graceid, ["coinc.xml", "psd.xml.gz"]
        ),
        results=RESULTS,
    threads: config["bayestar_threads"]
    resources:
        mem_mb=config["bayestar_mem_mb"],
        runtime=config["bayestar_runtime_min"],
    conda:
        "../envs/skymap.yaml"
    script:
        "../scripts/bayestar.py"


rule source_classification:
    input:
        coinc=store_file("{graceid}", "coinc.xml"),
    output:
        f"{RESULTS}/events/{{graceid}}/source_classification.json",
    log:
        f"{RESULTS}/logs/source_classification/{{graceid}}.log",
    params:
        conf={
            key: config[key]
            for key in (
                "em_bright_ns_max_mass",
                "em_bright_ns_radius",
                "em_bright_num_samples",
            )
        },
        results=RESULTS,
    conda:
        "../envs/skymap.yaml"
    script:
        "../scripts/source_classification.py"


rule p_astro_gstlal:
    input:
        coinc=store_file("{graceid}", "coinc.xml"),
        ranking_data=store_file("{graceid}", "ranking_data.xml.gz"),
    output:
        f"{RESULTS}/events/{{graceid}}/p_astro_gstlal.json",
    log:
        f"{RESULTS}/logs/p_astro_gstlal/{{graceid}}.log",
    params:
        conf={key: config[key] for key in P_ASTRO_KEYS},
        results=RESULTS,
    conda:
        "../envs/p_astro.yaml"
    script:
        "../scripts/p_astro_gstlal.py"
