"""tierkit side by side with the usual Python tools, on the same in-memory data.

    python benchmarks/compare.py [--quick] [--big] [--threads 2] [--repeat 3] [--no-memory]
                                 [--only rfm,rfm_time,stream,score,kmeans,clv,clvpredict,percentile,scaling] [--rfm-engines pandas,duckdb]
                                 [--json out.json]

Rows (times are best of --repeat; ratios are peer time / tierkit time, same run):
  rfm        RFM features from synthetic transactions (10^7; 10^8 with --big):
             tierkit.summarize vs pandas groupby, polars group_by, DuckDB SQL. The
             peers compute the lifetimes columns (frequency, recency, T,
             monetary_value) plus revenue and orders; tierkit computes those and 14
             more. A few customers' values are checked to agree across engines.
  score      score + tier of 10^7 customers x 8 criteria (min-max normalized,
             weighted sum, quota tiers): tierkit fit+assign and assign vs the same in
             numpy, and a memory-bandwidth floor: one numpy pass summing every column
             (the bytes any scorer must read). Repeated assigns reuse the result
             memory tierkit freed (tk.set_buffer_cache_limit); the "no cache" row
             turns that off, so each run pays for freshly mapped pages.
  quickstart the README quickstart calls, at 10^6 and 10^7 customers (2*10^4 with --quick):
             tk.summarize, tk.fit(tk.Policy.default()) and model.assign(features) with
             top criteria, each against its pandas equivalent (groupby features; the
             percentile knots and quota cuts; searchsorted, weighted sum, cuts, tier
             and mode as categoricals, top-3 criteria by argsort), and assign against
             a memory floor: one numpy pass reading the 4 criterion columns and one
             writing the 7 numeric outputs into mapped memory; and model.scorer() per
             call on one customer and on a batch of 1000 rows.
  kmeans     10^6 x 8, k = 8, the same k-means++ start, a fixed number of Lloyd
             iterations: tierkit vs scikit-learn (time per iteration, inertia).
  clv        BG/NBD + Gamma-Gamma fits: CDNOW (when /work/shared/data has it) and
             10^6 synthetic customers: tierkit vs lifetimes (when installed).
  clvpredict 12-month discounted CLV (BG/NBD + Gamma-Gamma at fitted parameters) of 10^5
             and 10^6 synthetic customers and CDNOW: gg.customer_lifetime_value vs
             lifetimes' customer_lifetime_value (when installed; at 10^6 lifetimes is
             timed on the first 10^5 rows and scaled linearly), with the largest
             relative difference between the two.
  percentile fit of 10^6 customers x 6 percentile criteria (2*10^4 with --quick):
             tk.fit (knots, median, IQR, min/max, moments per column, and the tier cut)
             vs pandas DataFrame.rank(pct=True) over the same 6 columns (ranks only).
  scaling    tierkit.summarize from 10^5 to 10^7 transactions (10^8 with --big);
             writes benchmarks/scaling.png (time and memory against size).
  rfm_time   RFM features from a log in time order (customers in random order):
             10^7 transactions, 10^6 customers (10^8 / 10^7 with --big), sparse
             int64 ids, datetime64 dates: tk.summarize vs one polars group_by
             (min/max/len/n_unique/sum, sorted by customer), the same in DuckDB SQL
             and pandas groupby. The peers compute frequency, recency, T, revenue
             and orders; tierkit computes those and 15 more columns.
  stream     out of core: tk.summarize_files over 8 Parquet files in time order
             (2*10^7 transactions, 2*10^6 customers) against reading every file
             with pandas and calling tk.summarize, each in a fresh process (time
             and whole-process peak RSS), and the Summarizer's state bytes per
             customer.

Memory: each "peak MB" is measured in a fresh subprocess that builds the same
data, resets the kernel's peak-RSS counter (writing 5 to /proc/self/clear_refs
resets VmHWM), runs the step once and reports VmHWM minus the RSS before the step:
the extra resident memory the step needed at its peak, C++ allocations included
(tracemalloc only sees Python's). Where clear_refs is not writable it falls back to
the growth of ru_maxrss over the step.

--quick uses small sizes (well under a minute) and checks the same things; the
test suite runs it so the script keeps working.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "data"
CDNOW = SHARED / "cdnow" / "cdnow_customers_summary_with_transactions.csv"


def _threads_from_argv() -> int:
    if "--threads" in sys.argv:
        return int(sys.argv[sys.argv.index("--threads") + 1])
    return 2


# Engines read their thread count when imported.
_T = str(_threads_from_argv())
os.environ.setdefault("POLARS_MAX_THREADS", _T)
os.environ.setdefault("TIERKIT_NUM_THREADS", _T)
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, _T)

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import tierkit as tk  # noqa: E402


def optional(name: str) -> Any:
    try:
        return __import__(name)
    except ImportError:
        return None


pl = optional("polars")
duckdb = optional("duckdb")

# ------------------------------------------------------------------ sizes


def sizes(args: argparse.Namespace) -> dict[str, Any]:
    if args.quick:
        return {
            "rfm": 100_000,
            "score": 200_000,
            "quickstart": [20_000],
            "kmeans": 50_000,
            "kmeans_iter": 5,
            "clv": 10_000,
            "scaling": [10_000, 30_000, 100_000],
            "rfm_time": 100_000,
            "stream": 200_000,
        }
    return {
        "rfm": 100_000_000 if args.big else 10_000_000,
        "score": 10_000_000,
        "quickstart": [1_000_000, 10_000_000],
        "kmeans": 1_000_000,
        "kmeans_iter": 20,
        "clv": 1_000_000,
        "scaling": [100_000, 1_000_000, 10_000_000] + ([100_000_000] if args.big else []),
        "rfm_time": 100_000_000 if args.big else 10_000_000,
        "stream": 20_000_000,
    }


# ------------------------------------------------------------------ RFM


def make_tx(n: int) -> pd.DataFrame:
    """About n synthetic transactions (5 per customer on average)."""
    return tk.datasets.synthetic(max(n // 5, 10), seed=1)[["customer", "date", "amount"]]


def rfm_tierkit(tx: pd.DataFrame, as_of: Any) -> pd.DataFrame:
    return tk.summarize(tx, as_of=as_of)


def rfm_pandas(tx: pd.DataFrame, as_of: Any) -> pd.DataFrame:
    tx = tx[tx["date"] <= as_of]
    buys = tx[tx["amount"] >= 0]
    per_day = buys.groupby(["customer", "date"], sort=True)["amount"].sum().reset_index()
    g = per_day.groupby("customer", sort=True)
    first, last, periods = g["date"].min(), g["date"].max(), g["date"].size()
    repeat = g["amount"].sum() - g["amount"].first()
    out = pd.DataFrame(index=first.index)
    out["frequency"] = (periods - 1).astype(float)
    out["recency"] = (last - first).dt.days.astype(float)
    out["T"] = (as_of - first).dt.days.astype(float)
    out["monetary_value"] = np.where(periods > 1, repeat / (periods - 1).where(periods > 1, 1), 0.0)
    out["revenue"] = tx.groupby("customer", sort=True)["amount"].sum()
    out["orders"] = buys.groupby("customer", sort=True)["amount"].size().astype(float)
    return out


def rfm_polars(df: Any, as_of: Any) -> Any:
    as_of = as_of.date()  # a Date literal: comparing the Date column with a Datetime one casts the column
    tx = df.filter(pl.col("date") <= as_of)
    buys = tx.filter(pl.col("amount") >= 0)
    per_day = buys.group_by("customer", "date").agg(pl.col("amount").sum())
    g = per_day.group_by("customer").agg(
        first=pl.col("date").min(),
        last=pl.col("date").max(),
        periods=pl.len(),
        total=pl.col("amount").sum(),
        first_spend=pl.col("amount").get(pl.col("date").arg_min()),
    )
    o = tx.group_by("customer").agg(revenue=pl.col("amount").sum(), orders=(pl.col("amount") >= 0).sum())
    periods = pl.col("periods")
    return (
        g.join(o, on="customer")
        .select(
            "customer",
            frequency=(periods - 1).cast(pl.Float64),
            recency=(pl.col("last") - pl.col("first")).dt.total_days().cast(pl.Float64),
            T=(pl.lit(as_of) - pl.col("first")).dt.total_days().cast(pl.Float64),
            monetary_value=pl.when(periods > 1)
            .then((pl.col("total") - pl.col("first_spend")) / (periods - 1))
            .otherwise(0.0),
            revenue="revenue",
            orders=pl.col("orders").cast(pl.Float64),
        )
        .sort("customer")
    )


RFM_SQL = """
WITH tx AS (SELECT * FROM t WHERE date <= DATE '{as_of}'),
buys AS (SELECT customer, date, sum(amount) AS spend FROM tx WHERE amount >= 0 GROUP BY customer, date),
g AS (SELECT customer, min(date) AS first, max(date) AS last, count(*) AS periods, sum(spend) AS total,
             arg_min(spend, date) AS first_spend FROM buys GROUP BY customer),
