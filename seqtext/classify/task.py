"""The classification task: what the shared session needs to train a ClassifierNet.

A word tokenizer (the language model's pipeline) is trained on the training
texts, the labels are sorted into ``labels.json``, and each epoch reads the
texts in shuffled padded batches; the loss is cross-entropy, the headline
validation accuracy.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn.functional as F

from seqtext import distributed
from seqtext.classify.data import encode_texts, read_labelled, read_pairs, source_path, whole_label
from seqtext.classify.net import ClassifierNet, adversarial_loss
from seqtext.labelconfig import ClassifySettings
from seqtext.errors import CheckpointError, ConfigError, DataError, is_table, some
from seqtext.model import Task
from seqtext.packing import held_out, pad_rows
from seqtext.sources import check_same_data, with_digests
from seqtext.text import tokenizer as tk
from seqtext.transfer import StartsFromLanguageModel

TOKENIZER_FILE = "tokenizer.json"
LABELS_FILE = "labels.json"
DATA = {"train": ("training data", "data"), "dev": ("dev file", "dev")}  # recorded sources: seqtext.sources


class ClassifyTask(StartsFromLanguageModel, Task):
    """Many-to-one: a text in, one of the training labels out."""

    settings_class = ClassifySettings
    kind = "classify"
    headline = "accuracy"
    files = (TOKENIZER_FILE, LABELS_FILE)

    def __init__(self, settings):
        super().__init__(settings)
        self.tokenizer = None
        self.net = None
        self.labels: list[str] = []
        self.sources: dict = {}
        self.train_rows: list[list[int]] = []
        self.train_targets: list[int] = []
        self.valid_rows: list[list[int]] = []
        self.valid_targets: list[int] = []

    @property
    def pad_id(self) -> int:
        return self.tokenizer.token_to_id(tk.PAD)

    @property
    def monitor(self) -> str:
        return self.settings.classify.monitor

    # ------------------------------------------------------------------ data

    def read(self, source, name: str, need_labels: bool = True, text_column: str | None = None,
             label_column: str | None = None, asked: bool = False) -> tuple[list[str], list[str], list[str]]:
        """(texts, labels, where each is) from a file ("FILE line N"), or from (text, label) pairs given in Python
        ("NAME example N").  A file's columns are ``text_column`` and ``label_column``, else those of training,
        which a file without a header row (text<TAB>label) does without unless ``asked`` (the training file's)."""
        cfg = self.settings.classify
        for option, value in (("text_column", text_column), ("label_column", label_column)):
            if value is not None and not isinstance(value, str):
                raise ConfigError(f"{{{option}}} must be a column name (a string), got {value!r}.", params=[option])
        if source_path(source) is not None:
            recorded = not asked and text_column is None and label_column is None
            texts, labels, lines = read_labelled(source, text_column or cfg.text_column,
                                                 label_column or cfg.label_column, need_labels, recorded)
            return texts, labels, [f"{source} line {n}" for n in lines]
        if is_table(source):
            return read_pairs(source, name, text_column or cfg.text_column, label_column or cfg.label_column)
        return read_pairs(source, name, text_column, label_column)

    def prepare(self, data: dict, fresh: bool) -> None:
        train, dev = data["train"], data.get("dev")
        sources = {"train": source_path(train), "dev": source_path(dev) if dev is not None else None}
        self.sources = with_digests(sources, DATA) if fresh else check_same_data(self.sources, sources, DATA)
        texts, labels, places = self.read(train, "training", asked=True)
        in_file = set(labels)
        if len(in_file) > max(20, len(labels) // 2) and sum(" " in label for label in labels) > len(labels) // 2 \
                and sum(map(len, labels)) > 2 * sum(map(len, texts)):  # labels far longer than the texts
            raise DataError(f"the labels of {train if self.sources['train'] else 'the training examples'} look like "
                            f"texts ({len(in_file)} different, most with spaces): are the columns swapped? Give "
                            "text<TAB>label, or name the columns with {text_column} and {label_column}.",
                            params=["text_column", "label_column"])
        if dev is not None:
            valid_texts, valid_labels, valid_places = self.read(dev, "validation")
        else:
            held = held_out(len(texts), self.settings.train.valid_fraction, self.settings.train.seed)
            (valid_texts, texts), (valid_labels, labels), (valid_places, places) = (
                ([x for i, x in enumerate(xs) if i in held], [x for i, x in enumerate(xs) if i not in held])
                for xs in (texts, labels, places))
        if fresh:
            kinds = sorted(set(labels))
            if len(kinds) < 2:
                where = str(train) if self.sources["train"] else "the training examples"
                if len(in_file) > 1:  # the held-out validation share took the others
                    raise DataError(f"once a validation share is held out, every label left to train on in {where} "
                                    f"is {kinds[0]!r}; give more examples of each label, or a {{dev}} file.",
                                    params=["dev"])
                raise DataError(f"every label in {where} is {kinds[0]!r}; a classifier needs at least two "
                                "different labels.")
            # without a dev file, a label whose few examples all fell in the held-out share is still one of the file's
            self.labels = kinds if dev is not None else sorted(in_file)
            cfg = self.settings.classify
            self.open_start(cfg)  # first: a language model to start from decides the sizes and word splitting
            self.tokenizer = tk.train_tokenizer(texts, "word", cfg.vocab_size, cfg.min_frequency,
                                                cfg.split_punctuation)
        self.train_rows, self.train_targets = self.encode(texts, places), self.targets(labels, places)
        if fresh:
            unk = self.tokenizer.token_to_id(tk.UNK)
            tk.warn_unknown_share(sum(r.count(unk) for r in self.train_rows), sum(map(len, self.train_rows)),
                                  self.tokenizer)
        self.valid_rows = self.encode(valid_texts, valid_places)
        self.valid_targets = self.targets(valid_labels, valid_places)

    def encode(self, texts: list[str], places: list[str] | None = None) -> list[list[int]]:
        """Token ids of each text (at least one: a text of nothing the tokenizer keeps reads as <unk>); ``places``
        name them in an error."""
        return encode_texts(self.tokenizer, texts, self.tokenizer.token_to_id(tk.UNK), places)

    def targets(self, labels: list[str], places: list[str]) -> list[int]:
        """Label indices; a label training never saw is refused naming its place (``places``, as ``read``)."""
        index = {label: i for i, label in enumerate(self.labels)}
        wholes = [whole_label(label) for label in self.labels]  # 1 and 1.0 (pandas' float column) are one label,
        for label in set(labels) - set(index):  # either way round, where no other training label is that number
            if whole_label(label) is not None and wholes.count(whole_label(label)) == 1:
                index[label] = wholes.index(whole_label(label))
        for label, place in zip(labels, places):
            if label not in index:
                header = " (if that line is a header, name the label column with {label_column})" \
                    if place.endswith(" line 1") else ""
                shown = label if len(label) <= 60 else label[:57] + "..."
                raise DataError(f"the label {shown!r} ({place}) was never seen in training (known: "
                                f"{some(self.labels, 20)}); relabel it or retrain{header}.", params=["label_column"])
        return [index[label] for label in labels]

    def recorded_data(self, path) -> dict:
        if not self.sources.get("train"):
            raise DataError(f"{path} was trained on examples given in Python; pass the data to resume().")
        return {"train": Path(self.sources["train"]),
                "dev": Path(self.sources["dev"]) if self.sources.get("dev") else None}

    # --------------------------------------------------------------- training

    def build(self) -> ClassifierNet:
        cfg = self.settings.classify
        self.net = ClassifierNet(self.tokenizer.get_vocab_size(), len(self.labels), cfg, self.settings.core,
                                 self.pad_id)
        self.copy_start(self.net, self.tokenizer.get_vocab(), self.pad_id)
        return self.net

    def batches(self, epoch: int, generator: torch.Generator):
        self.unfreeze(self.net, epoch, self.settings.classify)
        size, world = self.settings.train.batch_size, distributed.world_size()
        order = torch.randperm(len(self.train_rows), generator=generator).tolist()
        for start in range(0, len(order), size):
            rows = order[start:start + size]
            if len(rows) < world:
                continue
            ids, lengths = pad_rows([self.train_rows[i] for i in rows], self.pad_id)
            target = torch.tensor([self.train_targets[i] for i in rows])
            yield distributed.shard_rows(ids), distributed.shard_rows(lengths), distributed.shard_rows(target)

    def loss(self, runner, batch) -> torch.Tensor:
        ids, lengths, target = batch
        cfg = self.settings.classify
        if cfg.word_dropout > 0:  # words read as unknown: no sentence leans on one rare word
            drop = (torch.rand(ids.shape) < cfg.word_dropout) & (ids != self.pad_id)
            ids = ids.masked_fill(drop, self.tokenizer.token_to_id(tk.UNK))
        ids, target = ids.to(self.device), target.to(self.device)
        if cfg.adversarial:
            return adversarial_loss(runner, ids, lengths, target, cfg.adversarial, cfg.label_smoothing)
        return F.cross_entropy(runner(ids, lengths), target, label_smoothing=cfg.label_smoothing)

    def evaluate(self, net) -> dict | None:
        if not self.valid_rows:
            return None
        probs = self.probabilities(net, self.valid_rows)
        target = torch.tensor(self.valid_targets)
        loss = F.nll_loss(probs.clamp_min(1e-12).log(), target).item()
        return {"loss": loss, "accuracy": (probs.argmax(-1) == target).float().mean().item()}

    @torch.no_grad()
    def probabilities(self, net, rows: list[list[int]], batch: int = 256) -> torch.Tensor:
        """(N, labels) probabilities of encoded texts, read in batches of similar length (order kept)."""
        order = sorted(range(len(rows)), key=lambda i: len(rows[i]))
        out = torch.empty(len(rows), len(self.labels))
        for start in range(0, len(order), batch):
            chunk = order[start:start + batch]
            ids, lengths = pad_rows([rows[i] for i in chunk], self.pad_id)
            out[chunk] = torch.softmax(net(ids.to(self.device), lengths).float(), -1).cpu()
        return out

    def steps_per_epoch(self) -> int:
        return -(-len(self.train_rows) // self.settings.train.batch_size)

    def sizes(self) -> dict:
        return {"train_texts": len(self.train_rows), "valid_texts": len(self.valid_rows)}

    # ---------------------------------------------------------- model directory

    def record(self) -> dict:
        return {"vocab_size": self.tokenizer.get_vocab_size(), "data": self.sources, **self.transfer_record()}

    def write_files(self, directory: Path) -> None:
        tk.save_tokenizer(self.tokenizer, directory / TOKENIZER_FILE)
        (directory / LABELS_FILE).write_text(json.dumps(self.labels, ensure_ascii=False) + "\n", encoding="utf-8")

    def read_files(self, directory: Path, config: dict) -> None:
        self.tokenizer = tk.load_tokenizer(directory / TOKENIZER_FILE)
        if config.get("vocab_size") != self.tokenizer.get_vocab_size():
            raise CheckpointError(f"{directory / TOKENIZER_FILE} does not match config.json (vocabulary size); "
                                  "retrain the model.")
        try:
            labels = json.loads((directory / LABELS_FILE).read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise CheckpointError(f"{directory / LABELS_FILE} is corrupted; retrain the model.") from None
        if not isinstance(labels, list) or len(labels) < 2 or not all(isinstance(x, str) for x in labels):
            raise CheckpointError(f"{directory / LABELS_FILE} is not a list of labels; retrain the model.")
        self.labels = labels
        self.sources = config.get("data") or {}
        self.read_transfer(config)
