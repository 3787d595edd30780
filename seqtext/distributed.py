"""Data-parallel training under ``torchrun`` (DistributedDataParallel).

    torchrun --nproc_per_node 2 -m seqtext train --corpus corpora/pronouns.txt

``torchrun`` sets RANK, WORLD_SIZE and LOCAL_RANK; seqtext then joins the
process group (gloo on CPU, nccl on CUDA), wraps the network in DDP and gives
each rank its share of every global batch: ``--batch-size`` stays the global
batch, so a 2-process run takes the same optimisation steps as a 1-process
run.  Validation sums are reduced across ranks; only rank 0 prints, takes the
output lock and writes the model directory (an ordinary one).

A rank that dies makes the collective operations of the others fail (gloo
reports the closed connection; every collective also has a timeout,
``SEQTEXT_DIST_TIMEOUT`` seconds, default 120), and ``torchrun`` stops the
rest, so nothing hangs; the last model directory written by rank 0 stays.
"""

from __future__ import annotations

import os
from datetime import timedelta


def world_size() -> int:
    try:
        return max(1, int(os.environ.get("WORLD_SIZE", "1")))
    except ValueError:
        return 1


def rank() -> int:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    try:
        return int(os.environ.get("RANK", "0"))
    except ValueError:
        return 0


def is_main() -> bool:
    return rank() == 0


def active() -> bool:
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def setup(device):
    """Join the process group when launched by torchrun; returns the device this rank uses."""
    import torch
    import torch.distributed as dist

    if world_size() <= 1:
        return device
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        timeout = timedelta(seconds=float(os.environ.get("SEQTEXT_DIST_TIMEOUT", "120")))
        dist.init_process_group(backend=backend, timeout=timeout)
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    return device


def wrap(net, device, freezes: bool = False):
    """DDP around ``net`` with an :class:`Agreement` (``.agreement``) in its gradient all-reduce (the optimizer and
    checkpoints keep using ``net`` itself).  ``freezes``: the task holds some weights frozen for a while."""
    if not active():
        return net
    from torch.nn.parallel import DistributedDataParallel

    # an adaptive softmax leaves a tail cluster unused in a batch without any of its words; gradual unfreezing
    # leaves the frozen layers without gradients
    ddp = DistributedDataParallel(net, device_ids=[device.index] if device.type == "cuda" else None,
                                  find_unused_parameters=bool(getattr(net, "adaptive", False)) or freezes)
    ddp.agreement = Agreement()
    ddp.register_comm_hook(None, ddp.agreement.hook)
    return ddp


def epoch_loss(running: float, batches: int) -> float:
    """An epoch's mean training loss over every process's batches (its summed losses and batch count); an epoch
    in which no process had a batch is refused, on every process alike, never reported as a loss of 0."""
    running, batches = sum_across([running, float(batches)])
    if batches == 0:
        from seqtext.errors import DataError

        raise DataError(f"the epoch held no batch to train on: the training data is too small for {world_size()} "
                        "processes, each of which takes a share of every batch (a batch too short to share is "
                        "dropped); give more training data or run fewer processes.")
    return running / batches


def shard_rows(tensor):
    """This rank's rows of a global batch (B, ...) -> (B / world, ...)."""
    if not active():
        return tensor
    import torch.distributed as dist

    return tensor[dist.get_rank():: dist.get_world_size()]


def owns_row(row: int) -> bool:
    """Whether row ``row`` of a global batch is among this rank's ``shard_rows`` (always, when alone)."""
    if not active():
        return True
    import torch.distributed as dist

    return row % dist.get_world_size() == dist.get_rank()


def sum_across(values: list[float]) -> list[float]:
    """Element-wise sum of ``values`` over all ranks (identity when alone)."""
    if not active():
        return values
    import torch
    import torch.distributed as dist

    t = torch.tensor(values, dtype=torch.float64)
    if dist.get_backend() == "nccl":
        t = t.cuda()
    dist.all_reduce(t)
    return t.cpu().tolist()


