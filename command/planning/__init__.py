"""Contingency plans at work: the plan library, plans matched to incidents, response levels,
activation into tasks, and alarm stages feeding the dispatch recommendation (over ``plans``)."""
