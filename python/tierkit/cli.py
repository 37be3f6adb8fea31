"""The ``tierkit`` command: ``demo``, ``run``, and periodic re-tiering with ``fit``,
``assign`` and ``report``.

Monthly re-tiering keeps one fitted model and carries each run's assignment into the
next, so hysteresis counters (``below_count``) and stages (``won_back`` needs the
previous ``lost``) continue between runs::

    tierkit fit --transactions tx.csv --policy policy.json --model model.tk
    tierkit assign --model model.tk --transactions tx.csv --out 2024-11
    tierkit assign --model model.tk --transactions tx.csv --previous 2024-11/assignments.csv --out 2024-12
    tierkit report --assignments 2024-12/assignments.csv --model model.tk --previous 2024-11/assignments.csv
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import datasets
from ._errors import TierkitError
from .features import join, summarize
from .model import Model, fit, load, save, summary
from .policy import Policy
from .report import report as html_report
from .retention import Retention, retention

__all__ = ["main"]


class CliError(Exception):
    """An error to print as one line and exit with status 2."""


def _format_summary(s: pd.DataFrame) -> str:
    table = pd.DataFrame(
        {
            "customers": s["customers"].map("{:,}".format),
            "% customers": (100 * s["customer_share"]).map("{:.1f}".format),
            "revenue": s["revenue"].map("{:,.2f}".format),
            "% revenue": (100 * s["revenue_share"]).map("{:.1f}".format),
            "mean score": s["mean_score"].map(lambda v: "-" if np.isnan(v) else f"{v:.1f}"),
        },
        index=s.index,
    )
    return table.to_string()


def _write_outputs(
    out: Path,
    features: pd.DataFrame,
    assignment: pd.DataFrame,
    tier_summary: pd.DataFrame,
    policy: Policy,
    rejects: pd.DataFrame,
    report: dict[str, Any],
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    assignment.join(
        features[[c for c in ("revenue", "frequency", "recency", "T", "days_since_last") if c in features]]
    ).to_csv(out / "assignments.csv")
    tier_summary.to_csv(out / "summary.csv")
    policy.to_json(out / "policy.json")
    rejects.to_csv(out / "rejects.csv", index=False)
    (out / "report.json").write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")


def _check_out(path: str) -> Path:
    """The --out folder, created if missing; a CliError naming it if it cannot be written."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise CliError(f"--out {path!r}: exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"--out {path!r}: cannot create the folder ({exc.strerror or exc})") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise CliError(f"--out {path!r}: the folder is not writable")
    return out


