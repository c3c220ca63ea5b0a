"""realtime_ae: the chroma-conditioned spectral autoencoder of Colonel & Keene (2020) and its real-time
timbre synthesizer (``python -m realtime_ae play|render|resynth``)."""
