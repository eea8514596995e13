"""The short run of bench/search: a few dozen cases on this test's backend, every search of the
bench timed once (the full run, 10,000 cases on PostgreSQL: bench/results/search.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.search import run as bench


def test_the_search_bench_finds_what_it_planted(db_url: str, tmp_path: Path) -> None:
    result = bench.run(db_url, cases=40, rounds=1, key_file=tmp_path / "keys.json")
    found: dict[str, Any] = {r["words"]: r["found"] for r in result["searches"]}
    # Case 0 is named Morgan Quayle and holds the rare word; case 3 (of 8 sentences) says "bullied".
    assert found == {"bullied manager": 5, "quayle": 1, bench.RARE: 1, "xylophone": 0}
    bench.write_markdown(result, tmp_path / "search.md")
    assert "| a name | `quayle` | 1 |" in (tmp_path / "search.md").read_text()
