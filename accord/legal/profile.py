"""Legal profiles: a state's law, as Cedar policies checked against one schema.

A profile is the baseline permits (``profiles/baseline.cedar``) plus the ``forbid`` rules of
the node's law (``profiles/<name>.cedar``). Loading one validates every policy against
``profiles/accord.cedarschema`` and requires each to carry a unique ``@id``, a ``@reason``
and a ``@citation``: a rule that cannot be named in a decision cannot be audited.

    >>> profile = LegalProfile.load("us-ca-sb34")
    >>> sorted(profile.rules)[:2]
    ['baseline-honour-query', 'baseline-share-alert']

:class:`LegalProfile` is only the Cedar half; :class:`~node.policy.engine.PolicyEngine`
adds the checks the agreement itself imposes and builds the requests, and the auditor
(:mod:`audit.check`) asks the same profile about what the ledgers record. Pure: the
policies are package data, read once when a profile loads.
"""

from __future__ import annotations

import importlib.resources
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self

import cedarpy

from accord.legal.errors import PolicyEvaluationError, ProfileError
from crypto.canonical_json import JsonValue

SCHEMA_FILE = "accord.cedarschema"
BASELINE_FILE = "baseline.cedar"
NAMESPACE = "Accord"

#: The profiles shipped with Accord: name -> (policy files, one-line description).
SHIPPED_PROFILES: Mapping[str, tuple[tuple[str, ...], str]] = {
    "baseline": (
        (BASELINE_FILE,),
        "no legal restriction beyond the agreement itself",
    ),
    "us-ca-sb34": (
        (BASELINE_FILE, "us-ca-sb34.cedar"),
        "California SB 34 (Civ. Code 1798.90.5-.55): California public agencies only",
    ),
    "us-il-2-130": (
        (BASELINE_FILE, "us-il-2-130.cedar"),
        "Illinois 625 ILCS 5/2-130: declarations out of state; no immigration or "
        "reproductive-care purposes",
    ),
}


#: The jurisdiction whose law each shipped state profile encodes (the baseline binds any).
PROFILE_JURISDICTIONS: Mapping[str, str] = {
    "us-ca-sb34": "US-CA",
    "us-il-2-130": "US-IL",
}


def _read(filename: str) -> str:
    resource = importlib.resources.files("accord.legal.profiles").joinpath(filename)
    try:
        return resource.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ProfileError(f"cannot read packaged profile file {filename}: {e}") from e


@dataclass(frozen=True, slots=True)
class CedarRule:
    """One policy of a profile, as its annotations describe it."""

    id: str
    effect: str  # "permit" or "forbid"
    reason: str
    citation: str


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Cedar's answer: allowed or not, and the ``@id`` of every policy that decided."""

    allowed: bool
    rule_ids: tuple[str, ...]


def _rules(text: str) -> dict[str, CedarRule]:
    try:
        est = json.loads(cedarpy.policies_to_json_str(text))
    except ValueError as e:
        raise ProfileError(f"policies do not parse: {e}") from e
    if est.get("templates"):
        raise ProfileError("profiles must not contain templates")
    rules: dict[str, CedarRule] = {}
    for position, policy in est.get("staticPolicies", {}).items():
        notes: dict[str, Any] = policy.get("annotations") or {}
        missing = [k for k in ("id", "reason", "citation") if not notes.get(k)]
        if missing:
            raise ProfileError(f"policy {position} lacks @{', @'.join(missing)}")
        rule_id = notes["id"]
        if rule_id in rules:
            raise ProfileError(f"two policies share @id({rule_id!r})")
        rules[rule_id] = CedarRule(rule_id, policy["effect"], notes["reason"], notes["citation"])
    if not rules:
        raise ProfileError("a profile must hold at least one policy")
    if not any(r.effect == "permit" for r in rules.values()):
        raise ProfileError("a profile without a permit refuses everything; add the baseline")
    return rules


