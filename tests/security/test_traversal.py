"""No traversal, no injection: every name-like or path-like input is refused with
:class:`InvalidName` (or a 4xx with the JSON envelope over HTTP), using the payloads of
MLflow CVE-2023-1177 / CVE-2025-11201 (traversal through names, sources and artifact URIs),
MLflow CVE-2026-0596 and BentoML CVE-2026-33744 (command and template injection)."""

from __future__ import annotations

import http.client
import json
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pandas as pd
import pytest
import yaml
from pydantic import ValidationError
from sqlalchemy import create_engine
from typer.testing import CliRunner

import modelport as mp
from customer_training import train_customer_pipeline
from modelport.cli.main import app as cli
from modelport.datasets import customer_loan_applications, customers
from modelport.decisions.syntax import RuleSyntaxError, parse_rules
from modelport.errors import IntegrityError, InvalidInput, InvalidName, PackageError
from modelport.orchestrate import FieldSource, OrchestrationSpec
from modelport.orchestrate.sources import SourceBinding, SqlSource
from modelport.package import Manifest, open_package
from modelport.package.manifest import check_name
from modelport.registry import ModelRef, Registry, parse_ref
from modelport.registry.store import ArtifactStore
from modelport.schedule.templates import check_template, render_template
from modelport.settings import Settings

MODEL = "loan-approval"
CUSTOMER_MODEL = "loan-by-customer"

# Names, aliases and references an attacker would try (CVE-2023-1177, CVE-2025-11201).
BAD_NAMES = [
    "",
    ".",
    "..",
    "../etc",
    "../../etc/passwd",
    "..\\..\\windows",
    "a/../../b",
    "/etc/passwd",
    "file:///etc/",
    "file:///etc/passwd",
    "s3://bucket/../x",
    "%2e%2e%2f%2e%2e%2fetc",
    "..%2F..%2Fetc%2Fpasswd",
    "loan\x00.yaml",
    "loan%00",
    "loan#frag",
    "loan?x=1",
    "loan/",
    "loan\n",
    "loan approval",
    "Loan",
    "-loan",
    "loan-",
    "x" * 65,
    "lоan",  # Cyrillic o
    "loan‐approval",  # U+2010 hyphen
    "ｌｏａｎ",  # fullwidth
    "loan;rm -rf /",
    "loan$(id)",
    "loan`id`",
    "{{7*7}}",
    "${jndi:ldap://x}",
    "%(x)s",
    "{0.__class__}",
    "loan|id",
    "loan&&id",
]
BAD_REFS = [
    *BAD_NAMES,
    "loan@",
    "loan:",
    "loan@../x",
    "loan@prod/../x",
    "loan@PRODUCTION",
    "loan:0",
    "loan:-1",
    "loan:01",
    "loan:1.0",
    "loan:1e3",
    "loan:2147483648",
    "loan:99999999999",
    "loan:１",  # fullwidth digit
    "loan:1 ",
    "loan@a@b",
    "loan:1:2",
    "loan@a:1",
    "loan:1@a",
    "loan" + "@" + "a" * 200,
]


# -- names and references ----------------------------------------------------------------


@pytest.mark.parametrize("text", BAD_REFS)
def test_parse_ref_refuses(text: str) -> None:
    with pytest.raises(InvalidName):
        parse_ref(text)


@pytest.mark.parametrize("name", BAD_NAMES)
def test_names_and_aliases_refuse(name: str) -> None:
    with pytest.raises(InvalidName):
        check_name(name)
    with pytest.raises(InvalidName):
        ModelRef(name)
    with pytest.raises(InvalidName):
        ModelRef("loan", alias=name)


@pytest.mark.parametrize("version", [0, -1, 2**31, True, "1", 1.0, None])
def test_versions_refuse(version: Any) -> None:
    with pytest.raises(InvalidName):
        ModelRef("loan", version=version) if version is not None else ModelRef(
            "loan", alias="x", version=1
        )


def test_good_references_still_parse() -> None:
    assert parse_ref("loan-approval") == ModelRef("loan-approval", alias="production")
    assert parse_ref("loan_2@staging") == ModelRef("loan_2", alias="staging")
    assert parse_ref("a:2147483647") == ModelRef("a", version=2**31 - 1)


@pytest.fixture(scope="module")
def registry_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("traversal-home")


