"""Groove file formats: quanta-groove JSON, Ableton .agr (plain and gzip), REAPER SWS .rgt (v0,
v1): exact round trips, the spec's mappings, and hostile files (one line naming the file, exit 2,
nothing written)."""

from __future__ import annotations

import gzip
import json
from fractions import Fraction as F

import pytest
from jsonschema import Draft202012Validator

from app.cli import main
from engine.errors import GrooveError
from engine.presets import (
    AgrAmounts,
    groove_file_bytes,
    groove_from_agr,
    groove_from_bytes,
    groove_from_rgt,
    groove_schema,
    read_groove_file,
)
from engine.quantize import GroovePoint, GrooveTemplate

FULL = GrooveTemplate(
    "Pocket",
    "1/16",
    4,
    tuple(
        GroovePoint(F(k, 4) + (F(1, 25) if k % 2 else 0), 60 + 4 * k + 0.5 * (k % 3), F(1, 5))
        for k in range(16)
    ),
)
SPARSE = GrooveTemplate(
    "Sparse 8T",
    "1/8T",
    2,
    (GroovePoint(0, 110), GroovePoint(F(2, 3) + F(1, 50)), GroovePoint(F(3, 2) + F(1, 30), 40)),
)


def same(a: GrooveTemplate, b: GrooveTemplate) -> bool:
    return (a.name, a.base, a.length, a.points) == (b.name, b.base, b.length, b.points)


# -- round trips -------------------------------------------------------------------------------
@pytest.mark.parametrize("t", [FULL, SPARSE])
def test_json_round_trip_is_exact_and_schema_valid(t):
    data = groove_file_bytes(t, "json")
    back = groove_from_bytes(data, "g.json", "json").template
    assert back == t
    assert not list(Draft202012Validator(groove_schema()).iter_errors(json.loads(data)))
    assert groove_file_bytes(back, "json") == data


@pytest.mark.parametrize("compress", [False, True])
def test_agr_round_trip_both_forms(compress):
    amounts = AgrAmounts(timing=80, quantization=25, random=10, velocity=-40)
    data = groove_file_bytes(FULL, "agr", amounts, compress=compress)
    assert data[:2] == (b"\x1f\x8b" if compress else b"<?")
    back, got = groove_from_agr(data, "Pocket.agr", "Pocket")
    assert same(back, FULL)
    assert got == amounts
    assert got.settings_fields() == {
        "strength": 80, "pre_quantize": 25, "groove_velocity": -40, "humanize_ms": 2.0
    }  # fmt: skip
    # and again: the exported bytes are stable
    assert groove_file_bytes(back, "agr", got, compress=compress) == data


def test_agr_export_fills_what_live_needs_and_refuses_1_32T():
    back, _ = groove_from_agr(groove_file_bytes(SPARSE, "agr"), "s.agr", "Sparse 8T")
    assert [p.velocity for p in back.points] == [110, 100, 40]  # none → 100
    assert [p.length for p in back.points] == [F(1, 3)] * 3  # none → one base step
    with pytest.raises(GrooveError, match="1/32T has no Ableton Grid"):
        groove_file_bytes(GrooveTemplate("x", "1/32T", 1, ()), "agr")


@pytest.mark.parametrize("version", [0, 1])
def test_rgt_round_trip_v0_v1(version):
    data = groove_file_bytes(FULL, "rgt", version=version)
    text = data.decode()
    assert text.splitlines()[:3] == [
        f"Version: {version}", "Number of beats in groove: 4", "Groove: 16 positions"
    ]  # fmt: skip
    back = groove_from_rgt(data, "Pocket.rgt", "Pocket", "1/16")
    want = [GroovePoint(p.beat, p.velocity if version else None) for p in FULL.points]
    assert back.points == tuple(want)
    assert (back.base, back.length) == ("1/16", 4)


