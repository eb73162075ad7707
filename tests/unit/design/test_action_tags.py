"""Reading action tags from an annotation: values, parentheses, @IF and the tags kept."""

from __future__ import annotations

from datacapt.ecrf.action_tags import NONE, Conditional, Tags, action_tags


def test_flags_values_and_calls_are_read() -> None:
    tags = action_tags(
        "@HIDDEN-FORM @READONLY @DEFAULT=\"a 'b'\" @CHARLIMIT = 12 "
        "@CALCTEXT(if([a] = 'x, y', 'one', concat('(', [b], ')'))) @TODAY"
    )
    assert (tags.hidden, tags.readonly, tags.default, tags.charlimit, tags.now) == (
        True,
        True,
        "a 'b'",
        12,
        "today",
    )
    assert tags.calctext == "if([a] = 'x, y', 'one', concat('(', [b], ')'))"
    assert tags.expressions() == [tags.calctext]


def test_calcdate_setvalue_and_pipes() -> None:
    tags = action_tags("@CALCDATE([start], [days] * 2, 'd') @SETVALUE=[visit][who]")
    assert tags.calcdate == ("[start]", "[days] * 2", "d")
    assert tags.setvalue == "[visit][who]"
    assert tags.computed
    assert tags.expressions() == ["[visit][who]", "[start]", "[days] * 2"]


def test_if_chooses_the_tags_of_one_branch() -> None:
    tags = action_tags("@IF([age] < 18, @HIDDEN @DEFAULT='minor', @READONLY) @CHARLIMIT=5")
    assert tags.conditions == (
        Conditional("[age] < 18", Tags(hidden=True, default="minor"), Tags(readonly=True)),
    )
    assert tags.resolved(lambda condition: True) == Tags(hidden=True, default="minor", charlimit=5)
    assert tags.resolved(lambda condition: False) == Tags(readonly=True, charlimit=5)


def test_other_tags_are_kept_and_mistakes_reported() -> None:
    tags = action_tags("@PLACEHOLDER='x' @IF([a] = 1, @NOMISSING, @HIDDEN-SURVEY) @CHARLIMIT=lots")
    assert tags.kept == ("@PLACEHOLDER",)
    (condition,) = tags.conditions
    assert (condition.then.kept, condition.otherwise.kept) == (("@NOMISSING",), ("@HIDDEN-SURVEY",))
    assert tags.problems == ("@CHARLIMIT=lots is not a number of characters",)
    assert action_tags("@CALCDATE([a], 1, 'weeks')").problems
    assert action_tags("@IF([a] = 1, @HIDDEN)").problems
    assert action_tags("@CALCTEXT([a]").problems
    assert action_tags("no tags, an e-mail a@b.org") is NONE
    assert action_tags(None) is NONE