o AS (SELECT customer, sum(amount) AS revenue, count(*) FILTER (WHERE amount >= 0) AS orders
      FROM tx GROUP BY customer)
SELECT g.customer, (periods - 1)::DOUBLE AS frequency, date_diff('day', first, last)::DOUBLE AS recency,
       date_diff('day', first, DATE '{as_of}')::DOUBLE AS T,
       CASE WHEN periods > 1 THEN (total - first_spend) / (periods - 1) ELSE 0 END AS monetary_value,
       revenue, orders::DOUBLE AS orders
FROM g JOIN o USING (customer) ORDER BY customer
"""


def rfm_duckdb(con: Any, as_of: Any) -> pd.DataFrame:
    return con.execute(RFM_SQL.format(as_of=str(as_of.date()))).df()


def rfm_inputs(engine: str, tx: pd.DataFrame, threads: int) -> Any:
    """The engine's own form of the same data (built before timing)."""
    if engine == "polars":
        return pl.from_pandas(tx).with_columns(pl.col("date").cast(pl.Date))
    if engine == "duckdb":
        con = duckdb.connect()
        con.execute(f"SET threads = {threads}")
        con.register(
            "t", pl.from_pandas(tx).with_columns(pl.col("date").cast(pl.Date)).to_arrow() if pl is not None else tx
        )
        return con
    return tx


RFM = {"tierkit": rfm_tierkit, "pandas": rfm_pandas, "polars": rfm_polars, "duckdb": rfm_duckdb}


def rfm_engines(wanted: str = "") -> list[str]:
    """The RFM engines installed, limited to the comma-separated `wanted` when given
    (tierkit always runs: it is the reference of the ratios)."""
    engines = (
        ["tierkit", "pandas"] + (["polars"] if pl is not None else []) + (["duckdb"] if duckdb is not None else [])
    )
    keep = set(wanted.split(",")) | {"tierkit"} if wanted else set(engines)
    return [e for e in engines if e in keep]


def rfm_check(results: dict[str, Any]) -> str:
    """Values of a few customers agree across engines."""
    ref = results["tierkit"]
    ids = ref.index.to_numpy()[np.linspace(0, len(ref) - 1, 7).astype(int)]
    cols = ["frequency", "recency", "T", "monetary_value", "revenue", "orders"]
    for name, out in results.items():
        if name == "tierkit":
            continue
        if pl is not None and isinstance(out, pl.DataFrame):
            out = out.to_pandas()
        if "customer" in out.columns:
            out = out.set_index("customer")
        if len(out) != len(ref):
            raise AssertionError(f"rfm: {name} has {len(out)} customers, tierkit {len(ref)}")
        np.testing.assert_allclose(
            out.loc[ids, cols].to_numpy(float),
            ref.loc[ids, cols].to_numpy(float),
            rtol=1e-9,
            atol=1e-6,
            err_msg=f"rfm: {name} vs tierkit",
        )
    return f"{len(ids)} customers agree"


def time_rfm(
    fns: dict[str, Any], tx: pd.DataFrame, as_of: Any, engines: list[str], args: argparse.Namespace, repeat: int
) -> tuple[dict[str, float], dict[str, Any]]:
    """Best-of-repeat time and result of each engine on its own form of tx."""
    times, results = {}, {}
    for engine in engines:
        data = rfm_inputs(engine, tx, args.threads)
        times[engine], results[engine] = best_of(lambda: fns[engine](data, as_of), repeat)
        data = None  # free this engine's copy before the next one
    return times, results


# ------------------------------------------------------------------ RFM from a time-ordered log


