"""Symbol names for dimension names taken from files (ONNX dim_params, value names).

A symbol name must be an identifier (it is typed after `--set NAME=INT` and printed in
formulas), but a dim_param is any string. Replacing each odd character by `_` merged
distinct dims (`n!` and `n?` both became `n_`, so the analysis treated them as one
size). Here the mapping is injective and reversible:

- a name that is already an identifier and does not contain `_x` is kept as it is
  (`batch`, `seq_len`);
- any other name is escaped: ASCII letters and digits stay, every other character
  (including `_`, and a leading digit) becomes `_x<hex code point>_`, so `n!` is
  `n_x21_` and `n?` is `n_x3f_`.

Kept names never contain `_x` and escaped names always do, so no two inputs share a
symbol; `original_name` turns an escaped name back into the text the file had.
"""

from __future__ import annotations

import re

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_ESCAPE = re.compile(r"_x([0-9a-f]{1,6})_")


def symbol_name(original: str) -> str:
    """The identifier that stands for `original` (see the module docstring)."""
    if not original:
        raise ValueError("a symbol name cannot be empty")
    if _PLAIN.match(original) and "_x" not in original:
        return original
    out = []
    for i, c in enumerate(original):
        if c.isascii() and c.isalnum() and not (i == 0 and c.isdigit()):
            out.append(c)
        else:
            out.append(f"_x{ord(c):x}_")
    return "".join(out)


def original_name(name: str) -> str:
    """The text a symbol name was made from: the name itself unless it is an escaped one."""
    if "_x" not in name:
        return name
    try:
        decoded = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), name)
    except (ValueError, OverflowError):
        return name
    return decoded if symbol_name(decoded) == name else name


__all__ = ["original_name", "symbol_name"]
