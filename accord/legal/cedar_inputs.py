"""What Cedar is told about an agreement: attributes built from its JSON form.

The node's policy engine and the auditor both ask a profile about the same agreement, so
both build Cedar's principal, resource and signing context here, from the agreement's JSON
form (``accord/agreement/v1``, as :meth:`node.policy.agreement.Agreement.to_json` writes
it and as an exported document carries it). One mapping means the auditor's question is
exactly the one the node asked.
"""

from __future__ import annotations

from collections.abc import Mapping

from crypto.canonical_json import JsonValue


def _get(doc: Mapping[str, JsonValue], key: str) -> JsonValue:
    if key not in doc:
        raise ValueError(f"agreement document lacks {key!r}")
    return doc[key]


def _str(doc: Mapping[str, JsonValue], key: str) -> str:
    value = _get(doc, key)
    if not isinstance(value, str):
        raise ValueError(f"agreement field {key!r} must be a string")
    return value


def _int(doc: Mapping[str, JsonValue], key: str) -> int:
    value = _get(doc, key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"agreement field {key!r} must be an integer")
    return value


def _bool(doc: Mapping[str, JsonValue], key: str) -> bool:
    value = _get(doc, key)
    if not isinstance(value, bool):
        raise ValueError(f"agreement field {key!r} must be true or false")
    return value


def _strs(doc: Mapping[str, JsonValue], key: str) -> list[str]:
    value = _get(doc, key)
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"agreement field {key!r} must be a list of strings")
    return sorted(str(v) for v in value)


def _obj(doc: Mapping[str, JsonValue], key: str) -> Mapping[str, JsonValue]:
    value = _get(doc, key)
    if not isinstance(value, Mapping):
        raise ValueError(f"agreement field {key!r} must be an object")
    return value


def agency_attributes(party: Mapping[str, JsonValue]) -> dict[str, JsonValue]:
    """An ``Accord::Agency`` from one party of the agreement (``requester``/``responder``)."""
    jurisdiction = _str(party, "jurisdiction")
    return {
        "node_id": _str(party, "node_id"),
        "ori": _str(party, "ori"),
        "jurisdiction": jurisdiction,
        "country": jurisdiction.partition("-")[0],
        "kind": _str(party, "kind"),
    }


def agreement_attributes(doc: Mapping[str, JsonValue]) -> dict[str, JsonValue]:
    """An ``Accord::Agreement`` from the agreement's JSON form."""
    case_number = _obj(doc, "case_number")
    rate = _obj(doc, "rate_limit")
    return {
        "id": _str(doc, "id"),
        "version": _int(doc, "version"),
        "query_kinds": _strs(doc, "query_kinds"),
        "purposes": _strs(doc, "purposes"),
        "alert_categories": _strs(doc, "alert_categories"),
        "window_days": _int(doc, "window_days"),
        "label_detail": _str(doc, "label_detail"),
        "retention_days": _int(doc, "retention_days"),
        "case_number_required": _bool(case_number, "required"),
        "onward_sharing_banned": _bool(doc, "onward_sharing_banned"),
        "plates_per_day": _int(rate, "plates_per_day"),
        "max_batch": _int(rate, "max_batch"),
    }


def sign_context(
    doc: Mapping[str, JsonValue],
    *,
    local_is_party: bool,
    local_shares: bool,
    declaration_on_file: bool,
    expired: bool,
) -> dict[str, JsonValue]:
    """The ``SignAgreement`` context: may the local party sign ``doc``? The recipient is
    always the requester (data flows from the responder to the requester)."""
    return {
        "local_is_party": local_is_party,
        "local_shares": local_shares,
        "declaration_on_file": declaration_on_file,
        "recipient_ori": _str(_obj(doc, "requester"), "ori"),
        "expired": expired,
        "purposes": _strs(doc, "purposes"),
        "categories": _strs(doc, "alert_categories"),
    }
