"""Append-only audit log: one call wherever something worth answering for happens."""
from __future__ import annotations

import json
import logging
import re

from flask import has_request_context, request
from flask_login import current_user

from ..extensions import db
from ..models import AuditEvent

log = logging.getLogger("cbt.audit")

# Which detail fields go on the log line too (the audit table keeps them all): identifiers,
# counts and codes. The log goes to whoever runs the servers, and personal data (names,
# dates of birth, staff numbers, user names typed at sign-in, e-mail addresses, the changes
# made to a staff record, free text) is for the committee and the secretariat only (see
# the spec's register rule), so those stay in the table, which their pages read.
LOGGED_DETAIL = frozenset({
    "path", "method", "needs", "position", "base_seq", "seq", "scope", "by", "via",
    "format", "rows", "level", "fiscal_year", "source", "regraded", "questions", "digest",
    "roles", "added", "removed", "deemed", "created", "updated", "unchanged", "until"})
# A `reason` is logged when it is a code ("deadline", "not_on_form"), not free text.
_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")

# Every event code the engine records, with the name the audit log page and its CSV show
# beside it (the code stays for machines and for filtering). A new event needs a name here:
# tests/test_japanese_text.py reads every code the source records and checks this table.
EVENT_NAMES = {
    # Signing in and access
    "login": "ログイン", "logout": "ログアウト", "login_failed": "ログイン失敗",
    "login_locked": "ログイン制限", "forbidden": "権限のない操作",
    # People and accounts
    "affiliation_created": "所属の登録", "affiliation_updated": "所属の変更",
    "affiliation_import": "所属の一括登録", "staff_created": "職員の登録",
    "staff_updated": "職員情報の変更", "staff_import": "職員の一括登録",
    "user_created": "アカウントの作成", "user_linked": "アカウントの紐付け",
    "password_reset": "パスワードの再発行", "user_roles_changed": "役割の変更",
    "audit_exported": "監査記録の出力",
    # Sessions and registrations
    "session_created": "実施回の作成", "session_updated": "実施回の変更",
    "registration_added": "受検者の登録", "registration_refused": "受検者の登録の拒否",
    "registration_removed": "受検者の登録の取消し",
    "admission_granted": "受検の許可（第3-2ただし書）", "admission_revoked": "受検の許可の取消し",
    "room_settings_updated": "試験会場の設定の変更", "proctor_assigned": "試験監督者の指名",
    "proctor_removed": "試験監督者の指名の取消し", "accommodation_set": "合理的配慮の設定",
    # Sitting the exam
    "lobby_entered": "待機画面への入室", "attempt_started": "受検の開始",
    "attempt_submitted": "答案の提出", "start_refused": "受検開始の拒否",
    "attempt_access_refused": "答案への接続の拒否", "access_refused": "試験会場外からの接続の拒否",
    "answer_refused": "解答の保存の拒否", "submit_refused": "答案の提出の拒否",
    # The exam room (room_ + RoomEvent.action)
    "room_signal": "試験会場: 開始の合図", "room_pause": "試験会場: 一時中断",
    "room_resume": "試験会場: 再開", "room_add_time": "試験会場: 時間の追加",
    "room_move": "試験会場: 端末の移動", "room_terminate": "試験会場: 受検中止",
    "room_note": "試験会場: 記録", "room_access_code": "試験会場: 入室コードの変更",
    # Review and certification
    "sheets_exported": "答案一覧の出力", "session_regraded": "再採点",
    "correction_made": "問題の訂正", "written_scores_entered": "筆記試験の得点の入力",
    "written_scores_imported": "筆記試験の得点の一括登録",
    "written_scores_import_refused": "筆記試験の得点の一括登録の拒否",
    "sheet_certified": "合否の認定", "certification_revoked": "認定の取消し",
    "committee_decision_recorded": "委員会の決定の記録",
    # The register, notices and training
    "register_exported": "合格者名簿の出力", "special_pass_recorded": "特例合格の登録",
    "special_passes_imported": "特例合格の一括登録", "special_pass_revoked": "特例合格の取消し",
    "notice_created": "合格者通知の作成", "notice_emailed": "合格者通知のメール送信",
    "notice_email_failed": "合格者通知のメール送信の失敗", "notice_resend": "合格者通知の再送信",
    "notice_read": "合格者通知の確認", "notice_printed": "合格者通知の印刷",
    "notice_withdrawn": "合格者通知の撤回",
    "notice_withdrawal_emailed": "合格者通知の撤回のメール送信",
    "notice_withdrawal_email_failed": "合格者通知の撤回のメール送信の失敗",
    # Appointments (第2-3, 第2-4(2))
    "appointment_made": "任命の記録", "appointment_ended": "任命の終了",
    "appointment_refused": "任命の拒否",
    # Encouragement (第3-11)
    "invitation_sent": "受検の勧奨", "invitation_emailed": "受検の勧奨のメール送信",
    "invitation_email_failed": "受検の勧奨のメール送信の失敗",
    "invitation_refused": "受検の勧奨の送信の拒否",
    "head_access_refused": "所属外の職員の閲覧の拒否",
    "training_recorded": "定期講習の受講の記録", "training_imported": "定期講習の受講の一括登録",
    # Banks and backups
    "bank_version_loaded": "問題バージョンの登録",
    "backup_created": "バックアップの作成", "backup_failed": "バックアップの失敗",
    "backup_restored": "バックアップからの復元",
    # Volunteer groups, members and their accounts
    "volunteer_refused": "ボランティアの利用の拒否",
    "volunteer_group_created": "ボランティア団体の登録", "volunteer_group_updated": "ボランティア団体の変更",
    "volunteer_member_added": "ボランティア参加者の追加",
    "volunteer_member_updated": "ボランティア参加者の情報の変更",
    "volunteer_member_left": "ボランティア参加者の退会",
    "volunteer_consent_recorded": "保護者の同意の記録", "volunteer_consent_withdrawn": "保護者の同意の撤回",
    "volunteer_invitation_issued": "ボランティアの招待リンクの発行",
    "volunteer_invitation_emailed": "ボランティアの招待リンクのメール送信",
    "volunteer_invitation_email_failed": "ボランティアの招待リンクのメール送信の失敗",
    "volunteer_invitation_revoked": "ボランティアの招待リンクの取消し",
    "volunteer_invitation_refused": "ボランティアの招待の拒否",
    "volunteer_account_created": "ボランティアのアカウントの作成",
    # Volunteers: activities, requests (要望), good practice and commendations (賞揚)
    "volunteer_access_refused": "他の団体の記録へのアクセスの拒否",
    "activity_recorded": "ボランティア活動の記録", "activity_updated": "ボランティア活動の記録の変更",
    "activity_deleted": "ボランティア活動の記録の削除", "activities_exported": "ボランティア活動の出力",
    "good_practice_marked": "好事例の指定", "good_practice_unmarked": "好事例の指定の取消し",
    "volunteer_request_filed": "要望の送付", "volunteer_request_answered": "要望への回答",
    "commendation_recorded": "賞揚の記録", "commendation_deleted": "賞揚の記録の削除",
    "publication_consent_changed": "賞揚の公表への同意の変更",
    # Volunteers' training
    "training_completed": "研修講座の修了", "training_refused": "研修の利用の拒否",
    "training_progress_viewed": "研修の受講状況の閲覧",
    # Public awareness quizzes (広報啓発)
    "awareness_event_created": "啓発クイズの作成", "awareness_event_closed": "啓発クイズの終了",
    "awareness_access_refused": "啓発クイズの閲覧・操作の拒否",
    # Awareness materials of volunteer groups (circular 2(3))
    "material_submitted": "広報啓発資料の審査への提出", "material_returned": "広報啓発資料の差戻し",
    "material_approved": "広報啓発資料の承認", "material_withdrawn": "広報啓発資料の取下げ",
    "material_published": "広報啓発資料の公開", "material_unpublished": "広報啓発資料の公開の停止",
    # Volunteers' certificates
    "certificate_issued": "証明書の発行", "certificate_revoked": "証明書の失効",
}


