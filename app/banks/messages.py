"""Bank and blueprint problems in Japanese, for the author's preview. The command line's
English lines are a contract with outside checks (bank-format.md), so they stay as they are;
the page reads each one against this table of templates and shows it in Japanese, keeping
the FILE:LINE beside it. A message the table does not know is shown as it is."""
from __future__ import annotations

import re

from scoring.eligibility import LEVEL_NAMES

TYPE_NAMES = {"single": "単一選択", "multiple": "複数選択", "true_false": "正誤", "text": "記述"}

# A prefix naming the question, level, topic or area a message is about, then the rest.
PREFIXES = [
    ("question '{qid}': ", "問題 {qid}: "),
    ("question: ", "問題: "),
    ("level '{level}': ", "{level}: "),
    ("topic '{topic}': ", "項目「{topic}」: "),
]

# English (as scoring/ writes it; {name} stands for a value) -> Japanese.
MESSAGES = [
    # Files and YAML (scoring/bank.py, scoring/yamlsrc.py)
    ("bank folder not found", "問題フォルダが見つかりません"),
    ("no blueprint.yaml here; using the default blueprint (domain.md, Table 2)",
     "blueprint.yaml がないため、既定の出題範囲（別表第2）を使います"),
    ("the file is not valid UTF-8", "ファイルが UTF-8 ではありません"),
    ("cannot read the file: {error}", "ファイルを読み込めません: {error}"),
    ("empty file: no questions", "ファイルが空です（問題がありません）"),
    ("YAML anchors and aliases (&name / *name) are not allowed in bank files",
     "YAML のアンカーとエイリアス（&name / *name）は問題ファイルでは使えません"),
    ("control character {char} is not allowed", "使用できない制御文字（{char}）が含まれています"),
    ("YAML syntax error: {detail}", "YAML の書式の誤り: {detail}"),
    ("YAML error: {detail}", "YAML の誤り: {detail}"),
    ("duplicate key '{key}' (first at line {first})", "キー「{key}」が重複しています（最初は{first}行目）"),
    ("duplicate id '{qid}' (first defined at {where})", "問題ID「{qid}」が重複しています（最初の定義: {where}）"),
    ("a bank file is a list of questions, or a mapping with a 'questions' list",
     "問題ファイルは問題のリスト、または questions のリストを持つマッピングにしてください"),
    ("unknown key '{key}' at the top of the file (allowed: {allowed})",
     "ファイルの先頭に不明なキー「{key}」があります（使えるキー: {allowed}）"),
    ("'questions' must be a list", "questions はリストにしてください"),
    # A question (scoring/bank.py)
    ("each question must be a mapping (id, area, topic, ...)",
     "各問題はマッピング（id、area、topic など）にしてください"),
    ("unknown key '{key}'", "不明なキー「{key}」があります"),
    ("missing '{key}'", "「{key}」がありません"),
    ("'id' must be a text such as LAW-0001", "id は LAW-0001 のような文字列にしてください"),
    ("unknown area '{area}' (blueprint areas: {known})", "不明な分野「{area}」です（出題範囲の分野: {known}）"),
    ("unknown topic '{topic}' (topics of '{area}': {known})",
     "不明な項目「{topic}」です（分野「{area}」の項目: {known}）"),
    ("topic '{topic}' belongs to area '{other}', not '{area}'",
     "項目「{topic}」は分野「{area}」ではなく「{other}」の項目です"),
    ("'levels' must be a list such as [beginner, intermediate]",
     "levels は [beginner, intermediate] のようなリストにしてください"),
    ("unknown level '{key}' (levels: {known})", "不明な級位「{key}」です（級位: {known}）"),
    ("unknown type '{key}' (one of: {known})", "不明な形式「{key}」です（{known} のいずれか）"),
    ("unknown pool '{key}' (one of: {known})", "不明な区分「{key}」です（{known} のいずれか）"),
    ("unknown status '{key}' (one of: {known})", "不明な状態「{key}」です（{known} のいずれか）"),
    ("'{key}' must be text", "{key} は文字列にしてください"),
    ("'{key}' must be true or false", "{key} は true か false にしてください"),
    ("a {type} question needs a 'choices' list of at least two",
     "{type}の問題には2つ以上の選択肢（choices）が必要です"),
    ("each choice is {key: ..., text: ...}", "選択肢は {key: ..., text: ...} の形にしてください"),
    ("choice '{key}' has no text", "選択肢「{key}」に本文がありません"),
    ("choice key '{key}' is used twice", "選択肢のキー「{key}」が2回使われています"),
    ("a {type} question takes no 'choices'", "{type}の問題には選択肢（choices）を書けません"),
    ("a single question's answer is one choice key", "単一選択の問題の正答（answer）は選択肢のキー1つです"),
    ("answer '{answer}' is not among the choices ({keys})", "正答「{answer}」が選択肢（{keys}）にありません"),
    ("a multiple question's answer is a list of choice keys",
     "複数選択の問題の正答（answer）は選択肢のキーのリストです"),
    ("answer {answer} not among the choices ({keys})", "正答 {answer} が選択肢（{keys}）にありません"),
    ("the answer lists a key twice", "正答に同じキーが2回あります"),
    ("a true_false question's answer is true or false", "正誤の問題の正答（answer）は true か false です"),
    ("a text question's answer is a list of accepted answers",
     "記述の問題の正答（answer）は正解とする答えのリストです"),
    ("topic '{topic}' is not in the scope of level '{level}'; it is never drawn there",
     "項目「{topic}」は{level}の出題範囲外のため、{level}では出題されません"),
    ("topic '{topic}' needs {need} approved exam-pool questions for its quota but the banks have {have}",
     "項目「{topic}」の出題数は{need}問ですが、承認済みの本番用の問題は{have}問しかありません"),
    # Drawing a sample form (scoring/assembly.py)
    ("topic '{topic}' needs {need} approved exam-pool questions but has {have}",
     "項目「{topic}」の出題数は{need}問ですが、承認済みの本番用の問題は{have}問しかありません"),
    # The blueprint (scoring/blueprint.py)
    ("the blueprint must be a mapping with 'levels' and 'areas'",
     "出題範囲（blueprint）は levels と areas を持つマッピングにしてください"),
    ("unknown key '{key}' (expected one of: {known})", "不明なキー「{key}」です（{known} のいずれか）"),
    ("'areas' must be a mapping of area keys to {name, topics}",
     "areas は分野のキーから {name, topics} へのマッピングにしてください"),
    ("'levels' must be a mapping of level keys to their settings",
     "levels は級位のキーから設定へのマッピングにしてください"),
    ("area '{area}' must be a mapping with 'name' and 'topics'",
     "分野「{area}」は name と topics を持つマッピングにしてください"),
    ("unknown key '{key}' in area '{area}' (expected: {known})",
     "分野「{area}」に不明なキー「{key}」があります（使えるキー: {known}）"),
    ("area '{area}' needs a 'topics' mapping", "分野「{area}」には topics のマッピングが必要です"),
    ("topic '{topic}' is defined twice (also in area '{area}')",
     "項目「{topic}」が2回定義されています（分野「{area}」にもあります）"),
    ("topic '{topic}' must be a mapping with 'name' and 'from'",
     "項目「{topic}」は name と from を持つマッピングにしてください"),
    ("unknown key '{key}' in topic '{topic}' (expected: {known})",
     "項目「{topic}」に不明なキー「{key}」があります（使えるキー: {known}）"),
    ("unknown level '{key}' in 'from' (levels: {known})", "from に不明な級位「{key}」があります（級位: {known}）"),
    ("level '{level}' must be a mapping (questions, minutes, ...)",
     "{level}はマッピング（questions、minutes など）にしてください"),
    ("unknown key '{key}' in level '{level}' (expected one of: {known})",
     "{level}に不明なキー「{key}」があります（{known} のいずれか）"),
    ("'{key}' must be a positive whole number", "{key} は1以上の整数にしてください"),
    ("'topics' must be a list of topic keys", "topics は項目のキーのリストにしてください"),
    ("unknown topic(s) {known}", "不明な項目があります: {known}"),
    ("level '{level}' has no topic in scope", "{level}の出題範囲に項目がありません"),
    ("'quotas' must map topic keys to numbers", "quotas は項目のキーから問題数へのマッピングにしてください"),
    ("quota for topic '{topic}', which is not in this level's scope",
     "出題範囲外の項目「{topic}」に出題数が指定されています"),
    (("quota for '{topic}' must be a whole number of at least 1 "
      "(every in-scope topic is represented, 第3-5-(2))"),
     "項目「{topic}」の出題数は1以上の整数にしてください（出題範囲のすべての項目から出題します。第3-5-(2)）"),
    ("quotas add up to {fixed} of {questions} questions, leaving {left} for {rest} other in-scope topic(s)",
     "出題数の指定が{questions}問中{fixed}問になり、残りの項目{rest}件に{left}問しか残りません"),
]


