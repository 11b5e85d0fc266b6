"""Per-customer reports: every task gets its own pickled copy of the orders table."""

from __future__ import annotations

from multiprocessing import Pool, get_context

import pandas as pd


def summarize(orders: pd.DataFrame, customer: str) -> dict[str, float]:
    rows = orders[orders["customer"] == customer]
    return {"customer": customer, "total": float(rows["amount"].sum())}


def build_reports(customers: list[str]) -> list[dict[str, float]]:
    orders = pd.read_parquet("orders.parquet")
    tasks = [(orders, customer) for customer in customers]
    with Pool() as pool:
        return pool.starmap(summarize, tasks)


_orders: pd.DataFrame | None = None


def _summarize_inherited(customer: str) -> dict[str, float]:
    assert _orders is not None
    return summarize(_orders, customer)


def build_reports_shared(customers: list[str]) -> list[dict[str, float]]:
    """The fix: load once, fork, and let workers read the inherited table."""
    global _orders
    _orders = pd.read_parquet("orders.parquet")
    with get_context("fork").Pool() as pool:
        return pool.map(_summarize_inherited, customers)
