"""cowlint on real repositories nobody here wrote: precision on whole checkouts, recall on bug fixes.

    python benchmarks/real_code.py --checkouts DIR [--cowlint PATH] [--only NAME,NAME] [--review-table benchmarks/real_code.md]

``benchmarks/real_code.json`` names each repository and commit. DIR holds the
checkouts (never committed): ``DIR/<name>`` for the precision repositories and
``DIR/<name>-before`` / ``DIR/<name>-after`` for each recall case (the parent of
the fix and the fix). Missing checkouts are listed and skipped.

Precision: every finding is matched with the reviewed verdicts; a finding no
one has reviewed is printed, to be reviewed and added to the JSON file (a
finding a maintainer would not fix is a bug). Recall: a case is caught when a
finding of one of its rules is on one of its bug lines before the fix, and gone
when no finding of those rules is left on the bug's file after it (except the
fixes the file marks as partial, which are right to keep it).

``--review-table`` writes every finding of the precision run with its confidence and
verdict, the precision per confidence level, and each rule's false findings per 200,000
lines of Python (the lines of the checkouts' ``.py`` files).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import time
from pathlib import Path

DATA = Path(__file__).with_name("real_code.json")


def findings(cowlint: str, checkout: Path) -> tuple[list[dict[str, object]], float]:
    """cowlint's JSON findings on a whole checkout (run from its root, as a user would), and the wall time."""
    started = time.perf_counter()
    result = subprocess.run([cowlint, "--no-cache", "--output-format", "json", "--jobs", "2", "."], cwd=checkout, capture_output=True, text=True, timeout=1800)
    elapsed = time.perf_counter() - started
    if result.returncode not in (0, 1):  # a crash must not read as "no findings": stop the run
        raise SystemExit(f"{checkout}: cowlint exited {result.returncode}: {result.stderr.strip()[-2000:]}")
    return (json.loads(result.stdout) if result.stdout.strip() else []), elapsed


def python_lines(checkout: Path) -> int:
    """The lines of the checkout's Python files (what the per-200k-lines rates count)."""
    total = 0
    for path in checkout.rglob("*.py"):
        try:
            with path.open("rb") as handle:
                total += sum(1 for _ in handle)
        except OSError:
            continue
    return total


def precision(data: dict[str, object], checkouts: Path, cowlint: str, only: set[str], rows: list[dict[str, object]] | None = None) -> int:
    """Prints the table; returns the lines of Python checked (and fills ``rows``, one per finding)."""
    reviewed = {(f["repo"], f["path"], f["line"], f["code"]): f for f in data["reviewed_findings"]}  # type: ignore[index,union-attr]
    print("| repo | commit | findings | reviewed true | reviewed false | unreviewed | wall |")
    print("|---|---|---:|---:|---:|---:|---:|")
    unreviewed = []
    lines = 0
    for repo in data["precision"]:  # type: ignore[union-attr]
        name = repo["name"]
        if only and name not in only:
            continue
        checkout = checkouts / name
        if not checkout.is_dir():
            print(f"| {name} | missing checkout | | | | | |")
            continue
        found, elapsed = findings(cowlint, checkout)
        lines += python_lines(checkout)
        counts = {"true": 0, "false": 0, "unreviewed": 0}
        for item in found:
            verdict = reviewed.get((name, item["path"], item["line"], item["code"]))
            if rows is not None:
                kind = "unreviewed" if verdict is None else "true" if str(verdict["verdict"]).startswith("true") else "false"
                worth = bool(verdict.get("worth_a_report", True)) if verdict else False
                rows.append({"repo": repo["repo"], "commit": str(repo["commit"])[:10], "finding": item, "verdict": kind, "worth": worth, "note": verdict["note"] if verdict else ""})
            if verdict is None:
                counts["unreviewed"] += 1
                unreviewed.append(f"{name}: {item['path']}:{item['line']}:{item['column']}: {item['code']} {item['message']}")
            elif str(verdict["verdict"]).startswith("true"):
                counts["true"] += 1
            else:
                counts["false"] += 1
        print(f"| {repo['repo']} | {str(repo['commit'])[:10]} | {len(found)} | {counts['true']} | {counts['false']} | {counts['unreviewed']} | {elapsed:.1f} s |")
    if unreviewed:
        print("\nNot reviewed yet (review each, then add it to real_code.json):")
        for line in unreviewed:
            print(f"- {line}")
    return lines


