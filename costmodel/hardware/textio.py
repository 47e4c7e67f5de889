"""Reading profile files: size limit, UTF-8, TOML, and YAML restricted to plain data (no
tags beyond the standard ones, alias expansion bounded)."""

from __future__ import annotations

import tomllib
from typing import Any

from ..errors import HardwareError
from .schema import FieldError

MAX_FILE_BYTES = 1 << 20  # profile files larger than 1 MiB are rejected
MAX_YAML_NODES = 100_000  # YAML values after alias expansion

_YAML_TAGS = {
    f"tag:yaml.org,2002:{t}" for t in ("null", "bool", "int", "float", "str", "seq", "map", "timestamp", "merge")
}


def decode(raw: bytes, where: str) -> str:
    if len(raw) > MAX_FILE_BYTES:
        raise HardwareError(f"profile file is larger than {MAX_FILE_BYTES} bytes", where=where)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise HardwareError(f"profile file is not valid UTF-8 ({e.reason} at byte {e.start})", where=where) from None


def parse_toml(text: str, where: str) -> Any:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise HardwareError(f"invalid TOML: {e}", where=where) from None
    except RecursionError:
        raise HardwareError("invalid TOML: nested too deeply", where=where) from None


def _yaml_path(path: str, key: Any) -> str:
    k = str(key)
    return f"{path}.{k}" if path else k


def _check_yaml_nodes(root: Any) -> None:
    """Refuse non-standard tags (e.g. !!python/object) and alias expansions past MAX_YAML_NODES
    (a 'billion laughs' document), naming the field. Aliases share node objects, so the
    expanded size is counted with memoisation instead of by expanding."""
    import yaml

    sizes: dict[int, int] = {}
    active: set[int] = set()

    def visit(node: Any, path: str) -> int:
        nid = id(node)
        if nid in sizes:
            return sizes[nid]
        if nid in active:
            raise FieldError(f"{path or 'document'}: recursive YAML alias")
        if node.tag not in _YAML_TAGS:
            raise FieldError(
                f"{path or 'document'}: YAML tag '{node.tag}' is not allowed "
                "(profiles may only hold plain tables, lists, strings and numbers)"
            )
        active.add(nid)
        total = 1
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                key = k.value if isinstance(k, yaml.ScalarNode) else "?"
                total += visit(k, path) + visit(v, _yaml_path(path, key))
                if total > MAX_YAML_NODES:
                    break
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                total += visit(v, f"{path}[{i}]")
                if total > MAX_YAML_NODES:
                    break
        active.discard(nid)
        if total > MAX_YAML_NODES:
            raise FieldError(
                f"{path or 'document'}: YAML aliases expand to more than {MAX_YAML_NODES} values (alias bomb?)"
            )
        sizes[nid] = total
        return total

    visit(root, "")


def parse_yaml(text: str, where: str) -> Any:
    try:
        import yaml
    except ImportError:  # pragma: no cover - PyYAML is a declared dependency
        raise HardwareError(
            "reading YAML profiles needs PyYAML (pip install pyyaml); or write the profile as TOML", where=where
        ) from None
    loader = None
    try:
        loader = yaml.SafeLoader(text)
        node = loader.get_single_node()
        if node is None:
            return None
        _check_yaml_nodes(node)
        return loader.construct_document(node)
    except FieldError as e:
        raise HardwareError(str(e), where=where) from None
    except yaml.YAMLError as e:
        raise HardwareError(f"invalid YAML: {e}", where=where) from None
    except RecursionError:
        raise HardwareError("invalid YAML: nested too deeply", where=where) from None
    except (ValueError, TypeError, OverflowError) as e:  # e.g. an impossible timestamp
        raise HardwareError(f"invalid YAML value: {e}", where=where) from None
    finally:
        if loader is not None:
            loader.dispose()
