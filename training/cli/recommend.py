"""The batch recommendation command: the champion recommender's top k for a list of customers."""

from __future__ import annotations

from pathlib import Path

import typer

from features import columns as C
from training.cli.common import DataOption, bad_input_exits, console, load_shop, tidy_registry
from training.cli.outputs import refuse_shop_paths


def recommend(
    data: Path = DataOption,
    customers: Path = typer.Option(..., "--customers", help="CSV or Parquet file with a customer_id column."),
    k: int = typer.Option(10, "--k", min=1, max=100, help="Items per customer."),
    out: Path = typer.Option(..., "--out", help="Output .csv or .parquet: customer_id, rank, item_id, score, reason."),
    config: Path | None = typer.Option(None, "--config", help="Run configuration (default configs/default.yaml)."),
) -> None:
    """Recommend k items to each listed customer with the champion recommender (unknown customers get popular picks).

    Example: retention recommend --data data/demo --customers out/customers.csv --k 10 --out out/recs.csv
    """
    from features.data.io import output_format, write_frame
    from models.inference import registry
    from models.recommender.base import Recommender
    from models.recommender.serve import recommend_batch
    from training.config import load_config

    with bad_input_exits():
        refuse_shop_paths(data, out)
        output_format(out)
        cfg = load_config(config)
        load_shop(data)  # the data must still meet the contract the champion was trained on
        ids = customer_ids(customers)
        tidy_registry()
        uri = f"models:/{cfg.registry.recommender_name}@{cfg.registry.champion_alias}"
        try:
            model = registry.load_registered(registry.alias_uri(cfg.registry.recommender_name,
                                                                cfg.registry.champion_alias))
        except Exception as exc:  # MLflow raises its own types for a missing model or alias
            raise ValueError(f"no champion recommender at {uri} ({registry.shown_uri()}): run `retention train` "
                             f"on data with item_id first ({type(exc).__name__})") from None
        if not isinstance(model, Recommender):
            raise ValueError(f"{uri} is a {type(model).__name__}, not a recommender")
        recs = recommend_batch(model, ids, k=k)
        write_frame(recs, out)
    known = int((model.customers_.to_internal(ids) >= 0).sum())
    got = "got popular picks"  # every served model answers strangers with best sellers
    console.print(f"wrote {out}: {len(recs):,} rows for {len(ids):,} customers ({len(ids) - known:,} unknown to the "
                  f"model {got})")


def customer_ids(path: Path) -> list[str]:
    """Read the customer_id column as strings (ids keep their leading zeros)."""
    import pandas as pd

    from features.data.io import raw_text

    if not path.is_file():
        raise FileNotFoundError(f"--customers {path}: no such file")
    if path.stat().st_size == 0:
        raise ValueError(f"--customers {path}: empty file; expected a header with customer_id and one id per row")
    try:
        frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, dtype=str)
    except (ValueError, OSError) as exc:  # pandas' EmptyDataError / ParserError, pyarrow's errors
        raise ValueError(f"--customers {path}: cannot be read ({exc}); expected a CSV or Parquet file with a "
                         "customer_id column") from None
    if C.CUSTOMER_ID not in frame.columns:
        raise ValueError(f"--customers {path}: missing column 'customer_id' (found: "
                         f"{', '.join(map(str, frame.columns))})")
    ids = frame[C.CUSTOMER_ID].dropna().astype(str)
    ids = (raw_text(ids) if path.suffix != ".parquet" else ids).str.strip()  # our CSV quotes '=...' ids
    ids = ids[ids != ""].drop_duplicates()
    if ids.empty:
        raise ValueError(f"--customers {path}: no customer_id values; expected one id per row")
    return ids.tolist()


def register(app: typer.Typer) -> None:
    app.command()(recommend)
