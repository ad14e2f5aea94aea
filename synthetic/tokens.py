"""How the P tokens of one sample are made: fractions and counts (no torch import)."""

from __future__ import annotations

from dataclasses import dataclass

from synthetic.checks import ConfigError, check_fields, choice, integer, number


@dataclass(frozen=True)
class TokenConfig:
    """How the P tokens of one sample are made."""

    n_tokens: int = integer(16, lo=1)  # P
    delta_star: int | float = number(0.25, low=0.0, high=1.0, low_open=True)  # δ*, relevant tokens
    delta_conf: int | float = number(0.125, low=0.0, high=1.0)  # δ#, fraction of confusion tokens
    counts: str = choice("fixed", "fixed", "random")  # rounded | multinomial (majority enforced)
    noise_std: int | float = number(0.0, low=0.0)  # Gaussian token noise, tokens renormalised
    # "paired": each irrelevant token is ±v_j with a fair sign (zero-mean irrelevant tokens)
    irrelevant_signs: str = choice("positive", "positive", "paired")

    def __post_init__(self) -> None:
        check_fields(self, "data")
        if self.delta_star + self.delta_conf > 1.0 + 1e-12:
            raise ConfigError(
                f"data.delta_star={self.delta_star!r}, data.delta_conf={self.delta_conf!r} is invalid: "
                "δ* + δ# must be <= 1"
            )
        if self.delta_conf >= self.delta_star:
            raise ConfigError(
                f"data.delta_conf={self.delta_conf!r} is invalid: must be < data.delta_star="
                f"{self.delta_star!r} (majority rule: δ# < δ*)"
            )
        if self.counts == "fixed":
            n_rel, n_conf = self.fixed_counts
            if n_rel <= n_conf:
                raise ConfigError(
                    f"data.delta_star={self.delta_star!r}, data.delta_conf={self.delta_conf!r} is invalid "
                    f"with data.n_tokens={self.n_tokens}: rounded counts {n_rel} relevant vs {n_conf} "
                    "confusion break the majority rule (need relevant > confusion)"
                )

    @property
    def fixed_counts(self) -> tuple[int, int]:
        """(n_rel, n_conf) = (round(δ*·P), round(δ#·P)), capped so they fit in P."""
        n_rel = min(round(self.delta_star * self.n_tokens), self.n_tokens)
        n_conf = min(round(self.delta_conf * self.n_tokens), self.n_tokens - n_rel)
        return n_rel, n_conf

    @property
    def needs_irrelevant(self) -> bool:
        if self.counts == "random":
            return self.delta_star + self.delta_conf < 1.0
        return sum(self.fixed_counts) < self.n_tokens
