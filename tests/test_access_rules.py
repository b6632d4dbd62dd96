"""The access rules of an exam sitting (scoring/access.py): networks, access code, SEB."""
import hashlib
import ipaddress

import pytest

from scoring import access
from scoring.access import (Refusal, address_allowed, check, check_code, code_matches,
                            new_code, normalize_code, parse_config_keys, parse_networks,
                            seb_header_valid)

KEY_A = hashlib.sha256(b"config A").hexdigest()
KEY_B = hashlib.sha256(b"config B").hexdigest()
URL = "https://cbt.example.jp/exam/sitting/42?page=3&q=%E5%95%8F"


def seb_hash(url: str, key: str) -> str:
    # Computed here from the documented rule, not with the module's helper: SHA-256 of the
    # URL without its fragment followed by the Config Key, in lower-case hex.
    return hashlib.sha256((url.split("#")[0] + key).encode()).hexdigest()


# ---------------------------------------------------------------------------- networks

def test_networks_comments_blanks_and_bare_addresses():
    text = ("# 本部庁舎\n"
            "\n"
            "192.168.10.0/24   # 3階 試験室\n"
            "   \n"
            "10.1.2.3\n"
            "2001:db8::/32\n"
            "2001:db8:1::5\r\n")
    networks, problems = parse_networks(text)
    assert problems == []
    assert networks == [ipaddress.ip_network("192.168.10.0/24"), ipaddress.ip_network("10.1.2.3/32"),
                        ipaddress.ip_network("2001:db8::/32"), ipaddress.ip_network("2001:db8:1::5/128")]


def test_networks_full_width_and_inner_spaces_as_typed_with_the_ime():
    networks, problems = parse_networks("１９２．１６８．１０．０／２４\n10.0.0.0 / 8  ＃ 庁内LAN")
    assert problems == []
    assert networks == [ipaddress.ip_network("192.168.10.0/24"), ipaddress.ip_network("10.0.0.0/8")]


@pytest.mark.parametrize("bad", ["10.0.0/8", "10.0.0.0/33", "::1/129", "010.0.0.1", "example.jp",
                                 "192.168.1.1-192.168.1.9", "*"])
def test_unreadable_network_names_its_line(bad):
    networks, problems = parse_networks(f"# 会場\n10.0.0.0/8\n{bad}\n")
    assert networks == [ipaddress.ip_network("10.0.0.0/8")]
    assert problems == [f"3行目: 「{bad}」はネットワークの指定として読めません"
                        "（例: 192.168.10.0/24、10.1.2.3、2001:db8::/32）"]


def test_host_bits_set_are_refused_with_both_readings():
    networks, problems = parse_networks("192.168.1.5/24")
    assert networks == []
    assert problems == ["1行目: 「192.168.1.5/24」はネットワークの範囲として正しくありません"
                        "（範囲全体なら 192.168.1.0/24、この1台だけなら 192.168.1.5 と書いてください）"]


@pytest.mark.parametrize("everything", ["0.0.0.0/0", "::/0", "0.0.0.0/0.0.0.0"])
def test_a_range_allowing_every_address_is_refused(everything):
    networks, problems = parse_networks(f"10.0.0.0/8\n{everything}")
    assert networks == [ipaddress.ip_network("10.0.0.0/8")]
    assert len(problems) == 1
    assert problems[0].startswith(f"2行目: 「{everything}」はすべてのアドレスを許可するため")
    assert "空欄" in problems[0]


def test_every_problem_is_reported_not_only_the_first():
    _, problems = parse_networks("bad\n10.0.0.0/8\n\n1.2.3.4/16\n::/0")
    assert [p.split(":", 1)[0] for p in problems] == ["1行目", "4行目", "5行目"]


def test_echoed_line_carries_no_control_character():
    _, problems = parse_networks("10.0.0.\x00\x1b[31m1")
    assert len(problems) == 1
    assert "\x00" not in problems[0] and "\x1b" not in problems[0]


def test_line_numbers_count_line_feeds_only():
    # U+2028 and a form feed are line breaks to str.splitlines, not to the textarea: the
    # third line the person sees is the third line reported.
    networks, problems = parse_networks("10.0.0.0/8\u2028\n10.1.0.0/16\x0c\nbad")
    assert len(networks) == 2
    assert [p.split(":", 1)[0] for p in problems] == ["3行目"]


def test_ipv4_mapped_range_is_kept_as_ipv4():
    networks, problems = parse_networks("::ffff:10.0.0.0/104")
    assert problems == []
    assert networks == [ipaddress.ip_network("10.0.0.0/8")]
    assert address_allowed("10.9.9.9", networks)


NETS, _ = parse_networks("192.168.10.0/24\n10.1.2.3\n2001:db8::/32")


@pytest.mark.parametrize("address", ["192.168.10.1", "192.168.10.255", "10.1.2.3", " 10.1.2.3 ",
                                     "2001:db8::1", "2001:DB8:0:ffff::9",
                                     "::ffff:192.168.10.7", "::ffff:10.1.2.3"])
def test_addresses_inside_the_networks(address):
    assert address_allowed(address, NETS)


