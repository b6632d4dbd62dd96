"""Who may enter an exam sitting: the room's access code, the allowed networks, and Safe
Exam Browser's Config Key.

Each rule is optional and set per session as text, one item a line. The web layer parses
the settings with parse_networks / parse_config_keys (refusing to save while there is a
problem), checks the access code once in the lobby (check_code), and applies check() on
every exam request; each refusal carries a code for the logs and a Japanese message that
says what is wrong and what to do."""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
import unicodedata
from dataclasses import dataclass

from .controlchars import normalise_newlines, scrub

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Refusal:
    code: str       # for logs: network, seb_missing, seb_mismatch, code_missing, code_mismatch
    message: str    # for the candidate, in Japanese


def _lines(text: str):
    """(line number, content) of the lines that hold something: NFKC first (a full-width
    ＃, ／ or ． typed with the IME on reads as its ASCII self), then `#` starts a comment
    (neither an address nor a key ever holds one) and surrounding space goes. Lines are
    split at LF only, as the textarea counts them: a stray U+2028 or form feed stays in its
    line (and makes it unreadable) instead of shifting every later line number."""
    for number, raw in enumerate(normalise_newlines(str(text or "")).split("\n"), start=1):
        line = unicodedata.normalize("NFKC", raw).split("#", 1)[0].strip()
        if line:
            yield number, line


def _shown(text: str, limit: int = 80) -> str:
    """What the person typed, safe to echo into a page or a log line: no control
    characters (a pasted TAB or NUL would otherwise travel with it), and not a page long
    (the limit leaves a 64-digit key with a few stray characters whole)."""
    text = scrub(text)
    return text if len(text) <= limit else text[:limit] + "…"


# ---------------------------------------------------------------------------- networks

def parse_networks(text: str) -> tuple[list[Network], list[str]]:
    """One CIDR range or single address a line, IPv4 or IPv6; a bare address is that one
    host (/32 or /128). Returns the networks and the problems, each naming its line.

    Refused, on purpose:
    - an address with host bits set (192.168.1.5/24): it is either the network written
      from an interface's address or one host with a stray suffix, and a security setting
      must not silently pick the wider reading; the message offers both spellings.
    - a /0 range (0.0.0.0/0, ::/0): it allows every address, so the rule would look
      configured in the settings and the logs while restricting nothing; leaving the field
      empty is how to say "no network rule".
    An IPv4-mapped IPv6 range (::ffff:10.0.0.0/104) is kept as its IPv4 range, since mapped
    client addresses are matched as IPv4 (address_allowed)."""
    networks: list[Network] = []
    problems: list[str] = []
    for number, line in _lines(text):
        item = re.sub(r"\s+", "", line)       # "192.168.10.0 / 24" as typed by hand
        try:
            net = ipaddress.ip_network(item, strict=False)
        except ValueError:
            problems.append(f"{number}行目: 「{_shown(line)}」はネットワークの指定として読めません"
                            "（例: 192.168.10.0/24、10.1.2.3、2001:db8::/32）")
            continue
        host = ipaddress.ip_interface(item).ip
        if host != net.network_address:
            problems.append(f"{number}行目: 「{_shown(line)}」はネットワークの範囲として正しくありません"
                            f"（範囲全体なら {net}、この1台だけなら {host} と書いてください）")
            continue
        if net.prefixlen == 0:
            problems.append(f"{number}行目: 「{_shown(line)}」はすべてのアドレスを許可するため制限になりません"
                            "（ネットワークで制限しない場合は空欄にしてください）")
            continue
        mapped = net.network_address.ipv4_mapped if net.version == 6 else None
        if mapped is not None and net.prefixlen >= 96:
            net = ipaddress.IPv4Network((mapped, net.prefixlen - 96))
        networks.append(net)
    return networks, problems


