"""Atomic saves: the mode a plain open() gives, kept modes, stale temp files, full disks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from engine.atomic_write import (
    TEMP_PREFIX,
    DiskFullError,
    atomic_output,
    atomic_write_bytes,
    clean_stale_temps,
    current_umask,
    is_quanta_temp,
)
from tests import procs

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def umask(mask: int):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o7777


def _dead_pid() -> int:
    p = procs.spawn([sys.executable, "-c", "pass"], start_new_session=True)
    p.wait()
    return p.pid


@pytest.mark.parametrize("mask,expected", [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_new_file_gets_the_mode_open_gives(tmp_path, mask, expected):
    with umask(mask):
        assert current_umask() == mask
        atomic_write_bytes(tmp_path / "a.mid", b"x")
        with open(tmp_path / "plain", "w"):
            pass
    assert mode(tmp_path / "a.mid") == expected == mode(tmp_path / "plain")


@pytest.mark.parametrize("kept", [0o600, 0o664, 0o755])
def test_replacing_keeps_the_replaced_files_mode(tmp_path, kept):
    target = tmp_path / "song.quanta"
    target.write_bytes(b"old")
    target.chmod(kept)
    with umask(0o022):
        atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new"
    assert mode(target) == kept


def test_atomic_output_mode_and_failure_leaves_nothing(tmp_path):
    target = tmp_path / "mix.wav"
    with umask(0o022):
        with atomic_output(target, suffix=".wav") as tmp:
            assert tmp.name.startswith(TEMP_PREFIX) and tmp.suffix == ".wav"
            assert is_quanta_temp(tmp.name)
            tmp.write_bytes(b"RIFF")
    assert target.read_bytes() == b"RIFF" and mode(target) == 0o644
    with pytest.raises(RuntimeError):
        with atomic_output(target, suffix=".wav") as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("render failed")
    assert target.read_bytes() == b"RIFF"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mix.wav"]


def test_only_dead_quanta_temps_of_this_user_are_cleaned(tmp_path):
    dead = _dead_pid()
    live = procs.spawn(
        [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True
    )
    try:
        stale = tmp_path / f"{TEMP_PREFIX}{dead}-0123456789ab.tmp"
        stale_wav = tmp_path / f"{TEMP_PREFIX}{dead}-abcdef012345.wav"
        lives = tmp_path / f"{TEMP_PREFIX}{live.pid}-0123456789ab.tmp"
        mine = tmp_path / f"{TEMP_PREFIX}{os.getpid()}-0123456789ab.tmp"
        others = [
            tmp_path / f".song.mid.{dead}.tmp",  # the old mkstemp pattern: not provably ours
            tmp_path / f"{TEMP_PREFIX}{dead}-notours.tmp",
            tmp_path / f"quanta-tmp-{dead}-0123456789ab.tmp",
            tmp_path / f"{TEMP_PREFIX}{dead}-0123456789ab.tmp.bak",
        ]
        for p in [stale, stale_wav, lives, mine, *others]:
            p.write_bytes(b"x" * 100)
        link = tmp_path / f"{TEMP_PREFIX}{dead}-fedcba987654.tmp"
        link.symlink_to(tmp_path / "elsewhere")
        atomic_write_bytes(tmp_path / "song.mid", b"MThd")
        left = {p.name for p in tmp_path.iterdir()}
        assert stale.name not in left and stale_wav.name not in left
        assert {lives.name, mine.name, link.name, "song.mid"} | {p.name for p in others} == left
    finally:
        live.kill()
        live.wait()


def test_renders_older_versions_left_are_cleaned_only_when_untouched_for_an_hour(tmp_path):
    old = tmp_path / ".quanta-render-ab12cd_9.wav"
    fresh = tmp_path / ".quanta-render-zz12cd_9.flac"
    other = tmp_path / ".quanta-render-notmine.wav"
    for p in (old, fresh, other):
        p.write_bytes(b"RIFF")
    hour_ago = time.time() - 3700
    os.utime(old, (hour_ago, hour_ago))
    os.utime(other, (hour_ago, hour_ago))
    assert clean_stale_temps(tmp_path) == [old]
    assert fresh.exists() and other.exists()


@pytest.mark.skipif(os.getuid() != 0, reason="needs a second user (root can chown)")
def test_another_users_stale_temp_is_left_alone(tmp_path):
    theirs = tmp_path / f"{TEMP_PREFIX}{_dead_pid()}-0123456789ab.tmp"
    theirs.write_bytes(b"x")
    os.chown(theirs, 65534, 65534)
    assert clean_stale_temps(tmp_path) == []
    assert theirs.exists()


_SLOW_SAVE = """
import sys, time
from engine.atomic_write import atomic_output
with atomic_output(sys.argv[1], suffix='.wav') as tmp:
    tmp.write_bytes(b'x' * 1_000_000)
    print(tmp, flush=True)
    time.sleep(60)
