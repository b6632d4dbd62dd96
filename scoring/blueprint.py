"""The exam blueprint (出題範囲, 別表第2): levels, areas, topics, sizes and quotas.

The committee edits `blueprint.yaml`; this module reads it, fills in what it leaves out
(the staircase scope of domain.md and an even split of quotas) and reports faults by line.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from . import yamlsrc
from .problems import Problem
from .yamlsrc import LineDict


@dataclass(frozen=True)
class Topic:
    key: str
    area: str
    name: str
    from_level: str


@dataclass(frozen=True)
class Area:
    key: str
    name: str
    topics: tuple[str, ...]


@dataclass(frozen=True)
class Level:
    key: str
    name: str
    questions: int
    minutes: int
    delivered: bool
    topics: tuple[str, ...]          # in-scope topic keys, blueprint order
    quotas: dict[str, int]           # topic key -> number of questions on a form
    line: int = 0
    quota_lines: dict[str, int] = field(default_factory=dict)
    # 別表第1: the knowledge and skills the level requires, one item per entry (may be empty)
    description: tuple[str, ...] = ()


@dataclass(frozen=True)
class Blueprint:
    levels: dict[str, Level]
    areas: dict[str, Area]
    topics: dict[str, Topic]

    @property
    def level_order(self) -> list[str]:
        return list(self.levels)

    def to_dict(self) -> dict:
        return {
            "levels": {
                k: {
                    "name": lv.name, "questions": lv.questions, "minutes": lv.minutes,
                    "delivered": lv.delivered, "topics": list(lv.topics), "quotas": dict(lv.quotas),
                    # Only when set, so a blueprint without descriptions keeps its version hash.
                    **({"description": list(lv.description)} if lv.description else {}),
                }
                for k, lv in self.levels.items()
            },
            "areas": {
                k: {
                    "name": a.name,
                    "topics": {t: {"name": self.topics[t].name, "from": self.topics[t].from_level}
                               for t in a.topics},
                }
                for k, a in self.areas.items()
            },
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Blueprint":
        topics, areas = {}, {}
        for akey, a in data["areas"].items():
            for tkey, t in a["topics"].items():
                topics[tkey] = Topic(tkey, akey, t["name"], t["from"])
            areas[akey] = Area(akey, a["name"], tuple(a["topics"]))
        levels = {
            # Versions stored before descriptions existed have none.
            k: Level(k, lv["name"], lv["questions"], lv["minutes"], lv["delivered"],
                     tuple(lv["topics"]), dict(lv["quotas"]), description=tuple(lv.get("description", ())))
            for k, lv in data["levels"].items()
        }
        return cls(levels, areas, topics)


# domain.md: sizes the issue fixes; advanced is run by the National Police Agency (第3-3),
# so by default the prefecture does not deliver it and its quotas are not enforced.
LEVEL_DEFAULTS = {
    "beginner": {"name": "初級", "questions": 40, "minutes": 60, "delivered": True},
    "intermediate": {"name": "中級", "questions": 50, "minutes": 90, "delivered": True},
    "advanced": {"name": "上級", "questions": 50, "minutes": 90, "delivered": False},
}

DEFAULT_BLUEPRINT_YAML = """\
levels:
  beginner: {name: 初級, questions: 40, minutes: 60}
  intermediate: {name: 中級, questions: 50, minutes: 90}
  advanced: {name: 上級, questions: 50, minutes: 90, delivered: false}
areas:
  incidents:
    name: サイバー事案に関する知識
    topics:
      law_procedure: {name: 関係法令及び捜査手続に関すること, from: beginner}
      it_analysis: {name: 情報技術の解析の活用に関すること, from: intermediate}
      tracing: {name: 痕跡等の追跡に関すること, from: intermediate}
  networks:
    name: インターネットその他の高度情報通信ネットワークに関する知識
    topics:
      internet_services: {name: 各種インターネットサービスに関すること, from: beginner}
      servers_networks: {name: 各種サーバ及びネットワークに関すること, from: intermediate}
      logs: {name: 各種ログに関すること, from: intermediate}
      malware: {name: 各種不正プログラムに関すること, from: intermediate}
  infosec:
    name: 情報セキュリティに関する知識
    topics:
      security_measures: {name: 情報セキュリティ対策に関すること, from: beginner}
      security_implementation: {name: 情報セキュリティ実装技術に関すること, from: intermediate}
  response:
    name: サイバー対処に関する知識及び技能
    topics:
      response_basic: {name: サイバー対処に関する基本的な要領を理解するために必要なもの, from: beginner}
      response_practice: {name: サイバー対処に従事するために必要なもの, from: intermediate}
      response_advisory: {name: サイバー対処に関する技術的助言を行うために必要なもの, from: advanced}