@pytest.fixture(scope="module")
def registry(registry_home: Path, loan_package_path: Path) -> Iterator[Registry]:
    with Registry.from_settings(Settings(home=registry_home, database_url=None)) as opened:
        opened.register(loan_package_path, alias="production")
        yield opened


@pytest.mark.parametrize("name", BAD_NAMES)
def test_registry_refuses_bad_names(name: str, registry: Registry) -> None:
    with pytest.raises(InvalidName):
        registry.resolve(name)
    with pytest.raises(InvalidName):
        registry.set_alias(name, "production", 1)
    with pytest.raises(InvalidName):
        registry.set_alias(MODEL, name, 1)
    with pytest.raises(InvalidName):
        registry.get_model(name)
    with pytest.raises(InvalidName):
        registry.open(f"{MODEL}@{name}")


@pytest.mark.parametrize("version", [0, -1, 2**31, True])
def test_registry_refuses_bad_versions(version: Any, registry: Registry) -> None:
    with pytest.raises(InvalidName):
        registry.set_alias(MODEL, "staging", version)
    with pytest.raises(InvalidName):
        registry.get_version(MODEL, version)


def test_register_refuses_a_bad_alias_before_storing(
    registry: Registry, loan_package_path: Path
) -> None:
    before = {m.name: m for m in registry.list_models()}
    for alias in ("../x", "prod;id", "{{7*7}}", "PRODUCTION"):
        with pytest.raises(InvalidName):
            registry.register(loan_package_path, alias=alias)
    assert {m.name: m for m in registry.list_models()} == before


@pytest.mark.parametrize("name", ["../../evil", "/etc/evil", "evil\x00x", "{{7*7}}", "EVIL"])
def test_a_forged_manifest_name_is_refused_everywhere(
    name: str, tmp_path: Path, loan_package_path: Path, registry: Registry
) -> None:
    """A forger can reseal the digest; the manifest's name is still checked on read."""
    forged = tmp_path / "forged"
    shutil.copytree(loan_package_path, forged)
    raw = yaml.safe_load((forged / "modelport.yaml").read_text())
    raw["name"] = name
    (forged / "modelport.yaml").write_text(yaml.safe_dump(raw))
    with pytest.raises((InvalidName, PackageError)):
        open_package(forged)
    with pytest.raises((InvalidName, PackageError)):
        registry.register(forged)
    assert [m.name for m in registry.list_models()] == [MODEL]


@pytest.mark.parametrize(
    "files",
    [{"../../escaped": "0" * 64}, {"/etc/passwd": "0" * 64}, {"a/b.onnx": "0" * 64}],
)
def test_a_manifest_cannot_list_a_path_outside_its_package(
    files: dict[str, str], loan_package_path: Path
) -> None:
    manifest = Manifest.read(loan_package_path)
    data = manifest.model_dump(mode="json")
    data["files"] = {**data["files"], **files}
    with pytest.raises(ValidationError):
        Manifest.model_validate(data)


@pytest.mark.parametrize(
    "digest",
    [
        "../../etc",
        "/etc/passwd",
        "0" * 63,
        "0" * 65,
        "G" * 64,
        "A" * 64,  # upper case is not how digests are stored
        "0" * 63 + "\n",
        "0" * 62 + "/.",
        "",
        "sha256:" + "0" * 64,
    ],
)
def test_store_paths_are_digests_only(digest: str, tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "store")
    with pytest.raises(IntegrityError):
        store.path_for(digest)
    with pytest.raises(IntegrityError):
        store.open(digest)
    store_remove_refused = False
    try:
        store.remove(digest)
    except IntegrityError:
        store_remove_refused = True
    assert store_remove_refused


# -- the command line --------------------------------------------------------------------

CLI_NAMES = ["../../etc/passwd", "file:///etc/", "%2e%2e%2f", "loan\x00", "loan;id", "{{7*7}}"]


