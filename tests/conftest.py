"""Fixtures every test folder shares: a throwaway MLflow registry and headless chromium for the browser tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.shared import CHROMIUM, use_registry


@pytest.fixture(scope="module")
def module_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A working folder with its own sqlite MLflow registry, shared by one test module; yields the folder."""
    work = tmp_path_factory.mktemp("mlflow")
    patch = pytest.MonkeyPatch()
    use_registry(patch, work)
    yield work
    patch.undo()


@pytest.fixture
def temp_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder with its own sqlite MLflow registry, for one test; returns the folder."""
    use_registry(monkeypatch, tmp_path)
    return tmp_path


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Debian chromium for one test module (the browser tests in tests/browser/)."""
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        chromium.close()
