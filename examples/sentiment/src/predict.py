#!/usr/bin/env python3
"""Classify sentences with the trained model.

Usage: python3 src/predict.py "what a great film" ["another sentence" ...]
       python3 src/predict.py --model-dir path/to/model "some text"

Loads model/sentiment.safetensors and model/vocab.json (next to src/ by default)
and prints one line per sentence: label, probability of "positive", and the text.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sentiment_model import load_model, predict_proba  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def main():
    p = argparse.ArgumentParser(description="Classify sentences as positive or negative.")
    p.add_argument("--model-dir", default=str(ROOT / "model"))
    p.add_argument("text", nargs="+", help="sentence(s) to classify")
    args = p.parse_args()

    model_dir = Path(args.model_dir)
    try:
        weight, bias, vocab, max_n, _ = load_model(model_dir)
    except FileNotFoundError as e:
        sys.exit(f"predict.py: model file missing ({e.filename}); run python3 src/train.py first")
    for text in args.text:
        prob = predict_proba(text, weight, bias, vocab, max_n)
        label = "positive" if prob >= 0.5 else "negative"
        print(f"{label}\tp(positive)={prob:.3f}\t{text}")


if __name__ == "__main__":
    main()
