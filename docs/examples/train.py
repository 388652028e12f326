#!/usr/bin/env python3
"""A Flywheel command trainer written only against the training job contract.

Flywheel's job wrapper (`flywheel job run`) prepares a work directory and runs this script with:

  FLYWHEEL_DATASET_DIR     manifest.jsonl (one item a line: id, asset, content_type, label, split) and assets/
  FLYWHEEL_BASE_MODEL_DIR  model.json and model.pt of the version being improved
  FLYWHEEL_OUTPUT_DIR      where the new model.json, model.pt and metrics.json go
  FLYWHEEL_PARAMS          the run's hyper-parameters as JSON, e.g. {"epochs": 20, "learning_rate": 0.01}

Whatever this script prints is the run's console; exit status 0 means success. Flywheel then registers the
output as a new version of the model, with the base version, the run and the datasets as its lineage.

It fine-tunes a TorchScript classifier on features ({"features": [...]}) or on PNG/JPEG images, using the
preprocessing model.json declares (resize, scale to 0..1, normalise with mean/std), and reports the base
model's and the new model's accuracy on the validation split.

Plug it in with:
  PUT /api/deployments/{d}/continuous-training
  {"trainer": {"type": "command", "command": ["/usr/bin/python3", "/path/to/train.py"],
               "params": {"epochs": 20}}, ...}
"""
import io
import json
import os
import random
import shutil
import sys

import torch


def main():
    dataset = os.environ["FLYWHEEL_DATASET_DIR"]
    base = os.environ["FLYWHEEL_BASE_MODEL_DIR"]
    output = os.environ["FLYWHEEL_OUTPUT_DIR"]
    params = json.loads(os.environ.get("FLYWHEEL_PARAMS") or "{}")
    epochs = int(params.get("epochs", 20))
    lr = float(params.get("learning_rate", 0.01))
    batch_size = int(params.get("batch_size", 32))
    seed = int(params.get("seed", 42))
    random.seed(seed)
    torch.manual_seed(seed)

    with open(os.path.join(base, "model.json")) as f:
        meta = json.load(f)
    if meta["format"] != "torchscript":
        sys.exit("this example trains TorchScript models; the base is " + meta["format"])
    labels = meta["labels"]
    model = torch.jit.load(os.path.join(base, "model.pt"))

    train, validation = [], []
    with open(os.path.join(dataset, "manifest.jsonl")) as f:
        for line in f:
            if not line.strip():
                continue
            item = json.loads(line)
            if item["label"] not in labels:
                sys.exit("item %s has label %r, which the model does not have (%s)" % (item["id"], item["label"], labels))
            x = load_input(os.path.join(dataset, item["asset"]), item["content_type"], meta["input"])
            (validation if item["split"] == "validation" else train).append((x, labels.index(item["label"])))
    if not train:
        sys.exit("the dataset has no training items")
    if not validation:
        random.shuffle(train)
        cut = max(1, len(train) // 5)
        validation, train = train[:cut], train[cut:]
        print("no validation split: holding out %d training items" % len(validation))
    print("training on %d items, validating on %d; labels %s" % (len(train), len(validation), labels))

    probabilities = meta.get("output") == "probabilities"
    base_accuracy = accuracy(model, validation)
    print("base model validation accuracy: %.4f" % base_accuracy)

    model.train()
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    for epoch in range(1, epochs + 1):
        random.shuffle(train)
        total = 0.0
        for start in range(0, len(train), batch_size):
            batch = train[start:start + batch_size]
            x = torch.stack([b[0] for b in batch])
            y = torch.tensor([b[1] for b in batch])
            out = model(x)
            loss = (torch.nn.functional.nll_loss(torch.log(out.clamp_min(1e-7)), y) if probabilities
                    else torch.nn.functional.cross_entropy(out, y))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += loss.item() * len(batch)
        model.eval()
        print("epoch %d/%d loss %.4f validation accuracy %.4f" % (epoch, epochs, total / len(train),
                                                                   accuracy(model, validation)))
        model.train()
    model.eval()
    new_accuracy = accuracy(model, validation)

    os.makedirs(output, exist_ok=True)
    torch.jit.save(model, os.path.join(output, "model.pt"))
    shutil.copy(os.path.join(base, "model.json"), os.path.join(output, "model.json"))
    metrics = {"val_accuracy": new_accuracy, "base_val_accuracy": base_accuracy,
               "train_items": len(train), "validation_items": len(validation), "epochs": epochs}
    with open(os.path.join(output, "metrics.json"), "w") as f:
        json.dump(metrics, f)
    print("validation accuracy %.4f -> %.4f" % (base_accuracy, new_accuracy))


def load_input(path, content_type, spec):
    with open(path, "rb") as f:
        data = f.read()
    if content_type == "application/json":
        values = json.loads(data)["features"]
        if len(values) != spec["size"]:
            sys.exit("%s has %d features, the model takes %d" % (path, len(values), spec["size"]))
        return torch.tensor(values, dtype=torch.float32)
    from PIL import Image  # only needed for image models
    image = Image.open(io.BytesIO(data)).convert("RGB" if spec["channels"] == 3 else "L")
    image = image.resize((spec["width"], spec["height"]), Image.BILINEAR)
    x = torch.frombuffer(bytearray(image.tobytes()), dtype=torch.uint8).float().div(255)
    x = x.view(spec["height"], spec["width"], spec["channels"]).permute(2, 0, 1)
    mean = torch.tensor(spec.get("mean", [0.0] * spec["channels"])).view(-1, 1, 1)
    std = torch.tensor(spec.get("std", [1.0] * spec["channels"])).view(-1, 1, 1)
    return (x - mean) / std


def accuracy(model, items):
    with torch.no_grad():
        x = torch.stack([i[0] for i in items])
        predicted = model(x).argmax(dim=1)
        return (predicted == torch.tensor([i[1] for i in items])).float().mean().item()


if __name__ == "__main__":
    main()
