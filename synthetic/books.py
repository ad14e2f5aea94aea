"""Three seeded "books" and a background corpus with controlled relations (the paper's HP1 / HP2 / PP).

Every book is a sequence of sentences written from templates with the book's *cast*: named
characters, places, objects and signature phrasings (recurring turns of phrase). Books A and B are the
aligned pair (like *Harry Potter 1* and *2*): B takes round(overlap · n) of each of its entity lists
from A's (the rest are its own) and uses A's templates; book C (like *Pride and Prejudice*) has a cast of
its own and its own templates. The background corpus uses generic nouns and generic templates, no
named entity of any book. Everything is drawn from ``numpy.random.default_rng(seed)``: the same seed
gives the same texts.

``shared_entity_fraction(a, b)`` = |entities(a) ∩ entities(b)| / |entities(b)|; for the generated
books it equals ``overlap`` for (A, B) up to rounding and 0 for (A, C) and (B, C).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from synthetic.checks import check_float, check_int, fail

SYLLABLES = [
    "ar",
    "bel",
    "cor",
    "dra",
    "el",
    "fen",
    "gor",
    "hal",
    "is",
    "jor",
    "kel",
    "lor",
    "mar",
    "nor",
    "or",
    "pel",
    "quin",
    "ros",
    "sar",
    "tor",
    "ul",
    "vor",
    "wen",
    "yar",
    "zel",
    "an",
    "bri",
    "cal",
    "dun",
    "eth",
]
GENERIC_NOUNS = [
    "river",
    "market",
    "garden",
    "window",
    "letter",
    "road",
    "winter",
    "table",
    "bridge",
    "lamp",
    "field",
    "harbour",
    "school",
    "kitchen",
    "forest",
    "village",
    "ship",
    "clock",
    "door",
    "hill",
    "coat",
    "bread",
]
GENERIC_VERBS = [
    "saw",
    "found",
    "kept",
    "left",
    "opened",
    "carried",
    "watched",
    "painted",
    "mended",
    "sold",
]
GENERIC_ADJ = [
    "old",
    "quiet",
    "small",
    "bright",
    "cold",
    "narrow",
    "wide",
    "green",
    "heavy",
    "early",
]
TEMPLATES_AB = [
    "{c1} ran to {p1} with {o1}, and {c2} shouted that {s1}.",
    "At {p1}, {c1} whispered to {c2}: {s1}.",
    "{c1} and {c2} hid {o1} under the stairs of {p1}, because {s1}.",
    "Nobody at {p1} believed {c1} when {c1} said that {s1}.",
    "{c2} pointed {o1} at the door of {p1} and {c1} laughed, for {s1}.",
]
TEMPLATES_C = [
    "It was generally agreed at {p1} that {c1} {s1}.",
    "{c1} received {c2} in the drawing room of {p1} with {o1}, observing that {c2} {s1}.",
    "Upon leaving {p1}, {c1} confessed to {c2} that {s1}.",
    "{c2} thought {c1} proud, yet at {p1} {c1} {s1}.",
    "The ball at {p1} was long remembered, for {c1} {s1}.",
]
TEMPLATES_BG = [
    "The {a1} {n1} by the {n2} was {a2} in the morning.",
    "Someone {v1} the {n1} near the {a1} {n2}.",
    "Every {n1} in the {n2} looked {a1} after the rain.",
    "They {v1} a {a1} {n1} and walked to the {n2}.",
]


def _word(rng: np.random.Generator, lo: int = 2, hi: int = 3) -> str:
    n = int(rng.integers(lo, hi + 1))
    return "".join(rng.choice(SYLLABLES, size=n)).capitalize()


@dataclass
class Cast:
    characters: list[str]
    places: list[str]
    objects: list[str]
    phrases: list[str]
    templates: list[str] = field(default_factory=list)

    def entities(self) -> set[str]:
        return set(self.characters) | set(self.places) | set(self.objects) | set(self.phrases)


def _new_cast(
    rng: np.random.Generator, sizes: dict[str, int], templates: list[str], taken: set[str]
) -> Cast:
    def fresh(make):
        while True:
            w = make()
            if w not in taken:
                taken.add(w)
                return w

    chars = [fresh(lambda: f"{_word(rng)} {_word(rng)}") for _ in range(sizes["characters"])]
    places = [
        fresh(lambda: f"{_word(rng)} {rng.choice(['Hall', 'Court', 'Tower', 'Lane', 'Park'])}")
        for _ in range(sizes["places"])
    ]
    objects = [
        fresh(
            lambda: (
                f"the {_word(rng, 2, 2).lower()} {rng.choice(['wand', 'stone', 'map', 'key', 'cloak'])}"
            )
        )
        for _ in range(sizes["objects"])
    ]
    phrases = [
        fresh(lambda: " ".join(_word(rng, 1, 2).lower() for _ in range(int(rng.integers(3, 6)))))
        for _ in range(sizes["phrases"])
    ]
    return Cast(chars, places, objects, phrases, templates)


def _mix(rng: np.random.Generator, own: list[str], other: list[str], overlap: float) -> list[str]:
    k = round(overlap * len(own))
    shared = list(rng.choice(other, size=k, replace=False)) if k else []
    return shared + own[: len(own) - k]


def _sentence(rng: np.random.Generator, cast: Cast) -> str:
    t = str(rng.choice(cast.templates))
    c = rng.choice(cast.characters, size=2, replace=False)
    return t.format(
        c1=c[0],
        c2=c[1],
        p1=rng.choice(cast.places),
        o1=rng.choice(cast.objects),
        s1=rng.choice(cast.phrases),
    )


def _background(rng: np.random.Generator) -> str:
    t = str(rng.choice(TEMPLATES_BG))
    n = rng.choice(GENERIC_NOUNS, size=2, replace=False)
    a = rng.choice(GENERIC_ADJ, size=2, replace=False)
    return t.format(n1=n[0], n2=n[1], a1=a[0], a2=a[1], v1=rng.choice(GENERIC_VERBS))


@dataclass(frozen=True)
class Corpus:
    books: dict[str, str]  # "A", "B", "C": one sentence per line
    background: str
    casts: dict[str, Cast]


def generate(
    seed: int = 0,
    *,
    overlap: float = 0.7,
    sentences: int = 600,
    background_sentences: int = 1500,
    characters: int = 8,
    places: int = 6,
    objects: int = 6,
    phrases: int = 10,
) -> Corpus:
    """Books A, B (sharing ``overlap`` of their cast and A's templates) and C, and a background corpus."""
    overlap = check_float("data.overlap", overlap, low=0.0, high=1.0)
    check_int("data.sentences", sentences, minimum=10)
    check_int("data.background_sentences", background_sentences, minimum=0)
    sizes = {
        "characters": check_int("data.characters", characters, minimum=2),
        "places": places,
        "objects": objects,
        "phrases": phrases,
    }
    for k in ("places", "objects", "phrases"):
        check_int(f"data.{k}", sizes[k], minimum=1)
    rng = np.random.default_rng(seed)
    taken: set[str] = set()
    a = _new_cast(rng, sizes, TEMPLATES_AB, taken)
    own_b = _new_cast(rng, sizes, TEMPLATES_AB, taken)
    b = Cast(
        _mix(rng, own_b.characters, a.characters, overlap),
        _mix(rng, own_b.places, a.places, overlap),
        _mix(rng, own_b.objects, a.objects, overlap),
        _mix(rng, own_b.phrases, a.phrases, overlap),
        TEMPLATES_AB,
    )
    c = _new_cast(rng, sizes, TEMPLATES_C, taken)
    casts = {"A": a, "B": b, "C": c}
    books = {
        k: "\n".join(_sentence(rng, cast) for _ in range(sentences)) for k, cast in casts.items()
    }
    background = "\n".join(_background(rng) for _ in range(background_sentences))
    return Corpus(books=books, background=background, casts=casts)


def shared_entity_fraction(a: Cast, b: Cast) -> float:
    """|entities(a) ∩ entities(b)| / |entities(b)|."""
    eb = b.entities()
    return len(a.entities() & eb) / len(eb)


def read_corpus(s: Any) -> dict:
    """The three books (A, B, C) and the background of a setup (``experiments.config.LSetup``):
    the user's files or the seeded generator's."""
    if s.books:
        books = {
            k: Path(p).read_text(encoding="utf-8") for k, p in zip("ABC", s.books, strict=True)
        }
        for k, text in books.items():
            if len(text.strip()) < 200:
                raise fail(
                    f"data.books[{'ABC'.index(k)}]",
                    s.books["ABC".index(k)],
                    "holds too little text (< 200 characters)",
                )
        background = Path(s.background).read_text(encoding="utf-8") if s.background else ""
        return {"books": books, "background": background}
    corpus = generate(
        s.corpus_seed,
        overlap=s.overlap,
        sentences=s.sentences,
        background_sentences=s.background_sentences,
    )
    background = (
        Path(s.background).read_text(encoding="utf-8") if s.background else corpus.background
    )
    return {"books": dict(corpus.books), "background": background, "casts": corpus.casts}