def _features(
    tx: pd.DataFrame,
    *,
    customer: str,
    date: str,
    amount: str,
    margin: str | None,
    as_of: str | None,
    freq: str,
    unit: str | None,
    attributes: pd.DataFrame | None,
    errors: str,
    source: str,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Summarize the transactions and join the attributes: (features, rejects, report)."""
    try:
        features, rejects = summarize(
            tx,
            customer,
            date,
            amount,
            margin=margin,
            as_of=as_of,
            freq=freq,
            unit=unit,
            errors=errors,
            return_rejects=True,
        )
    except TierkitError as exc:
        raise CliError(_locate(str(exc), source)) from None
    report = dict(features.attrs["report"])
    if attributes is not None:
        features = join(features, attributes)
        report["join"] = {k: v for k, v in features.attrs["join"].items() if k.startswith("n_")}
    return features, rejects, report


def _print_counts(report: dict[str, Any]) -> None:
    print(
        f"{report['customers']:,} customers from {report['transactions']:,} transactions "
        f"(as of {report['as_of']}; {report['after_as_of']:,} after it excluded, "
        f"{report['rejected_rows']:,} rows and {report['rejected_customers']:,} customers in rejects.csv)"
    )


def _cohorts(
    tx: pd.DataFrame, assignment: pd.DataFrame, *, customer: str, date: str, amount: str, as_of: str
) -> Retention:
    """Monthly cohort retention per tier up to as_of, for the HTML report (rows without
    an id or a date, in rejects.csv with errors='reject', are left out)."""
    dated = tx[tx[customer].notna() & tx[date].notna()]
    return retention(dated, "M", by=assignment["tier"], customer=customer, date=date, amount=amount, end=as_of)


def _run_flow(
    tx: pd.DataFrame,
    policy: Policy,
    out: Path,
    *,
    customer: str,
    date: str,
    amount: str,
    margin: str | None,
    as_of: str | None,
    freq: str,
    unit: str | None,
    attributes: pd.DataFrame | None,
    errors: str,
    source: str,
) -> pd.DataFrame:
    t0 = time.perf_counter()
    features, rejects, report = _features(
        tx,
        customer=customer,
        date=date,
        amount=amount,
        margin=margin,
        as_of=as_of,
        freq=freq,
        unit=unit,
        attributes=attributes,
        errors=errors,
        source=source,
    )
    try:
        model = fit(policy, features)
        assignment = model.assign(features)
    except TierkitError as exc:
        raise CliError(f"{source}: {exc}") from None
    tier_summary: pd.DataFrame = summary(assignment, features)
    report["seconds"] = round(time.perf_counter() - t0, 3)
    _write_outputs(out, features, assignment, tier_summary, policy, rejects, report)
    save(model, out / "model.tk")
    cohorts = _cohorts(tx, assignment, customer=customer, date=date, amount=amount, as_of=report["as_of"])
    html_report(
        assignment,
        features,
        model=model,
        retention=cohorts,
        title=f"Customer tiers as of {report['as_of']}",
        path=out / "report.html",
        progress=False,
    )
    _print_counts(report)
    print(_format_summary(tier_summary))
    print(f"wrote assignments.csv, summary.csv, policy.json, rejects.csv, report.json, model.tk, report.html to {out}")
    print(f"open the HTML report: {(out.resolve() / 'report.html').as_uri()}")
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
        raise CliError(
            f"{path}: cannot read as {'Parquet' if p.suffix.lower() == '.parquet' else 'CSV'}: {exc}"
        ) from None
    for col in list(numeric) + list(dates):
        if col not in df.columns:
            raise CliError(f"{path}: no column '{col}'; columns: {', '.join(map(str, df.columns))}")
    for col in numeric:
        if df[col].dtype.kind not in "biuf":
            conv = pd.to_numeric(df[col], errors="coerce")
            bad = conv.isna() & df[col].notna()
            if bad.any():
                row = int(np.flatnonzero(bad.to_numpy())[0])
                raise CliError(
                    f"{path}, line {row + 2} (row {row}), column '{col}': expected a number, got {df[col].iloc[row]!r}"
                )
            df[col] = conv
    for col in dates:
        if df[col].dtype.kind in "iuM":
            continue
        try:
            conv = pd.to_datetime(df[col], errors="coerce", format="mixed")
        except (TypeError, ValueError):  # e.g. mixed time zones: summarize reads the values one by one
            continue
        bad = conv.isna() & df[col].notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise CliError(
                f"{path}, line {row + 2} (row {row}), column '{col}': expected a date, got {df[col].iloc[row]!r}"
            )
        df[col] = conv
    return df


def _demo(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    tx = datasets.synthetic(args.customers, seed=args.seed)
    print(
        f"tierkit demo: {args.customers:,} synthetic customers (seed {args.seed}), {len(tx):,} transactions "
        f"generated in {time.perf_counter() - t0:.2f}s; default policy "
        f"(key 5% / high-value 15% / ordinary 50% / potential 30% of the value score)"
    )
    _run_flow(
        tx,
        Policy.default(),
        _check_out(args.out),
        customer="customer",
        date="date",
        amount="amount",
        margin="margin",
        as_of=None,
        freq="D",
        unit=None,
        attributes=None,
        errors="raise",
        source="synthetic data",
    )
    return 0


def _run(args: argparse.Namespace) -> int:
    tx, attributes = _inputs(args)
    policy = _policy(args.policy)
    _run_flow(
        tx,
        policy,
        _check_out(args.out),
        customer=args.customer,
        date=args.date,
        amount=args.amount,
        margin=args.margin,
        as_of=args.as_of,
        freq=args.freq,
        unit=args.unit,
        attributes=attributes,
        errors="reject" if args.reject_invalid else "raise",
        source=args.transactions,
    )
    return 0


def _inputs(args: argparse.Namespace) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The transactions and optional attributes files of run, fit and assign."""
    numeric = [args.amount] + ([args.margin] if args.margin else [])
    tx = _read_table(args.transactions, "transactions", numeric=numeric, dates=[args.date])
    attributes = None
    if args.attributes:
        attributes = _read_table(args.attributes, "attributes")
        if args.customer not in attributes.columns:
            raise CliError(
                f"{args.attributes}: no column '{args.customer}' to join on; columns: "
                f"{', '.join(map(str, attributes.columns))}"
            )
        attributes = attributes.set_index(args.customer)
    return tx, attributes


def _input_features(args: argparse.Namespace) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any], pd.DataFrame]:
    """(features, rejects, report, transactions) of run, fit and assign's input options."""
    tx, attributes = _inputs(args)
    return *_features(
        tx,
        customer=args.customer,
        date=args.date,
        amount=args.amount,
        margin=args.margin,
        as_of=args.as_of,
        freq=args.freq,
        unit=args.unit,
        attributes=attributes,
        errors="reject" if args.reject_invalid else "raise",
        source=args.transactions,
    ), tx


