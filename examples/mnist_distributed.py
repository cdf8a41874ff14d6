"""Train the MNIST convnet on several processes or machines with DataParallel.

    mpiexec -n 2 python examples/mnist_distributed.py               # 2 ranks, 3 epochs
    mpiexec -n 2 python examples/mnist_distributed.py --epochs 1 --limit 2048
    python examples/mnist_distributed.py --epochs 1 --limit 2048    # one process: the ordinary run
    srun -N 4 --ntasks-per-node=1 python examples/mnist_distributed.py   # under Slurm

The script is ``mnist_cnn.py`` with two more lines: make a strategy, and build and
compile the model inside its scope. ``--batch-size`` is the global batch: each
rank computes its share of every batch and the gradients are averaged over the
ranks before each step, so any number of ranks follows the same training
trajectory as one process. The progress lines, the checkpoint (``--checkpoint``)
and the printout come from rank 0 alone. With ``KERASETTE_DEVICE=gpu`` each rank
takes one GPU of its machine and the gradients travel over NCCL.
"""
import argparse
import os
import sys
import time

import numpy as np

import kerasette as keras

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mnist_cnn import EpochTimer, build_model, load  # noqa: E402  (the same model and data)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=128, help="the global batch, cut across the ranks")
    p.add_argument("--limit", type=int, default=None, help="use only this many training samples")
    p.add_argument("--verbose", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--learning-rate", type=float, default=1.5e-2)
    p.add_argument("--checkpoint", default=None, help="a .keras path rank 0 saves after each epoch")
    args = p.parse_args(argv)

    strategy = keras.distribute.DataParallel()
    keras.utils.set_random_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = load(args.limit)
    steps_per_epoch = -(-len(x_train) // args.batch_size)
    warmup = max(steps_per_epoch // 2, 1)
    with strategy.scope():
        model = build_model()
        lr = keras.optimizers.schedules.CosineDecay(
            0.0, decay_steps=max(args.epochs * steps_per_epoch - warmup, 1),
            warmup_target=args.learning_rate, warmup_steps=warmup)
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=lr),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    callbacks = [EpochTimer()]
    if args.checkpoint:
        callbacks.append(keras.callbacks.ModelCheckpoint(args.checkpoint))
    t0 = time.perf_counter()
    history = model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs,
                        callbacks=callbacks, verbose=args.verbose)
    seconds = time.perf_counter() - t0
    loss, acc = model.evaluate(x_test, y_test, batch_size=512, verbose=0)   # sharded, then summed
    if strategy.rank == 0:
        n = len(x_train) * len(history.epoch)
        print(f"ranks: {strategy.num_replicas_in_sync}  samples/s: {n / seconds:.0f}  "
              f"seconds per epoch: {np.mean(history.history['seconds']):.2f}")
        print(f"test loss: {loss:.4f}  test accuracy: {acc:.4f}")
    return acc


if __name__ == "__main__":
    main()
