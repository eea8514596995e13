"""An attacker's reasoning over published numbers, for the disclosure tests.

Unknowns are the true month cells. Every published number is a linear equation over them
(coefficients 0/1, or -1 for the structural "two tables count the same cases" ties). The attacker
also knows that every withheld month cell is at least 1, because zeros are always published.

* `linearly_determined`: exact Gaussian elimination over the rationals: is the unit vector of
  the cell in the row space of the published equations?
* `integer_alternative`: a bounded depth-first search with interval propagation for another
  non-negative integer solution (withheld cells >= 1) in which the cell has a different value.
  If one exists the published numbers cannot tell the two apart.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping
from fractions import Fraction

Var = Hashable
Equation = tuple[tuple[tuple[Var, int], ...], int]  # ((var, coef), ...), value


def equation(coefs: Mapping[Var, int], value: int) -> Equation:
    items = tuple(sorted(((v, c) for v, c in coefs.items() if c), key=repr))
    return items, value


class Attacker:
    def __init__(self, truth: Mapping[Var, int], equations: Iterable[Equation]) -> None:
        self.truth = dict(truth)
        self.equations = list(dict.fromkeys(equations))
        # Cells published on their own are known; substitute them everywhere else.
        self.known: dict[Var, int] = {}
        for items, value in self.equations:
            if len(items) == 1 and items[0][1] == 1:
                self.known[items[0][0]] = value
        for v, value in self.known.items():
            assert value == self.truth[v], f"a published cell disagrees with the truth: {v}"
        reduced: set[Equation] = set()
        for items, value in self.equations:
            rest = tuple((v, c) for v, c in items if v not in self.known)
            rhs = value - sum(c * self.known[v] for v, c in items if v in self.known)
            if rest:
                reduced.add((rest, rhs))
            else:
                assert rhs == 0, "published numbers disagree with each other"
        self.reduced = sorted(reduced, key=repr)
        self.by_var: dict[Var, list[Equation]] = defaultdict(list)
        for eq in self.reduced:
            for v, _ in eq[0]:
                self.by_var[v].append(eq)
        self._basis: dict[Var, dict[Var, Fraction]] | None = None

    # -- linear algebra -----------------------------------------------------------------------
    def _rref(self) -> dict[Var, dict[Var, Fraction]]:
        if self._basis is None:
            basis: dict[Var, dict[Var, Fraction]] = {}
            for items, _ in self.reduced:
                row = {v: Fraction(c) for v, c in items}
                row = self._reduce(row, basis)
                if row:
                    pivot = min(row, key=repr)
                    inv = 1 / row[pivot]
                    row = {v: c * inv for v, c in row.items()}
                    for other in basis.values():
                        f = other.get(pivot)
                        if f:
                            for v, c in row.items():
                                other[v] = other.get(v, Fraction(0)) - f * c
                                if other[v] == 0:
                                    del other[v]
                    basis[pivot] = row
            self._basis = basis
        return self._basis

    @staticmethod
    def _reduce(row: dict[Var, Fraction], basis: Mapping[Var, dict[Var, Fraction]]) -> dict[Var, Fraction]:
        row = dict(row)
        for pivot, brow in basis.items():
            f = row.get(pivot)
            if f:
                for v, c in brow.items():
                    row[v] = row.get(v, Fraction(0)) - f * c
                    if row[v] == 0:
                        del row[v]
        return row

    def linearly_determined(self, var: Var) -> bool:
        if var in self.known:
            return True
        return not self._reduce({var: Fraction(1)}, self._rref())

    # -- integer search -----------------------------------------------------------------------
    def _component(self, var: Var) -> list[Var]:
        seen, todo = {var}, [var]
        while todo:
            v = todo.pop()
            for items, _ in self.by_var.get(v, []):
                for w, _c in items:
                    if w not in seen:
                        seen.add(w)
                        todo.append(w)
        return sorted(seen, key=lambda w: (w != var, repr(w)))

    def integer_alternative(self, var: Var, slack: int = 4) -> dict[Var, int] | None:
        """Another solution (withheld cells >= 1, each within truth + slack) where `var` differs."""
        if var not in self.by_var:
            return {var: self.truth[var] + 1}  # in no published equation at all
        order = self._component(var)
        hi = {v: self.truth[v] + slack for v in order}
        eqs = sorted({eq for v in order for eq in self.by_var[v]}, key=repr)
        assign: dict[Var, int] = {}

        def feasible() -> bool:
            for items, rhs in eqs:
                lo_sum = hi_sum = 0
                for v, c in items:
                    if v in assign:
                        lo_sum += c * assign[v]
                        hi_sum += c * assign[v]
                    else:
                        a, b = c * 1, c * hi[v]
                        lo_sum += min(a, b)
                        hi_sum += max(a, b)
                if not lo_sum <= rhs <= hi_sum:
                    return False
            return True

        def search(i: int) -> bool:
            if i == len(order):
                return True
            v = order[i]
            for value in range(1, hi[v] + 1):
                if v == var and value == self.truth[var]:
                    continue
                assign[v] = value
                if feasible() and search(i + 1):
                    return True
                del assign[v]
            return False

        return dict(assign) if search(0) else None

    def disclosed(self, hidden: Iterable[Var]) -> list[Var]:
        """The withheld cells the published numbers pin down (should be none)."""
        out = []
        for v in hidden:
            if self.linearly_determined(v) or self.integer_alternative(v) is None:
                out.append(v)
        return out
