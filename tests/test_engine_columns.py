"""The engine's columnar input: conversion from events is exact, and both entry points agree."""

from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

import numpy as np

from balanced_calendar.engine import (
    KIND_CODE,
    OTHER,
    SHOW_AS_CODE,
    STATUS_CODE,
    audit_columns,
    audit_events,
    events_to_columns,
)
from balanced_calendar.engine.columns import epoch_seconds
from balanced_calendar.formats import to_json
from balanced_calendar.model import Kind, ShowAs, Status
from balanced_calendar.policyfile import load_policy
from helpers import all_day, ev, meeting

ZONES = ("America/New_York", "Pacific/Apia", "Australia/Lord_Howe", "Asia/Jakarta", "Asia/Makassar")


def test_epoch_seconds_equals_floor_of_timestamp_across_dst_folds_and_gaps():
    rng = random.Random(7)
    zones = [ZoneInfo(z) for z in ZONES] + [dt.timezone.utc, dt.timezone(dt.timedelta(hours=5, minutes=45))]
    values = []
    for _ in range(3000):
        wall = dt.datetime(2011, 1, 1) + dt.timedelta(seconds=rng.randrange(0, 18 * 365 * 86400))
        values.append(wall.replace(microsecond=rng.choice((0, 999_999, rng.randrange(10**6))),
                                   tzinfo=rng.choice(zones), fold=rng.random() < 0.2))
    for chunk in (values[:1], values[:200], values):  # growing per-zone offset tables
        expected = [int(np.floor(v.timestamp())) for v in chunk]
        assert epoch_seconds(chunk).tolist() == expected
    one_zone = [v.replace(tzinfo=zones[0]) for v in values[:500]]
    assert epoch_seconds(one_zone).tolist() == [int(np.floor(v.timestamp())) for v in one_zone]


def test_events_to_columns_encodes_codes_all_day_dates_and_order():
    events = [
        meeting("2026-12-14", "09:00", "10:00", others=3, organizer_is_self=False, status=Status.TENTATIVE),
        all_day("2026-12-15", "2026-12-17", show_as=ShowAs.OOF),
        ev("2026-12-14", "13:00", "14:00", kind=Kind.FOCUS, show_as="busy"),  # a plain string equal to a member
    ]
    cols = events_to_columns(events)
    assert cols.all_day.tolist() == [False, True, False]
    assert cols.start[0] == int(events[0].start.timestamp())
    assert cols.start[1] == (dt.date(2026, 12, 15) - dt.date(1970, 1, 1)).days * 86400
    assert cols.end[1] == (dt.date(2026, 12, 17) - dt.date(1970, 1, 1)).days * 86400
    assert cols.status.tolist()[0] == STATUS_CODE[Status.TENTATIVE]
    assert cols.show_as.tolist() == [SHOW_AS_CODE[ShowAs.BUSY], SHOW_AS_CODE[ShowAs.OOF], SHOW_AS_CODE[ShowAs.BUSY]]
    assert cols.kind.tolist()[2] == KIND_CODE[Kind.FOCUS]
    assert cols.others.tolist() == [3, 0, 0] and cols.organizer_is_self.tolist() == [False, True, True]
    assert OTHER == 255 and len(events_to_columns([])) == 0


def test_audit_columns_and_audit_events_give_the_same_contract_in_every_zone():
    policy = load_policy("asn-id")
    for zone in ZONES:
        events = [meeting(d, "07:00", "12:30", zone=zone) for d in ("2026-12-14", "2026-12-15", "2026-12-19")]
        events += [ev("2026-12-16", "20:00", "02:00", zone=zone, end_day="2026-12-17"),
                   all_day("2026-12-17", "2026-12-18", kind=Kind.OUT_OF_OFFICE)]
        span = {"zone": zone, "start": dt.date(2026, 12, 14), "end": dt.date(2026, 12, 20), "person": "p"}
        by_events = audit_events(events, policy, **span)
        by_columns = audit_columns(events_to_columns(events), policy, **span)
        assert to_json(by_events) == to_json(by_columns)
        assert len(by_events.findings) == len(by_events.as_dict()["findings"]) > 0


def test_findings_are_read_lazily_and_survive_pickling():
    import pickle

    policy = load_policy("asn-id")
    events = [meeting(d, "07:00", "12:30") for d in ("2026-12-14", "2026-12-15", "2026-12-16")]
    result = audit_events(events, policy, zone="Asia/Jakarta", start=dt.date(2026, 12, 14),
                          end=dt.date(2026, 12, 20), person="p")
    counts = result.summary()["findings"]  # from the blocks, nothing built yet
    again = pickle.loads(pickle.dumps(result.findings))
    assert [f.as_dict() for f in again] == [f.as_dict() for f in result.findings]
    assert counts == {rule: sum(1 for f in result.findings if f.rule == rule) for rule in counts}
    assert result.findings[0].rule == next(iter(counts)) and result.findings[:1] == [result.findings[0]]


def test_event_arrays_refuse_columns_of_different_lengths():
    import pytest

    from balanced_calendar.engine import EventArrays

    cols = events_to_columns([meeting("2026-12-14", "09:00", "10:00")])
    with pytest.raises(ValueError):
        EventArrays(**{**cols.__dict__, "others": np.zeros(2, np.int64)})
