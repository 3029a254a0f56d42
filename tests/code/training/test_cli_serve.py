"""`retention serve`'s environment: the allocator its workers get."""

from __future__ import annotations

from training.cli.serve import allocator_note, serve_environment, with_allocator


def test_jemalloc_is_preloaded_when_found_and_kept_out_when_asked() -> None:
    env = with_allocator({}, library="libjemalloc.so.2")
    assert env["LD_PRELOAD"] == "libjemalloc.so.2" and allocator_note(env) is None
    kept = with_allocator({"LD_PRELOAD": "libfoo.so"}, library="libjemalloc.so.2")
    assert kept["LD_PRELOAD"] == "libfoo.so libjemalloc.so.2"  # a preload already asked for stays first
    assert with_allocator(dict(kept), library="libjemalloc.so.2")["LD_PRELOAD"] == "libfoo.so libjemalloc.so.2"
    system = with_allocator({"RETENTION_ALLOCATOR": "system"}, library="libjemalloc.so.2")
    assert "LD_PRELOAD" not in system and allocator_note(system) is None


def test_a_machine_without_jemalloc_is_told_how_to_get_it(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr("ctypes.util.find_library", lambda name: None)
    env = serve_environment(tmp_path, None, 1, {})
    assert "LD_PRELOAD" not in env
    note = allocator_note(env)
    assert note is not None and "libjemalloc2" in note and "each reload" in note
