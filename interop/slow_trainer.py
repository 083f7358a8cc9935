#!/usr/bin/env python3
"""An external trainer for keyhold's `--trainer-command` protocol, used by the interop tests.

Reads the header and the conversations from stdin, reports one epoch every 0.4 s on stderr
(JSON lines), and writes an artifact in the built-in responder's format to stdout: every
training prompt with its reply, and unit weights for their words."""
import json
import re
import sys
import time

header = json.loads(sys.stdin.readline())
pairs = []
for line in sys.stdin:
    example = json.loads(line)
    if example["split"] != "train":
        continue
    messages = example["messages"]
    prompt = next(m["content"] for m in messages if m["role"] == "user")
    reply = next(m["content"] for m in reversed(messages) if m["role"] == "assistant")
    pairs.append({"prompt": prompt, "response": reply})
print("starting (this line is not JSON and is ignored)", file=sys.stderr, flush=True)
epochs = header["hyperparameters"]["n_epochs"]
for epoch in range(1, epochs + 1):
    time.sleep(0.4)
    print(json.dumps({"epoch": epoch, "step": epoch * len(pairs), "train_loss": 1.0 / epoch,
                      "train_accuracy": 1 - 1.0 / (epoch + 1)}), file=sys.stderr, flush=True)
words = {w for p in pairs for w in re.findall(r"[a-z0-9]+", p["prompt"].lower())}
sys.stdout.write(json.dumps({"format": "keyhold-responder/1", "base_model": header["base_model"],
                             "weights": {w: 1.0 for w in sorted(words)}, "examples": pairs}))
