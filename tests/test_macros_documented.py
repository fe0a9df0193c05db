"""Every macro of macros/ is described in macros/_macros.yml (issue 19: one purpose per file, documented).

The adapter implementations of a dispatched macro (``default__x``, ``duckdb__x``, ``spark__x``) are
described under the macro they implement, so only that macro must be there.
"""

import re

import yaml

from billing_reports.settings import PROJECT_DIR

ADAPTER_PREFIX = re.compile(r"^(default|duckdb|spark)__")


def macro_names() -> set[str]:
    return {
        name
        for path in (PROJECT_DIR / "macros").rglob("*.sql")
        for name in re.findall(r"{%-?\s*macro\s+(\w+)", path.read_text(encoding="utf-8"))
    }


def test_every_macro_is_documented_and_no_description_is_stale():
    documented = {
        macro["name"] for macro in yaml.safe_load((PROJECT_DIR / "macros" / "_macros.yml").read_text())["macros"]
    }
    defined = macro_names()
    implementations = {name for name in defined if ADAPTER_PREFIX.match(name)}
    # An implementation of a dispatched macro of this project or of dbt's own (spark__cast, ...).
    undocumented = sorted(defined - implementations - documented)
    assert undocumented == []
    assert sorted(documented - defined) == []
