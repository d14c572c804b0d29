"""Fine-tune a linear regression model with plain-Python SGD.

Reads the base model and datasets from $KIT_INPUT_DIR (the unpacked ModelKit), writes the trained
model and its metrics to $KIT_OUTPUT_DIR. Deterministic for a given seed; no third-party packages.
"""
import csv
import json
import os
import random
import sys


def load(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    xs = [[float(r["x1"]), float(r["x2"]), float(r["x3"])] for r in rows]
    ys = [float(r["y"]) for r in rows]
    return xs, ys


def predict(model, x):
    return sum(w * v for w, v in zip(model["weights"], x)) + model["bias"]


def mse(model, xs, ys):
    return sum((predict(model, x) - y) ** 2 for x, y in zip(xs, ys)) / len(ys)


def main():
    inputs = os.environ.get("KIT_INPUT_DIR", ".")
    outputs = os.environ.get("KIT_OUTPUT_DIR", "out")
    epochs = int(os.environ.get("EPOCHS", "20"))
    rate = float(os.environ.get("LEARNING_RATE", "0.05"))
    random.seed(int(os.environ.get("SEED", "42")))

    with open(os.path.join(inputs, "model", "base.json")) as f:
        model = json.load(f)
    train_x, train_y = load(os.path.join(inputs, "data", "train.csv"))
    eval_x, eval_y = load(os.path.join(inputs, "data", "eval.csv"))
    print(f"base model: eval mse {mse(model, eval_x, eval_y):.4f}", flush=True)

    order = list(range(len(train_y)))
    for epoch in range(1, epochs + 1):
        random.shuffle(order)
        for i in order:
            err = predict(model, train_x[i]) - train_y[i]
            model["weights"] = [w - rate * err * v for w, v in zip(model["weights"], train_x[i])]
            model["bias"] -= rate * err
        print(f"epoch {epoch}/{epochs}: train mse {mse(model, train_x, train_y):.5f}", flush=True)

    model["trained_epochs"] = model.get("trained_epochs", 0) + epochs
    os.makedirs(os.path.join(outputs, "model"), exist_ok=True)
    with open(os.path.join(outputs, "model", "model.json"), "w") as f:
        json.dump(model, f, indent=2, sort_keys=True)
        f.write("\n")
    metrics = {"eval_mse": round(mse(model, eval_x, eval_y), 6), "epochs": epochs}
    with open(os.path.join(outputs, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2, sort_keys=True)
        f.write("\n")
    print(f"trained: eval mse {metrics['eval_mse']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
