"""Billing-operations analytics warehouse: the command line, data generator, checks and publishing."""

__version__ = "0.1.0"
