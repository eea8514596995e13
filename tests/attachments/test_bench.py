"""The short run of bench/attachments: a real `safeshare serve` on this test's backend takes a 2 MB
text file, a 2 MB PDF and a 2-megapixel photo through the API and the report form, serves them
back, and stays within the worker's memory budget (the full run: bench/results/attachments.md)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bench.attachments import run as bench


def test_the_attachments_bench_runs_within_its_memory_budget(backend: Any, tmp_path: Path) -> None:
    files = {"2mb.txt": (bench.text_file(2), 0.0), "2mb.pdf": (bench.pdf_file(2), 0.0),
             "IMG_2mp.jpg": (bench.phone_photo(2), 2.0)}
    result = bench.run_backend(backend.name, files=files, repeats=1, download_seconds=1.0, clients=2,
                               workdir=tmp_path)
    assert [u["ok"] for u in result["uploads"]] == [True] * 6, result["uploads"]
    assert set(result["downloads"]) == set(files)
    assert bench.over_budget([result]) == []
    out = tmp_path / "attachments.md"
    args = argparse.Namespace(backends=backend.name, file_mb=2, photo_mp=2, repeats=1, download_seconds=1.0, clients=2)
    bench.write_markdown([result], args, out)
    assert "Over budget: none." in out.read_text()
