"""YAML loading that remembers where every mapping and key came from.

PyYAML drops line numbers once it builds Python objects, and silently keeps the last of
two duplicate keys; authors need both reported by line, so mappings become `LineDict`.

Anchors and aliases (&name / *name) are refused as the parser meets them, before anything
is built: nested aliases make a 1 KB file stand for gigabytes ("billion laughs") once
anything walks or prints it, and a bank never needs them. Text holding a character of
scoring/controlchars.py is refused with its line, whether typed or written as an escape.
"""
from __future__ import annotations

from dataclasses import dataclass

import yaml

from . import controlchars

ALIASES_REFUSED = "YAML anchors and aliases (&name / *name) are not allowed in bank files"


class LineDict(dict):
    """A dict with the 1-based line of the mapping and of each of its keys."""

    line: int = 0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.key_lines: dict = {}

    def line_of(self, key) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list):
    line: int = 0
    item_lines: list


@dataclass
class Duplicate:
    key: object
    line: int
    first_line: int


class _LineLoader(yaml.SafeLoader):
    def __init__(self, stream):
        super().__init__(stream)
        self.duplicates: list[Duplicate] = []

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise YamlSyntaxError(event.start_mark.line + 1, ALIASES_REFUSED)
        return super().compose_node(parent, index)


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    mapping = LineDict()
    mapping.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a plain value", key_node.start_mark
            ) from None
        line = key_node.start_mark.line + 1
        if key in mapping:
            loader.duplicates.append(Duplicate(key, line, mapping.key_lines[key]))
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.key_lines[key] = line
    return mapping


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> LineList:
    seq = LineList(loader.construct_object(child, deep=True) for child in node.value)
    seq.line = node.start_mark.line + 1
    seq.item_lines = [child.start_mark.line + 1 for child in node.value]
    return seq


def _construct_str(loader: _LineLoader, node: yaml.ScalarNode) -> str:
    value = loader.construct_scalar(node)
    at = controlchars.find_forbidden(value, multiline=True)
    if at >= 0:
        # Only an escape ("\0", "\u202e") gets here: load() refuses the raw character.
        raise YamlSyntaxError(node.start_mark.line + 1, controlchars.message_en(value[at]))
    return value


_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)
_LineLoader.add_constructor("tag:yaml.org,2002:str", _construct_str)


class YamlSyntaxError(Exception):
    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


def _check_characters(text: str) -> None:
    """The file as written: CRLF files are fine, any other refused character (a lone CR,
    and U+0085/U+2028/U+2029, which PyYAML would count as line breaks) is not."""
    lf = controlchars.normalise_newlines(text)
    at = controlchars.find_forbidden(lf, multiline=True)
    if at >= 0:
        raise YamlSyntaxError(lf.count("\n", 0, at) + 1, controlchars.message_en(lf[at]))


def load(text: str) -> tuple[object, list[Duplicate]]:
    """Parse one YAML document; raise YamlSyntaxError with the line of the fault (syntax,
    an anchor or alias, a refused character)."""
    _check_characters(text)
    loader = _LineLoader(text)
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        what = exc.problem or str(exc)
        if exc.context:
            what = f"{exc.context}; {what}"
        raise YamlSyntaxError(line, f"YAML syntax error: {what}") from None
    except yaml.reader.ReaderError as exc:
        raise YamlSyntaxError(text.count("\n", 0, exc.position) + 1, f"YAML error: {exc}") from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(1, f"YAML error: {exc}") from None
    finally:
        loader.dispose()
    return data, loader.duplicates