def _policy(path: str | None) -> Policy:
    try:
        return Policy(Path(path)) if path else Policy.default()
    except TierkitError as exc:  # the message names the policy file
        raise CliError(str(exc)) from None
    except FileNotFoundError as exc:
        raise CliError(f"{path}: {exc}") from None


def _load_model(path: str) -> Model:
    if not Path(path).exists():
        raise CliError(f"model file {path!r} does not exist (write one with `tierkit fit ... --model {path}`)")
    try:
        return load(path)
    except TierkitError as exc:
        raise CliError(f"{path}: {exc}") from None


def _read_assignment(path: str, role: str, model: Model | None = None) -> pd.DataFrame:
    """An assignments.csv written by run or assign, indexed by customer, with the tier
    as an ordered categorical (the model's tiers, else in the order of the
    summary.csv beside it, else of first appearance)."""
    frame = _read_table(path, role)
    frame = frame.set_index(frame.columns[0])
    if "tier" not in frame.columns:
        raise CliError(f"{path}: no column 'tier'; expected the assignments.csv of `tierkit run` or `tierkit assign`")
    if model is not None:
        tiers = list(model.policy.tier_names)
    elif (Path(path).parent / "summary.csv").exists():
        tiers = [str(t) for t in pd.read_csv(Path(path).parent / "summary.csv")["tier"]]
    else:
        tiers = [str(t) for t in pd.unique(frame["tier"].dropna())]
    unknown = sorted(set(frame["tier"].dropna().astype(str)) - set(tiers))
    if unknown:
        raise CliError(f"{path}: column 'tier': unknown tier {unknown[0]!r}; expected one of: {', '.join(tiers)}")
    frame["tier"] = pd.Categorical(frame["tier"], categories=tiers, ordered=True)
    return frame