def _pattern(template: str) -> re.Pattern:
    """'unknown key '{key}'' -> a regex with a named group per {name}; other braces literal."""
    parts = re.split(r"\{(\w+)\}", template)
    regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts))
    return re.compile(regex)


def _literal_length(template: str) -> int:
    return len(re.sub(r"\{\w+\}", "", template))


# The most specific template first: "unknown key '{key}' in level '{level}' (...)" must not be
# read as "unknown key '{key}' (...)" with a key of "x' in level 'beginner".
_PREFIXES = [(_pattern(en), ja) for en, ja in PREFIXES]
_MESSAGES = [(_pattern(en), ja) for en, ja in
             sorted(MESSAGES, key=lambda pair: -_literal_length(pair[0]))]


def _value(name: str, value: str) -> str:
    # Levels and question types by the names people use (初級, 単一選択); a level's key
    # beside its name, because the author writes the key in the file.
    if name == "level":
        return f"{LEVEL_NAMES[value]}（{value}）" if value in LEVEL_NAMES else f"級位「{value}」"
    if name == "type":
        return TYPE_NAMES.get(value, value)
    return value


def _fill(template: str, match: re.Match) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: _value(m.group(1), match.group(m.group(1)))
                  if m.group(1) in match.groupdict() else m.group(0), template)


def _translate(message: str) -> str | None:
    for pattern, ja in _PREFIXES:
        m = pattern.match(message)
        if m:
            rest = _translate(message[m.end():])
            if rest is not None:
                return _fill(ja, m) + rest
    for pattern, ja in _MESSAGES:
        m = pattern.fullmatch(message)
        if m:
            return _fill(ja, m)
    return None


def message_ja(message: str) -> str:
    """One problem's message in Japanese; one the table does not know, unchanged."""
    return _translate(message) or message
