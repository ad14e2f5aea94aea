"""Binary tasks on shared coloured digits (the ``gradients_vit`` experiment): one image set, many labels.

Every task of a run sees the **same** images (each digit drawn red or green with probability 1/2,
colours fixed per (split, seed)); only the label differs, as in gradients.md §7.1 ("binary tasks on
shared inputs"). A task is a set of positive digits, optionally XOR-ed with the colour:

    y = +1  if (digit ∈ digits) XOR (xor_red and the digit is red),  else −1.

``TASKS`` is the catalogue a preset picks from (``experiment.tasks``). Pure numpy; no torch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synthetic.runtime import derive_seed


@dataclass(frozen=True)
class DigitTask:
    name: str
    digits: tuple[int, ...]  # the positive digits
    xor_red: bool = False  # flip the label of red digits
    why: str = ""

    def labels(self, digits: np.ndarray, red: np.ndarray) -> np.ndarray:
        """y ∈ {−1, +1} (int64) of each digit identity and colour."""
        pos = np.isin(digits, self.digits)
        if self.xor_red:
            pos = pos ^ red
        return np.where(pos, 1, -1).astype(np.int64)


TASKS: dict[str, DigitTask] = {
    t.name: t
    for t in (
        DigitTask("parity", (1, 3, 5, 7, 9), why="odd digit (the cdigits label)"),
        DigitTask("high", (5, 6, 7, 8, 9), why="digit >= 5"),
        DigitTask("prime", (2, 3, 5, 7), why="prime digit"),
        DigitTask("mod3", (0, 3, 6, 9), why="digit divisible by 3"),
        DigitTask("loop", (0, 6, 8, 9), why="digit drawn with a closed loop"),
        DigitTask("red", (), xor_red=True, why="colour only: the digit is red"),
        DigitTask("parity_xor_red", (1, 3, 5, 7, 9), xor_red=True, why="odd XOR red"),
        DigitTask("high_xor_red", (5, 6, 7, 8, 9), xor_red=True, why="digit >= 5 XOR red"),
    )
}


def red_mask(n: int, split: str, seed: int) -> np.ndarray:
    """Which of n digits are red (probability 1/2 each), fixed per (split, seed), shared by every task."""
    rng = np.random.default_rng(derive_seed("digit-tasks-colour", split, seed))
    return rng.random(n) < 0.5


def coloured(images: np.ndarray, red: np.ndarray) -> np.ndarray:
    """RGB images (N, 3, H, W): red digits in channel 0, green ones in channel 1, channel 2 empty."""
    x = np.zeros((len(images), 3, *images.shape[1:]), dtype=np.float32)
    x[red, 0] = images[red]
    x[~red, 1] = images[~red]
    return x


def task_data(
    images: np.ndarray, digits: np.ndarray, tasks: list[DigitTask], split: str, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """The shared images (N, 3, H, W) and every task's labels (T, N) on one split and seed."""
    red = red_mask(len(digits), split, seed)
    return coloured(images, red), np.stack([t.labels(digits, red) for t in tasks])
