"""Cross-sell and up-sell recommender: ALS, EASE, co-purchase, up-sell, buy-again, popularity and their blend.

Build an ``Interactions`` once per cutoff (``build_interactions``), fit any model on it, and answer with external
ids. Every model is a ``Recommender`` (one interface: ``fit``, ``recommend``, ``similar_items``, capability
flags); the served champion is the blend or a single source, whichever won the holdout, and ``recommend_batch``
/ ``recommend_one`` / ``item_list`` answer for any of them.
"""

from __future__ import annotations

from models.recommender.als import ALSConfig, ALSRecommender
from models.recommender.base import Recommender, top_k
from models.recommender.blend import Blend, BlendConfig, BlendWeights
from models.recommender.buy_again import BuyAgainConfig, BuyAgainRecommender
from models.recommender.copurchase import CoPurchaseConfig, CoPurchaseRecommender
from models.recommender.ease import EASEConfig, EASERecommender
from models.recommender.idmap import IdMap
from models.recommender.interactions import Interactions, build_interactions
from models.recommender.item_lists import item_list
from models.recommender.itemitem import ItemItemRecommender
from models.recommender.popular import PopularConfig, PopularRecommender
from models.recommender.reasons import Recommendation, Recommendations
from models.recommender.rerank import RerankConfig, Reranker
from models.recommender.serve import recommend_batch, recommend_one
from models.recommender.upsell import UpsellConfig, UpsellRecommender

__all__ = [
    "ALSConfig", "ALSRecommender", "Blend", "BlendConfig", "BlendWeights", "BuyAgainConfig", "BuyAgainRecommender",
    "CoPurchaseConfig", "CoPurchaseRecommender", "EASEConfig", "EASERecommender", "IdMap", "Interactions",
    "ItemItemRecommender", "PopularConfig", "PopularRecommender", "Recommendation", "Recommendations", "Recommender",
    "RerankConfig", "Reranker",
    "UpsellConfig", "UpsellRecommender", "build_interactions", "item_list", "recommend_batch", "recommend_one",
    "top_k",
]
