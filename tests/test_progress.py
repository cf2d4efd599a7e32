"""What gwreplay run shows of Snakemake (gwreplay.progress).

The log below is Snakemake 9.15's output for a run of two bursts and a CBC
event, one of whose BAYESTAR jobs fails (the lines as Snakemake prints
them; paths shortened). The counts expected are read off it by hand.
"""

import io
import re
import sys

import pytest

from gwreplay.progress import (
    PlainFilter,
    RunDisplay,
    SnakemakeProgress,
    output_mode,
)

LOG = """\
Building DAG of jobs...
Job stats:
job           count
----------  -------
all               1
bayestar          2
superevent        3
total             6

Select jobs to execute...
[Wed Dec  2 07:07:47 2026]
localrule superevent:
    input: /s/events/G1/event.json
    output: /r/superevents/S1/alert.json
    wildcards: superevent_id=S1
Shell command: None
[Wed Dec  2 07:07:48 2026]
rule bayestar:
    input: /s/events/G3/coinc.xml
    wildcards: graceid=G3
[Wed Dec  2 07:08:29 2026]
Finished jobid: 3 (Rule: superevent)
1 of 6 steps (17%) done
[Wed Dec  2 07:08:30 2026]
Error in rule bayestar:
    message: None
    jobid: 4
[Wed Dec  2 07:08:31 2026]
Finished jobid: 2 (Rule: superevent)
2 of 6 steps (33%) done
localrule all:
    input: /r/superevents/S1/alert.json, /r/superevents/S2/alert.json
"""


def test_counts_from_snakemakes_lines():
    progress = SnakemakeProgress()
    for line in LOG.splitlines(keepends=True):
        progress.feed(line)
    assert progress.totals == {"all": 1, "bayestar": 2, "superevent": 3}
    assert (progress.steps, progress.total) == (2, 6)
    assert progress.done == {"superevent": 2}
    assert progress.failed == {"bayestar": 1}
    assert progress.summary() == (
        "2 of 6 steps done (all 0/1, bayestar 0/2, superevent 2/3), 1 failed"
    )


def test_plain_mode_drops_the_job_blocks_details_only():
    plain = PlainFilter()
    kept = [line for line in LOG.splitlines() if plain.keep(line)]
    assert "localrule superevent:" in kept and "rule bayestar:" in kept
    assert "localrule all:" in kept
    assert not [line for line in kept if "/r/superevents" in line or "/s/" in line]
    assert "Shell command: None" not in kept
    # an error's details stay
    assert "    message: None" in kept and "Error in rule bayestar:" in kept
    assert "2 of 6 steps (33%) done" in kept


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_output_mode():
    assert output_mode(stream=Terminal()) == "progress"
    assert output_mode(stream=io.StringIO()) == "plain"
    assert output_mode(verbose=True, stream=Terminal()) == "verbose"
    assert output_mode(quiet=True, stream=Terminal()) == "quiet"


def fake_snakemake():
    """A process that prints the log above, as Snakemake would."""
    return [sys.executable, "-c", f"import sys; sys.stderr.write({LOG!r})"]


@pytest.mark.parametrize("mode", ["progress", "plain", "verbose", "quiet"])
def test_every_mode_keeps_the_whole_log_in_the_file(mode, tmp_path):
    stream = Terminal()
    display = RunDisplay(mode, stream=stream)
    logfile = tmp_path / "logs" / "snakemake" / "run.log"
    assert display.run(fake_snakemake(), None, str(logfile)) == 0
    assert logfile.read_text() == LOG
    assert display.progress.steps == 2
    shown = stream.getvalue()
    if mode == "verbose":
        assert shown == LOG
    elif mode == "quiet":
        assert shown == ""
    elif mode == "plain":
        assert "rule bayestar:" in shown and "/r/superevents" not in shown
    else:
        assert "/r/superevents" not in shown
        assert not re.search(r"^(local)?rule ", shown, re.MULTILINE)
        assert "Error in rule bayestar:" in shown  # written above the bar
        assert "2/6" in shown and "superevent 2/3" in shown and "failed 1" in shown


def test_exit_status_is_snakemakes(tmp_path):
    display = RunDisplay("quiet")
    command = [sys.executable, "-c", "import sys; sys.exit(3)"]
    assert display.run(command, None, str(tmp_path / "x.log")) == 3
    with pytest.raises(ValueError):
        RunDisplay("loud")


#: Snakemake 9.27's output when it cannot build the DAG (a shard handed a
#: superevent its plan does not hold; paths shortened): no job runs.
DAG_ERROR_LOG = """\
Building DAG of jobs...
InputFunctionException in rule superevent in file "/w/rules/superevent.smk", line 8:
Error:
  KeyError: 'S240425bm'
Wildcards:
  superevent_id=S240425bm
Traceback:
  File "/w/rules/common.smk", line 62, in superevent_inputs
"""


def test_why_snakemake_stopped_without_a_failed_job():
    progress = SnakemakeProgress()
    for line in DAG_ERROR_LOG.splitlines():
        progress.feed(line)
    assert progress.summary() == "0 of 0 steps done, 0 failed"
    assert progress.stopped(1) == (
        'InputFunctionException in rule superevent in file "/w/rules/superevent.smk"'
        ", line 8: KeyError: 'S240425bm'"
    )
    assert progress.stopped(0) is None


def test_a_failed_job_is_its_own_reason():
    progress = SnakemakeProgress()
    for line in LOG.splitlines():
        progress.feed(line)
    assert progress.stopped(1) is None  # failures.csv and the bar say it
    quiet = SnakemakeProgress()
    assert quiet.stopped(2) == "Snakemake exited with status 2"