def _client_ip(address: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(str(address or "").strip())
    except ValueError:
        return None
    # A dual-stack server reports an IPv4 client as ::ffff:a.b.c.d: it is that IPv4 host.
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def address_allowed(address: str | None, networks: list[Network]) -> bool:
    """Whether the client address (as the proxy settings determined it) is in one of the
    networks. An empty or unreadable address is never allowed, and neither is any address
    when the list is empty: check() skips the rule when no network is configured."""
    ip = _client_ip(address)
    return ip is not None and any(ip in net for net in networks)   # v4 in a v6 net is False


# ---------------------------------------------------------------------------- access code

# What candidates type for a hyphen with a Japanese IME on: the minus key gives ー (the
# long-vowel mark) in kana mode, and forms or office documents hold the other dashes.
_IGNORED = re.compile(r"[\s\-‐‑‒–—―−ー]")
# Digits only: read aloud in a Japanese room, letters are easily misheard (ビー/ディー/
# イー/ジー/ピー/ティー), digits have one reading each when the proctor says よん and
# なな, and any keyboard in any IME mode types them (full-width ones are accepted anyway).
CODE_ALPHABET = "0123456789"
MIN_CODE_LENGTH = 4


def normalize_code(text: str | None) -> str:
    """The code as compared: NFKC (全角 digits and letters as ASCII), without spaces or
    hyphens of any width, case-folded."""
    return _IGNORED.sub("", unicodedata.normalize("NFKC", str(text or ""))).casefold()


def new_code(length: int = 6) -> str:
    """A fresh code to read out in the room. Under 4 digits one guess in a thousand or
    better succeeds, which no rate limit makes a secret."""
    if length < MIN_CODE_LENGTH:
        raise ValueError(f"an access code needs at least {MIN_CODE_LENGTH} characters")
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def code_matches(typed: str | None, expected: str | None) -> bool:
    """Constant-time comparison of the normalized forms. An empty expected code matches
    nothing, so a session whose code was never set cannot be opened by typing nothing."""
    want = normalize_code(expected)
    got = normalize_code(typed)
    # compare_digest takes str only when ASCII: what was typed may be anything.
    same = hmac.compare_digest(got.encode("utf-8", "replace"), want.encode("utf-8", "replace"))
    return same and want != ""


def check_code(typed: str | None, expected: str | None) -> Refusal | None:
    """The lobby's check, once per sitting (a form post), apart from check() which runs
    on every request."""
    if not normalize_code(typed):
        return Refusal("code_missing", "入室コードを入力してください。試験監督者が読み上げたコードです。")
    if not code_matches(typed, expected):
        return Refusal("code_mismatch", "入室コードが違います。試験監督者が読み上げたコードを"
                                        "もう一度入力してください。")
    return None


# ---------------------------------------------------------------------------- Safe Exam Browser
#
# The Config Key check, as SEB's developer documentation states it
# (https://safeexambrowser.org/developer/seb-config-key.html, "Checking the Config Key
# which SEB clients send with HTTP requests"): with "Use Browser & Config Keys (send in
# HTTP header)" on, SEB adds the header X-SafeExamBrowser-ConfigKeyHash to every request:
# SHA-256 of the absolute request URL without its fragment (everything else, query string
# included, stays), URL first, with the Config Key (64 hex digits) appended, sent Base16.
# The page's example header and SEB for Windows (KeyGenerator.CalculateConfigurationKeyHash
# and DataProcessor.CalculateConfigurationKey in github.com/SafeExamBrowser/
# seb-win-refactoring: url.Split('#')[0] + key, BitConverter...ToLower()) send lower-case
# hex and concatenate the Config Key in lower case. Base16 is case-insensitive hex
# (RFC 4648 §8), so an upper-case header or key is read as the same value.
#
# The same page says SEB 3.x for macOS/iOS with the modern WebView sends no header; its
# JavaScript API (SafeExamBrowser.security.configKey) gives the same hash of the page's
# URL, which the web layer can pass here as header_value.
#
# The Browser Exam Key header (X-SafeExamBrowser-RequestHash) is left out: the key changes
# with every SEB build and platform and must be copied from each SEB version
# (https://safeexambrowser.org/developer/seb-integration.html), whereas the Config Key
# depends only on the settings, which is what this rule is about.

_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX = re.compile(r"[0-9a-f]+")


def parse_config_keys(text: str) -> tuple[list[str], list[str]]:
    """One Config Key a line (64 hex digits, as SEB's configuration tool shows it); kept in
    lower case, without repeats. Returns the keys and the problems, each naming its line."""
    keys: list[str] = []
    problems: list[str] = []
    for number, line in _lines(text):
        key = line.lower()
        if _HEX64.fullmatch(key):
            if key not in keys:
                keys.append(key)
        elif not _HEX.fullmatch(key):
            problems.append(f"{number}行目: 「{_shown(line)}」には16進数（0-9、a-f）以外の文字が"
                            "含まれています（Config Key は64桁の16進数です）")
        else:
            problems.append(f"{number}行目: 「{_shown(line)}」は{len(key)}桁です（Config Key は"
                            "64桁の16進数です。途中で切れていないか確かめてください）")
    return keys, problems


def config_key_hash(url: str, config_key: str) -> str:
    """What SEB sends for this URL and key (lower-case hex)."""
    absolute = url.split("#", 1)[0]
    return hashlib.sha256((absolute + config_key.lower()).encode("utf-8")).hexdigest()


def seb_header_valid(url: str, header_value: str | None, config_keys: list[str]) -> bool:
    """Whether the X-SafeExamBrowser-ConfigKeyHash value fits the request's full absolute
    URL (as the browser requested it: public scheme and host, path, query string) with
    one of the allowed keys. A missing or malformed header is invalid; a well-formed one
    is compared with every key, never stopping at a match, so the time taken says nothing
    about which key (if any) was close."""
    if header_value is None:
        return False
    received = header_value.strip().lower()
    if not _HEX64.fullmatch(received):
        return False
    valid = False
    for key in config_keys:
        valid |= hmac.compare_digest(received, config_key_hash(url, key))
    return valid


# ---------------------------------------------------------------------------- the request check

def _missing(value: str | None) -> bool:
    """No header, or an empty one: a browser that is not SEB, or SEB with the keys off."""
    return value is None or not value.strip()


def check(*, address: str | None, networks: list[Network], seb_url: str,
          seb_header: str | None, config_keys: list[str]) -> Refusal | None:
    """The network rule, then the SEB rule, each only when configured (a non-empty list);
    the first refusal, or None when the request may go on."""
    if networks and not address_allowed(address, networks):
        where = _shown(str(address or "").strip(), 45) or "不明"
        return Refusal("network", f"この端末のネットワーク（{where}）からは受検できません。"
                                  "試験会場の端末を使用してください。会場の端末でこの表示が出る場合は"
                                  "試験監督者に申し出てください。")
    if config_keys:
        if _missing(seb_header):
            return Refusal("seb_missing", "この試験は Safe Exam Browser で受検してください。"
                                          "配布された設定ファイル（.seb）から起動し直してください。")
        if not seb_header_valid(seb_url, seb_header, config_keys):
            return Refusal("seb_mismatch", "Safe Exam Browser の設定がこの試験のものと一致しません。"
                                           "配布された設定ファイル（.seb）から起動し直してください。"
                                           "解決しない場合は試験監督者に申し出てください。")
    return None
