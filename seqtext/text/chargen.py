"""Completion for a character model on torch: characters joined as they come (``seqtext.text.chars``).

Repetition control is off unless asked for: over characters, a 4-gram ban
forbids every common word and ending after its first use.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from seqtext.core import map_hidden
from seqtext.text import chars
from seqtext.text import tokenizer as tk
from seqtext.text.decoding import Repetition, choose, ends_line
from seqtext.text.generate import Completer


class CharCompleter(chars.CharCompletion, Completer):
    """:class:`~seqtext.text.generate.Completer` for a character model: continuation only (no blank)."""

    @torch.inference_mode()
    def stream(self, prompt: str, words: int = 20, temperature: float | None = None, top_k: int | None = None,
               top_p: float | None = None, seed: int | None = None, stop: bool = True,
               no_repeat_ngram: int | None = None, repetition_penalty: float | None = None) -> Iterator[str]:
        """The text each new character adds (with the white space before it); joined, what complete adds."""
        sample = self._options(words, temperature, top_k, top_p, seed, no_repeat_ngram, repetition_penalty,
                               stop)["sample"]
        logits, hidden, ids = self._prefix_state(chars.check_prompt(prompt))
        repetition = Repetition.of_text(self.tokenizer, no_repeat_ngram, repetition_penalty, ids)
        end = self.tokenizer.token_to_id(tk.EOS)
        eos = None if self.stream_mode else end
        # a stream-mode model writes no </s>; a sentence-mode one's written on (stop=False) never comes right after
        # another line end, the prompt's too: no empty line
        line_banned = torch.tensor(self._banned() + [end], device=self.device)
        banned = line_banned if eos is None else torch.tensor(self._banned(), device=self.device)
        state = {"hidden": hidden, "line_ended": not stop and ends_line(prompt)}

        def pick(logits):
            logits = logits.index_fill(0, line_banned if state["line_ended"] else banned, -torch.inf)
            if repetition.active:
                logits = repetition.apply(logits)
                if not bool(torch.isfinite(logits).any()):
                    return None
            return choose(logits, **sample)

        def advance(tid):
            repetition.push(tid)
            state["line_ended"] = tid == eos
            if tid == eos:  # a sentence-mode model read each line alone: the next from <s>, from a zero state
                tid, state["hidden"] = tk.line_ids(self.tokenizer, False)[0], map_hidden(state["hidden"],
                                                                                         torch.zeros_like)
            step, state["hidden"] = self.net.step(torch.tensor([tid], device=self.device), state["hidden"])
            return step[0]

        yield from chars.write_chars(self.tokenizer, logits, pick, advance, words, stop, eos)
