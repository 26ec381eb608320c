"""Every read and write of YAML in this project, through one library (ruamel.yaml).

* :func:`load` and :func:`dump`: plain data (dicts, lists, scalars) from and to YAML text, for
  what is validated or compared (environment files, templates) and what is written for others
  (Helm values, Kubernetes manifests, environment files made by tests and benchmarks).
* :func:`load_round_trip` and :func:`dump_round_trip`: a document edited in place, its comments,
  quotes and layout kept (``promote`` rewriting a file in envs/).

Errors of the text are :class:`YAMLError`; those with a place in it (syntax, duplicate keys) carry
``problem`` and ``problem_mark`` (0-based ``line`` and ``column``).
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.representer import SafeRepresenter

__all__ = ["YAMLError", "dump", "dump_round_trip", "load", "load_round_trip"]

# Helm and kubectl read YAML 1.1, where these plain words are booleans; ruamel writes YAML 1.2,
# where they are strings, and would leave them unquoted.
_YAML_1_1_BOOLEAN = re.compile(r"y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF")


class _PlainRepresenter(SafeRepresenter):
    def represent_str(self, data: str) -> Any:
        if _YAML_1_1_BOOLEAN.fullmatch(data):
            return self.represent_scalar("tag:yaml.org,2002:str", data, style="'")
        return super().represent_str(data)


_PlainRepresenter.add_representer(str, _PlainRepresenter.represent_str)


# Lines are not folded: ruamel would move a long value (a role ARN) under its key.
_WIDTH = 4096


def _plain() -> YAML:
    # A new instance per call: a YAML object holds the state of the document it is working on.
    yaml = YAML(typ="safe", pure=True)
    yaml.Representer = _PlainRepresenter
    yaml.default_flow_style = False
    yaml.sort_base_mapping_type_on_output = False
    yaml.width = _WIDTH
    return yaml


def _round_trip() -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = _WIDTH
    # The layout of the files in envs/, so that a rewrite changes only the lines it edits.
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def load(source: str | Path) -> Any:
    """The plain data of a YAML text, or of the file ``source`` names when it is a Path."""
    return _plain().load(source)


def dump(data: Any) -> str:
    """YAML text of plain data: block style, mapping keys in their order."""
    out = io.StringIO()
    _plain().dump(data, out)
    return out.getvalue()


def load_round_trip(text: str) -> Any:
    """A YAML document to edit and write back with :func:`dump_round_trip` (mappings are
    ``CommentedMap``: give :func:`load` output, not this, to validation)."""
    return _round_trip().load(text)


def dump_round_trip(document: Any) -> str:
    out = io.StringIO()
    _round_trip().dump(document, out)
    return out.getvalue()
