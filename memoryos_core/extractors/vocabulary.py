"""Word lists the fact rules share: names (and words that are not names), jobs, family members, pets."""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..words import STOPWORDS
from .rules import DAYS, MONTHS

_NATIONALITIES = frozenset("""
american canadian mexican brazilian argentinian argentine chilean colombian peruvian venezuelan cuban
italian german russian indian australian korean nigerian kenyan egyptian iranian norwegian belgian austrian
hungarian ukrainian romanian moroccan syrian african european asian latino latina hispanic pakistani
bangladeshi israeli iraqi saudi thai greek french dutch swiss czech filipino filipina welsh scottish irish
english british spanish polish danish swedish finnish turkish portuguese chinese japanese vietnamese
lebanese nepali persian catholic christian muslim jewish hindu buddhist atheist agnostic mormon
""".split())
_NOT_NAMES = frozenset("""
tired good fine ok okay great well sorry happy sad glad here back home done ready busy hungry thirsty sleepy
sick ill excited bored nervous worried afraid scared sure curious confused lost late early new old young alive
alone married single engaged divorced widowed pregnant vegan vegetarian allergic interested stressed exhausted
alright cool awesome still also just so very really not from in at on with the a an currently actually pretty
kinda literally totally starving fine thrilled grateful thankful honored honoured sure certain positive
afraid aware able unable about into over off out up down around feeling doing going trying looking thinking
working planning studying living moving getting having being coming leaving staying waiting hoping wondering
free available open single afk brb back almost nearly kind sort like dying dead serious kidding joking
retired unemployed employed self gonna wanna fan big huge totally fully sooo soo lucky blessed proud
convinced fascinated obsessed impressed surprised shocked upset angry mad annoyed frustrated disappointed
jealous ashamed embarrassed hopeful optimistic pessimistic anxious depressed lonely homesick jetlagged
hungover broke rich poor famous fluent native bilingual left right honest
""".split()) | _NATIONALITIES | frozenset(DAYS)
_NAME_TOKEN = re.compile(r"[^\W\d_][\w'-]*")
_TITLES = {"dr": "Dr.", "mr": "Mr.", "mrs": "Mrs.", "ms": "Ms.", "prof": "Prof."}


def take_name(rest: str, need_cap: bool, allow_possessive: bool = True) -> str | None:
    """Up to three name words from the start of ``rest``; later words must be capitalised."""
    out: list[str] = []
    title = ""
    words = rest.split()[:5]
    if words and words[0].rstrip(".").lower() in _TITLES and (not need_cap or words[0][0].isupper()):
        title, words = _TITLES[words[0].rstrip(".").lower()] + " ", words[1:]
        need_cap = True  # "Dr. Smith": the surname must look like one
    for i, word in enumerate(words[:4]):
        core = word.rstrip(".,!?;:)\"'")
        ends = core != word
        possessive = core.lower().endswith("'s")
        if possessive:
            if not allow_possessive and i == 0:
                return None
            core, ends = core[:-2], True
        low = core.lower()
        if not _NAME_TOKEN.fullmatch(core) or low in STOPWORDS or low in _NOT_NAMES or low in _JOB_WORDS:
            break
        if low in _FAMILY or low in _PETS or (i and low in MONTHS):
            break
        if i == 0 and need_cap and not core[0].isupper():
            return None
        if i and not core[0].isupper():
            break
        if need_cap and len(core) > 5 and low.endswith(("ing", "ed")) and low not in {"sterling"}:
            return None
        out.append(core)
        if ends or len(out) == 3:
            break
    if not out or len(out[0]) < 2:
        return None
    return title + " ".join(t.capitalize() if (t.islower() or (t.isupper() and len(t) > 2)) else t for t in out)


# -- vocabularies for facts ----------------------------------------------------------------------

