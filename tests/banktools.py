"""Build small bank folders for tests: a blueprint and question files written as YAML text."""
from __future__ import annotations

from pathlib import Path

BLUEPRINT = """\
levels:
  beginner: {questions: 6, minutes: 10}
  intermediate: {questions: 6, minutes: 10}
  advanced: {questions: 6, minutes: 10, delivered: false}
areas:
  net:
    name: ネットワーク
    topics:
      basics: {name: 基礎, from: beginner}
      deep: {name: 応用, from: intermediate}
  law:
    name: 法令
    topics:
      statutes: {name: 法令, from: beginner}
"""


def question(qid, topic="basics", area="net", levels="[beginner, intermediate]", qtype="single",
             pool="exam", status="approved", answer="a", extra=""):
    choices = ""
    if qtype in ("single", "multiple"):
        choices = ("    choices:\n      - {key: a, text: 一}\n      - {key: b, text: 二}\n"
                   "      - {key: c, text: 三}\n")
    return (f"  - id: {qid}\n    area: {area}\n    topic: {topic}\n    levels: {levels}\n"
            f"    type: {qtype}\n    pool: {pool}\n    status: {status}\n"
            f"    stem: 問題 {qid}\n{choices}    answer: {answer}\n    explanation: 解説\n{extra}")


def write_bank(folder: Path, files: dict[str, str], blueprint: str = BLUEPRINT) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "blueprint.yaml").write_text(blueprint, encoding="utf-8")
    for name, body in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
    return folder


def good_bank(folder: Path, per_topic: int = 8) -> Path:
    """Enough approved exam questions for every quota, plus ones that must never be drawn."""
    basics = "".join(question(f"B-{i:03d}") for i in range(per_topic))
    statutes = "".join(question(f"S-{i:03d}", topic="statutes", area="law") for i in range(per_topic))
    deep = "".join(question(f"D-{i:03d}", topic="deep", levels="[intermediate]") for i in range(per_topic))
    never = (question("X-DRAFT", status="draft") + question("X-RETIRED", status="retired")
             + question("X-PRACTICE", pool="practice")
             + question("X-WRONGLEVEL", levels="[advanced]"))
    return write_bank(folder, {"net/basics.yaml": basics, "law/statutes.yaml": statutes,
                               "net/deep.yaml": deep, "never.yaml": never})


NEVER_DRAWN = {"X-DRAFT", "X-RETIRED", "X-PRACTICE", "X-WRONGLEVEL"}
