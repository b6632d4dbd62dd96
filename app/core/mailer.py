"""Outgoing e-mail over SMTP (smtplib), configured by the app config:

MAIL_SERVER (unset: no e-mail is sent), MAIL_PORT (25), MAIL_FROM, MAIL_USERNAME and
MAIL_PASSWORD (optional: AUTH), MAIL_USE_TLS (STARTTLS), MAIL_USE_SSL (SMTPS, port 465),
MAIL_TIMEOUT (seconds, 10).

Messages are UTF-8 (subject and body in Japanese). A batch shares one connection; each
message's failure is reported on its own, so one refused recipient does not lose the rest."""
from __future__ import annotations

import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Mapping


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str


def configured(config: Mapping) -> bool:
    return bool(config.get("MAIL_SERVER"))


def build(config: Mapping, mail: Mail) -> EmailMessage:
    sender = config.get("MAIL_FROM") or "cbt@localhost"
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = mail.to
    msg["Subject"] = mail.subject
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].strip(">") or "localhost")
    msg.set_content(mail.body, charset="utf-8")
    return msg


def send_all(config: Mapping, mails: list[Mail]) -> list[str | None]:
    """Send each mail; per mail None when the server accepted it, else the reason
    (Japanese, for the notice list). Never raises for SMTP or network trouble."""
    if not mails:
        return []
    host = config["MAIL_SERVER"]
    port = int(config.get("MAIL_PORT") or (465 if config.get("MAIL_USE_SSL") else 25))
    timeout = float(config.get("MAIL_TIMEOUT") or 10)
    try:
        if config.get("MAIL_USE_SSL"):
            smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
    except (OSError, smtplib.SMTPException) as exc:
        return [f"メールサーバ {host}:{port} に接続できません: {_reason(exc)}"] * len(mails)
    results: list[str | None] = []
    try:
        with smtp:
            if config.get("MAIL_USE_TLS") and not config.get("MAIL_USE_SSL"):
                smtp.starttls(context=ssl.create_default_context())
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
            for mail in mails:
                try:
                    refused = smtp.send_message(build(config, mail))
                    results.append(f"受信者を拒否されました: {refused}" if refused else None)
                except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError,
                        smtplib.SMTPSenderRefused) as exc:
                    results.append(f"メールサーバが拒否しました: {_reason(exc)}")
    except (OSError, smtplib.SMTPException) as exc:
        # The connection broke (or AUTH/STARTTLS failed): whatever was not sent failed.
        reason = f"メール送信に失敗しました: {_reason(exc)}"
        results += [reason] * (len(mails) - len(results))
    return results


def _reason(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout):
        return "応答がありません（タイムアウト）"
    if isinstance(exc, ConnectionRefusedError):
        return "接続が拒否されました"
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:500]