class LegalProfile:
    """A validated set of Cedar policies with stable rule ids."""

    def __init__(self, name: str, policy_texts: Sequence[str], description: str = "") -> None:
        self.name = name
        self.description = description
        text = "\n".join(policy_texts)
        try:
            self._schema = cedarpy.Schema.from_str(_read(SCHEMA_FILE))
        except ValueError as e:
            raise ProfileError(f"the Cedar schema {SCHEMA_FILE} is invalid: {e}") from e
        self.rules: Mapping[str, CedarRule] = _rules(text)
        result = cedarpy.validate_policies(text, self._schema)
        if not result.validation_passed:
            ids = result.id_annotations_by_policy_id
            problems = "; ".join(
                f"[{ids.get(err.policy_id, err.policy_id)}] {err.error}" for err in result.errors
            )
            raise ProfileError(f"profile {name} does not match the schema: {problems}")
        try:
            self._policies = cedarpy.PolicySet.from_str(text)
        except ValueError as e:
            raise ProfileError(f"profile {name} does not parse: {e}") from e

    @classmethod
    def load(cls, name: str) -> Self:
        """One of :data:`SHIPPED_PROFILES`; raises :class:`ProfileError` for any other."""
        if name not in SHIPPED_PROFILES:
            known = ", ".join(sorted(SHIPPED_PROFILES))
            raise ProfileError(f"unknown legal profile {name!r} (known: {known})")
        files, description = SHIPPED_PROFILES[name]
        return cls(name, [_read(f) for f in files], description)

    @classmethod
    def custom(cls, name: str, policy_text: str, description: str = "") -> Self:
        """A profile of the baseline permits and ``policy_text`` (a ``.cedar`` file's text
        that validates against the same schema)."""
        return cls(name, [_read(BASELINE_FILE), policy_text], description or "custom profile")

    def __repr__(self) -> str:
        return f"LegalProfile({self.name!r}, rules={sorted(self.rules)})"

    def evaluate(
        self,
        action: str,
        principal: Mapping[str, JsonValue],
        resource: Mapping[str, JsonValue],
        context: Mapping[str, JsonValue],
    ) -> Evaluation:
        """Ask Cedar whether ``principal`` may ``action`` on ``resource``.

        ``principal`` and ``resource`` are the attributes of an ``Accord::Agency`` (keyed
        by ``node_id``) and an ``Accord::Agreement`` (keyed by ``id``). Raises
        :class:`PolicyEvaluationError` if Cedar reports an error: never a silent deny.
        """
        entities = [
            {
                "uid": {"type": f"{NAMESPACE}::Agency", "id": principal["node_id"]},
                "attrs": dict(principal),
                "parents": [],
            },
            {
                "uid": {"type": f"{NAMESPACE}::Agreement", "id": resource["id"]},
                "attrs": dict(resource),
                "parents": [],
            },
        ]
        request = {
            "principal": {"type": f"{NAMESPACE}::Agency", "id": principal["node_id"]},
            "action": {"type": f"{NAMESPACE}::Action", "id": action},
            "resource": {"type": f"{NAMESPACE}::Agreement", "id": resource["id"]},
            "context": dict(context),
        }
        try:
            result = cedarpy.is_authorized(request, self._policies, entities, schema=self._schema)
        except ValueError as e:
            raise PolicyEvaluationError(f"Cedar rejected the {action} request: {e}") from e
        diagnostics = result.diagnostics
        if diagnostics.errors or result.decision not in (
            cedarpy.Decision.Allow,
            cedarpy.Decision.Deny,
        ):
            raise PolicyEvaluationError(
                f"Cedar could not evaluate {action}: {'; '.join(diagnostics.errors)}"
            )
        by_position = diagnostics.id_annotations_by_reason
        rule_ids = tuple(sorted(by_position.get(p, p) for p in diagnostics.reasons))
        return Evaluation(result.allowed, rule_ids)
