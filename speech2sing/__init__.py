"""speech2sing: speech-to-singing conversion in an encoder-decoder framework (Parekh et al., ICASSP 2020)."""
