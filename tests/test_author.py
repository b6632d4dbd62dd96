"""Authors: live preview with problems beside questions, sample forms, versions and diffs."""
import re
import shutil

from tests.banktools import good_bank, question
from tests.conftest import BANKS, Client


def author(app):
    c = Client(app)
    assert c.login("author1").status_code == 302
    return c


def test_only_authors_and_the_chairs_see_the_preview(app):
    for user, status in (("candidate1", 403), ("committee1", 403), ("head1", 403),
                         ("secretariat1", 403), ("author1", 200), ("vicechair", 200), ("chair", 200)):
        c = Client(app)
        c.login(user)
        for url in ("/author/", "/author/sample", "/author/versions"):
            assert c.get(url).status_code == status, (user, url)
    assert Client(app).get("/author/").status_code == 302       # to sign-in


def test_preview_renders_like_the_exam_and_filters(app):
    c = author(app)
    page = c.get("/author/?level=beginner&topic=logs").get_data(as_text=True)
    assert "0問" in page                                         # logs is not a beginner topic
    page = c.get("/author/?topic=logs&type=single&pool=exam").get_data(as_text=True)
    ids = re.findall(r'<article class="card preview-item" id="([^"]+)"', page)
    assert ids and all(i.startswith("LOG-") for i in ids)
    # The same markup the candidate gets: the shared question partial.
    assert 'fieldset class="answer"' in page and 'class="stem"' in page


def test_problems_are_shown_beside_their_question(app, tmp_path):
    folder = good_bank(tmp_path / "b")
    (folder / "bad.yaml").write_text(question("OK-1") + question("BAD-1", extra="    colour: red\n"),
                                     encoding="utf-8")
    app.config["BANKS_DIR"] = str(folder)
    page = author(app).get("/author/").get_data(as_text=True)
    assert "エラーが1件あります" in page
    # The fault sits on BAD-1's own card (it did not load), not on OK-1 before it.
    card = page[page.index('id="broken-1"'):]
    card = card[:card.index("</article>")]
    assert "<strong>BAD-1</strong>" in card
    assert re.search(r"bad\.yaml:\d+</code> 問題 BAD-1: 不明なキー「colour」があります", card)
    ok_card = page[page.index('id="OK-1"'):]
    assert "不明なキー" not in ok_card[:ok_card.index("</article>")]


def test_sample_form_for_a_level(app):
    page = author(app).get("/author/sample?level=intermediate&seed=5").get_data(as_text=True)
    assert page.count('class="card preview-item"') == 50
    assert "--seed 5" in page


def test_versions_diff_lists_added_changed_and_retired(app, tmp_path):
    c = author(app)
    folder = tmp_path / "banks"
    shutil.copytree(BANKS, folder)
    app.config["BANKS_DIR"] = str(folder)
    logs = folder / "networks" / "logs.yaml"
    text = logs.read_text(encoding="utf-8")
    text = text.replace("  - id: LOG-0001\n", "  - id: LOG-0001\n", 1)
    # Change one stem, retire one question, add one.
    first_stem = text.index("stem: |\n", text.index("id: LOG-0002")) + len("stem: |\n")
    text = text[:first_stem] + "      【改】\n" + text[first_stem:]
    status_at = text.index("status: approved", text.index("id: LOG-0003"))
    text = text[:status_at] + "status: retired" + text[status_at + len("status: approved"):]
    text += question("LOG-9999", area="networks", topic="logs", levels="[intermediate]").replace(
        "  - id", "  - id", 1)
    logs.write_text(text, encoding="utf-8")
    c.get("/author/versions")
    resp = c.post_form("/author/versions/load")
    assert resp.status_code == 302
    page = c.get(resp.location).get_data(as_text=True)
    diff = page[page.index('id="diff"'):]
    assert "LOG-9999" in diff.split("変更")[0]                   # added
    assert re.search(r"<code>LOG-0002</code></a>: stem", diff)
    assert re.search(r"<code>LOG-0003</code></a>: status", diff)
    hist = c.get("/author/questions/LOG-0002/history").get_data(as_text=True)
    assert hist.count("<tr><td><code>") == 2 and "追加" in hist and "変更" in hist and ">stem<" in hist
    assert c.get("/author/questions/NOPE-1/history").status_code == 404
    assert "廃止（1問）" in diff
    # Loading the same content again makes no new version.
    again = c.post_form("/author/versions/load")
    assert "内容に変更はありません" in c.get(again.location).get_data(as_text=True)


def test_a_broken_bank_is_not_loaded_as_a_version(app, tmp_path):
    folder = good_bank(tmp_path / "b")
    (folder / "bad.yaml").write_text("- id: [", encoding="utf-8")
    app.config["BANKS_DIR"] = str(folder)
    c = author(app)
    c.get("/author/versions")
    before = c.get("/author/versions").get_data(as_text=True).count("<code>")
    resp = c.post_form("/author/versions/load")
    page = c.get(resp.location).get_data(as_text=True)
    assert "エラーがあるため登録できません" in page
    assert page.count("<code>") == before


def test_history_across_versions():
    from scoring.bank import Question
    from scoring.versions import history
    base = dict(id="Q", area="a", topic="t", levels=("beginner",), type="true_false", pool="exam",
                status="approved", stem="s", choices=(), answer=True, explanation="e")
    v1 = {"Q": Question(**base)}
    v2 = {"Q": Question(**{**base, "stem": "s2"})}
    v3 = {"Q": Question(**{**base, "stem": "s2", "status": "retired"})}
    events = history("Q", [("v1", v1), ("v2", v2), ("v2b", v2), ("v3", v3), ("v4", {}), ("v5", v1)])
    assert events == [("v1", "added", []), ("v2", "changed", ["stem"]),
                      ("v3", "retired", ["status"]), ("v4", "removed", []), ("v5", "restored", [])]