_JOB_WORDS = frozenset("""
teacher nurse doctor engineer developer programmer coder designer lawyer attorney accountant manager student
scientist researcher professor lecturer writer author journalist reporter editor artist musician chef cook
waiter waitress barista bartender pilot driver mechanic electrician plumber carpenter architect pharmacist
dentist surgeon therapist psychologist psychiatrist consultant analyst banker farmer firefighter policeman
policewoman cop officer soldier librarian photographer entrepreneur founder cofounder co-founder ceo cto cfo
coo intern freelancer translator interpreter salesperson salesman saleswoman cashier clerk secretary
administrator technician paramedic vet veterinarian physician economist marketer recruiter realtor nanny
caregiver tutor coach trainer instructor actor actress dancer singer composer producer director filmmaker
animator illustrator mathematician physicist chemist biologist housewife homemaker retiree hairdresser
barber stylist baker butcher tailor builder contractor landscaper gardener janitor cleaner housekeeper
receptionist coordinator specialist supervisor executive counselor counsellor operator inspector surveyor
auditor broker trader investor sysadmin tester professor dietitian nutritionist midwife optometrist
physiotherapist radiologist veterinary chiropractor pediatrician paediatrician sailor fisherman miner
welder machinist courier mailman postman firefighter lifeguard florist jeweler jeweller pianist guitarist
violinist drummer novelist poet blogger vlogger youtuber streamer influencer podcaster copywriter
planner strategist advisor adviser paralegal judge politician diplomat priest pastor rabbi imam monk nun
missionary chaplain minister housekeeper babysitter au-pair tradesman handyman roofer painter decorator
""".split())
_JOB_PHRASES = frozenset("""
social worker|construction worker|factory worker|care worker|office worker|health worker|healthcare worker
|aid worker|farm worker|police officer|flight attendant|product manager|software engineer|data scientist
|web developer|real estate agent|travel agent|sales rep|sales representative|stay-at-home mom
|stay-at-home dad|stay-at-home parent|personal trainer|bus driver|truck driver|taxi driver|graphic designer
|ux designer|civil servant|phd student|grad student|graduate student|research assistant|teaching assistant
|dental hygienist|lab technician|customer service|security guard|store manager|shop assistant
""".replace("\n", "").split("|"))


def is_job(phrase: str) -> bool:
    words = phrase.lower().split()
    if not words or len(words) > 5:
        return False
    last = words[-1]
    return (last in _JOB_WORDS or " ".join(words[-2:]) in _JOB_PHRASES or " ".join(words[-3:]) in _JOB_PHRASES
            or last.endswith(("ologist", "ician", "ographer", "smith")))


_FAMILY = {
    "sister": "sisters", "brother": "brothers", "mom": "moms", "mother": "mothers", "mum": "mums",
    "mommy": "mommies", "dad": "dads", "father": "fathers", "daddy": "daddies", "wife": "wives",
    "husband": "husbands", "partner": "partners", "boyfriend": "boyfriends", "girlfriend": "girlfriends",
    "fiance": "fiances", "fiancee": "fiancees", "fiancé": "fiancés", "fiancée": "fiancées", "son": "sons",
    "daughter": "daughters", "kid": "kids", "child": "children", "baby": "babies", "twin": "twins",
    "grandma": "grandmas", "grandmother": "grandmothers", "grandpa": "grandpas", "grandfather": "grandfathers",
    "granddaughter": "granddaughters", "grandson": "grandsons", "grandchild": "grandchildren",
    "aunt": "aunts", "uncle": "uncles", "cousin": "cousins", "niece": "nieces", "nephew": "nephews",
    "stepson": "stepsons", "stepdaughter": "stepdaughters", "stepmom": "stepmoms", "stepdad": "stepdads",
    "stepmother": "stepmothers", "stepfather": "stepfathers", "sibling": "siblings", "spouse": "spouses",
    "parent": "parents",
}
_PETS = {
    "dog": "dogs", "cat": "cats", "puppy": "puppies", "kitten": "kittens", "parrot": "parrots",
    "bird": "birds", "hamster": "hamsters", "rabbit": "rabbits", "bunny": "bunnies", "fish": "fish",
    "goldfish": "goldfish", "turtle": "turtles", "tortoise": "tortoises", "snake": "snakes",
    "lizard": "lizards", "horse": "horses", "pony": "ponies", "guinea pig": "guinea pigs",
    "ferret": "ferrets", "gecko": "geckos", "budgie": "budgies", "chinchilla": "chinchillas",
    "hedgehog": "hedgehogs", "iguana": "iguanas", "cockatiel": "cockatiels", "canary": "canaries",
    "kitty": "kitties", "doggo": "doggos", "pup": "pups",
}
SINGULAR = {plural: single for table in (_FAMILY, _PETS) for single, plural in table.items()}
SINGULAR.update({single: single for table in (_FAMILY, _PETS) for single in table})


def _alt(words: Iterable[str]) -> str:
    return "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in sorted(set(words), key=len, reverse=True))


KIN = _alt(_FAMILY)
PET = _alt(_PETS)
KIN_OR_PET_ANY = _alt(SINGULAR)
KIN_ADJ = (r"(?:(?:little|younger|older|big|baby|twin|elder|oldest|youngest|eldest|middle|step|half|"
           r"new|late|lovely|beautiful|wonderful|amazing|adorable|sweet|cute|old)\s+)*")
COUNT = r"(?:an?|one|two|three|four|five|six|seven|eight|nine|ten|\d{1,2})"


def kin_field(noun: str) -> str:
    single = SINGULAR.get(re.sub(r"\s+", " ", noun.lower()), noun.lower())
    return "pets" if single in _PETS else "family"
