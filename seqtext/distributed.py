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


def wrap(net, device):
    """DDP around ``net`` (the optimizer and checkpoints keep using ``net`` itself)."""
    if not active():
        return net
    from torch.nn.parallel import DistributedDataParallel

    # an adaptive softmax leaves a tail cluster unused in a batch without any of its words
    return DistributedDataParallel(net, device_ids=[device.index] if device.type == "cuda" else None,
                                   find_unused_parameters=bool(getattr(net, "adaptive", False)))


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


def finish() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