@pytest.mark.parametrize("address", ["192.168.11.1", "10.1.2.4", "2001:db9::1", "::ffff:192.168.11.7",
                                     "::ffff:203.0.113.9", "::1", "127.0.0.1",
                                     # the IPv6 range that holds 192.168.10.x written as hex,
                                     # not mapped: a different host
                                     "::c0a8:a07"])
def test_addresses_outside_the_networks(address):
    assert not address_allowed(address, NETS)


@pytest.mark.parametrize("garbage", ["", "   ", None, "unknown", "192.168.10.1:50432",
                                     "192.168.10.1, 10.1.2.3", "192.168.10.0/24", "１９２.168.10.1\x00"])
def test_empty_or_garbage_addresses_are_never_allowed(garbage):
    assert not address_allowed(garbage, NETS)


def test_no_network_allows_no_address():
    assert not address_allowed("192.168.10.1", [])


# ---------------------------------------------------------------------------- access code

@pytest.mark.parametrize("typed", ["123456", "１２３４５６", "123-456", "123 456", "123　456",
                                   "１２３－４５６", "123ー456", "123ｰ456", "123‐456", "123−456",
                                   " 12 34 56 \n"])
def test_code_as_candidates_type_it(typed):
    assert normalize_code(typed) == "123456"
    assert code_matches(typed, "123456")


def test_code_letters_ignore_case_and_width():
    assert normalize_code("ＡｂＣ-12") == "abc12"
    assert code_matches("abc12", "ABC-12")
    assert code_matches("ＡＢＣ１２", "abc 12")


@pytest.mark.parametrize("typed", ["123457", "12345", "1234567", "", None, "12345６7"])
def test_wrong_code_does_not_match(typed):
    assert not code_matches(typed, "123456")


@pytest.mark.parametrize("expected", ["", None, "  ", "---"])
def test_an_unset_code_matches_nothing(expected):
    assert not code_matches("", expected)
    assert not code_matches("   ", expected)
    assert not code_matches("123456", expected)


def test_code_compare_takes_non_ascii_input_without_error():
    assert not code_matches("１２３四五六", "123456")
    assert not code_matches("\ud800", "123456")


def test_code_compare_is_constant_time(monkeypatch):
    calls = []
    real = access.hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)
    monkeypatch.setattr(access.hmac, "compare_digest", spy)
    assert code_matches("１２３-４５６", "123456")
    assert not code_matches("999999", "123456")
    assert calls == [(b"123456", b"123456"), (b"999999", b"123456")]


@pytest.mark.parametrize("length", [4, 6, 8])
def test_new_code_length_and_alphabet(length):
    for _ in range(50):
        code = new_code(length)
        assert len(code) == length
        assert set(code) <= set("0123456789")
        assert code_matches(code, code)


def test_new_code_defaults_to_six_digits():
    assert len(new_code()) == 6


def test_new_code_is_random():
    # 100 draws of 6 digits all equal has probability 10^-594.
    assert len({new_code() for _ in range(100)}) > 1
    # and every digit turns up in 1000 draws (each is missing with probability ~10^-2745)
    assert set("".join(new_code() for _ in range(1000))) == set("0123456789")


@pytest.mark.parametrize("length", [0, 3])
def test_new_code_refuses_guessable_lengths(length):
    with pytest.raises(ValueError):
        new_code(length)


def test_check_code_refusals():
    assert check_code("１２３ ４５６", "123456") is None
    assert check_code("", "123456") == Refusal("code_missing", "入室コードを入力してください。"
                                                               "試験監督者が読み上げたコードです。")
    refusal = check_code("123457", "123456")
    assert refusal is not None and refusal.code == "code_mismatch"
    assert "入室コードが違います" in refusal.message


# ---------------------------------------------------------------------------- SEB Config Key

def test_config_keys_parse_with_comments_blanks_case_and_repeats():
    text = f"# 2025年度 初級\n\n{KEY_A}\n  {KEY_B.upper()}  # 予備の端末\n{KEY_A}\n"
    keys, problems = parse_config_keys(text)
    assert problems == []
    assert keys == [KEY_A, KEY_B]


def test_config_key_problems_name_their_lines():
    text = "\n".join([KEY_A, KEY_A[:63], "# ok", KEY_A + "0", "g" * 64, "", "BEK: " + KEY_B])
    keys, problems = parse_config_keys(text)
    assert keys == [KEY_A]
    assert problems == [
        f"2行目: 「{KEY_A[:63]}」は63桁です（Config Key は64桁の16進数です。途中で切れていないか確かめてください）",
        f"4行目: 「{KEY_A}0」は65桁です（Config Key は64桁の16進数です。途中で切れていないか確かめてください）",
        f"5行目: 「{'g' * 64}」には16進数（0-9、a-f）以外の文字が含まれています（Config Key は64桁の16進数です）",
        f"7行目: 「BEK: {KEY_B}」には16進数（0-9、a-f）以外の文字が含まれています（Config Key は64桁の16進数です）",
    ]


