"""About 300 random, malformed or hostile bodies (and a few paths): never a 5xx."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

import httpx

from live_server import MODEL

PREDICT = f"/v1/models/{MODEL}/predict"
WEIRD_VALUES: list[Any] = [
    None, True, False, 0, -1, 1e308, -1e308, 10**30, -(10**40), 2**63, 2**64 + 1, 1e-320, 0.1,
    "", " ", "null", "NaN", "1e999", "\u0000", "\ud7ff\ue000", "😀" * 50, "é", "x" * 5000,
    [], {}, [None], {"": None}, [[[]]], {"a": {"b": {"c": []}}},
]  # fmt: skip
FIELDS = [
    "age", "annual_income", "loan_amount", "loan_term_months", "debt_to_income",
    "credit_history_months", "open_accounts", "delinquencies", "employment_type",
    "home_ownership", "purpose", "region", "has_cosigner", "", "__proto__", "constructor",
    "loan_amount ", "LOAN_AMOUNT", "😀", "\u0000",
]  # fmt: skip


def random_value(rng: random.Random) -> Any:
    return rng.choice(WEIRD_VALUES) if rng.random() < 0.7 else rng.uniform(-1e6, 1e6)


def random_record(rng: random.Random, good: dict[str, Any]) -> dict[str, Any]:
    record = dict(good) if rng.random() < 0.5 else {}
    for _ in range(rng.randint(0, 6)):
        record[rng.choice(FIELDS)] = random_value(rng)
    return record


def generators(good: dict[str, Any]) -> list[Callable[[random.Random], bytes]]:
    def raw_bytes(rng: random.Random) -> bytes:
        return rng.randbytes(rng.randint(0, 400))

    def records(rng: random.Random) -> bytes:
        if rng.random() < 0.3:
            body: Any = random_record(rng, good)
        else:
            body = [random_record(rng, good) for _ in range(rng.randint(0, 60))]
        return json.dumps(body, ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass")

    def nested(rng: random.Random) -> bytes:
        depth = rng.choice([10, 500, 1023, 1024, 1025, 3000])
        opener, closer = rng.choice([(b"[", b"]"), (b'{"a":', b"}")])
        inner = opener * depth + b"1" + closer * depth
        return rng.choice([inner, b'{"age": ' + inner + b"}", b'[{"region": ' + inner + b"}]"])

    def literals(rng: random.Random) -> bytes:
        literal = rng.choice(
            [b"NaN", b"-Infinity", b"Infinity", b"1e99999", b"-1e99999", b"123" * 200,
             b"0x10", b"01", b"1.", b".5", b"+1", b"true", b"nul", b"\"\\ud800\"", b"\"\\u0000\""]
        )  # fmt: skip
        field = rng.choice(FIELDS).encode("utf-8")
        return rng.choice([literal, b'{"' + field + b'": ' + literal + b"}"])

    def mutated(rng: random.Random) -> bytes:
        text = bytearray(json.dumps([good, good]).encode())
        for _ in range(rng.randint(1, 5)):
            position = rng.randrange(len(text))
            text[position] = rng.randrange(256)
        return bytes(text)

    def unicode(rng: random.Random) -> bytes:
        chars = "".join(chr(rng.randrange(0x20, 0x2FFFF)) for _ in range(rng.randint(1, 40)))
        body = {**good, chars: chars, "region": chars}
        return json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")

    return [raw_bytes, records, nested, literals, mutated, unicode]


def test_random_bodies_never_cause_a_5xx(
    client: httpx.Client, record: dict[str, Any], server: Any
) -> None:
    rng = random.Random(20240611)
    makers = generators(record)
    content_types = ["application/json", None, "application/json; charset=latin-1", "text/plain"]
    seen: dict[int, int] = {}
    for _ in range(300):
        body = rng.choice(makers)(rng)
        content_type = rng.choice(content_types)
        headers = {} if content_type is None else {"content-type": content_type}
        response = client.post(PREDICT, content=body, headers=headers)
        assert response.status_code < 500, (body[:200], response.text)
        payload = response.json()
        assert payload["success"] is (response.status_code == 200)
        seen[response.status_code] = seen.get(response.status_code, 0) + 1
    assert {400, 415, 422} <= set(seen)
    assert server.alive()


def test_random_paths_never_cause_a_5xx(client: httpx.Client, record: dict[str, Any]) -> None:
    rng = random.Random(7)
    pieces = [MODEL, "production", "1", "0", "-1", "%00", "%FF", "..", "%2e%2e", "a" * 300,
              "😀", "%F0%9F%98%80", "versions", "aliases", "predict", "", "v1"]  # fmt: skip
    for _ in range(60):
        path = "/v1/models/" + "/".join(rng.choice(pieces) for _ in range(rng.randint(1, 5)))
        response = client.post(path, json=record)
        assert response.status_code < 500, (path, response.text)
