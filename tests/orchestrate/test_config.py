"""Source bindings from a YAML file, secrets from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelport.errors import ModelportError
from modelport.orchestrate.config import load_bindings


def test_bindings_come_from_yaml_with_variables_expanded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_PASSWORD", "s3cret")
    path = tmp_path / "sources.yaml"
    path.write_text(
        "customers:\n"
        "  url: postgresql+psycopg://scoring:${CRM_PASSWORD}@db/crm\n"
        "  table: customers\n"
        "  keys: [customer_id]\n"
        "  ttl_seconds: 300\n"
        "branches:\n"
        "  url: sqlite:///branches.db\n"
        "  query: SELECT lat, lon FROM branches WHERE region = :region\n"
        "  keys: [region]\n"
    )
    bindings = load_bindings(path)
    assert sorted(bindings) == ["branches", "customers"]
    assert bindings["customers"].url == "postgresql+psycopg://scoring:s3cret@db/crm"
    assert bindings["customers"].ttl_seconds == 300
    assert bindings["branches"].query is not None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("customers:\n  url: ${NOT_SET_ANYWHERE}\n  table: t\n  keys: [id]\n", "NOT_SET_ANYWHERE"),
        ("customers:\n  url: sqlite://\n  keys: [id]\n", "exactly one of table or query"),
        ("customers: [1, 2]\n", "mapping of settings"),
        ("- a\n- b\n", "map source names"),
        ("customers:\n  url: sqlite://\n  table: t\n", "keys"),
        ("a: [unclosed\n", "not valid YAML"),
    ],
)
def test_mistakes_are_named(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(text)
    with pytest.raises(ModelportError, match=message):
        load_bindings(path)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ModelportError, match="cannot read the sources file"):
        load_bindings(tmp_path / "nope.yaml")
