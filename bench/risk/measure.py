"""Measure the "possible risk" check (app.cases.risk) on sets of texts.

    .venv/bin/python -m bench.risk.measure tests/data/risk_corpus.json [more.json ...]
    .venv/bin/python -m bench.risk.measure --cv        # the cross-validation table over sets 1-3

A set is a JSON list of {"text": ..., "risk": true|false}. For each file it prints recall (the
share of texts with a risk that are flagged) and the false-flag rate (the share of texts without
one that are flagged). `--show` also prints the misses and the false flags with the rules that
matched: never use it on a set kept apart as a measure (reading its misses is tuning on it).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app.cases import risk

DATA = Path(__file__).parents[2] / "tests" / "data"
SETS = {"first": DATA / "risk_corpus.json", "second": DATA / "risk_corpus_second.json",
        "third": DATA / "risk_corpus_third.json"}


def measure(path: Path, threshold: int = risk.THRESHOLD) -> tuple[int, int, int, int, list[dict], list[dict]]:
    """(found, at risk, false flags, without risk, missed texts, falsely flagged texts)."""
    corpus = json.loads(path.read_text(encoding="utf-8"))
    at_risk = [c for c in corpus if c["risk"]]
    safe = [c for c in corpus if not c["risk"]]
    missed = [c for c in at_risk if risk.read(c["text"]).score < threshold]
    flagged = [c for c in safe if risk.read(c["text"]).score >= threshold]
    return len(at_risk) - len(missed), len(at_risk), len(flagged), len(safe), missed, flagged


def _load(path: Path) -> list[tuple[str, bool]]:
    return [(c["text"], bool(c["risk"])) for c in json.loads(path.read_text(encoding="utf-8"))]


def cross_validate(threshold: int = risk.THRESHOLD) -> list[tuple[str, str, str, str]]:
    """Tune on two sets, measure on the third, for each third in turn.

    The rules were written by reading all three sets, so "tuning" here is what can be redone
    without a person: a rule is kept only if, on the two training sets, it matched at least one
    text with a risk and no more texts without one than with. The held-out set is then read with
    the kept rules only. This measures how well rules carry over to a set they were not chosen on;
    it is still optimistic (a person wrote every rule having read every set): the blind figure in
    docs/casework.md, measured once on a set nobody had read, is the one to trust."""
    sets = {name: _load(path) for name, path in SETS.items()}
    readings = {name: [(risk.read(text), at_risk) for text, at_risk in texts] for name, texts in sets.items()}
    rows = []
    for held in sets:
        hits: dict[int, int] = {}
        false: dict[int, int] = {}
        for name, read in readings.items():
            if name == held:
                continue
            for reading, at_risk in read:
                for n in reading.rules:
                    (hits if at_risk else false)[n] = (hits if at_risk else false).get(n, 0) + 1
        kept = frozenset(n for n, h in hits.items() if h >= false.get(n, 0))
        found = flagged = at_risk_n = safe_n = 0
        for text, at_risk in sets[held]:
            flag = risk.read(text, kept).score >= threshold
            if at_risk:
                at_risk_n += 1
                found += flag
            else:
                safe_n += 1
                flagged += flag
        train = " + ".join(n for n in sets if n != held)
        rows.append((train, f"{held} ({len(sets[held])} texts), {len(kept)} of {len(risk.RULES)} rules kept",
                     f"{found}/{at_risk_n} = {found / at_risk_n:.2f}", f"{flagged}/{safe_n} = {flagged / safe_n:.0%}"))
    return rows


def _explain(text: str) -> str:
    reading = risk.read(text)
    rules = sorted({(r.weight, r.pattern[:60]) for r, _, _ in reading.matches}, reverse=True)
    return f"score {reading.score} context {sorted(reading.context)}: " + "; ".join(f"{w}:{p}" for w, p in rules)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--show", action="store_true", help="print the misses and false flags (never on a held-out set)")
    parser.add_argument("--cv", action="store_true", help="the cross-validation table over the three sets")
    parser.add_argument("--threshold", type=int, default=risk.THRESHOLD,
                        help=f"the score that flags (the code's: {risk.THRESHOLD})")
    args = parser.parse_args(argv)
    if args.cv:
        print(f"Cross-validation (threshold {args.threshold}): rules chosen on two sets, measured on the third")
        print("| tuned on | measured on | recall (risk found) | false flags (no risk) |")
        print("| --- | --- | --- | --- |")
        for row in cross_validate(args.threshold):
            print("| " + " | ".join(row) + " |")
        return 0
    files = args.files or list(SETS.values())
    print(f"Threshold {args.threshold}")
    print("| set | recall (risk found) | false flags (no risk) |")
    print("| --- | --- | --- |")
    for path in files:
        found, at_risk, false, safe, missed, flagged = measure(path, args.threshold)
        print(f"| {path.name} ({at_risk + safe} texts) | {found}/{at_risk} = {found / at_risk:.2f} "
              f"| {false}/{safe} = {false / safe:.0%} |")
        if args.show:
            for c in missed:
                print("  MISSED:", c["text"][:150], "\n     ", _explain(c["text"]))
            for c in flagged:
                print("  FLAGGED:", c["text"][:150], "\n     ", _explain(c["text"]), "\n      signals:", risk.find_signals(c["text"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
