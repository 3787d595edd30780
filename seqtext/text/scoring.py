"""How well a language model reads text: loss, perplexity, next-word and last-word accuracy.

Sentence mode scores each line from ``<s>`` to ``</s>`` in padded batches;
stream mode reads running text as parallel streams with the hidden state
carried across BPTT windows.  Under torchrun each rank scores its share and
the sums are reduced.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from seqtext import distributed
from seqtext.text import stream
from seqtext.text import tokenizer as tk
from seqtext.text.corpus import sentence_batches


def encode_lines(tokenizer, lines: list[str]) -> tuple[list[list[int]], list[list[int]]]:
    """Ids framed as <s> ... </s>, and for each line the target positions of its last word."""
    if not lines:
        return [], []
    bos, eos = tokenizer.token_to_id(tk.BOS), tokenizer.token_to_id(tk.EOS)
    seqs, last = [], []
    for line, enc in zip(lines, tokenizer.encode_batch(lines, add_special_tokens=False)):
        seqs.append([bos, *enc.ids, eos])
        # target index of token i is i (inputs start with <s>)
        words = [w for w, (s, e) in zip(enc.word_ids, enc.offsets) if tk.is_wordlike(line[s:e])]
        last_word = words[-1] if words else None
        last.append([i for i, w in enumerate(enc.word_ids) if w is not None and w == last_word])
    return seqs, last


def _summary(nll: float, tokens: int, correct: int) -> dict:
    loss = nll / max(tokens, 1)
    return {"loss": loss, "perplexity": math.exp(min(loss, 50.0)), "accuracy": correct / max(tokens, 1)}


@torch.no_grad()
def score_sentences(net, seqs: list[list[int]], last: list[list[int]], device) -> dict:
    """Loss, perplexity, next-word accuracy and last-word accuracy over framed sequences."""
    was_training = net.training
    net.eval()
    pad = net.pad_id
    if distributed.active():  # each rank scores its share; the sums are reduced below
        r, w = distributed.rank(), distributed.world_size()
        seqs, last = seqs[r::w], last[r::w]
    nll, tokens, correct, last_ok, last_n = 0.0, 0, 0, 0, 0
    row = 0
    for x, y in sentence_batches(seqs, 256, pad, shuffle=False):
        x, y = x.to(device), y.to(device)
        logits, _, _ = net(x)  # (B, T, V)
        mask = y != pad
        nll += F.cross_entropy(logits[mask], y[mask], reduction="sum").item()
        tokens += int(mask.sum())
        hit = (logits.argmax(-1) == y) & mask  # (B, T)
        correct += int(hit.sum())
        hit = hit.cpu()
        for b in range(x.shape[0]):
            positions = last[row]
            if positions:
                last_n += 1
                last_ok += bool(hit[b, positions].all())
            row += 1
    net.train(was_training)
    nll, tokens, correct, last_ok, last_n = distributed.sum_across([nll, tokens, correct, last_ok, last_n])
    metrics = _summary(nll, tokens, correct)
    if last_n:  # sentences without a word (only punctuation) have no last word to score
        metrics["last_word_accuracy"] = last_ok / last_n
    return metrics


@torch.no_grad()
def score_stream(net, ids, bptt: int, device, batch_size: int = 10) -> dict:
    """Loss, perplexity and next-word accuracy over a token stream, state carried across windows."""
    was_training = net.training
    net.eval()
    streams = distributed.shard_rows(stream.batchify(ids, min(batch_size, max(1, (len(ids) - 1) // 2))))
    nll, tokens, correct, hidden = 0.0, 0, 0, None
    for x, y in stream.bptt_windows(streams, bptt):
        x, y = x.to(device), y.to(device)  # (B, T)
        logits, _, hidden = net(x, hidden=hidden)  # (B, T, V)
        nll += F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="sum").item()
        tokens += y.numel()
        correct += int((logits.argmax(-1) == y).sum())
    net.train(was_training)
    nll, tokens, correct = distributed.sum_across([nll, tokens, correct])
    return {**_summary(nll, tokens, correct), "tokens": int(tokens)}
