"""The replay on a real Slurm cluster, through ``--profile slurm``.

The fixture starts a private single-node Slurm (tests/slurm/cluster.sh:
installs slurm-wlm and munge from Debian when missing, starts munged,
slurmctld and slurmd on the loopback interface, and stops exactly those
daemons afterwards). The test replays a small store (the real CBC event
G211117 and one cWB burst) with ``gwreplay run --profile slurm`` and then asks
Slurm itself which jobs it ran: BAYESTAR as its own job with the profile's
CPUs and memory, the per-superevent steps of both superevents batched into a
single group job, every job COMPLETED, and each rule's Snakemake output in the
log file Slurm wrote for that job.
"""

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from builders import (
    BURST_EVENT,
    G211117_EVENT,
    ONE_DETECTOR_BAYESTAR,
    write_event,
    write_gaussian_skymap,
)

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]
CLUSTER_SCRIPT = REPO / "tests" / "slurm" / "cluster.sh"
#: cluster.sh's exit status when apt-get is missing to install Slurm.
NO_APT = 77


#: Executor settings for a one-node test cluster: squeue (no slurmdbd here, so
#: no sacct) and a 2 s first status check instead of the profile's 20 s.
TEST_CLUSTER_ARGS = (
    "--slurm-status-command",
    "squeue",
    "--slurm-init-seconds-before-status-checks",
    "2",
    "--slurm-keep-successful-logs",
)


