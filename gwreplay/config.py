"""One home for configuration: ``config/config.yaml`` and who reads what.

Every default is written once, in ``config/config.yaml`` (gwcelery's names
and values where the key is gwcelery's); ``schemas/config.schema.yaml``
validates it. Package functions take their settings as keyword-only
arguments without defaults; each module that reads configuration names its
keys in a ``CONFIG_KEYS`` tuple, and the rules pass exactly those
(:func:`settings`). ``tests/test_config.py`` checks that the schema, the
file and the modules' declared keys are one set.
"""

import copy
import functools
import importlib
import os

WORKFLOW_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: The workflow's configuration file: the only place a default is written.
CONFIG_FILE = os.path.join(WORKFLOW_DIR, "config", "config.yaml")
#: Its JSON schema (YAML), also used by the Snakefile's ``validate``.
SCHEMA_FILE = os.path.join(WORKFLOW_DIR, "schemas", "config.schema.yaml")

#: The modules that read configuration, each declaring ``CONFIG_KEYS``.
CONFIGURED_MODULES = (
    "gwreplay.plan",
    "gwreplay.superevents",
    "gwreplay.dq",
    "gwreplay.bayestar",
    "gwreplay.em_bright",
    "gwreplay.p_astro",
    "gwreplay.orchestrator",
    "gwreplay.clock",
    "gwreplay.voevent",
    "gwreplay.policies",
    "gwreplay.o4_skymaps",
    "gwreplay.skymap_plot",
    "gwreplay.shards",
)

#: Keys that say where the store and the results are (set per run).
LOCATION_KEYS = ("store", "results")


@functools.cache
def _load(path):
    import yaml

    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def defaults():
    """A fresh copy of the values in ``config/config.yaml``."""
    return copy.deepcopy(_load(CONFIG_FILE))


def schema():
    """The configuration schema (``schemas/config.schema.yaml``)."""
    return copy.deepcopy(_load(SCHEMA_FILE))


def settings(config, keys):
    """The entries of ``config`` named by ``keys`` (a module's ``CONFIG_KEYS``).

    Every key must be there: a missing one is a programming error, not a
    reason to fall back to a second, hidden default.
    """
    missing = [key for key in keys if key not in config]
    if missing:
        raise KeyError(f"configuration lacks {', '.join(missing)}")
    return {key: config[key] for key in keys}


def module_settings(config, module_name):
    """:func:`settings` for the ``CONFIG_KEYS`` of one module, by name."""
    return settings(config, importlib.import_module(module_name).CONFIG_KEYS)


def declared_keys():
    """Every key some module declares it reads, with the location keys."""
    keys = set(LOCATION_KEYS)
    for name in CONFIGURED_MODULES:
        module = importlib.import_module(name)
        keys.update(module.CONFIG_KEYS)
        keys.update(getattr(module, "RESOURCE_KEYS", ()))
    return keys
