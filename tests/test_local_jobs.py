"""In-process jobs (gwreplay.smk.run_local_job): logs per thread, failures
recorded and raised, as the ``run:`` rules of rules/superevent_o4.smk use them."""

import json
import logging
import threading
from types import SimpleNamespace

import pytest

from gwreplay.errors import EventInputError
from gwreplay.smk import LocalJobError, run_local_job


def job(tmp_path, name):
    """A run block's namespace with its two logs."""
    log = SimpleNamespace(
        main=str(tmp_path / "logs" / f"{name}.log"),
        failure=str(tmp_path / ".failures" / f"{name}.json"),
    )
    return SimpleNamespace(rule="notice", log=log)


def test_side_by_side_jobs_log_only_their_own_records(tmp_path):
    """Two jobs in two threads at once: each log has its own lines only."""
    both_started = threading.Barrier(2)
    jobs = {name: job(tmp_path, name) for name in ("first", "second")}
    handlers_before = list(logging.getLogger().handlers)

    def work(name):
        both_started.wait(timeout=10)
        for i in range(50):
            logging.getLogger("gwreplay.test").info("%s line %d", name, i)

    threads = [
        threading.Thread(
            target=run_local_job,
            args=(jobs[name], lambda name=name: work(name)),
            kwargs={"key": name, "event_id": "S1"},
        )
        for name in jobs
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for name, other in (("first", "second"), ("second", "first")):
        text = (tmp_path / "logs" / f"{name}.log").read_text()
        assert text.count(f"{name} line") == 50
        assert other not in text
    assert logging.getLogger().handlers == handlers_before


def test_failure_is_recorded_and_raised_naming_event_and_file(tmp_path):
    smk = job(tmp_path, "S1-1-Preliminary")

    def bad():
        raise EventInputError("G7", "bayestar.multiorder.fits", "not a FITS file")

    with pytest.raises(LocalJobError) as caught:
        run_local_job(smk, bad, key="S1-1-Preliminary", event_id="S1", file="x")
    assert str(caught.value) == (
        "gwreplay: notice: G7: bayestar.multiorder.fits: not a FITS file"
    )
    record = json.loads((tmp_path / ".failures" / "S1-1-Preliminary.json").read_text())
    assert record == {
        "rule": "notice",
        "key": "S1-1-Preliminary",
        "event_id": "G7",
        "file": "bayestar.multiorder.fits",
        "reason": "not a FITS file",
    }
    assert (
        "notice failed: G7" in (tmp_path / "logs" / "S1-1-Preliminary.log").read_text()
    )


def test_other_errors_blame_the_job_and_a_success_clears_the_record(tmp_path):
    smk = job(tmp_path, "S1-alert")

    def broken():
        raise KeyError("preferred_event")

    with pytest.raises(
        LocalJobError, match="gwreplay: notice: S1: alert.json: KeyError"
    ):
        run_local_job(smk, broken, key="S1", event_id="S1", file="alert.json")
    assert (tmp_path / ".failures" / "S1-alert.json").exists()
    log_text = (tmp_path / "logs" / "S1-alert.log").read_text()
    assert "Traceback" in log_text
    run_local_job(smk, lambda: None, key="S1", event_id="S1", file="alert.json")
    assert not (tmp_path / ".failures" / "S1-alert.json").exists()
