"""Orchestrator policies: the era of gwcelery a replay reproduces (docs/policies.md).

``orchestrator_policy`` names the era; ``policies: <name>:`` in
config/config.yaml holds the constants that differ from the top-level keys
(gwcelery's names). A policy without a block (2018, O3) runs on the
top-level keys, which are gwcelery's O3 values.
"""

from ..superevents import WINDOW_KEYS

#: The policies a replay can follow, oldest first.
POLICIES = ("2018", "O3", "O4")
#: The policy of a replay that names none: what users replay now. The
#: value users get is config/config.yaml's ``orchestrator_policy``; this
#: constant is what the test of that file checks it against.
DEFAULT_POLICY = "O4"
#: Policies that replay the flow chart's single preliminary at
#: ``orchestrator_timeout`` (gwreplay.orchestrator); the others replay
#: gwcelery 3.0.0's alert sequence (gwreplay.policies.sequence).
TIMEOUT_POLICIES = ("2018", "O3")
#: The settings of every era (docs/policies.md).
CONFIG_KEYS = ("orchestrator_policy", "policies", "voevent")


class UnknownPolicyError(ValueError):
    """``orchestrator_policy`` names no policy; the message lists the valid ones."""


def policy_of(config):
    """The replay's policy name, checked: an unknown one is refused."""
    name = str(config["orchestrator_policy"])
    if name not in POLICIES:
        raise UnknownPolicyError(
            f"orchestrator_policy {name!r} is not a policy; "
            f"valid: {', '.join(POLICIES)}"
        )
    return name


def writes_voevent(config):
    """Whether the replay writes VOEvent notices (:func:`voevent_wanted`)."""
    return voevent_wanted(config["voevent"], policy_of(config))


def voevent_wanted(voevent, policy):
    """``voevent``, or when it is null the policy's own: 2018 and O3 yes, O4
    no (GCN stopped distributing LVK VOEvents on 2026-07-08)."""
    if voevent is None:
        return str(policy) in TIMEOUT_POLICIES
    return bool(voevent)


def follows_sequence(config):
    """True when the replay sends gwcelery 3.0.0's alert sequence (O4)."""
    return policy_of(config) not in TIMEOUT_POLICIES


def policy_block(config):
    """``policies: <name>:`` of the replay's policy ({} when it has none)."""
    return dict((config.get("policies") or {}).get(policy_of(config)) or {})


def manager_settings(config, keys):
    """The superevent manager's ``keys``, with the policy's windows overlaid.

    The manager forms superevents only for stores without ``superevents/``;
    its windows are the policy's (O4 lists O4's pipeline names), its other
    keys the top-level ones.
    """
    block = policy_block(config)
    return {
        key: block[key] if key in WINDOW_KEYS and key in block else config[key]
        for key in keys
    }


def overlaid_settings(config, keys):
    """A module's ``keys``, the policy block's value where it has one.

    For modules whose keys mean the same in every era (the state-vector
    check: O4's block lists O4's pipelines and windows).
    """
    block = policy_block(config)
    return {key: block[key] if key in block else config[key] for key in keys}


def sequence_settings(config):
    """The keys :func:`gwreplay.policies.sequence.alert_sequence` reads."""
    from .sequence import CONFIG_KEYS as SEQUENCE_KEYS

    block = policy_block(config)
    missing = [key for key in SEQUENCE_KEYS if key not in block]
    if missing:
        raise KeyError(f"policies: {policy_of(config)}: lacks {', '.join(missing)}")
    return {key: block[key] for key in SEQUENCE_KEYS}
