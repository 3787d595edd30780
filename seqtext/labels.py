"""Scores of predicted labels against gold ones: what classification and tagging report.

Accuracy, per-label precision / recall / F1 (with support), their macro
average and the confusion matrix, from two equal-length sequences of label
strings.  Plain Python: no torch.
"""

from __future__ import annotations

from collections.abc import Sequence


def label_report(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> dict:
    """``accuracy``, ``macro_f1``, ``per_label`` {label: precision, recall, f1, support} and ``confusion``
    (rows: gold label, columns: predicted label, in the order of ``labels``)."""
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted labels differ in number")
    labels = list(labels)
    index = {label: i for i, label in enumerate(labels)}
    confusion = [[0] * len(labels) for _ in labels]
    for g, p in zip(gold, predicted):
        confusion[index[g]][index[p]] += 1
    correct = sum(confusion[i][i] for i in range(len(labels)))
    per_label = {}
    for i, label in enumerate(labels):
        true_pos = confusion[i][i]
        said = sum(row[i] for row in confusion)
        support = sum(confusion[i])
        precision = true_pos / said if said else 0.0
        recall = true_pos / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_label[label] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
    present = [label for label in labels if per_label[label]["support"] or any(p == label for p in predicted)]
    macro = sum(per_label[label]["f1"] for label in present) / len(present) if present else 0.0
    return {"accuracy": correct / len(gold) if len(gold) else 0.0, "macro_f1": macro, "per_label": per_label,
            "labels": labels, "confusion": confusion, "count": len(gold)}
