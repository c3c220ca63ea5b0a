"""Shared, paper-agnostic building blocks: audio I/O, spectral ops, mu-law, DTW, Griffin-Lim, metrics,
WaveNet inference, synthetic corpora and the Lightning/omegaconf/W&B plumbing.

Nothing in ``common`` imports a paper package.
"""
