"""Two processes ingesting the same file at once record every touchpoint exactly once."""

from __future__ import annotations

import subprocess
import sys

from tests.support import export_lines, purchase, write_jsonl


def test_two_processes_at_once_record_each_touchpoint_once(cli, store_url, tmp_path):
    lines = [purchase(f"p{i}", "2026-03-01T09:00:00+00:00", contact=f"C{i % 50}")
             for i in range(3000)]
    path = write_jsonl(tmp_path / "same.jsonl", *lines)
    command = [sys.executable, "-m", "orchestrator.cli", "--store", store_url, "ingest",
               str(path)]

    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    outputs = [run.communicate(timeout=120) for run in runs]

    assert [run.returncode for run in runs] == [0, 0], outputs
    recorded = sorted(int(out.split(" recorded")[0].rsplit(" ", 1)[1]) for out, _ in outputs)
    assert recorded == [0, 3000]
    exported = export_lines(cli, store_url)
    assert sorted(e["touchpoint_id"] for e in exported) == sorted(t["id"] for t in lines)
