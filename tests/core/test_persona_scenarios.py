"""Persona scenarios, offline, through the public API: updates, attribution, pronouns, forgetting.

Each scenario is a multi-session conversation: neutral filler around the key turns, sessions weeks
apart, and enough turns after the last key turn that the key pages leave short-term memory
(capacity 10, consolidation batches of 8). The checks read only what a caller sees: the profile,
the user knowledge, retrieval contexts, the pages and the history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from memoryos_core import Memoryos

DAY = 86400.0
T0 = 1_735_900_000.0  # early January 2025
SESSION_GAP = 30 * DAY

FILLER: list[tuple[str, str]] = [
    ("What's a good way to keep fresh basil from wilting?", "Stand it in a glass of water on the counter, like cut flowers."),
    ("Any tips for a quick morning stretching routine?", "Five minutes of neck rolls, hamstring stretches and cat-cow poses go a long way."),
    ("How long should a soft-boiled egg cook?", "About six minutes from boiling water gives a jammy yolk."),
    ("What's the difference between baking soda and baking powder?", "Baking powder already contains an acid; baking soda needs one in the recipe."),
    ("The weather has been grey all week.", "Grey weeks can drag. A short walk at midday helps with the gloom."),
    ("Can you explain what a leap year is?", "It adds a day to February every four years to keep the calendar aligned with the seasons."),
    ("How do noise-cancelling headphones work?", "They play an inverted copy of the ambient sound so the two cancel out."),
    ("What's a polite way to decline a meeting invite?", "Thank them, say you can't make it, and offer to catch up on the notes."),
    ("Why is the sky blue?", "Air scatters short blue wavelengths of sunlight more than the longer red ones."),
    ("What's a good board game for a rainy evening?", "Ticket to Ride is easy to learn and works well for two to five players."),
    ("How often should houseplants be watered?", "Most want water when the top few centimetres of soil are dry."),
    ("Is it worth descaling a kettle?", "Yes, limescale slows heating and flakes into drinks; vinegar or citric acid works."),
    ("What does a sourdough starter need?", "Flour, water, warmth and regular feeding, usually once a day."),
    ("How many time zones does Russia have?", "Eleven, from Kaliningrad to Kamchatka."),
    ("Any idea how to fold a fitted sheet?", "Tuck the corners into each other, lay it flat and fold it into a rectangle."),
    ("What is a haiku?", "A short poem of three lines with five, seven and five syllables."),
    ("The train was late again this morning.", "That's frustrating. At least it gave you a few extra minutes to read."),
    ("What's the best way to clean a cast iron pan?", "Hot water and a brush, then dry it on the stove and wipe on a little oil."),
    ("How do I remove a coffee stain from a shirt?", "Blot it, rinse from the back with cold water, then treat it with a little dish soap."),
    ("What's the tallest mountain in Africa?", "Kilimanjaro, at about 5,895 metres."),
    ("How do solar panels make electricity?", "Photons knock electrons loose in silicon cells, which creates a current."),
    ("Which vegetables grow well on a balcony?", "Cherry tomatoes, lettuce, chard and herbs all cope with pots."),
    ("What's a good stretch for a stiff back after a long drive?", "Try a slow child's pose and gentle twists while lying down."),
    ("How long does it take light from the sun to reach earth?", "A little over eight minutes."),
    ("What is compound interest?", "Interest earned on both the original amount and the interest already added."),
    ("Any tips for remembering names at a party?", "Repeat the name back when you're introduced and use it once more in the chat."),
    ("The neighbour's cat sat on the windowsill again today.", "Cats love a warm windowsill with a view."),
    ("How do I stop my glasses from fogging up?", "A drop of dish soap rubbed on and polished off leaves an anti-fog film."),
    ("What's the origin of the word 'salary'?", "It is often traced to the Latin for salt, though the story is debated."),
    ("Why do onions make eyes water?", "Cutting them releases a gas that irritates the eyes' tear glands."),
    ("What's a quick lunch that travels well?", "A grain salad with chickpeas, greens and a lemony dressing holds up for hours."),
    ("How do airplanes stay in the air?", "Wings deflect air downward and the pressure difference lifts the plane."),
    ("What is the capital of Australia?", "Canberra, chosen as a compromise between Sydney and Melbourne."),
    ("Is it better to stretch before or after a workout?", "Dynamic moves before, longer static stretches after."),
    ("What's a good way to start journaling?", "Write three lines each evening about the day; keep the bar low."),
    ("How are rainbows formed?", "Sunlight refracts and reflects inside raindrops, splitting into colours."),
    ("The printer at the library jammed twice today.", "Printers seem to sense deadlines. Hopefully it behaves next time."),
    ("How long can cooked rice stay in the fridge?", "About four days if it was cooled quickly and kept covered."),
    ("What's the rule of thirds in photography?", "Place the subject along imaginary lines dividing the frame into thirds."),
    ("Can you suggest a name for a book club?", "How about 'Between the Lines' or 'The Dog-Eared Pages'?"),
]

ACK = "Thanks for letting me know, I'll keep that in mind."


@dataclass
class Scenario:
    name: str
    #: Key user turns per session; filler goes around them.
    sessions: list[list[str]]
    profile: dict[str, str] = field(default_factory=dict)          # field -> expected substring
    profile_not: dict[str, str | None] = field(default_factory=dict)  # field -> forbidden substring (None: absent)
    knows: list[str] = field(default_factory=list)                 # each in some active user fact
    not_knows: list[str] = field(default_factory=list)             # in no active user fact
    context: list[tuple[str, list[str], list[str]]] = field(default_factory=list)  # query, must, must not
    gone: list[str] = field(default_factory=list)                  # nowhere: pages, facts, contexts, history
    past: list[str] = field(default_factory=list)                  # in a past fact (valid_until set), only as past
    forget_event: bool = False


SCENARIOS: list[Scenario] = [
    # -- relocations ---------------------------------------------------------------------------
    Scenario("moved_we_finally", [["I live in Lisbon, in a small flat near the river."],
                                  ["We finally moved to Porto last month."]],
             profile={"location": "Porto"}, knows=["Porto"], not_knows=["lives in Lisbon"],
             context=[("Where does the user live now?", ["Porto"], [])], past=["Lisbon"]),
    Scenario("relocated_for_work", [["I'm based in Chicago, in a loft near the river."],
                                    ["I relocated to Denver for work in March."]],
             profile={"location": "Denver"}, not_knows=["Chicago"]),
    Scenario("these_days_i_live", [["I live in Manchester with two flatmates."],
                                   ["These days I live in Leeds, the commute is shorter."]],
             profile={"location": "Leeds"}, not_knows=["Manchester"], past=["Manchester"]),
    Scenario("moved_from_to", [["I live in Madrid."], ["I moved from Madrid to Valencia in the spring."]],
             profile={"location": "Valencia"}, knows=["Valencia"], not_knows=["lives in Madrid"], past=["Madrid"]),
    Scenario("left_city_now_live", [["I'm living in Toronto at the moment."],
                                    ["We left Toronto and now we live in Vancouver."]],
             profile={"location": "Vancouver"}, not_knows=["lives in Toronto"]),
    Scenario("moved_back", [["I live in Berlin."], ["I moved back to Hamburg to be closer to my parents."]],
             profile={"location": "Hamburg"}, not_knows=["lives in Berlin"]),
    Scenario("dont_live_there_anymore", [["I live in Paris, near the canal."],
                                         ["I don't live in Paris anymore, I moved to Lyon in May."]],
             profile={"location": "Lyon"}, not_knows=["lives in Paris"], past=["Paris"]),
    Scenario("just_moved_into", [["I live in Oslo."], ["We just moved to Bergen, the flat is still full of boxes."]],
             profile={"location": "Bergen"}, not_knows=["lives in Oslo"]),
    # -- job changes ---------------------------------------------------------------------------
    Scenario("left_hospital_for_clinic", [["I work as a nurse at St. Mary's Hospital."],
                                          ["I left the hospital and started at a clinic in town."]],
             profile={"employer": "clinic"}, profile_not={"employer": "Mary"}, not_knows=["St. Mary's Hospital"],
             past=["St. Mary"]),
    Scenario("new_job_at", [["I work at Google as a designer."], ["I started a new job at Spotify last week."]],
             profile={"employer": "Spotify"}, not_knows=["works at Google"], past=["Google"]),
    Scenario("now_work_for", [["I work for Deloitte in the audit team."], ["I now work for KPMG, the hours are better."]],
             profile={"employer": "KPMG"}, not_knows=["Deloitte"], past=["Deloitte"]),
    Scenario("quit_job", [["I work at Barclays in the city."], ["I quit my job at Barclays last month."]],
             profile_not={"employer": "Barclays"}, not_knows=["works at Barclays"]),
    Scenario("career_change", [["I'm a teacher at a primary school."],
                               ["I'm a software developer now, I switched careers last year."]],
             profile={"occupation": "developer"}, profile_not={"occupation": "teacher"}, not_knows=["teacher"],
             past=["teacher"]),
    Scenario("got_job_as", [["I work as a barista."], ["I got a job as a librarian at the city library."]],
             profile={"occupation": "librarian"}, not_knows=["barista"]),
    Scenario("retired", [["I work as an engineer."], ["I retired in June after thirty years."]],
             profile={"occupation": "retired"}, not_knows=["works as an engineer"]),
    Scenario("joined_as", [["I work at Shopify."], ["I joined Stripe as a product manager in January."]],
             profile={"employer": "Stripe", "occupation": "product manager"}, not_knows=["Shopify"]),
    Scenario("no_longer_a", [["I'm a lawyer."], ["I'm no longer a lawyer, I became a chef last year."]],
             profile={"occupation": "chef"}, profile_not={"occupation": "lawyer"}, not_knows=["User is a lawyer"]),
    # -- changed preferences --------------------------------------------------------------------
    Scenario("not_vegetarian_anymore", [["I'm vegetarian."], ["I'm not vegetarian anymore, I eat fish again."]],
             profile_not={"diet": None}, not_knows=["User is vegetarian"]),
    Scenario("went_vegan", [["I'm vegetarian."], ["I went vegan in January."]],
             profile={"diet": "vegan"}, not_knows=["is vegetarian"]),
    Scenario("favourite_language_now", [["My favourite language is Python."], ["Go is now my favourite language."]],
             knows=["Go"], not_knows=["Python"]),
    Scenario("favourite_food_changed", [["My favorite food is pizza."], ["These days my favorite food is ramen."]],
             knows=["ramen"], not_knows=["pizza"]),
    Scenario("dont_like_anymore", [["I love sushi."], ["I don't like sushi anymore, it makes me feel sick."]],
             profile_not={"likes": "sushi"}, not_knows=["loves sushi"]),
    Scenario("stopped_drinking", [["I love coffee."], ["I stopped drinking coffee in March."]],
             profile_not={"likes": "coffee"}, not_knows=["loves coffee"]),
    Scenario("took_up", [["My hobbies are painting and chess."], ["I took up climbing this spring."]],
             profile={"hobbies": "climbing"}, knows=["climbing"]),
    Scenario("gave_up_hobby", [["I play tennis."], ["I gave up tennis after my shoulder injury."]],
             profile_not={"hobbies": "tennis"}, not_knows=["plays tennis"]),
    Scenario("not_into_anymore", [["I'm a big fan of horror movies."], ["I'm not into horror movies anymore."]],
             profile_not={"likes": "horror"}, not_knows=["fan of horror"]),
    # -- things stopped or started ----------------------------------------------------------------
    Scenario("quit_smoking", [["I quit smoking two months ago."]], knows=["quit smoking"]),
    Scenario("started_learning", [["I've started learning Spanish."]], knows=["Spanish"]),
    Scenario("dropped_out", [["I study law at King's College."], ["I dropped out of law school in the autumn."]],
             profile_not={"studies": "law"}, not_knows=["studies law"]),
    Scenario("adopted_pet", [["We adopted a puppy named Rex."]], profile={"pets": "Rex"}),
    # -- relationships ------------------------------------------------------------------------------
    Scenario("broke_up", [["I'm in a relationship."], ["Tom and I broke up in February."]],
             profile={"relationship_status": "single"}, not_knows=["in a relationship"]),
    Scenario("we_got_married", [["I'm engaged."], ["We got married in June!"]],
             profile={"relationship_status": "married"}, not_knows=["is engaged"]),
    Scenario("divorced_now", [["I'm married."], ["I'm divorced now."]],
             profile={"relationship_status": "divorced"}, not_knows=["is married"]),
    Scenario("got_engaged", [["I'm single."], ["My girlfriend and I got engaged last weekend!"]],
             profile={"relationship_status": "engaged"}, not_knows=["is single"]),
    # -- attribution ----------------------------------------------------------------------------------
    Scenario("sister_maya_berlin_chef", [["I live in Lisbon and I work as a nurse."],
                                         ["My sister Maya lives in Berlin and works as a chef."]],
             profile={"location": "Lisbon", "occupation": "nurse"}, profile_not={"occupation": "chef"},
             knows=["Maya lives in Berlin", "Maya works as a chef"],
             not_knows=["User lives in Berlin", "User works as a chef"]),
    Scenario("brother_google", [["I'm a teacher."], ["My brother works at Google as an engineer."]],
             profile={"occupation": "teacher"}, profile_not={"employer": None},
             not_knows=["User works at Google", "User works as an engineer"]),
    Scenario("friend_moved", [["I live in Boston."], ["My friend Sam just moved to Chicago."]],
             profile={"location": "Boston"}, not_knows=["User lives in Chicago"]),
    Scenario("colleague_vegan", [["My colleague Priya is vegan and she brings amazing lunches."]],
             profile_not={"diet": None}, not_knows=["User is vegan"]),
    Scenario("mom_retired", [["My mom retired last year and took up gardening."]],
             profile_not={"occupation": None, "hobbies": "gardening"}, not_knows=["User is retired"]),
    Scenario("husband_golf", [["My husband loves golf and plays every Sunday."]],
             profile_not={"likes": "golf", "hobbies": "golf"}, not_knows=["User loves golf", "User plays"]),
    Scenario("kin_is_a", [["My wife is a dentist at a clinic downtown."]],
             profile_not={"occupation": None, "employer": None}, knows=["wife is a dentist"]),
    # -- pronouns -----------------------------------------------------------------------------------
    Scenario("she_resolves_to_maya", [["My sister Maya lives in Berlin.", "She works as a chef in a small bistro."]],
             profile_not={"occupation": None}, knows=["Maya works as a chef"], not_knows=["She ", "User works as a chef"]),
    Scenario("her_unresolved", [["I'm planning to visit Japan in October with her."]],
             not_knows=[" her", "with her"]),
    Scenario("her_resolved", [["My sister Maya and I are really close.",
                               "I'm planning to visit Japan in October with her."]],
             knows=["Japan in October with Maya"], not_knows=[" her."]),
    Scenario("him_unresolved", [["I'm going to meet him next Friday for lunch."]], not_knows=[" him"]),
    Scenario("her_ambiguous", [["My sister Ana and my mom Rosa came over for dinner.",
                                "I'm going to Rome with her next month."]],
             not_knows=[" her", "Rome with Ana", "Rome with Rosa"]),
    # -- forgetting -------------------------------------------------------------------------------------
    Scenario("forget_passport", [["My passport number is X1234567, keep it handy for the booking."],
                                 ["Please forget my passport number."]],
             gone=["X1234567"], forget_event=True,
             context=[("What is my passport number?", [], ["X1234567"])]),
    Scenario("forget_what_i_said_about", [["I'm seeing a therapist for my anxiety every Tuesday."],
                                          ["Forget what I said about my therapist."]],
             gone=["anxiety"], forget_event=True),
    Scenario("forget_address", [["My home address is 12 Rua das Flores in Porto."],
                                ["Can you forget my home address please?"]],
             gone=["Rua das Flores"], forget_event=True),
    Scenario("forget_pin", [["My bank PIN is 4921, don't tell anyone."], ["Please delete my bank PIN from your memory."]],
             gone=["4921"], forget_event=True),
    Scenario("forget_keeps_the_rest", [["My passport number is K7654321.", "I live in Porto near the park."],
                                       ["Please forget my passport number."]],
             gone=["K7654321"], profile={"location": "Porto"}, forget_event=True,
             context=[("Where do I live?", ["Porto"], ["K7654321"])]),
    Scenario("forget_question_is_no_request", [["My locker code is 5512."], ["Do you ever forget things I tell you?"]],
             context=[("What is my locker code?", ["5512"], [])]),
    Scenario("forget_fresh_secret", [["I'm about to tell you my gym password: hunter22.",
                                      "Actually, forget my gym password."]],
             gone=["hunter22"], forget_event=True),
]


def _converse(memory: Memoryos, scenario: Scenario) -> None:
    offset = sum(map(ord, scenario.name))
    n = 0

    def say(user: str, answer: str, ts: float) -> None:
        memory.add_memory(user, answer, timestamp=ts)

    for s, keys in enumerate(scenario.sessions):
        start = T0 + s * SESSION_GAP
        turns: list[tuple[str, str]] = []
        for _ in range(3):
            turns.append(FILLER[(offset + n) % len(FILLER)])
            n += 1
        turns += [(k, ACK) for k in keys]
        for _ in range(3):
            turns.append(FILLER[(offset + n) % len(FILLER)])
            n += 1
        for i, (user, answer) in enumerate(turns):
            say(user, answer, start + i * 120)
    start = T0 + len(scenario.sessions) * SESSION_GAP
    for i in range(16):  # the key pages leave short-term
        user, answer = FILLER[(offset + n) % len(FILLER)]
        n += 1
        say(user, answer, start + i * 120)
    assert memory.flush()


def _check(memory: Memoryos, scenario: Scenario) -> list[str]:
    problems: list[str] = []
    fields = memory.get_user_profile().fields
    facts = [f.text for f in memory.get_user_knowledge()]
    low_facts = [f.lower() for f in facts]
    for key, want in scenario.profile.items():
        value = fields.get(key)
        shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value or "")
        if want.lower() not in shown.lower():
            problems.append(f"profile {key}={value!r}, expected {want!r}")
    for key, bad in scenario.profile_not.items():
        value = fields.get(key)
        if bad is None:
            if value:
                problems.append(f"profile {key}={value!r}, expected no such field")
            continue
        shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value or "")
        if bad.lower() in shown.lower():
            problems.append(f"profile {key}={value!r} still shows {bad!r}")
    for want in scenario.knows:
        if not any(want.lower() in f for f in low_facts):
            problems.append(f"no fact with {want!r} in {facts}")
    for bad in scenario.not_knows:
        hits = [f for f in facts if bad.lower() in f.lower()]
        if hits:
            problems.append(f"facts {hits} contain {bad!r}")
    for query, must, must_not in scenario.context:
        context = memory.retrieve(query).context
        problems += [f"context for {query!r} lacks {m!r}" for m in must if m.lower() not in context.lower()]
        problems += [f"context for {query!r} shows {m!r}" for m in must_not if m.lower() in context.lower()]
    if scenario.gone:
        pages = memory.list_memories(limit=1000)
        history = memory.history()
        for secret in scenario.gone:
            s = secret.lower()
            if any(s in p.text.lower() for p in pages):
                problems.append(f"a page still holds {secret!r}")
            if any(s in f for f in low_facts):
                problems.append(f"a fact still holds {secret!r}")
            if any(s in (h.old_value or "").lower() or s in (h.new_value or "").lower() for h in history):
                problems.append(f"history still holds {secret!r}")
            context = memory.retrieve(secret).context
            if s in context.lower():
                problems.append(f"retrieval of {secret!r} still shows it")
    if scenario.past:
        past = [f for f in memory.get_user_knowledge(include_past=True) if f.is_past]
        for word in scenario.past:
            ended = [f for f in past if word.lower() in f.text.lower()]
            if not ended or any(f.valid_until is None or f.valid_until < (f.refers_to or 0) for f in ended):
                problems.append(f"no past fact with {word!r} ending after it began in {[f.text for f in past]}")
            result = memory.retrieve(f"{word}?", record_visits=False)
            current = [f.fact.text for f in result.sections.user_knowledge if not f.fact.is_past]
            if any(word.lower() in text.lower() for text in current):
                problems.append(f"{word!r} shown as current knowledge: {current}")
            if ended and not any(word.lower() in line.lower() and "(until " in line for line in result.context.splitlines()):
                problems.append(f"{word!r} not shown as past in the context")
    if scenario.forget_event and not any(h.event == "FORGET" for h in memory.history()):
        problems.append("no FORGET event in history")
    return problems


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_persona_scenario(tmp_path: Path, scenario: Scenario) -> None:
    memory = Memoryos(user_id="u", data_storage_path=tmp_path, background=False)
    try:
        _converse(memory, scenario)
        problems = _check(memory, scenario)
    finally:
        memory.close()
    assert not problems, "\n".join(problems)


def test_suite_is_large_enough() -> None:
    assert len(SCENARIOS) >= 40
    assert len({s.name for s in SCENARIOS}) == len(SCENARIOS)
