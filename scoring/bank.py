"""Question banks: read every YAML file under a bank folder, check it, and version it.

A bank with any problem is never used (nothing half-loaded): `load_banks` returns the
problems and no questions to draw from until they are fixed.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import yamlsrc
from .blueprint import DEFAULT_BLUEPRINT_YAML, Blueprint, parse_blueprint
from .grading import normalize_text
from .problems import Problem
from .yamlsrc import LineDict

TYPES = ("single", "multiple", "true_false", "text")
POOLS = ("exam", "practice")
STATUSES = ("draft", "approved", "retired")
QUESTION_KEYS = {"id", "area", "topic", "levels", "type", "pool", "status", "stem", "choices",
                 "answer", "explanation", "reference", "shuffle"}
FILE_DEFAULT_KEYS = {"area", "topic", "levels", "pool", "status", "type"}
REQUIRED = ("id", "area", "topic", "levels", "type", "pool", "status", "stem", "answer",
            "explanation")


@dataclass(frozen=True)
class Choice:
    key: str
    text: str


@dataclass(frozen=True)
class Question:
    id: str
    area: str
    topic: str
    levels: tuple[str, ...]
    type: str
    pool: str
    status: str
    stem: str
    choices: tuple[Choice, ...]
    answer: object            # str | tuple[str, ...] | bool | tuple[str, ...] (text)
    explanation: str
    reference: str | None = None
    shuffle: bool = True
    file: str = ""
    line: int = 0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["answer"] = list(self.answer) if isinstance(self.answer, tuple) else self.answer
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Question":
        answer = d["answer"]
        if isinstance(answer, list):
            answer = tuple(answer)
        return cls(**{**d, "levels": tuple(d["levels"]), "answer": answer,
                      "choices": tuple(Choice(**c) for c in d["choices"])})

    def drawable_for(self, level: str) -> bool:
        """Approved exam-pool question eligible for `level`: the only kind a form may hold."""
        return self.status == "approved" and self.pool == "exam" and level in self.levels


@dataclass
class BankLoad:
    folder: str
    blueprint: Blueprint | None
    questions: dict[str, Question] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    # Every question entry seen, valid or not: (file, line, id, valid), for tools that
    # place each problem beside the question it concerns.
    entries: list[tuple[str, int, str, bool]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.blueprint is not None and not self.problems

    def version(self) -> str:
        """Content address: the same questions and blueprint give the same version,
        whatever the file layout, comments or formatting."""
        return content_digest(self.blueprint, self.questions.values())

    def coverage(self) -> list[tuple[str, str, str, int, int]]:
        """Per level and in-scope topic: (level, area, topic, quota, available)."""
        rows = []
        if not self.blueprint:
            return rows
        for lkey, lv in self.blueprint.levels.items():
            for tkey in lv.topics:
                available = sum(1 for q in self.questions.values()
                                if q.topic == tkey and q.drawable_for(lkey))
                rows.append((lkey, self.blueprint.topics[tkey].area, tkey, lv.quotas[tkey], available))
        return rows


def content_digest(blueprint: Blueprint, questions) -> str:
    payload = {
        "blueprint": blueprint.to_dict(),
        "questions": sorted(
            ({k: v for k, v in q.to_dict().items() if k not in ("file", "line")} for q in questions),
            key=lambda d: d["id"]),
    }
    raw = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


# Files at a bank folder's top that hold no questions: the blueprint, and the training
# courses that draw from the folder (app/training).
NOT_BANK_FILES = ("blueprint.yaml", "blueprint.yml", "courses.yaml", "courses.yml")


def bank_files(folder: str) -> list[str]:
    """Every *.yaml / *.yml under the folder but NOT_BANK_FILES, in a stable order."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.endswith((".yaml", ".yml")) and not name.startswith("."):
                path = os.path.join(root, name)
                if os.path.relpath(path, folder) not in NOT_BANK_FILES:
                    found.append(path)
    return found


def load_banks(folder: str | os.PathLike) -> BankLoad:
    folder = os.fspath(folder)
    result = BankLoad(folder, None)
    if not os.path.isdir(folder):
        result.problems.append(Problem(folder, 0, "bank folder not found"))
        return result
    bp_path = os.path.join(folder, "blueprint.yaml")
    if os.path.exists(bp_path):
        text, err = _read(bp_path)
        if err:
            result.problems.append(err)
            return result
    else:
        # domain.md's Table 2 is the default when a folder brings no blueprint of its own.
        text = DEFAULT_BLUEPRINT_YAML
        result.warnings.append(Problem(bp_path, 0, "no blueprint.yaml here; using the default "
                                                   "blueprint (domain.md, Table 2)", True))
    blueprint, problems = parse_blueprint(text, bp_path)
    result.problems.extend(problems)
    if blueprint is None:
        return result
    result.blueprint = blueprint

    # Every id counts for uniqueness, even on a question that has other faults.
    first_seen: dict[str, tuple[str, int]] = {}
    valid: dict[str, Question] = {}
    for path in bank_files(folder):
        for qid, line, q in _load_file(path, blueprint, result):
            result.entries.append((path, line, qid, q is not None))
            if qid in first_seen:
                prev_file, prev_line = first_seen[qid]
                result.problems.append(Problem(
                    path, line, f"duplicate id '{qid}' (first defined at "
                                f"{relpath_for_display(prev_file)}:{prev_line})"))
                continue
            first_seen[qid] = (path, line)
            if q is not None:
                valid[qid] = q
    result.questions = dict(sorted(valid.items()))

    _check_quotas(result, bp_path)
    # The questions stay for the coverage table; `ok` is what callers must check before use.
    result.problems.sort(key=lambda p: (p.file, p.line))
    return result


