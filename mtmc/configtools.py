"""Strict YAML -> frozen dataclass loading, shared by every config in the project.

A typo in a config must never be silently ignored, and a user must be told exactly where the problem
is. Everything here raises :class:`ConfigError` with one line of the form
``<file>: <key.path>: <what is wrong and what to do>``.

Example::

    @dataclass(frozen=True)
    class Tracker:
        type: Literal["bytetrack", "botsort"] = "bytetrack"
        lost_track_buffer: int = 30

    raw = load_yaml(Path("cams.yaml"))
    tracker = from_mapping(Tracker, raw["tracker"], source="cams.yaml", key_path="tracker")

Values written as ``${NAME}`` in the YAML are replaced by the environment variable ``NAME`` and
marked as secrets (:class:`SecretStr`): they never appear in error messages, and :func:`to_public`
turns them back into their ``${NAME}`` template for logs and ``summary.json``.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar, Union

import yaml

T = TypeVar("T")

_ENV_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_URL_CREDENTIALS_RE = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<cred>[^/@\s]+)@")


class ConfigError(ValueError):
    """A config file is wrong; the message names the file, the key path and what to do."""


class FieldError(ValueError):
    """Raised by a config dataclass's ``__post_init__`` to blame one of its fields.

    :func:`from_mapping` turns it into a :class:`ConfigError` with the full key path.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class SecretStr(str):
    """A string that came from an environment variable; ``template`` is how the file wrote it."""

    template: str

    def __new__(cls, value: str, template: str) -> SecretStr:
        obj = super().__new__(cls, value)
        obj.template = template
        return obj

    def __repr__(self) -> str:
        return repr(self.template)


def redact(text: str) -> str:
    """Remove credentials from URLs in ``text`` (``rtsp://user:pw@host`` -> ``rtsp://***@host``)."""
    return _URL_CREDENTIALS_RE.sub(lambda m: f"{m.group('scheme')}***@", text)


def show(value: Any) -> str:
    """A short, safe rendering of a config value for error messages (secrets masked)."""
    if isinstance(value, SecretStr):
        return value.template
    text = redact(repr(value))
    return text if len(text) <= 80 else text[:77] + "..."