@pytest.mark.parametrize("name", CLI_NAMES)
def test_the_cli_refuses_bad_names_in_one_line(
    name: str, registry: Registry, registry_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MODELPORT_DATABASE_URL", raising=False)
    runner = CliRunner(env={"MODELPORT_HOME": str(registry_home), "COLUMNS": "400"})
    for args in (
        ["models", "show", name],
        ["models", "alias", name, "production", "1"],
        ["models", "alias", MODEL, name, "1"],
        ["models", "show", f"{MODEL}@{name}"],
        ["models", "delete", f"{name}:1"],
    ):
        result = runner.invoke(cli, args)
        assert result.exit_code == 1, (args, result.output)
        assert isinstance(result.exception, SystemExit), (args, result.exception)
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert len(lines) == 1, (args, result.output)
        assert lines[0].startswith("error (invalid_name):"), (args, result.output)


# -- schedule templates ------------------------------------------------------------------

NIGHT = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "template",
    [
        "{date.__class__}",
        "{date.__class__.__mro__[1].__subclasses__()}",
        "{date[0]}",
        "{0}",
        "{}",
        "{job!r}",
        "{job.__len__}",
        "{stem:{date}}",
        "{date:{job}}",
        "{job:>10}",
        "{__import__}",
        "{os}",
        "out/{date",
        "out/}",
    ],
)
def test_templates_refuse_code(template: str) -> None:
    with pytest.raises(ValueError):
        check_template(template)


def test_date_formats_cannot_climb_out() -> None:
    with pytest.raises(ValueError, match=r"\.\."):
        check_template("out/{date:%Y/../../x}.csv")


def test_templates_are_never_evaluated() -> None:
    """``%(x)s``, ``$(...)`` and backticks are literal text, left as they are; ``${HOME}``
    holds the field ``{HOME}``, which is no placeholder, so it is refused."""
    for literal in ("%(x)s", "$(id)", "`id`", "$HOME", "%s%n"):
        template = f"out/{literal}-{{date}}"
        assert check_template(template) == {"date"}
        assert render_template(template, NIGHT, {}) == f"out/{literal}-2026-03-01"
    assert render_template("out/{{7*7}}-{date}", NIGHT, {}) == "out/{7*7}-2026-03-01"
    for evil in ("out/${HOME}", "out/${jndi:ldap://x}"):
        with pytest.raises(ValueError, match="not a placeholder"):
            check_template(evil)


@pytest.mark.parametrize("value", ["..", ".", "../x", "a/b", "/etc/passwd", "a\\b", "a\x00b", ""])
def test_placeholder_values_stay_one_path_segment(value: str) -> None:
    """``{stem}`` comes from the names of files that arrive (``...csv`` has the stem
    ``..``): a value is one path segment or the render is refused."""
    with pytest.raises(ValueError):
        render_template("out/{stem}/scores.csv", NIGHT, {"stem": value})
    assert render_template("out/{stem}.csv", NIGHT, {"stem": "applications-1"}) == (
        "out/applications-1.csv"
    )


# -- decision rules ----------------------------------------------------------------------

EVIL_RULES = [
    "__import__('os').system('touch /tmp/pwned')",
    "__import__('os').system('id')>=0.5:a, else:b",
    "().__class__.__bases__[0].__subclasses__()>=0.5:a, else:b",
    "score.__class__>=0.5:a, else:b",
    "(lambda: 1)()>=0.5:a, else:b",
    "score>=(lambda: 1)():a, else:b",
    "score>=__import__('os'):a, else:b",
    "score>=0.5:__import__('os').system('id'), else:b",
    "score>=0.5:a, else:().__class__.__bases__",
    "score>=0.5:{{7*7}}, else:b",
    "score>=0.5:a, else:${jndi:x}",
    "score>=0.5:$(id), else:b",
    "score>=0.5:`id`, else:b",
    "score>=0.5:a;id, else:b",
    "score>=0.5:%(x)s, else:b",
    "score>=0.5:{0.__class__}, else:b",
    "score>=0.5:<script>, else:b",
]


@pytest.mark.parametrize("text", EVIL_RULES)
def test_decision_rules_refuse_code(text: str) -> None:
    with pytest.raises(RuleSyntaxError):
        parse_rules(text)


def test_a_bad_rule_is_refused_at_build(
    fitted_loan_model: Any, loan_frame: pd.DataFrame, tmp_path: Path
) -> None:
    for i, text in enumerate(
        ["score>=0.5:__import__('os').system('id'), else:b", "proba___class__>=0.5:a, else:b"]
    ):
        target = tmp_path / f"p{i}"
        with pytest.raises((InvalidInput, ValueError, PackageError, ValidationError)):
            mp.package(
                fitted_loan_model, loan_frame.head(50), name="loan", path=target, decisions=text
            )
        assert not target.exists()


