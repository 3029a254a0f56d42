"""Campaign results against a known truth: simulate a campaign on a shop, then measure it as campaign-results does.

Reads a shop folder and a manifest written by ``retention campaigns --cutoff DATE`` (the cutoff should leave
``--days`` of data after it), adds one extra order for each treated customer of ``--campaign`` with probability
``--lift`` (``features.demo.campaign.simulate_campaign``), and prints the true effect next to the estimate with
its 95% interval, and the plain sentence. Nothing is written.

Example: python benchmarks/campaign_simulation.py --data data/demo --manifest out/campaigns/manifest.csv
         --campaign reactivation --lift 0.05 --days 30
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from features import columns as C
from features.campaigns.control import read_manifest
from features.data.reader import shop_from_frames
from features.demo.campaign import simulate_campaign
from models.inference.campaigns import measure_campaigns


def read_tables(folder: Path) -> dict[str, pd.DataFrame]:
    """Return every table of a shop folder as written by ``retention demo-data`` (parquet or csv)."""
    tables = {}
    for name in C.TABLES:
        for suffix in (".parquet", ".csv"):
            path = folder / f"{name}{suffix}"
            if path.exists():
                tables[name] = pd.read_parquet(path) if suffix == ".parquet" else pd.read_csv(path, dtype=str)
                break
    return tables


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--campaign", default="reactivation")
    parser.add_argument("--lift", type=float, default=0.05, help="true extra orders per treated customer")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    book = read_manifest(args.manifest)
    book = book[book["campaign"] == args.campaign]
    tables = simulate_campaign(read_tables(args.data), book, args.lift, args.days, args.seed)
    row = measure_campaigns(shop_from_frames(tables), book, args.days).table.iloc[0]
    print(f"{args.campaign}: {row['treated']:,} treated, {row['control']:,} control, {args.days} days")
    print(f"true extra orders per 100:      {100 * args.lift:.1f}")
    print(f"estimated extra orders per 100: {100 * row['orders_diff']:.1f} (95% interval "
          f"{100 * row['orders_low']:.1f} to {100 * row['orders_high']:.1f}); inside: "
          f"{row['orders_low'] <= args.lift <= row['orders_high']}")
    print(f"sentence: {row['sentence']}")


if __name__ == "__main__":
    main()
