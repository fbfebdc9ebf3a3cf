"""Eval datasets: synthetic shoppers of the demo shop and real Amazon sessions, as eval cases."""