class Agreement:
    """What the ranks agree on at every training step, carried by DDP's own gradient all-reduce (a comm hook):
    no collective of its own.

    Each rank's loss is a mean over its own share of the global batch (its target tokens, tags or rows), and
    the shares differ (sentences differ in length).  So each rank back-propagates its mean loss times its
    ``units`` (a sum), the hook adds every rank's units to each gradient bucket's all-reduce and divides the
    summed gradients by all of them: the gradient of the mean over the whole global batch, the step one
    process takes on it (DDP's default hook divides by the number of processes instead).  Each rank's Ctrl-C
    flag rides along (Ctrl-C reaches every process, not always within the same step), so all stop after the
    same step.
    """

    def __init__(self):
        self.units, self.stop, self.summed = 1.0, False, None

    def start(self, units: float, stop: bool) -> float:
        """Before the step: this rank's units and Ctrl-C flag; returns the factor of its mean loss."""
        self.units, self.stop, self.summed = float(units), stop, None
        return self.units

    def hook(self, state, bucket):
        """DDP's comm hook: the bucket summed over the ranks with the units and flags, divided by all units."""
        import torch
        import torch.distributed as dist

        grads = bucket.buffer()
        sent = torch.cat([grads, grads.new_tensor([self.units, float(self.stop)])])

        def divide(future):
            summed = future.value()[0]
            self.summed = summed[-2:].clone()  # every rank's units and flags (not a view holding the bucket)
            return summed[:-2] / summed[-2].clamp(min=1)  # on the device, no sync; no units anywhere: no mean

        return dist.all_reduce(sent, async_op=True).get_future().then(divide)

    def finish(self) -> tuple[float, bool]:
        """After the backward pass: this rank's share of the global batch (its mean loss's weight in the global
        mean, times the world) and whether any rank was stopped."""
        import torch.distributed as dist

        if self.summed is None:  # no bucket was reduced (every weight frozen): nothing was agreed
            return 1.0, False
        total, stops = self.summed.tolist()
        return (dist.get_world_size() * self.units / total if total > 0 else 1.0), stops > 0


def gather(value) -> list:
    """Every rank's ``value`` (tensors and plain values), in rank order; ``[value]`` when alone."""
    if not active():
        return [value]
    import torch.distributed as dist

    out = [None] * dist.get_world_size()
    dist.all_gather_object(out, value)
    return out


def rank_states(task, running_loss: float) -> dict:
    """The trainer state's RNG states, running loss and carried state.  Under torchrun the ranks' own ones too
    (``ranks``: their dropout draws and losses differ), and the carried state of every rank's rows joined."""
    import torch

    from seqtext.core import map_hidden

    own = {"torch_rng": torch.get_rng_state(), "running_loss": running_loss,
           "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []}
    carried = getattr(task, "carried", None)
    if not active():
        return {**own, "carried": carried}
    carried = None if carried is None else map_hidden(carried, lambda h: h.cpu())
    ranks = gather({**own, "carried": carried})
    shares = [r.pop("carried") for r in ranks]
    return {**own, "ranks": ranks, "carried": None if carried is None else _join_rows(shares)}


def _join_rows(shares: list):
    """The global batch's rows (dim 1) from each rank's share: rank r holds rows r, r + world, ..."""
    if isinstance(shares[0], tuple):  # an LSTM's (h, c)
        return tuple(_join_rows(list(part)) for part in zip(*shares))
    world, shape = len(shares), list(shares[0].shape)
    shape[1] = sum(share.shape[1] for share in shares)
    out = shares[0].new_empty(shape)
    for r, share in enumerate(shares):
        out[:, r::world] = share
    return out


def restore_rank(state: dict, task, p, batch_size: int) -> None:
    """Set this rank's RNGs, running loss and carried state back (its own when the state holds every rank's)."""
    import torch

    from seqtext.core import map_hidden

    ranks, world = state.get("ranks") or [], world_size()
    mine = ranks[rank()] if len(ranks) == world > 1 else state
    torch.set_rng_state(mine["torch_rng"])
    if mine["cuda_rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(mine["cuda_rng"])
    p.running_loss = mine.get("running_loss", p.running_loss)
    carried = state.get("carried")
    if p.batches_done and carried is not None:  # mid-epoch: what the next batch reads on from
        rows = (carried[0] if isinstance(carried, tuple) else carried).shape[1]
        if rows == batch_size and active():  # every row (a state saved alone keeps them all too)
            r = rank()
            carried = map_hidden(carried, lambda h: h[:, r::world])
        task.carried = carried


def finish() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
