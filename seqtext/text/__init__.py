"""Text: a next-word language model on the shared recurrent core.

    tokenizer.py   the HuggingFace ``tokenizers`` pipeline: build, train, save, load; word spacing
    corpus.py      corpus files read through ``datasets``, checks, padded sentence batches
    stream.py      running text: a memory-mapped token cache, parallel streams, BPTT windows
    net.py         TextNet: Embedding -> RecurrentCore -> softmax head
    task.py        the language-model task the shared session trains
    scoring.py     perplexity, next-word and last-word accuracy
    decoding.py    greedy, temperature, top-k, top-p
    generate.py    blank filling, continuation, next-word ranking
    chars.py       character models: raw-text streams, bits per character, writing characters back
    chargen.py     completion for a character model
    adaptation.py  the options of test-time adaptation (dynamic evaluation, the neural cache)
    running.py     a text read as one running stream while adapting to it
    dynamic.py     dynamic evaluation: gradient steps on the text read, trained weights put back
    cache.py       the continuous neural cache, for reading and for generation
    model.py       TextModel, the user API

Public names are imported lazily, so ``seqtext.text.tokenizer`` can be used
without importing torch.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "TextModel": "seqtext.text.model",
    "Completion": "seqtext.text.prompts",
    "TextNet": "seqtext.text.net",
    "LanguageModelTask": "seqtext.text.task",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'seqtext.text' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
