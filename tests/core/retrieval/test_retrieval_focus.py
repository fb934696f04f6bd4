"""The side of an exchange a question is about (``memoryos_core.retrieval.focus``)."""

from __future__ import annotations

from retrieval_support import page

from memoryos_core.retrieval.focus import Focus, one_side


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
