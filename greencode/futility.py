"""Whether more pairs could still decide a verdict of ``greencode ab``, within what is left to spend.

A verdict is open while its interval still reaches above ``fail_on`` (:func:`greencode.ab.needs_more_pairs`).
More pairs narrow the interval roughly as one over the square root of their number (and a little more: the
Student-t factor shrinks with the degrees of freedom), but they do not move the change itself. So when even
the narrowest interval the remaining pairs could give, centred where the change is now, would still hold
``fail_on``, more pairs are very unlikely to decide it: a change that sits near the threshold, or pairs that
differ by tens of per cent. Measuring it on only spends the budget; it stays ``inconclusive``.

The projection is optimistic on purpose (degrees of freedom counted as ``pairs - 1`` where the moderated
spread has more, so the projected shrink is the largest it could be): a verdict is given up only when even
that could not decide it.
"""

from __future__ import annotations

import math

from greencode.stats import t_ppf


def narrowed(half_width: float, pairs: int, reachable: int, confidence: float) -> float:
    """The half-width (log scale) an interval of ``half_width`` at ``pairs`` pairs would have at
    ``reachable`` pairs, the spread of the pairs staying what it is."""
    if reachable <= pairs or pairs < 2:
        return half_width
    level = 1.0 - (1.0 - confidence) / 2.0
    factor = t_ppf(level, reachable - 1) / t_ppf(level, pairs - 1)
    return half_width * math.sqrt(pairs / reachable) * factor


def could_decide(
    ci_low: float,
    ci_high: float,
    *,
    fail_on: float,
    pairs: int,
    reachable: int,
    confidence: float,
    baseline_j: float = math.inf,
    min_effect_j: float = 0.0,
) -> bool:
    """Whether ``reachable`` pairs (``pairs`` now) could bring an interval ``ci_low``..``ci_high`` (relative
    changes) clear of ``fail_on``: wholly above it (a regression) or wholly below it, or below
    ``min_effect_j`` in joules of ``baseline_j`` (too small to matter), its centre staying where it is."""
    if reachable <= pairs:
        return False
    if not (ci_low > -1.0 and ci_high > -1.0 and math.isfinite(ci_low + ci_high)):
        return True  # nothing to project from: let the pairs tell
    low, high = math.log1p(ci_low), math.log1p(ci_high)
    centre = (low + high) / 2.0
    half = narrowed((high - low) / 2.0, pairs, reachable, confidence)
    threshold = math.log1p(fail_on)
    if centre - half > threshold or centre + half <= threshold:
        return True
    return math.expm1(centre + half) * baseline_j <= min_effect_j
