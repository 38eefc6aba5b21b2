"""Shipped rubrics, installed as the data package scoring.rubrics (see scoring/resources.py)."""
