#!/usr/bin/env python3
"""Train the sentiment classifier and write model/sentiment.safetensors + model/vocab.json.

Pure standard-library Python: logistic regression on binary unigram+bigram features,
trained with shuffled stochastic gradient descent and L2 regularisation. Training is
deterministic (fixed seed), so the same data gives byte-identical model files.

Usage: python3 src/train.py [--epochs 30] [--learning-rate 0.2] [--l2 0.001]
                            [--min-count 1] [--max-ngram 2] [--seed 42]
The defaults are the hyperparameters recorded in the Kitfile (model.parameters).
"""

import argparse
import csv
import json
import math
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sentiment_model import featurize, ngrams, save_safetensors, sigmoid  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return [(row["text"], int(row["label"])) for row in csv.DictReader(f)]


def build_vocab(texts, min_count, max_n):
    counts = {}
    for t in texts:
        for feat in ngrams(t, max_n):
            counts[feat] = counts.get(feat, 0) + 1
    kept = sorted(f for f, c in counts.items() if c >= min_count)
    return {f: i for i, f in enumerate(kept)}


def accuracy(rows, weight, bias, vocab, max_n):
    correct = 0
    for text, label in rows:
        z = bias + sum(weight[i] for i in featurize(text, vocab, max_n))
        correct += int((z >= 0) == (label == 1))
    return correct / len(rows) if rows else 0.0


def main():
    p = argparse.ArgumentParser(description="Train the sentiment demo model.")
    p.add_argument("--train", default=str(ROOT / "data" / "train.csv"))
    p.add_argument("--eval", default=str(ROOT / "data" / "eval.csv"))
    p.add_argument("--out", default=str(ROOT / "model"))
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--learning-rate", type=float, default=0.2)
    p.add_argument("--l2", type=float, default=0.001)
    p.add_argument("--min-count", type=int, default=1)
    p.add_argument("--max-ngram", type=int, default=2)
    p.add_argument("--seed", type=int, default=42)
    args = p.parse_args()

    train_rows = read_csv(args.train)
    eval_rows = read_csv(args.eval)
    vocab = build_vocab([t for t, _ in train_rows], args.min_count, args.max_ngram)
    examples = [(featurize(t, vocab, args.max_ngram), y) for t, y in train_rows]
    print(f"training on {len(train_rows)} sentences, {len(vocab)} features "
          f"(unigrams+bigrams up to n={args.max_ngram}, min count {args.min_count})")

    rng = random.Random(args.seed)
    weight = [0.0] * len(vocab)
    bias = 0.0
    lr, l2 = args.learning_rate, args.l2
    order = list(range(len(examples)))
    for epoch in range(1, args.epochs + 1):
        rng.shuffle(order)
        loss = 0.0
        for k in order:
            feats, y = examples[k]
            z = bias + sum(weight[i] for i in feats)
            prob = sigmoid(z)
            # log-loss, clamped for display only
            pc = min(max(prob, 1e-12), 1 - 1e-12)
            loss -= y * math.log(pc) + (1 - y) * math.log(1 - pc)
            g = prob - y
            bias -= lr * g
            # L2 decay is applied lazily to the features seen in this example (sparse SGD)
            for i in feats:
                weight[i] -= lr * (g + l2 * weight[i])
        if epoch == 1 or epoch % 10 == 0 or epoch == args.epochs:
            tr = accuracy(train_rows, weight, bias, vocab, args.max_ngram)
            print(f"epoch {epoch:3d}  loss {loss / len(examples):.4f}  train accuracy {tr:.3f}")

    train_acc = accuracy(train_rows, weight, bias, vocab, args.max_ngram)
    eval_acc = accuracy(eval_rows, weight, bias, vocab, args.max_ngram)
    print(f"train accuracy: {train_acc:.3f} ({round(train_acc * len(train_rows))}/{len(train_rows)})")
    print(f"eval accuracy:  {eval_acc:.3f} ({round(eval_acc * len(eval_rows))}/{len(eval_rows)})")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    metadata = {
        "model_type": "bag-of-words-logistic-regression",
        "epochs": args.epochs,
        "learning_rate": args.learning_rate,
        "l2": args.l2,
        "min_count": args.min_count,
        "max_ngram": args.max_ngram,
        "seed": args.seed,
        "train_examples": len(train_rows),
        "eval_accuracy": f"{eval_acc:.4f}",
    }
    save_safetensors(out / "sentiment.safetensors",
                     {"weight": ([len(weight)], weight), "bias": ([1], [bias])},
                     metadata)
    with open(out / "vocab.json", "w", encoding="utf-8") as f:
        json.dump({
            "type": "bag-of-words",
            "lowercase": True,
            "token_pattern": r"[a-z0-9]+(?:'[a-z]+)?",
            "max_ngram": args.max_ngram,
            "ngram_separator": " ",
            "vocab": vocab,
        }, f, indent=1, sort_keys=False, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {out / 'sentiment.safetensors'} and {out / 'vocab.json'}")


if __name__ == "__main__":
    main()
