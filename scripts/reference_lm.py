"""The reference: a word-level language model trained the way PyTorch's word_language_model example does.

    python scripts/reference_lm.py --train ../shared/data/ptb/ptb.train.txt --lines 6000 [--cell rnn|lstm]
        [--valid FILE --valid-lines N] [--epochs 1] [--threads 1] [--device cpu] [--json]

Its own vocabulary (every word of the training slice, plus <eos> after each line), sequence-first
batches (batchify), bptt windows, the hidden state detached between them, plain SGD written out by
hand, one ``loss.item()`` per step: what a user writes from the example.  Timing: vocabulary building
and tokenising are outside the timed loop; "train_seconds" is the wall time of the epoch's training
loop, "train_tokens" the targets it trained on; evaluation is timed on its own.  Not part of seqtext.
"""

import argparse, json, math, time  # noqa: E401  (kept short, as the example is)

import torch
import torch.nn as nn
import torch.nn.functional as F


class RNNModel(nn.Module):
    def __init__(self, cell, ntoken, ninp=200, nhid=200, nlayers=2, dropout=0.2):
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = nn.LSTM(ninp, nhid, nlayers, dropout=dropout) if cell == "lstm" else \
            nn.RNN(ninp, nhid, nlayers, nonlinearity="tanh", dropout=dropout)
        self.decoder = nn.Linear(nhid, ntoken)
        nn.init.uniform_(self.encoder.weight, -0.1, 0.1)
        nn.init.zeros_(self.decoder.bias)
        nn.init.uniform_(self.decoder.weight, -0.1, 0.1)

    def forward(self, input, hidden):  # (T, B) -> (T*B, V) log-probabilities
        output, hidden = self.rnn(self.drop(self.encoder(input)), hidden)
        return F.log_softmax(self.decoder(self.drop(output)).view(-1, self.decoder.out_features), dim=1), hidden


def tokenize(path, lines, vocab, grow):
    ids = []
    with open(path, encoding="utf-8") as fh:
        for n, line in zip(range(lines), fh):
            for word in line.split() + ["<eos>"]:
                if grow and word not in vocab:
                    vocab[word] = len(vocab)
                ids.append(vocab.get(word, vocab.get("<unk>", 0)))
    return torch.tensor(ids, dtype=torch.long)


def batchify(data, bsz, device):
    nbatch = data.size(0) // bsz
    return data[: nbatch * bsz].view(bsz, -1).t().contiguous().to(device)  # (N, B)


def repackage_hidden(h):
    return h.detach() if isinstance(h, torch.Tensor) else tuple(repackage_hidden(v) for v in h)


def train_epoch(model, data, lr, bptt, clip, bsz):
    model.train()
    hidden, total_loss, tokens = None, 0.0, 0
    start, cpu = time.perf_counter(), time.process_time()
    for i in range(0, data.size(0) - 1, bptt):
        seq_len = min(bptt, data.size(0) - 1 - i)
        x, y = data[i:i + seq_len], data[i + 1:i + 1 + seq_len].reshape(-1)
        model.zero_grad()
        hidden = repackage_hidden(hidden) if hidden is not None else None
        output, hidden = model(x, hidden)
        loss = F.nll_loss(output, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        for p in model.parameters():
            p.data.add_(p.grad, alpha=-lr)
        total_loss += loss.item()
        tokens += y.numel()
    if data.is_cuda:
        torch.cuda.synchronize()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return tokens, seconds, cpu, total_loss / math.ceil((data.size(0) - 1) / bptt)


def evaluate(model, data, bptt):
    model.eval()
    hidden, total_loss, tokens = None, 0.0, 0
    start, cpu = time.perf_counter(), time.process_time()
    with torch.no_grad():
        for i in range(0, data.size(0) - 1, bptt):
            seq_len = min(bptt, data.size(0) - 1 - i)
            x, y = data[i:i + seq_len], data[i + 1:i + 1 + seq_len].reshape(-1)
            output, hidden = model(x, hidden)
            total_loss += seq_len * x.size(1) * F.nll_loss(output, y).item()
            tokens += y.numel()
            hidden = repackage_hidden(hidden)
    return tokens, time.perf_counter() - start, time.process_time() - cpu, total_loss / tokens


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", required=True)
    ap.add_argument("--lines", type=int, default=6000)
    ap.add_argument("--valid")
    ap.add_argument("--valid-lines", type=int, default=10 ** 9)
    ap.add_argument("--cell", choices=["rnn", "lstm"], default="rnn")
    ap.add_argument("--embed", type=int, default=200)
    ap.add_argument("--hidden", type=int, default=200)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--dropout", type=float, default=0.2)
    ap.add_argument("--batch-size", type=int, default=20)
    ap.add_argument("--eval-batch-size", type=int, default=10)
    ap.add_argument("--bptt", type=int, default=35)
    ap.add_argument("--lr", type=float, default=20.0)
    ap.add_argument("--clip", type=float, default=0.25)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--seed", type=int, default=1111)
    ap.add_argument("--stop-below", type=float, help="stop once validation perplexity is at or below this")
    ap.add_argument("--max-train-seconds", type=float, help="stop after the epoch that passes this training time")
    ap.add_argument("--save", help="write the weights here after training")
    ap.add_argument("--load", help="start from these weights (with --epochs 0: evaluate only)")
    ap.add_argument("--json", action="store_true", help="one JSON line per epoch")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    vocab = {}
    train = batchify(tokenize(args.train, args.lines, vocab, grow=True), args.batch_size, device)
    valid = batchify(tokenize(args.valid, args.valid_lines, vocab, grow=False), args.eval_batch_size, device) \
        if args.valid else None
    model = RNNModel(args.cell, len(vocab), args.embed, args.hidden, args.layers, args.dropout).to(device)
    if args.load:
        model.load_state_dict(torch.load(args.load, weights_only=True))
    lr, best, trained = args.lr, None, 0.0
    for epoch in range(0 if args.epochs == 0 else 1, args.epochs + 1):  # epoch 0: evaluation only
        row = {"epoch": epoch, "vocab": len(vocab)}
        if epoch:
            tokens, seconds, cpu, loss = train_epoch(model, train, lr, args.bptt, args.clip, args.batch_size)
            trained += seconds
            row.update(train_tokens=tokens, train_seconds=round(seconds, 4), train_cpu_seconds=round(cpu, 4),
                       train_tokens_per_s=tokens / seconds, train_loss=loss, train_seconds_total=round(trained, 3))
        if valid is not None:
            if not epoch:  # evaluation only: a first pass to warm up, as the benchmark does for seqtext
                evaluate(model, valid, args.bptt)
            vt, vs, vc, vl = evaluate(model, valid, args.bptt)
            row.update(valid_tokens=vt, valid_seconds=round(vs, 4), valid_cpu_seconds=round(vc, 4),
                       valid_tokens_per_s=vt / vs, valid_perplexity=math.exp(vl))
            if best is not None and vl >= best:
                lr /= 4.0  # the example's annealing
            best = vl if best is None else min(best, vl)
        print(json.dumps(row) if args.json else row, flush=True)
        if args.stop_below and valid is not None and row["valid_perplexity"] <= args.stop_below:
            break
        if args.max_train_seconds and trained >= args.max_train_seconds:
            break
    if args.save:
        torch.save(model.state_dict(), args.save)

if __name__ == "__main__":
    main()
