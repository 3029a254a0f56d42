"""The batch recommendation command: the champion recommender's top k for a list of customers."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer

from features import columns as C
from training.cli.common import DataOption, bad_input_exits, console, load_shop


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
    from models.recommender.blend import Blend
    from models.recommender.serve import recommend_batch
    from training.config import load_config

    with bad_input_exits():
        output_format(out)
        cfg = load_config(config)
        load_shop(data)  # the data must still meet the contract the champion was trained on
        ids = customer_ids(customers)
        uri = f"models:/{cfg.registry.recommender_name}@{cfg.registry.champion_alias}"
        try:
            blend = registry.load_registered(uri)
        except Exception as exc:  # MLflow raises its own types for a missing model or alias
            raise ValueError(f"no champion recommender at {uri} ({registry.tracking_uri()}): run `retention train` "
                             f"on data with item_id first ({type(exc).__name__})") from None
        if not isinstance(blend, Blend):
            raise ValueError(f"{uri} is a {type(blend).__name__}, not the blend `retention recommend` serves")
        recs = recommend_batch(blend, ids, k=k)
        write_frame(recs, out)
    known = int((blend.customers_.to_internal(ids) >= 0).sum())
    console.print(f"wrote {out}: {len(recs):,} rows for {len(ids):,} customers ({len(ids) - known:,} unknown to the "
                  "model got popular picks)")


def customer_ids(path: Path) -> list[str]:
    """Read the customer_id column as strings (ids keep their leading zeros)."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, dtype=str)
    if C.CUSTOMER_ID not in frame.columns:
        raise ValueError(f"{path}: missing column 'customer_id' (found: {', '.join(map(str, frame.columns))})")
    ids = frame[C.CUSTOMER_ID].dropna().astype(str).str.strip()
    return ids[ids != ""].drop_duplicates().tolist()


def register(app: typer.Typer) -> None:
    app.command()(recommend)
