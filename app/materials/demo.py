"""Demo materials: an approved, published handout and an approved quiz of the university
group, drafted by volunteer1 and approved by liaison1 through the same operations as the
pages, so the review's history is there to read."""
from __future__ import annotations

from sqlalchemy import select

from scoring.materials import CheckedQuestion

from ..extensions import db
from ..models import Material, User, VolunteerGroup
from . import ops

GROUP = "桜丘大学サイバー防犯ボランティア"
SOURCES = ("IPA 情報セキュリティ安心相談窓口 https://www.ipa.go.jp/security/anshin/\n"
           "警察庁 サイバー警察局 https://www.npa.go.jp/bureau/cyber/")

HANDOUT = {
    "title": "ご注意ください「サポート詐欺」",
    "audience": "地域の高齢者",
    "body": (
        "## こんな画面が出たら\n\n"
        "パソコンでホームページを見ているときに、突然\n\n"
        "- 「ウイルスに感染しました」などの警告\n"
        "- 大きな警告音や、画面いっぱいの表示\n"
        "- 「サポートセンター」の電話番号\n\n"
        "が出ることがあります。**これは偽の警告です。**\n\n"
        "## あわてずに\n\n"
        "1. 表示された電話番号に **電話をかけない**\n"
        "2. ブラウザ（ホームページを見るソフト）を閉じる。閉じられないときはパソコンを再起動する\n"
        "3. 言われるままにソフトを入れたり、電子マネーやギフトカードで支払ったりしない\n\n"
        "## 相談先\n\n"
        "- 警察相談専用電話 **#9110**\n"
        "- IPA 情報セキュリティ安心相談窓口\n"),
    "credits": "文章: 桜丘大学サイバー防犯ボランティア作成。画像の使用なし。\n参考: " + SOURCES.replace("\n", "、"),
}

QUIZ_TITLE = "サポート詐欺を見破ろう"
QUESTIONS = [
    CheckedQuestion(
        "パソコンに「ウイルスに感染しました」という警告と電話番号が表示され、大きな警告音が鳴り"
        "始めました。まず、どうしますか。",
        ("表示された番号に電話する", "電話をかけずに、ブラウザを閉じる",
         "画面の指示どおりにソフトをインストールする"), 1,
        "偽の警告で電話をかけさせる「サポート詐欺」の手口です。電話をかけず、ブラウザを閉じ"
        "ます。閉じられないときはパソコンを再起動します。", SOURCES),
    CheckedQuestion(
        "電話の相手から「修理代をコンビニで買える電子マネーで支払ってください」と言われました。",
        ("言われたとおりに買って、番号を伝える", "詐欺を疑い、支払わずに電話を切る"), 1,
        "電子マネーやギフトカードで支払わせるのは詐欺の典型的な手口です。支払わずに電話を切り、"
        "家族や警察に相談しましょう。", SOURCES),
    CheckedQuestion(
        "サポート詐欺かもしれないと思ったとき、警察に相談できる電話番号はどれですか。",
        ("#9110", "#7119", "177", "#8000"), 0,
        "警察相談専用電話は #9110 です（#7119 は救急安心センター、177 は天気予報、#8000 は"
        "子ども医療電話相談）。", SOURCES),
]


def ensure_materials() -> int:
    """The two demo materials, unless the group has materials already; how many of the
    group's materials are approved and in use."""
    group = db.session.scalar(select(VolunteerGroup).where(VolunteerGroup.name == GROUP))
    if group is None:
        return 0
    if db.session.scalar(select(Material.id).where(Material.group_id == group.id).limit(1)):
        return len(db.session.scalars(select(Material.id).where(
            Material.group_id == group.id, Material.in_force_id.is_not(None))).all())
    users = {u.username: u for u in db.session.scalars(
        select(User).where(User.username.in_(("volunteer1", "liaison1"))))}
    volunteer, liaison = users["volunteer1"], users["liaison1"]
    everything = {None: ""}
    handout = ops.create(group.id, "handout", dict(HANDOUT), volunteer)
    quiz = ops.create(group.id, "quiz", {"title": QUIZ_TITLE, "audience": "地域の高齢者"}, volunteer)
    for q in QUESTIONS:
        ops.save_question(quiz, q)
    for material in (handout, quiz):
        revision = ops.submit(material, volunteer)
        ops.review(material, revision, liaison, "approved", everything, True, True)
    ops.publish(handout, volunteer, True)
    db.session.flush()
    return 2
