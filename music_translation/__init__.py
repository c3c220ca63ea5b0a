"""Universal music translation network (Mor, Wolf, Polyak & Taigman, 2018): one shared WaveNet-style encoder,
one WaveNet decoder per musical domain and a domain-confusion network.

Verbs: ``python -m music_translation prepare|train|eval|translate|encode|blend|domains|add-domain``.
"""
