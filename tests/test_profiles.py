"""The cluster profiles (profiles/slurm, profiles/htcondor) against what reads them.

HTCondor cannot run here, so its profile is checked the way Snakemake and
the executor plugin will read it: every key must be an option of Snakemake
9.15 or a field of the plugin's ExecutorSettings, every rule it names must be
a rule of the workflow, every resource it sets must be one the plugin turns
into a submit command, and ``gwreplay run --profile ... --dry-run`` must parse
it and show the grouping and resources it asks for. The Slurm profile gets
the same checks here, and a real run in tests/test_slurm.py.
"""

import dataclasses
import importlib
import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from builders import BURST_EVENT, G211117_EVENT, write_event, write_gaussian_skymap

REPO = Path(__file__).resolve().parents[1]
PROFILES = ("slurm", "htcondor")
PLUGIN_MODULES = {
    "slurm": "snakemake_executor_plugin_slurm",
    "htcondor": "snakemake_executor_plugin_htcondor",
}
#: Per-rule and default resources each executor turns into a submit option.
#: Checked against the plugin's source below, so a misspelt name fails here
#: instead of being silently ignored at submission.
RESOURCE_READERS = {
    "slurm": "snakemake_executor_plugin_slurm.submit_string",
    "htcondor": "snakemake_executor_plugin_htcondor",
}
#: Slurm's default MinJobAge (slurm.conf(5)); squeue forgets finished jobs
#: after it, so the first status check must come well before (plugin: 3x).
SLURM_DEFAULT_MIN_JOB_AGE = 300


def load_profile(name):
    """The profile's config.yaml as a dict."""
    with open(REPO / "profiles" / name / "config.yaml") as f:
        return yaml.safe_load(f)


@pytest.fixture(scope="module")
def snakemake_options():
    """Every long option of Snakemake 9.15 with all installed plugins."""
    from snakemake.cli import get_argument_parser

    parser = get_argument_parser()
    return {opt for opt in parser._option_string_actions if opt.startswith("--")}


