"""Score every customer with a campaign's registered uplift model: the expected effect of the treatment."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from features import columns as C
from features.analytics.segments import default_cutoff
from features.data.reader import Shop
from features.families.build import build_features
from features.families.config import FeaturesConfig
from models.inference.registry import alias_version, load_registered, shown_uri
from models.uplift.model import UpliftModel, registered_name

CHAMPION = "champion"


def champion_uplift(campaign: str) -> tuple[UpliftModel, dict[str, str]]:
    """Return the campaign's champion uplift model and its version's tags (with ``version``).

    Raises
    ------
    ValueError
        When the campaign has no registered uplift model: it was not trained, or its model did not beat random
        targeting outside the noise (the campaign keeps its rule).
    """
    name = registered_name(campaign)
    found = alias_version(name, CHAMPION)
    if found is None:
        raise ValueError(f"no uplift model for campaign {campaign!r} at {shown_uri()} ({name}@{CHAMPION}); run "
                         "`retention uplift train --data DIR --manifest FILE` first. A campaign whose model did not "
                         "beat random targeting outside the noise has none and keeps its rule")
    model = load_registered(f"models:/{name}/{found['version']}")
    if not isinstance(model, UpliftModel):
        raise ValueError(f"{name} v{found['version']} is a {type(model).__name__}, not an uplift model")
    return model, {**found["tags"], "version": str(found["version"])}


def score_uplift(shop: Shop, campaign: str, cutoff: datetime | None = None) -> pd.DataFrame:
    """Return per customer (with a purchase before the cutoff) the expected effect of the campaign's treatment.

    Columns: customer_id, effect (on the outcome the model was chosen for), extra_order_probability (extra chance
    of placing an order in the window), extra_revenue (extra net revenue in the window), outcome, days, campaign,
    model_version, cutoff; sorted by effect, highest first.
    """
    model, info = champion_uplift(campaign)
    as_of = cutoff or default_cutoff(shop.transactions)
    features = build_features(shop, as_of, FeaturesConfig()).frame
    out = model.predict(features)
    out["outcome"], out["days"] = info.get("uplift_outcome", ""), info.get("uplift_days", "")
    out["campaign"], out["model_version"], out["cutoff"] = campaign, info["version"], as_of.date().isoformat()
    return out.sort_values(["effect", C.CUSTOMER_ID], ascending=[False, True], kind="stable").reset_index(drop=True)