def review_table(rows: list[dict[str, object]], lines: int) -> str:
    """The review as Markdown: precision per confidence level, false findings per rule, every finding."""
    out = [
        "# Every finding on the precision repositories, with its verdict",
        "",
        "Written by `python benchmarks/real_code.py --checkouts DIR --review-table benchmarks/real_code.md`",
        "from the verdicts in `real_code.json` (the reason for each is its note there). A finding a maintainer",
        f"would not fix is a bug. {len(rows)} findings on {lines:,} lines of Python.",
        "",
        "A true finding may still not be worth a report (`worth_a_report: false` in the JSON): a true problem",
        "in an archived copy of a script, a cost too small to act on. The last column counts those as misses:",
        "the share of findings a maintainer would act on. (Python 2 files are a warning, not a COW901 finding.)",
        "",
        "| confidence | findings | true | false | unreviewed | precision | worth a report |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for level in ("high", "medium", "low", "all"):
        at = [row for row in rows if level == "all" or row["finding"]["confidence"] == level]  # type: ignore[index]
        if at:
            true, false = sum(row["verdict"] == "true" for row in at), sum(row["verdict"] == "false" for row in at)
            worth = sum(row["verdict"] == "true" and row["worth"] for row in at)
            rate = f"{100 * true / (true + false):.0f} %" if true + false else "n/a"
            acted = f"{worth} ({100 * worth / (true + false):.0f} %)" if true + false else "n/a"
            out.append(f"| {level} | {len(at)} | {true} | {false} | {len(at) - true - false} | {rate} | {acted} |")
    out += ["", "| rule | findings | false | false per 200k lines |", "|---|---:|---:|---:|"]
    for code in sorted({str(row["finding"]["code"]) for row in rows}):  # type: ignore[index]
        of = [row for row in rows if row["finding"]["code"] == code]  # type: ignore[index]
        false = sum(row["verdict"] == "false" for row in of)
        out.append(f"| {code} | {len(of)} | {false} | {false * 200_000 / lines:.2f} |" if lines else f"| {code} | {len(of)} | {false} | n/a |")
    out += ["", "| repo | commit | finding | confidence | verdict | worth a report | reason |", "|---|---|---|---|---|---|---|"]
    for row in rows:
        item = row["finding"]
        shown = f"`{item['path']}:{item['line']}` {item['code']} {item['message']}".replace("|", "\\|")  # type: ignore[index]
        note = " ".join(str(row["note"]).split()).replace("|", "\\|")
        worth = "yes" if row["worth"] else "no"
        out.append(f"| {row['repo']} | {row['commit']} | {shown} | {item['confidence']} | {row['verdict']} | {worth} | {note} |")  # type: ignore[index]
    return "\n".join(out) + "\n"


def _at(finding: dict[str, object], location: dict[str, object]) -> bool:
    """Whether ``finding`` is at one of the location's lines and, where the location says which
    name the bug is about (``mentions``), names it: a finding at the dispatch must name the global."""
    if finding["path"] != location["path"] or finding["line"] not in location["lines"]:  # type: ignore[operator]
        return False
    return str(location.get("mentions", "")) in f"{finding['message']}: {finding.get('detail', '')}"


def recall(data: dict[str, object], checkouts: Path, cowlint: str, only: set[str]) -> None:
    print("\n| case | repo | bug kind | caught before | gone after |")
    print("|---|---|---|---|---|")
    caught = total = 0
    for case in data["recall"]:  # type: ignore[union-attr]
        name = case["name"]
        if only and name not in only:
            continue
        before, after = checkouts / f"{name}-before", checkouts / f"{name}-after"
        if not before.is_dir() or not after.is_dir():
            print(f"| {name} | {case['repo']} | {case['bug_kind']} | missing checkout | |")
            continue
        total += 1
        rules = set(case["rules"])
        files = {location["path"] for location in case["locations"]}
        found_before, _ = findings(cowlint, before)
        hit = [f for f in found_before if f["code"] in rules and any(_at(f, location) for location in case["locations"])]
        gone = "n/a"
        if hit:
            caught += 1
            found_after, _ = findings(cowlint, after)
            left = [f for f in found_after if f["code"] in rules and f["path"] in files]
            gone = "yes" if not left else ("kept, rightly: " + case["partial_fix"] if case["partial_fix"] else "no")
        shown = ", ".join(sorted({f"{f['code']} {f['path']}:{f['line']}" for f in hit})) or "no"
        print(f"| {name} | {case['repo']} | {case['bug_kind']} | {shown} | {gone} |")
    if total:
        print(f"\nrecall: {caught}/{total} = {100 * caught / total:.0f}%")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkouts", type=Path, required=True, help="folder holding the checkouts")
    parser.add_argument("--cowlint", default=shutil.which("cowlint") or "cowlint", help="the cowlint executable (default: on PATH)")
    parser.add_argument("--only", default="", help="comma-separated names of repositories or cases")
    parser.add_argument("--skip-recall", action="store_true")
    parser.add_argument("--skip-precision", action="store_true")
    parser.add_argument("--review-table", type=Path, help="write every finding with its confidence and verdict here (Markdown)")
    args = parser.parse_args()
    data = json.loads(DATA.read_text(encoding="utf-8"))
    only = {name for name in args.only.split(",") if name}
    if not args.skip_precision:
        rows: list[dict[str, object]] = []
        lines = precision(data, args.checkouts, args.cowlint, only, rows)
        if args.review_table is not None:
            args.review_table.write_text(review_table(rows, lines), encoding="utf-8")
    if not args.skip_recall:
        recall(data, args.checkouts, args.cowlint, only)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
