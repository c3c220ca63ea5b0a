"""Domain-adaptive VAE features for audio-to-MIDI and singing alignment, and a latent-regularised denoising
autoencoder for singing voice separation (Luo & Su, ISMIR 2018).

Verbs: ``python -m da_vae prepare|train|eval|align|separate`` (see ``python -m da_vae --help``).
"""
