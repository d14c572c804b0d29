"""The fine-tune example in PyTorch, for GPU hosts: same data, same model, same outputs.

Uses the GPUs `kit run` granted (CUDA_VISIBLE_DEVICES by UUID); falls back to the CPU when none
were granted, so the script itself runs anywhere PyTorch does.
"""
import csv
import json
import os
import sys

import torch


def load(path, device):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    x = torch.tensor([[float(r["x1"]), float(r["x2"]), float(r["x3"])] for r in rows], device=device)
    y = torch.tensor([float(r["y"]) for r in rows], device=device)
    return x, y


def main():
    inputs = os.environ.get("KIT_INPUT_DIR", ".")
    outputs = os.environ.get("KIT_OUTPUT_DIR", "out")
    epochs = int(os.environ.get("EPOCHS", "200"))
    torch.manual_seed(int(os.environ.get("SEED", "42")))
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    name = torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu"
    print(f"device: {name} (CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', '')})", flush=True)

    with open(os.path.join(inputs, "model", "base.json")) as f:
        base = json.load(f)
    layer = torch.nn.Linear(3, 1).to(device)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([base["weights"]], device=device))
        layer.bias.copy_(torch.tensor([base["bias"]], device=device))
    train_x, train_y = load(os.path.join(inputs, "data", "train.csv"), device)
    eval_x, eval_y = load(os.path.join(inputs, "data", "eval.csv"), device)
    opt = torch.optim.SGD(layer.parameters(), lr=float(os.environ.get("LEARNING_RATE", "0.1")))
    for epoch in range(1, epochs + 1):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(layer(train_x).squeeze(1), train_y)
        loss.backward()
        opt.step()
        if epoch % 50 == 0 or epoch == epochs:
            print(f"epoch {epoch}/{epochs}: train mse {loss.item():.5f}", flush=True)
    with torch.no_grad():
        eval_mse = torch.nn.functional.mse_loss(layer(eval_x).squeeze(1), eval_y).item()
    model = {
        "weights": [round(v, 6) for v in layer.weight.squeeze(0).tolist()],
        "bias": round(layer.bias.item(), 6),
        "trained_epochs": base.get("trained_epochs", 0) + epochs,
        "device": name,
    }
    os.makedirs(os.path.join(outputs, "model"), exist_ok=True)
    with open(os.path.join(outputs, "model", "model.json"), "w") as f:
        json.dump(model, f, indent=2, sort_keys=True)
        f.write("\n")
    with open(os.path.join(outputs, "metrics.json"), "w") as f:
        json.dump({"eval_mse": round(eval_mse, 6), "epochs": epochs, "device": name}, f, indent=2, sort_keys=True)
        f.write("\n")
    print(f"trained: eval mse {eval_mse:.6f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
