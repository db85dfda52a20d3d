"""Retention settings: defaults, the state cap, and accord.toml."""

from __future__ import annotations

import datetime as dt

import pytest

from node.retention.errors import AboveStateCapError, RetentionSettingError
from node.retention.settings import RetentionSettings
from node.store.epochs import DataClass

_DAY = dt.timedelta(days=1)


def test_a_setting_above_the_state_cap_is_refused_naming_the_cap_and_citation() -> None:
    with pytest.raises(AboveStateCapError) as e:
        RetentionSettings.from_days("US-ME", {"reads": 30})
    assert "21 days" in str(e.value)
    assert "Me. Rev. Stat. tit. 29-A, 2117-A" in str(e.value)
    with pytest.raises(AboveStateCapError):
        RetentionSettings.from_days("US-MN", {}).with_days(DataClass.CROPS, 61)


def test_defaults_are_shortened_to_the_cap_and_holds_are_not_capped() -> None:
    maine = RetentionSettings.from_days("US-ME", {})
    assert maine.max_age[DataClass.READS] == 21 * _DAY
    assert maine.max_age[DataClass.HELD_READS] == 365 * _DAY
    assert RetentionSettings.from_days("US-ME", {"held_reads": 400}).days
    assert RetentionSettings.from_days("US-CA", {}).max_age[DataClass.READS] == 30 * _DAY


def test_settings_within_the_cap_apply() -> None:
    s = RetentionSettings.from_days("US-ME", {"reads": 14})
    assert s.max_age[DataClass.READS] == 14 * _DAY
    assert s.as_toml_table() == {"reads": 14}


@pytest.mark.parametrize("days", [{"nonsense": 1}, {"reads": -1}, {"reads": True}, {"reads": 1.5}])
def test_bad_settings_are_refused(days: dict[str, object]) -> None:
    with pytest.raises(RetentionSettingError):
        RetentionSettings.from_days("US-CA", days)
