"""Import ultralytics strictly offline, and pick a torch device.

Ultralytics checks connectivity when it is first imported (DNS look-ups, which stall for seconds on
an air-gapped machine), may pip-install missing requirements, sends usage events, and downloads
weights, fonts and assets on demand. A tracking service must do none of that, so every import of
ultralytics in this project goes through :func:`import_ultralytics`, which first sets

- ``YOLO_OFFLINE=1``: ``ultralytics.utils.ONLINE`` is False, so the events/crash reporters and the
  requirement auto-updater are disabled (ultralytics 8.4 reads it in ``utils.is_online``);
- ``YOLO_AUTOINSTALL=False``: never ``pip install`` at run time;
- ``YOLO_VERBOSE=False`` unless the user set it: no banners on the console.

If ultralytics was already imported by someone else, the same switches are flipped on the loaded
modules. Weights are never downloaded because callers check that the file exists first, and nothing
is plotted (no font download).

Example::

    ultralytics = import_ultralytics()
    model = ultralytics.YOLO("person.pt")
"""

from __future__ import annotations

import importlib
import os
import sys
from types import ModuleType

__all__ = ["import_ultralytics", "resolve_torch_device"]


def import_ultralytics() -> ModuleType:
    """``import ultralytics`` with downloads, installs and telemetry switched off (see module doc)."""
    already = "ultralytics" in sys.modules
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_AUTOINSTALL"] = "False"
    os.environ.setdefault("YOLO_VERBOSE", "False")
    module = importlib.import_module("ultralytics")
    if already:  # imported before our switches: turn them off on the live modules
        for name in ("ultralytics.utils", "ultralytics.utils.checks", "ultralytics.utils.events"):
            mod = sys.modules.get(name)
            if mod is not None and hasattr(mod, "ONLINE"):
                mod.ONLINE = False
            if mod is not None and hasattr(mod, "AUTOINSTALL"):
                mod.AUTOINSTALL = False
        events = getattr(sys.modules.get("ultralytics.utils.events"), "events", None)
        if events is not None:
            events.enabled = False
    return module


def resolve_torch_device(device: str, key: str = "detector.device") -> str:
    """``auto`` -> ``cuda`` when torch sees a GPU, else ``cpu``; other values are returned as given.

    Args:
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        key: the config key named in errors.

    Raises:
        ValueError: a CUDA device was asked for but torch sees no GPU.

    Example: ``resolve_torch_device("auto")`` is ``"cpu"`` on a machine without CUDA.
    """
    if device == "cpu":
        return device
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if not torch.cuda.is_available():
        raise ValueError(f"{key}: {device!r} asked for, but torch sees no CUDA GPU; use auto or cpu")
    return device
