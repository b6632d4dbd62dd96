"""Training courses of the volunteers (研修講座, circular 3(2)): the courses file, module
draws, the pass mark, and when a course is complete.

A course is a list of modules; a module is a quiz drawn from the topics of a training
bank, with its own pass mark. The courses file sits in the bank folder (courses.yaml) and
is checked against that folder's bank, each fault one line FILE:LINE: message.
"""
from __future__ import annotations

import os
import random
import re
from dataclasses import dataclass, field

from . import yamlsrc
from .bank import BankLoad, Question
from .problems import Problem
from .yamlsrc import LineDict

COURSES_FILE = "courses.yaml"
KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
COURSE_KEYS = {"key", "title", "minutes", "description", "modules"}
MODULE_KEYS = {"key", "title", "topics", "questions", "pass_percent", "pass_count"}


@dataclass(frozen=True)
class Module:
    key: str
    title: str
    topics: tuple[str, ...]
    questions: int
    pass_percent: int | None = None
    pass_count: int | None = None

    def needed(self, total: int | None = None) -> int:
        """Right answers needed to pass out of `total` (the module's count by default),
        in integers: 75% of 8 is 6, 75% of 7 is 6 (5.25 rounded up)."""
        total = self.questions if total is None else total
        if self.pass_count is not None:
            return min(self.pass_count, total)
        return -(-total * self.pass_percent // 100)

    def passes(self, correct: int, total: int) -> bool:
        return total > 0 and correct >= self.needed(total)

    @property
    def mark_label(self) -> str:
        if self.pass_count is not None:
            return f"{self.questions}問中{self.pass_count}問以上"
        return f"{self.pass_percent}%以上（{self.questions}問中{self.needed()}問以上）"


@dataclass(frozen=True)
class Course:
    key: str
    title: str
    minutes: int
    description: str
    modules: tuple[Module, ...]

    def module(self, key: str) -> Module | None:
        return next((m for m in self.modules if m.key == key), None)

    @property
    def hours_label(self) -> str:
        return hours_label(self.minutes)


@dataclass
class CourseLoad:
    file: str
    courses: dict[str, Course] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def hours_label(minutes: int) -> str:
    """2時間, 1時間30分, 45分."""
    h, m = divmod(minutes, 60)
    return (f"{h}時間" if h else "") + (f"{m}分" if m or not h else "")


def _whole(value, low: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def load_courses(folder: str, bank: BankLoad) -> CourseLoad:
    """Read FOLDER/courses.yaml and check it against the folder's bank."""
    path = os.path.join(folder, COURSES_FILE)
    result = CourseLoad(path)

    def bad(line: int, msg: str) -> None:
        result.problems.append(Problem(path, line, msg))

    try:
        with open(path, encoding="utf-8-sig") as fh:
            text = fh.read()
    except FileNotFoundError:
        bad(0, "no courses file here")
        return result
    except (OSError, UnicodeDecodeError) as exc:
        bad(1, f"cannot read the file: {exc}")
        return result
    try:
        data, dups = yamlsrc.load(text)
    except yamlsrc.YamlSyntaxError as exc:
        bad(exc.line, exc.message)
        return result
    for d in dups:
        bad(d.line, f"duplicate key '{d.key}' (first at line {d.first_line})")
    if not isinstance(data, LineDict) or not isinstance(data.get("courses"), list):
        bad(getattr(data, "line", 1) or 1, "the courses file is a mapping with a 'courses' list")
        return result
    for key in data:
        if key != "courses":
            bad(data.line_of(key), f"unknown key '{key}' (expected: courses)")
    raw_courses = data["courses"]
    for raw, line in zip(raw_courses, raw_courses.item_lines):
        course = _course(raw, line, bank, bad)
        if course is None:
            continue
        if course.key in result.courses:
            bad(raw.line_of("key"), f"course key '{course.key}' is used twice")
            continue
        result.courses[course.key] = course
    if not raw_courses:
        bad(data.line_of("courses"), "'courses' lists no course")
    result.problems.sort(key=lambda p: (p.file, p.line))
    return result


def _course(raw, line: int, bank: BankLoad, bad) -> Course | None:
    if not isinstance(raw, LineDict):
        bad(line, "each course is a mapping (key, title, minutes, description, modules)")
        return None
    label = f"course '{raw.get('key')}'"
    ok = _check_head(raw, COURSE_KEYS, label, bad)
    key, title, minutes = raw.get("key"), raw.get("title"), raw.get("minutes")
    if not _whole(minutes, 1):
        bad(raw.line_of("minutes"), f"{label}: 'minutes' (the credited time) must be a whole number of at least 1")
        ok = False
    description = raw.get("description", "")
    if not isinstance(description, str):
        bad(raw.line_of("description"), f"{label}: 'description' must be text")
        ok = False
    raw_modules = raw.get("modules")
    if not isinstance(raw_modules, list) or not raw_modules:
        bad(raw.line_of("modules"), f"{label}: 'modules' must list at least one module")
        return None
    modules: list[Module] = []
    for mraw, mline in zip(raw_modules, raw_modules.item_lines):
        module = _module(mraw, mline, label, bank, bad)
        if module is None:
            ok = False
        elif any(m.key == module.key for m in modules):
            bad(mraw.line_of("key"), f"{label}: module key '{module.key}' is used twice")
            ok = False
        else:
            modules.append(module)
    if not ok:
        return None
    return Course(key, title.strip(), minutes, description.strip(), tuple(modules))


def _check_head(raw: LineDict, allowed: set[str], label: str, bad) -> bool:
    """Unknown keys, the key and the title, shared by courses and modules."""
    ok = True
    for k in raw:
        if k not in allowed:
            bad(raw.line_of(k), f"{label}: unknown key '{k}' (allowed: {', '.join(sorted(allowed))})")
            ok = False
    key, title = raw.get("key"), raw.get("title")
    if not isinstance(key, str) or not KEY.match(key):
        bad(raw.line_of("key"), f"{label}: 'key' must be lower-case letters, digits, _ or - (e.g. basic)")
        ok = False
    if not isinstance(title, str) or not title.strip():
        bad(raw.line_of("title"), f"{label}: missing 'title'")
        ok = False
    return ok


def _module(raw, line: int, course_label: str, bank: BankLoad, bad) -> Module | None:
    if not isinstance(raw, LineDict):
        bad(line, f"{course_label}: each module is a mapping (key, title, topics, questions, pass mark)")
        return None
    label = f"{course_label}, module '{raw.get('key')}'"
    ok = _check_head(raw, MODULE_KEYS, label, bad)
    key, title, topics, count = raw.get("key"), raw.get("title"), raw.get("topics"), raw.get("questions")
    if isinstance(topics, str):
        topics = [topics]
    known = bank.blueprint.topics if bank.blueprint else {}
    if not isinstance(topics, list) or not topics or not all(isinstance(t, str) for t in topics):
        bad(raw.line_of("topics"), f"{label}: 'topics' must list topic keys of the bank's blueprint")
        return None
    unknown = [t for t in topics if t not in known]
    if unknown:
        bad(raw.line_of("topics"), f"{label}: unknown topic(s) {', '.join(unknown)} "
                                   f"(blueprint topics: {', '.join(known)})")
        return None
    if not _whole(count, 1):
        bad(raw.line_of("questions"), f"{label}: 'questions' must be a whole number of at least 1")
        return None
    available = len(module_pool(bank.questions.values(), topics))
    if available < count:
        bad(raw.line_of("questions"), f"{label}: draws {count} questions but the bank has "
                                      f"{available} approved ones in {', '.join(topics)}")
        ok = False
    percent, needed = raw.get("pass_percent"), raw.get("pass_count")
    if (percent is None) == (needed is None):
        bad(raw.line, f"{label}: give one pass mark, 'pass_percent' or 'pass_count'")
        return None
    if percent is not None and not (_whole(percent, 1) and percent <= 100):
        bad(raw.line_of("pass_percent"), f"{label}: 'pass_percent' must be a whole number from 1 to 100")
        ok = False
    if needed is not None and not (_whole(needed, 1) and needed <= count):
        bad(raw.line_of("pass_count"), f"{label}: 'pass_count' must be from 1 to the module's "
                                       f"{count} questions")
        ok = False
    if not ok:
        return None
    return Module(key, title.strip(), tuple(topics), count, percent, needed)


def module_pool(questions, topics) -> list[Question]:
    """Approved questions of the module's topics, whatever their pool: a training bank
    serves only training."""
    return sorted((q for q in questions if q.status == "approved" and q.topic in topics),
                  key=lambda q: q.id)


def draw(module: Module, questions, rng: random.Random, avoid: frozenset[str] = frozenset()) -> list[str]:
    """A new form for an attempt: `module.questions` distinct question ids, each eligible
    question equally likely, preferring those not on the previous attempt so a retake
    asks something new where the bank allows."""
    pool = [q.id for q in module_pool(questions, module.topics)]
    fresh = [q for q in pool if q not in avoid]
    stale = [q for q in pool if q in avoid]
    if len(fresh) >= module.questions:
        return rng.sample(fresh, module.questions)
    return fresh + rng.sample(stale, module.questions - len(fresh))


@dataclass(frozen=True)
class AttemptResult:
    """A finished attempt of one module, as completion needs it."""
    module_key: str
    correct: int
    total: int
    passed: bool


@dataclass(frozen=True)
class CourseStatus:
    passed: dict[str, AttemptResult]      # module key -> its best passing attempt
    complete: bool
    score: int
    total: int


def course_status(course: Course, attempts: list[AttemptResult]) -> CourseStatus:
    """Which modules are passed and whether the course is complete; its score is the sum of
    each module's best passing attempt (the earliest of equals)."""
    best: dict[str, AttemptResult] = {}
    for a in attempts:
        if a.passed and course.module(a.module_key) is not None:
            held = best.get(a.module_key)
            if held is None or a.correct * held.total > held.correct * a.total:
                best[a.module_key] = a
    complete = all(m.key in best for m in course.modules)
    return CourseStatus(best, complete, sum(a.correct for a in best.values()),
                        sum(a.total for a in best.values()))
