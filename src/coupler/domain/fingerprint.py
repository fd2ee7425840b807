"""Fingerprints: the values of every tracked field pair as they were on both sides after the last synchronization.

Comparing a side's current value with its fingerprint tells, field by field, what changed on that side since the
last sync, so that changes on both sides to different fields merge instead of conflicting.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from coupler.domain.mapping import FieldMapping, TableMapping

__all__ = ["Fingerprint", "canonical", "decode", "encode", "encoded_of_mapping", "of", "of_mapping", "tracked_pairs"]

Fingerprint = dict[str, list[Any]]
"""pair name -> [local value, integration value], both canonical."""


def canonical(value: Any) -> Any:
    """A JSON-ready value that equals another exactly when ``values_equal`` holds for same-typed values."""
    if type(value) is str:  # the common case first
        return value or None
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float | Decimal):
        return "#" + format(Decimal(str(value)).normalize(), "f")
    if isinstance(value, datetime | date):
        return "@" + value.isoformat()
    return str(value)


def tracked_pairs(mapping: TableMapping) -> tuple[FieldMapping, ...]:
    """The field pairs whose values are fingerprinted: enabled, with a field on both sides."""
    return _pairs_of(mapping)[0]


def of(pairs: Iterable[FieldMapping], local: Mapping[str, Any], integration: Mapping[str, Any]) -> Fingerprint:
    return {
        f.pair: [canonical(local.get(f.local or "")), canonical(integration.get(f.integration or ""))] for f in pairs
    }


def of_mapping(mapping: TableMapping, local: Mapping[str, Any], integration: Mapping[str, Any]) -> Fingerprint:
    """The fingerprint of every tracked pair of ``mapping`` (the fast path: names resolved once per mapping)."""
    fingerprint: Fingerprint = {}
    for pair, local_name, integration_name in _pairs_of(mapping)[1]:
        value, other = local.get(local_name), integration.get(integration_name)
        first = canonical(value)
        fingerprint[pair] = [first, first if other is value else canonical(other)]  # copied values: once
    return fingerprint


_CACHE: dict[int, tuple[TableMapping, tuple[tuple[FieldMapping, ...], tuple[tuple[str, str, str], ...]]]] = {}


def _pairs_of(mapping: TableMapping) -> tuple[tuple[FieldMapping, ...], tuple[tuple[str, str, str], ...]]:
    """Memoized per mapping object (mappings are immutable and live as long as the configuration)."""
    cached = _CACHE.get(id(mapping))
    if cached is not None and cached[0] is mapping:
        return cached[1]
    unique = {f.pair: f for f in mapping.fields if f.enabled and f.local and f.integration and not f.has_constant}
    pairs = tuple(unique.values())  # the same pair mapped twice (once each way) is one pair
    names = tuple((f.pair, f.local or "", f.integration or "") for f in pairs)
    _CACHE[id(mapping)] = (mapping, (pairs, names))
    return pairs, names


_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
"""One encoder for every fingerprint: ``json.dumps`` with options builds a new one per call."""


def encode(fingerprint: Fingerprint) -> str:
    """JSON; a pair whose two values are equal (the usual case) is stored once, as a bare value."""
    compact = {pair: local if local == other else [local, other] for pair, (local, other) in fingerprint.items()}
    return _JSON.encode(compact)


def encoded_of_mapping(mapping: TableMapping, local: Mapping[str, Any], integration: Mapping[str, Any]) -> str:
    """``encode(of_mapping(mapping, local, integration))`` in one step, the same text (the hot path of a creation):
    when every pair holds one text value (or none) on both sides, the JSON is joined from the encoder's own string
    escaping; anything else goes the general way."""
    parts: list[str] = []
    append = parts.append
    for pair, local_name, integration_name in _pairs_of(mapping)[1]:
        value, other = local.get(local_name), integration.get(integration_name)
        first = (value or None) if type(value) is str else canonical(value)  # canonical's common case inline
        if (other is not value and canonical(other) != first) or not (first is None or type(first) is str):
            return encode(of_mapping(mapping, local, integration))
        append(_KEYS[pair] + ("null" if first is None else _STRING(first)))
    return "{" + ",".join(parts) + "}"


_STRING = json.encoder.encode_basestring
"""The encoder's escaping of a string with ``ensure_ascii=False`` (C-accelerated), quotes included."""


class _Keys(dict[str, str]):
    """A pair name as a JSON object key, ``"name":``, made once per name."""

    def __missing__(self, pair: str) -> str:
        self[pair] = key = _STRING(pair) + ":"
        return key


_KEYS = _Keys()


def decode(text: str | None) -> Fingerprint | None:
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    # canonical values are never lists: a bare value is a pair whose two sides were equal
    return {pair: values if isinstance(values, list) else [values, values] for pair, values in data.items()}
