"""The dashboard's settings (billing_reports.settings, one policy for a bad value) and how the
dashboard is installed: a package of the project, imported without any sys.path edit."""

from __future__ import annotations

import ast
import tomllib

import pytest
import setuptools

from billing_reports import settings
from tests.dashboard.conftest import APP, OPS_USER, PROJECT_DIR, sign_in

#: (variable, reader, its default, a valid value and what the reader makes of it).
DASHBOARD_SETTINGS = [
    ("BILLING_DASHBOARD_CACHE_SECONDS", settings.dashboard_cache_seconds, 60, "90", 90),
    ("BILLING_STALE_AFTER_HOURS", settings.stale_after_hours, 26.0, "1.5", 1.5),
    ("BILLING_SESSION_MINUTES", settings.session_minutes, 480.0, "15", 15.0),
]
IDS = [row[0] for row in DASHBOARD_SETTINGS]


def test_serve_and_the_app_check_every_dashboard_setting():
    assert [row[1] for row in DASHBOARD_SETTINGS] == list(settings.DASHBOARD_OWN_SETTINGS)


@pytest.mark.parametrize(("name", "read", "default", "text", "value"), DASHBOARD_SETTINGS, ids=IDS)
def test_unset_or_empty_is_the_default_and_a_valid_value_is_read(monkeypatch, name, read, default, text, value):
    monkeypatch.delenv(name, raising=False)
    assert read() == default
    monkeypatch.setenv(name, "  ")
    assert read() == default
    monkeypatch.setenv(name, f" {text} ")
    assert read() == value


@pytest.mark.parametrize(("name", "read", "default", "text", "value"), DASHBOARD_SETTINGS, ids=IDS)
@pytest.mark.parametrize("bad", ["ten", "-1", "nan", "inf"])
def test_a_bad_value_is_an_error_naming_the_variable_the_value_and_what_is_accepted(
    monkeypatch, name, read, default, text, value, bad
):
    monkeypatch.setenv(name, bad)
    with pytest.raises(settings.SettingsError) as raised:
        read()
    message = str(raised.value)
    assert name in message and repr(bad) in message and "a number" in message, message


def test_zero_turns_caching_off_but_is_no_session_length(monkeypatch):
    monkeypatch.setenv("BILLING_DASHBOARD_CACHE_SECONDS", "0")
    assert settings.dashboard_cache_seconds() == 0
    monkeypatch.setenv("BILLING_SESSION_MINUTES", "0")
    with pytest.raises(settings.SettingsError, match="BILLING_SESSION_MINUTES must be a number of minutes, above 0"):
        settings.session_minutes()


def test_the_session_length_is_read_through_settings(monkeypatch):
    from dashboards import auth

    monkeypatch.setenv("BILLING_SESSION_MINUTES", "15")
    assert auth.session_seconds() == 15 * 60
    monkeypatch.setenv("BILLING_SESSION_MINUTES", "soon")
    with pytest.raises(settings.SettingsError, match="BILLING_SESSION_MINUTES"):
        auth.session_seconds()


def test_the_refresh_banner_goes_stale_after_the_configured_hours(use_warehouse, dashboard_warehouse, monkeypatch):
    from dashboards import data

    use_warehouse(dashboard_warehouse)  # refreshed two hours ago (conftest)
    assert not data.last_refresh().is_stale
    monkeypatch.setenv("BILLING_STALE_AFTER_HOURS", "1")
    assert data.last_refresh().is_stale


@pytest.mark.parametrize("name", IDS)
def test_the_dashboard_shows_a_bad_setting_as_an_error_not_a_traceback(
    use_warehouse, dashboard_warehouse, monkeypatch, name
):
    from streamlit.testing.v1 import AppTest

    use_warehouse(dashboard_warehouse)
    monkeypatch.setenv(name, "-5")
    app = AppTest.from_file(str(APP), default_timeout=60)
    app.run()
    assert not app.exception, [item.value for item in app.exception]
    errors = [item.value for item in app.error]
    assert len(errors) == 1 and name in errors[0] and "'-5'" in errors[0], errors
    # Nothing else runs: no sign-in form, no page.
    assert not app.text_input and not app.dataframe


def test_with_good_settings_the_dashboard_shows_no_settings_error(use_warehouse, dashboard_warehouse):
    from streamlit.testing.v1 import AppTest

    use_warehouse(dashboard_warehouse)
    app = AppTest.from_file(str(APP), default_timeout=60)
    app.run()
    sign_in(app, OPS_USER)
    assert not app.exception and not app.error, [item.value for item in app.error]


@pytest.mark.parametrize("name", IDS)
def test_serve_refuses_to_start_with_a_bad_setting(dashboard_warehouse, monkeypatch, capsys, name):
    from billing_reports import cli

    monkeypatch.setenv(name, "lots")
    assert cli.main(["serve", "--warehouse", str(dashboard_warehouse)]) == 2
    error = capsys.readouterr().err
    assert f"billing-reports serve: error: {name} must be a number" in error and "'lots'" in error, error


# ----------------------------------------------------------------------------------------------
# The dashboard is an installed package: no sys.path edit anywhere
# ----------------------------------------------------------------------------------------------


def _edits_sys_path(path) -> list[str]:
    """Where a module touches sys.path (to insert, append, assign: nothing in the project needs to)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and ast.unparse(node) == "sys.path":
            found.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_the_edit_check_would_catch_a_sys_path_insert(tmp_path):
    edited = tmp_path / "edited.py"
    edited.write_text("import sys\n\nsys.path.insert(0, '.')\n")
    assert _edits_sys_path(edited) == ["edited.py:3: sys.path"]
    edited.write_text("import sys\n\nprint(sys.argv)\n")
    assert not _edits_sys_path(edited)


def test_no_module_of_the_dashboard_or_the_command_line_edits_sys_path():
    modules = sorted([*(PROJECT_DIR / "dashboards").rglob("*.py"), *(PROJECT_DIR / "billing_reports").rglob("*.py")])
    assert APP in modules
    edits = [edit for path in modules for edit in _edits_sys_path(path)]
    assert not edits, edits


def test_pyproject_installs_the_dashboard_with_its_pages():
    config = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    find = config["packages"]["find"]
    packages = setuptools.find_packages(str(PROJECT_DIR), include=find["include"])
    assert {"billing_reports", "dashboards", "dashboards.data"} <= set(packages), packages
    assert not any(name.startswith("tests") for name in packages), packages
    # The pages are scripts Streamlit runs by path: shipped as the package's data.
    shipped = {path for pattern in config["package-data"]["dashboards"] for path in APP.parent.glob(pattern)}
    assert shipped == set((APP.parent / "app_pages").glob("*.py")) and len(shipped) == 10