@pytest.mark.parametrize(
    "rules",
    [
        {
            "kind": "threshold",
            "score": "score",
            "otherwise": "$(id)",
            "rules": [{"when": ">=", "threshold": 0.5, "decision": "a"}],
        },
        {
            "kind": "threshold",
            "score": "__import__('os')",
            "otherwise": "b",
            "rules": [{"when": ">=", "threshold": 0.5, "decision": "a"}],
        },
        {
            "kind": "threshold",
            "score": "score",
            "otherwise": "b",
            "rules": [{"when": "__eq__", "threshold": 0.5, "decision": "a"}],
        },
        {
            "kind": "threshold",
            "score": "score",
            "otherwise": "b",
            "rules": [{"when": ">=", "threshold": "__import__('os')", "decision": "a"}],
        },
        {"kind": "top_k", "k": 1, "fallback": "{{7*7}}"},
        {"kind": "eval", "expression": "__import__('os').system('id')"},
    ],
)
def test_a_bad_rule_in_a_manifest_is_refused_at_load(
    rules: dict[str, Any], loan_package_path: Path, tmp_path: Path
) -> None:
    """A forged manifest with code in its decision block: refused when the package is
    read, before any digest or model is looked at."""
    forged = tmp_path / "forged"
    shutil.copytree(loan_package_path, forged)
    raw = yaml.safe_load((forged / "modelport.yaml").read_text())
    raw["decisioning"] = {"rules": rules}
    (forged / "modelport.yaml").write_text(yaml.safe_dump(raw))
    with pytest.raises(IntegrityError, match="valid package"):
        open_package(forged)
    with pytest.raises(IntegrityError, match="valid package"):
        mp.load(forged)


def test_a_manifest_cannot_construct_python_objects(
    loan_package_path: Path, tmp_path: Path
) -> None:
    """YAML tags that build objects (``!!python/object/apply``) are not read: safe_load."""
    forged = tmp_path / "forged"
    shutil.copytree(loan_package_path, forged)
    marker = tmp_path / "pwned"
    text = (forged / "modelport.yaml").read_text()
    text += f"x: !!python/object/apply:os.system ['touch {marker}']\n"
    (forged / "modelport.yaml").write_text(text)
    with pytest.raises(IntegrityError):
        open_package(forged)
    assert not marker.exists()


def test_a_resealed_manifest_with_a_foreign_score_is_refused_at_load(
    loan_package_path: Path, tmp_path: Path
) -> None:
    from modelport.decisions import Decisioning
    from modelport.decisions.rules import Rule, ThresholdRules

    forged = tmp_path / "forged"
    shutil.copytree(loan_package_path, forged)
    manifest = Manifest.read(forged)
    rules = ThresholdRules(score="proba___class__", rules=[Rule(">=", 0.5, "a")], otherwise="b")
    resealed = manifest.model_copy(
        update={"decisioning": Decisioning(rules=rules)}
    ).sealed()  # a forger can recompute the digest
    (forged / "modelport.yaml").write_text(resealed.to_yaml())
    with pytest.raises(PackageError):
        mp.load(forged)


# -- SQL: entity keys are bound, never spliced -------------------------------------------

SQL_PAYLOADS = [
    "1; DROP TABLE customers; --",
    "' OR '1'='1",
    "1 OR 1=1",
    "1) OR (1=1",
    "1 UNION SELECT * FROM sqlite_master",
    "17' --",
]


@pytest.fixture(scope="module")
def customer_table() -> pd.DataFrame:
    return customers(120, seed=4)


@pytest.fixture
def crm(tmp_path: Path, customer_table: pd.DataFrame) -> str:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    engine = create_engine(url)
    customer_table.to_sql("customers", engine, index=False)
    engine.dispose()
    return url


def _count(url: str) -> int:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
        return int(connection.execute("SELECT count(*) FROM customers").fetchone()[0])


@pytest.mark.parametrize("payload", SQL_PAYLOADS)
def test_a_table_source_binds_keys(payload: str, crm: str) -> None:
    source = SqlSource(
        SourceBinding(name="customers", url=crm, table="customers", keys=["customer_id"])
    )
    try:
        with pytest.raises(InvalidInput):  # an integer key column: text is refused
            source.fetch([{"customer_id": payload}])
    finally:
        source.close()
    assert _count(crm) == 120


