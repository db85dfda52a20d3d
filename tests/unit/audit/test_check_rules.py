"""Each compliance rule on in-memory entry lists: silent on a clean story, and finding
exactly its own code when one fact is changed."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from typing import Any

import pytest

from accord.legal.profile import LegalProfile
from accord.legal.signed_agreement import (
    SignedAgreementDocument,
    encode_signed_agreement,
    read_signed_agreement,
)
from audit.check import CheckInput, Ledger, Thresholds, check
from audit.check.model import BoundProfile
from crypto.entries import Entry
from node.config import AgencyKind
from node.policy import Agreement, sign_agreement
from tests.unit.policy.conftest import REQUESTER_KEY, RESPONDER_KEY, make_agreement, party

A, B = "oakland-pd", "sf-pd"
NOW_MS = int(dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC).timestamp() * 1000)
DAY_MS = 86_400_000
CA = BoundProfile(LegalProfile.load("us-ca-sb34"), "US-CA")


def hex32(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


def export(
    agreement: Agreement, *, roles: tuple[str, ...] = ("requester", "responder")
) -> SignedAgreementDocument:
    keys = {
        "requester": (agreement.requester.node_id, REQUESTER_KEY),
        "responder": (agreement.responder.node_id, RESPONDER_KEY),
    }
    signatures = {
        role: sign_agreement(agreement, keys[role][0], keys[role][1]).signature for role in roles
    }
    return read_signed_agreement(encode_signed_agreement(agreement.to_json(), signatures))


AGREEMENT = make_agreement()
DOC = export(AGREEMENT)


class Story:
    """Two ledgers, written in time order."""

    def __init__(self, doc: SignedAgreementDocument = DOC) -> None:
        self.entries: dict[str, list[Entry]] = {A: [], B: []}
        self.n = 0
        self.agreed(doc)

    def add(self, node: str, type_: str, time_ms: int, **fields: Any) -> None:
        self.entries[node].append(Entry(type=type_, time_ms=time_ms, node=node, fields=fields))

    def agreed(self, doc: SignedAgreementDocument, at: int = NOW_MS - DAY_MS) -> None:
        for node, peer, role in ((A, B, "requester"), (B, A, "responder")):
            self.add(
                node,
                "agreement.created",
                at,
                agreement_id=doc.agreement_id,
                version=1,
                agreement_hash=doc.digest_hex,
                peer=peer,
                role=role,
            )

    def query(
        self,
        at: int = NOW_MS,
        *,
        doc: SignedAgreementDocument = DOC,
        decision: str = "allow",
        rule_ids: tuple[str, ...] = ("baseline-honour-query",),
        skew_ms: int = 0,
        sides: str = "SRsr",
        **changes: Any,
    ) -> str:
        self.n += 1
        rid = f"req-{self.n}"
        fields: dict[str, Any] = {
            "request_id": rid,
            "agreement_id": doc.agreement_id,
            "agreement_hash": doc.digest_hex,
            "purpose": "stolen-vehicle",
            "case_commit": hex32(f"case{self.n}"),
            "actor": hex32("officer-17"),
            "window_days": 7,
            "batch_size": 3,
            "q_commit": hex32(f"q{self.n}"),
        }
        fields.update(changes)
        if "S" in sides:
            self.add(A, "query.sent", at, peer=B, **fields)
        if "R" in sides:
            self.add(
                B,
                "query.received",
                at + 5 + skew_ms,
                peer=A,
                **fields,
                decision=decision,
                rule_ids=list(rule_ids),
            )
        if decision == "allow":
            answer = {"request_id": rid, "q_commit": fields["q_commit"]}
            if "s" in sides:
                self.add(
                    B, "answer.sent", at + 10 + skew_ms, peer=A, evaluated=3, epochs=7, **answer
                )
            if "r" in sides:
                self.add(A, "answer.received", at + 20, peer=B, hits=0, receipt_index=0, **answer)
        return rid

    def run(
        self,
        *,
        docs: tuple[SignedAgreementDocument, ...] = (DOC,),
        profile: BoundProfile | None = CA,
        **thresholds: int,
    ) -> set[str]:
        self.findings = check(
            CheckInput(
                ledgers=[Ledger(n, e) for n, e in self.entries.items()],
                documents=docs,
                profile=profile,
                thresholds=Thresholds(**thresholds),
            )
        )
        return {f.code for f in self.findings}


def test_a_clean_story_has_no_finding() -> None:
    story = Story()
    for i in range(3):
        story.query(NOW_MS + i * 1000)
    story.query(NOW_MS + 5000, decision="deny", rule_ids=("agreement.purpose",), purpose="arson")
    assert story.run() == set()


def test_unpaired_query_and_answer() -> None:
    story = Story()
    story.query(sides="S")
    assert story.run() == {"exchange.unpaired"}
    (f,) = story.findings
    assert f.entries[0].node == A and "no query.received" in f.message


def test_no_counterpart_expected_from_a_ledger_not_audited() -> None:
    story = Story()
    story.query(sides="Sr")
    del story.entries[B]
    assert story.run() == set()


def test_sides_that_disagree() -> None:
    story = Story()
    story.query()
    received = story.entries[B][-2]
    story.entries[B][-2] = dataclasses.replace(
        received, fields={**received.fields, "case_commit": hex32("other")}
    )
    assert story.run() == {"exchange.mismatch"}
    assert "case_commit" in story.findings[0].message


def test_answer_after_a_refusal() -> None:
    story = Story()
    rid = story.query(decision="deny", rule_ids=("agreement.purpose",), purpose="arson")
    story.add(
        B,
        "answer.sent",
        NOW_MS + 50,
        request_id=rid,
        peer=A,
        q_commit=hex32("q1"),
        evaluated=3,
        epochs=7,
    )
    story.add(
        A,
        "answer.received",
        NOW_MS + 60,
        request_id=rid,
        peer=B,
        q_commit=hex32("q1"),
        hits=0,
        receipt_index=0,
    )
    assert story.run() == {"exchange.answer_without_allow"}


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"purpose": "arson"}, "query.purpose_outside_agreement"),
        ({"window_days": 31}, "query.window_outside_agreement"),
        ({"batch_size": 1001}, "query.batch_outside_agreement"),
    ],
)
def test_answered_outside_the_terms(changes: dict[str, Any], code: str) -> None:
    story = Story()
    story.query(**changes)
    assert story.run() == {code}
    assert "answered" in story.findings[0].message


def test_the_same_facts_refused_are_no_finding() -> None:
    story = Story()
    story.query(decision="deny", rule_ids=("agreement.window",), window_days=31)
    assert story.run() == set()


def test_a_refusal_citing_a_rule_the_facts_do_not_break() -> None:
    story = Story()
    story.query(decision="deny", rule_ids=("agreement.purpose",))
    assert story.run() == {"query.refusal_rule_mismatch"}


def test_refusals_for_facts_off_the_ledger_are_not_judged() -> None:
    story = Story()
    story.query(decision="deny", rule_ids=("agreement.case-number",))
    story.query(NOW_MS + 1000, decision="deny", rule_ids=("request.stale",))
    assert story.run() == set()


def test_daily_rate() -> None:
    small = export(
        make_agreement(
            rate_limit=dataclasses.replace(AGREEMENT.rate_limit, plates_per_day=5, max_batch=3)
        )
    )
    story = Story(small)
    story.query(doc=small)
    story.query(NOW_MS + 1000, doc=small)  # 6 plates that day, 5 agreed
    assert story.run(docs=(small,)) == {"query.rate_outside_agreement"}
    story = Story(small)
    story.query(doc=small)
    story.query(NOW_MS + DAY_MS, doc=small)  # the next day starts again
    assert story.run(docs=(small,)) == set()


def test_validity() -> None:
    story = Story()
    after = int(AGREEMENT.valid_until.timestamp() * 1000) + DAY_MS
    story.query(after)
    assert story.run() == {"query.outside_validity"}
    assert "agreement.expired" in story.findings[0].message


def test_answered_after_the_responder_revoked() -> None:
    story = Story()
    story.add(
        B,
        "agreement.revoked",
        NOW_MS - 1000,
        agreement_id=DOC.agreement_id,
        version=1,
        agreement_hash=DOC.digest_hex,
        peer=A,
        reason="terms",
    )
    story.add(
        A,
        "agreement.revoked",
        NOW_MS - 999,
        agreement_id=DOC.agreement_id,
        version=1,
        agreement_hash=DOC.digest_hex,
        peer=B,
        reason="terms",
    )
    story.query()
    assert story.run() == {"query.outside_validity"}


def test_unsigned_agreement() -> None:
    proposal = export(AGREEMENT, roles=("requester",))
    story = Story()
    story.query()
    assert story.run(docs=(proposal,)) == {"query.outside_validity"}
    assert "signed by requester only" in story.findings[0].message


def test_missing_document_and_unknown_agreement() -> None:
    story = Story()
    story.query()
    assert story.run(docs=()) == {"agreement.missing"}
    other = export(make_agreement(purposes=frozenset({"homicide"})))
    assert story.run(docs=(other,)) == {"agreement.hash_mismatch", "agreement.missing"}


def test_answered_with_no_agreement_at_the_responder() -> None:
    story = Story()
    story.query(sides="Rs", agreement_hash="0" * 64)
    del story.entries[A]
    assert story.run() == {"query.without_agreement"}


def test_agreement_recorded_on_one_side_only() -> None:
    story = Story()
    story.entries[B].pop(0)
    assert story.run() == {"agreement.unpaired"}


def test_agreement_the_profile_forbids() -> None:
    federal = make_agreement(
        requester=party(
            A, REQUESTER_KEY, jurisdiction="US-CA", kind=AgencyKind.FEDERAL, ori="CA0010900"
        )
    )
    doc = export(federal)
    story = Story()
    story.entries = {A: [], B: []}
    story.agreed(doc)
    assert story.run(docs=(doc,)) == {"agreement.forbidden_by_profile"}
    assert "ca-sb34-no-federal" in story.findings[0].message
    # Baseline law, or a responder outside California, does not forbid it.
    baseline = BoundProfile(LegalProfile.load("baseline"), None)
    assert story.run(docs=(doc,), profile=baseline) == set()


def test_retention_deadline_from_the_state_cap() -> None:
    maine = make_agreement(
        responder=party(B, RESPONDER_KEY, jurisdiction="US-ME", ori="ME0010000"),
        requester=party(A, REQUESTER_KEY, jurisdiction="US-ME", ori="ME0020000"),
    )
    doc = export(maine)
    story = Story()
    story.entries = {A: [], B: []}
    story.agreed(doc)
    old = NOW_MS // DAY_MS - 30
    story.add(
        B,
        "key.rotated",
        NOW_MS,
        key="voprf-ristretto255-sha512",
        scope=f"{doc.agreement_id}:{old}",
        public_key_sha256=hex32("k"),
    )
    assert story.run(docs=(doc,)) == {"retention.deadline_missed"}
    assert "21 days" in story.findings[0].message
    # Deleted, but 30 days after the day ended where Maine allows 21: late.
    story.add(
        B,
        "retention.deleted",
        NOW_MS + 1,
        data_class="reads",
        epoch=old,
        counts={},
        deleted_root=hex32("r"),
    )
    assert story.run(docs=(doc,)) == {"retention.deadline_missed"}
    assert "was deleted" in story.findings[0].message
    # An epoch 10 days old is within the cap: only the old one is reported.
    young = NOW_MS // DAY_MS - 10
    story.add(
        B,
        "key.rotated",
        NOW_MS + 2,
        key="voprf-ristretto255-sha512",
        scope=f"{doc.agreement_id}:{young}",
        public_key_sha256=hex32("k2"),
    )
    story.run(docs=(doc,))
    assert [f.code for f in story.findings] == ["retention.deadline_missed"]
    assert f"epoch {old} " in story.findings[0].message


def test_retention_deadline_from_declared_settings() -> None:
    story = Story()
    story.add(
        B,
        "admin.action",
        NOW_MS - 40 * DAY_MS + DAY_MS,
        action="retention.set",
        actor=hex32("node"),
        detail="retention.set jurisdiction=US-CA reads=14 held_reads=365 crops=14 video=7",
    )
    # Times must not go backwards on a ledger; rebuild B in order.
    story.entries[B].sort(key=lambda e: e.time_ms)
    epoch = NOW_MS // DAY_MS - 20
    story.add(
        B,
        "retention.deleted",
        NOW_MS,
        data_class="reads",
        epoch=epoch,
        counts={"reads": 3},
        deleted_root=hex32("r"),
    )
    assert story.run() == {"retention.deadline_missed"}
    assert "14 days" in story.findings[0].message
    # Deleted within 14 days (plus the purge's grace): fine.
    story.entries[B][-1] = dataclasses.replace(
        story.entries[B][-1], fields={**story.entries[B][-1].fields, "epoch": NOW_MS // DAY_MS - 14}
    )
    assert story.run() == set()


def test_declared_setting_above_the_state_cap() -> None:
    story = Story()
    story.add(
        B,
        "admin.action",
        NOW_MS,
        action="retention.set",
        actor=hex32("node"),
        detail="retention.set jurisdiction=US-ME reads=30",
    )
    assert story.run() == {"retention.setting_above_cap"}


def test_volume_far_above_usual() -> None:
    story = Story()
    for day in range(6):
        story.query(NOW_MS + day * DAY_MS)
    for i in range(50):
        story.query(NOW_MS + 6 * DAY_MS + i * 1000)
    assert story.run() == {"volume.actor_above_usual", "volume.agency_above_usual"}
    # The same 50 over a quiet calendar of a busy unit: under 5 x its median.
    story = Story()
    for day in range(6):
        for i in range(12):
            story.query(NOW_MS + day * DAY_MS + i * 1000)
    for i in range(50):
        story.query(NOW_MS + 6 * DAY_MS + i * 1000 + 500)
    assert story.run() == set()


def test_clock_skew() -> None:
    story = Story()
    story.query()
    story.query(NOW_MS + 1000, skew_ms=600_000)  # the responder's clock 10 minutes ahead
    assert story.run() == {"clock.skew"}
    assert "answer.received on oakland-pd is timed 600.0 s before" in story.findings[0].message
    assert story.run(skew_tolerance_ms=900_000) == set()
    story = Story()
    story.query(skew_ms=-600_000)  # behind: the query is received before it was sent
    assert story.run() == {"clock.skew"}
    assert "query.received on sf-pd is timed 600.0 s before" in story.findings[0].message


def test_a_slow_step_is_not_skew() -> None:
    story = Story()
    rid = story.query(sides="SRs")
    story.add(
        A,
        "answer.received",
        NOW_MS + 300_000,
        request_id=rid,
        peer=B,
        q_commit=hex32("q1"),
        hits=0,
        receipt_index=0,
    )  # five minutes to unblind
    assert story.run() == set()


def test_findings_never_carry_more_than_commitments() -> None:
    story = Story()
    story.query(purpose="arson")
    story.run()
    text = repr([f.to_json() for f in story.findings])
    assert "7QRS482" not in text and "plate" not in text.lower()


def test_held_reads_are_not_day_epochs() -> None:
    story = Story()
    story.add(
        B,
        "retention.deleted",
        NOW_MS,
        data_class="held_reads",
        epoch=3,  # the hold's number, not a day
        counts={"reads": 2},
        deleted_root=hex32("h"),
    )
    assert story.run() == set()
