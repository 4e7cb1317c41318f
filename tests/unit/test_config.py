"""Settings: defaults, then [tool.greenloop], then the editor; bad values are reported and ignored."""

from pathlib import Path

from greenloop import config


def test_defaults_without_pyproject(tmp_path: Path) -> None:
    loaded = config.resolve(tmp_path)
    assert loaded.settings == config.Settings()
    assert loaded.settings.test_timeout == 60 and loaded.settings.type_checker == "basedpyright"
    assert loaded.problems == []


def test_pyproject_table_is_read(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.greenloop]\npython = "env/bin/python"\ntest_timeout = 5\ntype_checker = "mypy"\non_save = false\n'
    )
    settings = config.resolve(tmp_path).settings
    assert (settings.python, settings.test_timeout, settings.type_checker, settings.on_save) == (
        "env/bin/python", 5.0, "mypy", False)


def test_editor_layers_override_pyproject_in_order(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.greenloop]\ntest_timeout = 5\ntype_checker = "mypy"\n')
    loaded = config.resolve(tmp_path, ({"test_timeout": 7}, "init"), ({"type_checker": "off"}, "editor"))
    assert loaded.settings.test_timeout == 7
    assert loaded.settings.type_checker == "off"


def test_invalid_values_keep_the_previous_value_and_say_why(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.greenloop]\ntest_timeout = 9\n')
    loaded = config.resolve(tmp_path, ({"test_timeout": "soon", "type_checker": "pyre", "on_save": "yes"}, "init"))
    assert loaded.settings.test_timeout == 9
    assert loaded.settings.type_checker == "basedpyright"
    assert loaded.settings.on_save is True
    text = "\n".join(loaded.problems)
    assert "invalid test_timeout = 'soon'" in text and "using 9.0" in text
    assert "type_checker" in text and "basedpyright, mypy, off" in text
    assert "on_save" in text


def test_unknown_settings_are_named(tmp_path: Path) -> None:
    loaded = config.resolve(tmp_path, ({"timeout": 3}, "init"))
    assert loaded.settings == config.Settings()
    assert loaded.problems == [
        "init: unknown setting 'timeout' ignored (known settings: api_base, budget_tokens, budget_usd, critic_model, "
        "max_rounds, model, on_save, python, repair_timeout, sandbox, secret_files, test_timeout, type_checker, watch)"
    ]


def test_a_broken_pyproject_falls_back_to_defaults(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.greenloop\n")
    loaded = config.resolve(tmp_path)
    assert loaded.settings == config.Settings()
    assert "cannot read [tool.greenloop]" in loaded.problems[0]


def test_settings_that_are_not_a_table_are_refused(tmp_path: Path) -> None:
    loaded = config.resolve(tmp_path, (["python"], "init"))
    assert loaded.settings == config.Settings()
    assert loaded.problems == ["init: expected a table of settings, got list"]


def test_kebab_case_and_false_checker_are_accepted(tmp_path: Path) -> None:
    loaded = config.resolve(tmp_path, ({"test-timeout": 2, "type_checker": False}, "init"))
    assert loaded.settings.test_timeout == 2 and loaded.settings.type_checker == "off"
    assert loaded.problems == []
