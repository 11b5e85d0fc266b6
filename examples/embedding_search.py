"""A nearest-neighbour search that copies its index into every task.

Run `cowlint examples/` to see why this uses gigabytes with 8 workers.
"""

from __future__ import annotations

import functools
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import Pool

import numpy as np

DIMENSIONS = 384


class EmbeddingIndex:
    def __init__(self, path: str) -> None:
        self.vectors = np.load(path)
        self.norms = np.linalg.norm(self.vectors, axis=1)

    def nearest(self, query_id: int) -> int:
        scores = self.vectors @ self.vectors[query_id] / self.norms
        return int(np.argmax(scores))

    def search_all(self, query_ids: list[int]) -> list[int]:
        with Pool(8) as pool:
            return pool.map(self.nearest, query_ids, chunksize=256)


def rerank(reference: np.ndarray, candidate: int) -> float:
    return float(reference[candidate].sum())


def rerank_all(candidates: list[int]) -> list[float]:
    reference = np.random.rand(200_000, DIMENSIONS)
    with ProcessPoolExecutor(max_workers=8) as executor:
        return list(executor.map(functools.partial(rerank, reference), candidates))


if __name__ == "__main__":
    index = EmbeddingIndex("vectors.npy")
    print(index.search_all(list(range(10_000)))[:10])
    print(rerank_all(list(range(1_000)))[:10])