"""

LEVEL_KEYS = {"name", "questions", "minutes", "delivered", "topics", "quotas", "description"}
AREA_KEYS = {"name", "topics"}
TOPIC_KEYS = {"name", "from"}
TOP_KEYS = {"levels", "areas"}


def even_split(total: int, topics: list[str]) -> dict[str, int]:
    """Split `total` questions as evenly as possible; earlier topics take the remainder."""
    if not topics:
        return {}
    base, extra = divmod(total, len(topics))
    return {t: base + (1 if i < extra else 0) for i, t in enumerate(topics)}


def _positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def parse_blueprint(text: str, filename: str) -> tuple[Blueprint | None, list[Problem]]:
    problems: list[Problem] = []

    def bad(line: int, msg: str) -> None:
        problems.append(Problem(filename, line, msg))

    try:
        data, dups = yamlsrc.load(text)
    except yamlsrc.YamlSyntaxError as exc:
        return None, [Problem(filename, exc.line, exc.message)]
    for d in dups:
        bad(d.line, f"duplicate key '{d.key}' (first at line {d.first_line})")
    if not isinstance(data, LineDict):
        bad(1, "the blueprint must be a mapping with 'levels' and 'areas'")
        return None, problems
    for key in data:
        if key not in TOP_KEYS:
            bad(data.line_of(key), f"unknown key '{key}' (expected one of: levels, areas)")

    # Areas and topics.
    areas: dict[str, Area] = {}
    topics: dict[str, Topic] = {}
    raw_levels = data.get("levels")
    level_keys = list(raw_levels) if isinstance(raw_levels, dict) else []
    raw_areas = data.get("areas")
    if not isinstance(raw_areas, LineDict) or not raw_areas:
        bad(data.line_of("areas"), "'areas' must be a mapping of area keys to {name, topics}")
        raw_areas = LineDict()
    for akey, a in raw_areas.items():
        aline = raw_areas.line_of(akey)
        if not isinstance(a, LineDict):
            bad(aline, f"area '{akey}' must be a mapping with 'name' and 'topics'")
            continue
        for k in a:
            if k not in AREA_KEYS:
                bad(a.line_of(k), f"unknown key '{k}' in area '{akey}' (expected: name, topics)")
        rt = a.get("topics")
        if not isinstance(rt, LineDict) or not rt:
            bad(a.line_of("topics"), f"area '{akey}' needs a 'topics' mapping")
            continue
        tkeys = []
        for tkey, t in rt.items():
            tline = rt.line_of(tkey)
            if tkey in topics:
                bad(tline, f"topic '{tkey}' is defined twice (also in area '{topics[tkey].area}')")
                continue
            if isinstance(t, str):
                t = LineDict(name=t)
                t.line = tline
            if not isinstance(t, LineDict):
                bad(tline, f"topic '{tkey}' must be a mapping with 'name' and 'from'")
                continue
            for k in t:
                if k not in TOPIC_KEYS:
                    bad(t.line_of(k), f"unknown key '{k}' in topic '{tkey}' (expected: name, from)")
            frm = t.get("from", level_keys[0] if level_keys else "beginner")
            if level_keys and frm not in level_keys:
                bad(t.line_of("from"), f"topic '{tkey}': unknown level '{frm}' in 'from' "
                                       f"(levels: {', '.join(level_keys)})")
                continue
            topics[tkey] = Topic(str(tkey), str(akey), str(t.get("name", tkey)), str(frm))
            tkeys.append(str(tkey))
        areas[str(akey)] = Area(str(akey), str(a.get("name", akey)), tuple(tkeys))

    # Levels, their scope and quotas.
    levels: dict[str, Level] = {}
    if not isinstance(raw_levels, LineDict) or not raw_levels:
        bad(data.line_of("levels"), "'levels' must be a mapping of level keys to their settings")
        raw_levels = LineDict()
    for index, (lkey, lv) in enumerate(raw_levels.items()):
        lline = raw_levels.line_of(lkey)
        if lv is None:
            lv = LineDict()
            lv.line = lline
        if not isinstance(lv, LineDict):
            bad(lline, f"level '{lkey}' must be a mapping (questions, minutes, ...)")
            continue
        for k in lv:
            if k not in LEVEL_KEYS:
                bad(lv.line_of(k), f"unknown key '{k}' in level '{lkey}' "
                                   f"(expected one of: {', '.join(sorted(LEVEL_KEYS))})")
        defaults = LEVEL_DEFAULTS.get(lkey, {"name": lkey, "questions": 50, "minutes": 90,
                                             "delivered": True})
        questions = lv.get("questions", defaults["questions"])
        minutes = lv.get("minutes", defaults["minutes"])
        delivered = lv.get("delivered", defaults["delivered"])
        if not _positive_int(questions):
            bad(lv.line_of("questions"), f"level '{lkey}': 'questions' must be a positive whole number")
            continue
        if not _positive_int(minutes):
            bad(lv.line_of("minutes"), f"level '{lkey}': 'minutes' must be a positive whole number")
            continue
        if not isinstance(delivered, bool):
            bad(lv.line_of("delivered"), f"level '{lkey}': 'delivered' must be true or false")
            continue
        description = _description(lkey, lv, bad)
        if description is None:
            continue
        if "topics" in lv:
            scope = lv["topics"]
            if not isinstance(scope, list) or not all(isinstance(t, str) for t in scope):
                bad(lv.line_of("topics"), f"level '{lkey}': 'topics' must be a list of topic keys")
                continue
            unknown = [t for t in scope if t not in topics]
            if unknown:
                bad(lv.line_of("topics"), f"level '{lkey}': unknown topic(s) {', '.join(unknown)}")
                continue
            order = list(topics)
            scope = sorted(set(scope), key=order.index)
        else:
            # Staircase (domain.md): a topic is in scope from its level upward.
            scope = [t.key for t in topics.values()
                     if t.from_level in level_keys and level_keys.index(t.from_level) <= index]
        if not scope:
            bad(lline, f"level '{lkey}' has no topic in scope")
            continue
        quotas, quota_lines, ok = _quotas(lkey, lv, questions, scope, bad)
        if not ok:
            continue
        levels[str(lkey)] = Level(str(lkey), str(lv.get("name", defaults["name"])), questions,
                                  minutes, delivered, tuple(scope), quotas, lline, quota_lines,
                                  description)
    if problems:
        return None, problems
    return Blueprint(levels, areas, topics), problems


def _description(lkey, lv: LineDict, bad) -> tuple[str, ...] | None:
    """別表第1's items for the level: a list of texts, or one text; optional (older
    blueprints have none). None when malformed (reported)."""
    raw = lv.get("description")
    if raw is None:
        return ()
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list) or not all(isinstance(t, str) and t.strip() for t in items) or not items:
        bad(lv.line_of("description"), f"level '{lkey}': 'description' must be a text or a list of "
                                       "non-empty texts (the knowledge and skills of 別表第1)")
        return None
    return tuple(t.strip() for t in items)


def _quotas(lkey, lv: LineDict, questions: int, scope: list[str], bad):
    """Explicit quotas where given; the rest split evenly over the unlisted in-scope topics."""
    raw = lv.get("quotas") or LineDict()
    if not isinstance(raw, LineDict):
        bad(lv.line_of("quotas"), f"level '{lkey}': 'quotas' must map topic keys to numbers")
        return {}, {}, False
    ok = True
    fixed: dict[str, int] = {}
    lines: dict[str, int] = {}
    for tkey, n in raw.items():
        line = raw.line_of(tkey)
        lines[tkey] = line
        if tkey not in scope:
            bad(line, f"level '{lkey}': quota for topic '{tkey}', which is not in this level's scope")
            ok = False
        elif not _positive_int(n):
            # 第3-5-(2): every in-scope topic must be represented, so zero is refused too.
            bad(line, f"level '{lkey}': quota for '{tkey}' must be a whole number of at least 1 "
                      "(every in-scope topic is represented, 第3-5-(2))")
            ok = False
        else:
            fixed[tkey] = n
    if not ok:
        return {}, {}, False
    rest = [t for t in scope if t not in fixed]
    remaining = questions - sum(fixed.values())
    if remaining < len(rest) or (not rest and remaining != 0):
        bad(lv.line_of("quotas") if raw else lv.line_of("questions"),
            f"level '{lkey}': quotas add up to {sum(fixed.values())} of {questions} questions, "
            f"leaving {remaining} for {len(rest)} other in-scope topic(s)")
        return {}, {}, False
    quotas = {**fixed, **even_split(remaining, rest)}
    return {t: quotas[t] for t in scope}, lines, True