def test_rgt_reads_the_spec_layout_exactly():
    text = (
        "Version: 1\nNumber of beats in groove: 2\nGroove: 4 positions\n"
        "0.0000000000 1.0000000000\n0.5400000000 -1.0000000000\n"
        "1.0000000000 0.5000000000\n1.5400000000 0.2500000000\n"
    )
    t = groove_from_rgt(text.encode(), "x.rgt", "X", "1/8")
    assert [(p.beat, p.velocity, p.length) for p in t.points] == [
        (0, 127, None), (F(27, 50), None, None), (1, 63.5, None), (F(77, 50), 31.75, None)
    ]  # fmt: skip
    # Version 0 (and the oldest files, without a Version line): positions only
    v0 = "Number of beats in groove: 1\nGroove: 2 positions\n0.0\n0.27\n"
    t0 = groove_from_rgt(v0.encode(), "y.rgt", "Y")
    assert [p.beat for p in t0.points] == [0, F(27, 100)] and t0.base == "1/16"


def test_agr_mapping_several_notes_in_a_slot_and_grid_codes():
    def agr(grid, notes, start=0, end=2):
        events = "".join(
            f'<MidiNoteEvent Time="{t}" Duration="{d}" Velocity="{v}" IsEnabled="true"/>'
            for t, v, d in notes
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?><Ableton><Groove><Clip><Value><MidiClip>'
            f'<CurrentStart Value="{start}"/><CurrentEnd Value="{end}"/><Notes><KeyTracks>'
            f"<KeyTrack><Notes>{events}</Notes></KeyTrack></KeyTracks></Notes></MidiClip>"
            f'</Value></Clip><Grid Value="{grid}"/><TimingAmount Value="70"/></Groove></Ableton>'
        ).encode()

    # 1/8 (Grid 1): slot 1 has 0.55 and 0.47 → 0.47 is nearer; slot 2: 0.96 and 1.04 tie →
    # the earlier; two notes at 0 are one onset (highest velocity, longest duration).
    t, a = groove_from_agr(
        agr(1, [(0, 90, 0.1), (0, 120, 0.05), (0.55, 50, 0.2), (0.47, 60, 0.2),
                (0.96, 70, 0.25), (1.04, 80, 0.25)]),
        "g.agr", "G",
    )  # fmt: skip
    assert t.base == "1/8" and t.length == 2 and a.timing == 70 and a.quantization == 0
    assert [(p.beat, p.velocity, p.length) for p in t.points] == [
        (0, 120, F(1, 10)), (F(47, 100), 60, F(1, 5)), (F(24, 25), 70, F(1, 4))
    ]  # fmt: skip
    for code, base in enumerate(["1/4", "1/8", "1/8T", "1/16", "1/16T", "1/32"]):
        assert groove_from_agr(agr(code, [], end=4), "g.agr", "G")[0].base == base
    # Time counts from CurrentStart
    t2, _ = groove_from_agr(agr(3, [(8.25, 100, 0.25)], start=8, end=12), "g.agr", "G")
    assert t2.points[0].beat == F(1, 4) and t2.length == 4


# -- hostile files through the CLI ---------------------------------------------------------------
BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    + b"]><Ableton><Groove><Name Value=\"&lol9;\"/></Groove></Ableton>"
)
EXTERNAL = (
    b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b'<Ableton><Groove><Name Value="&x;"/></Groove></Ableton>'
)


def _json_doc(points):
    return json.dumps(
        {"format": "quanta-groove", "version": 1, "name": "x", "base": "1/16", "length": 1,
         "points": points}
    ).encode()  # fmt: skip


