"""Uplift models: who is worth an offer, learnt from the control groups the campaigns hold back.

Own code on LightGBM rather than causalml or scikit-uplift: the T-, X- and class-transformation learners are a
few dozen lines each (``learners.py``), the Qini coefficient with a paired bootstrap interval another few dozen
(``qini.py``). causalml 0.18.0 would add 23 packages to every CI install (xgboost, shap, numba, statsmodels,
nvidia-nccl-cu12, exact pins such as forestci==0.6 and pathos==0.2.9; ``uv pip install --dry-run``, 2026-12-05);
scikit-uplift 0.5.1 has not been released since 2022 and its Qini has no interval; neither saves models as the
plain files every other model of this project uses.
"""
