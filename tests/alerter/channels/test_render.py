from __future__ import annotations

import json

import pytest

from alerter.channels.render import json_len, number_title, split_text, utf8_len

LINES = [f"第{i:02d}行：危险品集装箱在堆场滞留超过规定期限，请立即安排移箱。" for i in range(40)]


def strip_marker(part: str) -> str:
    text, _, marker = part.rpartition("\n\n(")
    assert marker.endswith(")")
    return text


def test_text_under_the_limit_is_one_part_without_a_number():
    assert split_text("短消息\n第二行", 100) == ["短消息\n第二行"]


def test_chinese_text_splits_on_line_boundaries_under_the_limit():
    text = "\n".join(LINES)

    parts = split_text(text, 500)

    assert len(parts) > 1
    assert all(utf8_len(p) <= 500 for p in parts)
    assert [p.rsplit("\n", 1)[-1] for p in parts] == [
        f"({i}/{len(parts)})" for i in range(1, len(parts) + 1)
    ]
    assert "\n".join(strip_marker(p) for p in parts) == text  # no line lost, none cut


def test_a_line_longer_than_a_part_is_cut_between_characters():
    line = "泊位排队过长🚢" * 200  # 3- and 4-byte UTF-8 characters

    parts = split_text(line, 256)

    assert all(utf8_len(p) <= 256 for p in parts)
    assert "".join(strip_marker(p) for p in parts) == line
    for part in parts:
        part.encode("utf-8").decode("utf-8")  # whole characters only


def test_json_measure_counts_escapes():
    text = 'a"b\\c\n中'

    assert json_len(text) == len(json.dumps(text, ensure_ascii=False).encode()) - 2
    parts = split_text(text * 100, 120, json_len)
    assert all(json_len(p) <= 120 for p in parts)


def test_a_budget_too_small_for_the_number_is_refused():
    with pytest.raises(ValueError, match="no room"):
        split_text("x" * 100, 8)


def test_number_title_only_numbers_split_messages():
    assert number_title("告警", 1, 1) == "告警"
    assert number_title("告警", 2, 3) == "告警 (2/3)"