def _fit(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    policy = _policy(args.policy)
    features, _, report, _ = _input_features(args)
    try:
        model = fit(policy, features)
    except TierkitError as exc:
        raise CliError(f"{args.transactions}: {exc}") from None
    Path(args.model).parent.mkdir(parents=True, exist_ok=True)
    save(model, args.model)
    _print_counts(report)
    print(
        f"fitted policy {policy.name!r} on {len(features):,} customers in {time.perf_counter() - t0:.2f}s; "
        f"wrote {args.model}"
    )
    return 0


def _assign(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    model = _load_model(args.model)
    previous = _read_assignment(args.previous, "previous assignment", model) if args.previous else None
    features, rejects, report, tx = _input_features(args)
    try:
        assignment = model.assign(features, previous=previous)
    except TierkitError as exc:
        if previous is not None and str(exc).startswith("previous"):
            raise CliError(f"{args.previous}: {exc}") from None
        raise CliError(f"{args.transactions}: {exc}") from None
    tier_summary: pd.DataFrame = summary(assignment, features)
    report["seconds"] = round(time.perf_counter() - t0, 3)
    if previous is not None:
        report["previous"] = {
            "file": args.previous,
            **assignment.attrs["previous"],
            "held_by_hysteresis": int((assignment["below_count"] > 0).sum()),
        }
    out = _check_out(args.out)
    _write_outputs(out, features, assignment, tier_summary, model.policy, rejects, report)
    if not args.no_report:
        cohorts = _cohorts(
            tx, assignment, customer=args.customer, date=args.date, amount=args.amount, as_of=report["as_of"]
        )
        html_report(
            assignment,
            features,
            model=model,
            previous=previous,
            retention=cohorts,
            title=f"Customer tiers as of {report['as_of']}",
            path=out / "report.html",
            progress=False,
        )
    _print_counts(report)
    if previous is not None:
        p = report["previous"]
        print(
            f"re-tiered against {args.previous}: {p['new_to_book']:,} new to the book, {p['dropped']:,} dropped, "
            f"{p['held_by_hysteresis']:,} held in a tier above their score's by hysteresis"
        )
    print(_format_summary(tier_summary))
    print(
        f"wrote assignments.csv, summary.csv, policy.json, rejects.csv, report.json"
        f"{'' if args.no_report else ', report.html'} to {out}"
    )
    return 0


def _report(args: argparse.Namespace) -> int:
    model = _load_model(args.model) if args.model else None
    assignment = _read_assignment(args.assignments, "assignments", model)
    previous = _read_assignment(args.previous, "previous assignment", model) if args.previous else None
    if "revenue" not in assignment.columns:
        raise CliError(
            f"{args.assignments}: no column 'revenue'; expected the assignments.csv of `tierkit run` or "
            "`tierkit assign`"
        )
    out = Path(args.out) if args.out else Path(args.assignments).parent / "report.html"
    html_report(assignment, model=model, previous=previous, title=args.title, path=out, progress=False)
    print(f"wrote {out}")
    return 0


def _add_input_options(p: argparse.ArgumentParser) -> None:
    """The transactions, attributes and summarize options of run, fit and assign."""
    p.add_argument("--transactions", required=True, help="CSV or Parquet file, one row per transaction")
    p.add_argument("--attributes", help="CSV or Parquet file, one row per customer (joined by the customer column)")
    p.add_argument("--customer", default="customer", help="customer id column (default customer)")
    p.add_argument("--date", default="date", help="date column (default date)")
    p.add_argument("--amount", default="amount", help="amount column (default amount)")
    p.add_argument("--margin", help="margin (profit) column, optional")
    p.add_argument("--as-of", dest="as_of", help="observation end date (default: the last transaction)")
    p.add_argument("--freq", default="D", choices=["D", "W", "M"], help="purchase period (default D)")
    p.add_argument("--unit", choices=["D", "W"], help="unit of recency and T with daily periods")
    p.add_argument(
        "--reject-invalid",
        action="store_true",
        help="put bad rows into rejects.csv instead of stopping at the first one",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tierkit", description="Score customers and sort them into tiers.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo",
        help="run the whole flow on synthetic data with the default policy",
        description="Generate synthetic transactions, summarize, fit the default policy, assign "
        "tiers, print the tier summary and write the results to --out.",
    )
    demo.add_argument("--customers", type=int, default=100_000, help="number of customers (default 100000)")
    demo.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    demo.add_argument("--out", default="tierkit-demo", help="output folder (default ./tierkit-demo)")
    demo.set_defaults(func=_demo)
    run = sub.add_parser(
        "run",
        help="tier the customers of a transactions file",
        description="Summarize a transactions CSV (or Parquet), join optional attributes, fit the "
        "policy, assign tiers and write assignments, summary, policy, rejects, a report, "
        "the fitted model (model.tk) and the HTML report (report.html).",
    )
    _add_input_options(run)
    run.add_argument("--policy", help="policy JSON file (default: the built-in policy)")
    run.add_argument("--out", required=True, help="output folder")
    run.set_defaults(func=_run)
    fit_cmd = sub.add_parser(
        "fit",
        help="fit a policy and save the model for later runs of `tierkit assign`",
        description="Summarize the transactions, join optional attributes, fit the policy and "
        "write the fitted model (weights, normalizers, cut points) to --model.",
    )
    _add_input_options(fit_cmd)
    fit_cmd.add_argument("--policy", help="policy JSON file (default: the built-in policy)")
    fit_cmd.add_argument("--model", required=True, help="model file to write (e.g. model.tk)")
    fit_cmd.set_defaults(func=_fit)
    assign = sub.add_parser(
        "assign",
        help="tier customers with a saved model, re-tiering against a previous run",
        description="Summarize the transactions, assign tiers with the model of `tierkit fit`, "
        "and with --previous re-tier against that run's assignments.csv: hysteresis "
        "counters (below_count) and stages carry over. Writes the same files as run "
        "(and report.html).",
    )
    _add_input_options(assign)
    assign.add_argument("--model", required=True, help="model file written by `tierkit fit` or `tierkit run`")
    assign.add_argument("--previous", help="assignments.csv of the previous run (tier, below_count, stage)")
    assign.add_argument("--out", required=True, help="output folder")
    assign.add_argument("--no-report", action="store_true", help="do not write report.html")
    assign.set_defaults(func=_assign)
    rep = sub.add_parser(
        "report",
        help="write the HTML report of a run's assignments",
        description="Write the self-contained HTML report (tier summary, charts, reasons, and with "
        "--model the weights and cut points, with --previous the migration) of an "
        "assignments.csv written by run or assign.",
    )
    rep.add_argument("--assignments", required=True, help="assignments.csv of `tierkit run` or `tierkit assign`")
    rep.add_argument("--model", help="the model file, for weights, cut points and the tiers' service")
    rep.add_argument("--previous", help="an earlier assignments.csv: adds the migration heat map")
    rep.add_argument("--title", default="Customer tiers", help="page title")
    rep.add_argument("--out", help="HTML file to write (default: report.html beside the assignments)")
    rep.set_defaults(func=_report)
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
    except OSError as exc:  # a file or folder that cannot be read or written
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"tierkit: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # the command never ends in a traceback
        print(
            f"tierkit: error: {type(exc).__name__}: {exc} (an unexpected error: please report it with the "
            "command line)",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
