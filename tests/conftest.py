"""Fixtures shared by several test modules."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch


@pytest.fixture(scope="module")
def no_network() -> Iterator[list[str]]:
    """Refuse (and record) every DNS look-up and connection for the whole module; fail if any came.

    Use it as ``pytestmark = pytest.mark.usefixtures("no_network")`` in modules that call
    ultralytics, which would otherwise reach for fonts, weights and telemetry.
    """
    attempts: list[str] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(repr(args[:2]))
        raise OSError("network access attempted during a test")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket, "getaddrinfo", refuse)
        mp.setattr(socket, "create_connection", refuse)
        mp.setattr(socket.socket, "connect", refuse)
        yield attempts
    assert attempts == [], f"ultralytics tried to reach the network: {attempts}"


@pytest.fixture
def one_thread() -> Iterator[None]:
    """One torch thread for the test: tiny tensors on a shared 2-core machine stall in OpenMP.

    Use it as ``pytestmark = pytest.mark.usefixtures("one_thread")``.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


PETS_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "pets2009-s2l1"


@pytest.fixture(scope="session")
def pets_dir() -> Path:
    """``../shared/data/pets2009-s2l1`` (the real PETS 2009 S2L1 sequence); skips when absent."""
    if not (PETS_DIR / "vtest.avi").is_file():
        pytest.skip(f"PETS 2009 S2L1 data not found at {PETS_DIR} (CI has it; see docs/real_data.md)")
    return PETS_DIR
