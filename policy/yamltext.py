"""YAML read as ``yaml.safe_load`` reads it, by libyaml's parser when PyYAML was built with it
(a tenth of the CPU time: the fact catalogue and the rule sets are read at every process
start). A text libyaml refuses is read again by the pure-Python parser, so a syntax error is
reported as before, with its line and column."""

from __future__ import annotations

from typing import Any

import yaml

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str | bytes) -> Any:
    try:
        return yaml.load(text, Loader=_LOADER)  # a safe loader (libyaml's or the pure one)
    except yaml.YAMLError:
        return yaml.safe_load(text)
