"""Luo, Agres & Herremans (ISMIR 2019): a Gaussian-mixture VAE with separate pitch and timbre spaces,
controllable synthesis and many-to-many timbre transfer of single instrument notes."""
