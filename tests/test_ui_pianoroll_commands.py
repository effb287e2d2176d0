"""Undo commands on random edit sequences: every edit keeps the note invariants, and undoing
everything gives back the exact original bytes (redo gives back the exact result)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.model.notes import make_notes
from engine.quantize.settings import QuantizeSettings
from tests.ui_roll_helpers import make_doc
from ui import commands

EDIT = st.one_of(
    st.tuples(st.just("move"), st.integers(-2000, 2000), st.integers(-30, 30)),
    st.tuples(st.just("resize"), st.integers(-600, 600), st.integers(-600, 600)),
    st.tuples(st.just("velocity"), st.integers(-200, 200), st.just(0)),
    st.tuples(st.just("delete"), st.just(0), st.just(0)),
    st.tuples(st.just("duplicate"), st.just(0), st.just(0)),
    st.tuples(st.just("paste"), st.integers(0, 5000), st.just(0)),
    st.tuples(st.just("add"), st.integers(0, 5000), st.integers(0, 127)),
    st.tuples(st.just("quantize"), st.integers(0, 100), st.sampled_from([50, 58, 66])),
)


def random_track(seed: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    starts = np.sort(rng.integers(0, 4000, n))
    return make_notes(
        starts, starts + rng.integers(1, 500, n), rng.integers(0, 128, n), rng.integers(1, 128, n)
    )


def make_command(doc, kind, a, b, pick):
    ti = doc.current_index
    notes = doc.track().notes
    ids = notes["id"][pick(notes.size)] if notes.size else np.zeros(0, np.int32)
    if kind == "move":
        return commands.move_notes(doc, ti, ids, a, b)
    if kind == "resize":
        return commands.resize_notes(doc, ti, ids, dstart=a, dend=b)
    if kind == "velocity":
        return commands.set_velocity(doc, ti, ids, delta=a)
    if kind == "delete":
        return commands.delete_notes(doc, ti, ids)
    if kind == "duplicate":
        return commands.duplicate_notes(doc, ti, ids)
    if kind == "paste":
        return commands.paste_notes(doc, ti, notes[np.isin(notes["id"], ids)], a)
    if kind == "add":
        return commands.add_notes(doc, ti, make_notes([a], [a + 120], [b], 90))
    s = QuantizeSettings(division=16, strength=float(a), swing=float(b))
    return commands.quantize_apply(doc, ti, s, ids if ids.size else None)


def check_invariants(notes: np.ndarray) -> None:
    assert np.all(notes["end"] > notes["start"])
    assert np.all(notes["start"] >= 0)
    assert np.all((notes["velocity"] >= 1) & (notes["velocity"] <= 127))
    assert np.unique(notes["id"]).size == notes.size
    assert np.all(np.diff(notes["start"]) >= 0)  # the document keeps notes sorted


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 1000),
    n=st.integers(0, 40),
    edits=st.lists(EDIT, min_size=1, max_size=8),
    data=st.data(),
)
def test_random_edits_undo_to_exact_bytes(qapp, seed, n, edits, data):
    doc = make_doc(random_track(seed, n))
    original = doc.track().notes.tobytes()

    def pick(size):
        if size == 0:
            return np.zeros(0, np.int64)
        mask = data.draw(st.lists(st.booleans(), min_size=size, max_size=size))
        return np.flatnonzero(mask)

    for kind, a, b in edits:
        doc.push(make_command(doc, kind, a, b, pick))
        check_invariants(doc.track().notes)
        assert doc.undo_stack.undoText()  # every step has a name
    final = doc.track().notes.tobytes()
    while doc.undo_stack.canUndo():
        doc.undo_stack.undo()
    assert doc.track().notes.tobytes() == original
    while doc.undo_stack.canRedo():
        doc.undo_stack.redo()
    assert doc.track().notes.tobytes() == final


def test_command_names_say_what_they_did(qapp):
    doc = make_doc()
    ti = doc.current_index
    cases = [
        (commands.move_notes(doc, ti, [0, 1], 120, 0), "Move 2 notes"),
        (commands.transpose_notes(doc, ti, [0], -12), "Transpose 1 note -12"),
        (commands.resize_notes(doc, ti, [0, 1, 2], dend=10), "Resize 3 notes (end)"),
        (commands.set_velocity(doc, ti, [2], velocity=64), "Velocity of 1 note"),
        (commands.delete_notes(doc, ti, [0, 1, 2, 3]), "Delete 4 notes"),
        (
            commands.quantize_apply(doc, ti, QuantizeSettings(division=8, grid_type="triplet")),
            "Quantize 4 notes to 1/8T",
        ),
        (commands.TrackQuantizeCommand(doc, ti, None), "Play quantized: off"),
    ]
    for cmd, text in cases:
        assert cmd.text() == text
