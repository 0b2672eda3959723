"""Pretraining examples as the original create_pretraining_data.py makes them.

The algorithm (SOP/NSP pairing, n-gram and whole-word masking, 80/10/10
replacement, short sequences, truncation) and the TFRecord features are the
original's; what differs is scale: documents are streamed and sharded instead
of held in memory, and every random choice comes from a seeded generator.
"""