def event_name(event: str) -> str:
    """The Japanese name of an event code; an unknown code (an older version's) as it is."""
    return EVENT_NAMES.get(event, event)


# Attributes every LogRecord has: passing one as `extra` makes logging raise, so such a
# detail ("created": rows an import created) is logged under a prefixed name.
_RECORD_ATTRS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def _log_fields(detail: dict) -> dict:
    fields = {(f"n_{k}" if k in _RECORD_ATTRS else k): v for k, v in detail.items()
              if k in LOGGED_DETAIL or k.endswith("_id") or k.endswith("_ids")}
    reason = detail.get("reason")
    if isinstance(reason, str) and _CODE.fullmatch(reason):
        fields["reason"] = reason
    return fields


def record(event: str, user_id: int | None = None, *, _level: int = logging.INFO,
           **detail) -> None:
    """Add an audit row to the current transaction (the request handler commits)."""
    ip = None
    if has_request_context():
        ip = request.remote_addr
        if user_id is None and current_user.is_authenticated:
            user_id = current_user.id
    db.session.add(AuditEvent(user_id=user_id, event=event, ip=ip,
                              detail_json=json.dumps(detail, ensure_ascii=False, default=str)))
    if log.isEnabledFor(_level):
        fields = _log_fields(detail)
        if _level >= logging.WARNING:
            fields.setdefault("reason", event)     # every refusal line says why
        log.log(_level, event, extra={**fields, "event": event, "user_id": user_id,
                                      "remote_addr": ip})


def record_now(event: str, user_id: int | None = None, **detail) -> None:
    """For refusals: the request rolls back, yet the refusal itself must stay on record.
    Logged as a warning, with its reason (the refusal's code, else the event)."""
    db.session.rollback()
    record(event, user_id, _level=logging.WARNING, **detail)
    db.session.commit()
