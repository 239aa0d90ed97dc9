"""Tests for data-parallel training: cnnkit.fit under torchrun (gloo, CPU), and the sharding it uses.

The launches run ``scripts/data_parallel.py`` (LeNet-5 on 1,024 bundled digits) with
``torchrun --standalone --nproc_per_node=2``, each in a few seconds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from cnnkit import distributed
from cnnkit.train import _Batches

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "data_parallel.py"
TORCHRUN = Path(sys.executable).with_name("torchrun")


# ----------------------------------------------------------------------------------------------------------------
# sharding, without processes


def test_shard_takes_every_nth_example_and_pads_training_shards():
    order = torch.tensor([4, 0, 3, 1, 2])
    assert distributed.shard(order, 0, 2).tolist() == [4, 3, 2]
    assert distributed.shard(order, 1, 2).tolist() == [0, 1, 4]  # padded with the first example
    assert distributed.shard(order, 1, 2, pad=False).tolist() == [0, 1]
    tiny = [distributed.shard(torch.tensor([5, 6]), r, 5).tolist() for r in range(5)]
    assert tiny == [[5], [6], [5], [6], [5]]  # fewer examples than ranks: every rank still gets one batch
    for size in (1, 2, 5, 7, 12):
        for world in (1, 2, 3, 5):
            for rank in range(world):
                for pad in (True, False):
                    shards = distributed.shard(torch.arange(size), rank, world, pad=pad)
                    assert distributed.shard_size(size, rank, world, pad=pad) == len(shards)
    every = torch.cat([distributed.shard(order, r, 3, pad=False) for r in range(3)])
    assert sorted(every.tolist()) == list(range(5))  # evaluation shards: each example exactly once


class FakeContext:
    def __init__(self, rank, world_size):
        self.rank, self.world_size = rank, world_size


def test_the_ranks_batches_together_are_one_process_batch_of_n_times_the_size():
    x, y = torch.arange(48.0).reshape(48, 1), torch.arange(48)
    single = list(_Batches((x, y), "t", 8, torch.device("cpu"), True, torch.Generator().manual_seed(3)))
    ranks = [
        list(_Batches((x, y), "t", 4, torch.device("cpu"), True, torch.Generator().manual_seed(3), FakeContext(r, 2)))
        for r in range(2)
    ]
    assert len(ranks[0]) == len(ranks[1]) == len(single) == 6
    for k, (big, _) in enumerate(single):
        assert sorted(big.flatten().tolist()) == sorted(torch.cat([ranks[0][k][0], ranks[1][k][0]]).flatten().tolist())


def test_context_outside_torchrun_is_none_and_a_half_set_environment_is_explained(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert distributed.context() is None
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert distributed.context() is None
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.delenv("RANK", raising=False)
    with pytest.raises(RuntimeError, match="launch the script with torchrun"):
        distributed.context()
    monkeypatch.setenv(distributed.TIMEOUT_ENV, "soon")
    with pytest.raises(ValueError, match="number of seconds"):
        distributed._timeout()


# ----------------------------------------------------------------------------------------------------------------
# real launches


def launch(out: Path, *args, nproc=2, timeout=120):
    env = dict(os.environ, CNNKIT_DIST_TIMEOUT="30", OMP_NUM_THREADS="1")
    command = [str(TORCHRUN), "--standalone", f"--nproc_per_node={nproc}"] if nproc else [sys.executable]
    start = time.perf_counter()
    done = subprocess.run(
        [*command, str(SCRIPT), "--out", str(out), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
    )
    return done, time.perf_counter() - start


def reports(out: Path, world=2):
    return [json.loads((out / f"rank{r}.json").read_text()) for r in range(world)]


def weights(out: Path, rank: int):
    return torch.load(out / f"rank{rank}.pt", weights_only=True)


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    out = tmp_path_factory.mktemp("dp2")
    done, _ = launch(out, "--epochs", 3, "--checkpoint", out / "run.pt", "--count-saves", "--gradient")
    assert done.returncode == 0, done.stderr[-3000:]
    return out, done


def test_two_ranks_end_with_identical_weights_and_histories(two_ranks):
    out, done = two_ranks
    first, second = reports(out)
    assert (first["rank"], second["rank"], first["world_size"]) == (0, 1, 2)
    a, b = weights(out, 0), weights(out, 1)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert first["history"] == second["history"] and len(first["history"]) == 3
    assert done.stdout.count("epoch 1/3") == 1  # only rank 0 prints


def test_checkpoint_is_written_by_rank_0_only(two_ranks):
    out, _ = two_ranks
    first, second = reports(out)
    assert (first["saves"], second["saves"]) == (3, 0)
    assert (out / "run.pt").is_file()


def test_two_ranks_of_batch_b_train_like_one_process_of_batch_2b(two_ranks, tmp_path):
    out, _ = two_ranks
    done, _ = launch(tmp_path, "--epochs", 3, "--batch-size", 64, "--gradient", nproc=0)
    assert done.returncode == 0, done.stderr[-3000:]
    one = reports(tmp_path, world=1)[0]
    g1 = torch.load(tmp_path / "gradient0.pt", weights_only=True)
    g2 = torch.load(out / "gradient0.pt", weights_only=True)
    assert all(torch.allclose(a, b, rtol=1e-4, atol=1e-7) for a, b in zip(g1, g2, strict=True))
    a, b = weights(tmp_path, 0), weights(out, 0)
    assert all(torch.allclose(a[k], b[k], rtol=1e-4, atol=1e-5) for k in a)
    two = reports(out)[0]
    assert abs(one["history"][-1]["test_acc"] - two["history"][-1]["test_acc"]) <= 0.01


def test_a_stopped_data_parallel_run_resumes_exactly(two_ranks, tmp_path):
    out, _ = two_ranks
    done, _ = launch(tmp_path, "--epochs", 3, "--checkpoint", tmp_path / "run.pt", "--stop-after", 2)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "resuming from the checkpoint run.pt: 2 of 3 epochs were finished" in done.stdout
    resumed, reference = weights(tmp_path, 1), weights(out, 0)
    assert all(torch.equal(resumed[k], reference[k]) for k in reference)
    assert reports(tmp_path)[0]["stopped_after"] == 2
    assert [r["train_loss"] for r in reports(tmp_path)[1]["history"]] == [
        r["train_loss"] for r in reports(out)[0]["history"]
    ]


@pytest.mark.parametrize(
    ("switch", "message"), [("--interrupt-step", "rank 1 of 2 was interrupted"), ("--fail-step", "a simulated failure")]
)
def test_an_interrupted_or_failed_rank_ends_every_rank_promptly(tmp_path, switch, message):
    done, seconds = launch(tmp_path, "--epochs", 3, switch, 20, timeout=90)
    assert done.returncode != 0
    assert message in done.stdout + done.stderr
    assert seconds < 60, f"the ranks took {seconds:.0f} s to stop"
    assert not (tmp_path / "rank0.json").exists()  # rank 0 did not finish on its own