def make_time_log(n: int, seed: int = 11) -> pd.DataFrame:
    """n transactions of n/10 customers in time order (so customers come in random
    order): sparse int64 ids (each in its own block of 7919), datetime64 dates over
    three years, positive amounts in cents."""
    rng = np.random.default_rng(seed)
    m = max(n // 10, 10)
    ids = np.arange(m, dtype=np.int64) * 7919 + rng.integers(0, 7919, m)
    day = np.sort(rng.integers(19_000, 19_000 + 3 * 365, n))
    return pd.DataFrame(
        {
            "customer": ids[rng.integers(0, m, n)],
            "date": (day * 86_400).astype("datetime64[s]").astype("datetime64[ns]"),
            "amount": np.round(rng.gamma(2.0, 25.0, n), 2),
        }
    )


def rfm_time_tierkit(tx: pd.DataFrame, as_of: Any) -> pd.DataFrame:
    return tk.summarize(tx, as_of=as_of)


def rfm_time_polars(df: Any, as_of: Any) -> Any:
    as_of = as_of.date()
    return (
        df.filter(pl.col("date") <= as_of)
        .group_by("customer")
        .agg(
            first=pl.col("date").min(),
            last=pl.col("date").max(),
            orders=pl.len(),
            periods=pl.col("date").n_unique(),
            revenue=pl.col("amount").sum(),
        )
        .select(
            "customer",
            frequency=(pl.col("periods") - 1).cast(pl.Float64),
            recency=(pl.col("last") - pl.col("first")).dt.total_days().cast(pl.Float64),
            T=(pl.lit(as_of) - pl.col("first")).dt.total_days().cast(pl.Float64),
            revenue="revenue",
            orders=pl.col("orders").cast(pl.Float64),
        )
        .sort("customer")
    )


RFM_TIME_SQL = """
SELECT customer, (count(DISTINCT date) - 1)::DOUBLE AS frequency,
       date_diff('day', min(date), max(date))::DOUBLE AS recency,
       date_diff('day', min(date), DATE '{as_of}')::DOUBLE AS T,
       sum(amount) AS revenue, count(*)::DOUBLE AS orders
FROM t WHERE date <= DATE '{as_of}' GROUP BY customer ORDER BY customer
"""


def rfm_time_duckdb(con: Any, as_of: Any) -> Any:
    return con.sql(RFM_TIME_SQL.format(as_of=str(as_of.date()))).to_arrow_table()


def rfm_time_pandas(tx: pd.DataFrame, as_of: Any) -> pd.DataFrame:
    g = tx[tx["date"] <= as_of].groupby("customer", sort=True)
    a = g.agg(
        first=("date", "min"),
        last=("date", "max"),
        orders=("date", "size"),
        periods=("date", "nunique"),
        revenue=("amount", "sum"),
    )
    return pd.DataFrame(
        {
            "frequency": (a["periods"] - 1).astype(float),
            "recency": (a["last"] - a["first"]).dt.days.astype(float),
            "T": (as_of - a["first"]).dt.days.astype(float),
            "revenue": a["revenue"],
            "orders": a["orders"].astype(float),
        },
        index=a.index,
    )


RFM_TIME = {
    "tierkit": rfm_time_tierkit,
    "pandas": rfm_time_pandas,
    "polars": rfm_time_polars,
    "duckdb": rfm_time_duckdb,
}


def rfm_time_check(results: dict[str, Any]) -> str:
    """Values of a few customers agree across engines (revenue to 1e-9 relative:
    the peers sum in their own order)."""
    ref = results["tierkit"]
    ids = ref.index.to_numpy()[np.linspace(0, len(ref) - 1, 7).astype(int)]
    cols = ["frequency", "recency", "T", "revenue", "orders"]
    for name, out in results.items():
        if name == "tierkit":
            continue
        if pl is not None and isinstance(out, pl.DataFrame):
            out = out.to_pandas()
        elif not isinstance(out, pd.DataFrame):  # an Arrow table
            out = out.to_pandas()
        if "customer" in out.columns:
            out = out.set_index("customer")
        if len(out) != len(ref) or not np.array_equal(out.index.to_numpy(), ref.index.to_numpy()):
            raise AssertionError(f"rfm_time: {name} has {len(out)} customers (or another order), tierkit {len(ref)}")
        np.testing.assert_allclose(
            out.loc[ids, cols].to_numpy(float),
            ref.loc[ids, cols].to_numpy(float),
            rtol=1e-9,
            atol=1e-6,
            err_msg=f"rfm_time: {name} vs tierkit",
        )
    return f"{len(ids)} customers agree"


# ------------------------------------------------------------------ streaming summarize over Parquet files


STREAM_FILES = 8


def write_stream_files(n: int, folder: Path) -> list[Path]:
    """n transactions of n/10 customers in time order, as STREAM_FILES Parquet files
    (consecutive time slices)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    tx = make_time_log(n, seed=12)
    paths = []
    for k, part in enumerate(np.array_split(np.arange(len(tx)), STREAM_FILES)):
        path = folder / f"tx{k}.parquet"
        pq.write_table(pa.Table.from_pandas(tx.iloc[part], preserve_index=False), path)
        paths.append(path)
    return paths


def stream_worker(engine: str, folder: str) -> dict[str, float]:
    """One streaming run in this (fresh) process: seconds and whole-process peak RSS."""
    paths = sorted(Path(folder).glob("tx*.parquet"))
    t0 = time.perf_counter()
    out: dict[str, float] = {}
    if engine == "tierkit":
        f = tk.summarize_files(paths)
    elif engine == "state":  # the Summarizer's state after every file
        s = tk.Summarizer()
        import pyarrow.parquet as pq

        for p in paths:
            for batch in pq.ParquetFile(p).iter_batches(batch_size=1_000_000):
                s.update(batch)
        out["state_bytes"] = float(s.state_bytes)
        out["state_file_bytes"] = float(len(s.to_bytes()))
        out["customers"] = float(s.customers)
        f = s.finalize()
    else:
        f = tk.summarize(pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True))
    out["seconds"] = time.perf_counter() - t0
    out["peak_mb"] = _rss_kb("VmHWM") / 1024
    out["rows"] = float(len(f))
    out["revenue"] = float(f["revenue"].sum())
    return out


def stream_in_subprocess(engine: str, folder: Path, args: argparse.Namespace) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--stream-worker", engine, str(folder), "--threads", str(args.threads)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
    if out.returncode != 0:
        raise RuntimeError(f"stream worker {engine} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------ score + tier

CRITERIA = 8
WEIGHTS = np.arange(1, CRITERIA + 1, dtype=float) / np.arange(1, CRITERIA + 1).sum()
SHARES = [0.05, 0.15, 0.5]
TIERS = ["key", "high-value", "ordinary", "potential"]


def make_scores(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(2)
    return pd.DataFrame(
        {f"c{j}": rng.gamma(2.0 + j, 3.0, n) for j in range(CRITERIA)}, index=pd.RangeIndex(n, name="customer")
    )


def score_policy() -> tk.Policy:
    return tk.Policy(
        {
            "criteria": [
                {"column": f"c{j}", "normalizer": "minmax", "weight": float(WEIGHTS[j])} for j in range(CRITERIA)
            ],
            "rule": {"kind": "quantiles", "shares": SHARES},
            "tiers": TIERS,
            "privacy": {"min_group": 1},  # the numpy peer uses the exact min and max
        }
    )


def numpy_fit(f: pd.DataFrame) -> dict[str, Any]:
    x = [f[c].to_numpy() for c in f.columns]
    lo = np.array([v.min() for v in x])
    hi = np.array([v.max() for v in x])
    score = numpy_score(f, lo, hi)
    n = len(score)
    ks = [int(np.floor(s * n + 0.5)) - 1 for s in np.cumsum(SHARES)]
    part = -np.partition(-score, ks)  # descending order statistics at ks
    return {"lo": lo, "hi": hi, "cuts": [part[k] for k in ks]}


def numpy_score(f: pd.DataFrame, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    score = np.zeros(len(f))
    for j, c in enumerate(f.columns):
        score += (100 * WEIGHTS[j] / (hi[j] - lo[j])) * (f[c].to_numpy() - lo[j])
    return score


def numpy_assign(f: pd.DataFrame, fitted: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    score = numpy_score(f, fitted["lo"], fitted["hi"])
    tier = np.full(len(score), len(TIERS) - 1, dtype=np.int8)
    for t, cut in reversed(list(enumerate(fitted["cuts"]))):
        tier[score >= cut] = t
    return score, tier


def column_floor(f: pd.DataFrame) -> float:
    """One pass over every byte a scorer has to read."""
    return float(sum(f[c].to_numpy().sum() for c in f.columns))


def score_check(f: pd.DataFrame) -> str:
    model = tk.fit(score_policy(), f)
    a = model.assign(f, contributions=False)
    score, tier = numpy_assign(f, numpy_fit(f))
    diff = float(np.max(np.abs(a["score"].to_numpy() - score)))
    names = np.asarray(TIERS)[tier]
    agree = float((a["tier"].astype(str).to_numpy() == names).mean())
    if diff > 1e-6 or agree < 0.999:
        raise AssertionError(f"score: max difference {diff}, tiers agree {agree}")
    return f"max score diff {diff:.1e}, tiers agree {100 * agree:.2f}%"


# ------------------------------------------------------------------ quickstart

# The README quickstart's policy (tk.Policy.default()) written out for the peers:
# (column, log1p transform, direction, weight), percentile normalizers, quantile tiers.
QS_CRITERIA = [
    ("revenue", True, 1, 0.4),
    ("frequency", False, 1, 0.25),
    ("days_since_last", False, -1, 0.2),
    ("aov", True, 1, 0.15),
]
QS_SHARES = [0.05, 0.15, 0.5]
QS_TIERS = ["key", "high-value", "ordinary", "potential"]
QS_MODES = ["strategic", "cooperative", "transactional", "transactional"]
QS_MAX_KNOTS = 16385  # as the core's percentile curve keeps


def quickstart_transactions(n: int) -> pd.DataFrame:
    """The README quickstart's data: synthetic transactions of n customers."""
    return tk.datasets.synthetic(n, seed=1)


QS_AS_OF = pd.Timestamp("2024-12-31")


def quickstart_pandas_summarize(tx: pd.DataFrame) -> pd.DataFrame:
    """The columns the default policy reads, by pandas groupby (the rfm row's peer plus
    days_since_last and aov)."""
    out = rfm_pandas(tx, QS_AS_OF)
    out["days_since_last"] = out["T"] - out["recency"]
    out["aov"] = out["revenue"] / out["orders"]
    return out


def quickstart_tierkit(tx: pd.DataFrame) -> tuple[pd.DataFrame, Any, pd.DataFrame]:
    """Exactly the README quickstart calls: summarize, fit, assign."""
    features = tk.summarize(tx, customer="customer", date="date", amount="amount", margin="margin", as_of="2024-12-31")
    model = tk.fit(tk.Policy.default(), features)
    return features, model, model.assign(features)


def _signed_log1p(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.log1p(np.abs(x))


def quickstart_pandas_fit(f: pd.DataFrame) -> dict[str, Any]:
    """The default policy fitted by hand: per criterion the percentile curve (distinct
    transformed values and their average rank, at most QS_MAX_KNOTS of them), then the
    quota cuts on the score."""
    n = len(f)
    knots = {}
    for col, log, _, _ in QS_CRITERIA:
        t = f[col].to_numpy()
        t = _signed_log1p(t) if log else t
        u, cnt = np.unique(t, return_counts=True)
        y = (np.cumsum(cnt) - cnt + (cnt - 1) / 2) / max(n - 1, 1)
        if len(u) > QS_MAX_KNOTS:
            keep = np.linspace(0, len(u) - 1, QS_MAX_KNOTS).round().astype(np.int64)
            u, y = u[keep], y[keep]
        knots[col] = (u, y)
    score = _quickstart_pandas_scores(f, knots)[0]
    ks = [int(np.floor(s * n + 0.5)) - 1 for s in np.cumsum(QS_SHARES)]
    part = -np.partition(-score, ks)
    return {"knots": knots, "cuts": np.array([part[k] for k in ks])}


def _quickstart_pandas_scores(f: pd.DataFrame, knots: dict[str, Any]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    score = np.zeros(len(f))
    contrib = {}
    for col, log, direction, w in QS_CRITERIA:
        t = f[col].to_numpy()
        t = _signed_log1p(t) if log else t
        u, y = knots[col]
        p = np.interp(t, u, y)  # searchsorted + linear between the knots
        if direction < 0:
            p = 1.0 - p
        contrib[col] = 100.0 * w * p
        score += contrib[col]
    return score, contrib


def quickstart_pandas_assign(f: pd.DataFrame, fitted: dict[str, Any]) -> pd.DataFrame:
    """What a pandas user writes for model.assign(features): score, tier, tier index,
    mode, contributions and the top-3 criteria, as a DataFrame of the same shape."""
    score, contrib = _quickstart_pandas_scores(f, fitted["knots"])
    tier = np.searchsorted(-fitted["cuts"], -score, side="left")
    out = pd.DataFrame({"value": score}, index=f.index)
    out["tier"] = pd.Categorical.from_codes(tier, QS_TIERS, ordered=True)
    out["tier_index"] = tier.astype(np.int32)
    modes = list(dict.fromkeys(QS_MODES))
    out["mode"] = pd.Categorical.from_codes(np.array([modes.index(m) for m in QS_MODES])[tier], modes)
    for col, values in contrib.items():
        out["contrib_" + col] = values
    names = list(contrib)
    order = np.argsort(-np.column_stack(list(contrib.values())), axis=1, kind="stable")[:, :3]
    combos, codes = np.unique(order, axis=0, return_inverse=True)
    out["top_criteria"] = pd.Categorical.from_codes(codes.reshape(-1), [", ".join(names[j] for j in c) for c in combos])
    return out


class QuickstartFloor:
    """The memory floor of the quickstart's assign: one pass reading the 4 criterion
    columns and one writing the 7 numeric outputs (score, tier index, below count, 4
    contributions) into memory that is already mapped."""

    def __init__(self, f: pd.DataFrame) -> None:
        self.columns = [f[c].to_numpy() for c, *_ in QS_CRITERIA]
        self.outputs = [np.empty(len(f)) for _ in range(7)]
        self()

    def __call__(self) -> float:
        total = sum(float(c.sum()) for c in self.columns)
        for o in self.outputs:
            o.fill(0.0)
        return total


def quickstart_scorer(model: Any, features: pd.DataFrame, calls: int = 2000) -> tuple[float, float]:
    """Seconds per model.scorer() call on one customer given as a dict, and per
    score_many call on 1000 rows (best of 5 rounds each)."""
    score = model.scorer()
    customer = {c: float(features[c].iloc[0]) for c in score.columns}
    rows = features.iloc[:1000][score.columns].to_numpy()

    def many_calls() -> None:
        for _ in range(calls):
            score(customer)

    one, _ = best_of(many_calls, 5)
    batch, _ = best_of(lambda: score.score_many(rows), 5)
    return one / calls, batch


def quickstart_check(tiers: pd.DataFrame, peer: pd.DataFrame) -> str:
    """tierkit's and the peer's scores and tiers agree (up to the knots' interpolation)."""
    diff = float(np.max(np.abs(tiers["value"].to_numpy() - peer["value"].to_numpy())))
    agree = float((tiers["tier"].astype(str).to_numpy() == peer["tier"].astype(str).to_numpy()).mean())
    if diff > 0.5 or agree < 0.99:
        raise AssertionError(f"quickstart: max score difference {diff}, tiers agree {agree}")
    return f"max score diff {diff:.1e}, tiers agree {100 * agree:.2f}%"


# ------------------------------------------------------------------ kmeans


def make_kmeans(n: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    from sklearn.cluster import kmeans_plusplus

    rng = np.random.default_rng(0)
    features = pd.DataFrame(rng.gamma(2.0, 3.0, (n, CRITERIA)), columns=[f"c{j}" for j in range(CRITERIA)])
    x = features.to_numpy()
    x = (x - x.min(axis=0)) / (x.max(axis=0) - x.min(axis=0))
    init, _ = kmeans_plusplus(x, 8, random_state=1)
    return features, np.ascontiguousarray(x), init


def kmeans_tierkit(data: Any, iterations: int) -> Any:
    features, _, init = data
    policy = tk.Policy(
        {
            "criteria": [{"column": c, "normalizer": "minmax", "weight": 1} for c in features.columns],
            "rule": {"kind": "kmeans", "init": init.tolist(), "max_iter": iterations, "tol": 0.0},
            "tiers": [f"t{k}" for k in range(len(init))],
            "privacy": {"min_group": 1},  # scikit-learn's input is scaled by the exact min and max
        }
    )
    return tk.fit(policy, features)


def kmeans_sklearn(data: Any, iterations: int) -> Any:
    from sklearn.cluster import KMeans

    _, x, init = data
    return KMeans(n_clusters=len(init), init=init, n_init=1, max_iter=iterations, tol=0.0, algorithm="lloyd").fit(x)


# ------------------------------------------------------------------ CLV


def make_clv(n: int | str) -> pd.DataFrame:
    if n == "cdnow":
        df = pd.read_csv(CDNOW)
        return df.rename(columns={"x": "frequency", "t_x": "recency", "zbar": "monetary_value"})[
            ["frequency", "recency", "T", "monetary_value"]
        ]
    f = tk.summarize(tk.datasets.synthetic(int(n), seed=4), unit="W")
    return f[["frequency", "recency", "T", "monetary_value"]].reset_index(drop=True)


def clv_tierkit(df: pd.DataFrame) -> tuple[list[float], list[float]]:
    bg = tk.clv.BGNBD().fit(df["frequency"], df["recency"], df["T"])
    rep = df[df["frequency"] > 0]
    gg = tk.clv.GammaGamma().fit(rep["frequency"], rep["monetary_value"])
    return list(bg.params_.values) if hasattr(bg.params_, "values") else list(bg.params_), list(
        gg.params_.values
    ) if hasattr(gg.params_, "values") else list(gg.params_)


def clv_lifetimes(df: pd.DataFrame) -> tuple[list[float], list[float]]:
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    bg = BetaGeoFitter().fit(df["frequency"], df["recency"], df["T"])
    rep = df[df["frequency"] > 0]
    gg = GammaGammaFitter().fit(rep["frequency"], rep["monetary_value"])
    return list(bg.params_.values), list(gg.params_.values)


def clv_engines() -> list[str]:
    return ["tierkit"] + (["lifetimes"] if optional("lifetimes") is not None else [])


def clv_sets(n: int) -> list[Any]:
    return (["cdnow"] if CDNOW.exists() else []) + [n]


def clv_predict_models(df: pd.DataFrame) -> tuple[Any, Any]:
    """BG/NBD (weekly) and Gamma-Gamma fitted on df, for the prediction rows."""
    bg = tk.clv.BGNBD(time_unit="W").fit(df["frequency"], df["recency"], df["T"])
    rep = df[df["frequency"] > 0]
    return bg, tk.clv.GammaGamma().fit(rep["frequency"], rep["monetary_value"])


def clv_predict_tierkit(df: pd.DataFrame, bg: Any, gg: Any) -> np.ndarray:
    return gg.customer_lifetime_value(
        bg, df["frequency"], df["recency"], df["T"], df["monetary_value"], months=12, discount_rate=0.01
    ).to_numpy()


def clv_predict_lifetimes(df: pd.DataFrame, bg: Any, gg: Any) -> np.ndarray:
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    lbg = BetaGeoFitter()
    lbg.params_ = pd.Series(bg.params_.to_numpy(), index=["r", "alpha", "a", "b"])
    lbg.predict = lbg.conditional_expected_number_of_purchases_up_to_time
    lgg = GammaGammaFitter()
    lgg.params_ = pd.Series(gg.params_.to_numpy(), index=["p", "q", "v"])
    return lgg.customer_lifetime_value(
        lbg, df["frequency"], df["recency"], df["T"], df["monetary_value"], time=12, discount_rate=0.01, freq="W"
    ).to_numpy()


def percentile_fit_rows(table: Table, quick: bool, repeat: int) -> None:
    """fit of n customers x 6 percentile criteria vs pandas rank(pct=True)."""
    n = 20_000 if quick else 1_000_000
    rng = np.random.default_rng(7)
    f = pd.DataFrame(
        {
            "revenue": rng.lognormal(4.0, 1.2, n),
            "aov": rng.lognormal(3.0, 0.8, n),
            "frequency": rng.poisson(2.0, n) + 1.0,
            "days_since_last": rng.integers(0, 366, n).astype(float),
            "margin": rng.normal(10.0, 30.0, n),
            "trend": rng.standard_t(3.0, n),
        }
    )
    policy = tk.Policy(
        {
            "criteria": [{"column": c, "normalizer": "percentile", "weight": 1} for c in f.columns],
            "rule": {"kind": "quantiles", "shares": [0.2]},
            "tiers": ["top", "rest"],
        }
    )
    t_tk, _model = best_of(lambda: tk.fit(policy, f), max(repeat, 3))
    t_pd, _ranks = best_of(lambda: f.rank(pct=True), max(repeat, 3))
    label = f"percentile fit {n:.0e} x 6"
    table.add(label, "tierkit", t_tk, float("nan"), t_tk, "tk.fit: knots, median, IQR, moments, tier cut")
    table.add(label, "pandas", t_pd, float("nan"), t_tk, "DataFrame.rank(pct=True), ranks only")


def clv_predict_rows(table: Table, quick: bool, repeat: int) -> None:
    """CLV predictions: tierkit vs lifetimes at the same fitted parameters."""
    import warnings

    have_lifetimes = optional("lifetimes") is not None
    for which in (["cdnow"] if CDNOW.exists() else []) + ([10_000] if quick else [100_000, 1_000_000]):
        df = make_clv(which)
        bg, gg = clv_predict_models(df)
        t_tk, ours = best_of(lambda: clv_predict_tierkit(df, bg, gg), max(repeat, 3))
        label = f"clv predict {'CDNOW' if which == 'cdnow' else f'{which:.0e} cust'}"
        note = f"12 months; {1e9 * t_tk / len(df):.0f} ns/customer"
        if have_lifetimes:
            part = df if len(df) <= 100_000 else df.iloc[:100_000]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t_lt, theirs = best_of(lambda: clv_predict_lifetimes(part, bg, gg), 1)
            diff = float(np.max(np.abs(ours[: len(part)] - theirs) / np.abs(theirs)))
            scaled = len(df) / len(part)
            table.add(label, "tierkit", t_tk, float("nan"), t_tk, note + f"; max rel. diff vs lifetimes {diff:.1e}")
            table.add(
                label,
                "lifetimes",
                t_lt * scaled,
                float("nan"),
                t_tk,
                "customer_lifetime_value" + (f"; timed on 1e5 rows x {scaled:.0f}" if scaled > 1 else ""),
            )
        else:
            table.add(label, "tierkit", t_tk, float("nan"), t_tk, note + "; lifetimes not installed")


# ------------------------------------------------------------------ measuring


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _rss_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def measure_peak(fn: Callable[[], Any]) -> float:
    """Extra resident memory (MB) of fn() at its peak (see the module notes)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        before = _rss_kb("VmRSS")
        fn()
        return max(0, _rss_kb("VmHWM") - before) / 1024
    except OSError:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        fn()
        return max(0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024


def step(task: str, engine: str, size: Any, args: argparse.Namespace) -> Callable[[], Any]:
    """Build the data of (task, size) and return the engine's step on it."""
    if task == "rfm_time":
        tx = make_time_log(int(size))
        as_of = tx["date"].max()
        data = rfm_inputs(engine, tx, args.threads)
        return lambda: RFM_TIME[engine](data, as_of)
    if task == "rfm" or task == "scaling":
        tx = make_tx(int(size))
        as_of = tx["date"].max()
        data = rfm_inputs(engine, tx, args.threads)
        return lambda: RFM[engine](data, as_of)
    if task in ("score", "assign"):
        f = make_scores(int(size))
        if engine == "floor":
            return lambda: column_floor(f)
        if engine == "tierkit":
            if task == "score":
                return lambda: tk.fit(score_policy(), f).assign(f, contributions=False)
            model = tk.fit(score_policy(), f)
            return lambda: model.assign(f, contributions=False)
        if task == "score":
            return lambda: numpy_assign(f, numpy_fit(f))
        fitted = numpy_fit(f)
        return lambda: numpy_assign(f, fitted)
    if task == "quickstart":
        features, model, _ = quickstart_tierkit(quickstart_transactions(int(size)))
        if engine == "floor":
            return QuickstartFloor(features)
        if engine == "tierkit":
            return lambda: model.assign(features)
        fitted = quickstart_pandas_fit(features)
        return lambda: quickstart_pandas_assign(features, fitted)
    if task == "kmeans":
        data = make_kmeans(int(size))
        fn = kmeans_tierkit if engine == "tierkit" else kmeans_sklearn
        return lambda: fn(data, args.kmeans_iter)
    if task == "clv":
        df = make_clv(size)
        fn = clv_tierkit if engine == "tierkit" else clv_lifetimes
        return lambda: fn(df)
    raise ValueError(task)


def peak_in_subprocess(task: str, engine: str, size: Any, args: argparse.Namespace) -> float:
    if args.no_memory:
        return float("nan")
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        task,
        engine,
        str(size),
        "--threads",
        str(args.threads),
        "--kmeans-iter",
        str(args.kmeans_iter),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
    if out.returncode != 0:
        raise RuntimeError(f"memory worker {task}/{engine} failed:\n{out.stderr[-2000:]}")
    return float(json.loads(out.stdout.strip().splitlines()[-1])["peak_mb"])


# ------------------------------------------------------------------ main


class Table:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(self, task: str, engine: str, seconds: float, peak: float, ref: float | None, note: str = "") -> None:
        self.rows.append(
            {
                "task": task,
                "engine": engine,
                "seconds": seconds,
                "peak_mb": peak,
                "ratio": (seconds / ref) if ref else float("nan"),
                "note": note,
            }
        )
        print(
            f"  {task:<28} {engine:<17} {seconds:10.4f} s {peak:9.1f} MB  {self.ratio(self.rows[-1]):>8}  {note}",
            flush=True,
        )

    @staticmethod
    def ratio(row: dict[str, Any]) -> str:
        """Peer time / tierkit time, or '-' for rows without a tierkit reference."""
        return "-" if row["ratio"] != row["ratio"] else f"{row['ratio']:.2f}x"

    def markdown(self) -> str:
        lines = ["| task | engine | time (s) | peak MB | time / tierkit | note |", "|---|---|---:|---:|---:|---|"]
        for r in self.rows:
            lines.append(
                f"| {r['task']} | {r['engine']} | {r['seconds']:.4f} | {r['peak_mb']:.1f} | "
                f"{self.ratio(r).rstrip('x')} | {r['note']} |"
            )
        return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes (under a minute)")
    ap.add_argument("--big", action="store_true", help="also 10^8 transactions (needs several GB)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=None, help="best of N (default 3, 1 with --quick)")
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    ap.add_argument("--kmeans-iter", type=int, default=None)
    ap.add_argument("--plot", default=str(HERE / "scaling.png"), help="scaling plot path ('' for none)")
    ap.add_argument("--json", default="", help="also write the rows as JSON here")
    ap.add_argument(
        "--only",
        default="rfm,rfm_time,stream,score,quickstart,kmeans,clv,clvpredict,percentile,scaling",
        help="comma-separated rows to run",
    )
    ap.add_argument(
        "--rfm-engines",
        default="",
        help="comma-separated RFM peers to run (default: all installed; at 10^8 rows polars needs about 20 GB)",
    )
    ap.add_argument("--worker", nargs=3, metavar=("TASK", "ENGINE", "SIZE"), help=argparse.SUPPRESS)
    ap.add_argument("--stream-worker", nargs=2, metavar=("ENGINE", "FOLDER"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    size = sizes(args)
    args.kmeans_iter = args.kmeans_iter or size["kmeans_iter"]
    tk.set_num_threads(args.threads)
    if args.worker:
        task, engine, n = args.worker
        fn = step(task, engine, n if n == "cdnow" else int(n), args)
        print(json.dumps({"peak_mb": measure_peak(fn)}))
        return
    if args.stream_worker:
        print(json.dumps(stream_worker(*args.stream_worker)))
        return
    repeat = args.repeat or (1 if args.quick else 3)
    only = set(args.only.split(","))
    load = os.getloadavg()[0]
    print(
        f"tierkit compare: {os.cpu_count()} CPUs, {args.threads} threads per engine, load average {load:.2f}, "
        f"best of {repeat}"
    )
    print(f"  {'task':<28} {'engine':<10} {'time':>12} {'peak':>12}  {'ratio':>8}  note")
    table = Table()

    # RFM
    if "rfm" in only:
        n = size["rfm"]
        tx = make_tx(n)
        as_of = tx["date"].max()
        task = f"rfm {len(tx):.0e} tx"
        times, results = time_rfm(RFM, tx, as_of, rfm_engines(args.rfm_engines), args, repeat)
        note = rfm_check(results)
        del results
        for engine in rfm_engines(args.rfm_engines):
            table.add(
                task,
                engine,
                times[engine],
                peak_in_subprocess("rfm", engine, n, args),
                times["tierkit"],
                note if engine == "tierkit" else "",
            )
        del tx

    # RFM from a log in time order
    if "rfm_time" in only:
        n = size["rfm_time"]
        tx = make_time_log(n)
        as_of = tx["date"].max()
        task = f"rfm time-ordered {len(tx):.0e} tx"
        engines = rfm_engines(args.rfm_engines)
        times, results = time_rfm(RFM_TIME, tx, as_of, engines, args, repeat)
        note = rfm_time_check(results)
        del results
        for engine in engines:
            peer = {
                "tierkit": f"{note}; 20 columns",
                "polars": "one group_by: min/max/len/n_unique/sum, sorted",
                "duckdb": "one GROUP BY, ORDER BY customer, to Arrow",
                "pandas": "groupby agg, 5 columns",
            }
            table.add(
                task,
                engine,
                times[engine],
                peak_in_subprocess("rfm_time", engine, n, args),
                times["tierkit"],
                peer[engine],
            )
        del tx

    # out of core: summarize_files over Parquet against read-all + summarize
    if "stream" in only:
        import tempfile

        n = size["stream"]
        with tempfile.TemporaryDirectory(prefix="tierkit-stream-") as folder:
            write_stream_files(n, Path(folder))
            runs = {
                e: min((stream_in_subprocess(e, Path(folder), args) for _ in range(repeat)), key=lambda r: r["seconds"])
                for e in ("tierkit", "pandas", "state")
            }
        if runs["tierkit"]["rows"] != runs["pandas"]["rows"] or abs(
            runs["tierkit"]["revenue"] - runs["pandas"]["revenue"]
        ) > 1e-9 * abs(runs["pandas"]["revenue"]):
            raise AssertionError(f"stream: summarize_files and summarize differ: {runs}")
        st = runs["state"]
        per = st["state_bytes"] / st["customers"]
        label = f"stream {n:.0e} tx, {STREAM_FILES} Parquet files"
        ref = runs["tierkit"]["seconds"]
        table.add(
            label,
            "tierkit",
            ref,
            runs["tierkit"]["peak_mb"],
            ref,
            f"tk.summarize_files; whole-process peak; state {per:.0f} B/customer in memory, "
            f"{st['state_file_bytes'] / st['customers']:.0f} B/customer as bytes",
        )
        table.add(
            label,
            "pandas+tierkit",
            runs["pandas"]["seconds"],
            runs["pandas"]["peak_mb"],
            ref,
            "pd.read_parquet of every file, concat, tk.summarize",
        )

    # score + tier
    if "score" in only:
        n = size["score"]
        f = make_scores(n)
        note = score_check(f)
        policy = score_policy()
        t_fa, _ = best_of(lambda: tk.fit(policy, f).assign(f, contributions=False), repeat)
        t_np_fa, _ = best_of(lambda: numpy_assign(f, numpy_fit(f)), repeat)
        model, fitted = tk.fit(policy, f), numpy_fit(f)
        t_a, _ = best_of(lambda: model.assign(f, contributions=False), repeat)
        # The same with the core's cache of freed result columns off: every run writes
        # into memory the kernel maps afresh (what a single assign in a new process pays).
        cache = tk.buffer_cache()["limit"]
        tk.set_buffer_cache_limit(0)
        t_cold, _ = best_of(lambda: model.assign(f, contributions=False), repeat)
        tk.set_buffer_cache_limit(cache)
        t_np_a, _ = best_of(lambda: numpy_assign(f, fitted), repeat)
        t_floor, _ = best_of(lambda: column_floor(f), repeat)
        del f, model
        label = f"score+tier {n:.0e} x {CRITERIA}"
        table.add(label + " fit+assign", "tierkit", t_fa, peak_in_subprocess("score", "tierkit", n, args), t_fa, note)
        table.add(label + " fit+assign", "numpy", t_np_fa, peak_in_subprocess("score", "numpy", n, args), t_fa)
        peak_a = peak_in_subprocess("assign", "tierkit", n, args)
        table.add(label + " assign", "tierkit", t_a, peak_a, t_a, f"{t_a / t_floor:.1f}x the floor")
        table.add(
            label + " assign",
            "tierkit, no cache",
            t_cold,
            peak_a,
            t_a,
            f"{t_cold / t_floor:.1f}x the floor; result memory mapped afresh each run",
        )
        table.add(label + " assign", "numpy", t_np_a, peak_in_subprocess("assign", "numpy", n, args), t_a)
        table.add(
            label + " assign",
            "floor",
            t_floor,
            peak_in_subprocess("assign", "floor", n, args),
            t_a,
            "numpy sum of each column",
        )

    # the README quickstart: summarize, fit, assign with tk.Policy.default()
    if "quickstart" in only:
        for n in size["quickstart"]:
            tx = quickstart_transactions(n)
            t_sum, features = best_of(
                lambda: tk.summarize(
                    tx, customer="customer", date="date", amount="amount", margin="margin", as_of="2024-12-31"
                ),
                repeat,
            )
            t_pd_sum, _ = best_of(lambda: quickstart_pandas_summarize(tx), repeat)
            del tx
            policy = tk.Policy.default()
            t_fit, model = best_of(lambda: tk.fit(policy, features), repeat)
            t_pd_fit, fitted = best_of(lambda: quickstart_pandas_fit(features), repeat)
            t_a, tiers = best_of(lambda: model.assign(features), repeat)
            t_pd_a, peer = best_of(lambda: quickstart_pandas_assign(features, fitted), repeat)
            note = quickstart_check(tiers, peer)
            del tiers, peer
            floor = QuickstartFloor(features)
            t_floor, _ = best_of(floor, max(repeat, 3))
            t_one, t_batch = quickstart_scorer(model, features)
            del floor, features, model
            label = f"quickstart {n:.0e} cust"
            table.add(label + " summarize", "tierkit", t_sum, float("nan"), t_sum, "tk.summarize (20 columns)")
            table.add(label + " summarize", "pandas", t_pd_sum, float("nan"), t_sum, "groupby, 8 columns")
            table.add(label + " fit", "tierkit", t_fit, float("nan"), t_fit, "tk.fit(tk.Policy.default())")
            table.add(label + " fit", "pandas", t_pd_fit, float("nan"), t_fit, "percentile knots, quota cuts")
            table.add(
                label + " assign",
                "tierkit",
                t_a,
                peak_in_subprocess("quickstart", "tierkit", n, args),
                t_a,
                f"{t_a / t_floor:.1f}x the floor; pandas takes {t_pd_a / t_a:.2f}x as long; {note}",
            )
            table.add(
                label + " assign",
                "pandas",
                t_pd_a,
                peak_in_subprocess("quickstart", "pandas", n, args),
                t_a,
                "searchsorted, weighted sum, cuts, categoricals, top-3 by argsort",
            )
            table.add(
                label + " assign",
                "floor",
                t_floor,
                peak_in_subprocess("quickstart", "floor", n, args),
                t_a,
                "read 4 criterion columns, write 7 numeric outputs",
            )
            table.add(
                label + " scorer",
                "tierkit",
                t_one,
                float("nan"),
                None,
                f"model.scorer() on one customer (a dict): {1e6 * t_one:.1f} us per call",
            )
            table.add(
                label + " scorer",
                "tierkit, 1000 rows",
                t_batch,
                float("nan"),
                None,
                f"Scorer.score_many on 1000 rows: {1e3 * t_batch:.2f} ms",
            )

    # kmeans
    if "kmeans" in only:
        n = size["kmeans"]
        data = make_kmeans(n)
        t_tk, model = best_of(lambda: kmeans_tierkit(data, args.kmeans_iter), repeat)
        t_sk, km = best_of(lambda: kmeans_sklearn(data, args.kmeans_iter), repeat)
        params = model.params["rule"]["parameters"]
        it_tk, it_sk = int(params["iterations"][0]), int(km.n_iter_)
        inertia_tk, inertia_sk = float(params["inertia"][0]), float(km.inertia_)
        if it_tk != it_sk or abs(inertia_tk - inertia_sk) > 1e-9 * inertia_sk:
            raise AssertionError(
                f"kmeans: tierkit {it_tk} iterations inertia {inertia_tk}, scikit-learn {it_sk} inertia {inertia_sk}"
            )
        data = None  # free this engine's copy before the next one
        label = f"kmeans {n:.0e} x {CRITERIA} k=8 ({it_sk} it)"
        table.add(
            label,
            "tierkit",
            t_tk,
            peak_in_subprocess("kmeans", "tierkit", n, args),
            t_tk,
            f"{1000 * t_tk / it_tk:.2f} ms/it incl. normalizing; inertia {inertia_tk:.6g}",
        )
        table.add(
            label,
            "sklearn",
            t_sk,
            peak_in_subprocess("kmeans", "sklearn", n, args),
            t_tk,
            f"{1000 * t_sk / it_sk:.2f} ms/it; inertia {inertia_sk:.6g}",
        )

    # CLV
    if "clv" in only:
        for which in clv_sets(size["clv"]):
            df = make_clv(which)
            label = f"bgnbd+gg {'CDNOW' if which == 'cdnow' else f'{which:.0e} cust'}"
            res, t = {}, {}
            for engine in clv_engines():
                fn = clv_tierkit if engine == "tierkit" else clv_lifetimes
                t[engine], res[engine] = best_of(lambda: fn(df), 1 if engine == "lifetimes" else repeat)
            for engine in clv_engines():
                bg, gg = res[engine]
                note = "BG/NBD " + ", ".join(f"{v:.4g}" for v in bg) + "; GG " + ", ".join(f"{v:.4g}" for v in gg)
                table.add(label, engine, t[engine], peak_in_subprocess("clv", engine, which, args), t["tierkit"], note)

    # CLV predictions
    if "clvpredict" in only:
        clv_predict_rows(table, args.quick, repeat)

    # percentile fit
    if "percentile" in only:
        percentile_fit_rows(table, args.quick, repeat)

    # scaling
    if "scaling" in only:
        points = []
        for n in size["scaling"]:
            tx = make_tx(n)
            as_of = tx["date"].max()
            secs, _ = best_of(lambda: rfm_tierkit(tx, as_of), repeat)
            rows = len(tx)
            del tx
            peak = peak_in_subprocess("scaling", "tierkit", n, args)
            points.append((rows, secs, peak))
            table.add(
                f"scaling {rows:.0e} tx",
                "tierkit",
                secs,
                peak,
                None,
                f"{1e9 * secs / rows:.1f} ns/tx, {peak * 2**20 / rows:.1f} B/tx",
            )
        if args.plot:
            plot_scaling(points, args.plot)
            print(f"scaling plot: {args.plot}")
    print()
    print(table.markdown())
    if args.json:
        Path(args.json).write_text(json.dumps({"load": load, "threads": args.threads, "rows": table.rows}, indent=1))


def plot_scaling(points: list[tuple[int, float, float]], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = np.array([p[0] for p in points], float)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for ax, y, label in (
        (axes[0], [p[1] for p in points], "time (s)"),
        (axes[1], [p[2] for p in points], "peak extra RSS (MB)"),
    ):
        y = np.asarray(y, float)
        ax.loglog(n, y, "o-", label="tierkit.summarize")
        ax.loglog(n, y[-1] * n / n[-1], "--", color="grey", label="linear")
        ax.set_xlabel("transactions")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.suptitle("tierkit.summarize scaling")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main()