"""


def test_kill_9_mid_save_leftover_is_removed_by_the_next_save(tmp_path):
    target = tmp_path / "take.wav"
    target.write_bytes(b"previous take")
    child = procs.spawn(
        [sys.executable, "-c", _SLOW_SAVE, str(target)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        tmp = Path(child.stdout.readline().strip())
        assert tmp.exists() and tmp.parent == tmp_path
        os.killpg(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
        child.stdout.close()
    assert tmp.exists() and target.read_bytes() == b"previous take"
    atomic_write_bytes(tmp_path / "other.mid", b"MThd")
    assert not tmp.exists()
    assert target.read_bytes() == b"previous take"


# -- full disks: a real tiny tmpfs (root only; skipped where mount is not permitted) --------
@pytest.fixture
def tiny_disk(tmp_path):
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    r = procs.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)],
        capture_output=True,
        start_new_session=True,
    )
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (not root, or no permission)")
    try:
        yield mnt
    finally:
        procs.run(["umount", str(mnt)], capture_output=True, start_new_session=True)


def test_full_disk_names_the_target_and_leaves_no_temp(tiny_disk):
    target = tiny_disk / "big.mid"
    with pytest.raises(DiskFullError) as info:
        atomic_write_bytes(target, b"\0" * 1_000_000)
    assert str(info.value) == f"disk full: could not write {target}"
    assert list(tiny_disk.iterdir()) == []


def test_full_disk_save_song_and_project_say_so(tiny_disk):
    from engine.errors import QuantaError
    from engine.model.notes import make_notes
    from engine.model.song import Song, Track
    from engine.project.project import Project, save_project
    from engine.smf.midifile import save_song

    n = 20000
    song = Song(480, 1, [Track(notes=make_notes(range(0, n * 10, 10), range(5, n * 10, 10), 60))])
    for save, name in ((save_song, "x.mid"), (lambda s, p: save_project(Project(s), p), "x.quanta")):
        with pytest.raises(QuantaError) as info:
            save(song, tiny_disk / name)
        assert str(info.value) == f"disk full: could not write {tiny_disk / name}"
    assert list(tiny_disk.iterdir()) == []


def test_full_disk_render_says_disk_full(tiny_disk, tmp_path):
    from engine.demo import demo_song
    from engine.smf.midifile import save_song

    src = tmp_path / "demo.mid"
    save_song(demo_song(), src)
    out = tiny_disk / "mix.wav"
    r = procs.run(
        [sys.executable, "-m", "app.cli", "render", str(src), "-o", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        start_new_session=True,
    )
    assert r.returncode != 0
    assert f"disk full: could not write {out}" in r.stderr
    assert "Traceback" not in r.stderr
    assert list(tiny_disk.iterdir()) == []


def test_saves_of_every_kind_clean_stale_temps_and_keep_modes(tmp_path, monkeypatch):
    """MIDI, project and preset saves all go through the shared helper."""
    from app import preset_store
    from engine.demo import demo_song
    from engine.project.project import Project, save_project
    from engine.smf.midifile import save_song

    monkeypatch.setenv("QUANTA_PRESET_DIR", str(tmp_path / "presets"))
    dead = _dead_pid()
    targets = {
        "song.mid": lambda p: save_song(demo_song(), p),
        "song.quanta": lambda p: save_project(Project(demo_song()), p),
        "feel.json": lambda p: preset_store.export_preset("Swing 1/16 58", p),
    }
    for name, save in targets.items():
        stale = tmp_path / f"{TEMP_PREFIX}{dead}-0123456789ab.tmp"
        stale.write_bytes(b"leftover")
        with umask(0o002):
            save(tmp_path / name)
        assert not stale.exists(), name
        assert mode(tmp_path / name) == 0o664, name
        (tmp_path / name).chmod(0o600)
        save(tmp_path / name)
        assert mode(tmp_path / name) == 0o600, name


def test_screenshot_leaves_no_scratch_folder(tmp_path):
    scratch_root = tmp_path / "tmp"
    scratch_root.mkdir()
    out = tmp_path / "shot.png"
    r = procs.run(
        [sys.executable, "-m", "app.cli", "--screenshot", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={
            **os.environ,
            "TMPDIR": str(scratch_root),
            "QT_QPA_PLATFORM": "offscreen",
            "QUANTA_RECOVERY_DIR": str(tmp_path / "rec"),
            "QUANTA_PRESET_DIR": str(tmp_path / "presets"),
        },
        start_new_session=True,
    )
    assert r.returncode == 0, r.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert list(scratch_root.iterdir()) == []