@pytest.fixture(scope="module")
def workflow_rules(tmp_path_factory):
    """Rule names of the workflow under every policy (the O4 workflow has
    rules of its own), as Snakemake itself lists them."""
    root = tmp_path_factory.mktemp("rules")
    (root / "store" / "events").mkdir(parents=True)
    rules = {}
    for policy in ("O3", "O4"):
        proc = subprocess.run(
            [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile")]
            + ["--directory", str(root / "results")]
            + ["--configfile", str(REPO / "config" / "config.yaml")]
            + ["--config", f"store={root / 'store'}", f"results={root / 'results'}"]
            + [f"orchestrator_policy={policy}", "--list-rules"],
            cwd=root,
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 0, proc.stderr
        rules[policy] = set(proc.stdout.split())
    assert {"bayestar", "source_classification"} <= rules["O3"]
    assert {"bayestar", "em_bright", "notice_volume_plot"} <= rules["O4"]
    return rules["O3"] | rules["O4"]


def rules_named(profile):
    """Rules a profile sets threads, resources or groups for."""
    return (
        set(profile.get("set-threads", {}))
        | set(profile.get("set-resources", {}))
        | set(profile.get("groups", {}))
    )


def resources_named(profile):
    """Resource names a profile sets, per rule or by default."""
    names = set(profile.get("default-resources", {}))
    for resources in profile.get("set-resources", {}).values():
        names |= set(resources)
    return names


@pytest.mark.parametrize("name", PROFILES)
def test_every_key_is_a_snakemake_option(name, snakemake_options):
    profile = load_profile(name)
    assert profile["executor"] == name
    unknown = {key for key in profile if f"--{key}" not in snakemake_options}
    assert not unknown, f"profiles/{name}: not Snakemake options: {unknown}"


@pytest.mark.parametrize("name", PROFILES)
def test_executor_keys_are_plugin_settings(name):
    module = importlib.import_module(PLUGIN_MODULES[name])
    fields = {f.name for f in dataclasses.fields(module.ExecutorSettings)}
    prefix = f"{name}-"
    keys = [key for key in load_profile(name) if key.startswith(prefix)]
    assert keys, f"profiles/{name} sets no {prefix}* option"
    for key in keys:
        assert key[len(prefix) :].replace("-", "_") in fields, key


@pytest.mark.parametrize("name", PROFILES)
def test_rules_named_exist_in_the_workflow(name, workflow_rules):
    named = rules_named(load_profile(name))
    assert named, f"profiles/{name} tunes no rule"
    assert named <= workflow_rules, named - workflow_rules


@pytest.mark.parametrize("name", PROFILES)
def test_resources_are_read_by_the_executor(name):
    source = inspect.getsource(importlib.import_module(RESOURCE_READERS[name]))
    for resource in resources_named(load_profile(name)):
        # Both plugins name each resource they read as a string literal.
        assert re.search(rf"""["']{resource}["']""", source), (
            f"{RESOURCE_READERS[name]} never reads resource {resource!r}"
        )


def test_bayestar_gets_two_threads_and_measured_memory():
    for name, memory_key in (
        ("slurm", "mem_mb"),
        ("htcondor", "htcondor_request_mem_mb"),
    ):
        profile = load_profile(name)
        assert profile["set-threads"]["bayestar"] == 2
        # Measured peak of a cluster BAYESTAR job: ~670 MiB (docs/clusters.md).
        assert 700 <= profile["set-resources"]["bayestar"][memory_key] <= 2000


def test_slurm_status_checks_come_before_squeue_forgets_jobs():
    init = load_profile("slurm")["slurm-init-seconds-before-status-checks"]
    assert 3 * init <= SLURM_DEFAULT_MIN_JOB_AGE


@pytest.fixture(scope="module")
def small_store(reference_dir, tmp_path_factory):
    """G211117 and one cWB burst: two superevents, one BAYESTAR job."""
    store = tmp_path_factory.mktemp("profiles") / "store"
    ref = reference_dir / "G211117"
    write_event(
        store,
        G211117_EVENT,
        {"coinc.xml": ref / "coinc.xml", "psd.xml.gz": ref / "psd.xml.gz"},
    )
    folder = write_event(store, BURST_EVENT)
    write_gaussian_skymap(folder / "skyprobcc_cWB.fits", 120.0, -30.0)
    return store


def dry_run_jobs(output):
    """Dry-run output split into job blocks: (rule or 'group NAME', block text)."""
    blocks = re.split(
        r"\n(?=\[[^\]]+\]\n\s*(?:local)?rule |\[[^\]]+\] Group job )", output
    )
    jobs = []
    for block in blocks:
        group = re.match(r"\[[^\]]+\] Group job (\w+)", block)
        rule = re.search(r"^\s*(?:local)?rule (\w+):", block, flags=re.MULTILINE)
        if group:
            jobs.append((f"group {group.group(1)}", block))
        elif rule:
            jobs.append((rule.group(1), block))
    return jobs


@pytest.mark.parametrize("name", PROFILES)
def test_dry_run_parses_profile_and_groups_superevents(name, small_store, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "gwreplay.cli", "run", str(small_store)]
        + ["--results", str(tmp_path / "results"), "--profile", name, "--dry-run"]
        # The "superevent" group is O3's superevent job; O4 has a checkpoint.
        + ["--", "--config", "orchestrator_policy=O3"],
        capture_output=True,
        text=True,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    assert f"Using profile {REPO / 'profiles' / name} " in output
    jobs = dry_run_jobs(output)
    groups = [block for kind, block in jobs if kind == "group superevent"]
    # group-components: both superevents' steps in one cluster job.
    assert len(groups) == 1, [kind for kind, _ in jobs]
    superevents = set(re.findall(r"superevent_id=(S\w+)", groups[0]))
    assert len(superevents) == 2, superevents
    (bayestar,) = [block for kind, block in jobs if kind == "bayestar"]
    assert "threads: 2" in bayestar
    memory = "mem_mb=1000" if name == "slurm" else "htcondor_request_mem_mb=1000"
    assert memory in bayestar
