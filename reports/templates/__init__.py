"""Shipped report templates, installed as the data package scoring.templates (see scoring/resources.py)."""
