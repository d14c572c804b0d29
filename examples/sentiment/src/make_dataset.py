#!/usr/bin/env python3
"""Regenerate data/train.csv and data/eval.csv.

The dataset is synthetic: short English review sentences built from hand-written
templates and word lists (films, books, restaurants, gadgets, hotels), plus a few
fully hand-written sentences. Generation is deterministic (fixed seed), so running
this script again reproduces the committed CSV files byte for byte.

Usage: python3 src/make_dataset.py [--seed 7] [--train 300] [--eval 100]
"""

import argparse
import csv
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SUBJECTS = [
    "the movie", "this film", "the plot", "the acting", "the soundtrack",
    "the ending", "the cast", "the sequel", "the screenplay", "the director's new film",
    "this book", "the novel", "the last chapter", "the author's writing", "the story",
    "the restaurant", "the food", "the service", "the pasta", "the dessert",
    "the waiter", "this phone", "the battery", "the camera", "the screen",
    "the headset", "the laptop", "the hotel room", "the staff", "the breakfast",
    "it", "it", "everything", "the whole thing",
]

POS_ADJ = [
    "good", "great", "wonderful", "excellent", "brilliant", "delightful", "superb",
    "charming", "fantastic", "lovely", "moving", "gripping", "impressive",
    "beautiful", "fresh", "reliable", "clever", "warm", "outstanding",
]
NEG_ADJ = [
    "bad", "terrible", "awful", "boring", "dull", "disappointing", "bland",
    "clumsy", "painful", "mediocre", "forgettable", "sloppy", "annoying",
    "broken", "cold", "overpriced", "predictable", "tedious", "poor",
]
INTENSIFIERS = ["very", "really", "truly", "surprisingly", "absolutely", "genuinely", "quite"]

POS_VERB = ["loved", "enjoyed", "liked", "really liked", "would recommend", "was impressed by"]
NEG_VERB = ["hated", "regretted buying", "could not stand", "was let down by", "would avoid", "disliked"]

POS_TAIL = [
    "and I would happily go back", "worth every penny", "I smiled the whole time",
    "a real pleasure", "I will recommend it to friends", "it exceeded my expectations",
    "easily the best this year", "I want more of this",
]
NEG_TAIL = [
    "and I want my money back", "a complete waste of time", "I nearly fell asleep",
    "such a letdown", "I will not recommend it", "it fell far short of the hype",
    "easily the worst this year", "never again",
]

THINGS = ["film", "movie", "book", "story", "meal", "restaurant", "phone", "hotel", "show", "read"]

POS_NOUN = ["a promising start", "a nice first impression", "some good moments", "a few highlights", "real potential"]
NEG_NOUN = ["a shaky start", "a poor first impression", "some weak moments", "a few flaws", "obvious problems"]

HANDWRITTEN = [
    ("Best purchase I have made in years.", 1),
    ("The kids laughed from start to finish.", 1),
    ("Every dish arrived hot and full of flavour.", 1),
    ("I finished the whole book in one sitting.", 1),
    ("The battery lasts for days, I am very happy.", 1),
    ("Honestly one of the most touching stories I have read.", 1),
    ("Our room was spotless and the view was stunning.", 1),
    ("A joy to watch, with a smart and funny script.", 1),
    ("It broke after two days of normal use.", 0),
    ("We waited an hour and the soup was cold.", 0),
    ("I gave up on the book halfway through.", 0),
    ("The screen flickers and the speakers crackle.", 0),
    ("Two hours of my life I will never get back.", 0),
    ("The room smelled of smoke and the sheets were stained.", 0),
    ("Nothing happens for the first hour of the film.", 0),
    ("Customer support never answered my emails.", 0),
]


class Deck:
    """Deals items from a list in shuffled rounds, so every word is used about equally often."""

    def __init__(self, rng):
        self.rng, self.piles = rng, {}

    def choice(self, items):
        key = id(items)
        pile = self.piles.get(key)
        if not pile:
            pile = list(items)
            self.rng.shuffle(pile)
            self.piles[key] = pile
        return pile.pop()

    def randrange(self, n):
        return self.choice(FORMS[n])

    def __getattr__(self, name):
        return getattr(self.rng, name)


FORMS = {8: list(range(8))}


def article(word):
    return "an" if word[0] in "aeiou" else "a"


def positive(rng):
    s, a = rng.choice(SUBJECTS), rng.choice(POS_ADJ)
    form = rng.randrange(8)
    if form == 0:
        return f"{s.capitalize()} was {a}."
    if form == 1:
        return f"I {rng.choice(POS_VERB)} {s}."
    if form == 2:
        return f"{s.capitalize()} is {rng.choice(INTENSIFIERS)} {a}, {rng.choice(POS_TAIL)}."
    if form == 3:
        return f"{s.capitalize()} was not {rng.choice(NEG_ADJ)} at all, it was {a}."
    if form == 4:
        b = rng.choice(POS_ADJ)
        while b == a:
            b = rng.choice(POS_ADJ)
        return f"{s.capitalize()} was {a} and {b}."
    if form == 5:
        return f"{s.capitalize()} had {rng.choice(NEG_NOUN)} but it was {a} in the end."
    if form == 6:
        return f"What {article(a)} {a} {rng.choice(THINGS)}{rng.choice(['.', '!', ', ' + rng.choice(POS_TAIL) + '.'])}"
    return f"What {article(a)} {a} experience, {rng.choice(POS_TAIL)}."


def negative(rng):
    s, a = rng.choice(SUBJECTS), rng.choice(NEG_ADJ)
    form = rng.randrange(8)
    if form == 0:
        return f"{s.capitalize()} was {a}."
    if form == 1:
        return f"I {rng.choice(NEG_VERB)} {s}."
    if form == 2:
        return f"{s.capitalize()} is {rng.choice(INTENSIFIERS)} {a}, {rng.choice(NEG_TAIL)}."
    if form == 3:
        return f"{s.capitalize()} was not {rng.choice(POS_ADJ)} at all, it was {a}."
    if form == 4:
        b = rng.choice(NEG_ADJ)
        while b == a:
            b = rng.choice(NEG_ADJ)
        return f"{s.capitalize()} was {a} and {b}."
    if form == 5:
        return f"{s.capitalize()} had {rng.choice(POS_NOUN)} but it was {a} in the end."
    if form == 6:
        return f"What {article(a)} {a} {rng.choice(THINGS)}{rng.choice(['.', '!', ', ' + rng.choice(NEG_TAIL) + '.'])}"
    return f"What {article(a)} {a} experience, {rng.choice(NEG_TAIL)}."


def generate(seed, n_total):
    rng = random.Random(seed)
    deck = Deck(rng)
    rows, seen = [], set()
    for text, label in HANDWRITTEN:
        rows.append((text, label))
        seen.add(text.lower())
    while len(rows) < n_total:
        label = rng.randrange(2)
        text = positive(deck) if label else negative(deck)
        if text.lower() in seen:
            continue
        seen.add(text.lower())
        rows.append((text, label))
    rng.shuffle(rows)
    return rows


def write_csv(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["text", "label"])
        w.writerows(rows)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--train", type=int, default=300)
    p.add_argument("--eval", type=int, default=100)
    args = p.parse_args()
    rows = generate(args.seed, args.train + args.eval)
    write_csv(ROOT / "data" / "train.csv", rows[: args.train])
    write_csv(ROOT / "data" / "eval.csv", rows[args.train:])
    print(f"wrote {args.train} training and {args.eval} evaluation sentences to {ROOT / 'data'}")


if __name__ == "__main__":
    main()
