"""Evaluations run on demand (accuracy of pipeline stages); nothing in the product imports this package."""
