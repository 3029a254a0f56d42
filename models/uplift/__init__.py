"""Uplift models: who is worth an offer, learnt from the control groups the campaigns hold back.

Own code on LightGBM rather than causalml or scikit-uplift: the T-, X- and class-transformation learners are a
few dozen lines each (``learners.py``), the Qini coefficient with a paired bootstrap interval another few dozen
(``qini.py``); causalml would add a heavy dependency (and its own pins) to every CI install, scikit-uplift has not
been released since 2022, and neither saves models as the plain files every other model of this project uses.
"""
