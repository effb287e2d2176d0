"""Fuzz the three groove readers (bounded cases here; bench/fuzz_grooves.py runs long): whatever
they are fed ends as a groove that saves and reads back the same, or one GrooveError line that
names the file or the field. Nothing else (no other exception, no hang)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from engine.errors import GrooveError
from engine.presets import groove_file_bytes, groove_from_bytes
from tests.groove_fuzz_inputs import READERS


def check_one(kind: str, data: bytes) -> str:
    """``accepted`` or ``rejected``; anything else raises (the test fails)."""
    origin = f"fuzz.{kind}"
    try:
        loaded = groove_from_bytes(data, origin, kind, name="Fuzz" if kind != "json" else None)
    except GrooveError as exc:
        text = str(exc)
        assert "\n" not in text and text.strip(), text
        assert text.startswith((origin, "points", "name", "base", "length", "--")), text
        return "rejected"
    t = loaded.template
    again = groove_from_bytes(groove_file_bytes(t, kind), origin, kind, name=t.name).template
    assert (again.base, again.length, again.points) == (t.base, t.length, t.points)
    return "accepted"


@pytest.mark.parametrize("kind", sorted(READERS))
def test_reader_fuzz(kind):
    seen = set()

    @settings(
        max_examples=150,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(READERS[kind]())
    def run(data):
        seen.add(check_one(kind, data))

    run()
    assert seen == {"accepted", "rejected"}  # the strategy reaches both sides
