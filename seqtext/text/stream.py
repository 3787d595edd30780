"""Stream mode: running text as one long token stream, read in BPTT windows.

Sentence mode (``seqtext.data.sentence_batches``) pads each line into its own
row and starts every line from a fresh state.  Running text (Penn Treebank,
a novel, a web crawl) is better modelled as one stream that the network reads
without a break, carrying its hidden state across lines:

    files --encode_corpus--> TokenStream (ids on disk, memory-mapped, </s> after each line)
          --batchify-------> (B, N) B parallel streams, each a contiguous stretch of the corpus
          --bptt_windows---> (x, y) pairs of shape (B, T), T <= bptt, in stream order

The corpus is tokenised once, in chunks, and the ids are cached on disk
(``$SEQTEXT_CACHE/streams``, else ``$XDG_CACHE_HOME/seqtext/streams``, else
``~/.cache/seqtext/streams``), so neither encoding nor training holds the
corpus in Python lists and memory does not grow with corpus size.  The
tokenizer is the same pipeline as sentence mode (``seqtext.text.tokenizer``); to train it without reading all lines into memory::

    tok = train_tokenizer(corpus.iter_lines(files), "word", 10000)

``seqtext.text.corpus.detect_mode`` picks sentence or stream mode for a corpus.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqtext.text.corpus import MAX_LINE_CHARS, corpus_files, split_long_line, stripped_lines
from seqtext.errors import ConfigError, DataError, SeqtextError, whole_number
from seqtext.text.chars import write_raw_ids
from seqtext.text.tokenizer import EOS, is_char

CHUNK_LINES = 10_000  # lines per encode_batch call: bounds the Encoding objects alive at once
_CHUNK_CHARS = 1 << 21  # ... and characters per call, for corpora of long lines
_FORMAT = 3  # bump when the cache file layout or the encoding rule changes


def default_cache_dir() -> Path:
    """``$SEQTEXT_CACHE/streams``, else ``$XDG_CACHE_HOME/seqtext/streams``, else ``~/.cache/seqtext/streams``."""
    root = os.environ.get("SEQTEXT_CACHE")
    if root:
        return Path(root).expanduser() / "streams"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "seqtext" / "streams"


@dataclass(frozen=True, eq=False)
class TokenStream:
    """A tokenised corpus: ``ids`` is a read-only 1-D memory map of the cache file ``path``.

    ``ids`` is uint16 when the vocabulary has fewer than 65536 entries, else
    uint32; convert windows, not the whole stream (``bptt_windows`` does).
    ``eos_id`` is the id appended after every line, or None without it.
    ``from_cache`` says whether the ids were read from an earlier run.
    """

    ids: np.ndarray  # (N,) uint16 | uint32, memory-mapped
    path: Path
    files: tuple[Path, ...]
    eos_id: int | None
    from_cache: bool = False

    def __len__(self) -> int:
        return int(self.ids.shape[0])


# --------------------------------------------------------------------- encoding


def _stamp(files: list[Path]) -> list[tuple[str, int, int]]:
    out = []
    for f in files:
        st = f.stat()
        out.append((str(f.resolve()), st.st_size, st.st_mtime_ns))
    return out


def _cache_key(stamp, tokenizer, eos: bool) -> str:
    h = hashlib.sha256()
    h.update(json.dumps({"format": _FORMAT, "files": stamp, "eos": eos, "max_line": MAX_LINE_CHARS}).encode())
    h.update(tokenizer.to_str().encode())
    return h.hexdigest()[:32]


def _dtype(tokenizer) -> np.dtype:
    return np.dtype(np.uint16 if tokenizer.get_vocab_size() < 1 << 16 else np.uint32)


def _open_cached(path: Path, dtype: np.dtype) -> np.ndarray | None:
    """The cached ids, or None if the file is missing or unreadable (then it is rebuilt)."""
    try:
        ids = np.load(path, mmap_mode="r")
    except (OSError, ValueError, EOFError):
        return None
    if ids.ndim != 1 or ids.dtype != dtype or ids.shape[0] == 0:
        return None
    return ids


def _npy_header(dtype: np.dtype, n: int) -> bytes:
    import io

    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype.str, "fortran_order": False, "shape": (n,)})
    return buf.getvalue()


def encode_corpus(source, tokenizer, cache_dir=None, eos: bool = True,
                  chunk_lines: int = CHUNK_LINES) -> TokenStream:
    """Tokenise a corpus once into a cached, memory-mapped stream of ids.

    ``source`` is a file, a directory of ``.txt`` files or a list of those,
    read line by line in order; ``tokenizer`` is a trained
    ``tokenizers.Tokenizer`` (``seqtext.text.tokenizer.train_tokenizer``).  With
    ``eos`` the ``</s>`` id follows every non-blank line, so the model sees
    where sentences end (a character tokenizer reads the files' characters
    as they are instead, line breaks included, and ``eos`` does not apply:
    ``seqtext.text.chars``).  Lines are encoded ``chunk_lines`` at a time and the
    ids appended to a ``.npy`` file, so memory stays flat however large the
    corpus.  The file is named by a hash of the files' paths, sizes and
    modification times, the tokenizer and ``eos``: a second call with the same
    inputs only opens it, and editing a file makes a new one.
    """
    files = corpus_files(source)
    if isinstance(chunk_lines, bool) or not isinstance(chunk_lines, int) or chunk_lines < 1:
        raise ConfigError(f"chunk_lines must be a whole number of at least 1, got {chunk_lines!r}.")
    eos_id = None
    raw = is_char(tokenizer)  # a character model reads the text as it is (seqtext.text.chars)
    if eos and not raw:
        eos_id = tokenizer.token_to_id(EOS)
        if eos_id is None:
            raise ConfigError(f"the tokenizer has no {EOS} token; train it with seqtext.text.tokenizer.train_tokenizer.")
    dtype = _dtype(tokenizer)
    stamp = _stamp(files)
    folder = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    path = folder / f"{_cache_key(stamp, tokenizer, eos)}.npy"
    ids = _open_cached(path, dtype) if path.is_file() else None
    if ids is not None:
        return TokenStream(ids, path, tuple(files), eos_id, from_cache=True)

    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".stream-", suffix=".tmp", dir=folder)
    except OSError as exc:  # the machine's folders, not an option: no usage line, exit 1
        raise SeqtextError(
            f"cannot write the token cache in {folder} ({exc.strerror}); set SEQTEXT_CACHE to a writable directory."
        ) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            header = _npy_header(dtype, 0)
            fh.write(header)  # rewritten with the real length below; numpy pads it to a fixed size
            n = write_raw_ids(files, tokenizer, dtype, fh) if raw else \
                _write_ids(files, tokenizer, eos_id, dtype, chunk_lines, fh)
            if n == 0:
                where = ", ".join(str(f) for f in files)
                raise DataError(f"{where}: no text (empty or only white space); give a corpus with some text.")
            final = _npy_header(dtype, n)
            if len(final) != len(header):  # cannot happen with numpy's growth padding; never write a bad file
                raise RuntimeError("the .npy header changed size")
            fh.seek(0)
            fh.write(final)
        changed = [f for f, before, after in zip(files, stamp, _stamp(files)) if before != after]
        if changed:
            raise DataError(f"{changed[0]} changed while it was being read; run again once it is stable.")
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return TokenStream(np.load(path, mmap_mode="r"), path, tuple(files), eos_id, from_cache=False)


def _write_ids(files, tokenizer, eos_id, dtype, chunk_lines: int, fh) -> int:
    """Encode the files chunk by chunk, appending raw ids to ``fh``; returns how many were written."""
    encode = getattr(tokenizer, "encode_batch_fast", None) or tokenizer.encode_batch  # fast: no offsets
    total = 0
    pieces: list[str] = []
    ends: list[bool] = []  # whether pieces[i] closes a line (and so takes </s>)
    chars = 0

    def flush() -> int:
        encs = encode(pieces, add_special_tokens=False)
        tail = [eos_id] if eos_id is not None else []
        parts = [enc.ids + tail if end else enc.ids for enc, end in zip(encs, ends)]
        count = sum(len(p) for p in parts)
        arr = np.fromiter(itertools.chain.from_iterable(parts), dtype=dtype, count=count)  # (n,)
        fh.write(arr.tobytes())
        pieces.clear()
        ends.clear()
        return count

    for line in stripped_lines(files):
        # an over-long line is encoded in pieces cut at white space, which the
        # pre-tokenizer splits at anyway, so the ids are the same as whole
        split = split_long_line(line) if len(line) > MAX_LINE_CHARS else [line]
        for i, piece in enumerate(split):
            pieces.append(piece)
            ends.append(i == len(split) - 1)
            chars += len(piece)
            if len(pieces) >= chunk_lines or chars >= _CHUNK_CHARS:  # inside: one huge line flushes too
                total += flush()
                chars = 0
    if pieces:
        total += flush()
    return total


# --------------------------------------------------------------------- batching


def batchify(ids, batch_size: int):
    """Lay a token stream out as ``batch_size`` parallel streams: (B, N).

    Row b is the b-th contiguous stretch of the corpus, ``ids[b*N:(b+1)*N]``
    (as pytorch/examples ``word_language_model``, transposed to batch-first),
    and the last ``len(ids) % B`` tokens, which do not fill a row, are dropped.
    ``ids`` is a ``TokenStream``, a 1-D NumPy array or a 1-D torch tensor; the
    result is a view of it (no copy; for a memory map it stays on disk).
    """
    if isinstance(ids, TokenStream):
        ids = ids.ids
    b = whole_number("batch_size", batch_size)
    if len(ids.shape) != 1:
        raise DataError(f"batchify needs a 1-D token stream, got shape {tuple(ids.shape)}; flatten it first.")
    n = int(ids.shape[0]) // b
    if n < 2:
        raise DataError(
            f"the stream has {int(ids.shape[0])} tokens, too few for {b} parallel streams of at least 2; "
            "use a smaller batch size or more text."
        )
    return ids[: b * n].reshape(b, n)  # (B, N)


def scoring_rows(ids, batch_size: int):
    """A token stream laid out for scoring: rows (B, N+1), ``ids[b*N : (b+1)*N + 1]``, whose targets are
    ``ids[1 : B*N + 1]``, each once (neighbours share a boundary token), and the tail ``ids[B*N:]``, read
    after the last row with its state carried.  Unlike ``batchify``, every token but the first is scored."""
    if isinstance(ids, TokenStream):
        ids = ids.ids
    b = whole_number("batch_size", batch_size)
    if len(ids.shape) != 1:
        raise DataError(f"scoring_rows needs a 1-D token stream, got shape {tuple(ids.shape)}; flatten it first.")
    n = (int(ids.shape[0]) - 1) // b
    if n < 1:
        raise DataError(f"the stream has {int(ids.shape[0])} tokens, too few to score with {b} parallel streams; "
                        "use a smaller batch size or more text.")
    if isinstance(ids, np.ndarray):  # views, as batchify's: a memory map stays on disk
        rows = np.lib.stride_tricks.sliding_window_view(ids, n + 1)[::n][:b]
    else:
        rows = ids.unfold(0, n + 1, n)[:b]
    return rows, ids[b * n:]  # (B, N+1), (R,)


def count_windows(streams, bptt: int) -> int:
    """How many windows ``bptt_windows`` yields for ``streams`` (B, N) from the start."""
    bptt = whole_number("bptt", bptt)
    return math.ceil((int(streams.shape[1]) - 1) / bptt)


def _long(chunk):
    """A (B, T+1) slice of the streams as a contiguous int64 tensor (the only copy made)."""
    import torch

    if isinstance(chunk, torch.Tensor):
        return chunk.to(torch.long).contiguous()
    return torch.from_numpy(np.ascontiguousarray(chunk, dtype=np.int64))


def bptt_windows(streams, bptt: int, shuffle: bool = False, generator=None, start: int = 0):
    """Yield ``(x, y)`` LongTensors of shape (B, T), T <= ``bptt``, over streams (B, N).

    ``y`` is ``x`` shifted one token along each stream: ``y[:, t]`` is the
    token after ``x[:, t]``.  Window k covers columns ``k*bptt`` to
    ``k*bptt + T`` (the last window is shorter), so consecutive windows
    continue every stream where the previous one stopped: the caller carries
    the hidden state from one window to the next and cuts the graph between
    them (truncated BPTT)::

        hidden = None
        for x, y in bptt_windows(streams, 35):
            logits, loss, hidden = net(x, y, hidden)
            ...
            hidden = seqtext.core.detach_hidden(hidden)

    ``start`` skips the first ``start`` windows, for a run resumed mid-epoch
    (carry its saved hidden state, or start from zeros).  ``shuffle`` visits
    the windows in a random order drawn from ``generator``; the state then no
    longer follows the text, so reset the hidden state for every window.
    ``streams`` may be the uint16 memory map from ``batchify``: only the
    current window is converted to int64.
    """
    if len(streams.shape) != 2:
        raise DataError(f"bptt_windows needs streams of shape (B, N), got {tuple(streams.shape)}; use batchify.")
    bptt = whole_number("bptt", bptt)
    if isinstance(start, bool) or not isinstance(start, (int, np.integer)) or start < 0:
        raise ConfigError(f"start must be a whole number of at least 0, got {start!r}.")
    total = count_windows(streams, bptt)
    if start > total:
        raise ConfigError(
            f"start is {start} but there are only {total} windows; resume with the same batch size and bptt."
        )
    return _windows(streams, bptt, total, shuffle, generator, int(start))


def _windows(streams, bptt, total, shuffle, generator, start):
    # a generator of its own, so that bad arguments fail at the call, not at the first next()
    n = int(streams.shape[1])
    if shuffle:
        import torch

        order = torch.randperm(total, generator=generator).tolist()
    else:
        order = range(total)
    for k in order[start:]:
        i = k * bptt
        t = min(bptt, n - 1 - i)
        chunk = _long(streams[:, i : i + t + 1])  # (B, T+1)
        yield chunk[:, :-1].contiguous(), chunk[:, 1:].contiguous()  # (B, T), (B, T)
