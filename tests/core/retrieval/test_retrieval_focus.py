"""The side of an exchange a question is about (``memoryos_core.retrieval.focus``)."""

from __future__ import annotations

from retrieval_support import T0, day, page

from memoryos_core.retrieval.focus import Focus, one_side, speaker_names
from memoryos_core.retrieval.render import fact_line, past_statement
from memoryos_core.types import Fact, ScoredFact


def test_focus_picks_the_side_a_question_is_about() -> None:
    named = page("Ann: I went hiking in the Alps.", "Bob: Nice! I stayed home and baked bread.")
    assert Focus.of("Where did Ann go hiking?").side(named) == "user"
    assert Focus.of("What did Bob bake?").side(named) == "assistant"
    assert Focus.of("What did Ann and Bob do?").side(named) is None  # both named, no word tips it
    assert Focus.of("What did Ann and Bob bake?").side(named) == "assistant"  # then the shared words decide
    roles = page("I adopted a cat called Miso.", "Lovely, cats are great company.")
    assert Focus.of("what is my cat called?").side(roles) == "user"  # first person: the user's side
    assert Focus.of("what did you say about company?").side(roles) == "assistant"
    assert Focus.of("Which pet was adopted?").side(roles) == "user"  # no person: the shared words decide
    assert Focus.of("Ann?").side(page("Ann: hello", "")) is None  # one side only: nothing to choose
    half = one_side(named, "assistant")
    assert half.user_input == "" and half.agent_response == named.agent_response and half.id == named.id


def _fact(text: str, score: float = 0.3, refers_to: float | None = None) -> ScoredFact:
    fact = Fact(id="f", kind="user", text=text, refers_to=refers_to, created_at=T0, updated_at=T0, source="heuristic")
    return ScoredFact(fact=fact, score=score)


def test_speaker_names_are_the_names_each_side_starts_with() -> None:
    pages = [page("Ann: I went hiking.", "Bob: Nice!"), page("Ann: Then I slept.", "Bob: Good."),
             page("I typed this without a name.", "Bob: Fine.")]
    assert speaker_names(pages) == {"user": "Ann", "assistant": "Bob"}
    assert speaker_names([page("I adopted a cat.", "Lovely.")]) == {}
    assert speaker_names([page("Ann: hi", "Ann: me again")]) == {}  # one name on both sides names neither


def test_knowledge_about_the_other_person_is_not_what_a_question_is_about() -> None:
    named = {"user": "Ann", "assistant": "Bob"}
    assert Focus.of("What does Bob do for a living?").about_only("user", named)
    assert not Focus.of("What does Bob do for a living?").about_only("assistant", named)
    assert not Focus.of("Did Ann and Bob meet?").about_only("user", named)
    assert not Focus.of("What does Ann do?").about_only("user", named)
    assert not Focus.of("can you suggest a recipe?").about_only("user", {})  # with an assistant: never hidden
    assert not Focus.of("what do I like?").about_only("user", {"user": "Ann"})


def test_a_knowledge_line_must_share_a_word_with_the_question_or_be_very_close() -> None:
    named = {"user": "Ann", "assistant": "Bob"}
    question = Focus.of("Where does Ann work?")
    assert question.speaks_to(_fact("User works at a children's hospital."), named)
    assert not question.speaks_to(_fact("User loves the colour blue."), named)
    assert not question.speaks_to(_fact("Ann loves the colour blue."), named)  # the name alone is no match
    assert question.speaks_to(_fact("User is employed by a clinic.", score=0.8), named)


def test_a_knowledge_line_names_the_person_and_says_when_it_was_noted_after_the_statement() -> None:
    when = day(2023, 7, 3)
    line = fact_line(_fact("User is going to a conference this month.", refers_to=when), {"user": "Caroline"})
    assert line == "- Caroline is going to a conference this month (noted 3 July 2023; this month = July 2023)"
    assert fact_line(_fact("The user's sister lives in Berlin.", refers_to=when), {"user": "Caroline"}) == (
        "- Caroline's sister lives in Berlin (noted 3 July 2023)")
    assert fact_line(_fact("User likes tea.")) == "- User likes tea."
    named = Fact(id="n", kind="user", text="User's name is Caroline.", refers_to=None, created_at=T0, updated_at=T0,
                 source="heuristic", slot="name")
    assert fact_line(ScoredFact(fact=named, score=0.5), {"user": "Caroline"}) == "- User's name is Caroline."


def test_the_profile_keeps_single_fields_and_the_list_items_a_question_touches() -> None:
    fields = {"location": "Porto", "occupation": "nurse", "hobbies": ["hiking", "chess", "baking bread"],
              "likes": ["jazz"]}
    assert Focus.of("Any good hiking trails near me?").profile_view(fields) == {
        "location": "Porto", "occupation": "nurse", "hobbies": ["hiking"]}
    assert Focus.of("What are my hobbies?").profile_view(fields)["hobbies"] == ["hiking", "chess", "baking bread"]
    assert "likes" not in Focus.of("What should I cook tonight?").profile_view(fields)


def test_a_fact_no_longer_true_is_said_in_the_past_with_when_it_ended() -> None:
    assert past_statement("Alex lives in Lisbon") == "Alex lived in Lisbon"
    assert past_statement("Alex's favourite language is Go") == "Alex's favourite language was Go"
    assert past_statement("Alex met Tom who is a chef") == "Formerly: Alex met Tom who is a chef"  # not the main verb
    ended = Fact(id="f", kind="user", text="User works at St. Clara Hospital.", refers_to=day(2025, 1, 5),
                 created_at=T0, updated_at=T0, source="heuristic", valid_until=day(2025, 5, 6), superseded_by="g")
    assert ended.is_past
    assert fact_line(ScoredFact(fact=ended, score=0.4), {"user": "Alex"}) == (
        "- Alex worked at St. Clara Hospital (until 6 May 2025)")
