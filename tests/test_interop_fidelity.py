"""Import fidelity: `cbt bank import` reads GIFT and Moodle XML as Moodle's own readers do
(question/format/gift and question/format/xml, and the multichoiceset plugin for its
all-or-nothing questions). The corpus is tests/data/interop/fidelity.{gift,xml}, one question
per rule, named after it."""
from __future__ import annotations

from pathlib import Path

import pytest

from scoring.interop import ImportResult, import_gift, import_moodle_xml
from tests.test_interop import DATA, bank_folder, imported, line_of, mapped, run_import

GIFT = DATA / "fidelity.gift"
XML = DATA / "fidelity.xml"


def read(path: Path) -> ImportResult:
    reader = import_gift if path.suffix == ".gift" else import_moodle_xml
    return reader(path.read_bytes(), path.name)


@pytest.fixture(scope="module")
def gift() -> ImportResult:
    return read(GIFT)


@pytest.fixture(scope="module")
def xml() -> ImportResult:
    return read(XML)


def draft(result: ImportResult, name: str) -> tuple:
    """(type, stem, [(key, text)], answer, explanation, shuffle) of the question so named, which
    must have been imported."""
    problems = [m.text for m in result.problems if m.name == name]
    assert problems == [], (name, problems)
    (d,) = [d for d in result.drafts if d.name == name]
    return (d.type, d.stem, [(c.key, c.text) for c in d.choices], d.answer, d.explanation, d.shuffle)


def notes(result: ImportResult, name: str) -> list[str]:
    return [m.text for m in result.notes if m.name == name]


def problems(result: ImportResult, name: str) -> list[str]:
    assert not any(d.name == name for d in result.drafts), name
    return [m.text for m in result.problems if m.name == name]


# ---- GIFT ----------------------------------------------------------------------------------

def test_true_false_is_only_the_four_capitalised_words(gift):
    """Moodle reads T, TRUE, F and FALSE (nothing else, in no other case) as true/false; `{t}`
    is the short answer "t"."""
    assert draft(gift, "TF T")[::3] == ("true_false", True)
    assert draft(gift, "TF TRUE")[::3] == ("true_false", True)
    assert draft(gift, "TF FALSE") == ("true_false", "SSH は既定で TCP 21 番を使う。\n", [], False,
                                       "SSH は TCP 22。\n", True)
    assert notes(gift, "TF FALSE") == ["true/false feedback dropped; only the general feedback is kept"]
    assert draft(gift, "TF F")[::3] == ("true_false", False)
    assert draft(gift, "Lower t") == (
        "text", "Which single letter does the `test` command print for true in this lab's script?\n",
        [], ("t",), "The script prints t.\n", True)
    assert draft(gift, "Lower f with feedback")[::3] == ("text", ("f",))
    assert notes(gift, "Lower f with feedback") == ["per-answer feedback dropped (1 answer)"]
    assert draft(gift, "Mixed case True")[::3] == ("text", ("True",))


def test_format_prefixes_are_stripped_from_answers(gift):
    """[markdown], [plain], [html] and [moodle] in front of an answer (after its weight) say its
    format, as in front of the question text and the general feedback."""
    kind, _, _, answer, explanation, _ = draft(gift, "Short answer prefixes")
    assert (kind, answer) == ("text", ("ss", "netstat"))
    assert explanation == "`ss -tln` または `netstat -tln`。\n"
    assert notes(gift, "Short answer prefixes") == ["answers worth less than 100% dropped: 'lsof' (50%)",
                                                    "per-answer feedback dropped (1 answer)"]
    kind, _, choices, answer, explanation, _ = draft(gift, "Choice prefixes")
    assert (kind, answer) == ("single", "a")
    assert choices == [("a", "`ss -tln`"), ("b", "<b>ps aux</b>"), ("c", "**top**")]
    assert explanation == "<b>ss</b> lists sockets.\n"       # [plain]: kept as written


def test_format_prefix_names_are_lower_case(gift):
    """Moodle knows [html], [moodle], [markdown] and [plain] only: [HTML] is text."""
    assert draft(gift, "Prefix names are lower case")[1] == "[HTML]**x** is what the page shows.\n"


def test_an_empty_answer_is_dropped_as_moodle_drops_it(gift):
    """`~=right`: the empty wrong answer before the right one is dropped (Moodle does so when it
    saves the question), with its feedback or weight noted if it had any."""
    assert draft(gift, "Tilde equals") == (
        "single", "ログを改ざんから守る方法として最も適切なものは？\n",
        [("a", "ログサーバへ転送する"), ("b", "ローカルに保存する"), ("c", "ログを圧縮する")], "a",
        "転送すれば攻撃者が消しにくい。\n", True)
    assert notes(gift, "Tilde equals") == []
    kind, _, choices, answer, _, _ = draft(gift, "Tilde equals with feedback")
    assert (kind, answer, choices) == ("single", "a", [("a", "53"), ("b", "25"), ("c", "110")])
    assert notes(gift, "Tilde equals with feedback") == ["per-answer feedback dropped (3 answers)"]

    kind, _, choices, answer, _, _ = draft(gift, "Empty weighted answer")
    assert (kind, answer) == ("multiple", ("a", "b"))
    assert choices == [("a", "/var/log/syslog"), ("b", "/var/log/auth.log"), ("c", "/etc/passwd")]
    assert notes(gift, "Empty weighted answer") == [
        "answer 3 has no text and is dropped, as Moodle drops it (with its weight 50% and its feedback)",
        "partial credit (50%, 50%) becomes all or nothing: a candidate must choose exactly answers 1, 2"]
    assert problems(gift, "Empty right answer") == ["the right answer (marked '=') has no text"]


