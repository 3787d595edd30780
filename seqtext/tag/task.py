"""The tagging task: what the shared session needs to train a TaggerNet.

Vocabularies come from the training sentences (``vocab.json``); each epoch
reads them in shuffled padded batches, a share of the words (``word_dropout``)
read as unknown so the unknown-word embedding is learnt; the loss is
cross-entropy over the words, the headline validation token accuracy.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from seqtext import distributed
from seqtext.labelconfig import TagSettings
from seqtext.errors import DataError
from seqtext.model import Task
from seqtext.packing import held_out
from seqtext.sources import check_same_data, with_digests
from seqtext.classify.data import source_path
from seqtext.tag.data import check_pairs, read_tagged
from seqtext.tag.encoding import Encoded
from seqtext.tag.vocab import Vocab
from seqtext.tag.net import TaggerNet
from seqtext.transfer import StartsFromLanguageModel

VOCAB_FILE = "vocab.json"
DATA = {"train": ("training data", "data"), "dev": ("dev file", "dev")}  # recorded sources: seqtext.sources


class TagTask(StartsFromLanguageModel, Task):
    """Many-to-many: one tag per word."""

    settings_class = TagSettings
    kind = "tag"
    headline = "accuracy"
    files = (VOCAB_FILE,)

    def __init__(self, settings):
        super().__init__(settings)
        self.vocab: Vocab | None = None
        self.net: TaggerNet | None = None
        self.sources: dict = {}
        self.train: Encoded | None = None
        self.valid: Encoded | None = None

    # ------------------------------------------------------------------ data

    def read(self, source, name: str) -> tuple[list[list[str]], list[list[str]], list]:
        """(sentences, tags, where each is) from a file (each word's "FILE line N") or (words, tags) pairs (the
        sentence's "NAME sentence N")."""
        path = source_path(source)
        if path is not None:
            pairs, lines = read_tagged(source, self.settings.tag.column)
            where = [[f"{source} line {n}" for n in numbers] for numbers in lines]
        else:
            pairs = check_pairs(source, name)
            where = [f"{name} sentence {i}" for i in range(1, len(pairs) + 1)]
        return [w for w, _ in pairs], [t for _, t in pairs], where

    def encode(self, sentences, tags=None, where=None) -> Encoded:
        ids = None
        if tags is not None:
            ids = [self.vocab.tag_ids(t, w) for t, w in zip(tags, where)]
        return Encoded(self.vocab, sentences, ids)

    def prepare(self, data: dict, fresh: bool) -> None:
        train, dev = data["train"], data.get("dev")
        sources = {"train": source_path(train), "dev": source_path(dev) if dev is not None else None}
        self.sources = with_digests(sources, DATA) if fresh else check_same_data(self.sources, sources, DATA)
        words, tags, where = self.read(train, "training")
        if dev is not None:
            valid = self.read(dev, "validation")
        else:
            held = held_out(len(words), self.settings.train.valid_fraction, self.settings.train.seed)
            valid = tuple([x for i, x in enumerate(part) if i in held] for part in (words, tags, where))
            words, tags, where = ([x for i, x in enumerate(part) if i not in held] for part in (words, tags, where))
        tagged = [i for i, row in enumerate(tags) if any(t is not None for t in row)]
        if len(tagged) < len(tags) and tagged:  # a sentence with no tag at all (UPOS "_" throughout) teaches nothing
            words, tags, where = ([part[i] for i in tagged] for part in (words, tags, where))
        if fresh:
            held = [t for row in valid[1] for t in row] if dev is None else []  # the share held out of the file
            self.vocab = Vocab.build(zip(words, tags), held)
            if len(self.vocab.tags) < 2:
                where = train if self.sources["train"] else "the training sentences"
                if not self.vocab.tags:
                    raise DataError(f"no word in {where} has a tag (every one is '_', not annotated); give a "
                                    "tagged file, or another {column}.", params=["column"])
                raise DataError(f"every tag in {where} is {self.vocab.tags[0]!r}; a tagger needs at least two "
                                "different tags.")
            self.open_start(self.settings.tag)  # a language model to start from decides the sizes
        self.train = self.encode(words, tags, where)
        self.valid = self.encode(*valid) if valid[0] else None
        if self.valid is not None and all(t is None for row in valid[1] for t in row):
            raise DataError(f"no word of {dev if dev is not None else 'the validation share'} has a tag (every "
                            "one is '_', not annotated); give a tagged {dev} file.", params=["dev"])

    def recorded_data(self, path) -> dict:
        if not self.sources.get("train"):
            raise DataError(f"{path} was trained on sentences given in Python; pass the data to resume().")
        return {"train": Path(self.sources["train"]),
                "dev": Path(self.sources["dev"]) if self.sources.get("dev") else None}

    # --------------------------------------------------------------- training

    def build(self) -> TaggerNet:
        v = self.vocab
        net = TaggerNet(len(v.words), len(v.chars), len(v.tags), self.settings.tag, self.settings.core)
        self.copy_start(net, v.word_id, 0)
        self.net = net
        return net

    def batches(self, epoch: int, generator: torch.Generator):
        self.unfreeze(self.net, epoch, self.settings.tag)
        world = distributed.world_size()
        order = torch.randperm(len(self.train), generator=generator).tolist()
        for rows in self.train.batches(self.settings.train.batch_size, order):
            if len(rows) >= world:
                yield self.train.batch(distributed.shard_rows(torch.tensor(rows)).tolist())

    def loss(self, runner, batch) -> torch.Tensor:
        words, forms, chars, lengths, tags = batch
        p = self.settings.tag.word_dropout
        if p > 0:
            words = words.masked_fill((torch.rand(words.shape) < p) & (words > 0), 1)
        dev = self.device
        logits = runner(words.to(dev), forms.to(dev), chars.to(dev), lengths)
        return F.cross_entropy(logits.flatten(0, 1), tags.to(dev).flatten(), ignore_index=-100)

    def units(self, batch) -> int:
        return int((batch[-1] != -100).sum())  # the words with a tag to learn

    def evaluate(self, net) -> dict | None:
        if self.valid is None:
            return None
        total, correct, loss = 0, 0, 0.0
        for rows in self.valid.batches(256):
            words, forms, chars, lengths, tags = self.valid.batch(rows)
            logits = net(words.to(self.device), forms.to(self.device), chars.to(self.device), lengths).float().cpu()
            keep = tags != -100
            loss += F.cross_entropy(logits[keep], tags[keep], reduction="sum").item()
            correct += (logits.argmax(-1)[keep] == tags[keep]).sum().item()
            total += int(keep.sum())
        return {"loss": loss / total, "accuracy": correct / total}

    @torch.no_grad()
    def predict_logits(self, net, encoded: Encoded) -> list[torch.Tensor]:
        """The tag logits (words, tags) of every sentence, read in batches of similar length (order kept)."""
        out: list = [None] * len(encoded)
        for rows in encoded.batches(256):
            words, forms, chars, lengths, _ = encoded.batch(rows)
            logits = net(words.to(self.device), forms.to(self.device), chars.to(self.device), lengths).float().cpu()
            for k, i in enumerate(rows):
                out[i] = logits[k, :int(lengths[k])]
        return out

    def predict_ids(self, net, encoded: Encoded) -> list[list[int]]:
        """The likeliest tag id of every word of every sentence."""
        return [logits.argmax(-1).tolist() for logits in self.predict_logits(net, encoded)]

    def steps_per_epoch(self) -> int:
        return -(-len(self.train) // self.settings.train.batch_size)

    def sizes(self) -> dict:
        sizes = {"train_sentences": len(self.train), "train_words": sum(map(len, self.train.words))}
        if self.valid is not None:
            # the words the accuracy is over: a word whose tag is not annotated (UPOS "_") is not scored
            scored = sum(tag != -100 for row in self.valid.tags for tag in row)
            sizes.update(valid_sentences=len(self.valid), valid_words=scored)
        return sizes

    # ---------------------------------------------------------- model directory

    def record(self) -> dict:
        return {"data": self.sources, **self.transfer_record()}

    def write_files(self, directory: Path) -> None:
        self.vocab.save(directory / VOCAB_FILE)

    def read_files(self, directory: Path, config: dict) -> None:
        self.vocab = Vocab.load(directory / VOCAB_FILE)
        self.sources = config.get("data") or {}
        self.read_transfer(config)
