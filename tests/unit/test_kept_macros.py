"""Macros kept by what they show, templates imported at the first call of a macro, times with
their zone's title kept by offset (``datacapt.templating``): whatever a key holds, changed, shows
on the next call; an address comes back escaped."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from jinja2 import DictLoader, Environment, StrictUndefined, UndefinedError

from datacapt.i18n import format_moment, zone_label
from datacapt.templating import KeptMacro, KeptMacros, datetime_filter, imported

TEMPLATES = {
    "m.html": (
        "{% set greeting = hello %}"
        "{% macro status(value, rows=none) %}<b>{{ greeting }} {{ value }}/{{ rows }}"
        " [{{ request.locale_name }}]</b>{% endmacro %}"
        '{% macro link(url, label) %}<a href="{{ url }}?x=1">{{ label }}</a>{% endmacro %}'
        '{% macro quoted(url) %}<a href="{{ url|urlencode }}"></a>{% endmacro %}'
    ),
    "broken.html": "{{ not_there }}{% macro status(value) %}{{ value }}{% endmacro %}",
    "page.html": (
        '{{ kept("m.html", "status", value, rows) }}|{{ kept("m.html", "link", url, label) }}'
    ),
    "quoted.html": '{{ kept("m.html", "quoted", url) }}',
    "lazy.html": "{% set m = imported(module) %}{% if call %}{{ m.status(value) }}{% endif %}",
}
KEYS = {
    ("m.html", "status"): KeptMacro(lambda value, rows=None: (value, rows)),
    ("m.html", "link"): KeptMacro(lambda url, label: str(label), address=0),
    ("m.html", "quoted"): KeptMacro(lambda url: (), address=0),
}


def _environment(size=4096):
    environment = Environment(
        loader=DictLoader(TEMPLATES), undefined=StrictUndefined, autoescape=True, auto_reload=False
    )
    kept = KeptMacros(environment, KEYS, size=size)
    environment.globals.update(kept=kept.render, imported=imported)
    return environment, kept


def _page(environment, name="page.html", language="en", **values):
    values = {"hello": "hi", "value": "a", "rows": 1, "url": "/s/1", "label": "L", **values}
    return environment.get_template(name).render(
        request=SimpleNamespace(locale_name=language), **values
    )


def test_a_kept_macro_shows_each_change_of_its_key_and_of_the_language():
    environment, kept = _environment()
    assert _page(environment) == '<b>hi a/1 [en]</b>|<a href="/s/1?x=1">L</a>'
    assert _page(environment, value="b").startswith("<b>hi b/1 [en]</b>")
    assert _page(environment, rows=2).startswith("<b>hi a/2 [en]</b>")
    assert _page(environment, language="fr").startswith("<b>hi a/1 [fr]</b>")
    assert _page(environment, label="M & co").endswith(">M &amp; co</a>")
    assert _page(environment) == '<b>hi a/1 [en]</b>|<a href="/s/1?x=1">L</a>'
    assert len(kept.kept) == 7  # four statuses, three links (two languages, two labels)


def test_a_kept_address_comes_back_escaped():
    environment, kept = _environment()
    assert _page(environment, url="/s/1&2").endswith('<a href="/s/1&amp;2?x=1">L</a>')
    assert _page(environment, url='/t<"x">').endswith('<a href="/t&lt;&#34;x&#34;&gt;?x=1">L</a>')
    assert len(kept.kept) == 2  # the status, and one link for both addresses


def test_an_address_shown_otherwise_than_escaped_is_rendered_each_time():
    environment, kept = _environment()
    assert _page(environment, "quoted.html", url="/a b") == '<a href="/a%20b"></a>'
    assert _page(environment, "quoted.html", url="/c d") == '<a href="/c%20d"></a>'
    assert list(kept.kept.values()) == [None]


def test_kept_macros_are_bounded():
    environment, kept = _environment(size=2)
    for value in ("a", "b", "c"):
        _page(environment, value=value)
    assert len(kept.kept) <= 2
    assert _page(environment, value="a").startswith("<b>hi a/1 [en]</b>")


def test_a_template_is_imported_at_the_first_call_of_a_macro_with_the_page_context():
    environment, _ = _environment()
    assert _page(environment, "lazy.html", module="broken.html", call=False) == ""
    with pytest.raises(UndefinedError):
        _page(environment, "lazy.html", module="broken.html", call=True)
    assert _page(environment, "lazy.html", module="m.html", call=True, hello="hey") == (
        "<b>hey a/None [en]</b>"
    )


@pytest.mark.parametrize("zone", ["Europe/Paris", "America/New_York", "Asia/Kolkata", "UTC"])
def test_a_time_shows_its_zone_and_offset_on_each_side_of_a_dst_change(zone):
    context = {"request": SimpleNamespace(timezone=ZoneInfo(zone), locale_name="fr")}
    for moment in (datetime(2026, 1, 15, 9, 5, tzinfo=UTC), datetime(2026, 7, 15, 23, 5)):
        aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        assert datetime_filter(context, moment) == (
            f'<time datetime="{aware.isoformat()}"'
            f' title="{zone_label(ZoneInfo(zone), aware)}">'
            f"{format_moment(aware, ZoneInfo(zone), 'fr')}</time>"
        )
    assert datetime_filter(context, None) == ""
