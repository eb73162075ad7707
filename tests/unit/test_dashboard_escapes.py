"""The dashboard escapes a page's labels and paths in one call: the same text as one by one."""

from __future__ import annotations

from markupsafe import escape

from datacapt.entry.dashboard import escaped_each


def test_texts_escaped_together_are_escaped_as_each_alone():
    texts = ["s001-0001", "a&b", "<x>", 'it\'s "quoted"', "", "/s/a%20b/"]
    assert escaped_each(texts) == [str(escape(text)) for text in texts]


def test_a_text_holding_the_separator_is_escaped_alone():
    texts = ["a\x00<b>", "c&d"]
    assert escaped_each(texts) == ["a\x00&lt;b&gt;", "c&amp;d"]
    assert escaped_each([]) == []
