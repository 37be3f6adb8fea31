"""The ``tierkit`` command: ``tierkit demo`` and ``tierkit run``."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from . import datasets
from ._errors import TierkitError
from .features import join, summarize
from .model import fit, summary
from .policy import Policy

__all__ = ["main"]


class CliError(Exception):
    """An error to print as one line and exit with status 2."""


def _format_summary(s: pd.DataFrame) -> str:
    table = pd.DataFrame({
        "customers": s["customers"].map("{:,}".format),
        "% customers": (100 * s["customer_share"]).map("{:.1f}".format),
        "revenue": s["revenue"].map("{:,.2f}".format),
        "% revenue": (100 * s["revenue_share"]).map("{:.1f}".format),
        "mean score": s["mean_score"].map(lambda v: "-" if np.isnan(v) else f"{v:.1f}"),
    }, index=s.index)
    return table.to_string()


def _write_outputs(out: Path, features: pd.DataFrame, assignment: pd.DataFrame, tier_summary: pd.DataFrame,
                   policy: Policy, rejects: pd.DataFrame, report: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    assignment.join(features[[c for c in ("revenue", "frequency", "recency", "T", "days_since_last") if c in features]]) \
        .to_csv(out / "assignments.csv")
    tier_summary.to_csv(out / "summary.csv")
    policy.to_json(out / "policy.json")
    rejects.to_csv(out / "rejects.csv", index=False)
    (out / "report.json").write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")


def _run_flow(tx: pd.DataFrame, policy: Policy, out: Path, *, customer: str, date: str, amount: str,
              margin: str | None, as_of: str | None, freq: str, unit: str | None,
              attributes: pd.DataFrame | None, errors: str, source: str, html: bool = False) -> pd.DataFrame:
    t0 = time.perf_counter()
    try:
        features, rejects = summarize(tx, customer, date, amount, margin=margin, as_of=as_of, freq=freq, unit=unit,
                                      errors=errors, return_rejects=True)
    except TierkitError as exc:
        raise CliError(_locate(str(exc), source)) from None
    report = dict(features.attrs["report"])
    if attributes is not None:
        features = join(features, attributes)
        report["join"] = {k: v for k, v in features.attrs["join"].items() if k.startswith("n_")}
    model = fit(policy, features)
    assignment = model.assign(features)
    tier_summary = summary(assignment, features)
    report["seconds"] = round(time.perf_counter() - t0, 3)
    _write_outputs(out, features, assignment, tier_summary, policy, rejects, report)
    print(f"{report['customers']:,} customers from {report['transactions']:,} transactions "
          f"(as of {report['as_of']}; {report['after_as_of']:,} after it excluded, "
          f"{report['rejected_rows']:,} rows and {report['rejected_customers']:,} customers in rejects.csv)")
    print(_format_summary(tier_summary))
    print(f"wrote assignments.csv, summary.csv, policy.json, rejects.csv, report.json to {out}")
    if html:
        from .report import report as html_report
        page = out.resolve() / "report.html"
        html_report(assignment, features, model=model, title="tierkit demo", path=page)
        print(f"open the HTML report: {page.as_uri()}")
    return tier_summary


def _locate(message: str, source: str) -> str:
    """'row 12: ...' from the core -> 'FILE, line 14 (row 12): ...' for a CSV with a header."""
    if message.startswith("row "):
        head, _, rest = message.partition(":")
        try:
            row = int(head.split()[1])
        except (IndexError, ValueError):
            return f"{source}: {message}"
        return f"{source}, line {row + 2} (row {row}):{rest}"
    return f"{source}: {message}"


def _read_table(path: str, role: str, numeric: Sequence[str] = (), dates: Sequence[str] = ()) -> pd.DataFrame:
    p = Path(path)
    if not p.exists():
        raise CliError(f"{role} file {path!r} does not exist")
    try:
        if p.suffix.lower() == ".parquet":
            df = pd.read_parquet(p)
        else:
            df = pd.read_csv(p)
    except ImportError as exc:
        raise CliError(f"{path}: reading Parquet needs pyarrow ({exc})") from None
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise CliError(f"{path}: cannot read as {'Parquet' if p.suffix.lower() == '.parquet' else 'CSV'}: {exc}") from None
    for col in list(numeric) + list(dates):
        if col not in df.columns:
            raise CliError(f"{path}: no column '{col}'; columns: {', '.join(map(str, df.columns))}")
    for col in numeric:
        if df[col].dtype.kind not in "biuf":
            conv = pd.to_numeric(df[col], errors="coerce")
            bad = conv.isna() & df[col].notna()
            if bad.any():
                row = int(np.flatnonzero(bad.to_numpy())[0])
                raise CliError(f"{path}, line {row + 2} (row {row}), column '{col}': expected a number, got {df[col].iloc[row]!r}")
            df[col] = conv
    for col in dates:
        if df[col].dtype.kind in "iuM":
            continue
        conv = pd.to_datetime(df[col], errors="coerce", format="mixed")
        bad = conv.isna() & df[col].notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise CliError(f"{path}, line {row + 2} (row {row}), column '{col}': expected a date, got {df[col].iloc[row]!r}")
        df[col] = conv
    return df


def _demo(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    tx = datasets.synthetic(args.customers, seed=args.seed)
    print(f"tierkit demo: {args.customers:,} synthetic customers (seed {args.seed}), {len(tx):,} transactions "
          f"generated in {time.perf_counter() - t0:.2f}s; default policy "
          f"(key 5% / high-value 15% / ordinary 50% / potential 30% of the value score)")
    _run_flow(tx, Policy.default(), Path(args.out), customer="customer", date="date", amount="amount", margin="margin",
              as_of=None, freq="D", unit=None, attributes=None, errors="raise", source="synthetic data", html=True)
    return 0


def _run(args: argparse.Namespace) -> int:
    numeric = [args.amount] + ([args.margin] if args.margin else [])
    tx = _read_table(args.transactions, "transactions", numeric=numeric, dates=[args.date])
    attributes = None
    if args.attributes:
        attributes = _read_table(args.attributes, "attributes")
        if args.customer not in attributes.columns:
            raise CliError(f"{args.attributes}: no column '{args.customer}' to join on; columns: "
                           f"{', '.join(map(str, attributes.columns))}")
        attributes = attributes.set_index(args.customer)
    try:
        policy = Policy(Path(args.policy)) if args.policy else Policy.default()
    except (TierkitError, FileNotFoundError) as exc:
        raise CliError(f"{args.policy}: {exc}") from None
    _run_flow(tx, policy, Path(args.out), customer=args.customer, date=args.date, amount=args.amount,
              margin=args.margin, as_of=args.as_of, freq=args.freq, unit=args.unit, attributes=attributes,
              errors="reject" if args.reject_invalid else "raise", source=args.transactions)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tierkit", description="Score customers and sort them into tiers.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the whole flow on synthetic data with the default policy",
                          description="Generate synthetic transactions, summarize, fit the default policy, assign "
                                      "tiers, print the tier summary and write the results to --out.")
    demo.add_argument("--customers", type=int, default=100_000, help="number of customers (default 100000)")
    demo.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    demo.add_argument("--out", default="tierkit-demo", help="output folder (default ./tierkit-demo)")
    demo.set_defaults(func=_demo)
    run = sub.add_parser("run", help="tier the customers of a transactions file",
                         description="Summarize a transactions CSV (or Parquet), join optional attributes, fit the "
                                     "policy, assign tiers and write assignments, summary, policy, rejects and a report.")
    run.add_argument("--transactions", required=True, help="CSV or Parquet file, one row per transaction")
    run.add_argument("--attributes", help="CSV or Parquet file, one row per customer (joined by the customer column)")
    run.add_argument("--policy", help="policy JSON file (default: the built-in policy)")
    run.add_argument("--out", required=True, help="output folder")
    run.add_argument("--customer", default="customer", help="customer id column (default customer)")
    run.add_argument("--date", default="date", help="date column (default date)")
    run.add_argument("--amount", default="amount", help="amount column (default amount)")
    run.add_argument("--margin", help="margin (profit) column, optional")
    run.add_argument("--as-of", dest="as_of", help="observation end date (default: the last transaction)")
    run.add_argument("--freq", default="D", choices=["D", "W", "M"], help="purchase period (default D)")
    run.add_argument("--unit", choices=["D", "W"], help="unit of recency and T with daily periods")
    run.add_argument("--reject-invalid", action="store_true",
                     help="put bad rows into rejects.csv instead of stopping at the first one")
    run.set_defaults(func=_run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except CliError as exc:
        print(f"tierkit: error: {exc}", file=sys.stderr)
        return 2
    except TierkitError as exc:
        print(f"tierkit: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
