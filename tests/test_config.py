"""One home for configuration: the schema, config.yaml and the modules agree."""

import pytest

from gwreplay import config as gwconfig


def test_schema_file_and_modules_name_the_same_keys():
    file_keys = set(gwconfig.defaults())
    schema_keys = set(gwconfig.schema()["properties"])
    declared = gwconfig.declared_keys()
    assert file_keys == schema_keys, (
        f"only in config.yaml: {sorted(file_keys - schema_keys)}; "
        f"only in the schema: {sorted(schema_keys - file_keys)}"
    )
    assert file_keys == declared, (
        f"read by no module: {sorted(file_keys - declared)}; "
        f"declared but not in config.yaml: {sorted(declared - file_keys)}"
    )


def test_schema_requires_every_key():
    schema = gwconfig.schema()
    assert set(schema.get("required", ())) == set(schema["properties"])


def test_defaults_validate_against_the_schema():
    from snakemake.utils import validate

    validate(gwconfig.defaults(), gwconfig.SCHEMA_FILE)


@pytest.mark.parametrize("name", gwconfig.CONFIGURED_MODULES)
def test_no_module_writes_a_default_of_its_own(name):
    """No module constant, and no keyword default, named after a key."""
    import importlib
    import inspect

    module = importlib.import_module(name)
    keys = set(gwconfig.defaults()) - set(gwconfig.LOCATION_KEYS)
    assert not keys & set(vars(module)), f"{name} defines {keys & set(vars(module))}"
    for fname, func in inspect.getmembers(module, inspect.isfunction):
        if func.__module__ != module.__name__:
            continue
        for param in inspect.signature(func).parameters.values():
            assert not (
                param.name in keys and param.default is not inspect.Parameter.empty
            ), f"{name}.{fname}: a default for {param.name}"


def test_settings_requires_every_key():
    with pytest.raises(KeyError, match="lacks orchestrator_timeout"):
        gwconfig.settings({}, ("orchestrator_timeout",))


def test_module_settings_are_exactly_the_declared_keys():
    from gwreplay import em_bright

    conf = gwconfig.module_settings(gwconfig.defaults(), "gwreplay.em_bright")
    assert tuple(conf) == em_bright.CONFIG_KEYS