def test_a_long_pasted_line_is_echoed_shortened():
    _, problems = parse_config_keys("x" * 5000)
    assert problems == ["1行目: 「" + "x" * 80 + "…」には16進数（0-9、a-f）以外の文字が含まれています"
                        "（Config Key は64桁の16進数です）"]


def test_seb_hash_of_url_with_query_string():
    header = seb_hash(URL, KEY_A)
    assert seb_header_valid(URL, header, [KEY_A])
    # the query string is part of what is hashed
    assert not seb_header_valid(URL.split("?")[0], header, [KEY_A])
    assert not seb_header_valid(URL.replace("page=3", "page=4"), header, [KEY_A])


def test_seb_hash_ignores_the_fragment_as_the_browser_does():
    header = seb_hash(URL, KEY_A)
    assert seb_header_valid(URL + "#q5", header, [KEY_A])


def test_seb_wrong_key_missing_or_malformed_header():
    assert not seb_header_valid(URL, seb_hash(URL, KEY_B), [KEY_A])
    assert not seb_header_valid(URL, None, [KEY_A])
    assert not seb_header_valid(URL, "", [KEY_A])
    assert not seb_header_valid(URL, seb_hash(URL, KEY_A)[:63], [KEY_A])
    assert not seb_header_valid(URL, seb_hash(URL, KEY_A) + "0", [KEY_A])
    assert not seb_header_valid(URL, "ｆ" * 64, [KEY_A])
    assert not seb_header_valid(URL, KEY_A, [KEY_A])      # the bare key is not the hash
    assert not seb_header_valid(URL, seb_hash(URL, KEY_A), [])


def test_seb_header_case_and_surrounding_space():
    # Base16 is case-insensitive hex (RFC 4648 §8); SEB sends lower case, and an upper-case
    # value names the same hash.
    header = seb_hash(URL, KEY_A)
    assert seb_header_valid(URL, header.upper(), [KEY_A])
    assert seb_header_valid(URL, f" {header} ", [KEY_A])
    # a key pasted in upper case is the key SEB concatenates in lower case
    assert seb_header_valid(URL, header, [KEY_A.upper()])


def test_seb_several_allowed_keys():
    keys = [KEY_A, KEY_B]
    assert seb_header_valid(URL, seb_hash(URL, KEY_A), keys)
    assert seb_header_valid(URL, seb_hash(URL, KEY_B), keys)
    assert not seb_header_valid(URL, seb_hash(URL, hashlib.sha256(b"C").hexdigest()), keys)


def test_seb_compares_every_key_in_constant_time(monkeypatch):
    calls = []
    real = access.hmac.compare_digest

    def spy(a, b):
        calls.append(b)
        return real(a, b)
    monkeypatch.setattr(access.hmac, "compare_digest", spy)
    # the first key matches, and the other two are still compared
    assert seb_header_valid(URL, seb_hash(URL, KEY_A), [KEY_A, KEY_B, KEY_B[::-1]])
    assert calls == [seb_hash(URL, KEY_A), seb_hash(URL, KEY_B), seb_hash(URL, KEY_B[::-1])]


# ---------------------------------------------------------------------------- check()

def _check(address="192.168.10.5", networks=NETS, url=URL, header="", keys=(KEY_A,)):
    return check(address=address, networks=networks, seb_url=url,
                 seb_header=seb_hash(URL, KEY_A) if header == "" else header,
                 config_keys=list(keys))


def test_check_passes_when_both_rules_hold():
    assert _check() is None


def test_check_without_rules_lets_anyone_in():
    assert check(address="", networks=[], seb_url=URL, seb_header=None, config_keys=[]) is None


def test_check_network_refusal_names_the_address():
    refusal = _check(address="203.0.113.9")
    assert refusal == Refusal("network", "この端末のネットワーク（203.0.113.9）からは受検できません。"
                                         "試験会場の端末を使用してください。会場の端末でこの表示が出る場合は"
                                         "試験監督者に申し出てください。")


def test_check_network_refusal_for_an_unknown_address():
    refusal = _check(address="")
    assert refusal is not None and refusal.code == "network"
    assert "（不明）" in refusal.message


def test_check_network_rule_comes_first():
    refusal = _check(address="203.0.113.9", header=None)
    assert refusal is not None and refusal.code == "network"


def test_check_seb_missing():
    for header in (None, "", "  "):
        refusal = check(address="192.168.10.5", networks=NETS, seb_url=URL, seb_header=header,
                        config_keys=[KEY_A])
        assert refusal == Refusal("seb_missing", "この試験は Safe Exam Browser で受検してください。"
                                                 "配布された設定ファイル（.seb）から起動し直してください。")


def test_check_seb_mismatch():
    refusal = _check(header=seb_hash(URL, KEY_B))
    assert refusal is not None and refusal.code == "seb_mismatch"
    assert refusal.message.startswith("Safe Exam Browser の設定がこの試験のものと一致しません。")


def test_check_seb_only_and_network_only():
    assert _check(address="203.0.113.9", networks=[]) is None
    assert _check(header=None, keys=()) is None
    refusal = _check(address="203.0.113.9", header=None, keys=())
    assert refusal is not None and refusal.code == "network"