@pytest.mark.parametrize("payload", SQL_PAYLOADS)
def test_a_query_source_binds_keys(payload: str, crm: str) -> None:
    query = "SELECT * FROM customers WHERE CAST(customer_id AS TEXT) = :customer_id"
    source = SqlSource(SourceBinding(name="customers", url=crm, query=query, keys=["customer_id"]))
    try:
        assert source.fetch([{"customer_id": payload}]) == {}  # found nothing, ran nothing
        assert len(source.fetch([{"customer_id": "17"}])) == 1
    finally:
        source.close()
    assert _count(crm) == 120


@pytest.mark.parametrize(
    "binding",
    [
        {"table": "customers; DROP TABLE customers"},
        {"table": "customers --"},
        {"table": "main.customers"},
        {"table": "customers", "keys": ["customer_id); DROP TABLE customers; --"]},
        {"table": "customers", "columns": ["*"]},
        {"table": "customers", "columns": ["state, (SELECT sql FROM sqlite_master)"]},
        {"query": "SELECT * FROM customers WHERE customer_id = 1"},  # does not bind the key
        {"name": "../customers", "table": "customers"},
    ],
)
def test_source_bindings_refuse_sql_in_identifiers(binding: dict[str, Any], crm: str) -> None:
    with pytest.raises(ValidationError):
        SourceBinding(**{"name": "customers", "url": crm, "keys": ["customer_id"], **binding})


# -- over real HTTP ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def customer_package(
    tmp_path_factory: pytest.TempPathFactory, customer_table: pd.DataFrame
) -> Path:
    frame = customer_loan_applications(customer_table, 800, seed=4).merge(
        customer_table, on="customer_id"
    )
    pipeline = train_customer_pipeline(frame, trees=5, depth=4)
    raw = ["date_of_birth", "account_balance", "state", "loan_amount", "purpose"]
    spec = OrchestrationSpec(
        entity=["customer_id"],
        inputs={n: FieldSource(source="customers") for n in raw[:3]},
    )
    path = tmp_path_factory.mktemp("security-score") / CUSTOMER_MODEL
    mp.package(pipeline, frame[raw].head(200), name=CUSTOMER_MODEL, path=path, orchestration=spec)
    return path