def _read(path: str) -> tuple[str, Problem | None]:
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return "", Problem(path, line, "the file is not valid UTF-8")
    except OSError as exc:
        return "", Problem(path, 0, f"cannot read the file: {exc.strerror}")


def _load_file(path: str, blueprint: Blueprint, result: BankLoad) -> list[tuple[str, int, Question | None]]:
    text, err = _read(path)
    if err:
        result.problems.append(err)
        return []
    try:
        data, dups = yamlsrc.load(text)
    except yamlsrc.YamlSyntaxError as exc:
        result.problems.append(Problem(path, exc.line, exc.message))
        return []
    for d in dups:
        result.problems.append(Problem(path, d.line, f"duplicate key '{d.key}' "
                                                     f"(first at line {d.first_line})"))
    if data is None:
        result.warnings.append(Problem(path, 1, "empty file: no questions", True))
        return []
    defaults = LineDict()
    if isinstance(data, LineDict):
        if "questions" not in data:
            result.problems.append(Problem(path, data.line, "a bank file is a list of questions, "
                                                            "or a mapping with a 'questions' list"))
            return []
        for key in data:
            if key != "questions" and key not in FILE_DEFAULT_KEYS:
                result.problems.append(Problem(path, data.line_of(key), f"unknown key '{key}' at the top "
                                               f"of the file (allowed: {', '.join(sorted(FILE_DEFAULT_KEYS))}, questions)"))
            elif key != "questions":
                defaults[key] = data[key]
                defaults.key_lines[key] = data.line_of(key)
        items = data["questions"]
        if items is None:
            return []
        if not isinstance(items, list):
            result.problems.append(Problem(path, data.line_of("questions"), "'questions' must be a list"))
            return []
    elif isinstance(data, list):
        items = data
    else:
        result.problems.append(Problem(path, 1, "a bank file is a list of questions, "
                                                "or a mapping with a 'questions' list"))
        return []
    out = []
    lines = getattr(items, "item_lines", [1] * len(items))
    for raw, line in zip(items, lines):
        q = _question(raw, line, defaults, path, blueprint, result)
        qid = raw.get("id") if isinstance(raw, dict) else None
        if isinstance(qid, (str, int)) and not isinstance(qid, bool) and str(qid).strip():
            out.append((str(qid).strip(), getattr(raw, "line", line), q))
    return out


