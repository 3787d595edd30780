"""An exported character model without torch: ``seqtext.text.chargen`` on numpy and onnxruntime."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from seqtext.export import npdecode
from seqtext.export.textrun import OnnxTextModel
from seqtext.text import chars
from seqtext.text import tokenizer as tk
from seqtext.text.decoding import Repetition, ends_line


class OnnxCharTextModel(chars.CharCompletion, OnnxTextModel):
    """:class:`~seqtext.export.textrun.OnnxTextModel` for a character model: continuation only (no blank)."""

    def stream(self, prompt: str, words: int = 20, temperature: float | None = None, top_k: int | None = None,
               top_p: float | None = None, seed: int | None = None, stop: bool = True,
               no_repeat_ngram: int | None = None, repetition_penalty: float | None = None) -> Iterator[str]:
        """The text each new character adds; joined, what ``complete`` adds."""
        sample = self._options(words, temperature, top_k, top_p, seed, no_repeat_ngram, repetition_penalty, stop)
        scores, state, ids = self._prefix_state(chars.check_prompt(prompt))
        repetition = Repetition.of_text(self.tokenizer, no_repeat_ngram, repetition_penalty, ids)
        eos = None if self.stream_mode else self._eos
        line_banned = self._banned + [self._eos]  # as CharCompleter's: no </s> in stream mode, no empty line
        banned = line_banned if eos is None else self._banned
        held = {"state": state, "line_ended": not stop and ends_line(prompt)}

        def pick(scores):
            scores = np.array(scores, copy=True)
            scores[line_banned if held["line_ended"] else banned] = -math.inf
            if repetition.active:
                scores = npdecode.apply_repetition(repetition, scores)
                if not np.isfinite(scores).any():
                    return None
            return npdecode.choose(scores, **sample)

        def advance(tid):
            repetition.push(tid)
            held["line_ended"] = tid == eos
            if tid == eos:  # a sentence-mode model read each line alone: the next from <s>, from a zero state
                tid, held["state"] = tk.line_ids(self.tokenizer, False)[0], [np.zeros_like(s) for s in held["state"]]
            step, held["state"] = self.net.step([tid], held["state"])
            return step[0]

        yield from chars.write_chars(self.tokenizer, scores, pick, advance, words, stop, eos)