class Live:
    def __init__(self, url: str, crm: str, log: Path) -> None:
        self.url = url
        self.crm = crm
        self.log = log
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80

    def raw(self, method: str, path: str, body: Any = None) -> tuple[int, dict[str, str], bytes]:
        """Send ``path`` byte for byte (no client-side normalisation of ``..`` or ``%2e``)."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            data = None if body is None else json.dumps(body).encode()
            headers = {"content-type": "application/json"} if data is not None else {}
            connection.putrequest(method, path, skip_accept_encoding=True)
            for key, value in headers.items():
                connection.putheader(key, value)
            connection.putheader("content-length", str(len(data or b"")))
            connection.endheaders(data)
            response = connection.getresponse()
            return (
                response.status,
                {k.lower(): v for k, v in response.getheaders()},
                response.read(),
            )
        finally:
            connection.close()


@pytest.fixture(scope="module")
def live(
    tmp_path_factory: pytest.TempPathFactory,
    server_helpers: ModuleType,
    loan_package_path: Path,
    customer_package: Path,
    customer_table: pd.DataFrame,
) -> Iterator[Live]:
    root = tmp_path_factory.mktemp("security-live")
    crm = f"sqlite:///{root / 'crm.db'}"
    engine = create_engine(crm)
    customer_table.to_sql("customers", engine, index=False)
    engine.dispose()
    home = root / "home"
    registry = Registry.from_settings(Settings(home=home, database_url=None))
    registry.register(loan_package_path, alias="production")
    registry.register(customer_package, alias="production")
    registry.close()
    sources = root / "sources.yaml"
    sources.write_text(
        yaml.safe_dump({"customers": {"url": crm, "table": "customers", "keys": ["customer_id"]}})
    )
    deployment = server_helpers.Deployment(home, None, registry)
    server = server_helpers.start_server(
        deployment, extra_env={"MODELPORT_SOURCES_FILE": str(sources)}
    )
    try:
        yield Live(server.url, crm, server.log)
    finally:
        server_helpers.stop_server(server)


def _envelope(status: int, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    assert 400 <= status < 500, (status, body[:300])
    assert headers["content-type"] == "application/json", (status, body[:300])
    parsed = json.loads(body)
    assert set(parsed) == {"success", "code", "message", "errors"}, parsed
    assert parsed["success"] is False
    assert b"root:" not in body  # nothing of /etc/passwd
    return dict(parsed)


HTTP_NAMES = [
    "..%2F..%2Fetc%2Fpasswd",
    "..%2f..%2f..%2fetc%2fpasswd",
    "%2e%2e",
    "%2e%2e%2f%2e%2e%2fetc",
    "%252e%252e%252f",
    "..%5C..%5Cwindows",
    "loan%00",
    "loan-approval%00",
    "loan-approval%00.yaml",
    "%00",
    "file:%2F%2F%2Fetc%2F",
    "loan-approval%23x",
    "loan-approval%3Fx=1",
    "x" * 1000,
    quote("lоan-approval"),  # Cyrillic o
    quote("loan‐approval"),  # U+2010
    quote("ｌｏａｎ-approval"),
    "LOAN-APPROVAL",
    "loan-approval%3B%20id",
    "%24(id)",
    "%60id%60",
    "%7B%7B7*7%7D%7D",
    "%24%7Bjndi:x%7D",
    "%25(x)s",
    "%7B0.__class__%7D",
]


@pytest.mark.parametrize("name", HTTP_NAMES)
def test_predict_refuses_bad_model_names(name: str, live: Live) -> None:
    for path in (
        f"/v1/models/{name}/predict",
        f"/v1/models/{name}/aliases/production/predict",
        f"/v1/models/{name}/versions/1/predict",
        f"/v1/models/loan-approval/aliases/{name}/predict",
        f"/v1/models/loan-approval/versions/{name}/predict",
    ):
        status, headers, body = live.raw("POST", path, {"records": [{}]})
        _envelope(status, headers, body)


@pytest.mark.parametrize(
    "path",
    [
        "/v1/models/../../etc/passwd/predict",
        "/v1/models/./loan-approval/predict",
        "/v1/models/loan-approval/../../../etc/passwd",
        "/v1/models//predict",
        "/v1/models/%2F/predict",
        "/v1/models/loan-approval/aliases/../versions/1/predict",
    ],
)
def test_dot_segments_are_not_followed(path: str, live: Live) -> None:
    status, headers, body = live.raw("POST", path, {"records": [{}]})
    _envelope(status, headers, body)


@pytest.mark.parametrize("name", HTTP_NAMES)
def test_model_info_refuses_bad_names(name: str, live: Live) -> None:
    status, headers, body = live.raw("GET", f"/v1/models/{name}")
    _envelope(status, headers, body)


@pytest.mark.parametrize(
    "model",
    [
        "../../etc/passwd",
        "file:///etc/",
        "loan-by-customer\x00",
        "loan-by-customer/../loan-approval",
        "x" * 1000,
        "lоan-by-customer",
        "{{7*7}}",
        "$(id)",
        "{0.__class__}",
        "%(x)s",
        7,
        None,
        ["loan-by-customer"],
        {"name": "loan-by-customer"},
    ],
)
def test_score_refuses_bad_model_names(model: Any, live: Live) -> None:
    for body in (
        {"model": model, "entity": {"customer_id": 17}},
        {"model": CUSTOMER_MODEL, "alias": model, "entity": {"customer_id": 17}},
        {"model-id": model, "customer-id": 17},
    ):
        status, headers, raw = live.raw("POST", "/v1/score", body)
        _envelope(status, headers, raw)


@pytest.mark.parametrize("payload", SQL_PAYLOADS)
def test_score_binds_entity_keys(payload: str, live: Live) -> None:
    body = {
        "model": CUSTOMER_MODEL,
        "entity": {"customer_id": payload},
        "inputs": {"loan_amount": 9000, "purpose": "car"},
    }
    status, headers, raw = live.raw("POST", "/v1/score", body)
    answer = _envelope(status, headers, raw)
    assert answer["code"] in {"invalid_input", "entity_not_found"}
    assert _count(live.crm) == 120


def test_the_server_survived_with_no_internal_error(live: Live) -> None:
    ok = httpx.post(
        f"{live.url}/v1/score",
        json={
            "model": CUSTOMER_MODEL,
            "entity": {"customer_id": 17},
            "inputs": {"loan_amount": 9000, "purpose": "car"},
        },
        timeout=10,
    )
    assert ok.status_code == 200, ok.text
    assert httpx.get(f"{live.url}/readyz", timeout=5).status_code == 200
    log = live.log.read_text()
    assert "Traceback" not in log, log[-3000:]
