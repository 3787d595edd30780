"""The graphs of a classifier and a tagger, traced without padding.

Classification (``kind: classify``)::

    classify.onnx  ids (B, T) int64, every row T tokens long -> logits (B, labels)

Tagging (``kind: tag``)::

    tag.onnx  words (B, T) int64 lower-cased word ids [, chars (B, T, C) int64 character ids of each form]
              -> logits (B, T, tags)

The torch models pack padded batches so that padding reaches no state; a
graph instead reads rows of one length (the runtime groups texts by
length), which is the same computation without the packing, for either
direction of a bidirectional core.  Character rows may be padded with 0:
the character CNN masks them, as in training.
"""

from __future__ import annotations

from pathlib import Path

from seqtext.export.trace import run_export


def export_classify(model, out: Path) -> dict:
    import torch

    net = model.net.eval()

    class Graph(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self, ids):  # (B, T)
            out, hidden = self.net.core(self.net.embed(ids))  # (B, T, D*H)
            lengths = (ids >= 0).sum(1)  # (B,) every row is whole: T each, traced as a function of the input
            return self.net.head(self.net.pool(out, hidden, lengths))  # (B, labels)

    ids = torch.ones(2, 5, dtype=torch.long)
    run_export(Graph().eval(), (ids,), out / "classify.onnx", ["ids"], ["logits"],
               {"ids": {0: "batch", 1: "time"}, "logits": {0: "batch"}})
    return {"graphs": {"classify": "classify.onnx"}, "labels": list(model.labels), "pooling": net.pooling,
            "tokenizer": "tokenizer.json", "labels_file": "labels.json"}


def export_tag(model, out: Path) -> dict:
    import torch

    net = model.net.eval()
    chars = net.chars is not None

    class Graph(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self, words, chars=None):  # (B, T), (B, T, C)
            x = self.net.embed(words)  # (B, T, E)
            if chars is not None:
                feats = self.net.chars(chars.flatten(0, 1))  # (B*T, K)
                x = torch.cat([x, feats.view(words.shape[0], words.shape[1], -1)], dim=-1)  # (B, T, E+K)
            out, _ = self.net.core(x)  # (B, T, D*H)
            return self.net.head(out)  # (B, T, tags)

    words = torch.ones(2, 5, dtype=torch.long)
    args, inputs = (words,), ["words"]
    dynamic = {"words": {0: "batch", 1: "time"}, "logits": {0: "batch", 1: "time"}}
    if chars:
        args, inputs = (words, torch.ones(2, 5, 4, dtype=torch.long)), ["words", "chars"]
        dynamic["chars"] = {0: "batch", 1: "time", 2: "letters"}
    run_export(Graph().eval(), args, out / "tag.onnx", inputs, ["logits"], dynamic)
    return {"graphs": {"tag": "tag.onnx"}, "tags": list(model.tags), "chars": chars, "vocab": "vocab.json"}