HOSTILE = [
    ("two.json", _json_doc([{"beat": 0.2}, {"beat": 0.3}]), "beats 0.2 and 0.3"),
    ("out.json", _json_doc([{"beat": 1.0}]), "outside the pattern"),
    ("nan.json", _json_doc([{"beat": 0}]).replace(b'"beat": 0', b'"beat": NaN'), "NaN"),
    ("inf.json", _json_doc([{"beat": 0}]).replace(b'"beat": 0', b'"beat": 1e999'), "too large"),
    ("dup.json", b'{"format": "quanta-groove", "format": "x"}', "appears twice"),
    ("deep.json", b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ("laughs.agr", BILLION_LAUGHS, "DOCTYPE"),
    ("external.agr", EXTERNAL, "DOCTYPE"),
    ("deep.agr", b"<a>" * 5000 + b"</a>" * 5000, "nested more than 64"),
    ("bomb.agr", gzip.compress(b"<Ableton>" + b" " * (64 * 1024 * 1024)), "gzip bomb"),
    ("cut.agr", gzip.compress(b"<Ableton/>")[:-6], "cut short"),
    ("bad.agr", b"<Ableton><Groove>", "not well-formed XML"),
    ("out.agr", b'<Ableton><Groove><Clip><Value><MidiClip><CurrentStart Value="0"/>'
     b'<CurrentEnd Value="1"/><Notes><KeyTracks><KeyTrack><Notes><MidiNoteEvent Time="1.5" '
     b'Duration="0.1" Velocity="100"/></Notes></KeyTrack></KeyTracks></Notes></MidiClip></Value>'
     b'</Clip><Grid Value="3"/></Groove></Ableton>', "beat 1.5 is outside the pattern [0, 1)"),
    ("enc.agr", b'<?xml version="1.0" encoding="UPF-8"?><Ableton/>', "encoding that cannot"),
    ("noent.agr", b"<Ableton><Groove a='&x;'/></Ableton>", "not well-formed"),
    ("two.rgt", b"Version: 1\nNumber of beats in groove: 1\nGroove: 2 positions\n0.2 1\n0.3 1\n",
     "beats 0.2 and 0.3"),
    ("out.rgt", b"Version: 1\nNumber of beats in groove: 1\nGroove: 1 positions\n1.5 1\n",
     "outside the pattern"),
    ("nan.rgt", b"Version: 1\nNumber of beats in groove: 1\nGroove: 1 positions\nnan 1\n",
     "not a finite number"),
    ("count.rgt", b"Version: 1\nNumber of beats in groove: 1\nGroove: 3 positions\n0 1\n",
     "announces 3 positions"),
    ("v2.rgt", b"Version: 2\nNumber of beats in groove: 1\nGroove: 0 positions\n",
     "Version 2 is not known"),
]  # fmt: skip


@pytest.mark.parametrize("name, content, words", HOSTILE, ids=[h[0] for h in HOSTILE])
@pytest.mark.parametrize("action", ["validate", "import", "quantize"])
def test_hostile_file_is_one_line_exit_2_nothing_written(
    tmp_path, capsys, monkeypatch, name, content, words, action
):
    store = tmp_path / "store"
    monkeypatch.setenv("QUANTA_PRESET_DIR", str(store))
    bad = tmp_path / name
    bad.write_bytes(content)
    out = tmp_path / "out.mid"
    argv = {
        "validate": ["groove", "validate", str(bad)],
        "import": ["groove", "import", str(bad)],
        "quantize": ["quantize", str(_take(tmp_path)), "-o", str(out), "--groove", str(bad)],
    }[action]
    capsys.readouterr()
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert name in err and words in err and "Traceback" not in err, err
    assert not out.exists()
    assert not (store / "grooves").exists() or not any((store / "grooves").iterdir())


def test_hundred_megabyte_files_are_refused_unread(tmp_path, capsys):
    for name in ("huge.json", "huge.agr", "huge.rgt"):
        f = tmp_path / name
        with open(f, "wb") as fh:
            fh.truncate(100 * 1024 * 1024)  # sparse: no 100 MB written
        assert main(["groove", "validate", str(f)]) == 2
        err = capsys.readouterr().err
        assert f"{name}: is 104857600 bytes" in err and len(err.strip().splitlines()) == 1


def test_validate_reports_each_bad_file_and_passes_good_ones(tmp_path, capsys):
    good = tmp_path / "good.rgt"
    good.write_bytes(groove_file_bytes(FULL, "rgt"))
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"{")
    assert main(["groove", "validate", str(good), str(bad)]) == 2
    io = capsys.readouterr()
    assert "good.rgt: ok ('good', 1/16, 4 beats, 16 points)" in io.out
    assert "bad.json: is not valid JSON" in io.err


def test_read_groove_file_names_an_agr_after_its_file(tmp_path):
    f = tmp_path / "Swing Hats 16ths.agr"
    f.write_bytes(groove_file_bytes(FULL, "agr", compress=True))
    loaded = read_groove_file(f)
    assert loaded.kind == "agr" and loaded.template.name == "Swing Hats 16ths"
    assert same(read_groove_file(f, name="Pocket").template, FULL)


def _take(tmp_path):
    from engine.build import add_track, new_song
    from engine.model.notes import make_notes
    from engine.smf import save_song

    song = new_song(ppq=96)
    add_track(song, make_notes([0, 30, 50], [20, 50, 70], [60, 62, 64]))
    path = tmp_path / "take.mid"
    save_song(song, path)
    return path
