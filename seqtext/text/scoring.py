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
from seqtext.core import map_hidden
from seqtext.errors import DataError
from seqtext.session import sum_dtype
from seqtext.text import stream
from seqtext.text import tokenizer as tk
from seqtext.text import records
from seqtext.text.corpus import sentence_batches
from seqtext.text.records import Scores


def encode_lines(tokenizer, lines: list[str], stream_mode: bool = False) -> tuple[list[list[int]], list[list[int]]]:
    """Ids framed as <s> ... </s> (``stream_mode``: as a stream-mode model reads a line alone, ``tk.line_ids``),
    and for each line the target positions of its last word."""
    if not lines:
        return [], []
    bos, eos = tk.line_ids(tokenizer, stream_mode)
    seqs, last = [], []
    for line, enc in zip(lines, tokenizer.encode_batch(lines, add_special_tokens=False)):
        seqs.append([bos, *enc.ids, eos])
        last.append(last_word_tokens(line, enc))  # target index of token i is i (inputs start with <s>)
    return seqs, last


def last_word_tokens(line: str, enc) -> list[int]:
    """The indices in ``enc`` (the line's encoding) of the tokens of its last word ([] when it has none)."""
    words = [w for w, (s, e) in zip(enc.word_ids, enc.offsets) if tk.is_wordlike(line[s:e])]
    last_word = words[-1] if words else None
    return [i for i, w in enumerate(enc.word_ids) if w is not None and w == last_word]


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


MIN_SCORED_ROW = 1000  # tokens


@torch.no_grad()
def score_stream(net, ids, bptt: int, device, batch_size: int = 10, precision: str = "fp32") -> dict:
    """Loss, perplexity and next-word accuracy over a token stream, state carried across windows.

    ``precision`` "bf16": the matrix products in bf16 under autocast, the softmax in float32.
    """
    if len(ids) < 2:  # the first token is read, never predicted: nothing to score after it
        raise DataError(f"the text holds {len(ids)} token{'' if len(ids) == 1 else 's'}, too few to score (each is "
                        "predicted from those before it); give more text.")
    was_training = net.training
    net.eval()
    # parallel rows of at least MIN_SCORED_ROW tokens: each row after the first starts from a zero state, which a
    # text of a few lines split ten ways would feel at a third of its tokens (PTB's files still read in 10 rows)
    rows = max(distributed.world_size(), (len(ids) - 1) // MIN_SCORED_ROW)  # and a row for every process
    rows = max(1, min(batch_size, rows, len(ids) - 1))
    streams, tail = stream.scoring_rows(ids, rows)  # (B, N+1), (R,): every token after the first is a target
    nll = torch.zeros((), dtype=sum_dtype(device), device=device)
    correct = torch.zeros((), dtype=torch.long, device=device)
    tokens = 0

    def read(streams, hidden):
        nonlocal nll, correct, tokens
        for x, y in stream.bptt_windows(streams, bptt):
            x, y = x.to(device), y.to(device)  # (B, T)
            window_nll, hits, hidden = net.score_window(x, y, hidden)
            nll += window_nll
            correct += hits
            tokens += y.numel()
        return hidden

    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
        hidden = read(distributed.shard_rows(streams), None)
        if len(tail) > 1 and distributed.owns_row(rows - 1):  # the tail continues the last row: its rank reads it
            read(tail[None], map_hidden(hidden, lambda h: h[:, -1:].contiguous()))  # (L, 1, H)
    net.train(was_training)
    nll, tokens, correct = distributed.sum_across([nll.item(), tokens, int(correct)])
    return {**_summary(nll, tokens, correct), "tokens": int(tokens)}


# ------------------------------------------------------------------ per-sentence scores

MAX_SCORE_WINDOW = 512  # tokens of one sentence read at once; longer ones carry the state across windows
# tokens (batch x window) per forward pass: bounds the (B, T, V) distribution in memory, and small enough to
# stay in cache: on PTB's test file 4,096 gave 4,400 tokens/s, 512 gave 7,100 (scripts/bench_score.py)
SCORE_BUDGET = 512


@torch.no_grad()
def token_logprobs(net, seqs: list[list[int]], device, hits: list | None = None) -> list[torch.Tensor]:
    """For each framed sequence, the log-probability of each of its tokens after the first (natural log);
    ``hits``, a list, receives for each sequence whether each token was the likeliest (bool).

    Sequences are batched by length (padded) within a token budget; one longer
    than ``MAX_SCORE_WINDOW`` is read in windows with the hidden state carried,
    so a 100,000-word line is scored in bounded memory.
    """
    was_training = net.training
    net.eval()
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
    out: list[torch.Tensor | None] = [None] * len(seqs)
    found: list[torch.Tensor | None] = [None] * len(seqs)
    start = 0
    while start < len(order):
        longest = len(seqs[order[start]]) - 1
        width = min(longest, MAX_SCORE_WINDOW)
        count = max(1, SCORE_BUDGET // max(width, 1))
        group = order[start:start + count]
        longest = max(len(seqs[i]) - 1 for i in group)
        x = torch.full((len(group), longest), net.pad_id, dtype=torch.long)  # (B, T)
        y = torch.full((len(group), longest), net.pad_id, dtype=torch.long)
        for row, i in enumerate(group):
            x[row, : len(seqs[i]) - 1] = torch.tensor(seqs[i][:-1])
            y[row, : len(seqs[i]) - 1] = torch.tensor(seqs[i][1:])
        x, y = x.to(device), y.to(device)
        pieces, best, hidden = [], [], None
        for t in range(0, longest, MAX_SCORE_WINDOW):
            logits, _, hidden = net(x[:, t:t + MAX_SCORE_WINDOW], hidden=hidden)  # (B, T', V)
            logp = logits if net.adaptive else torch.log_softmax(logits.float(), dim=-1)
            pieces.append(logp.gather(2, y[:, t:t + MAX_SCORE_WINDOW, None]).squeeze(2).cpu())  # (B, T')
            if hits is not None:
                best.append((logp.argmax(-1) == y[:, t:t + MAX_SCORE_WINDOW]).cpu())
        logp = torch.cat(pieces, dim=1).double()  # (B, T)
        right = torch.cat(best, dim=1) if hits is not None else None
        for row, i in enumerate(group):
            out[i] = logp[row, : len(seqs[i]) - 1]
            if hits is not None:
                found[i] = right[row, : len(seqs[i]) - 1]
        start += len(group)
    net.train(was_training)
    if hits is not None:
        hits.extend(found)
    return out


def score(net, tokenizer, sentences: list[str], stream_mode: bool, device, surprisal: bool = False,
          accuracy: dict | None = None) -> Scores:
    """The log-probability, token count, perplexity and unknown words of each sentence, read alone.

    ``accuracy``, a dict, receives the same reading's next-word ``accuracy`` and ``last_word_accuracy`` (the
    sentences with a word whose last word's tokens were all the likeliest), as :func:`score_sentences` counts."""
    seqs, last = encode_lines(tokenizer, sentences, stream_mode)  # framed as records.frame frames one sentence
    hits = [] if accuracy is not None else None
    logps = [lp.numpy() for lp in token_logprobs(net, seqs, device, hits)]
    if accuracy is not None:
        accuracy["accuracy"] = sum(int(h.sum()) for h in hits) / max(sum(len(h) for h in hits), 1)
        worded = [bool(h[p].all()) for h, p in zip(hits, last) if p]  # the target index of token i is i
        if worded:
            accuracy["last_word_accuracy"] = sum(worded) / len(worded)
    return records.build(tokenizer, sentences, seqs, logps, surprisal)
