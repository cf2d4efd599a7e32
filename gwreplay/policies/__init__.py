"""Orchestrator policies: the era of gwcelery a replay reproduces (docs/policies.md)."""

#: The policies a replay can follow, oldest first.
POLICIES = ("2018", "O3", "O4")
#: The policy of a replay that names none: what users replay now.
DEFAULT_POLICY = "O4"
#: The settings of every era, ``policies: <name>: {...}`` in
#: config/config.yaml, read by the policy modules (:mod:`.o4`, :mod:`.sequence`).
CONFIG_KEYS = ("policies",)
