"""One row of the bench's table, shared by every section."""

from __future__ import annotations


def row(name: str, value: str, reference: str, ratio: str, target: str, ok: bool | None) -> str:
    verdict = "" if ok is None else ("met" if ok else "MISSED")
    return f"| {name} | {value} | {reference} | {ratio} | {target} | {verdict} |"


def print_table(rows: list[str]) -> None:
    print("| measure | ours | reference (same run) | ratio | target | verdict |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))
