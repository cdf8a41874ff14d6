"""What the benchmarks share: the PyTorch side's training epoch and the printed ratio."""
import time

__all__ = ["torch_train_epoch", "report"]


def torch_train_epoch(model, opt, xt, yt, batch_size=128, generator=None):
    """One shuffled epoch of ``model`` in PyTorch eager, as a Keras ``fit`` does it
    (forward, cross-entropy, backward, Adam step, the batch accuracy read back);
    returns the seconds it took."""
    import torch
    model.train()
    t0 = time.perf_counter()
    perm = torch.randperm(len(xt), generator=generator)
    for i in range(0, len(xt), batch_size):
        idx = perm[i:i + batch_size]
        xb, yb = xt[idx], yt[idx]
        opt.zero_grad()
        out = model(xb)
        loss = torch.nn.functional.cross_entropy(out, yb)
        loss.backward()
        opt.step()
        (out.argmax(1) == yb).float().mean().item()   # accuracy, as the Keras loop reports it
    return time.perf_counter() - t0


def report(kerasette_s, torch_s, target):
    """Print both epoch times and the ratio against its target."""
    print(threads_line())
    print(f"kerasette: {kerasette_s:.2f} s/epoch")
    print(f"pytorch:   {torch_s:.2f} s/epoch")
    print(f"ratio kerasette/pytorch: {kerasette_s / torch_s:.2f}  (target <= {target})")


def threads_line():
    """kerasette's intra-op thread count (``kerasette.parallel``), for the printout."""
    from kerasette import parallel
    return f"kerasette intra-op threads: {parallel.num_threads()} (KERASETTE_NUM_THREADS=1 turns them off)"
