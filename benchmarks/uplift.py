"""Uplift models against a known truth: a simulated demo campaign whose per-customer effects are known.

Generates the demo shop, simulates a campaign at ``--cutoff`` (``features.demo.uplift``: discount-sensitive
customers respond, loyal ones would buy anyway, lapsed ones do not respond), learns the effect on placing an order
in ``[cutoff, cutoff + days)`` from the treated and control groups, and prints, on the same held-out customers:
each candidate's Qini coefficient with its 95% bootstrap interval, the true effect's Qini (the ceiling: the best
any model could do on these customers), random targeting and targeting by churn risk. It then says whether the
chosen model beats random targeting and churn risk outside the noise and reaches at least half of the ceiling;
exit status 1 when it does not. Nothing is written.

Example: python benchmarks/uplift.py            (20,000 customers, about 10 s)
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime

import numpy as np
import pandas as pd

from features import columns as C
from features.data.reader import shop_from_frames
from features.demo.shop import DemoConfig, generate_shop
from features.demo.uplift import UpliftSimulation, simulate_uplift_campaign
from models.uplift.compare import Comparison, compare, holdout_mask
from models.uplift.data import CampaignData, campaign_data
from models.uplift.model import EXTRA_REVENUE
from models.uplift.qini import bootstrap_weights, qini_with_interval
from models.uplift.targeting import UpliftTargeting, target_rows

CEILING_SHARE = 0.5  # the chosen model must reach at least this share of the true effect's Qini


def checks(c: Comparison) -> list[tuple[str, bool]]:
    """Return the three promises of the issue with whether this run keeps each."""
    table = c.table.set_index("kind")
    chosen, ceiling = table.at[c.chosen, "qini"], table.at["truth", "qini"]
    return [
        (f"beats random targeting outside the noise (95% low {table.at[c.chosen, 'low']:.4f} > 0)", c.beats_random),
        (f"beats targeting by churn risk outside the noise (paired difference 95% "
         f"{table.at[c.chosen, 'vs_churn_low']:+.4f} to {table.at[c.chosen, 'vs_churn_high']:+.4f})", c.beats_churn),
        (f"reaches at least half of the ceiling ({chosen:.4f} = {chosen / ceiling:.0%} of {ceiling:.4f})",
         bool(chosen >= CEILING_SHARE * ceiling)),
    ]


def revenue_line(c: Comparison, data: CampaignData, truth: pd.DataFrame) -> str:
    """Return the chosen model's extra revenue: its Qini on revenue next to the true revenue effect's, and how
    closely it follows the true revenue effect."""
    q = c.extra["revenue"]
    held = holdout_mask(data)
    true = truth.set_index(C.CUSTOMER_ID).loc[data.features[C.CUSTOMER_ID], "true_revenue_effect"].to_numpy()
    ceiling = qini_with_interval(true[held], data.treated[held], data.outcomes["revenue"][held],
                                 bootstrap_weights(int(held.sum())))[0]
    estimate = c.models[c.chosen].predict(data.features[held])[EXTRA_REVENUE].to_numpy()
    corr = np.corrcoef(estimate, true[held])[0, 1]
    return (f"extra revenue (extra order chance x expected order value): Qini on revenue {q.value:.2f} (95% "
            f"{q.low:.2f} to {q.high:.2f}) vs the true revenue effect's {ceiling.value:.2f} ({ceiling.low:.2f} to "
            f"{ceiling.high:.2f}); correlation with the true revenue effect {corr:.2f}"
            f"; mean {estimate.mean():.2f} vs true {true[held].mean():.2f} per customer")


def targeting_line(c: Comparison, data: CampaignData, truth: np.ndarray) -> str:
    """Return what `campaigns --target uplift` with its default shares keeps of the held-out audience: contacts and
    true extra orders, next to the same number of contacts picked at random."""
    held = holdout_mask(data)
    model = c.models[c.chosen]
    features = data.features[held]
    predicted = model.predict(features).assign(baseline=model.baseline(features))
    rows = pd.DataFrame({C.CUSTOMER_ID: features[C.CUSTOMER_ID].to_numpy(), "control": ~data.treated[held]})
    kept = target_rows(rows, predicted, UpliftTargeting()).rows
    true = pd.Series(truth[held], index=rows[C.CUSTOMER_ID])
    share = len(kept) / len(rows)
    got = true.loc[kept[C.CUSTOMER_ID]].sum() / true.sum()
    return (f"--target uplift (drop 10% sure things, 10% lost causes): keeps {share:.0%} of the contacts and "
            f"{got:.1%} of the true extra orders (random: {share:.0%}); true effect per kept customer "
            f"{true.loc[kept[C.CUSTOMER_ID]].mean():.4f} vs {true.mean():.4f} for the whole audience")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=20_000, help="demo shop size")
    parser.add_argument("--seed", type=int, default=3, help="demo shop seed")
    parser.add_argument("--campaign-seed", type=int, default=0, help="control draw and responses")
    parser.add_argument("--cutoff", default="2026-09-01")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--draws", type=int, default=300, help="bootstrap draws")
    args = parser.parse_args()
    started = time.perf_counter()
    cutoff = datetime.fromisoformat(args.cutoff)
    sim = simulate_uplift_campaign(generate_shop(DemoConfig(customers=args.customers, seed=args.seed)), cutoff,
                                   UpliftSimulation(days=args.days, seed=args.campaign_seed))
    data = campaign_data(shop_from_frames(sim.tables), sim.manifest, args.days, "ordered")
    truth = sim.truth.set_index(C.CUSTOMER_ID).loc[data.features[C.CUSTOMER_ID], "true_effect"].to_numpy()
    c = compare(data, binary=True, draws=args.draws, truth=truth)
    print(f"simulated campaign {sim.manifest['campaign'].iloc[0]!r}: demo shop of {args.customers:,} customers "
          f"(seed {args.seed}), cutoff {cutoff:%Y-%m-%d}, {args.days} days; {int(data.treated.sum()):,} treated, "
          f"{int((~data.treated).sum()):,} control; {len(c.holdout):,} held out")
    segments = sim.truth.groupby("segment")["true_effect"].agg(["first", "size"])
    print("true effect by segment (chance of one extra order): " + ", ".join(
        f"{s} {r['first']:.2f} ({int(r['size']):,})" for s, r in segments.iterrows()))
    print(f"{'candidate':40s} {'Qini':>8s} {'95% interval':>20s} {'vs churn risk (95%)':>22s} {'top 30% gets':>13s}")
    for r in c.table.itertuples(index=False):
        mark = " (chosen)" if r.kind == c.chosen else ""
        versus = "" if r.kind in ("random", "churn") else f"{r.vs_churn_low:+.4f} to {r.vs_churn_high:+.4f}"
        top = "" if np.isnan(r.top30_share) else f"{r.top30_share:.0%}"
        print(f"{r.candidate + mark:40s} {r.qini:8.4f} {f'{r.low:.4f} to {r.high:.4f}':>20s} {versus:>22s} "
              f"{top:>13s}")
    print("random targeting: mean and 2.5-97.5% range of 200 random orders of the same held-out customers")
    print(revenue_line(c, data, sim.truth))
    print(targeting_line(c, data, truth))
    results = checks(c)
    for text, ok in results:
        print(f"{'PASS' if ok else 'FAIL'}: {c.table.set_index('kind').at[c.chosen, 'candidate']} {text}")
    print(f"took {time.perf_counter() - started:.0f} s")
    return 0 if all(ok for _, ok in results) else 1


if __name__ == "__main__":
    sys.exit(main())