def load_yaml(path: Path) -> dict[str, Any]:
    """Read a YAML mapping, substituting ``${ENV}`` in string values.

    Raises:
        ConfigError: the file is missing, is not valid YAML, is not a mapping, or names an
            environment variable that is not set.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise ConfigError(f"{path}: not valid YAML{where}: {problem}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return _substitute_env(data, str(path), "")


def _substitute_env(node: Any, source: str, key_path: str) -> Any:
    if isinstance(node, dict):
        return {k: _substitute_env(v, source, _join(key_path, k)) for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute_env(v, source, f"{key_path}[{i}]") for i, v in enumerate(node)]
    if isinstance(node, str) and _ENV_RE.search(node):

        def lookup(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in os.environ:
                raise ConfigError(
                    f"{source}: {key_path}: environment variable ${{{name}}} is not set; "
                    f"export it before running, or write the value in the file"
                )
            return os.environ[name]

        return SecretStr(_ENV_RE.sub(lookup, node), template=node)
    return node


def _join(key_path: str, key: Any) -> str:
    return f"{key_path}.{key}" if key_path else str(key)


def from_mapping(
    cls: type[T],
    data: Any,
    *,
    source: str,
    key_path: str = "",
    base_dir: Path | None = None,
) -> T:
    """Build the frozen dataclass ``cls`` from a YAML mapping, checking every key and type.

    Supported field types: nested dataclasses, ``int``, ``float`` (ints accepted), ``bool``, ``str``,
    ``Path`` (resolved against ``base_dir``), ``Literal[...]``, ``X | None``, unions of the above,
    ``tuple[X, ...]`` / ``tuple[X, Y]`` / ``list[X]`` (stored as tuples) and ``dict[str, X]``.

    Raises:
        ConfigError: unknown key (with a did-you-mean hint), missing required key, wrong type, or a
            value rejected by the dataclass's own ``__post_init__`` (:class:`FieldError`).
    """
    where = key_path or "(top level)"
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: {where}: expected a mapping, got {_type_name(data)}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    for key in data:
        if key not in fields:
            hint = difflib.get_close_matches(str(key), list(fields), n=1)
            did_you_mean = f"; did you mean {hint[0]!r}?" if hint else ""
            raise ConfigError(
                f"{source}: {_join(key_path, key)}: unknown key{did_you_mean} "
                f"(allowed: {', '.join(sorted(fields))})"
            )
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for name, field in fields.items():
        sub_path = _join(key_path, name)
        if name in data:
            kwargs[name] = _convert(hints[name], data[name], source, sub_path, base_dir)
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{source}: {sub_path}: required key is missing")
    try:
        return cls(**kwargs)
    except FieldError as exc:
        raise ConfigError(f"{source}: {_join(key_path, exc.field)}: {exc.message}") from None


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


def _describe(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(tp))
    if tp is type(None):
        return "null"
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    if origin in (tuple, list):
        return "a list"
    if origin is dict:
        return "a mapping"
    return {float: "a number", int: "an integer", Path: "a path"}.get(tp, getattr(tp, "__name__", str(tp)))


def _convert(tp: Any, value: Any, source: str, key_path: str, base_dir: Path | None) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)

    def fail() -> ConfigError:
        return ConfigError(
            f"{source}: {key_path}: expected {_describe(tp)}, got {_type_name(value)} {show(value)}"
        )

    if origin in (Union, types.UnionType):
        if value is None:
            if type(None) in args:
                return None
            raise fail()
        members = [a for a in args if a is not type(None)]
        if len(members) == 1:  # X | None: X's own error is the most precise one
            return _convert(members[0], value, source, key_path, base_dir)
        # Try the members in order; report the union if none accepts the value.
        for member in members:
            try:
                return _convert(member, value, source, key_path, base_dir)
            except ConfigError:
                continue
        raise fail()
    if origin is Literal:
        if value in args and not (isinstance(value, bool) and not any(a is value for a in args)):
            return value
        raise fail()
    if dataclasses.is_dataclass(tp):
        return from_mapping(tp, value, source=source, key_path=key_path, base_dir=base_dir)
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise fail()
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            if len(value) != len(args):
                raise ConfigError(
                    f"{source}: {key_path}: expected a list of {len(args)} items, got {len(value)}"
                )
            item_types = args
        else:
            item_types = (args[0] if args else Any,) * len(value)
        return tuple(
            _convert(t, v, source, f"{key_path}[{i}]", base_dir)
            for i, (t, v) in enumerate(zip(item_types, value, strict=True))
        )
    if origin is dict:
        if not isinstance(value, Mapping):
            raise fail()
        value_type = args[1] if args else Any
        return {
            str(k): _convert(value_type, v, source, _join(key_path, k), base_dir)
            for k, v in value.items()
        }
    if tp is Any:
        return value
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise fail()
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise fail()
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise fail()
    if tp is str:
        if isinstance(value, str):
            return value
        raise fail()
    if tp is Path:
        if not isinstance(value, str) or not value:
            raise fail()
        path = Path(os.path.expanduser(value))
        if base_dir is not None and not path.is_absolute():
            path = base_dir / path
        return Path(os.path.normpath(path))
    raise TypeError(f"configtools cannot convert to {tp!r} (at {key_path}); extend _convert")


def to_public(obj: Any) -> Any:
    """A JSON-ready copy of a config with secrets replaced by their ``${NAME}`` templates.

    Use it for config echoes in logs and ``summary.json``. URL credentials written literally in the
    file are redacted too.
    """
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_public(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, SecretStr):
        return obj.template
    if isinstance(obj, Mapping):
        return {str(k): to_public(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_public(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, str):
        return redact(obj)
    return obj