def _question(raw, line: int, defaults: LineDict, path: str, bp: Blueprint,
              result: BankLoad) -> Question | None:
    before = len(result.problems)

    def bad(at: int, msg: str) -> None:
        result.problems.append(Problem(path, at, msg))

    if not isinstance(raw, LineDict):
        bad(line, "each question must be a mapping (id, area, topic, ...)")
        return None
    qid = raw.get("id")
    label = f"question '{qid}'" if qid is not None else "question"
    for key in raw:
        if key not in QUESTION_KEYS:
            bad(raw.line_of(key), f"{label}: unknown key '{key}'")
    merged = {**defaults, **raw}

    def at(key: str) -> int:
        return raw.line_of(key) if key in raw else defaults.line_of(key) if key in defaults else raw.line

    for key in REQUIRED:
        if merged.get(key) in (None, "", []):
            bad(raw.line, f"{label}: missing '{key}'")
    if len(result.problems) > before:
        return None

    if isinstance(qid, bool) or not isinstance(qid, (str, int)):
        bad(at("id"), "'id' must be a text such as LAW-0001")
        return None
    qid = str(qid).strip()
    label = f"question '{qid}'"

    area, topic = merged["area"], merged["topic"]
    if area not in bp.areas:
        bad(at("area"), f"{label}: unknown area '{area}' (blueprint areas: {', '.join(bp.areas)})")
    elif topic not in bp.topics:
        bad(at("topic"), f"{label}: unknown topic '{topic}' (topics of '{area}': "
                         f"{', '.join(bp.areas[area].topics)})")
    elif bp.topics[topic].area != area:
        bad(at("topic"), f"{label}: topic '{topic}' belongs to area '{bp.topics[topic].area}', "
                         f"not '{area}'")

    levels = merged["levels"]
    if isinstance(levels, str):
        levels = [levels]
    if not isinstance(levels, list) or not all(isinstance(x, str) for x in levels):
        bad(at("levels"), f"{label}: 'levels' must be a list such as [beginner, intermediate]")
        levels = []
    for lv in levels:
        if lv not in bp.levels:
            bad(at("levels"), f"{label}: unknown level '{lv}' (levels: {', '.join(bp.levels)})")

    qtype, pool, status = merged["type"], merged["pool"], merged["status"]
    if qtype not in TYPES:
        bad(at("type"), f"{label}: unknown type '{qtype}' (one of: {', '.join(TYPES)})")
    if pool not in POOLS:
        bad(at("pool"), f"{label}: unknown pool '{pool}' (one of: {', '.join(POOLS)})")
    if status not in STATUSES:
        bad(at("status"), f"{label}: unknown status '{status}' (one of: {', '.join(STATUSES)})")
    for key in ("stem", "explanation"):
        if not isinstance(merged[key], str) or not merged[key].strip():
            bad(at(key), f"{label}: '{key}' must be text")
    reference = merged.get("reference")
    if reference is not None and not isinstance(reference, (str, int, float)):
        bad(at("reference"), f"{label}: 'reference' must be text")
    shuffle = merged.get("shuffle", True)
    if not isinstance(shuffle, bool):
        bad(at("shuffle"), f"{label}: 'shuffle' must be true or false")

    choices: list[Choice] = []
    raw_choices = merged.get("choices")
    if qtype in ("single", "multiple"):
        if not isinstance(raw_choices, list) or len(raw_choices) < 2:
            bad(at("choices") if "choices" in raw else raw.line,
                f"{label}: a {qtype} question needs a 'choices' list of at least two")
        else:
            item_lines = getattr(raw_choices, "item_lines", [at("choices")] * len(raw_choices))
            for c, cline in zip(raw_choices, item_lines):
                if not isinstance(c, dict) or set(c) - {"key", "text"} or "key" not in c or "text" not in c:
                    bad(cline, f"{label}: each choice is {{key: ..., text: ...}}")
                    continue
                key, ctext = str(c["key"]), c["text"]
                if not isinstance(ctext, (str, int, float)) or not str(ctext).strip():
                    bad(cline, f"{label}: choice '{key}' has no text")
                    continue
                if any(x.key == key for x in choices):
                    bad(cline, f"{label}: choice key '{key}' is used twice")
                    continue
                choices.append(Choice(key, str(ctext)))
    elif raw_choices is not None:
        bad(at("choices"), f"{label}: a {qtype} question takes no 'choices'")

    answer = merged["answer"]
    keys = {c.key for c in choices}
    aline = at("answer")
    if qtype == "single":
        if isinstance(answer, list) or isinstance(answer, bool):
            bad(aline, f"{label}: a single question's answer is one choice key")
        elif choices and str(answer) not in keys:
            bad(aline, f"{label}: answer '{answer}' is not among the choices ({', '.join(sorted(keys))})")
        answer = str(answer)
    elif qtype == "multiple":
        if not isinstance(answer, list) or not answer:
            bad(aline, f"{label}: a multiple question's answer is a list of choice keys")
        else:
            answer = [str(a) for a in answer]
            missing = [a for a in answer if a not in keys]
            if choices and missing:
                bad(aline, f"{label}: answer {', '.join(missing)} not among the choices "
                           f"({', '.join(sorted(keys))})")
            if len(set(answer)) != len(answer):
                bad(aline, f"{label}: the answer lists a key twice")
            answer = tuple(sorted(set(answer)))
    elif qtype == "true_false":
        if not isinstance(answer, bool):
            bad(aline, f"{label}: a true_false question's answer is true or false")
    elif qtype == "text":
        accepted = answer if isinstance(answer, list) else [answer]
        if any(isinstance(a, (bool, dict, list)) or a is None or not normalize_text(str(a))
               for a in accepted):
            bad(aline, f"{label}: a text question's answer is a list of accepted answers")
        answer = tuple(str(a) for a in accepted)

    if len(result.problems) > before:
        return None
    q = Question(qid, area, topic, tuple(levels), qtype, pool, status, merged["stem"],
                 tuple(choices), answer, merged["explanation"],
                 None if reference is None else str(reference), shuffle, path, raw.line)
    # A level outside the topic's scope is not an error of the file, but the question will
    # never be drawn at that level: tell the author.
    for lv in levels:
        if topic not in bp.levels[lv].topics:
            result.warnings.append(Problem(path, at("levels"), f"{label}: topic '{topic}' is not in "
                                           f"the scope of level '{lv}'; it is never drawn there", True))
    return q


def _check_quotas(result: BankLoad, bp_path: str) -> None:
    bp = result.blueprint
    for lkey, lv in bp.levels.items():
        if not lv.delivered:
            continue
        for tkey in lv.topics:
            available = sum(1 for q in result.questions.values()
                            if q.topic == tkey and q.drawable_for(lkey))
            need = lv.quotas[tkey]
            if available < need:
                result.problems.append(Problem(
                    bp_path, lv.quota_lines.get(tkey, lv.line),
                    f"level '{lkey}': topic '{tkey}' needs {need} approved exam-pool questions "
                    f"for its quota but the banks have {available}"))


def relpath_for_display(path: str) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def default_bank_folder() -> Path:
    """The bundled starter banks, next to the package in a source checkout."""
    return Path(__file__).resolve().parent.parent / "question_banks"
