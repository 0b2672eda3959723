"""Command-line plumbing: the only place below albert_tf/ besides the entry points that touches absl flags."""