def test_text_before_the_first_answer_is_an_answer(gift):
    """Moodle reads text before the first ~ or = as an answer like any other (wrong unless it
    carries a weight)."""
    kind, _, choices, answer, _, _ = draft(gift, "Text before the first marker")
    assert (kind, answer) == ("single", "c")
    assert choices == [("a", "netstat"), ("b", "ss"), ("c", "tcpdump")]
    assert notes(gift, "Text before the first marker") == [
        "answer 1 has no '~' or '=' in front: read as a wrong answer, as Moodle reads it"]


def test_a_full_weight_answer_is_right_beside_the_equals_one(gift):
    """`{=a ~%100%b}`: Moodle gives full marks for either, which no single question can say."""
    assert problems(gift, "Two full answers") == [
        "2 answers are right (answers 1, 2: marked '=' or worth 100%); a single question has "
        "exactly one right answer"]


# ---- Moodle XML ----------------------------------------------------------------------------

def test_multichoiceset_is_multiple(xml):
    """qtype_multichoiceset is all or nothing, as `multiple`: as the plugin reads it, an answer
    is right when its fraction is positive (or its old <correctanswer> element says so)."""
    assert draft(xml, "Set of two") == (
        "multiple", "Which **two** logs record a failed SSH login?\n",
        [("a", "/var/log/auth.log"), ("b", "/var/log/dpkg.log"), ("c", "the systemd journal"),
         ("d", "/var/log/wtmp")], ("a", "c"), "sshd writes to the auth log and the journal.\n", True)
    assert notes(xml, "Set of two") == []
    kind, _, choices, answer, _, shuffle = draft(xml, "Set of three, signed fractions")
    assert (kind, answer, shuffle) == ("multiple", ("a", "c", "d"), False)
    assert [t for _, t in choices] == ["4624", "1102", "4625", "4634", "4720"]
    assert draft(xml, "Set with old correctanswer")[::3] == ("multiple", ("a", "c"))
    assert problems(xml, "Set with no right answer") == ["no answer has a positive fraction, so none is right"]
    # A multichoice with one right answer is still single.
    assert draft(xml, "Single stays single")[::3] == ("single", "a")


def test_multichoiceset_through_the_command(tmp_path):
    """The command writes a multichoiceset question as a `multiple` one that the bank loads."""
    folder = bank_folder(tmp_path / "banks")
    src = tmp_path / "set.xml"
    answers = "".join(f'<answer fraction="{f}"><text>{t}</text></answer>'
                      for f, t in [("100", "auth.log"), ("0", "dpkg.log"), ("100", "journal")])
    src.write_text('<quiz><question type="multichoiceset"><name><text>Set</text></name>'
                   '<questiontext><text>Which two?</text></questiontext>'
                   f'<generalfeedback><text>Both.</text></generalfeedback>{answers}</question></quiz>',
                   encoding="utf-8")
    out = folder / "set.yaml"
    result = run_import(src, folder, out, "SET")
    assert result.exit_code == 0, result.output
    (q,) = imported(folder, out)
    assert mapped(q) == ("multiple", "Which two?\n", [("a", "auth.log"), ("b", "dpkg.log"), ("c", "journal")],
                         ("a", "c"), "Both.\n", True)
    assert "1 question imported (SET-0001 .. SET-0001, status draft)" in result.stderr


def test_blank_answers_are_dropped_as_moodle_drops_them(xml):
    kind, _, choices, answer, _, _ = draft(xml, "Blank answer")
    assert (kind, answer, choices) == ("single", "a", [("a", "25"), ("b", "110")])
    assert notes(xml, "Blank answer")[0] == \
        "answer 1 has no text and is dropped, as Moodle drops it (with its feedback)"


def test_the_old_image_field_is_an_image(xml):
    """Moodle 1.9's <image>/<image_base64> add an image to the question text: refused like any
    other image, not dropped without a word."""
    assert problems(xml, "Old image field") == [
        "the question text has an image (screen.png, in Moodle 1.9's <image> field), which a "
        "bank question cannot hold"]
    line = line_of(XML, "<name><text>Old image field") - 1
    assert [m.line for m in read(XML).problems if m.name == "Old image field"] == [line]


def test_missing_formats_are_the_question_texts(xml):
    """A general feedback or an answer without a format attribute has the question text's format
    (here plain text: `<b>` is text, not a tag)."""
    kind, stem, choices, answer, explanation, _ = draft(xml, "Formats follow the question text")
    assert (kind, answer) == ("single", "a")
    assert choices == [("a", "<b>"), ("b", "<i>")]
    assert explanation == "Use <b> or <strong>.\n"