def cluster_script(action, folder):
    """Run ``cluster.sh start|stop FOLDER``; return the CompletedProcess."""
    return subprocess.run(
        ["bash", str(CLUSTER_SCRIPT), action, str(folder)],
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def slurm_env():
    """Environment of a running private Slurm cluster (started and stopped here)."""
    if os.geteuid() != 0:
        pytest.skip("starting slurmd and munged (and apt-get install) needs root")
    # Not pytest's tmp_path: its /tmp/pytest-of-root parent is 0700, and munged
    # runs as user munge and must reach its socket folder.
    folder = Path(tempfile.mkdtemp(prefix="gwreplay-slurm-", dir="/tmp"))
    try:
        started = cluster_script("start", folder)
        if started.returncode == NO_APT:
            pytest.skip(
                f"Slurm not installed and apt-get unavailable: {started.stderr}"
            )
        assert started.returncode == 0, started.stdout + started.stderr
        env = dict(os.environ, SLURM_CONF=str(folder / "slurm.conf"))
        yield env
    finally:
        stopped = cluster_script("stop", folder)
        leftovers = (folder / "pids").read_text() if (folder / "pids").exists() else ""
        shutil.rmtree(folder, ignore_errors=True)
    assert stopped.returncode == 0, stopped.stderr
    assert not leftovers, f"daemons not stopped: {leftovers}"


def slurm_jobs(env):
    """Every job slurmctld still holds (MinJobAge keeps finished ones), per job id."""
    out = subprocess.run(
        ["squeue", "--states=all", "--noheader", "--format=%i|%j|%T|%k|%C|%m|%Z"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    jobs = {}
    for line in out.splitlines():
        job_id, name, state, comment, cpus, memory, workdir = line.strip().split("|")
        jobs[job_id] = {
            "name": name,
            "state": state,
            "comment": comment,
            "cpus": int(cpus),
            "memory": memory,
            "workdir": workdir,
        }
    return jobs


def completion_records(env):
    """slurmctld's job-completion log (jobcomp/filetxt): {JobId: JobState}."""
    conf = Path(env["SLURM_CONF"]).read_text()
    (location,) = [
        line.split("=", 1)[1]
        for line in conf.splitlines()
        if line.startswith("JobCompLoc=")
    ]
    records = {}
    for line in Path(location).read_text().splitlines():
        fields = dict(item.split("=", 1) for item in line.split() if "=" in item)
        records[fields["JobId"]] = fields
    return records


def replay_on_slurm(env, reference_dir, root, config, timeout):
    """Replay G211117 (BAYESTAR on H1 alone) + one cWB burst in ``root``
    with ``--profile slurm`` and ``--config`` items ``config``; return
    (results, our Slurm jobs, output)."""
    store, results = root / "store", root / "results"
    ref = reference_dir / "G211117"
    write_event(
        store,
        G211117_EVENT,
        {"coinc.xml": ref / "coinc.xml", "psd.xml.gz": ref / "psd.xml.gz"},
    )
    folder = write_event(store, BURST_EVENT)
    write_gaussian_skymap(folder / "skyprobcc_cWB.fits", 120.0, -30.0)
    proc = subprocess.run(
        [sys.executable, "-m", "gwreplay.cli", "run", str(store)]
        + ["--results", str(results), "--profile", "slurm", "--", *TEST_CLUSTER_ARGS]
        + ["--config", ONE_DETECTOR_BAYESTAR, *config],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    ours = {
        job_id: job
        for job_id, job in slurm_jobs(env).items()
        if Path(job["workdir"]) == results
    }
    return results, ours, output


@pytest.fixture(scope="module")
def slurm_replay(slurm_env, reference_dir, tmp_path_factory):
    """Replay G211117 + one cWB burst with ``--profile slurm``.

    Pinned to O3: these tests are about the one `superevent` job per
    superevent that rules/superevent.smk batches into the profile's
    "superevent" group job. O4 on Slurm: :func:`slurm_replay_o4`.
    """
    root = tmp_path_factory.mktemp("slurm-replay")
    results, ours, output = replay_on_slurm(
        slurm_env, reference_dir, root, ["orchestrator_policy=O3"], 400
    )
    return results, ours, completion_records(slurm_env), output


@pytest.fixture(scope="module")
def slurm_replay_o4(slurm_env, reference_dir, tmp_path_factory):
    """The same two events under O4 (the default) with ``--profile slurm``."""
    root = tmp_path_factory.mktemp("slurm-replay-o4")
    return replay_on_slurm(slurm_env, reference_dir, root, ["volume_plot_dpi=40"], 600)


def test_o4_on_slurm_submits_the_event_jobs_and_keeps_the_alert_path_local(
    slurm_replay_o4,
):
    """BAYESTAR, the annotations group and the volume plot go to Slurm; the
    superevent checkpoint and every notice job run in the submitting
    Snakemake (localrules), and every file each alert.json lists exists."""
    results, jobs, output = slurm_replay_o4
    for job_id, job in jobs.items():
        assert job["state"] == "COMPLETED", (job_id, job)
    kinds = sorted(job["comment"].split("_wildcards_")[0] for job in jobs.values())
    volume_plots = sorted(results.glob("superevents/*/bayestar.volume-*.png"))
    assert volume_plots
    assert kinds.count("rule_bayestar") == 1, kinds
    assert kinds.count("rule_notice_volume_plot") == len(volume_plots), kinds
    # em_bright (ready at once) and flatten_skymap (after BAYESTAR): the
    # profile's "annotations" group, in one group job or two.
    groups = [k for k in kinds if k not in ("rule_bayestar", "rule_notice_volume_plot")]
    assert groups and all(k.startswith("rule_annotations_") for k in groups), kinds
    members = "_".join(groups)
    assert "em_bright" in members and "flatten_skymap" in members, kinds
    (log,) = (results / "logs" / "snakemake").glob("*.log")
    text = log.read_text()
    for local in (
        "checkpoint superevent",
        "rule notice",
        "rule notice_circular",
        "rule notice_plot",
        "rule alert",
    ):
        assert re.search(rf"^local{local}:$", text, flags=re.MULTILINE), local
    superevents = sorted((results / "superevents").iterdir())
    assert len(superevents) == 2
    for folder in superevents:
        record = json.loads((folder / "alert.json").read_text())
        files = record["files"]
        assert f"{folder.name}-1-Preliminary.json" in files, files
        for name in files:
            assert (folder / name).stat().st_size > 0, folder / name
    with open(results / "failures.csv", newline="") as f:
        assert list(csv.DictReader(f)) == []


def jobs_of(jobs, comment_prefix):
    """The Slurm jobs whose comment (the plugin writes rule_<rule or group>...) fits."""
    return {i: j for i, j in jobs.items() if j["comment"].startswith(comment_prefix)}


def test_every_rule_ran_as_a_completed_slurm_job(slurm_replay):
    results, jobs, completions, output = slurm_replay
    assert jobs, f"Slurm ran no job in {results}:\n{output[-3000:]}"
    for job_id, job in jobs.items():
        assert job["state"] == "COMPLETED", (job_id, job)
        assert job["name"].startswith("gwreplay_")  # slurm-jobname-prefix
        assert completions[job_id]["JobState"] == "COMPLETED"
        assert completions[job_id]["Name"] == job["name"]
    # One Slurm job per rule or group that ran, and nothing else.
    kinds = sorted(job["comment"].split("_wildcards_")[0] for job in jobs.values())
    assert kinds == sorted(
        [
            "rule_bayestar",
            "rule_annotations_source_classification",
            "rule_superevent_superevent",
        ]
    ), kinds


def test_bayestar_job_has_profile_resources(slurm_replay):
    _, jobs, _, _ = slurm_replay
    (bayestar,) = jobs_of(jobs, "rule_bayestar_wildcards_G211117").values()
    assert bayestar["cpus"] == 2  # set-threads: bayestar: 2
    assert bayestar["memory"] == "1000M"  # set-resources: bayestar: mem_mb: 1000


def test_both_superevents_share_one_group_job(slurm_replay):
    results, jobs, _, _ = slurm_replay
    (job_id,) = jobs_of(jobs, "rule_superevent").keys()
    # --slurm-keep-successful-logs: the plugin keeps the file Slurm wrote.
    (log,) = (results / ".snakemake" / "slurm_logs").glob(
        f"group_superevent*/**/{job_id}.log"
    )
    text = log.read_text()
    superevents = sorted(p.name for p in (results / "superevents").iterdir())
    assert len(superevents) == 2
    for superevent_id in superevents:
        assert f"superevent_id={superevent_id}" in text
    # Inside the job each member runs as a local rule of its own Snakemake.
    ran = re.findall(r"^localrule superevent:$", text, flags=re.MULTILINE)
    assert len(ran) == 2


def test_results_of_the_slurm_replay(slurm_replay):
    from ligo.skymap.io import read_sky_map
    from ligo.skymap.moc import uniq2pixarea

    results, _, _, _ = slurm_replay
    skymap = read_sky_map(
        str(results / "events" / "G211117" / "bayestar.fits.gz"), moc=True
    )
    assert skymap.meta["objid"] == "G211117"
    probability = skymap["PROBDENSITY"] * uniq2pixarea(skymap["UNIQ"])
    assert probability.sum() == pytest.approx(1.0)
    classification = json.loads(
        (results / "events" / "G211117" / "source_classification.json").read_text()
    )
    assert set(classification) == {"HasNS", "HasRemnant", "HasMassGap"}
    with open(results / "alerts.csv", newline="") as f:
        rows = {row["preferred_event"]: row for row in csv.DictReader(f)}
    assert set(rows) == {"G211117", "G000002"}
    for row in rows.values():
        assert row["status"] == "sent"
        folder = results / "superevents" / row["superevent_id"]
        sid = row["superevent_id"]
        for name in (
            "superevent.json",
            "dq.json",
            "alert.json",
            "circular.txt",
            f"{sid}-1-Preliminary.xml",
            f"{sid}-1-Preliminary.json",
        ):
            assert (folder / name).stat().st_size > 0, folder / name
    with open(results / "failures.csv", newline="") as f:
        assert list(csv.DictReader(f)) == []
